//! Timing global against windowed attention on the engine's attention kernel (WebGPU, or the CPU
//! reference: timed where it runs, the device worker or a compute worker; without those, the page's
//! own device or its thread in slices between screen updates) at growing image sizes.

use crate::engine::Engine;
use crate::tasks::{normals, run_in_slices, Generation, Slice};
use crate::var::Var;
use crate::web;
use crate::workers::device_ops;
use glassbox_lab::attention::{
    attention_cost, gather_windows, scatter_windows, timing_sizes, windowed_shape, AttentionJob,
    AttentionShape,
};
use glassbox_lab::figures::attention::{TimingData, TimingRow};
use glassbox_lab::rng::Rng;

/// The timing experiment's state.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Timing {
    pub running: bool,
    /// Sizes measured / planned, and the fraction of the current one.
    pub done: usize,
    pub planned: usize,
    pub fraction: f64,
    pub message: Option<String>,
}

/// Milliseconds of work per timing sample: repeated runs are averaged until they reach it.
const SAMPLE_MS: f64 = 15.0;
/// The measurement stops growing the image once global attention takes longer than this.
const STOP_AFTER_MS: f64 = 1500.0;
/// Largest token count measured (56 x 56 patches: 9.8 M attention weights).
const MAX_TOKENS: usize = 3136;
const MAX_TIMING_DIM: usize = 256;

/// Mean milliseconds of one attention on the CPU path, computed in slices between screen updates;
/// None when stopped.
async fn time_cpu(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    s: AttentionShape,
    alive: &dyn Fn() -> bool,
    progress: &dyn Fn(f64),
) -> Option<f64> {
    let mask = vec![false; s.t_q * s.t_k];
    let mut job = AttentionJob::new(q.to_vec(), k.to_vec(), v.to_vec(), mask, s);
    // Allocating a large job takes a moment: let the browser breathe before the first slice.
    web::sleep(0).await;
    let result = std::rc::Rc::new(std::cell::Cell::new(None::<f64>));
    let out = result.clone();
    let (mut spent, mut runs) = (0.0f64, 0usize);
    run_in_slices(
        &mut move |deadline| {
            let start = web::now_ms();
            while web::now_ms() < deadline {
                job.advance(2e6);
                if job.done() {
                    runs += 1;
                    job.restart();
                    if spent + web::now_ms() - start >= SAMPLE_MS {
                        spent += web::now_ms() - start;
                        out.set(Some(spent / runs as f64));
                        return Slice::Idle;
                    }
                }
            }
            spent += web::now_ms() - start;
            progress(job.progress());
            Slice::Continue
        },
        alive,
    )
    .await;
    result.get().filter(|_| alive())
}

/// Start a measurement with the calculator's (H, P, K, D), or say in `timing` why it cannot run.
/// Stopping `timing_gen` stops it.
pub fn start(
    engine: Engine,
    cost: (usize, usize, usize, usize),
    timing: Var<Timing>,
    timing_data: Var<TimingData>,
    timing_gen: Generation,
) {
    let (_, patch, window, dim) = cost;
    if dim > MAX_TIMING_DIM {
        timing.set(Timing {
            message: Some(format!(
                "The measurement runs up to D = {MAX_TIMING_DIM} (the calculator has {dim}): lower D to measure."
            )),
            ..Timing::default()
        });
        return;
    }
    let sizes = timing_sizes(patch, window, MAX_TOKENS);
    if sizes.len() < 2 {
        timing.set(Timing {
            message: Some(format!(
                "With windows of {window} x {window} patches fewer than two image sizes fit under {MAX_TOKENS} tokens: choose a smaller window."
            )),
            ..Timing::default()
        });
        return;
    }
    let alive = timing_gen.start();
    timing.set(Timing {
        running: true,
        planned: sizes.len(),
        ..Timing::default()
    });
    crate::tasks::spawn_page_task(measure_sizes(
        engine,
        sizes,
        (patch, window, dim),
        timing,
        timing_data,
        alive,
    ));
}

