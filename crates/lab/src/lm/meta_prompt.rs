//! Meta-learning a soft prompt's initialisation (chapter 5, the homework's question (d)): which K
//! vectors should a soft prompt start from so that a few steps on a task it has never seen reach
//! a good prompt?
//!
//! - Tasks: T = (name, training pairs, validation pairs), each pair read as "{base} is {form}."
//!   with the loss on " {form}." only (`tuning`): plural (`plurals.tsv`: cat -> cats), past tense
//!   (`past.tsv`: walk -> walked) and comparative (`comparative.tsv`: tall -> taller).
//! - Inner loop: phi_T = U_T(phi), `inner_steps` steps of Adam (a fresh state, rate alpha) from phi
//!   on batches of `BATCH` pairs of T in a seeded order, the model frozen: the procedure the
//!   target task gets, so meta-training shapes phi for exactly it.
//! - Reptile (Nichol et al., 2018): phi <- phi + eps (1/n) sum_T (phi_T - phi).
//! - First-order MAML (Finn et al., 2017, as Nichol et al. state it): g = (1/n) sum_T grad
//!   L_T(phi_T), the gradient at the adapted point on a fresh batch of T (`BATCH` pairs drawn
//!   anew): MAML's gradient with the inner loop's Jacobian dphi_T/dphi taken as the identity; phi
//!   moves by Adam at rate beta on g (Finn et al.'s meta-optimiser too: the soft prompt's gradient
//!   differs in scale from coordinate to coordinate, and plain phi <- phi - beta g either barely
//!   moved or diverged here).
//! - Evaluation on the held-out target task: Adam (the inner loop's rate) on its training pairs,
//!   the same batches for every start, from phi ("meta"), from N(0, sigma^2) ("random", `tuning`'s
//!   `Init::Random`: meta-training starts there too, so the two differ only by what it learned) and
//!   from the hard prompt's embeddings ("hard", `Init::Hard`); validation accuracy (greedy, scored
//!   as chapter 4 scores) after each of `ADAPT_STEPS` steps.
//!
//! The word lists' rules are named as the pluralize list names them (`scripts/lm/forms.py`): "+s"
//! the plain suffix (walked, taller), "+es" a final e dropped or a consonant doubled (baked,
//! stopped, bigger), "y->ies" y -> i before the suffix (carried, happier), "unchanged" (cut ->
//! cut), "irregular" anything else (ran, better); `Task::parse` checks every pair against its rule.

use super::model::Model;
use super::plurals::{self, Noun, Rule, Split};
use super::tokenizer::Vocab;
use super::train::{AdamW, TrainSettings};
use super::tuning::{self, encode, Example, Init, Method, TuneSettings, Tuner, BATCH, MICRO};
use crate::rng::Rng;

/// Soft-prompt vectors K by default.
pub const DEFAULT_TOKENS: usize = 8;
/// Adaptation steps after which the target's validation accuracy is measured.
pub const ADAPT_STEPS: [usize; 3] = [1, 5, 20];
/// Most meta-iterations of one run.
pub const MAX_META_STEPS: usize = 10_000;
/// Most inner-loop steps.
pub const MAX_INNER_STEPS: usize = 100;

/// One of the three word tasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TaskKind {
    Plural,
    Past,
    Comparative,
}

impl TaskKind {
    pub const ALL: [TaskKind; 3] = [TaskKind::Plural, TaskKind::Past, TaskKind::Comparative];

    pub fn name(self) -> &'static str {
        match self {
            TaskKind::Plural => "plural",
            TaskKind::Past => "past",
            TaskKind::Comparative => "comparative",
        }
    }

    pub fn parse(s: &str) -> Option<TaskKind> {
        TaskKind::ALL.into_iter().find(|t| t.name() == s)
    }

    /// The word list's file name in `assets/lm/`.
    pub fn file(self) -> &'static str {
        match self {
            TaskKind::Plural => "plurals.tsv",
            TaskKind::Past => "past.tsv",
            TaskKind::Comparative => "comparative.tsv",
        }
    }

    /// The suffix a regular form adds (the plural's rules are the pluralize list's own).
    pub fn suffix(self) -> Option<&'static str> {
        match self {
            TaskKind::Plural => None,
            TaskKind::Past => Some("ed"),
            TaskKind::Comparative => Some("er"),
        }
    }
}

