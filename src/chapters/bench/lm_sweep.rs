//! Benchmarks: chapter 4's zero-shot against few-shot sweep at full size. The hard prompt "The
//! plural of X is" after 0 to 9 worked examples (correct labels, seed 0) for every validation
//! noun, answered greedily: 10 x 40 = 400 answers, on the CPU path (the page's thread alone, then
//! the worker pool) and, when the page has WebGPU, on the device, with the runs' accuracies per
//! number of shots compared (they must agree). The page thread's and the device's times are
//! computation only (the yields between answers are left out); the workers' are wall-clock.

use crate::engine::Engine;
use crate::lm::{answer_plural, answer_plurals_on_workers, ensure_lm, nouns_of, LoadedLm};
use crate::var::Var;
use crate::vision::data::{LoadState, LoadStatus};
use crate::web;
use crate::workers::{named, pool, pool::Pool};
use glassbox_gpu::Ran;
use glassbox_lab::lm::pluralize::{self, Answer, Verdict, MAX_SHOTS};
use glassbox_lab::lm::plurals::{Noun, Split};
use glassbox_lab::lm::Extras;
use leptos::prelude::*;

/// One sweep: its computation time, the right answers per number of shots, and whether every
/// answer ran where it was sent.
#[derive(Clone, Debug, PartialEq)]
struct Sweep {
    ms: f64,
    answers: usize,
    correct: Vec<usize>,
    whole: bool,
}

/// The sweep's questions in order: for 0 to `MAX_SHOTS` examples (correct labels, seed 0), every
/// validation noun.
fn asks() -> Result<Vec<(String, &'static Noun)>, String> {
    let val = nouns_of(Split::Val);
    let train = nouns_of(Split::Train);
    let mut asks = Vec::with_capacity((MAX_SHOTS + 1) * val.len());
    for k in 0..=MAX_SHOTS {
        let examples = pluralize::examples(&train, k, false, 0)?;
        asks.extend(
            val.iter()
                .map(|&n| (pluralize::prompt(&examples, &n.singular), n)),
        );
    }
    Ok(asks)
}

/// Right answers per number of shots, from the answers to `asks()` in its order.
fn correct_per_shot(answers: &[Answer]) -> Vec<usize> {
    let per_shot = nouns_of(Split::Val).len().max(1);
    answers
        .chunks(per_shot)
        .map(|c| c.iter().filter(|a| a.verdict == Verdict::Correct).count())
        .collect()
}

async fn sweep(
    lm: &LoadedLm,
    gpu: bool,
    engine: Engine,
    progress: Var<usize>,
) -> Result<Sweep, String> {
    let want = if gpu { Ran::Gpu } else { Ran::Cpu };
    let (mut ms, mut whole, mut answers) = (0.0, true, Vec::new());
    for (prompt, noun) in asks()? {
        let (a, t, ran) = answer_plural(lm, gpu, engine, &prompt, noun).await?;
        ms += t;
        whole &= ran == want;
        answers.push(a);
        progress.update(|p| *p += 1);
        crate::tasks::breathe().await;
    }
    Ok(Sweep {
        ms,
        answers: answers.len(),
        correct: correct_per_shot(&answers),
        whole,
    })
}

/// The same sweep on the worker pool, in one run of jobs.
async fn sweep_on_workers(
    lm: &LoadedLm,
    pool: &Pool,
    progress: Var<usize>,
) -> Result<Sweep, String> {
    let asks = asks()?;
    let base = progress.get_untracked();
    let t0 = web::now_ms();
    let on_progress = |d: usize| progress.set(base + d);
    let answers = answer_plurals_on_workers(
        pool,
        lm,
        None,
        Extras::default(),
        &asks,
        &on_progress,
        &|| true,
    )
    .await?
    .ok_or("the sweep was stopped")?;
    Ok(Sweep {
        ms: web::now_ms() - t0,
        answers: answers.len(),
        correct: correct_per_shot(&answers),
        whole: true,
    })
}

