//! `glassbox lm ...`: the language model of chapters 4 and 5. `data` builds the corpus from
//! Debian's wordnet-base and the pluralize word list; `train` trains the model (AdamW, cosine
//! schedule) with a progress line on stderr and writes the weights and the loss curve; `eval`
//! measures the held-out loss; `sample` continues a prompt; `next` gives the next character's
//! distribution; `pluralize` and `digits` are chapter 4's measurements (in `prompting`);
//! `soft-prompt` and `finetune-all` chapter 5's training runs (in `soft_prompting`).

use crate::out_dir::OutDir;
use crate::ranges;
use crate::Failure;
use clap::{Args, Subcommand, ValueEnum};
use glassbox_lab::figures::lm::{draw_loss_curve, loss_csv, LossPoint};
use glassbox_lab::figures::{self, Palette};
use glassbox_lab::lm::corpus::{self, sha256_hex};
use glassbox_lab::lm::{
    distribution, eval_loss, from_bytes, generate, plurals, to_bytes, Config, Dtype, Model,
    Session, TrainSettings, Trainer, Vocab, MAX_NEW_TOKENS,
};
use serde_json::json;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub const CORPUS: &str = "target/lm/corpus.txt";
pub const HELD_OUT: &str = "assets/lm/heldout.txt";
pub const WEIGHTS: &str = "assets/lm/glassbox-lm.bin";
pub const PLURALS: &str = "assets/lm/plurals.tsv";
pub const WORDS: &str = "assets/lm/words.tsv";
/// Words `lm data` lists by frequency.
const WORDS_TOP: usize = 2000;
/// Windows of the held-out text `eval` scores (and `train` at the end); `train` checks 32 on the way.
pub const EVAL_WINDOWS: usize = 256;

#[derive(Subcommand)]
pub enum Command {
    /// Build the corpus (WordNet glosses and generated singular/plural sentences) and its held-out part.
    Data(Data),
    /// Train the model on the corpus; prints the final numbers, writes the weights and the loss curve.
    Train(Train),
    /// The held-out loss of a weights file, in nats per character.
    Eval(Eval),
    /// Continue a prompt.
    Sample(Sample),
    /// The next character's distribution after a prompt.
    Next(Next),
    /// Chapter 4: the pluralize task with the hard prompt "The plural of X is" after 0-9 examples.
    Pluralize(crate::prompting::Pluralize),
    /// Chapter 4: the model continues a list of digits; their counts against the uniform.
    Digits(crate::prompting::Digits),
    /// Chapter 4: which of four spellings is the plural, by prompting (three strategies, two scorings).
    Choice(crate::prompting::Choice),
    /// Chapter 5: train a soft prompt (or a per-layer prefix) on the pluralize training nouns, the model frozen.
    SoftPrompt(crate::soft_prompting::SoftPrompt),
    /// Chapter 5: fine-tune every weight on the same nouns, with the held-out loss before and after.
    FinetuneAll(crate::soft_prompting::FinetuneAll),
    /// Chapter 5, question (d): meta-learn a soft prompt's initialisation on two word tasks
    /// (Reptile or first-order MAML), then adapt to the third from it, a random and the hard one.
    MetaPrompt(crate::meta_prompt::MetaPrompt),
}

#[derive(Args)]
pub struct Data {
    /// WordNet's database (Debian's wordnet-base).
    #[arg(long, default_value = "/usr/share/wordnet")]
    wordnet: PathBuf,
    /// The pluralize word list.
    #[arg(long, default_value = PLURALS)]
    plurals: PathBuf,
    /// Seed of the sentences' templates and of the lines' order.
    #[arg(long, default_value_t = 0, value_parser = ranges::whole::<u64>)]
    seed: u64,
    /// Write the corpus here.
    #[arg(long, default_value = CORPUS)]
    out: PathBuf,
    /// Write its held-out part here (the last 5%).
    #[arg(long, default_value = HELD_OUT)]
    held_out: PathBuf,
    /// Write its most frequent words here (rank, word, count; chapter 4 compares failing answers
    /// with them).
    #[arg(long, default_value = WORDS)]
    words: PathBuf,
}

#[derive(Clone, Copy, ValueEnum)]
enum Size {
    Standard,
    Small,
    Tiny,
}

#[derive(Clone, Copy, ValueEnum)]
enum Precision {
    F32,
    F16,
}

