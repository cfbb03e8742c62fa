//! `glassbox lm soft-prompt` and `glassbox lm finetune-all`: chapter 5's training runs on the CPU
//! (`glassbox_lab::lm::tuning` says what is trained, from where, and on which positions), with the
//! validation accuracy after every epoch, the test irregulars' answers, the best hard prompt of
//! chapter 4 for comparison, and the held-out corpus loss before and after (forgetting); with
//! `--out DIR` the page's figure of the run (SVG and CSV).

use crate::lm::{load, HELD_OUT, PLURALS, WEIGHTS};
use crate::out_dir::OutDir;
use crate::ranges;
use crate::Failure;
use clap::{Args, ValueEnum};
use glassbox_lab::figures::tuning::{draw_tuning_curves, TuningCurves};
use glassbox_lab::figures::{to_svg, Palette};
use glassbox_lab::lm::eval_loss;
use glassbox_lab::lm::pluralize::Answer;
use glassbox_lab::lm::plurals::{self, Split, TRAIN_COUNT};
use glassbox_lab::lm::shipped::HELD_OUT_WINDOWS;
use glassbox_lab::lm::tuning::{
    self, Init, LossOn, Method, TuneSettings, Tuner, MAX_EPOCHS, MAX_TOKENS,
};
use serde_json::json;
use std::io::Write as _;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Clone, Copy, ValueEnum)]
pub enum InitArg {
    Hard,
    Random,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum LossOnArg {
    Answer,
    All,
    PromptAndAnswer,
}

/// What both runs read and how long they train.
#[derive(Args)]
pub struct Common {
    /// Passes over the training nouns (1 to 100).
    #[arg(long, default_value_t = 10, value_parser = ranges::between(1usize, MAX_EPOCHS))]
    epochs: usize,
    /// Training nouns to learn from, evenly spaced through the list (4 to 369; all by default).
    #[arg(long, default_value_t = TRAIN_COUNT, value_parser = ranges::between(4usize, TRAIN_COUNT))]
    nouns: usize,
    #[arg(long, default_value_t = 0, value_parser = ranges::whole::<u64>)]
    seed: u64,
    /// Windows of the held-out text scored before and after (the forgetting measure).
    #[arg(long, default_value_t = HELD_OUT_WINDOWS, value_parser = ranges::between(1usize, 100_000))]
    heldout_windows: usize,
    #[arg(long, default_value = WEIGHTS)]
    weights: PathBuf,
    #[arg(long, default_value = PLURALS)]
    plurals: PathBuf,
    #[arg(long, default_value = HELD_OUT)]
    heldout: PathBuf,
    /// Write the loss and accuracy curve (tuning.svg, tuning.csv) into this folder.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Args)]
pub struct SoftPrompt {
    /// Soft-prompt vectors, or prefix entries per layer (1 to 32).
    #[arg(long, default_value_t = 14, value_parser = ranges::between(1usize, MAX_TOKENS))]
    tokens: usize,
    /// Adam's learning rate (above 0, at most 1; default 0.005, or 0.01 for a prefix).
    #[arg(long, value_parser = learning_rate)]
    lr: Option<f64>,
    /// Start from the embeddings of a hard prompt's last K characters, or at random.
    #[arg(long, value_enum, default_value = "hard")]
    init: InitArg,
    /// Train a key/value prefix at every layer instead of input vectors.
    #[arg(long)]
    prefix: bool,
    /// Which output positions carry the loss.
    #[arg(long, value_enum, default_value = "answer")]
    loss_on: LossOnArg,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
pub struct FinetuneAll {
    /// Adam's learning rate (above 0, at most 1).
    #[arg(long, default_value_t = 3e-4, value_parser = learning_rate)]
    lr: f64,
    #[command(flatten)]
    common: Common,
}

fn learning_rate(s: &str) -> Result<f64, String> {
    let v: f64 = ranges::positive(s)?;
    if v > 1.0 {
        return Err(format!("{v} is above 1"));
    }
    Ok(v)
}

pub fn soft_prompt(a: SoftPrompt) -> Result<serde_json::Value, Failure> {
    let mut s = TuneSettings::new(if a.prefix {
        Method::Prefix
    } else {
        Method::Soft
    });
    s.tokens = a.tokens;
    if let Some(lr) = a.lr {
        s.lr = lr as f32;
    }
    s.init = match a.init {
        InitArg::Hard => Init::Hard,
        InitArg::Random => Init::Random,
    };
    s.loss_on = match a.loss_on {
        LossOnArg::Answer => LossOn::Answer,
        LossOnArg::All => LossOn::All,
        LossOnArg::PromptAndAnswer => LossOn::PromptAndAnswer,
    };
    run(s, &a.common)
}

pub fn finetune_all(a: FinetuneAll) -> Result<serde_json::Value, Failure> {
    let mut s = TuneSettings::new(Method::Full);
    s.lr = a.lr as f32;
    run(s, &a.common)
}

fn answers_json(answers: &[Answer]) -> serde_json::Value {
    answers
        .iter()
        .map(|a| json!({"noun": a.noun, "expected": a.expected, "answer": a.answer, "verdict": a.verdict.name()}))
        .collect()
}

fn run(mut s: TuneSettings, c: &Common) -> Result<serde_json::Value, Failure> {
    s.epochs = c.epochs;
    s.seed = c.seed;
    let t0 = Instant::now();
    let (model, vocab, _) = load(&c.weights)?;
    let tsv =
        std::fs::read_to_string(&c.plurals).map_err(|e| format!("{}: {e}", c.plurals.display()))?;
    let nouns = plurals::parse(&tsv)?;
    let held =
        std::fs::read_to_string(&c.heldout).map_err(|e| format!("{}: {e}", c.heldout.display()))?;
    let held = vocab.encode(&held)?;
    let (train, val, test) = (
        plurals::of(&nouns, Split::Train),
        plurals::of(&nouns, Split::Val),
        plurals::of(&nouns, Split::Test),
    );
    let heldout_before = eval_loss(&model, &held, c.heldout_windows)?;
    let (hard_shots, hard_acc) = tuning::best_hard_prompt(&model, &vocab, &train, &val, s.seed)?;
    let learn = plurals::spaced(train.clone(), c.nouns);
    let mut tuner = Tuner::new(&model, &vocab, &learn, s)?;
    let start_loss = tuner.train_loss()?;
    let start_acc = tuning::accuracy(&tuner.answers(&vocab, &val)?);
    let mut epochs = Vec::new();
    let mut epoch_points = Vec::new();
    while !tuner.is_done() {
        let p = tuner.step()?;
        if let Some(loss) = p.epoch_loss {
            let acc = tuning::accuracy(&tuner.answers(&vocab, &val)?);
            eprintln!(
                "epoch {}/{}: loss {loss:.4}, validation accuracy {:.1}% ({:.0} s)",
                p.epoch,
                s.epochs,
                100.0 * acc,
                t0.elapsed().as_secs_f64()
            );
            std::io::stderr().flush().ok();
            epochs.push(json!({"loss": loss, "val_accuracy": acc}));
            epoch_points.push((loss as f64, acc));
        }
    }
    let end_loss = tuner.train_loss()?;
    let val_answers = tuner.answers(&vocab, &val)?;
    let test_answers = tuner.answers(&vocab, &test)?;
    let heldout_after = eval_loss(tuner.model(), &held, c.heldout_windows)?;
    if let Some(dir) = OutDir::open(c.out.as_deref())? {
        let mut curve = vec![(start_loss as f64, start_acc)];
        curve.extend(epoch_points);
        let label = match s.method {
            Method::Full => format!("{}, {} epochs", s.method.name(), s.epochs),
            m => format!("{}, K = {}, from {}", m.name(), s.tokens, s.init.name()),
        };
        let fig = TuningCurves {
            runs: vec![(label, curve)],
            baseline: Some((
                format!("best hard prompt of chapter 4 ({hard_shots} shots)"),
                hard_acc,
            )),
        };
        let svg = to_svg(800, 460, |root| {
            draw_tuning_curves(root, &fig, &Palette::for_theme(false))
        })?;
        dir.write("tuning.svg", &svg)?;
        dir.write("tuning.csv", &fig.csv())?;
    }
    Ok(json!({
        "method": s.method.name(), "tokens": if s.method == Method::Full { 0 } else { s.tokens },
        "prefix": s.method == Method::Prefix, "init": s.init.name(), "loss_on": s.loss_on.name(),
        "lr": s.lr, "seed": s.seed, "train_nouns": learn.len(),
        "params_trained": tuner.params_trained(), "params_model": model.param_count(),
        "start": {"train_loss": start_loss, "val_accuracy": start_acc},
        "epochs": epochs,
        "train_loss": end_loss,
        "val_accuracy": tuning::accuracy(&val_answers),
        "test_accuracy": tuning::accuracy(&test_answers),
        "test_answers": answers_json(&test_answers),
        "best_hard_prompt_val_accuracy": hard_acc, "best_hard_prompt_shots": hard_shots,
        "heldout_loss_before": heldout_before, "heldout_loss_after": heldout_after,
        "heldout_windows": c.heldout_windows,
        "seconds": t0.elapsed().as_secs_f64(),
    }))
}