/// A task's pairs: `singular` holds the base word and `plural` its form.
#[derive(Clone, Debug, PartialEq)]
pub struct Task {
    pub kind: TaskKind,
    pub train: Vec<Noun>,
    pub val: Vec<Noun>,
}

impl Task {
    /// Read a word list (the pluralize list's format); the past and comparative pairs must agree
    /// with their rules.
    pub fn parse(kind: TaskKind, tsv: &str) -> Result<Task, String> {
        let all = plurals::parse(tsv).map_err(|e| format!("{}: {e}", kind.file()))?;
        if let Some(suffix) = kind.suffix() {
            for n in &all {
                let r = rule_of(&n.singular, &n.plural, suffix);
                if r != n.rule {
                    return Err(format!(
                        "{}: {} -> {} is {}, not {}",
                        kind.file(),
                        n.singular,
                        n.plural,
                        r.name(),
                        n.rule.name()
                    ));
                }
            }
        }
        let split =
            |s: Split| -> Vec<Noun> { all.iter().filter(|n| n.split == s).cloned().collect() };
        let (train, val) = (split(Split::Train), split(Split::Val));
        if train.is_empty() || val.is_empty() {
            return Err(format!(
                "{}: no training or no validation pairs",
                kind.file()
            ));
        }
        Ok(Task { kind, train, val })
    }

    pub fn train(&self) -> Vec<&Noun> {
        self.train.iter().collect()
    }

    pub fn val(&self) -> Vec<&Noun> {
        self.val.iter().collect()
    }
}

fn is_vowel(c: u8) -> bool {
    b"aeiou".contains(&c)
}

/// One syllable (groups of vowel letters, y one after a consonant) ending in one vowel letter and
/// one consonant other than w, x, y: the words that double it (stop -> stopped, big -> bigger).
fn doubles(w: &str) -> bool {
    let b = w.as_bytes();
    let groups = (0..b.len())
        .filter(|&i| {
            let vowel = is_vowel(b[i]) || (b[i] == b'y' && i > 0 && !is_vowel(b[i - 1]));
            let after_vowel = i > 0 && is_vowel(b[i - 1]);
            vowel && !(is_vowel(b[i]) && after_vowel)
        })
        .count();
    let n = b.len();
    groups == 1
        && n >= 2
        && is_vowel(b[n - 2])
        && !is_vowel(b[n - 1])
        && !b"wxy".contains(&b[n - 1])
        && (n == 2 || !is_vowel(b[n - 3]))
}

/// The regular form of `base` with `suffix` ("ed" or "er"): a final e takes the suffix less its
/// e, a final y after a consonant becomes i, a one-syllable consonant-vowel-consonant ending
/// doubles its consonant (not w, x, y), any other word takes the suffix.
pub fn regular(base: &str, suffix: &str) -> String {
    let b = base.as_bytes();
    match b.last() {
        Some(b'e') => format!("{base}{}", &suffix[1..]),
        Some(b'y') if b.len() >= 2 && !is_vowel(b[b.len() - 2]) => {
            format!("{}i{suffix}", &base[..base.len() - 1])
        }
        Some(&c) if doubles(base) => format!("{base}{}{suffix}", c as char),
        _ => format!("{base}{suffix}"),
    }
}

/// The rule that makes `form` from `base` with `suffix`, named as the word lists name it.
pub fn rule_of(base: &str, form: &str, suffix: &str) -> Rule {
    let plain = format!("{base}{suffix}");
    let e_dropped = base.ends_with('e') && form == format!("{base}{}", &suffix[1..]);
    let doubled = base
        .chars()
        .last()
        .is_some_and(|c| form == format!("{base}{c}{suffix}"));
    let y_to_i = base
        .strip_suffix('y')
        .is_some_and(|stem| form == format!("{stem}i{suffix}"));
    if form == base {
        Rule::Unchanged
    } else if form == plain {
        Rule::S
    } else if e_dropped || doubled {
        Rule::Es
    } else if y_to_i {
        Rule::YIes
    } else {
        Rule::Irregular
    }
}

/// How phi moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    Reptile,
    /// First-order MAML.
    Maml,
}

