//! Appendix "Under the hood": the reader's compute backend and adapter limits, and a live benchmark
//! of the engine's kernels on WebGPU and on the CPU path side by side, with the parity error of each.

use crate::engine::{BackendState, Engine};
use crate::tasks::{normals, run_in_slices, Slice};
use crate::ui::math::{prose, Prose};
use crate::var::Var;
use crate::web;
use crate::workers::device_ops::{self, Kernel};
use glassbox_gpu::selftest::Parity;
use glassbox_gpu::{GpuError, MatmulShape};
use glassbox_lab::kernels::{max_errors, PreparedProduct};
use glassbox_lab::rng::Rng;
use glassbox_lab::vision::nn::{conv2d_forward_im2col, ConvShape};
use leptos::prelude::*;

pub const SLUG: &str = "under-the-hood";

const SIZES: [usize; 4] = [128, 256, 512, 1024];

#[derive(Clone, Debug, Default, PartialEq)]
struct Row {
    name: String,
    size: usize,
    cpu_gflops: Option<f64>,
    gpu_gflops: Option<f64>,
    max_rel_err: Option<f64>,
    note: String,
}

impl Row {
    /// Record a timed WebGPU result (speed and parity against the CPU's), or its failure (the
    /// engine was told).
    fn record_gpu(&mut self, timed: Result<(Vec<f32>, f64), GpuError>, flops: f64, cpu: &[f32]) {
        match timed {
            Ok((got, secs)) => {
                let want: Vec<f64> = cpu.iter().map(|&v| v as f64).collect();
                self.gpu_gflops = Some(flops / secs / 1e9);
                self.max_rel_err = Some(max_errors(&got, &want).1);
            }
            Err(e) => self.note = format!("WebGPU failed: {e}"),
        }
    }
}

/// The least computing time a measurement adds up: the browser's clock counts in steps of about
/// 0.1 ms, and a warm 128³ product takes little more (one run alone sometimes read 0 ms).
const MIN_BUSY_MS: f64 = 20.0;

/// Run `unit(0..count)` (one run) in slices of about `SLICE_MS`, yielding between them, as many
/// whole runs as it takes to compute for `MIN_BUSY_MS`; returns the seconds one run spent
/// computing (not waiting).
async fn timed_in_slices(count: usize, unit: &mut dyn FnMut(usize)) -> f64 {
    if count == 0 {
        return 0.0;
    }
    let (mut next, mut runs, mut busy_ms) = (0usize, 0usize, 0.0f64);
    run_in_slices(
        &mut |deadline| {
            let t0 = web::now_ms();
            let mut done = false;
            while web::now_ms() < deadline {
                unit(next);
                next += 1;
                if next == count {
                    next = 0;
                    runs += 1;
                    if busy_ms + web::now_ms() - t0 >= MIN_BUSY_MS {
                        done = true;
                        break;
                    }
                }
            }
            busy_ms += web::now_ms() - t0;
            if done {
                Slice::Idle
            } else {
                Slice::Continue
            }
        },
        &|| true,
    )
    .await;
    busy_ms / 1000.0 / runs.max(1) as f64
}

/// The CPU product, 8 output rows at a time; returns (C, seconds of computation).
async fn cpu_matmul(a: &[f32], b: &[f32], s: MatmulShape) -> (Vec<f32>, f64) {
    let Ok(op) = PreparedProduct::new(a, b, s) else {
        return (Vec::new(), f64::NAN);
    };
    let mut c = vec![0.0f32; s.c_len()];
    let secs = timed_in_slices(s.m.div_ceil(8), &mut |blk| {
        let _ = op.rows(blk * 8..(blk * 8 + 8).min(s.m), &mut c);
    })
    .await;
    (c, secs)
}

/// The CPU convolution one image at a time; returns (y, seconds of computation).
async fn cpu_conv(x: &[f32], w: &[f32], s: ConvShape) -> (Vec<f32>, f64) {
    let mut y = vec![0.0f32; s.y_len()];
    let secs = timed_in_slices(s.n, &mut |n| {
        conv2d_forward_im2col(x, w, s, n..n + 1, &mut y)
    })
    .await;
    (y, secs)
}

/// The convolutions benchmarked: VGG blocks of 16 and 64 channels on 8 images of 32 x 32.
const CONVS: [ConvShape; 2] = [
    ConvShape {
        n: 8,
        c_in: 16,
        c_out: 16,
        h: 32,
        w: 32,
    },
    ConvShape {
        n: 8,
        c_in: 64,
        c_out: 64,
        h: 32,
        w: 32,
    },
];

