//! The language model of chapters 4 and 5 in the page: its weights are downloaded only when a page
//! that needs them opens (never on the front page), with byte-level progress, checked against the
//! SHA-256 the lab records for the shipped file, and kept for the rest of the visit. A missing or
//! corrupt file is a named message, never a panic. Generation runs on WebGPU when the page has it
//! (the weights uploaded once per device) and on the CPU otherwise, from the lab's `Generator`;
//! so does a prompt-tuning step's gradient (`tuning_step`).

use crate::engine::Engine;
use crate::var::Var;
use crate::vision::data::{fetch_checked, fetch_with_status, load_once, LoadState};
use crate::web;
use crate::workers::device::Held;
use crate::workers::device_lm;
use crate::workers::job::{self, GradJob};
use crate::workers::pool::{self, Pool};
use glassbox_gpu::{Gpu, GpuError, GpuLm, GpuLmSession, Ran};
use glassbox_lab::assets::{self, Asset};
use glassbox_lab::lm::corpus::parse_words_tsv;
use glassbox_lab::lm::pluralize::{self, Answer};
use glassbox_lab::lm::plurals::{self, Noun, Split};
use glassbox_lab::lm::shipped::{self, Checkpoint};
use glassbox_lab::lm::tuning::{self, Method, Progress, Tuner};
use glassbox_lab::lm::{Extras, Generator, Model, Session, Vocab};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};
use std::sync::OnceLock;

pub struct LoadedLm {
    pub model: Model,
    pub vocab: Vocab,
    /// The checked file it came from, and its bytes (what a worker job carries).
    pub checkpoint: &'static Checkpoint,
    pub bytes: Vec<u8>,
}

impl LoadedLm {
    /// This model as a worker job names it, with `weights` in place of the file's when given.
    pub fn job_lm<'a>(&'a self, weights: Option<&'a [f32]>) -> job::JobLm<'a> {
        job::JobLm {
            file: self.checkpoint.file,
            bytes: &self.bytes,
            weights,
        }
    }
}

type Cache = RefCell<Option<Rc<LoadedLm>>>;

thread_local! {
    static LOADED: Cache = const { RefCell::new(None) };
    static LOADED_SMALL: Cache = const { RefCell::new(None) };
}

/// The shipped model, downloading and checking it the first time.
pub async fn ensure_lm(load: Var<LoadState>) -> Option<Rc<LoadedLm>> {
    ensure(
        &shipped::STANDARD,
        "the language model's weights",
        &LOADED,
        load,
    )
    .await
}

/// The small model (chapter 4's "bigger vs smaller"), likewise.
pub async fn ensure_small_lm(load: Var<LoadState>) -> Option<Rc<LoadedLm>> {
    ensure(
        &shipped::SMALL,
        "the small language model's weights",
        &LOADED_SMALL,
        load,
    )
    .await
}

/// `checkpoint`'s file (as `index.html` copies it into `dist/`), fetched with progress, checked
/// against its SHA-256, and kept in `cache` for the rest of the visit.
async fn ensure(
    checkpoint: &'static Checkpoint,
    what: &'static str,
    cache: &'static std::thread::LocalKey<Cache>,
    load: Var<LoadState>,
) -> Option<Rc<LoadedLm>> {
    let fetch = async move {
        // The checkpoint's own check (below) names a damaged file.
        let bytes = fetch_with_status(checkpoint.file, what, load, None).await?;
        load.set(LoadState::Loading("Checking the weights…".into(), None));
        crate::web::sleep(0).await;
        let (model, vocab) = checkpoint.check(&bytes)?;
        ensure_word_lists(load).await?;
        Ok(LoadedLm {
            model,
            vocab,
            checkpoint,
            bytes,
        })
    };
    load_once(cache, load, "The language model could not be loaded", fetch).await
}

/// A model on a device: the GPU it was uploaded to, the model, its weights there.
type OnDevice = (Weak<Gpu>, *const LoadedLm, Rc<GpuLm>);

thread_local! {
    static ON_DEVICE: RefCell<Vec<OnDevice>> = const { RefCell::new(Vec::new()) };
}

/// `lm`'s weights on `gpu`, uploaded the first time (per model: the loaded models live for the
/// visit, so their addresses name them).
pub fn on_device(gpu: &Rc<Gpu>, lm: &LoadedLm) -> Result<Rc<GpuLm>, GpuError> {
    let same = |w: &Weak<Gpu>| w.upgrade().is_some_and(|g| Rc::ptr_eq(&g, gpu));
    let key = lm as *const LoadedLm;
    let cached = ON_DEVICE.with_borrow(|d| {
        d.iter()
            .find(|e| e.1 == key && same(&e.0))
            .map(|e| e.2.clone())
    });
    if let Some(dev) = cached {
        return Ok(dev);
    }
    let dev = Rc::new(gpu.upload_lm(&lm.model)?);
    ON_DEVICE.with_borrow_mut(|d| {
        d.retain(|e| e.0.strong_count() > 0);
        d.push((Rc::downgrade(gpu), key, dev.clone()));
    });
    Ok(dev)
}