impl Algorithm {
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Reptile => "reptile",
            Algorithm::Maml => "maml",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MetaSettings {
    pub algorithm: Algorithm,
    /// K soft vectors.
    pub tokens: usize,
    pub meta_steps: usize,
    pub inner_steps: usize,
    /// Adam's rate alpha, in the inner loop and in adaptation.
    pub inner_lr: f32,
    /// eps (Reptile) or beta (first-order MAML's Adam).
    pub outer_lr: f32,
    pub seed: u64,
}

impl MetaSettings {
    /// The defaults for `algorithm` (chosen on the comparative target from plural and past:
    /// a run takes about a minute natively on two cores).
    pub fn new(algorithm: Algorithm) -> MetaSettings {
        MetaSettings {
            algorithm,
            tokens: DEFAULT_TOKENS,
            meta_steps: 200,
            inner_steps: 5,
            inner_lr: match algorithm {
                Algorithm::Reptile => 5e-2,
                Algorithm::Maml => 2e-2,
            },
            outer_lr: match algorithm {
                Algorithm::Reptile => 0.5,
                Algorithm::Maml => 1e-2,
            },
            seed: 0,
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        if !(1..=tuning::MAX_TOKENS).contains(&self.tokens) {
            return Err(format!(
                "tokens = {}: 1 to {}",
                self.tokens,
                tuning::MAX_TOKENS
            ));
        }
        if self.meta_steps > MAX_META_STEPS {
            return Err(format!(
                "meta-steps = {}: at most {MAX_META_STEPS}",
                self.meta_steps
            ));
        }
        if !(1..=MAX_INNER_STEPS).contains(&self.inner_steps) {
            return Err(format!(
                "inner steps = {}: 1 to {MAX_INNER_STEPS}",
                self.inner_steps
            ));
        }
        for (what, v) in [("inner rate", self.inner_lr), ("outer rate", self.outer_lr)] {
            if !v.is_finite() || v <= 0.0 || v > 10.0 {
                return Err(format!("{what} = {v}: above 0, at most 10"));
            }
        }
        Ok(())
    }
}

/// The soft-prompt settings of a run of `steps` Adam steps over `nouns` pairs.
fn soft_settings(s: &MetaSettings, steps: usize, nouns: usize, seed: u64) -> TuneSettings {
    let mut t = TuneSettings::new(Method::Soft);
    t.tokens = s.tokens;
    t.lr = s.inner_lr;
    t.epochs = steps.div_ceil(nouns.div_ceil(BATCH).max(1)).max(1);
    t.seed = seed;
    t
}

/// One Adam step: micro-batches until a batch (or the epoch's last, smaller one) is complete.
fn adam_step(tuner: &mut Tuner) -> Result<(), String> {
    loop {
        if adam_stepped(&tuner.step()?) {
            return Ok(());
        }
    }
}

/// The mean loss over `nouns` and its gradient at the tuner's prompt, summed over micro-batches
/// as `Tuner::step` sums them.
fn gradient(tuner: &Tuner, vocab: &Vocab, nouns: &[&Noun]) -> Result<(f32, Vec<f32>), String> {
    let examples = nouns
        .iter()
        .map(|n| encode(vocab, "", n))
        .collect::<Result<Vec<_>, _>>()?;
    let (mut sum, mut den, mut grad) = (0.0f64, 0.0f64, vec![0.0f32; tuner.params().len()]);
    for chunk in examples.chunks(MICRO) {
        let batch: Vec<&Example> = chunk.iter().collect();
        let (loss, d, g) = tuner.loss_grad(&batch)?;
        grad.iter_mut()
            .zip(&g)
            .for_each(|(a, b)| *a += d as f32 * b);
        sum += loss as f64 * d;
        den += d;
    }
    grad.iter_mut().for_each(|v| *v /= den as f32);
    Ok(((sum / den) as f32, grad))
}

/// A starting prompt of `tuning` for the soft prompt of `s.tokens` vectors on `task`.
pub fn baseline(
    model: &Model,
    vocab: &Vocab,
    task: &Task,
    init: Init,
    s: &MetaSettings,
) -> Result<Vec<f32>, String> {
    let mut t = soft_settings(s, 1, task.train.len(), s.seed);
    t.init = init;
    Ok(Tuner::new(model, vocab, &task.train(), t)?
        .params()
        .to_vec())
}

/// What one call of `MetaTrainer::advance` did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Advance {
    /// A micro-batch of an inner loop.
    Inner,
    /// The last of a meta-iteration, and the outer update (with first-order MAML's loss).
    MetaStep(Option<f32>),
}

/// An inner loop in progress (on `MetaTrainer::task`): its tuner and the Adam steps it has taken.
struct Inner<'a> {
    tuner: Tuner<'a>,
    steps: usize,
}