#[derive(Args)]
pub struct Train {
    /// The corpus `glassbox lm data` wrote.
    #[arg(long, default_value = CORPUS)]
    corpus: PathBuf,
    /// Train on the first N characters of the training part only.
    #[arg(long, value_parser = ranges::at_least(1000usize))]
    chars: Option<usize>,
    #[arg(long, default_value_t = 4000, value_parser = ranges::between(1usize, 1_000_000))]
    steps: usize,
    /// Sequences of 128 characters per step.
    #[arg(long, default_value_t = 32, value_parser = ranges::between(1usize, 1024))]
    batch: usize,
    /// Peak learning rate (cosine down to a tenth of it after a 100-step warm-up).
    #[arg(long, default_value_t = 2e-3, value_parser = ranges::positive::<f64>)]
    lr: f64,
    #[arg(long, default_value_t = 0, value_parser = ranges::whole::<u64>)]
    seed: u64,
    /// Measure the held-out loss every N steps (and save the weights).
    #[arg(long, default_value_t = 250, value_parser = ranges::at_least(1usize))]
    eval_every: usize,
    /// The model's shape: standard (4 layers, width 128: the shipped model), small (2 layers,
    /// width 56: about a tenth of the parameters, chapter 4's smaller model) or tiny (for tests).
    #[arg(long, value_enum, default_value = "standard")]
    size: Size,
    /// The same as --size tiny.
    #[arg(long, conflicts_with = "size")]
    tiny: bool,
    /// Write the weights here.
    #[arg(long, default_value = WEIGHTS)]
    out: PathBuf,
    #[arg(long, value_enum, default_value = "f16")]
    precision: Precision,
    /// Write the loss curve (loss.svg, loss.csv) into this folder.
    #[arg(long)]
    curve: Option<PathBuf>,
}

#[derive(Args)]
pub struct Eval {
    #[arg(long, default_value = WEIGHTS)]
    weights: PathBuf,
    /// The held-out text.
    #[arg(long, default_value = HELD_OUT)]
    text: PathBuf,
    #[arg(long, default_value_t = EVAL_WINDOWS, value_parser = ranges::between(1usize, 100_000))]
    windows: usize,
}

#[derive(Args)]
pub struct Sample {
    #[arg(long, default_value = WEIGHTS)]
    weights: PathBuf,
    #[arg(long)]
    prompt: String,
    /// 0 is greedy (deterministic).
    #[arg(long, default_value_t = 0.8, value_parser = ranges::non_negative)]
    temperature: f64,
    /// Sample among the k likeliest characters only (0: all).
    #[arg(long, default_value_t = 0, value_parser = ranges::whole::<usize>)]
    top_k: usize,
    /// Characters to generate.
    #[arg(long, default_value_t = 200, value_parser = ranges::between(1usize, MAX_NEW_TOKENS))]
    tokens: usize,
    #[arg(long, default_value_t = 0, value_parser = ranges::whole::<u64>)]
    seed: u64,
}

#[derive(Args)]
pub struct Next {
    #[arg(long, default_value = WEIGHTS)]
    weights: PathBuf,
    #[arg(long)]
    prompt: String,
    /// How many of the likeliest characters to print.
    #[arg(long, default_value_t = 10, value_parser = ranges::between(1usize, 1000))]
    top_k: usize,
}

impl Command {
    pub fn run(self) -> Result<serde_json::Value, Failure> {
        match self {
            Command::Data(d) => data(d),
            Command::Train(t) => train(t),
            Command::Eval(e) => eval(e),
            Command::Sample(s) => sample(s),
            Command::Next(n) => next(n),
            Command::Pluralize(p) => crate::prompting::pluralize(p),
            Command::Digits(d) => crate::prompting::digits(d),
            Command::Choice(c) => crate::prompting::choice(c),
            Command::SoftPrompt(a) => crate::soft_prompting::soft_prompt(a),
            Command::FinetuneAll(a) => crate::soft_prompting::finetune_all(a),
            Command::MetaPrompt(a) => crate::meta_prompt::meta_prompt(a),
        }
    }
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| Failure::Run(format!("{what} {}: {e}", path.display())))
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(path, bytes).map_err(|e| Failure::Run(format!("{}: {e}", path.display())))
}