/// Chapter 4's word lists: the pluralize nouns (`plurals.tsv`) and the corpus's word ranks
/// (`words.tsv`). Downloaded with the model (`ensure`), not built into the code.
struct WordLists {
    nouns: Vec<Noun>,
    ranks: HashMap<String, usize>,
}

static WORD_LISTS: OnceLock<WordLists> = OnceLock::new();

/// The word lists, downloaded and checked the first time.
async fn ensure_word_lists(load: Var<LoadState>) -> Result<(), String> {
    if WORD_LISTS.get().is_some() {
        return Ok(());
    }
    let nouns = text_asset(assets::PLURALS, load).await?;
    let nouns = plurals::parse(&nouns).map_err(|e| format!("{}: {e}", assets::PLURALS.file))?;
    let ranks = parse_words_tsv(&text_asset(assets::WORDS, load).await?);
    let _ = WORD_LISTS.set(WordLists { nouns, ranks });
    Ok(())
}

/// One of the book's text assets, downloaded with progress in `load` and checked.
pub async fn text_asset(asset: Asset, load: Var<LoadState>) -> Result<String, String> {
    let bytes = fetch_checked(asset, load).await?;
    String::from_utf8(bytes).map_err(|_| format!("{} is not UTF-8", asset.file))
}

/// The pluralize word list; empty until a language model has loaded (`ensure_lm` brings it).
pub fn plural_nouns() -> &'static [Noun] {
    WORD_LISTS.get().map_or(&[], |w| w.nouns.as_slice())
}

/// The pluralize nouns of `split` (empty until a language model has loaded).
pub fn nouns_of(split: Split) -> Vec<&'static Noun> {
    plurals::of(plural_nouns(), split)
}

/// "all N validation nouns" once the word lists are here, else "all the validation nouns" (for text
/// written before the model has loaded).
pub fn all_nouns(n: usize, what: &str) -> String {
    match n {
        0 => format!("all the {what} nouns"),
        n => format!("all {n} {what} nouns"),
    }
}

/// A word's rank among the corpus's most frequent (1 = the most frequent), once a model has loaded.
pub fn word_rank(word: &str) -> Option<usize> {
    WORD_LISTS.get()?.ranks.get(word).copied()
}

/// `noun`'s plural as the model answers `prompt` greedily (on `gpu` when given), scored
/// (`pluralize`); with the ms of computation and where it ran.
pub async fn answer_plural(
    lm: &LoadedLm,
    webgpu: bool,
    engine: Engine,
    prompt: &str,
    noun: &Noun,
) -> Result<(Answer, f64, Ran), String> {
    let mut gen = pluralize::generator(&lm.vocab, prompt, lm.model.config.context)?;
    let done = run_generation(lm, webgpu, engine, Extras::default(), &mut gen, &mut |_| {
        true
    })
    .await?;
    let (tokens, probs) = gen.finish();
    let text = lm.vocab.decode(&tokens)?;
    Ok((pluralize::score(noun, &text, &probs), done.ms, done.ran))
}

/// Prompts per worker job (about half a second of greedy answers on one core).
const JOB_PROMPTS: usize = 10;

/// Prompts one round of `answer_plurals_on_workers` should hold to keep every worker busy once.
pub fn worker_round(pool: &Pool) -> usize {
    pool.workers() * JOB_PROMPTS
}

