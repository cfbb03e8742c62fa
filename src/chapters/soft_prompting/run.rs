//! How the chapter's sections train and answer: a `Tuner` advanced one micro-batch (4 nouns) per
//! slice, pausable, with the training loss and the validation accuracy after every epoch; answers
//! under a trained soft prompt or prefix on WebGPU when the page has it (the frozen weights are on
//! the device), else on the CPU from the prompt's keys and values computed once (`Evaluator`): on
//! the worker pool in rounds when the model is the shipped one, else on the page's thread.
//! The prompt's gradient likewise (`Gpu::lm_extras_grad`, else the CPU). Full fine-tuning runs on
//! the CPU (its weights change every step).

use crate::engine::Engine;
use crate::lm::{
    answer_plurals, answer_plurals_on_workers, run_generation, train_loss_on_workers, tuning_step,
    worker_round, LoadedLm,
};
use crate::tasks::breathe;
use crate::var::Var;
use crate::web;
use crate::workers::pool;
use glassbox_gpu::Ran;
use glassbox_lab::lm::pluralize::{self, Answer};
use glassbox_lab::lm::plurals::Noun;
use glassbox_lab::lm::tuning::{self, Evaluator, Method, TuneSettings, Tuner};
use glassbox_lab::lm::{Extras, Model};

/// "WebGPU" or "the CPU".
pub fn ran_on(ran: Ran) -> &'static str {
    match ran {
        Ran::Gpu => "WebGPU",
        Ran::Cpu => "the CPU",
    }
}

/// Wait while `pause` holds; false once `alive` turns false.
pub async fn wait_while_paused(pause: Var<bool>, alive: &dyn Fn() -> bool) -> bool {
    while pause.get_untracked() {
        if !alive() {
            return false;
        }
        web::sleep(100).await;
    }
    alive()
}

/// The answers to "{frame}{noun} is" for `nouns` under `extras`, read by `model` (on WebGPU when
/// `engine` is given and has a device: `model` must then be `lm`'s own), with ms and where.
#[allow(clippy::too_many_arguments)]
pub async fn answers(
    lm: &LoadedLm,
    model: &Model,
    engine: Option<Engine>,
    frame: &str,
    extras: Extras<'_>,
    nouns: &[&Noun],
    pause: Var<bool>,
    alive: &dyn Fn() -> bool,
) -> Result<Option<(Vec<Answer>, f64, Ran)>, String> {
    // The prompt read once, when the page's thread answers (not when the workers do).
    let mut eval = None;
    let (mut out, mut ms, mut ran) = (Vec::with_capacity(nouns.len()), 0.0, Ran::Cpu);
    let mut i = 0;
    while i < nouns.len() {
        if !wait_while_paused(pause, alive).await {
            return Ok(None);
        }
        let gpu = engine.filter(|e| e.on_webgpu());
        // Without WebGPU, the answers go to the worker pool a round at a time (a fully fine-tuned
        // model's weights with them).
        let pool = pool::pool().filter(|_| gpu.is_none());
        let weights = (!std::ptr::eq(model, &lm.model)).then_some(&model.params[..]);
        if let Some(pool) = pool {
            let end = (i + worker_round(&pool)).min(nouns.len());
            let asks: Vec<(String, &Noun)> = nouns[i..end]
                .iter()
                .map(|&n| (tuning::question(frame, &n.singular), n))
                .collect();
            let t0 = web::now_ms();
            match answer_plurals_on_workers(&pool, lm, weights, extras, &asks, &|_| {}, &|| alive())
                .await
            {
                Ok(Some(a)) => {
                    (ms, ran) = (ms + web::now_ms() - t0, Ran::Cpu);
                    out.extend(a);
                    i = end;
                    continue;
                }
                Ok(None) => return Ok(None),
                // Given up: the page's thread answers from here.
                Err(_) => {}
            }
        }
        let n = nouns[i];
        i += 1;
        let t0 = web::now_ms();
        if eval.is_none() {
            eval = Some(Evaluator::new(model, &lm.vocab, extras)?);
        }
        let eval = eval.as_ref().expect("set above");
        let a = match gpu {
            Some(engine) => {
                let mut gen = eval.generator(&tuning::question(frame, &n.singular))?;
                let done =
                    run_generation(lm, true, engine, extras, &mut gen, &mut |_| true).await?;
                ran = done.ran;
                let (tokens, probs) = gen.finish();
                pluralize::score(n, &lm.vocab.decode(&tokens)?, &probs)
            }
            _ => {
                ran = Ran::Cpu;
                eval.answer(frame, n)?
            }
        };
        ms += web::now_ms() - t0;
        out.push(a);
        breathe().await;
    }
    Ok(Some((out, ms, ran)))
}