/// Time the matrix products and convolutions on the CPU and (when the page has one) on WebGPU,
/// a row of `rows` each; then check every kernel on WebGPU against its CPU reference.
async fn run_benchmark(
    engine: Engine,
    rows: Var<Vec<Row>>,
    parity: Var<Vec<Parity>>,
    status: Var<String>,
) {
    let mut rng = Rng::new(11);
    // Let the WebAssembly engine compile the hot loop before anything is timed.
    let warm = MatmulShape::new(64, 64, 64);
    let _ = cpu_matmul(&vec![1.0; warm.a_len()], &vec![1.0; warm.b_len()], warm).await;
    for &size in &SIZES {
        let s = MatmulShape::new(size, size, size);
        let a = normals(&mut rng, s.a_len()).await;
        let b = normals(&mut rng, s.b_len()).await;
        status.set(format!("Matrix multiply {size}³ on the CPU…"));
        let (cpu, cpu_s) = cpu_matmul(&a, &b, s).await;
        let mut row = Row {
            name: format!("matmul {size}×{size}×{size}"),
            size,
            cpu_gflops: Some(s.flops() / cpu_s / 1e9),
            ..Default::default()
        };
        if engine.on_webgpu() {
            status.set(format!("Matrix multiply {size}³ on WebGPU…"));
            let timed = device_ops::timed_kernel(engine, Kernel::Matmul(s), &a, &b).await;
            row.record_gpu(timed, s.flops(), &cpu);
        } else {
            row.note = "CPU only".into();
        }
        rows.update(|r| r.push(row));
        web::sleep(0).await;
    }
    for conv in CONVS {
        let x = normals(&mut rng, conv.x_len()).await;
        let w = normals(&mut rng, conv.w_len()).await;
        let flops = 2.0 * conv.macs() as f64;
        status.set(format!(
            "Convolution {} → {} channels on the CPU…",
            conv.c_in, conv.c_out
        ));
        let (cpu, cpu_s) = cpu_conv(&x, &w, conv).await;
        let mut row = Row {
            name: format!(
                "conv2d 3×3, {}×{}×{}×{} → {}",
                conv.n, conv.c_in, conv.h, conv.w, conv.c_out
            ),
            size: 0,
            cpu_gflops: Some(flops / cpu_s / 1e9),
            ..Default::default()
        };
        if engine.on_webgpu() {
            status.set("Convolution on WebGPU…".into());
            let timed = device_ops::timed_kernel(engine, Kernel::Conv(conv), &x, &w).await;
            row.record_gpu(timed, flops, &cpu);
        } else {
            row.note = "CPU only".into();
        }
        rows.update(|r| r.push(row));
        web::sleep(0).await;
    }
    // Parity of every kernel.
    if engine.on_webgpu() {
        status.set("Checking every kernel against its CPU reference…".into());
        if let Ok(p) = device_ops::self_test(engine).await {
            parity.set(p);
        }
    }
    status.set("Done.".into());
}