/// Global and windowed attention's mean milliseconds at `(image, patch, window, dim)` on random
/// inputs from `rng` (windowed includes regrouping the tokens into windows and back): on WebGPU
/// when `on_gpu`, else on the CPU (a compute worker, else this thread in slices). Ok(None) when
/// stopped (`alive` false) or when the device did not run it (lost: the engine is told); Err when
/// WebGPU refused the shape.
pub(crate) async fn time_size(
    engine: Engine,
    on_gpu: bool,
    (image, patch, window, dim): (usize, usize, usize, usize),
    rng: &mut Rng,
    alive: &dyn Fn() -> bool,
    progress: &dyn Fn(f64),
) -> Result<Option<(f64, f64)>, String> {
    let side = image / patch;
    let t = side * side;
    let (q, k, v) = (
        normals(rng, t * dim).await,
        normals(rng, t * dim).await,
        normals(rng, t * dim).await,
    );
    web::sleep(0).await;
    let global_shape = AttentionShape {
        batch: 1,
        t_q: t,
        t_k: t,
        d: dim,
        d_v: dim,
    };
    let ws = windowed_shape(side, window, dim);
    let t0 = web::now_ms();
    let gw = |x: &[f32]| gather_windows(x, side, window, dim);
    let (wq, wk, wv) = (gw(&q), gw(&k), gw(&v));
    std::hint::black_box(scatter_windows(&wq, side, window, dim));
    let regroup_ms = web::now_ms() - t0;
    web::sleep(0).await;
    let times = if on_gpu {
        let timed = |qkv, s| device_ops::timed_attention(engine, qkv, s, SAMPLE_MS);
        let global = timed((&q, &k, &v), global_shape).await?;
        let windowed = match global {
            Some(_) => timed((&wq, &wk, &wv), ws).await?,
            None => None,
        };
        global.zip(windowed)
    } else {
        // On a background worker (one thread, whole runs), else on this thread in slices.
        let timed = |qkv, s| device_ops::cpu_timed_attention(qkv, s, SAMPLE_MS);
        let on_worker = match timed((&q, &k, &v), global_shape).await {
            Some(a) => timed((&wq, &wk, &wv), ws).await.map(|b| (a, b)),
            None => None,
        };
        match on_worker {
            Some(t) => Some(t),
            None => match time_cpu(&q, &k, &v, global_shape, alive, progress).await {
                Some(a) => time_cpu(&wq, &wk, &wv, ws, alive, progress)
                    .await
                    .map(|b| (a, b)),
                None => None,
            },
        }
    };
    Ok(times.filter(|_| alive()).map(|(g, w)| (g, w + regroup_ms)))
}

/// The CPU path's name: a background worker's thread while the workers work, else the page's.
fn cpu_path() -> String {
    match crate::workers::pool::pool() {
        Some(_) => "CPU (WebAssembly, a background worker)".into(),
        None => "CPU (WebAssembly, this page's thread)".into(),
    }
}

/// Time both attentions at each size in turn, adding a row to `timing_data` per size, until the
/// sizes run out, global attention takes STOP_AFTER_MS, or `alive` turns false.
async fn measure_sizes(
    engine: Engine,
    sizes: Vec<usize>,
    (patch, window, dim): (usize, usize, usize),
    timing: Var<Timing>,
    timing_data: Var<TimingData>,
    alive: impl Fn() -> bool + Copy + 'static,
) {
    engine.settled().await;
    let t0 = web::now_ms();
    // A device lost on the way: start again on the CPU, so one figure has one path.
    'attempt: loop {
        let adapter = engine.webgpu_adapter();
        let on_gpu = adapter.is_some();
        timing_data.set(TimingData {
            rows: Vec::new(),
            path: match adapter {
                Some(name) => format!("WebGPU, {name}"),
                None => cpu_path(),
            },
        });
        let mut rng = Rng::new(23);
        let mut last: Option<(f64, u64)> = None;
        for (i, image) in sizes.iter().copied().enumerate() {
            let Ok(c) = attention_cost(image, patch, window, dim) else {
                break;
            };
            // Stop before a size whose global attention would take far too long.
            if let Some((ms, flops)) = last {
                if ms * c.global_flops as f64 / flops as f64 > 2.0 * STOP_AFTER_MS {
                    break;
                }
            }
            let progress = move |f: f64| timing.update(|t| t.fraction = f);
            let sized = (image, patch, window, dim);
            let times = time_size(engine, on_gpu, sized, &mut rng, &alive, &progress).await;
            let (global_ms, windowed_ms) = match times {
                Ok(Some(t)) => t,
                Err(e) => {
                    timing.update(|t| t.message = Some(format!(
                        "WebGPU could not run attention at H = {image} ({e}). Choose \"CPU only\" under Compute and measure again."
                    )));
                    break;
                }
                // The device was lost: measure everything again on the CPU.
                Ok(None) if on_gpu && alive() => continue 'attempt,
                Ok(None) => return,
            };
            timing_data.update(|d| {
                d.rows
                    .push(TimingRow::new(image, &c, global_ms, windowed_ms));
                // Where the CPU's times came from (the workers may have been given up on the way).
                if !on_gpu {
                    d.path = cpu_path();
                }
            });
            timing.update(|t| {
                t.done = i + 1;
                t.fraction = 0.0;
            });
            last = Some((global_ms, c.global_flops));
            if global_ms > STOP_AFTER_MS {
                break;
            }
            web::sleep(0).await;
        }
        break;
    }
    timing.update(|t| t.running = false);
    crate::progress::record_time(super::SLUG, web::now_ms() - t0);
}
