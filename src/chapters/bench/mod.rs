//! Appendix: benchmarks of the chapters' computations in this browser, run in slices so the page
//! stays responsive. The reported times are computation only (the sum of the slices), not the
//! pauses between them. Chapter 1's meta-training here; chapter 2's attention in `attention`;
//! chapter 3's fine-tuning in `finetune`; the language model of chapters 4 and 5 in `lm` and
//! `lm_sweep`, chapter 5's soft-prompt epoch in `soft_prompt`; the image lab's training step in
//! `train_step`; chapters 6 and 7's classification and k-means in `compress`. Each on the CPU and,
//! where the browser offers it, on WebGPU; the worker pool where the chapter uses it.

mod attention;
mod compress;
mod finetune;
mod lm;
mod lm_sweep;
mod soft_prompt;
mod train_step;

use crate::chapters::meta_learning::sweep::Sweep;
use crate::tasks::{run_in_slices, Slice};
use crate::ui::math::{prose, Prose};
use crate::var::Var;
use crate::web;
use glassbox_lab::maml::{Curve, EvalContext, MamlSettings, MetaTrainer, SweepJob, Weighting};
use leptos::prelude::*;

pub const SLUG: &str = "bench";

#[derive(Clone, Debug, Default, PartialEq)]
struct Results {
    train_ms: Option<f64>,
    sweep_ms: Option<f64>,
    /// The same sweep on the workers: milliseconds, workers, and whether its curves equal the
    /// page thread's to the bit.
    workers_sweep: Option<(f64, usize, bool)>,
    /// 100 meta-iterations of each inner-loop variant: (key, label, ms).
    variants: Vec<(String, String, f64)>,
    status: String,
}

/// The gradient-descent and classification variants timed after the closed form: K = 1, 5, 10.
fn variant_settings() -> Vec<(String, String, MamlSettings)> {
    let mut v = Vec::new();
    for k in [1usize, 5, 10] {
        v.push((
            format!("gd_k{k}_ms"),
            format!("100 meta-iterations, gradient-descent inner loop, K = {k}"),
            MamlSettings::gradient_descent(k),
        ));
    }
    for k in [1usize, 5, 10] {
        v.push((
            format!("cls_k{k}_ms"),
            format!("100 meta-iterations, classification, K = {k}"),
            MamlSettings::classification(k, 1e-2),
        ));
    }
    v
}

enum Stage {
    Train(Box<MetaTrainer>),
    Prepare(Box<(MetaTrainer, EvalContext)>),
    /// The context, the three curves' jobs, and the meta-learned weights (for the workers' turn).
    Sweep(Box<EvalContext>, Vec<SweepJob>, Weighting),
    /// The sweep again on the workers: its context, the three curves there (as they arrive) and
    /// the page thread's, and when it started.
    Workers(Box<OnWorkers>),
    /// Index into `variant_settings()`, its trainer and the time spent on it.
    Variant(usize, Box<MetaTrainer>, f64),
    Done,
}

struct OnWorkers {
    ctx: EvalContext,
    sweeps: Vec<(Sweep, Option<Curve>)>,
    here: Vec<Curve>,
    started: f64,
    workers: usize,
}

/// The stage after the page thread's sweep: the same sweep on the workers, if the page has them.
fn workers_stage(ctx: EvalContext, jobs: &[SweepJob], weights: Weighting) -> Option<Stage> {
    let workers = crate::workers::pool::pool()?.workers();
    let sweeps = [weights, Weighting::Ones, Weighting::Oracle]
        .into_iter()
        .map(|w| (Sweep::start(w, &ctx), None))
        .collect();
    let here = jobs.iter().map(|j| j.curve().clone()).collect();
    Some(Stage::Workers(Box::new(OnWorkers {
        ctx,
        sweeps,
        here,
        started: web::now_ms(),
        workers,
    })))
}

fn same_bits(a: &Curve, b: &Curve) -> bool {
    let bits = |c: &Curve| -> Vec<u64> {
        [&c.mean, &c.p10, &c.p90]
            .iter()
            .flat_map(|v| v.iter().map(|x| x.to_bits()))
            .collect()
    };
    bits(a) == bits(b)
}