/// Each `(prompt, noun)`'s plural as the model (`lm`'s, or with `weights`, a fully fine-tuned copy)
/// answers it greedily after `extras` (a trained soft prompt or prefix, or none), scored, computed
/// by the worker pool in jobs of `JOB_PROMPTS` (each worker runs the lab's `tuning::Evaluator`, as
/// the page's CPU path does, so the answers are the same); `progress(prompts answered)` as jobs come back. Ok(None) once `alive` turns false; Err
/// when the pool was given up (the caller answers on the page then).
pub async fn answer_plurals_on_workers(
    pool: &Pool,
    lm: &LoadedLm,
    weights: Option<&[f32]>,
    extras: Extras<'_>,
    asks: &[(String, &Noun)],
    progress: &dyn Fn(usize),
    alive: &dyn Fn() -> bool,
) -> Result<Option<Vec<Answer>>, String> {
    let jobs = asks.len().div_ceil(JOB_PROMPTS);
    let message = |j: usize| {
        let end = ((j + 1) * JOB_PROMPTS).min(asks.len());
        let prompts: Vec<&str> = asks[j * JOB_PROMPTS..end]
            .iter()
            .map(|(p, _)| p.as_str())
            .collect();
        job::plurals_message(&lm.job_lm(weights), extras, &prompts)
    };
    let done = |d: usize| progress((d * JOB_PROMPTS).min(asks.len()));
    let Some(replies) = pool.run(jobs, &message, &done, alive).await? else {
        return Ok(None);
    };
    let mut out = Vec::with_capacity(asks.len());
    for reply in &replies {
        for (tokens, probs) in job::plurals_of(reply)? {
            let Some(&(_, noun)) = asks.get(out.len()) else {
                return Err("the workers answered more prompts than were asked".into());
            };
            let text = lm.vocab.decode(&tokens)?;
            out.push(pluralize::score(noun, &text, &probs));
        }
    }
    if out.len() != asks.len() {
        return Err(format!(
            "the workers answered {} of {} prompts",
            out.len(),
            asks.len()
        ));
    }
    Ok(Some(out))
}

/// Each `(prompt, noun)`'s plural as the shipped model `lm` answers it greedily, scored: on the
/// workers when the page has them (`answer_plurals_on_workers`), else on this thread one answer per
/// slice (`pluralize::answer`: the same answers); `progress(answered)`. None once `alive` turns
/// false.
pub async fn answer_plurals(
    lm: &LoadedLm,
    asks: &[(String, &Noun)],
    progress: &dyn Fn(usize),
    alive: &dyn Fn() -> bool,
) -> Result<Option<Vec<Answer>>, String> {
    if let Some(pool) = crate::workers::pool::pool() {
        let on_workers =
            answer_plurals_on_workers(&pool, lm, None, Extras::default(), asks, progress, alive);
        // Err: the pool was given up (the page says so), and this thread answers.
        if let Ok(answers) = on_workers.await {
            return Ok(answers);
        }
    }
    let mut out = Vec::with_capacity(asks.len());
    for (prompt, noun) in asks {
        if !alive() {
            return Ok(None);
        }
        out.push(pluralize::answer(&lm.model, &lm.vocab, prompt, noun)?);
        progress(out.len());
        crate::tasks::breathe().await;
    }
    Ok(Some(out))
}

/// Where a generation ran, and its computation time (ms; the CPU's slices without the yields
/// between them, the device's feeds with their read-backs).
pub struct Generated {
    pub ran: Ran,
    pub ms: f64,
}

/// Answer `gen`'s feeds until it is complete: on WebGPU when `webgpu` and the page computes there
/// (the weights and the key/value cache on the device, a character per submission; the device
/// worker's device, `generate_on_worker`, else the page's own), else on the CPU in ~20 ms slices.
/// A device that fails hands the generation to the CPU where it stands (a fresh session reads the
/// generator's window) and `engine` tells the reader. `tick` sees the generator after each token
/// and returns whether to go on (false: stop where it stands, a reader's Stop).
pub async fn run_generation(
    lm: &LoadedLm,
    webgpu: bool,
    engine: Engine,
    extras: Extras<'_>,
    gen: &mut Generator,
    tick: &mut dyn FnMut(&Generator) -> bool,
) -> Result<Generated, String> {
    let mut ms = 0.0;
    let mut webgpu = webgpu && engine.on_webgpu();
    if let Some(device) = webgpu.then(pool::device_pool).flatten() {
        let t0 = web::now_ms();
        match generate_on_worker(&device, lm, extras, gen, &mut *tick).await? {
            Ok(()) => {
                return Ok(Generated {
                    ran: Ran::Gpu,
                    ms: web::now_ms() - t0,
                })
            }
            Err((why, started)) => {
                engine.report_device_worker(&why);
                if started || pool::lost_reason(&why).is_some() {
                    // The CPU finishes where the generation stands (a fresh reading of its
                    // window); before any feed, the page's own device takes it.
                    webgpu = false;
                }
            }
        }
        ms += web::now_ms() - t0;
    }
    let gpu = match webgpu {
        true => engine.page_gpu().await,
        false => None,
    };
    if let Some(gpu) = gpu {
        let t0 = web::now_ms();
        match generate_on_device(lm, &gpu, extras, gen, &mut *tick).await {
            Ok(()) => {
                return Ok(Generated {
                    ran: Ran::Gpu,
                    ms: web::now_ms() - t0,
                })
            }
            Err(GpuError::Invalid(msg)) => return Err(msg),
            Err(e) => engine.report(&e),
        }
        ms += web::now_ms() - t0;
    }
    ms += generate_on_cpu(lm, extras, gen, &mut *tick).await?;
    Ok(Generated { ran: Ran::Cpu, ms })
}