/// Meta-training, resumable a micro-batch at a time (`advance`) or a meta-iteration at a time
/// (`step`, the same numbers).
pub struct MetaTrainer<'a> {
    model: &'a Model,
    vocab: &'a Vocab,
    tasks: Vec<Vec<&'a Noun>>,
    settings: MetaSettings,
    phi: Vec<f32>,
    adam: AdamW,
    rng: Rng,
    done: usize,
    /// The task whose inner loop runs (or runs next) in this meta-iteration.
    task: usize,
    inner: Option<Inner<'a>>,
    /// The current meta-iteration's mean update direction and MAML loss so far.
    mean: Vec<f32>,
    loss: f32,
}

impl<'a> MetaTrainer<'a> {
    pub fn new(
        model: &'a Model,
        vocab: &'a Vocab,
        tasks: &[&'a Task],
        init: Vec<f32>,
        settings: MetaSettings,
    ) -> Result<MetaTrainer<'a>, String> {
        settings.validate()?;
        if tasks.is_empty() {
            return Err("no meta-training tasks".into());
        }
        if init.len() != settings.tokens * model.config.width {
            return Err(format!(
                "an initialisation of {} numbers for {} vectors of width {}",
                init.len(),
                settings.tokens,
                model.config.width
            ));
        }
        Ok(MetaTrainer {
            model,
            vocab,
            tasks: tasks.iter().map(|t| t.train()).collect(),
            settings,
            adam: AdamW::new(
                init.len(),
                &TrainSettings {
                    weight_decay: 0.0,
                    ..TrainSettings::default()
                },
                Vec::new(),
            ),
            mean: vec![0.0; init.len()],
            phi: init,
            rng: Rng::stream(settings.seed, 0x4d_45_54_41),
            done: 0,
            task: 0,
            inner: None,
            loss: 0.0,
        })
    }

    pub fn phi(&self) -> &[f32] {
        &self.phi
    }

    pub fn steps_done(&self) -> usize {
        self.done
    }

    pub fn is_done(&self) -> bool {
        self.done >= self.settings.meta_steps
    }

    /// One meta-iteration: every task's inner loop from phi, then the outer update. Returns
    /// first-order MAML's loss at the adapted prompts (None for Reptile).
    pub fn step(&mut self) -> Result<Option<f32>, String> {
        loop {
            if let Advance::MetaStep(loss) = self.advance()? {
                return Ok(loss);
            }
        }
    }

    /// One micro-batch of the current inner loop; after a task's last inner step, its share of
    /// the update; after the last task's, the outer update.
    pub fn advance(&mut self) -> Result<Advance, String> {
        let p = self.inner_tuner()?.step()?;
        self.stepped(&p)
    }

