//! Chapter 5 on the shipped model (reduced settings: a few epochs): a soft prompt trains only its
//! own vectors and leaves the model and its held-out loss exactly as they were; from the hard
//! prompt it beats chapter 4's best hard prompt over three seeds; full fine-tuning raises the
//! held-out loss (forgetting); the prompt positions' hidden states do not depend on what follows.

use glassbox_lab::lm::plurals::{self, Noun, Split};
use glassbox_lab::lm::tuning::{self, Method, TuneSettings, Tuner};
use glassbox_lab::lm::{eval_loss, shipped, Inputs, Model, Vocab};

const WEIGHTS: &[u8] = include_bytes!("../../../assets/lm/glassbox-lm.bin");
const PLURALS: &str = include_str!("../../../assets/lm/plurals.tsv");
const HELD_OUT: &str = include_str!("../../../assets/lm/heldout.txt");

fn setup() -> (Model, Vocab, Vec<Noun>) {
    let (model, vocab) = shipped::check(WEIGHTS).unwrap();
    (model, vocab, plurals::parse(PLURALS).unwrap())
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn soft_prompting_beats_the_best_hard_prompt_and_leaves_the_model_untouched() {
    let (model, vocab, nouns) = setup();
    let (train, val) = (
        plurals::of(&nouns, Split::Train),
        plurals::of(&nouns, Split::Val),
    );
    let held = vocab.encode(HELD_OUT).unwrap();
    let before = eval_loss(&model, &held, 8).unwrap();
    let weights = bits(&model.params);
    for seed in 0..3 {
        let mut s = TuneSettings::new(Method::Soft);
        s.epochs = 2;
        s.seed = seed;
        let mut tuner = Tuner::new(&model, &vocab, &train, s).unwrap();
        let start = tuner.params().to_vec();
        let start_acc = tuning::accuracy(&tuner.answers(&vocab, &val).unwrap());
        while !tuner.is_done() {
            tuner.step().unwrap();
        }
        assert_ne!(bits(tuner.params()), bits(&start), "the prompt trained");
        assert_eq!(bits(&tuner.model().params), weights, "the model is frozen");
        let after = eval_loss(tuner.model(), &held, 8).unwrap();
        assert_eq!(
            after.to_bits(),
            before.to_bits(),
            "held-out loss to the bit"
        );
        let acc = tuning::accuracy(&tuner.answers(&vocab, &val).unwrap());
        let (shots, hard) = tuning::best_hard_prompt(&model, &vocab, &train, &val, seed).unwrap();
        eprintln!(
            "seed {seed}: epoch 0 {start_acc:.3}, after 2 epochs {acc:.3}; best hard prompt \
             ({shots} shots) {hard:.3}"
        );
        assert!(
            acc >= hard,
            "seed {seed}: soft {acc} below the best hard prompt {hard}"
        );
    }
}

#[test]
fn prefix_tuning_trains_the_prefix_only() {
    let (model, vocab, nouns) = setup();
    let train = plurals::of(&nouns, Split::Train);
    let weights = bits(&model.params);
    let mut s = TuneSettings::new(Method::Prefix);
    s.tokens = 4;
    s.epochs = 1;
    let mut tuner = Tuner::new(&model, &vocab, &train[..64], s).unwrap();
    let c = model.config;
    assert_eq!(tuner.params_trained(), c.layers * 2 * 4 * c.width);
    let start = tuner.params().to_vec();
    let loss0 = tuner.train_loss().unwrap();
    while !tuner.is_done() {
        tuner.step().unwrap();
    }
    assert_ne!(bits(tuner.params()), bits(&start));
    assert_eq!(bits(&tuner.model().params), weights, "the model is frozen");
    let loss1 = tuner.train_loss().unwrap();
    assert!(loss1 < loss0, "training loss {loss0} -> {loss1}");
}

#[test]
fn the_hard_initialisation_is_the_hard_prompt() {
    let (model, vocab, nouns) = setup();
    let (train, val) = (
        plurals::of(&nouns, Split::Train),
        plurals::of(&nouns, Split::Val),
    );
    // K = 14 is "The plural of ": epoch 0 is chapter 4's zero-shot prompt, answer for answer.
    let s = TuneSettings::new(Method::Soft);
    assert_eq!(tuning::hard_text(&train, 14, 0).unwrap(), "The plural of ");
    let tuner = Tuner::new(&model, &vocab, &train, s).unwrap();
    let soft = tuner.answers(&vocab, &val[..10]).unwrap();
    for (a, n) in soft.iter().zip(&val[..10]) {
        let hard = glassbox_lab::lm::pluralize::answer(
            &model,
            &vocab,
            &glassbox_lab::lm::pluralize::question(&n.singular),
            n,
        )
        .unwrap();
        assert_eq!(a.continuation, hard.continuation, "{}", n.singular);
    }
}

#[test]
fn full_fine_tuning_forgets_the_held_out_text() {
    let (model, vocab, nouns) = setup();
    let train = plurals::of(&nouns, Split::Train);
    let held = vocab.encode(HELD_OUT).unwrap();
    let before = eval_loss(&model, &held, 16).unwrap();
    let mut s = TuneSettings::new(Method::Full);
    s.epochs = 2;
    let mut tuner = Tuner::new(&model, &vocab, &train, s).unwrap();
    assert_eq!(tuner.params_trained(), model.param_count());
    while !tuner.is_done() {
        tuner.step().unwrap();
    }
    let after = eval_loss(tuner.model(), &held, 16).unwrap();
    eprintln!("held-out loss {before:.4} -> {after:.4}");
    assert!(after > before + 0.05, "{before} -> {after}");
}

#[test]
fn prompt_positions_do_not_depend_on_what_follows() {
    let (model, vocab, _) = setup();
    let w = model.config.width;
    let k = 5;
    let soft: Vec<f32> = (0..k * w)
        .map(|i| ((i * 37 % 101) as f32 - 50.0) / 200.0)
        .collect();
    let mut first: Option<Vec<u32>> = None;
    for text in ["cat is", "mother-in-law is", "x", "The plural of wolf is"] {
        let ids = vocab.encode(text).unwrap();
        let inputs = Inputs::new(&ids, 1, ids.len()).with_soft(&soft);
        let h = model.hidden_states(&inputs).unwrap();
        let rows = k + ids.len();
        let prompt: Vec<f32> = (0..model.config.layers)
            .flat_map(|l| h[l * rows * w..][..k * w].to_vec())
            .collect();
        match &first {
            None => first = Some(bits(&prompt)),
            Some(f) => assert_eq!(&bits(&prompt), f, "after {text:?}"),
        }
    }
}

#[test]
fn a_batch_computed_at_once_trains_as_step_by_step() {
    // What the page's workers do: every micro-batch of a batch computed from the same prompt (or,
    // for full fine-tuning, the same weights, copied), then taken in order. The trained numbers
    // equal `step`'s to the bit (40 nouns: a partial last batch).
    let (model, vocab, nouns) = setup();
    let train = plurals::of(&nouns, Split::Train);
    for method in [Method::Soft, Method::Prefix, Method::Full] {
        let mut s = TuneSettings::new(method);
        s.tokens = 4;
        s.epochs = 2;
        let mut one = Tuner::new(&model, &vocab, &train[..40], s).unwrap();
        let mut all = Tuner::new(&model, &vocab, &train[..40], s).unwrap();
        while !one.is_done() {
            one.step().unwrap();
        }
        let mut batches = 0;
        while !all.is_done() {
            let rest = all.batch_rest().unwrap();
            let grads: Vec<(f32, Vec<f32>)> = rest
                .iter()
                .map(|mb| match method {
                    // A copy of the tuned weights, as a worker holds them.
                    Method::Full => {
                        let mut copy = model.clone();
                        copy.params.copy_from_slice(&all.model().params);
                        tuning::weights_gradient(&copy, mb).unwrap()
                    }
                    _ => tuning::extras_gradient(all.model(), all.extras(), mb).unwrap(),
                })
                .collect();
            for (loss, g) in grads {
                all.take(loss, &g).unwrap();
            }
            batches += 1;
        }
        assert_eq!(batches, 2 * 3, "{method:?}: three batches an epoch");
        assert_eq!(bits(all.params()), bits(one.params()), "{method:?}");
        assert_eq!(
            bits(&all.model().params),
            bits(&one.model().params),
            "{method:?}"
        );
        if method == Method::Full {
            assert_ne!(bits(&all.model().params), bits(&model.params));
        }
    }
}