fn text(path: &Path, what: &str) -> Result<String, Failure> {
    String::from_utf8(read(path, what)?)
        .map_err(|_| Failure::Run(format!("{what} {} is not UTF-8", path.display())))
}

fn data(d: Data) -> Result<serde_json::Value, Failure> {
    let mut lines = Vec::new();
    for pos in ["noun", "verb", "adj", "adv"] {
        let file = d.wordnet.join(format!("data.{pos}"));
        let t = std::fs::read_to_string(&file).map_err(|e| {
            format!(
                "WordNet's {} ({e}): install Debian's wordnet-base (scripts/setup.sh lm does)",
                file.display()
            )
        })?;
        lines.extend(corpus::glosses(&t));
    }
    let glosses = lines.len();
    let nouns = plurals::parse(&text(&d.plurals, "the word list")?)?;
    let sentences = corpus::sentences(&nouns, d.seed);
    let n_sentences = sentences.len();
    lines.extend(sentences);
    let lists = corpus::pair_lists(&nouns, d.seed);
    let digit_lists = corpus::digit_lists(d.seed);
    let (n_lists, n_digit_lists) = (lists.len(), digit_lists.len());
    lines.extend(lists);
    lines.extend(digit_lists);
    let all = corpus::build(lines, d.seed);
    let (_, held) = corpus::split(&all);
    write(&d.out, all.as_bytes())?;
    write(&d.held_out, held.as_bytes())?;
    write(
        &d.words,
        corpus::words_tsv(&corpus::word_counts(&all), WORDS_TOP).as_bytes(),
    )?;
    let vocab = Vocab::from_corpus(&all)?;
    Ok(json!({
        "out": d.out, "held_out": d.held_out, "chars": all.len(), "held_out_chars": held.len(),
        "glosses": glosses, "sentences": n_sentences, "pair_lists": n_lists,
        "digit_lists": n_digit_lists, "vocab": vocab.len(),
        "sha256": sha256_hex(all.as_bytes()), "held_out_sha256": sha256_hex(held.as_bytes()),
    }))
}

/// The model's shape for a vocabulary.
fn config(vocab: usize, size: Size) -> Config {
    match size {
        Size::Standard => Config::standard(vocab),
        Size::Small => Config::small(vocab),
        Size::Tiny => Config {
            vocab,
            layers: 1,
            heads: 2,
            width: 32,
            mlp: 64,
            context: 32,
        },
    }
}

fn train(t: Train) -> Result<serde_json::Value, Failure> {
    let all = text(&t.corpus, "the corpus (glassbox lm data writes it)")?;
    let (train_text, held) = corpus::split(&all);
    let vocab = Vocab::from_corpus(&all)?;
    let mut tokens = vocab.encode(train_text)?;
    if let Some(n) = t.chars {
        tokens.truncate(n);
    }
    let held = vocab.encode(held)?;
    let settings = TrainSettings {
        steps: t.steps,
        batch: t.batch,
        lr: t.lr as f32,
        min_lr: t.lr as f32 / 10.0,
        warmup: 100.min(t.steps / 10),
        seed: t.seed,
        ..TrainSettings::default()
    };
    let size = if t.tiny { Size::Tiny } else { t.size };
    let model = Model::new(config(vocab.len(), size), t.seed)?;
    let (params, context) = (model.param_count(), model.config.context);
    let mut trainer = Trainer::new(model, settings).map_err(Failure::Input)?;
    let dtype = match t.precision {
        Precision::F32 => Dtype::F32,
        Precision::F16 => Dtype::F16,
    };
    let start = Instant::now();
    let mut points = Vec::new();
    while !trainer.is_done() {
        let r = trainer.step(&tokens)?;
        let mut p = LossPoint {
            step: r.step,
            train: r.loss as f64,
            held_out: None,
        };
        if r.step % t.eval_every == 0 || trainer.is_done() {
            p.held_out = Some(eval_loss(trainer.model(), &held, 32)? as f64);
            write(&t.out, &to_bytes(trainer.model(), &vocab, dtype)?)?;
        }
        points.push(p);
        progress(
            &r,
            &p,
            t.steps,
            t.batch * context,
            start.elapsed().as_secs_f64(),
        );
    }
    eprintln!();
    let model = trainer.into_model();
    let bytes = to_bytes(&model, &vocab, dtype)?;
    write(&t.out, &bytes)?;
    // The loss of the weights as written (f16 rounding included).
    let (saved, _) = from_bytes(&bytes)?;
    let val = eval_loss(&saved, &held, EVAL_WINDOWS)?;
    if let Some(dir) = OutDir::open(t.curve.as_deref())? {
        let svg = figures::to_svg(720, 420, |a| draw_loss_curve(a, &points, &Palette::LIGHT))?;
        dir.write("loss.svg", &svg)?;
        dir.write("loss.csv", &loss_csv(&points))?;
    }
    let seconds = start.elapsed().as_secs_f64();
    let chars = t.steps * t.batch * context;
    Ok(json!({
        "out": t.out, "sha256": sha256_hex(&bytes), "bytes": bytes.len(), "params": params,
        "vocab": vocab.len(), "steps": t.steps, "batch": t.batch, "lr": t.lr, "seed": t.seed,
        "train_chars_seen": chars, "corpus_sha256": sha256_hex(all.as_bytes()),
        "final_train_loss": points.last().map(|p| p.train),
        "val_loss_nats_per_char": val, "seconds": seconds, "chars_per_second": chars as f64 / seconds,
    }))
}