/// What a training run reports as it goes.
pub enum Event {
    /// Fraction of the whole run done, and a status line.
    Progress(f64, String),
    /// The next epoch's (from 0) training loss and validation accuracy.
    Epoch(f64, f64),
}

/// A finished run: the trained prompt (soft or prefix), the tuned model (full fine-tuning), and
/// the curve per epoch from 0.
pub struct RunResult {
    pub params: Vec<f32>,
    pub model: Option<Model>,
    pub curve: Vec<(f64, f64)>,
    /// Milliseconds of computation: training steps, and the validation answers.
    pub train_ms: f64,
    pub eval_ms: f64,
    /// Where the validation answers and the gradients (of the last step) ran.
    pub ran: Ran,
    pub grad_ran: Ran,
}

/// Train `settings` on `train`, measuring `val` after every epoch (and before the first); None
/// when stopped (`alive` false).
#[allow(clippy::too_many_arguments)]
pub async fn train_run(
    lm: &LoadedLm,
    engine: Engine,
    settings: TuneSettings,
    train: &[&Noun],
    val: &[&Noun],
    pause: Var<bool>,
    alive: &dyn Fn() -> bool,
    on: &mut dyn FnMut(Event),
) -> Result<Option<RunResult>, String> {
    let mut tuner = Tuner::new(&lm.model, &lm.vocab, train, settings)?;
    let frame = settings.frame();
    let per_epoch = train.len() + val.len();
    let total = (settings.epochs + 1) * per_epoch;
    let gpu_engine = (settings.method != Method::Full).then_some(engine);
    // The prompt's gradient on the device when the page has one (full fine-tuning: the CPU).
    let mut grad_gpu = gpu_engine.is_some_and(|e| e.on_webgpu());
    let (mut train_ms, mut eval_ms) = (0.0, 0.0);
    let mut curve = Vec::new();
    // Epoch 0: the starting point's loss (its groups at once on the workers, when the page has
    // them) and accuracy.
    let epoch0 = |done: usize| {
        let done = (done * tuning::MICRO).min(train.len());
        Event::Progress(
            done as f64 / total as f64,
            format!(
                "Epoch 0: the starting point's loss, {done} of {} nouns",
                train.len()
            ),
        )
    };
    let mut loss0 = None;
    if let Some(pool) = crate::workers::pool::pool() {
        let on_cell = std::cell::RefCell::new(&mut *on);
        let progress = |d: usize| (on_cell.borrow_mut())(epoch0(d));
        let t0 = web::now_ms();
        loss0 = train_loss_on_workers(&pool, &tuner, lm, &progress, &|| alive()).await?;
        train_ms += web::now_ms() - t0;
    }
    let (mut num, mut den) = loss0.unwrap_or((0.0, 0.0));
    for i in (0..tuner.loss_parts()).filter(|_| loss0.is_none()) {
        if !wait_while_paused(pause, alive).await {
            return Ok(None);
        }
        let t0 = web::now_ms();
        let (n, d) = tuner.train_loss_part(i)?;
        train_ms += web::now_ms() - t0;
        (num, den) = (num + n, den + d);
        on(epoch0(i + 1));
        breathe().await;
    }
    let model = tuner.model();
    let Some((a, ms, mut ran)) = answers(
        lm,
        model,
        gpu_engine,
        frame,
        tuner.extras(),
        val,
        pause,
        alive,
    )
    .await?
    else {
        return Ok(None);
    };
    eval_ms += ms;
    let start = (num / den, tuning::accuracy(&a));
    curve.push(start);
    on(Event::Epoch(start.0, start.1));
    while !tuner.is_done() {
        if !wait_while_paused(pause, alive).await {
            return Ok(None);
        }
        let t0 = web::now_ms();
        let p = tuning_step(&mut tuner, lm, &mut grad_gpu, engine).await?;
        train_ms += web::now_ms() - t0;
        // Units of work: each epoch (0 included) is its training nouns and its validation nouns.
        let (before, done) = match p.epoch_loss {
            Some(_) => (p.epoch - 1, p.total),
            None => (p.epoch, p.done),
        };
        let epoch = before + 1;
        on(Event::Progress(
            ((epoch * per_epoch) + done) as f64 / total as f64,
            format!(
                "Epoch {epoch} of {}: {done} of {} nouns ({:.1} s of training so far)",
                settings.epochs,
                p.total,
                train_ms / 1000.0
            ),
        ));
        breathe().await;
        if let Some(loss) = p.epoch_loss {
            on(Event::Progress(
                (epoch * per_epoch + train.len()) as f64 / total as f64,
                format!(
                    "Epoch {epoch}: answering the {} validation nouns",
                    val.len()
                ),
            ));
            let Some((a, ms, r)) = answers(
                lm,
                tuner.model(),
                gpu_engine,
                frame,
                tuner.extras(),
                val,
                pause,
                alive,
            )
            .await?
            else {
                return Ok(None);
            };
            (eval_ms, ran) = (eval_ms + ms, r);
            let point = (loss as f64, tuning::accuracy(&a));
            curve.push(point);
            on(Event::Epoch(point.0, point.1));
        }
    }
    let (params, model) = tuner.into_parts();
    Ok(Some(RunResult {
        params,
        model,
        curve,
        train_ms,
        eval_ms,
        ran,
        grad_ran: if grad_gpu { Ran::Gpu } else { Ran::Cpu },
    }))
}

