//! Benchmarks: the image lab's training step (`vision::finetune`, what the image lab and chapters 6
//! and 7 run): SGD with momentum from the committed weights, batch 32, augmentation, batch-norm in
//! training mode, timed over a few steps on the CPU path (a block at a time between screen
//! updates) and, when the browser offers it, on WebGPU (a step per submission), with the two runs'
//! batch losses compared step by step. On the CPU twice: on this page's thread, then with each
//! step's forward and backward pass on a background worker (one worker: batch-norm's statistics
//! couple a batch's images), which gives the same losses bit for bit. On WebGPU twice where the
//! device worker is there: on its device, then on the page's own, again bit for bit.

use crate::engine::Engine;
use crate::ui::run_controls::Speed;
use crate::var::Var;
use crate::vision::data::{ensure_loaded, LoadState, LoadStatus};
use crate::vision::finetune::{self, Model, TuneSpec, Tuning};
use crate::web;
use leptos::prelude::*;

/// Steps timed, and their batch (the image lab's default).
const STEPS: usize = 10;
const BATCH: usize = 32;

/// Where a timed run is sent.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Place {
    /// The CPU path on this page's thread.
    Page,
    /// The CPU path, each step's passes on a background worker.
    Worker,
    /// WebGPU (it finishes on the CPU if the device fails): the device worker's where the page
    /// has one.
    Gpu,
    /// WebGPU on the page's own device, beside the device worker's run.
    GpuPage,
}

impl Place {
    fn key(self) -> &'static str {
        match self {
            Place::Page => "train_step",
            Place::Worker => "train_step_workers",
            Place::Gpu => "train_step_webgpu",
            Place::GpuPage => "train_step_webgpu_page",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Place::Page => "the CPU, this page's thread",
            Place::Worker => "the CPU, a background worker",
            Place::Gpu => "WebGPU",
            Place::GpuPage => "WebGPU, this page's own device",
        }
    }
}

/// A timed run: where it was sent and where it ran, training images per second, and each step's
/// batch loss.
#[derive(Clone, Debug, PartialEq)]
struct Run {
    place: Place,
    ran: &'static str,
    images_per_s: f64,
    losses: Vec<f64>,
}

/// `STEPS` steps from the committed weights at `place`; None when the run did not finish.
async fn timed(
    l: std::rc::Rc<crate::vision::data::Loaded>,
    engine: Engine,
    place: Place,
) -> Option<Run> {
    let mut m = Model::default();
    m.cpu_only = !matches!(place, Place::Gpu | Place::GpuPage);
    m.on_page = place == Place::Page;
    m.gpu_on_page = place == Place::GpuPage;
    let model = StoredValue::new_local(m);
    let tuning = Var::new(Tuning::default());
    let spec = TuneSpec {
        steps: STEPS,
        batch: BATCH,
        lr: 0.01,
        seed: 0,
        done_hint: "",
        stop_every: None,
    };
    finetune::run(model, tuning, l, spec, engine, Var::new(Speed::Fast), false);
    while tuning.with_untracked(|t| t.running) {
        web::sleep(50).await;
    }
    let t = tuning.get_untracked();
    let (images_per_s, ran) = t.speed?;
    (t.points.len() == STEPS).then(|| Run {
        place,
        ran,
        images_per_s,
        losses: t.points.iter().map(|p| p.loss).collect(),
    })
}

