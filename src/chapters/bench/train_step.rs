//! Benchmarks: the image lab's training step (`vision::finetune`, what the image lab and chapters 6
//! and 7 run): SGD with momentum from the committed weights, batch 32, augmentation, batch-norm in
//! training mode, timed over a few steps on the CPU path (a block at a time between screen
//! updates) and, when the browser offers it, on WebGPU (a step per submission), with the two runs'
//! batch losses compared step by step. Training does not run on the worker pool yet.

use crate::engine::Engine;
use crate::ui::run_controls::Speed;
use crate::vision::data::{ensure_loaded, LoadState, LoadStatus};
use crate::vision::finetune::{self, Model, TuneSpec, Tuning};
use crate::web;
use leptos::prelude::*;

/// Steps timed, and their batch (the image lab's default).
const STEPS: usize = 10;
const BATCH: usize = 32;

/// A timed run: where it ran, training images per second, and each step's batch loss.
#[derive(Clone, Debug, PartialEq)]
struct Run {
    /// Sent to WebGPU (it finishes on the CPU if the device fails).
    on_gpu: bool,
    ran: &'static str,
    images_per_s: f64,
    losses: Vec<f64>,
}

/// `STEPS` steps from the committed weights, on the CPU when `cpu_only`, else where the engine
/// computes; None when the run did not finish.
async fn timed(
    l: std::rc::Rc<crate::vision::data::Loaded>,
    engine: Engine,
    cpu_only: bool,
) -> Option<Run> {
    let mut m = Model::default();
    m.cpu_only = cpu_only;
    let model = StoredValue::new_local(m);
    let tuning = RwSignal::new(Tuning::default());
    let spec = TuneSpec {
        steps: STEPS,
        batch: BATCH,
        lr: 0.01,
        seed: 0,
        done_hint: "",
        stop_every: None,
    };
    finetune::run(
        model,
        tuning,
        l,
        spec,
        engine,
        RwSignal::new(Speed::Fast),
        false,
    );
    while tuning.with_untracked(|t| t.running) {
        web::sleep(50).await;
    }
    let t = tuning.get_untracked();
    let (images_per_s, ran) = t.speed?;
    (t.points.len() == STEPS).then(|| Run {
        on_gpu: !cpu_only,
        ran,
        images_per_s,
        losses: t.points.iter().map(|p| p.loss).collect(),
    })
}

#[component]
pub fn TrainStepBench() -> impl IntoView {
    let engine = expect_context::<Engine>();
    let load = RwSignal::new(LoadState::Idle);
    let running = RwSignal::new(false);
    let runs = RwSignal::new(Vec::<Run>::new());
    let status = RwSignal::new(String::new());
    let start = move |_| {
        running.set(true);
        runs.set(Vec::new());
        crate::tasks::spawn_page_task(async move {
            if let Some(l) = ensure_loaded(load).await {
                engine.settled().await;
                for cpu_only in [true, false] {
                    if !cpu_only && engine.gpu().is_none() {
                        break;
                    }
                    status.set(format!(
                        "Timing {STEPS} steps on {}…",
                        if cpu_only { "the CPU" } else { "WebGPU" }
                    ));
                    match timed(l.clone(), engine, cpu_only).await {
                        Some(r) => runs.update(|v| v.push(r)),
                        None => {
                            status.set("The run did not finish.".into());
                            running.set(false);
                            return;
                        }
                    }
                }
                status.set("Done.".into());
            }
            running.set(false);
        });
    };
    let row = move |r: &Run| {
        let key = if r.on_gpu {
            "train_step_webgpu"
        } else {
            "train_step"
        };
        let what = match (r.on_gpu, r.ran) {
            (true, "CPU") => {
                format!("{STEPS} steps of {BATCH} images (WebGPU failed; finished on the CPU)")
            }
            (_, ran) => format!("{STEPS} steps of {BATCH} images on the {ran}"),
        };
        let ratio = runs.with(|v| {
            (r.on_gpu && r.ran == "WebGPU")
                .then(|| {
                    v.first()
                        .map(|c| format!("{:.2}", r.images_per_s / c.images_per_s))
                })
                .flatten()
                .unwrap_or_else(|| "–".into())
        });
        view! {
            <tr data-bench=key>
                <th scope="row">{what}</th>
                <td data-col="ms">{format!("{:.0} ms", 1000.0 * BATCH as f64 / r.images_per_s)}</td>
                <td data-col="rate">{format!("{:.0} images/s", r.images_per_s)}</td>
                <td data-col="ratio">{ratio}</td>
            </tr>
        }
    };
    let agreement = move || {
        runs.with(|v| match v.as_slice() {
            [c, g] => {
                let worst = c
                    .losses
                    .iter()
                    .zip(&g.losses)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f64::max);
                format!("The {STEPS} batch losses on WebGPU are within {worst:.4} of the CPU's.")
            }
            [c] => format!(
                "Batch losses on the CPU: {:.3} at the first step, {:.3} at the last.",
                c.losses[0],
                c.losses[STEPS - 1]
            ),
            _ => String::new(),
        })
    };
    view! {
        <h2>"The image lab's training step (image lab, chapters 6 and 7)"</h2>
        <p>
            {format!("Fine-tuning the committed network as the image lab does it: {STEPS} steps of SGD with \
              momentum on batches of {BATCH} augmented training images, batch-norm in training mode. On the \
              CPU (WebAssembly, this page's thread, a block at a time between screen updates), then on \
              WebGPU when this browser offers it (one submission per step). Training does not run on the \
              background workers yet.")}
        </p>
        <button type="button" class="primary" on:click=start disabled=move || running.get()>"Time training steps"</button>
        <LoadStatus load/>
        <p role="status" aria-live="polite" class="status" data-out="train-bench-status">{move || status.get()}</p>
        <div class="table-scroll">
            <table class="numbers" aria-label="Training step benchmark">
                <thead><tr><th>"Measured"</th><th>"Per step"</th><th>"Rate"</th><th>"WebGPU ÷ CPU"</th></tr></thead>
                <tbody>{move || runs.with(|v| v.iter().map(row).collect_view())}</tbody>
            </table>
        </div>
        <p data-out="train-bench-losses">{agreement}</p>
    }
}