    /// The current inner loop's tuner (started from phi, with the next seed, when none is running):
    /// train it a micro-batch or a batch at a time (`Tuner::step`, or a batch's micro-batches
    /// elsewhere then `Tuner::take`), telling `stepped` each time.
    pub fn inner_tuner(&mut self) -> Result<&mut Tuner<'a>, String> {
        if self.is_done() {
            return Err(format!(
                "all {} meta-iterations are done",
                self.settings.meta_steps
            ));
        }
        if self.inner.is_none() {
            let seed = self.rng.next_u64();
            let train = &self.tasks[self.task];
            let t = soft_settings(&self.settings, self.settings.inner_steps, train.len(), seed);
            let tuner = Tuner::with_prompt(self.model, self.vocab, train, t, self.phi.clone())?;
            self.inner = Some(Inner { tuner, steps: 0 });
        }
        Ok(&mut self.inner.as_mut().expect("started above").tuner)
    }

    /// After the inner tuner's step that ended with `p`: counts its Adam steps; after a task's
    /// last, its share of the update; after the last task's, the outer update.
    pub fn stepped(&mut self, p: &tuning::Progress) -> Result<Advance, String> {
        let s = self.settings;
        let Some(mut inner) = self.inner.take() else {
            return Err("no inner loop is running".into());
        };
        if adam_stepped(p) {
            inner.steps += 1;
        }
        if inner.steps < s.inner_steps {
            self.inner = Some(inner);
            return Ok(Advance::Inner);
        }
        let n = self.tasks.len() as f32;
        let train = &self.tasks[self.task];
        match s.algorithm {
            Algorithm::Reptile => {
                let moved = inner.tuner.params().iter().zip(&self.phi);
                self.mean
                    .iter_mut()
                    .zip(moved)
                    .for_each(|(m, (a, p))| *m += (a - p) / n);
            }
            Algorithm::Maml => {
                let mut order: Vec<usize> = (0..train.len()).collect();
                self.rng.shuffle(&mut order);
                let fresh: Vec<&Noun> = order.iter().take(BATCH).map(|&i| train[i]).collect();
                let (l, g) = gradient(&inner.tuner, self.vocab, &fresh)?;
                self.loss += l / n;
                self.mean.iter_mut().zip(&g).for_each(|(m, g)| *m += g / n);
            }
        }
        self.task += 1;
        if self.task < self.tasks.len() {
            return Ok(Advance::Inner);
        }
        self.task = 0;
        let mean = std::mem::replace(&mut self.mean, vec![0.0; self.phi.len()]);
        let loss = std::mem::take(&mut self.loss);
        if mean.iter().any(|v| !v.is_finite()) {
            return Err(format!(
                "meta-iteration {}: the update is not finite; lower the rates",
                self.done + 1
            ));
        }
        let rate = s.outer_lr;
        match s.algorithm {
            Algorithm::Reptile => self
                .phi
                .iter_mut()
                .zip(&mean)
                .for_each(|(p, m)| *p += rate * m),
            Algorithm::Maml => self.adam.step(&mut self.phi, &mean, rate)?,
        }
        self.done += 1;
        Ok(Advance::MetaStep(
            (s.algorithm == Algorithm::Maml).then_some(loss),
        ))
    }
}

/// Whether a tuner's micro-batch `p` completed an Adam step (a full batch, or an epoch's last).
pub fn adam_stepped(p: &tuning::Progress) -> bool {
    p.epoch_loss.is_some() || p.done.is_multiple_of(BATCH)
}

/// The tuner adaptation to `task` runs from `init` for `steps` Adam steps (`adapt`'s).
pub fn adaptation<'m>(
    model: &'m Model,
    vocab: &Vocab,
    task: &Task,
    init: Vec<f32>,
    s: &MetaSettings,
    steps: usize,
) -> Result<Tuner<'m>, String> {
    let t = soft_settings(s, steps, task.train.len(), s.seed);
    Tuner::with_prompt(model, vocab, &task.train(), t, init)
}

pub fn adapt(
    model: &Model,
    vocab: &Vocab,
    task: &Task,
    init: Vec<f32>,
    s: &MetaSettings,
    checkpoints: &[usize],
) -> Result<Vec<f64>, String> {
    let last = checkpoints.iter().copied().max().unwrap_or(0);
    let mut tuner = adaptation(model, vocab, task, init, s, last)?;
    let val = task.val();
    let mut out = Vec::new();
    let mut done = 0;
    for &c in checkpoints {
        while done < c {
            adam_step(&mut tuner)?;
            done += 1;
        }
        out.push(tuning::accuracy(&tuner.answers(vocab, &val)?));
    }
    Ok(out)
}

/// How far `phi` lies from the start `from`, relative to the start: |phi - from| / |from|.
pub fn moved(phi: &[f32], from: &[f32]) -> f64 {
    let norm = |v: &mut dyn Iterator<Item = f64>| v.map(|x| x * x).sum::<f64>().sqrt();
    let diff = norm(&mut phi.iter().zip(from).map(|(&a, &b)| (a - b) as f64));
    diff / norm(&mut from.iter().map(|&x| x as f64)).max(1e-12)
}

/// A whole run's numbers: accuracy after each of `ADAPT_STEPS` steps from each start.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    pub meta: Vec<f64>,
    pub random: Vec<f64>,
    pub hard: Vec<f64>,
    /// How far meta-training moved the prompt: |phi - phi_0| / |phi_0|.
    pub moved: f64,
}