#[component]
pub fn TrainStepBench() -> impl IntoView {
    let engine = crate::ui::context::<Engine>();
    let load = Var::new(LoadState::Idle);
    let running = Var::new(false);
    let runs = Var::new(Vec::<Run>::new());
    let status = Var::new(String::new());
    let start = move |_| {
        running.set(true);
        runs.set(Vec::new());
        crate::tasks::spawn_page_task(async move {
            if let Some(l) = ensure_loaded(load).await {
                engine.settled().await;
                let places = [Place::Page, Place::Worker, Place::Gpu, Place::GpuPage]
                    .into_iter()
                    .filter(|p| match p {
                        Place::Page => true,
                        Place::Worker => crate::workers::pool::pool().is_some(),
                        Place::Gpu => engine.on_webgpu(),
                        Place::GpuPage => {
                            engine.on_webgpu() && crate::workers::pool::device_pool().is_some()
                        }
                    });
                for place in places {
                    status.set(format!("Timing {STEPS} steps on {}…", place.name()));
                    match timed(l.clone(), engine, place).await {
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
        let what = match (r.place, r.ran) {
            (Place::Gpu | Place::GpuPage, ran) if ran != "WebGPU" => {
                format!("{STEPS} steps of {BATCH} images (WebGPU failed; finished on the {ran})")
            }
            (Place::Worker, ran) if ran != finetune::WORKER => {
                format!(
                    "{STEPS} steps of {BATCH} images (the workers stopped; finished on the {ran})"
                )
            }
            (Place::Gpu, _) if crate::workers::pool::device_pool().is_some() => {
                format!("{STEPS} steps of {BATCH} images on WebGPU, in the device worker")
            }
            (Place::GpuPage, _) => {
                format!("{STEPS} steps of {BATCH} images on WebGPU, this page's own device")
            }
            (_, ran) => format!("{STEPS} steps of {BATCH} images on the {ran}"),
        };
        let ratio = runs.with(|v| match (r.place, v.first()) {
            (Place::Page, _) | (_, None) => "–".into(),
            (_, Some(c)) => format!("{:.2}", r.images_per_s / c.images_per_s),
        });
        view! {
            <tr data-bench=r.place.key()>
                <th scope="row">{what}</th>
                <td data-col="ms">{format!("{:.0} ms", 1000.0 * BATCH as f64 / r.images_per_s)}</td>
                <td data-col="rate">{format!("{:.0} images/s", r.images_per_s)}</td>
                <td data-col="ratio">{ratio}</td>
            </tr>
        }
    };
    let agreement = move || {
        runs.with(|v| {
            let Some(c) = v.first() else {
                return String::new();
            };
            let mut line = format!(
                "Batch losses on the CPU: {:.3} at the first step, {:.3} at the last.",
                c.losses[0],
                c.losses[STEPS - 1]
            );
            for r in &v[1..] {
                let worst = c
                    .losses
                    .iter()
                    .zip(&r.losses)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f64::max);
                let gpu = v.iter().find(|g| g.place == Place::Gpu);
                line += &match r.place {
                    Place::Worker if worst == 0.0 => {
                        " On the worker: the same, bit for bit.".to_string()
                    }
                    Place::GpuPage => match gpu.filter(|g| g.losses == r.losses) {
                        Some(_) => " On this page's own device: the same as the device \
                                     worker's, bit for bit."
                            .to_string(),
                        None => " On this page's own device: NOT the same as the device \
                                 worker's."
                            .to_string(),
                    },
                    _ => format!(
                        " On {}: within {worst:.4} of this page's thread.",
                        r.place.name()
                    ),
                };
            }
            line
        })
    };
    view! {
        <h2>"The image lab's training step (image lab, chapters 6 and 7)"</h2>
        <p>
            {format!("Fine-tuning the committed network as the image lab does it: {STEPS} steps of SGD with \
              momentum on batches of {BATCH} augmented training images, batch-norm in training mode. On the \
              CPU (WebAssembly): on this page's thread, a block at a time between screen updates, then with \
              each step's forward and backward pass on a background worker (the page applies the update; \
              batch-norm's statistics couple a batch's images, so a step is not split across workers); then \
              on WebGPU when this browser offers it (one submission per step), on the device worker's \
              device and then on this page's own.")}
        </p>
        <button type="button" class="primary" on:click=start disabled=move || running.get()>"Time training steps"</button>
        <LoadStatus load/>
        <p role="status" aria-live="polite" class="status" data-out="train-bench-status">{move || status.get()}</p>
        <div class="table-scroll">
            <table class="numbers" aria-label="Training step benchmark">
                <thead><tr><th>"Measured"</th><th>"Per step"</th><th>"Rate"</th><th>"÷ page's thread"</th></tr></thead>
                <tbody>{move || runs.with(|v| v.iter().map(row).collect_view())}</tbody>
            </table>
        </div>
        <p data-out="train-bench-losses">{agreement}</p>
    }
}
