//! Chapter 5's question (d) on the shipped model, at reduced settings: the three word lists parse
//! with their splits; Reptile and first-order MAML move the soft prompt's initialisation (the
//! model untouched, the same numbers for the same seed); adaptation to the held-out comparative
//! task runs from every start, and from the meta-learned one it learns; inner loops trained a
//! batch at a time (as the page's workers do) meta-learn to the bit as micro-batch steps do.

use glassbox_lab::lm::meta_prompt::{self, Algorithm, MetaSettings, MetaTrainer, Task, TaskKind};
use glassbox_lab::lm::plurals::Rule;
use glassbox_lab::lm::tuning::Init;
use glassbox_lab::lm::{shipped, Model, Vocab};
use std::collections::HashSet;

const WEIGHTS: &[u8] = include_bytes!("../../../assets/lm/glassbox-lm.bin");
const PLURALS: &str = include_str!("../../../assets/lm/plurals.tsv");
const PAST: &str = include_str!("../../../assets/lm/past.tsv");
const COMPARATIVE: &str = include_str!("../../../assets/lm/comparative.tsv");

fn tasks() -> [Task; 3] {
    [
        Task::parse(TaskKind::Plural, PLURALS).unwrap(),
        Task::parse(TaskKind::Past, PAST).unwrap(),
        Task::parse(TaskKind::Comparative, COMPARATIVE).unwrap(),
    ]
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn vowel_groups(w: &str) -> usize {
    let v: Vec<bool> = w.chars().map(|c| "aeiouy".contains(c)).collect();
    (0..v.len())
        .filter(|&i| v[i] && (i == 0 || !v[i - 1]))
        .count()
}

#[test]
fn the_word_lists_parse_with_their_splits() {
    for (task, tsv) in tasks().iter().zip([PLURALS, PAST, COMPARATIVE]) {
        let name = task.kind.name();
        assert!(tsv.contains("WordNet 3.0 Copyright 2006 by Princeton University"));
        assert!(
            (290..=400).contains(&task.train.len()),
            "{name}: {}",
            task.train.len()
        );
        assert_eq!(task.val.len(), 40, "{name}");
        let train: HashSet<&str> = task.train.iter().map(|n| n.singular.as_str()).collect();
        assert_eq!(train.len(), task.train.len(), "{name}: a word twice");
        for n in &task.val {
            assert!(
                !train.contains(n.singular.as_str()),
                "{name}: {} in both",
                n.singular
            );
        }
    }
    let [_, past, comparative] = tasks();
    let form = |t: &Task, w: &str| -> String {
        let n = t.train.iter().chain(&t.val).find(|n| n.singular == w);
        n.unwrap_or_else(|| panic!("{w}")).plural.clone()
    };
    for (w, f) in [
        ("walk", "walked"),
        ("carry", "carried"),
        ("stop", "stopped"),
    ] {
        assert_eq!(form(&past, w), f);
    }
    for (w, f) in [
        ("run", "ran"),
        ("see", "saw"),
        ("cut", "cut"),
        ("show", "showed"),
    ] {
        assert_eq!(form(&past, w), f);
    }
    for (w, f) in [("big", "bigger"), ("happy", "happier"), ("good", "better")] {
        assert_eq!(form(&comparative, w), f);
    }
    assert_eq!(form(&comparative, "large"), "larger");
    // A regular pair is the regular rule's, or a longer word's doubling as WordNet spells it.
    for (t, suffix) in [(&past, "ed"), (&comparative, "er")] {
        for n in t.train.iter().chain(&t.val) {
            if !matches!(n.rule, Rule::S | Rule::Es | Rule::YIes) {
                continue;
            }
            let last = n.singular.chars().last().unwrap();
            let doubled = n.plural == format!("{}{last}{suffix}", n.singular);
            assert!(
                meta_prompt::regular(&n.singular, suffix) == n.plural
                    || (doubled && vowel_groups(&n.singular) > 1),
                "{} -> {}",
                n.singular,
                n.plural
            );
        }
        let irregular = t.train.iter().filter(|n| n.rule == Rule::Irregular).count();
        assert!(irregular >= 1, "{:?}", t.kind);
    }
}

fn setup() -> (Model, Vocab) {
    shipped::check(WEIGHTS).unwrap()
}

/// Reduced settings: K = 8, a few meta-iterations of a few inner steps.
fn settings(algorithm: Algorithm, meta_steps: usize) -> MetaSettings {
    let mut s = MetaSettings::new(algorithm);
    s.meta_steps = meta_steps;
    s.inner_steps = 3;
    s
}

#[test]
fn both_algorithms_move_the_initialisation_the_same_way_for_a_seed() {
    let (model, vocab) = setup();
    let [plural, past, comparative] = tasks();
    let weights = bits(&model.params);
    for algorithm in [Algorithm::Reptile, Algorithm::Maml] {
        let s = settings(algorithm, 2);
        let start = meta_prompt::baseline(&model, &vocab, &comparative, Init::Random, &s).unwrap();
        let phi = |seed: u64| {
            let mut s = s;
            s.seed = seed;
            let mut m =
                MetaTrainer::new(&model, &vocab, &[&plural, &past], start.clone(), s).unwrap();
            while !m.is_done() {
                let loss = m.step().unwrap();
                assert_eq!(loss.is_some(), algorithm == Algorithm::Maml);
            }
            m.phi().to_vec()
        };
        let (a, b, c) = (phi(0), phi(0), phi(1));
        assert_ne!(
            bits(&a),
            bits(&start),
            "{algorithm:?}: meta-learning moved phi"
        );
        assert_eq!(
            bits(&a),
            bits(&b),
            "{algorithm:?}: the same seed, the same phi"
        );
        assert_ne!(
            bits(&a),
            bits(&c),
            "{algorithm:?}: another seed, other batches"
        );
        assert!(a.iter().all(|v| v.is_finite()));
    }
    assert_eq!(bits(&model.params), weights, "the model is frozen");
}

#[test]
fn adaptation_from_the_meta_learned_start_learns_the_held_out_task() {
    let (model, vocab) = setup();
    let [plural, past, comparative] = tasks();
    let s = settings(Algorithm::Reptile, 30);
    let t0 = std::time::Instant::now();
    let r = meta_prompt::run(
        &model,
        &vocab,
        &[&plural, &past],
        &comparative,
        &s,
        |_, _| {},
    )
    .unwrap();
    eprintln!(
        "Reptile, {} meta-iterations of {} steps ({:.0} s): accuracy after {:?} steps: meta {:?}, \
         random {:?}, hard {:?}; phi moved {:.2} of its norm",
        s.meta_steps,
        s.inner_steps,
        t0.elapsed().as_secs_f64(),
        meta_prompt::ADAPT_STEPS,
        r.meta,
        r.random,
        r.hard,
        r.moved
    );
    for acc in [&r.meta, &r.random, &r.hard] {
        assert_eq!(acc.len(), 3);
        assert!(acc.iter().all(|a| (0.0..=1.0).contains(a)));
    }
    assert!(r.moved > 0.1, "{}", r.moved);
    assert!(r.meta[2] >= r.meta[0], "meta: {:?}", r.meta);
    assert!(r.meta[2] >= 0.1, "meta after 20 steps: {:?}", r.meta);
    assert!(
        r.meta[2] > r.random[2],
        "meta {:?} against random {:?}",
        r.meta,
        r.random
    );
    assert!(
        matches!(
            meta_prompt::run(&model, &vocab, &[&comparative], &comparative, &s, |_, _| {}),
            Err(e) if e.contains("among the meta-training tasks")
        ),
        "the target is held out"
    );
}

#[test]
fn inner_loops_trained_a_batch_at_a_time_meta_learn_as_advance_does() {
    // What the page does with its workers: each inner step's micro-batches computed from the same
    // prompt, taken in order (`inner_tuner`, `stepped`). phi equals `advance`'s to the bit.
    use glassbox_lab::lm::meta_prompt::Advance;
    use glassbox_lab::lm::tuning;
    let (model, vocab) = setup();
    let [plural, past, comparative] = tasks();
    for algorithm in [Algorithm::Reptile, Algorithm::Maml] {
        let s = settings(algorithm, 2);
        let start = meta_prompt::baseline(&model, &vocab, &comparative, Init::Random, &s).unwrap();
        let new = || MetaTrainer::new(&model, &vocab, &[&plural, &past], start.clone(), s).unwrap();
        let (mut one, mut all) = (new(), new());
        while !one.is_done() {
            one.advance().unwrap();
        }
        let mut meta_steps = 0;
        while !all.is_done() {
            let tuner = all.inner_tuner().unwrap();
            let rest = tuner.batch_rest().unwrap();
            let grads: Vec<(f32, Vec<f32>)> = rest
                .iter()
                .map(|mb| tuning::extras_gradient(tuner.model(), tuner.extras(), mb).unwrap())
                .collect();
            let mut last = None;
            for (loss, g) in grads {
                last = Some(tuner.take(loss, &g).unwrap());
            }
            if let Advance::MetaStep(_) = all.stepped(&last.unwrap()).unwrap() {
                meta_steps += 1;
            }
        }
        assert_eq!(meta_steps, 2, "{algorithm:?}");
        assert_eq!(bits(all.phi()), bits(one.phi()), "{algorithm:?}");
    }
}