#[component]
pub fn LmSweepBench() -> impl IntoView {
    let engine = crate::ui::context::<Engine>();
    let load = Var::new(LoadState::Idle);
    let running = Var::new(false);
    let progress = Var::new(0usize);
    let cpu = Var::new(None::<Sweep>);
    let webgpu = Var::new(None::<Sweep>);
    let workers = Var::new(None::<Result<Sweep, String>>);
    let error = Var::new(None::<String>);
    // The validation nouns arrive with the model (0 before it has loaded).
    let per_sweep = move || load.with(|_| (MAX_SHOTS + 1) * nouns_of(Split::Val).len());
    let start = move |_| {
        running.set(true);
        cpu.set(None);
        webgpu.set(None);
        workers.set(None);
        error.set(None);
        progress.set(0);
        crate::tasks::spawn_page_task(async move {
            if let Some(lm) = ensure_lm(load).await {
                let mut r = sweep(&lm, false, engine, progress)
                    .await
                    .map(|s| cpu.set(Some(s)));
                if let (Ok(()), Some(pool)) = (&r, pool::pool()) {
                    workers.set(Some(sweep_on_workers(&lm, &pool, progress).await));
                }
                if r.is_ok() && engine.on_webgpu() {
                    r = sweep(&lm, true, engine, progress)
                        .await
                        .map(|s| webgpu.set(Some(s)));
                }
                if let Err(e) = r {
                    error.set(Some(e));
                }
            }
            running.set(false);
        });
    };
    let row = |key: &'static str, what: String, s: Sweep| {
        view! {
            <tr data-bench=key>
                <th scope="row">{what}</th>
                <td data-col="ms">{format!("{:.0} ms", s.ms)}</td>
                <td data-col="rate">{format!("{:.1} answers/s", s.answers as f64 / (s.ms / 1000.0))}</td>
            </tr>
        }
    };
    view! {
        <h2>"The pluralize sweep (chapter 4)"</h2>
        <p>
            {move || format!("Chapter 4's zero-shot against few-shot sweep with correct labels: \u{201c}The plural of X is\u{201d} \
              after 0 to {MAX_SHOTS} worked examples for each of the validation nouns, answered greedily ({} \
              answers, each up to {} characters), on the CPU path (this page's thread alone, then its background workers in jobs \
              of 10 prompts) and then, when this browser offers it, on WebGPU.",
              match per_sweep() { 0 => "all their".to_string(), n => n.to_string() }, pluralize::ANSWER_CHARS)}
        </p>
        <button type="button" class="primary" on:click=start disabled=move || running.get()>"Time the pluralize sweep"</button>
        <LoadStatus load/>
        <progress max=move || per_sweep() * (2 + usize::from(engine.on_webgpu()))
            value=move || progress.get()
            aria-label="Answers so far"></progress>
        {move || error.get().map(|e| view! { <p class="notice error" role="alert">{e}</p> })}
        <table class="numbers" aria-label="Pluralize sweep benchmark">
            <thead><tr><th>"Measured"</th><th>"Time"</th><th>"Rate"</th></tr></thead>
            <tbody>
                {move || cpu.get().map(|s| row("lm_sweep", format!("{} answers on the CPU, one thread", per_sweep()), s))}
                {move || workers.get().and_then(Result::ok).map(|s| {
                    row("lm_sweep_workers", format!("{} answers on the CPU, {}", per_sweep(), named(pool::size())), s)
                })}
                {move || webgpu.get().map(|s| {
                    let n = per_sweep();
                    let what = if s.whole { format!("{n} answers on WebGPU") } else { format!("{n} answers (WebGPU failed; finished on the CPU)") };
                    row("lm_sweep_webgpu", what, s)
                })}
            </tbody>
        </table>
        {move || cpu.get().map(|c| {
            let same = webgpu.with(|w| w.as_ref().map(|w| w.correct == c.correct));
            let counts = c.correct.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", ");
            let on_workers = workers.with(|w| match w {
                None => String::new(),
                Some(Ok(w)) if w.correct == c.correct => "; the workers' are the same".into(),
                Some(Ok(_)) => "; the workers' differ".into(),
                Some(Err(e)) => format!("; the workers failed ({e})"),
            });
            let workers_same = workers.with(|w| match w {
                Some(Ok(w)) => Some((w.correct == c.correct).to_string()),
                _ => None,
            });
            view! {
                <p data-out="lm-sweep" data-correct=counts.clone() data-same=same.map(|s| s.to_string())
                    data-workers-same=workers_same>
                    {format!("Right answers per number of shots (0 to {MAX_SHOTS}): {counts}{on_workers}{}.", match same {
                        Some(true) => "; WebGPU's are the same",
                        Some(false) => "; WebGPU's differ",
                        None => "",
                    })}
                </p>
            }
        })}
    }
}
