//! Benchmarks: chapter 5's soft-prompt epoch at the chapter's settings (K = 14 from the hard
//! prompt, the training nouns in micro-batches of 4, Adam; the gradients on the CPU, on the page's
//! thread and then on the worker pool, which must train the same prompt to the bit), then the
//! validation answers with the prompt's keys and values computed once and copied for every noun,
//! and read again for every noun (the same answers, checked); and, when the page has WebGPU, the
//! validation answers on the device and the epoch with the prompt's gradient on the device (the
//! device worker's, then the page's own, which must train the same prompt to the bit). Times
//! are computation only (the yields are left out).

use crate::engine::Engine;
use crate::lm::{ensure_lm, nouns_of, run_generation, step_on_page_device, tuning_step, LoadedLm};
use crate::tasks::breathe;
use crate::ui::math::{prose, Prose};
use crate::var::Var;
use crate::vision::data::{LoadState, LoadStatus};
use crate::web;
use glassbox_gpu::Gpu;
use glassbox_gpu::Ran;
use glassbox_lab::lm::plurals::{Noun, Split};
use glassbox_lab::lm::tuning::{self, Evaluator, Method, TuneSettings, Tuner};
use glassbox_lab::lm::{complete, Extras};
use leptos::prelude::*;
use std::rc::Rc;

#[derive(Clone, Debug, Default, PartialEq)]
struct Times {
    epoch_ms: Option<f64>,
    /// The same epoch with the gradients on the worker pool, and its workers.
    workers_epoch_ms: Option<(f64, usize)>,
    once_ms: Option<f64>,
    each_ms: Option<f64>,
    /// The device's validation answers, and whether all ran there.
    webgpu_ms: Option<(f64, bool)>,
    /// The epoch's training steps with the gradients on the device (the device worker's where
    /// the page has one), and whether all ran there.
    webgpu_epoch_ms: Option<(f64, bool)>,
    /// The same on the page's own device beside the device worker's, and whether all ran there.
    webgpu_page_epoch_ms: Option<(f64, bool)>,
}

/// Where an epoch's gradients are computed.
enum GradsAt {
    /// This page's thread.
    Page,
    /// The worker pool (`tuning_step` without a device).
    Workers,
    /// WebGPU (`tuning_step`: the device worker's where the page has one; it hands the rest to
    /// the CPU if it fails).
    Device,
    /// The page's own device, one micro-batch at a time (`step_on_page_device`).
    PageDevice(Rc<Gpu>),
}

/// One epoch of `settings` from a fresh tuner with its gradients `at`, computation timed;
/// `progress(fraction of the epoch)`. The trained prompt, the ms, and whether a device kept the
/// whole epoch.
async fn epoch(
    lm: &LoadedLm,
    train: &[&Noun],
    settings: TuneSettings,
    engine: Engine,
    at: GradsAt,
    progress: &dyn Fn(f64),
) -> Result<(Vec<f32>, f64, bool), String> {
    let mut tuner = Tuner::new(&lm.model, &lm.vocab, train, settings)?;
    let on_page = matches!(at, GradsAt::Page);
    let (mut device, page_device) = match at {
        GradsAt::Device => (true, None),
        GradsAt::PageDevice(gpu) => (false, Some(gpu)),
        GradsAt::Page | GradsAt::Workers => (false, None),
    };
    let mut whole = true;
    let mut ms = 0.0;
    while !tuner.is_done() {
        let t0 = web::now_ms();
        let p = match &page_device {
            Some(gpu) if whole => match step_on_page_device(&mut tuner, lm, gpu).await? {
                Ok(p) => p,
                Err(e) => {
                    engine.report(&e);
                    whole = false;
                    continue;
                }
            },
            _ if on_page || page_device.is_some() => tuner.step()?,
            _ => tuning_step(&mut tuner, lm, &mut device, engine).await?,
        };
        ms += web::now_ms() - t0;
        progress(p.done as f64 / p.total as f64);
        breathe().await;
    }
    let whole = whole && (page_device.is_some() || device);
    Ok((tuner.params().to_vec(), ms, whole))
}