#[component]
pub fn UnderTheHood() -> impl IntoView {
    let engine = crate::ui::context::<Engine>();
    let rows = Var::new(Vec::<Row>::new());
    let running = Var::new(false);
    let status = Var::new(String::new());
    let parity = Var::new(Vec::<Parity>::new());

    let run = move |_| {
        if running.get_untracked() {
            return;
        }
        running.set(true);
        rows.set(Vec::new());
        parity.set(Vec::new());
        status.set("Running…".into());
        crate::tasks::spawn_page_task(async move {
            run_benchmark(engine, rows, parity, status).await;
            running.set(false);
        });
    };

    let fmt = |v: Option<f64>, digits: usize| {
        v.map(|x| format!("{x:.digits$}"))
            .unwrap_or_else(|| "–".into())
    };
    view! {
        <article class="chapter">
            <h1>"Under the hood"</h1>
            <Prose html=prose!(r#"
                <p>Glassbox runs its heavy kernels on WebGPU when your browser grants an adapter,
                and on the CPU (WebAssembly) otherwise. Both paths compute the same numbers; the GPU
                works in single precision, so its results agree with the CPU's to about one part in
                a million.</p>
            "#)/>
            <h2>"Your backend"</h2>
            {move || match engine.state.get() {
                BackendState::Detecting => view! { <p>"Asking the browser for a WebGPU adapter…"</p> }.into_any(),
                BackendState::Cpu(why) => view! { <p data-backend="cpu">{format!("CPU (WebAssembly): {why}.")}</p> }.into_any(),
                BackendState::WebGpu(a) => view! {
                    <table class="numbers" aria-label="WebGPU adapter" data-backend="webgpu">
                        <tbody>
                            <tr><th scope="row">"adapter"</th><td>{a.name.clone()}</td></tr>
                            <tr><th scope="row">"backend"</th><td>{a.backend.clone()}</td></tr>
                            <tr><th scope="row">"device type"</th><td>{a.device_type.clone()}</td></tr>
                            <tr><th scope="row">"driver"</th><td>{a.driver.clone()}</td></tr>
                            <tr><th scope="row">"max buffer size"</th><td>{format!("{} MiB", a.max_buffer_size >> 20)}</td></tr>
                            <tr><th scope="row">"max storage binding"</th><td>{format!("{} MiB", a.max_storage_buffer_binding_size >> 20)}</td></tr>
                            <tr><th scope="row">"workgroup memory"</th><td>{format!("{} KiB", a.max_compute_workgroup_storage_size >> 10)}</td></tr>
                            <tr><th scope="row">"invocations per workgroup"</th><td>{a.max_compute_invocations_per_workgroup}</td></tr>
                        </tbody>
                    </table>
                }.into_any(),
            }}
            <h2>"Background workers"</h2>
            <p data-out="workers">{move || {
                let n = crate::workers::pool::size();
                let restarts = crate::workers::pool::restarts().get();
                match crate::workers::pool::notice().get() {
                    Some(why) => why,
                    None => format!(
                        "On the CPU, test-set classification (chapters 3, 6 and 7 and the image lab) runs on {n} background \
                         worker{} (one per core your browser reports but one, kept for the page; at least 1, at most 4), so this page stays \
                         responsive; the results equal a single thread's bit for bit. Workers restarted on \
                         this visit: {restarts}.",
                        if n == 1 { "" } else { "s" }
                    ),
                }
            }}</p>
            <p data-out="device-worker">{move || {
                let jobs = crate::workers::pool::device_jobs().get();
                match crate::workers::pool::device_notice().get() {
                    Some(why) => why,
                    None => format!(
                        "On WebGPU, chapter 2's attention, test-set classification, fine-tuning the image \
                         network (the image lab, chapters 3, 6 and 7), the language model's text (chapters 4 \
                         and 5), chapter 5's prompt gradients, chapter 6's latency, chapter 7's k-means \
                         assignments and this page's kernel benchmark and self-test run on a device that one \
                         more background worker owns (the page's thread neither records nor waits for that \
                         work; timings are taken there); the results equal the page's own WebGPU path's bit \
                         for bit. Jobs it answered on this visit: {jobs}."
                    ),
                }
            }}</p>
            <h2>"Kernel benchmark"</h2>
            <Prose html=prose!(r#"
                <p>Matrix multiply of two random n × n matrices (2n³ floating-point operations). The
                CPU path runs in short slices so the page stays responsive; its time counts
                computation only. The WebGPU time includes the upload and the read-back (timed in
                the background worker that owns the device). The last column is the largest
                difference between the two results, relative to the largest entry.</p>
            "#)/>
            <div class="buttons">
                <button type="button" class="primary" on:click=run disabled=move || running.get()>"Run the benchmark"</button>
                <button type="button" on:click=move |_| {
                    crate::tasks::spawn_page_task(async move {
                        device_ops::simulate_loss(engine).await;
                        status.set("The WebGPU device was destroyed; the next computation falls back to the CPU.".into());
                    });
                } disabled=move || !matches!(engine.state.get(), BackendState::WebGpu(_))>"Simulate losing the GPU device"</button>
            </div>
            <p role="status" aria-live="polite" class="status">{move || status.get()}</p>
            <table class="numbers" aria-label="Kernel benchmark">
                <thead><tr>
                    <th scope="col">"kernel"</th><th scope="col">"CPU GFLOP/s"</th>
                    <th scope="col">"WebGPU GFLOP/s"</th><th scope="col">"max rel. error"</th><th scope="col">"note"</th>
                </tr></thead>
                <tbody>
                    {move || rows.get().into_iter().map(|r| view! {
                        <tr data-size=r.size>
                            <td>{r.name}</td>
                            <td data-col="cpu">{fmt(r.cpu_gflops, 2)}</td>
                            <td data-col="gpu">{fmt(r.gpu_gflops, 2)}</td>
                            <td data-col="err">{r.max_rel_err.map(|e| format!("{e:.1e}")).unwrap_or_else(|| "–".into())}</td>
                            <td>{r.note}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            <h2>"Every kernel against its CPU reference"</h2>
            <Prose html=prose!(r#"
                <p>With WebGPU, the benchmark also runs each of the engine's kernels once on random
                data of awkward shapes and compares it with the CPU reference: the largest
                difference, relative to the largest entry, must stay under the tolerance (0 where
                the result must be exact).</p>
            "#)/>
            <table class="numbers" aria-label="Kernel parity">
                <thead><tr><th scope="col">"kernel"</th><th scope="col">"max rel. error"</th><th scope="col">"tolerance"</th><th scope="col">"ok"</th></tr></thead>
                <tbody>
                    {move || parity.get().into_iter().map(|p| view! {
                        <tr data-ok=p.ok.to_string()>
                            <td>{p.name}</td>
                            <td>{format!("{:.1e}", p.max_rel_err)}</td>
                            <td>{format!("{:.0e}", p.tolerance)}</td>
                            <td>{if p.ok { "yes" } else { "NO" }}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </article>
    }
}