/// The stage timing variant `i`; after the last (or if one cannot start) the run is over, and the
/// status says so.
fn variant_stage(i: usize, results: Var<Results>) -> Stage {
    let next = variant_settings()
        .into_iter()
        .nth(i)
        .map(|(_, _, s)| MetaTrainer::new(s));
    match next {
        Some(Ok(t)) => Stage::Variant(i, Box::new(t), 0.0),
        Some(Err(e)) => {
            results.update(|r| r.status = e);
            Stage::Done
        }
        None => {
            results.update(|r| r.status = "Done.".into());
            Stage::Done
        }
    }
}

#[component]
pub fn Bench() -> impl IntoView {
    let results = Var::new(Results::default());
    let running = Var::new(false);
    let start = move |_| {
        if running.get_untracked() {
            return;
        }
        running.set(true);
        results.set(Results {
            status: "Running…".into(),
            ..Default::default()
        });
        let settings = MamlSettings::default();
        let mut stage = match MetaTrainer::new(settings.clone()) {
            Ok(t) => Stage::Train(Box::new(t)),
            Err(e) => {
                results.update(|r| r.status = e);
                running.set(false);
                return;
            }
        };
        let (mut train_ms, mut sweep_ms) = (0.0f64, 0.0f64);
        crate::tasks::spawn_page_task(async move {
            run_in_slices(
                &mut move |deadline| {
                    let t0 = web::now_ms();
                    let next = match std::mem::replace(&mut stage, Stage::Done) {
                        Stage::Train(mut tr) => {
                            while web::now_ms() < deadline && tr.step() {}
                            train_ms += web::now_ms() - t0;
                            if tr.finished() {
                                results.update(|r| {
                                    r.train_ms = Some(train_ms);
                                    r.status = "Timing the evaluation sweep…".into();
                                });
                                match EvalContext::new(settings.clone()) {
                                    Ok(ctx) => Stage::Prepare(Box::new((*tr, ctx))),
                                    Err(e) => {
                                        results.update(|r| r.status = e);
                                        Stage::Done
                                    }
                                }
                            } else {
                                Stage::Train(tr)
                            }
                        }
                        Stage::Prepare(boxed) => {
                            let (tr, mut ctx) = *boxed;
                            while web::now_ms() < deadline && !ctx.prepare(3_000_000) {}
                            sweep_ms += web::now_ms() - t0;
                            if ctx.ready() {
                                let weights = Weighting::Weights(tr.weights.clone());
                                let jobs = vec![
                                    SweepJob::new(weights.clone(), &ctx),
                                    SweepJob::new(Weighting::Ones, &ctx),
                                    SweepJob::new(Weighting::Oracle, &ctx),
                                ];
                                Stage::Sweep(Box::new(ctx), jobs, weights)
                            } else {
                                Stage::Prepare(Box::new((tr, ctx)))
                            }
                        }
                        Stage::Sweep(mut ctx, mut jobs, weights) => {
                            let mut failed = None;
                            while web::now_ms() < deadline {
                                let Some(job) = jobs.iter_mut().find(|j| !j.done(&ctx)) else {
                                    break;
                                };
                                if let Err(e) = job.advance(&mut ctx, 3_000_000) {
                                    failed = Some(e);
                                    break;
                                }
                            }
                            sweep_ms += web::now_ms() - t0;
                            if let Some(e) = failed {
                                results.update(|r| r.status = e);
                                Stage::Done
                            } else if jobs.iter().all(|j| j.done(&ctx)) {
                                results.update(|r| r.sweep_ms = Some(sweep_ms));
                                match workers_stage(*ctx, &jobs, weights) {
                                    Some(next) => {
                                        results.update(|r| {
                                            r.status = "Timing the sweep on the workers…".into()
                                        });
                                        next
                                    }
                                    None => variant_stage(0, results),
                                }
                            } else {
                                Stage::Sweep(ctx, jobs, weights)
                            }
                        }
                        Stage::Workers(mut on) => {
                            let OnWorkers { ctx, sweeps, .. } = &mut *on;
                            let mut waited = 0.0;
                            let mut failed = None;
                            for (sweep, curve) in sweeps.iter_mut().filter(|(_, c)| c.is_none()) {
                                match sweep.advance(ctx, &mut waited) {
                                    Ok(c) => *curve = c,
                                    Err(e) => failed = Some(e),
                                }
                                // Given up (the pool's notice says why): no workers' time to show.
                                if !sweep.elsewhere() {
                                    failed = Some("the workers were given up".into());
                                }
                            }
                            if let Some(e) = failed {
                                results.update(|r| r.status = e);
                                variant_stage(0, results)
                            } else if on.sweeps.iter().all(|(_, c)| c.is_some()) {
                                let ms = web::now_ms() - on.started;
                                let same =
                                    on.sweeps.iter().zip(&on.here).all(|((_, c), h)| {
                                        c.as_ref().is_some_and(|c| same_bits(c, h))
                                    });
                                results.update(|r| {
                                    r.workers_sweep = Some((ms, on.workers, same));
                                    r.status = "Timing the inner-loop variants…".into();
                                });
                                variant_stage(0, results)
                            } else {
                                Stage::Workers(on)
                            }
                        }
                        Stage::Variant(i, mut tr, ms) => {
                            while web::now_ms() < deadline && tr.step() {}
                            let ms = ms + web::now_ms() - t0;
                            if tr.finished() {
                                let (key, label, _) = variant_settings().swap_remove(i);
                                results.update(|r| r.variants.push((key, label, ms)));
                                variant_stage(i + 1, results)
                            } else {
                                Stage::Variant(i, tr, ms)
                            }
                        }
                        Stage::Done => Stage::Done,
                    };
                    let (idle, waiting) = (
                        matches!(next, Stage::Done),
                        matches!(next, Stage::Workers(_)),
                    );
                    stage = next;
                    match (idle, waiting) {
                        (true, _) => Slice::Idle,
                        (_, true) => Slice::Wait(25),
                        _ => Slice::Continue,
                    }
                },
                &|| true,
            )
            .await;
            running.set(false);
        });
    };
    let fmt = |v: Option<f64>| {
        v.map(|ms| format!("{:.0} ms", ms))
            .unwrap_or_else(|| "–".into())
    };
    view! {
        <article class="chapter">
            <h1>"Benchmarks"</h1>
            <Prose html=prose!(r#"
                <p>How long the chapters' computations take in this browser, on the CPU
                (WebAssembly). Meta-training is the notebook's 100 closed-form MAML iterations; the
                sweep evaluates the meta-learned, all-ones and oracle weights for every n_train_post
                on 10 test tasks, including building the test set, on this page's thread and again
                on the background workers (wall time there, from sending the jobs to the last
                answer).</p>
            "#)/>
            <button type="button" class="primary" on:click=start disabled=move || running.get()>"Run the benchmark"</button>
            <p role="status" aria-live="polite" class="status">{move || results.get().status}</p>
            <table class="numbers" aria-label="Benchmark results">
                <tbody>
                    <tr><th scope="row">"100 meta-iterations (closed form)"</th><td data-bench="train_ms">{move || fmt(results.get().train_ms)}</td></tr>
                    <tr><th scope="row">"Full evaluation sweep (3 weightings x 10 tasks)"</th><td data-bench="sweep_ms">{move || fmt(results.get().sweep_ms)}</td></tr>
                    {move || results.get().workers_sweep.map(|(ms, n, same)| view! {
                        <tr>
                            <th scope="row">{format!("The same sweep on {}, an entry of n per job", crate::workers::named(n))}</th>
                            <td data-bench="workers_sweep_ms" data-same=same.to_string()>
                                {format!("{ms:.0} ms, {}", if same { "the same curves" } else { "the curves differ" })}
                            </td>
                        </tr>
                    })}
                    {move || results.get().variants.into_iter().map(|(key, label, ms)| view! {
                        <tr><th scope="row">{label}</th><td data-bench=key>{format!("{ms:.0} ms")}</td></tr>
                    }).collect_view()}
                </tbody>
            </table>
            <attention::AttentionBench/>
            <finetune::FineTuneBench/>
            <lm::LmBench/>
            <lm_sweep::LmSweepBench/>
            <soft_prompt::SoftPromptBench/>
            <train_step::TrainStepBench/>
            <compress::CompressBench/>
        </article>
    }
}
