//! Benchmarks: the language model of chapters 4 and 5 in this browser. Generation with the
//! key/value cache (characters per second) on the CPU path (WebAssembly, one thread, ~30 ms
//! slices) and, when the page has WebGPU, on the device (a character per submission), with the
//! whole forward pass over the generated text compared between the two; then one forward and
//! backward pass to a soft prompt's vectors (the weights frozen) over 64 prompts on the CPU, the
//! step chapter 5 repeats when it trains a soft prompt. The times are computation only. Loading
//! the page does not load the model: the button does.
use crate::engine::Engine;
use crate::lm::{ensure_lm, on_device, run_generation, LoadedLm};
use crate::var::Var;
use crate::vision::data::{LoadState, LoadStatus};
use crate::web;
use glassbox_gpu::{Gpu, GpuLmSession, Ran};
use glassbox_lab::lm::{Extras, Generator, Inputs, Sampling, Session, Targets, Wants};
use glassbox_lab::rng::Rng;
use leptos::prelude::*;
use std::rc::Rc;

/// Characters generated (the prompt and these fit the context of 128).
pub const GENERATED: usize = 100;
pub const PROMPT: &str = "one wolf, two";
/// The soft-prompt pass: prompts, soft vectors, characters per prompt.
pub const SOFT_PASS: (usize, usize, usize) = (64, 8, 24);

#[derive(Clone, Debug, Default, PartialEq)]
struct LmTimes {
    generate_ms: Option<f64>,
    text: String,
    /// On WebGPU: ms, whether it ran there to the end, its text.
    webgpu: Option<(f64, bool, String)>,
    /// WebGPU against the CPU over the CPU's text: (largest |logit difference|, largest |logit|).
    parity: Option<(f32, f32)>,
    soft_ms: Option<f64>,
    error: Option<String>,
}

/// Greedy generation after `PROMPT` on WebGPU when `gpu` (else the CPU): (text, ms of
/// computation, where).
async fn time_generation(
    lm: &LoadedLm,
    gpu: bool,
    engine: Engine,
) -> Result<(String, f64, Ran), String> {
    let prompt = lm.vocab.encode(PROMPT)?;
    let greedy = Sampling {
        temperature: 0.0,
        top_k: 0,
        seed: 0,
    };
    let room = lm.model.config.context;
    let mut gen = Generator::new(&prompt, GENERATED, greedy, room)?;
    let done = run_generation(lm, gpu, engine, Extras::default(), &mut gen, &mut |_| true).await?;
    Ok((lm.vocab.decode(gen.tokens())?, done.ms, done.ran))
}

/// The logits of every position of `text` read at once on the device and on the CPU: (largest
/// absolute difference, largest absolute CPU logit).
async fn forward_parity(lm: &LoadedLm, gpu: &Rc<Gpu>, text: &str) -> Result<(f32, f32), String> {
    let ids = lm.vocab.encode(text)?;
    let ids = &ids[..ids.len().min(lm.model.config.context)];
    let want = Session::new(&lm.model)?.feed_all(ids)?;
    let dev = on_device(gpu, lm).map_err(|e| e.to_string())?;
    let mut session = GpuLmSession::new(gpu, &dev, Extras::default()).map_err(|e| e.to_string())?;
    let got = session
        .feed_all(gpu, &dev, ids)
        .await
        .map_err(|e| e.to_string())?;
    let diff = got
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    Ok((diff, want.iter().fold(0.0f32, |m, z| m.max(z.abs()))))
}

/// The soft prompt's gradient over 64 random prompts, a prompt per unit; ms of computation.
async fn time_soft_pass(lm: &LoadedLm) -> Result<f64, String> {
    let (prompts, k, t) = SOFT_PASS;
    let c = lm.model.config;
    let mut rng = Rng::new(5);
    let soft: Vec<f32> = (0..k * c.width)
        .map(|_| 0.02 * rng.normal() as f32)
        .collect();
    let (mut busy, mut last_yield) = (0.0, web::now_ms());
    for _ in 0..prompts {
        let x: Vec<u32> = (0..t).map(|_| rng.below(c.vocab) as u32).collect();
        let y: Vec<u32> = (0..t).map(|_| rng.below(c.vocab) as u32).collect();
        let t0 = web::now_ms();
        let inputs = Inputs::new(&x, 1, t).with_soft(&soft);
        lm.model
            .forward_backward(&inputs, &Targets::new(&y), Wants::EXTRAS)?;
        busy += web::now_ms() - t0;
        if web::now_ms() - last_yield > crate::tasks::SLICE_MS {
            web::sleep(0).await;
            last_yield = web::now_ms();
        }
    }
    Ok(busy)
}

