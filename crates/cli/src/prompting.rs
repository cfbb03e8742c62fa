//! `glassbox lm pluralize` and `glassbox lm digits`: chapter 4's measurements of prompting, on the
//! CPU (`glassbox_lab::lm::{pluralize, digits}` say what is asked and how it is scored).

use crate::lm::{load, PLURALS, WEIGHTS};
use crate::ranges;
use crate::Failure;
use clap::{Args, ValueEnum};
use glassbox_lab::lm::pluralize::{self, Summary, MAX_SHOTS};
use glassbox_lab::lm::plurals::{self, Split};
use glassbox_lab::lm::{complete, digits, generate, Extras};
use serde_json::json;
use std::path::PathBuf;

#[derive(Clone, Copy, ValueEnum)]
pub enum Nouns {
    Val,
    Test,
    Diagnostic,
    Nonce,
}

#[derive(Args)]
pub struct Pluralize {
    /// Worked examples before the question (0 to 9), from the training nouns.
    #[arg(long, default_value_t = 0, value_parser = ranges::between(0usize, MAX_SHOTS))]
    shots: usize,
    /// Give each example another example's plural.
    #[arg(long)]
    wrong_labels: bool,
    /// The nouns asked about.
    #[arg(long, value_enum, default_value = "val")]
    split: Nouns,
    /// Seed of the examples' choice.
    #[arg(long, default_value_t = 0, value_parser = ranges::whole::<u64>)]
    seed: u64,
    #[arg(long, default_value = WEIGHTS)]
    weights: PathBuf,
    /// The pluralize word list.
    #[arg(long, default_value = PLURALS)]
    plurals: PathBuf,
}

#[derive(Args)]
pub struct Digits {
    /// Digits asked for (1 to 3000).
    #[arg(long, default_value_t = 100, value_parser = ranges::between(1usize, digits::MAX_DIGITS))]
    count: usize,
    /// 0 is greedy (deterministic).
    #[arg(long, default_value_t = 1.0, value_parser = ranges::non_negative)]
    temperature: f64,
    #[arg(long, default_value_t = 0, value_parser = ranges::whole::<u64>)]
    seed: u64,
    #[arg(long, default_value = WEIGHTS)]
    weights: PathBuf,
}

pub fn pluralize(p: Pluralize) -> Result<serde_json::Value, Failure> {
    let (model, vocab, _) = load(&p.weights)?;
    let tsv =
        std::fs::read_to_string(&p.plurals).map_err(|e| format!("{}: {e}", p.plurals.display()))?;
    let nouns = plurals::parse(&tsv)?;
    let (split, name) = match p.split {
        Nouns::Val => (Split::Val, "val"),
        Nouns::Test => (Split::Test, "test"),
        Nouns::Diagnostic => (Split::Diagnostic, "diagnostic"),
        Nouns::Nonce => (Split::Nonce, "nonce"),
    };
    let train = plurals::of(&nouns, Split::Train);
    let examples = pluralize::examples(&train, p.shots, p.wrong_labels, p.seed)?;
    let mut answers = Vec::new();
    for noun in plurals::of(&nouns, split) {
        let prompt = pluralize::prompt(&examples, &noun.singular);
        answers.push(pluralize::answer(&model, &vocab, &prompt, noun)?);
    }
    let s = Summary::of(&answers);
    let per_rule: serde_json::Map<String, serde_json::Value> = s
        .per_rule
        .iter()
        .map(|&(r, right, n)| (r.name().to_string(), json!(right as f64 / n as f64)))
        .collect();
    let answers: Vec<serde_json::Value> = answers
        .iter()
        .map(|a| {
            json!({"noun": a.noun, "expected": a.expected, "answer": a.answer,
                   "verdict": a.verdict.name(), "prob": a.prob, "continuation": a.continuation})
        })
        .collect();
    Ok(json!({
        "shots": p.shots, "wrong_labels": p.wrong_labels, "split": name, "seed": p.seed,
        "accuracy": s.accuracy(), "invalid_rate": s.invalid_rate(), "per_rule": per_rule,
        "answers": answers,
    }))
}