fn progress(r: &glassbox_lab::lm::StepReport, p: &LossPoint, steps: usize, chars: usize, s: f64) {
    let rate = (r.step * chars) as f64 / s.max(1e-9);
    let eta = (steps - r.step) as f64 * s / r.step.max(1) as f64;
    let held = p
        .held_out
        .map(|h| format!("  held-out {h:.3}"))
        .unwrap_or_default();
    eprint!(
        "\rstep {}/{steps}  loss {:.3}  lr {:.1e}  {rate:.0} chars/s  eta {:.0} min{held}   ",
        r.step,
        r.loss,
        r.lr,
        eta / 60.0
    );
    if p.held_out.is_some() {
        eprintln!();
    }
    std::io::stderr().flush().ok();
}

pub(crate) fn load(path: &Path) -> Result<(Model, Vocab, String), Failure> {
    let bytes = read(path, "the weights")?;
    let (model, vocab) = from_bytes(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((model, vocab, sha256_hex(&bytes)))
}

fn eval(e: Eval) -> Result<serde_json::Value, Failure> {
    let (model, vocab, sha) = load(&e.weights)?;
    let held = vocab.encode(&text(&e.text, "the held-out text")?)?;
    let loss = eval_loss(&model, &held, e.windows)?;
    Ok(json!({
        "val_loss_nats_per_char": loss, "params": model.param_count(),
        "chars": e.windows * model.config.context, "vocab": vocab.len(), "sha256": sha,
    }))
}

/// The prompt's ids; characters outside the vocabulary become the fallback, and are listed.
fn prompt_ids(vocab: &Vocab, prompt: &str) -> Result<(Vec<u32>, serde_json::Value), Failure> {
    if prompt.is_empty() {
        return Err(Failure::Input("--prompt: the prompt is empty".into()));
    }
    let lossy = vocab.encode_lossy(prompt);
    let note = if lossy.replaced.is_empty() {
        serde_json::Value::Null
    } else {
        json!({"characters": lossy.replaced.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
               "mapped_to": lossy.fallback.to_string()})
    };
    Ok((lossy.tokens, note))
}

fn sample(s: Sample) -> Result<serde_json::Value, Failure> {
    let (model, vocab, _) = load(&s.weights)?;
    let (ids, replaced) = prompt_ids(&vocab, &s.prompt)?;
    let (tokens, probs) = generate(
        &model,
        &ids,
        s.tokens,
        s.temperature as f32,
        s.top_k,
        s.seed,
    )
    .map_err(Failure::Input)?;
    Ok(json!({
        "text": vocab.decode(&tokens)?, "tokens": tokens.len(), "probs": probs,
        "replaced": replaced,
    }))
}

fn next(n: Next) -> Result<serde_json::Value, Failure> {
    let (model, vocab, _) = load(&n.weights)?;
    let (ids, replaced) = prompt_ids(&vocab, &n.prompt)?;
    let logits = Session::new(&model)?.feed(&ids)?;
    let p = distribution(&logits, 1.0, 0)?;
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
    let next: Vec<serde_json::Value> = order
        .iter()
        .take(n.top_k)
        .map(|&i| json!({"char": vocab.chars()[i].to_string(), "prob": p[i]}))
        .collect();
    Ok(json!({"next": next, "replaced": replaced}))
}