/// `gen`'s feeds answered by a reading on the device worker (`device_lm`), the generator kept
/// here; Ok(Err((why, whether it had answered any feed))) when the worker failed (the generation
/// stands where it was).
async fn generate_on_worker(
    device: &Pool,
    lm: &LoadedLm,
    extras: Extras<'_>,
    gen: &mut Generator,
    tick: &mut dyn FnMut(&Generator) -> bool,
) -> Result<Result<(), (String, bool)>, String> {
    let reading = Held::new(device_lm::close_message);
    let open = |_| device_lm::open_message(reading.id(), &lm.job_lm(None), extras);
    if let Err(why) = device.one(&open).await {
        return Ok(Err((why, false)));
    }
    let mut started = false;
    while let Some(feed) = gen.feed() {
        let (restart, tokens) = (feed.restart, feed.tokens.to_vec());
        let message = |_| device_lm::feed_message(reading.id(), restart, &tokens);
        let answer = match device.one(&message).await {
            Ok(reply) => device_lm::logits_of(&reply).and_then(|l| {
                l.ok_or_else(|| "the WebGPU worker no longer had the reading".into())
            }),
            Err(why) => Err(why),
        };
        let logits = match answer {
            Ok(logits) => logits,
            Err(why) => return Ok(Err((why, started))),
        };
        started = true;
        gen.give(&logits)?;
        if !tick(gen) {
            break;
        }
    }
    Ok(Ok(()))
}

async fn generate_on_device(
    lm: &LoadedLm,
    gpu: &Rc<Gpu>,
    extras: Extras<'_>,
    gen: &mut Generator,
    tick: &mut dyn FnMut(&Generator) -> bool,
) -> Result<(), GpuError> {
    let dev = on_device(gpu, lm)?;
    let mut session = GpuLmSession::new(gpu, &dev, extras)?;
    while !gen.is_done() {
        glassbox_gpu::lm::step(gpu, &dev, extras, &mut session, gen).await?;
        if !tick(gen) {
            break;
        }
    }
    Ok(())
}

/// The CPU's answers, from a fresh session that first reads the generator's window, going back to
/// the browser every ~20 ms (`tasks::breathe`); ms of computation.
async fn generate_on_cpu(
    lm: &LoadedLm,
    extras: Extras<'_>,
    gen: &mut Generator,
    tick: &mut dyn FnMut(&Generator) -> bool,
) -> Result<f64, String> {
    let mut session = Session::with_extras(&lm.model, extras)?;
    let mut busy = 0.0;
    let mut first = true;
    while let Some(feed) = gen.feed() {
        let t0 = web::now_ms();
        let logits = if first {
            session.feed(gen.window())?
        } else {
            if feed.restart {
                session = Session::with_extras(&lm.model, extras)?;
            }
            session.feed(feed.tokens)?
        };
        first = false;
        gen.give(&logits)?;
        busy += web::now_ms() - t0;
        if !tick(gen) {
            break;
        }
        crate::tasks::breathe().await;
    }
    Ok(busy)
}

/// One micro-batch of `tuner`, or the rest of its batch at once: with `webgpu` (and the page on
/// WebGPU), the rest of the batch on the device worker (`gpu-grad` jobs) where the page has one,
/// else one micro-batch on the page's own device (`Gpu::lm_extras_grad`); a failing device hands
/// the run to the CPU where it stands (`webgpu` turns false), and the engine says so. On the CPU:
/// the rest of the batch at once on the worker pool for a soft prompt or prefix (`batch_on`), or
/// one micro-batch on the page's thread.
pub async fn tuning_step(
    tuner: &mut Tuner<'_>,
    lm: &LoadedLm,
    webgpu: &mut bool,
    engine: Engine,
) -> Result<Progress, String> {
    if !engine.on_webgpu() {
        // The page went to the CPU (a device lost, here or in the device worker).
        *webgpu = false;
    }
    if let Some(device) = webgpu.then(pool::device_pool).flatten() {
        match batch_on(&device, GradJob::DeviceGrad, tuner, lm).await? {
            Ok(p) => return Ok(p),
            Err(why) => {
                engine.report_device_worker(&why);
                if pool::lost_reason(&why).is_some() {
                    *webgpu = false;
                }
            }
        }
    }
    let page_device = match *webgpu {
        true => engine.page_gpu().await,
        false => None,
    };
    *webgpu &= page_device.is_some();
    if let Some(device) = page_device {
        match step_on_page_device(tuner, lm, &device).await? {
            Ok(p) => return Ok(p),
            Err(e) => {
                engine.report(&e);
                *webgpu = false;
            }
        }
    }
    if let Some(pool) = pool::pool() {
        // Err: the pool was given up (the page says so), and this thread goes on.
        if let Ok(p) = batch_on(&pool, GradJob::Grad, tuner, lm).await? {
            return Ok(p);
        }
    }
    tuner.step()
}