async fn measure(
    engine: Engine,
    times: Var<Times>,
    progress: Var<f64>,
    load: Var<LoadState>,
) -> Result<(), String> {
    let Some(lm) = ensure_lm(load).await else {
        return Err("the language model could not be loaded".into());
    };
    let (train, val) = (nouns_of(Split::Train), nouns_of(Split::Val));
    let settings = TuneSettings {
        epochs: 1,
        ..TuneSettings::new(Method::Soft)
    };
    let first = |f: f64| progress.set(0.7 * f);
    let (params, ms, _) = epoch(&lm, &train, settings, engine, GradsAt::Page, &first).await?;
    times.update(|t| t.epoch_ms = Some(ms));
    if let Some(pool) = crate::workers::pool::pool() {
        // The epoch again with each batch's micro-batches on the workers: the same prompt.
        let (again, ms, _) = epoch(&lm, &train, settings, engine, GradsAt::Workers, &first).await?;
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        if bits(&again) != bits(&params) {
            return Err("the workers' epoch trained another prompt than this page's thread".into());
        }
        times.update(|t| t.workers_epoch_ms = Some((ms, pool.workers())));
    }
    let extras = Extras {
        soft: Some(&params),
        prefix: None,
    };
    let eval = Evaluator::new(&lm.model, &lm.vocab, extras)?;
    let (mut once, mut each) = (0.0, 0.0);
    for (i, n) in val.iter().enumerate() {
        let t0 = web::now_ms();
        let a = eval.answer("", n)?;
        once += web::now_ms() - t0;
        breathe().await;
        let t0 = web::now_ms();
        let (tokens, _) = complete(
            &lm.model,
            extras,
            eval.generator(&tuning::question("", &n.singular))?,
        )?;
        each += web::now_ms() - t0;
        if lm.vocab.decode(&tokens)? != a.continuation {
            return Err(format!("the two ways answered {} differently", n.singular));
        }
        progress.set(0.7 + 0.2 * (i + 1) as f64 / val.len() as f64);
        breathe().await;
    }
    times.update(|t| {
        t.once_ms = Some(once);
        t.each_ms = Some(each);
    });
    if engine.on_webgpu() {
        let (mut ms, mut whole) = (0.0, true);
        for (i, n) in val.iter().enumerate() {
            let mut gen = eval.generator(&tuning::question("", &n.singular))?;
            let done = run_generation(&lm, true, engine, extras, &mut gen, &mut |_| true).await?;
            ms += done.ms;
            whole &= done.ran == Ran::Gpu;
            progress.set(0.9 + 0.1 * (i + 1) as f64 / val.len() as f64);
            breathe().await;
        }
        times.update(|t| t.webgpu_ms = Some((ms, whole)));
        // The epoch again with the prompt's gradient on the device.
        let last = |f: f64| progress.set(0.9 + 0.1 * f);
        let (prompt, ms, whole) =
            epoch(&lm, &train, settings, engine, GradsAt::Device, &last).await?;
        times.update(|t| t.webgpu_epoch_ms = Some((ms, whole)));
        let compare = match whole && crate::workers::pool::device_pool().is_some() {
            true => engine.page_gpu().await,
            false => None,
        };
        if let Some(gpu) = compare {
            // Again on the page's own device: the device worker's prompt to the bit.
            let at = GradsAt::PageDevice(gpu);
            let (again, ms, whole) = epoch(&lm, &train, settings, engine, at, &last).await?;
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            if whole && bits(&again) != bits(&prompt) {
                return Err(
                    "the WebGPU worker trained another prompt than the page's device".into(),
                );
            }
            times.update(|t| t.webgpu_page_epoch_ms = Some((ms, whole)));
        }
    }
    progress.set(1.0);
    Ok(())
}

#[component]
pub fn SoftPromptBench() -> impl IntoView {
    let engine = crate::ui::context::<Engine>();
    let load = Var::new(LoadState::Idle);
    let times = Var::new(Times::default());
    let progress = Var::new(0.0);
    let running = Var::new(false);
    let error = Var::new(None::<String>);
    let start = move |_| {
        running.set(true);
        times.set(Times::default());
        error.set(None);
        progress.set(0.0);
        crate::tasks::spawn_page_task(async move {
            if let Err(e) = measure(engine, times, progress, load).await {
                error.set(Some(e));
            }
            running.set(false);
        });
    };
    let row = |key: &'static str, what: String, ms: f64| {
        view! {
            <tr data-bench=key><th scope="row">{what}</th><td data-col="ms">{format!("{ms:.0} ms")}</td></tr>
        }
    };
    view! {
        <h2>"A soft-prompt epoch (chapter 5)"</h2>
        <Prose html=prose!(r#"
            <p>One epoch of chapter 5's soft prompt at its settings (K = 14 vectors from the hard
            prompt, the 369 training nouns in micro-batches of 4, an Adam step per 16 nouns; forward
            and backward passes on the CPU: on this page's thread, then, with background workers,
            each batch's four micro-batches sent to them at once), then the 40 validation answers
            twice on the CPU: with the prompt's keys and values computed once and copied for every
            noun, and with the prompt read again for every noun; then, when this browser offers it,
            the answers and the epoch's training steps on WebGPU (on the device worker's device,
            then on this page's own).</p>
        "#)/>
        <button type="button" class="primary" on:click=start disabled=move || running.get()>"Time a soft-prompt epoch"</button>
        <LoadStatus load/>
        <progress max="1" value=move || progress.get() aria-label="Soft-prompt benchmark progress"></progress>
        {move || error.get().map(|e| view! { <p class="notice error" role="alert">{e}</p> })}
        <table class="numbers" aria-label="Soft-prompt epoch benchmark">
            <thead><tr><th>"Measured"</th><th>"Time"</th></tr></thead>
            <tbody>
                {move || times.get().epoch_ms.map(|ms| row("soft_epoch_train", "training steps, 369 nouns (CPU, this page's thread)".into(), ms))}
                {move || times.get().workers_epoch_ms.map(|(ms, n)| row("soft_epoch_train_workers",
                    format!("training steps, 369 nouns (CPU, {}; the same prompt to the bit)", crate::workers::named(n)), ms))}
                {move || times.get().once_ms.map(|ms| row("soft_val_once", "40 validation answers, prompt read once (CPU)".into(), ms))}
                {move || times.get().each_ms.map(|ms| row("soft_val_each", "40 validation answers, prompt read for each (CPU)".into(), ms))}
                {move || times.get().webgpu_epoch_ms.map(|(ms, whole)| row("soft_epoch_train_webgpu",
                    if whole { "training steps, 369 nouns (gradients on WebGPU)".into() } else { "training steps (WebGPU failed; finished on the CPU)".into() }, ms))}
                {move || times.get().webgpu_page_epoch_ms.map(|(ms, whole)| row("soft_epoch_train_webgpu_page",
                    if whole { "training steps, 369 nouns (gradients on this page's own WebGPU device; the device worker's prompt to the bit)".into() } else { "training steps (this page's WebGPU device failed; finished on the CPU)".into() }, ms))}
                {move || times.get().webgpu_ms.map(|(ms, whole)| row("soft_val_webgpu",
                    if whole { "40 validation answers on WebGPU".into() } else { "40 validation answers (WebGPU failed; finished on the CPU)".into() }, ms))}
            </tbody>
        </table>
    }
}