/// The best of chapter 4's hard prompts with 0 to 3 shots at `seed` (`tuning::best_hard_prompt`,
/// a noun per slice, on the CPU), with its test accuracy; None when stopped.
pub async fn best_hard(
    lm: &LoadedLm,
    train: &[&Noun],
    val: &[&Noun],
    test: &[&Noun],
    seed: u64,
    alive: &dyn Fn() -> bool,
    progress: &dyn Fn(f64),
) -> Result<Option<super::state::HardBest>, String> {
    fn ask<'n>(
        train: &[&Noun],
        shots: usize,
        nouns: &[&'n Noun],
        seed: u64,
    ) -> Result<Vec<(String, &'n Noun)>, String> {
        let ex = pluralize::examples(train, shots, false, seed)?;
        Ok(nouns
            .iter()
            .map(|n| (pluralize::prompt(&ex, &n.singular), *n))
            .collect())
    }
    let runs = tuning::HARD_SHOTS + 1;
    // Every validation noun at every number of shots, answered at once (on the workers when the
    // page has them), then the test nouns at the best.
    let mut asks = Vec::with_capacity(runs * val.len());
    for shots in 0..runs {
        asks.extend(ask(train, shots, val, seed)?);
    }
    let progress_of = |d: usize| progress(d as f64 / asks.len().max(1) as f64);
    let Some(answers) = answer_plurals(lm, &asks, &progress_of, alive).await? else {
        return Ok(None);
    };
    let mut best = (0, -1.0);
    for (shots, of_shots) in answers.chunks(val.len().max(1)).enumerate() {
        let acc = tuning::accuracy(of_shots);
        if acc > best.1 {
            best = (shots, acc);
        }
    }
    let asks = ask(train, best.0, test, seed)?;
    let Some(answers) = answer_plurals(lm, &asks, &|_| {}, alive).await? else {
        return Ok(None);
    };
    let test_right = answers
        .iter()
        .filter(|a| a.verdict == pluralize::Verdict::Correct)
        .count();
    Ok(Some(super::state::HardBest {
        seed,
        shots: best.0,
        val: best.1,
        test: test_right as f64 / test.len().max(1) as f64,
    }))
}

/// The forward pass's extras for a trained prompt of `tune`'s method.
pub fn extras_of<'a>(tune: &TuneSettings, params: &'a [f32]) -> Extras<'a> {
    match tune.method {
        Method::Soft => Extras {
            soft: Some(params),
            prefix: None,
        },
        Method::Prefix => Extras {
            soft: None,
            prefix: Some(params),
        },
        Method::Full => Extras::default(),
    }
}

/// "1 epoch", "3 epochs".
pub fn epochs(n: usize) -> String {
    format!("{n} epoch{}", if n == 1 { "" } else { "s" })
}