/// Meta-train on `tasks` from the random start, then adapt to `target` from the three starts;
/// `progress` hears after each meta-iteration (its number, first-order MAML's loss).
pub fn run(
    model: &Model,
    vocab: &Vocab,
    tasks: &[&Task],
    target: &Task,
    s: &MetaSettings,
    mut progress: impl FnMut(usize, Option<f32>),
) -> Result<Report, String> {
    if tasks.iter().any(|t| t.kind == target.kind) {
        return Err(format!(
            "the target {} is among the meta-training tasks",
            target.kind.name()
        ));
    }
    let random = baseline(model, vocab, target, Init::Random, s)?;
    let hard = baseline(model, vocab, target, Init::Hard, s)?;
    let mut meta = MetaTrainer::new(model, vocab, tasks, random.clone(), *s)?;
    while !meta.is_done() {
        let loss = meta.step()?;
        progress(meta.steps_done(), loss);
    }
    let phi = meta.phi().to_vec();
    let moved = moved(&phi, &random);
    Ok(Report {
        meta: adapt(model, vocab, target, phi, s, &ADAPT_STEPS)?,
        random: adapt(model, vocab, target, random, s, &ADAPT_STEPS)?,
        hard: adapt(model, vocab, target, hard, s, &ADAPT_STEPS)?,
        moved,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_regular_rules_on_a_few_words() {
        let past = [
            ("walk", "walked"),
            ("bake", "baked"),
            ("agree", "agreed"),
            ("carry", "carried"),
            ("play", "played"),
            ("stop", "stopped"),
            ("rain", "rained"),
            ("fix", "fixed"),
            ("visit", "visited"),
            ("need", "needed"),
        ];
        for (base, form) in past {
            assert_eq!(regular(base, "ed"), form, "{base}");
        }
        let comparative = [
            ("tall", "taller"),
            ("large", "larger"),
            ("happy", "happier"),
            ("big", "bigger"),
            ("grey", "greyer"),
            ("new", "newer"),
            ("cool", "cooler"),
        ];
        for (base, form) in comparative {
            assert_eq!(regular(base, "er"), form, "{base}");
        }
        assert_eq!(rule_of("walk", "walked", "ed"), Rule::S);
        assert_eq!(rule_of("bake", "baked", "ed"), Rule::Es);
        assert_eq!(rule_of("stop", "stopped", "ed"), Rule::Es);
        assert_eq!(rule_of("carry", "carried", "ed"), Rule::YIes);
        assert_eq!(rule_of("cut", "cut", "ed"), Rule::Unchanged);
        assert_eq!(rule_of("run", "ran", "ed"), Rule::Irregular);
        assert_eq!(rule_of("big", "bigger", "er"), Rule::Es);
        assert_eq!(rule_of("happy", "happier", "er"), Rule::YIes);
        assert_eq!(rule_of("good", "better", "er"), Rule::Irregular);
    }

    #[test]
    fn a_pair_against_its_rule_is_named() {
        let head = "singular\tplural\trule\tsplit\ttagged\n";
        let ok = format!("{head}walk\twalked\t+s\ttrain\t1\nrun\tran\tirregular\tval\t1\n");
        let task = Task::parse(TaskKind::Past, &ok).unwrap();
        assert_eq!((task.train.len(), task.val.len()), (1, 1));
        let bad = format!("{head}walk\twalked\t+es\ttrain\t1\nrun\tran\tirregular\tval\t1\n");
        let e = Task::parse(TaskKind::Past, &bad).unwrap_err();
        assert!(e.contains("walk -> walked is +s"), "{e}");
        let no_val = format!("{head}walk\twalked\t+s\ttrain\t1\n");
        assert!(Task::parse(TaskKind::Past, &no_val).is_err());
        assert_eq!(TaskKind::parse("past"), Some(TaskKind::Past));
        assert_eq!(TaskKind::parse("future"), None);
    }

    #[test]
    fn bad_settings_are_named() {
        let mut s = MetaSettings::new(Algorithm::Reptile);
        assert!(s.validate().is_ok());
        s.tokens = 0;
        assert!(s.validate().unwrap_err().contains("tokens"));
        s.tokens = 8;
        s.inner_steps = 0;
        assert!(s.validate().unwrap_err().contains("inner steps"));
        s.inner_steps = 5;
        s.outer_lr = f32::NAN;
        assert!(s.validate().unwrap_err().contains("outer rate"));
    }
}