async fn run(lm: Rc<LoadedLm>, times: Var<LmTimes>, engine: Engine) {
    let fail = |e: String| times.update(|t| t.error = Some(e));
    let text = match time_generation(&lm, false, engine).await {
        Ok((text, ms, _)) => {
            times.update(|t| {
                t.generate_ms = Some(ms);
                t.text = text.clone();
            });
            text
        }
        Err(e) => return fail(e),
    };
    if engine.on_webgpu() {
        match time_generation(&lm, true, engine).await {
            Ok((text, ms, ran)) => times.update(|t| t.webgpu = Some((ms, ran == Ran::Gpu, text))),
            Err(e) => return fail(e),
        }
    }
    // The forward pass on the page's own device against the CPU's.
    if let Some(gpu) = engine.page_gpu().await {
        match forward_parity(&lm, &gpu, &format!("{PROMPT}{text}")).await {
            Ok(p) => times.update(|t| t.parity = Some(p)),
            Err(e) => return fail(e),
        }
    }
    match time_soft_pass(&lm).await {
        Ok(ms) => times.update(|t| t.soft_ms = Some(ms)),
        Err(e) => fail(e),
    }
}

#[component]
pub fn LmBench() -> impl IntoView {
    let times = Var::new(LmTimes::default());
    let load = Var::new(LoadState::Idle);
    let running = Var::new(false);
    let engine = crate::ui::context::<Engine>();
    let start = move |_| {
        running.set(true);
        times.set(LmTimes::default());
        crate::tasks::spawn_page_task(async move {
            if let Some(lm) = ensure_lm(load).await {
                run(lm, times, engine).await;
            }
            running.set(false);
        });
    };
    let (prompts, k, t) = SOFT_PASS;
    view! {
        <h2>"Language model (chapters 4 and 5)"</h2>
        <p>
            {format!("The character-level model (4 layers, width 128, about 0.8 million parameters): \
              {GENERATED} characters generated greedily after \u{201c}{PROMPT}\u{201d}, a character per step through \
              the key/value cache, on the CPU path and, when this browser offers it, on WebGPU (the weights and the \
              cache on the device, one submission per character); then one forward and backward pass to the vectors of a soft prompt ({k} vectors) \
              with the weights frozen, over {prompts} prompts of {t} characters. The button downloads the weights \
              (1.6 MB) the first time.")}
        </p>
        <button type="button" class="primary" on:click=start disabled=move || running.get()>"Time the language model"</button>
        <LoadStatus load/>
        {move || times.get().error.map(|e| view! { <p class="notice error" role="alert">{e}</p> })}
        <table class="numbers" aria-label="Language model benchmark">
            <thead><tr><th>"Measured"</th><th>"Time"</th><th>"Rate"</th></tr></thead>
            <tbody>
                {move || times.get().generate_ms.map(|ms| view! {
                    <tr data-bench="lm_generate">
                        <th scope="row">{format!("generate {GENERATED} characters")}</th>
                        <td data-col="ms">{format!("{ms:.0} ms")}</td>
                        <td data-col="rate">{format!("{:.0} characters/s", GENERATED as f64 / (ms / 1000.0))}</td>
                    </tr>
                })}
                {move || times.get().webgpu.map(|(ms, whole, _)| view! {
                    <tr data-bench="lm_generate_webgpu">
                        <th scope="row">{if whole { format!("generate {GENERATED} characters on WebGPU") } else { format!("generate {GENERATED} characters (WebGPU failed; finished on the CPU)") }}</th>
                        <td data-col="ms">{format!("{ms:.0} ms")}</td>
                        <td data-col="rate">{format!("{:.0} characters/s", GENERATED as f64 / (ms / 1000.0))}</td>
                    </tr>
                })}
                {move || times.get().soft_ms.map(|ms| view! {
                    <tr data-bench="lm_soft_pass">
                        <th scope="row">{format!("soft-prompt gradient, {prompts} prompts")}</th>
                        <td data-col="ms">{format!("{ms:.0} ms")}</td>
                        <td data-col="rate">{format!("{:.0} characters/s", (prompts * (k + t)) as f64 / (ms / 1000.0))}</td>
                    </tr>
                })}
            </tbody>
        </table>
        <p class="sample" data-out="lm-bench-text">{move || {
            let t = times.get().text;
            if t.is_empty() { String::new() } else { format!("{PROMPT}{t}") }
        }}</p>
        {move || {
            let t = times.get();
            let (diff, top) = t.parity?;
            let same = t.webgpu.as_ref().is_some_and(|w| w.2 == t.text);
            Some(view! {
                <p data-out="lm-parity" data-diff=diff.to_string() data-same=same.to_string()>
                    {format!("WebGPU against the CPU, the whole forward pass over that text ({} characters at once): \
                      the logits differ by at most {diff:.1e} (the largest logit is {top:.1}); the greedy text on WebGPU is {}.",
                      (PROMPT.len() + GENERATED).min(128), if same { "the same" } else { "different" })}
                </p>
            })
        }}
    }
}