/// One micro-batch of `tuner` with its gradient on the page's own `device`; Ok(Err) when the
/// device failed (the tuner is where it was).
pub async fn step_on_page_device(
    tuner: &mut Tuner<'_>,
    lm: &LoadedLm,
    device: &Gpu,
) -> Result<Result<Progress, GpuError>, String> {
    let mb = tuner.next_micro_batch()?;
    let inputs = mb.inputs(tuner.extras());
    match device
        .lm_extras_grad(&lm.model, &inputs, &mb.targets())
        .await
    {
        Ok((loss, soft, prefix)) => {
            let g = soft.or(prefix).ok_or("the device gave no gradient")?;
            tuner.take(loss, &g).map(Ok)
        }
        Err(GpuError::Invalid(msg)) => Err(msg),
        Err(e) => Ok(Err(e)),
    }
}

/// The weights a job for `tuner` brings: full fine-tuning's copy of the model (None: the shipped
/// model's own, with a trained prompt or prefix).
fn weights_of<'a>(tuner: &'a Tuner<'_>) -> Option<&'a [f32]> {
    (tuner.settings().method == Method::Full).then(|| &tuner.model().params[..])
}

/// The training nouns' loss under `tuner`'s soft prompt or prefix (`Tuner::train_loss_part`'s
/// numerators and weights, summed in its order) with a job per group on the workers;
/// `progress(groups done)`. None when the pool was given up or `alive` turned false.
pub async fn train_loss_on_workers(
    pool: &Pool,
    tuner: &Tuner<'_>,
    lm: &LoadedLm,
    progress: &dyn Fn(usize),
    alive: &dyn Fn() -> bool,
) -> Result<Option<(f64, f64)>, String> {
    let parts = (0..tuner.loss_parts())
        .map(|i| tuner.loss_part_batch(i))
        .collect::<Result<Vec<_>, _>>()?;
    let message = |i: usize| {
        job::grad_message(
            &lm.job_lm(weights_of(tuner)),
            tuner.extras(),
            &parts[i],
            GradJob::Loss,
        )
    };
    let Ok(Some(replies)) = pool.run(parts.len(), &message, progress, alive).await else {
        return Ok(None);
    };
    let (mut num, mut den) = (0.0, 0.0);
    for (reply, mb) in replies.iter().zip(&parts) {
        let (n, d) = tuning::loss_weighted(job::loss_of(reply)?, mb);
        (num, den) = (num + n, den + d);
    }
    Ok(Some((num, den)))
}

/// The rest of `tuner`'s batch (`Tuner::batch_rest`: its micro-batches read the same prompt) on
/// `pool`, a `job` per micro-batch, the gradients taken in order: the same training as
/// `tuner.step()` over them (on the device worker, as the page's device computes them one at a
/// time). The last micro-batch's progress; Ok(Err(why)) when the pool was given up (the tuner is
/// where it was).
async fn batch_on(
    pool: &Pool,
    job: GradJob,
    tuner: &mut Tuner<'_>,
    lm: &LoadedLm,
) -> Result<Result<Progress, String>, String> {
    let rest = tuner.batch_rest()?;
    let message =
        |i: usize| job::grad_message(&lm.job_lm(weights_of(tuner)), tuner.extras(), &rest[i], job);
    let replies = match pool.run(rest.len(), &message, &|_| {}, &|| true).await {
        Ok(Some(replies)) => replies,
        Ok(None) => return Ok(Err("stopped".into())),
        Err(why) => return Ok(Err(why)),
    };
    // Each gradient taken in a step of its own (a batch of full fine-tuning's gradients, 821,504
    // numbers each, and its Adam step made a task of about 33 ms at once).
    let mut last = None;
    for reply in &replies {
        let (loss, g) = job::grad_of(reply)?;
        last = Some(tuner.take(loss, &g)?);
        crate::tasks::breathe().await;
    }
    last.map(Ok).ok_or_else(|| "an empty batch".into())
}
