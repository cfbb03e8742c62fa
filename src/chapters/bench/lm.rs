//! Benchmarks: the language model of chapters 4 and 5 in this browser, on the CPU path (WebAssembly,
//! one thread): generation with the key/value cache (characters per second), and one forward and
//! backward pass to a soft prompt's vectors (the weights frozen) over 64 prompts, the step chapter 5
//! repeats when it trains a soft prompt. Both run in ~30 ms slices (a character, or a prompt, at a
//! time); the times are computation only. Loading the page does not load the model: the button does.

use crate::lm::{ensure_lm, LoadedLm};
use crate::vision::data::{LoadState, LoadStatus};
use crate::web;
use glassbox_lab::lm::{distribution, Inputs, Session, Targets, Wants};
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
    soft_ms: Option<f64>,
    error: Option<String>,
}

/// Greedy generation after `PROMPT`, a character per step; (text, ms of computation).
async fn time_generation(lm: &LoadedLm) -> Result<(String, f64), String> {
    let mut session = Session::new(&lm.model)?;
    let (mut busy, mut last_yield) = (0.0, web::now_ms());
    let t0 = web::now_ms();
    let mut logits = session.feed(&lm.vocab.encode(PROMPT)?)?;
    busy += web::now_ms() - t0;
    let mut out = Vec::with_capacity(GENERATED);
    for _ in 0..GENERATED {
        let t0 = web::now_ms();
        let p = distribution(&logits, 0.0, 0)?;
        let next = (0..p.len()).fold(0, |b, i| if p[i] > p[b] { i } else { b }) as u32;
        out.push(next);
        logits = session.feed(&[next])?;
        busy += web::now_ms() - t0;
        if web::now_ms() - last_yield > crate::tasks::SLICE_MS {
            web::sleep(0).await;
            last_yield = web::now_ms();
        }
    }
    Ok((lm.vocab.decode(&out)?, busy))
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

async fn run(lm: Rc<LoadedLm>, times: RwSignal<LmTimes>) {
    match time_generation(&lm).await {
        Ok((text, ms)) => times.update(|t| {
            t.generate_ms = Some(ms);
            t.text = text;
        }),
        Err(e) => return times.update(|t| t.error = Some(e)),
    }
    match time_soft_pass(&lm).await {
        Ok(ms) => times.update(|t| t.soft_ms = Some(ms)),
        Err(e) => times.update(|t| t.error = Some(e)),
    }
}

#[component]
pub fn LmBench() -> impl IntoView {
    let times = RwSignal::new(LmTimes::default());
    let load = RwSignal::new(LoadState::Idle);
    let running = RwSignal::new(false);
    let start = move |_| {
        running.set(true);
        times.set(LmTimes::default());
        crate::tasks::spawn_page_task(async move {
            if let Some(lm) = ensure_lm(load).await {
                run(lm, times).await;
            }
            running.set(false);
        });
    };
    let (prompts, k, t) = SOFT_PASS;
    view! {
        <h2>"Language model (chapters 4 and 5)"</h2>
        <p>
            {format!("The character-level model (4 layers, width 128, about 0.8 million parameters) on the CPU path: \
              {GENERATED} characters generated greedily after \u{201c}{PROMPT}\u{201d}, a character per step through \
              the key/value cache; then one forward and backward pass to the vectors of a soft prompt ({k} vectors) \
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
                {move || times.get().soft_ms.map(|ms| view! {
                    <tr data-bench="lm_soft_pass">
                        <th scope="row">{format!("soft-prompt gradient, {prompts} prompts")}</th>
                        <td data-col="ms">{format!("{ms:.0} ms")}</td>
                        <td data-col="rate">{format!("{:.0} characters/s", (prompts * (k + t)) as f64 / (ms / 1000.0))}</td>
                    </tr>
                })}
            </tbody>
        </table>
        <p class="sample" data-key="lm-bench-text">{move || {
            let t = times.get().text;
            if t.is_empty() { String::new() } else { format!("{PROMPT}{t}") }
        }}</p>
    }
}