pub fn digits(d: Digits) -> Result<serde_json::Value, Failure> {
    let (model, vocab, _) = load(&d.weights)?;
    let prompt = vocab.encode(digits::PROMPT)?;
    let n = d.count * digits::CHARS_PER_DIGIT;
    let (tokens, _) =
        generate(&model, &prompt, n, d.temperature as f32, 0, d.seed).map_err(Failure::Input)?;
    let text = vocab.decode(&tokens)?;
    let t = digits::tally(&text, d.count);
    let (chi2, p) = t.chi_square.unzip();
    Ok(json!({
        "counts": t.counts, "digits_found": t.found, "asked": d.count, "chi_square": chi2,
        "p_value": p, "temperature": d.temperature, "seed": d.seed, "prompt": digits::PROMPT,
        "text": text,
    }))
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Scoring {
    Generate,
    Likelihood,
}

#[derive(Args)]
pub struct Choice {
    /// The multiple-choice task (one so far: which of four spellings is the plural).
    #[arg(long, default_value = "plural")]
    task: ChoiceTask,
    #[arg(long, value_enum, default_value = "bare")]
    strategy: ChoiceStrategy,
    #[arg(long, value_enum, default_value = "generate")]
    scoring: Scoring,
    /// Seed of the options' order and of the few-shot examples.
    #[arg(long, default_value_t = 0, value_parser = ranges::whole::<u64>)]
    seed: u64,
    #[arg(long, default_value = WEIGHTS)]
    weights: PathBuf,
    #[arg(long, default_value = PLURALS)]
    plurals: PathBuf,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ChoiceTask {
    Plural,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ChoiceStrategy {
    Bare,
    Instruction,
    FewShot,
}

pub fn choice(c: Choice) -> Result<serde_json::Value, Failure> {
    use glassbox_lab::lm::choice::{self, Outcome, Strategy};
    use glassbox_lab::lm::Session;
    let (model, vocab, _) = load(&c.weights)?;
    let tsv =
        std::fs::read_to_string(&c.plurals).map_err(|e| format!("{}: {e}", c.plurals.display()))?;
    let nouns = plurals::parse(&tsv)?;
    let strategy = match c.strategy {
        ChoiceStrategy::Bare => Strategy::Bare,
        ChoiceStrategy::Instruction => Strategy::Instruction,
        ChoiceStrategy::FewShot => Strategy::FewShot,
    };
    let examples = choice::examples(&plurals::of(&nouns, Split::Train), c.seed);
    let room = model.config.context;
    let mut items = Vec::new();
    let mut counts = [0usize; 3];
    for (i, noun) in plurals::of(&nouns, Split::Val).into_iter().enumerate() {
        let item = choice::item(noun, c.seed.wrapping_add(i as u64));
        let prompt = choice::prompt(strategy, &examples, &item);
        let (chosen, text) = match c.scoring {
            Scoring::Generate => {
                let (tokens, _) = complete(
                    &model,
                    Extras::default(),
                    choice::generator(&vocab, &prompt, room)?,
                )?;
                let text = vocab.decode(&tokens)?;
                (choice::read_letter(&text), text)
            }
            Scoring::Likelihood => {
                let ids = vocab.encode(&prompt)?;
                let logits = Session::new(&model)?.feed(&ids[ids.len().saturating_sub(room)..])?;
                let p = glassbox_lab::lm::distribution(&logits, 1.0, 0)?;
                (choice::likeliest_letter(&vocab, &p), String::new())
            }
        };
        let outcome = choice::outcome(&item, chosen);
        counts[outcome as usize] += 1;
        items.push(json!({
            "noun": item.noun, "options": item.options, "answer": choice::LETTERS[item.answer].to_string(),
            "chosen": chosen.map(|i| choice::LETTERS[i].to_string()), "continuation": text,
            "outcome": match outcome { Outcome::Right => "right", Outcome::Wrong => "wrong", Outcome::Invalid => "invalid" },
        }));
    }
    let n = items.len().max(1) as f64;
    Ok(json!({
        "task": "plural", "strategy": strategy.name(),
        "scoring": match c.scoring { Scoring::Generate => "generate", Scoring::Likelihood => "likelihood" },
        "accuracy": counts[0] as f64 / n, "wrong_rate": counts[1] as f64 / n, "invalid_rate": counts[2] as f64 / n,
        "items": items,
    }))
}
