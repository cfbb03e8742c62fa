//! `glassbox lm meta-prompt`: chapter 5's homework question (d) on the CPU. Meta-learns a soft
//! prompt's initialisation over two word tasks (Reptile or first-order MAML,
//! `glassbox_lab::lm::meta_prompt` states both), then adapts to the held-out third from the
//! meta-learned, a random and the hard initialisation, with the validation accuracy after 1, 5
//! and 20 steps; progress on stderr.

use crate::lm::{load, WEIGHTS};
use crate::ranges;
use crate::Failure;
use clap::{Args, ValueEnum};
use glassbox_lab::lm::meta_prompt::{
    self, Algorithm, MetaSettings, Task, TaskKind, ADAPT_STEPS, MAX_INNER_STEPS, MAX_META_STEPS,
};
use glassbox_lab::lm::tuning::MAX_TOKENS;
use serde_json::json;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Clone, Copy, ValueEnum)]
pub enum AlgorithmArg {
    /// First-order MAML: the gradient at the adapted prompt on a fresh batch.
    Maml,
    /// Reptile: a step towards the adapted prompts.
    Reptile,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum TaskArg {
    Plural,
    Past,
    Comparative,
}

impl TaskArg {
    fn kind(self) -> TaskKind {
        match self {
            TaskArg::Plural => TaskKind::Plural,
            TaskArg::Past => TaskKind::Past,
            TaskArg::Comparative => TaskKind::Comparative,
        }
    }
}

/// Two distinct meta-training tasks, `plural,past`.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskPair(Vec<TaskKind>);

fn task_pair(s: &str) -> Result<TaskPair, String> {
    let kinds = s
        .split(',')
        .map(|t| {
            TaskKind::parse(t.trim())
                .ok_or_else(|| format!("'{}' is not one of plural, past, comparative", t.trim()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if kinds.len() != 2 || kinds[0] == kinds[1] {
        return Err(format!(
            "'{s}' is not two distinct tasks (of plural, past, comparative)"
        ));
    }
    Ok(TaskPair(kinds))
}

fn rate(s: &str) -> Result<f32, String> {
    let v: f32 = ranges::positive(s)?;
    if v > 10.0 {
        return Err(format!("{v} is above 10"));
    }
    Ok(v)
}

#[derive(Args)]
pub struct MetaPrompt {
    /// The two meta-training tasks, comma-separated (of plural, past, comparative).
    #[arg(long, default_value = "plural,past", value_parser = task_pair)]
    tasks: TaskPair,
    /// The held-out task adapted to (not one of --tasks).
    #[arg(long, value_enum, default_value = "comparative")]
    target: TaskArg,
    #[arg(long, value_enum, default_value = "reptile")]
    algorithm: AlgorithmArg,
    /// Soft-prompt vectors K (1 to 32).
    #[arg(long, default_value_t = meta_prompt::DEFAULT_TOKENS, value_parser = ranges::between(1usize, MAX_TOKENS))]
    tokens: usize,
    /// Meta-iterations (0 to 10000; default 200).
    #[arg(long, value_parser = ranges::between(0usize, MAX_META_STEPS))]
    meta_steps: Option<usize>,
    /// Adam steps of the inner loop (1 to 100; default 5).
    #[arg(long, value_parser = ranges::between(1usize, MAX_INNER_STEPS))]
    inner_steps: Option<usize>,
    /// Adam's rate in the inner loop and in adaptation (above 0, at most 10; default 0.05 for
    /// Reptile, 0.02 for MAML).
    #[arg(long, value_parser = rate)]
    inner_lr: Option<f32>,
    /// Reptile's eps or first-order MAML's beta, its Adam's rate (above 0, at most 10; default 0.5
    /// for Reptile, 0.01 for MAML).
    #[arg(long, value_parser = rate)]
    outer_lr: Option<f32>,
    #[arg(long, default_value_t = 0, value_parser = ranges::whole::<u64>)]
    seed: u64,
    #[arg(long, default_value = WEIGHTS)]
    weights: PathBuf,
    /// The folder of the word lists (plurals.tsv, past.tsv, comparative.tsv).
    #[arg(long, default_value = "assets/lm")]
    lists: PathBuf,
}

/// An f32 as the f64 its shortest decimal reads as (0.05, not 0.05000000074505806).
fn shortest(v: f32) -> f64 {
    v.to_string().parse().unwrap_or(v as f64)
}

fn read_task(dir: &Path, kind: TaskKind) -> Result<Task, Failure> {
    let path = dir.join(kind.file());
    let tsv = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Task::parse(kind, &tsv)?)
}

pub fn meta_prompt(a: MetaPrompt) -> Result<serde_json::Value, Failure> {
    let target = a.target.kind();
    if a.tasks.0.contains(&target) {
        return Err(Failure::Input(format!(
            "--tasks: the target {} is held out, not a meta-training task",
            target.name()
        )));
    }
    let mut s = MetaSettings::new(match a.algorithm {
        AlgorithmArg::Maml => Algorithm::Maml,
        AlgorithmArg::Reptile => Algorithm::Reptile,
    });
    s.tokens = a.tokens;
    s.seed = a.seed;
    s.meta_steps = a.meta_steps.unwrap_or(s.meta_steps);
    s.inner_steps = a.inner_steps.unwrap_or(s.inner_steps);
    s.inner_lr = a.inner_lr.unwrap_or(s.inner_lr);
    s.outer_lr = a.outer_lr.unwrap_or(s.outer_lr);
    s.validate().map_err(Failure::Input)?;
    let t0 = Instant::now();
    let (model, vocab, _) = load(&a.weights)?;
    let tasks = a
        .tasks
        .0
        .iter()
        .map(|&k| read_task(&a.lists, k))
        .collect::<Result<Vec<_>, _>>()?;
    let target_task = read_task(&a.lists, target)?;
    let task_refs: Vec<&Task> = tasks.iter().collect();
    let mut losses = Vec::new();
    let report = meta_prompt::run(&model, &vocab, &task_refs, &target_task, &s, |i, loss| {
        let shown = loss
            .map(|l| format!(", query loss {l:.4}"))
            .unwrap_or_default();
        eprint!(
            "\rmeta-iteration {i}/{}{shown} ({:.0} s)   ",
            s.meta_steps,
            t0.elapsed().as_secs_f64()
        );
        std::io::stderr().flush().ok();
        losses.extend(loss);
    })?;
    if s.meta_steps > 0 {
        eprintln!();
    }
    let at = |acc: &[f64]| -> serde_json::Value {
        ADAPT_STEPS
            .iter()
            .zip(acc)
            .map(|(k, a)| (k.to_string(), json!(a)))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    Ok(json!({
        "tasks": a.tasks.0.iter().map(|k| k.name()).collect::<Vec<_>>(),
        "target": target.name(), "algorithm": s.algorithm.name(), "tokens": s.tokens,
        "meta_steps": s.meta_steps, "inner_steps": s.inner_steps, "inner_lr": shortest(s.inner_lr),
        "outer_lr": shortest(s.outer_lr), "seed": s.seed,
        "train_pairs": target_task.train.len(), "val_pairs": target_task.val.len(),
        "inits": {"meta": at(&report.meta), "random": at(&report.random), "hard": at(&report.hard)},
        "meta_moved": report.moved, "meta_query_loss": losses,
        "seconds": t0.elapsed().as_secs_f64(),
    }))
}
