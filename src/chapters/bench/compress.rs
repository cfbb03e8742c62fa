//! Benchmarks: the work chapters 6 and 7 repeat on the trained network, on the CPU (WebAssembly:
//! the page's thread alone, and the worker pool), and again on WebGPU when the browser offers it,
//! with the ratios: classifying 1000 test images
//! (every pruning scan point and every quantized network is evaluated so), and 4-bit k-means
//! codebooks for all nine layers (chapter 7's whole-network quantization, `KMEANS_ROUNDS` rounds
//! per layer).
//! Classification times are computation only (on the page's thread the sum of its slices; on the
//! workers from the first job sent to the last answer), and the workers' logits are compared with
//! the single thread's bit for bit, as are the workers' codebooks; the codebooks' times include the
//! page's yields between rounds. On WebGPU the classification runs on the device worker's GPU (the
//! row's time) and again on the page's own (the verdict's), and the two logits are compared bit
//! for bit.

use crate::chapters::quantization::quantize_network;
use crate::engine::Engine;
use crate::var::Var;
use crate::vision::data::{
    classify, ensure_loaded, logits_on_page, logits_on_page_gpu, logits_on_workers, Jobs, LoadState,
};
use crate::web;
use crate::workers::pool;
use glassbox_gpu::Ran;
use glassbox_lab::compress::quant::{KMeansQuantizer, KMEANS_ROUNDS};
use leptos::prelude::*;

/// Test images classified.
const IMAGES: usize = 1000;
/// Bits of the k-means codebooks.
const BITS: u32 = 4;

/// A row: its key on the page, what it times, milliseconds on the page's thread, on the workers
/// (None: not split into jobs yet) and on WebGPU (and whether all of it ran there).
#[derive(Clone, Debug, PartialEq)]
struct Row {
    key: &'static str,
    what: &'static str,
    cpu_ms: Option<f64>,
    workers_ms: Option<f64>,
    webgpu: Option<(f64, bool)>,
}

const ROWS: [(&str, &str); 2] = [
    (
        "classify",
        "Classify 1000 test images (the trained network)",
    ),
    ("kmeans4", "4-bit k-means codebooks for all nine layers"),
];

fn record(rows: Var<Vec<Row>>, i: usize, on_gpu: bool, ms: f64, ran_there: bool) {
    rows.update(|r| {
        if on_gpu {
            r[i].webgpu = Some((ms, ran_there));
        } else {
            r[i].cpu_ms = Some(ms);
        }
    });
}

/// Classify on the page's thread, then on the workers: the workers' time and whether their logits
/// equal the single thread's bit for bit.
async fn classify_cpu(
    l: &crate::vision::data::Loaded,
    count: usize,
    rows: Var<Vec<Row>>,
    status: Var<String>,
    same: Var<String>,
) -> Result<(), String> {
    let stopped = || "The benchmark stopped.".to_string();
    status.set(format!(
        "Classifying {count} test images on this page's thread…"
    ));
    let mut net = l.pretrained.clone();
    let (single, secs) = logits_on_page(&l.data.test, &mut net, count, &|_| {}, &|| true)
        .await
        .ok_or_else(stopped)?;
    record(rows, 0, false, 1000.0 * secs, true);
    let Some(pool) = pool::pool() else {
        same.set("No worker pool on this page: the page's thread did the work.".into());
        return Ok(());
    };
    let n = crate::workers::named(pool.workers());
    status.set(format!("Classifying {count} test images on {n}…"));
    let t0 = web::now_ms();
    match logits_on_workers(
        &pool,
        Jobs::Cpu,
        &l.data.test,
        &l.pretrained,
        count,
        &|_| {},
        &|| true,
    )
    .await
    {
        Err(e) => same.set(format!("The workers failed ({e}).")),
        Ok(None) => return Err(stopped()),
        Ok(Some(z)) => {
            let ms = web::now_ms() - t0;
            rows.update(|r| r[0].workers_ms = Some(ms));
            let differ = differing(&z, &single);
            same.set(if differ == 0 {
                format!(
                    "The logits from {n} ({}) equal the single thread's bit for bit.",
                    z.len()
                )
            } else {
                format!(
                    "The workers' logits differ from the single thread's in {differ} of {}.",
                    single.len()
                )
            });
        }
    }
    Ok(())
}

async fn measure(
    engine: Engine,
    cpu: Engine,
    rows: Var<Vec<Row>>,
    status: Var<String>,
    same: Var<String>,
    load: Var<LoadState>,
) -> Result<(), String> {
    let Some(l) = ensure_loaded(load).await else {
        return Err(load.get_untracked().message().unwrap_or_default());
    };
    engine.settled().await;
    let gpu = engine.on_webgpu();
    let count = IMAGES.min(l.data.test.len());
    for (backend, on_gpu) in [(cpu, false), (engine, true)]
        .into_iter()
        .take(1 + gpu as usize)
    {
        let on = if on_gpu { "WebGPU" } else { "the CPU" };
        if on_gpu && pool::device_pool().is_some() {
            classify_gpu(&l, backend, count, rows, status, same).await?;
        } else if on_gpu {
            status.set(format!("Classifying {count} test images on {on}…"));
            let Some((_, secs, ran)) = classify(
                &l.data,
                l.pretrained.clone(),
                count,
                backend,
                &|_| {},
                &|| true,
            )
            .await
            else {
                return Err("The benchmark stopped.".into());
            };
            record(rows, 0, on_gpu, 1000.0 * secs, ran == "WebGPU");
        } else {
            classify_cpu(&l, count, rows, status, same).await?;
        }
        status.set(format!("Finding {BITS}-bit codebooks on {on}…"));
        let t0 = web::now_ms();
        match quantize_network(backend, false, &l.pretrained, BITS, 0, &|_| {}, &|| true).await {
            None => return Err("The benchmark stopped.".into()),
            Some(Err(e)) => return Err(e),
            Some(Ok((_, q, ran))) => {
                record(rows, 1, on_gpu, web::now_ms() - t0, ran == Ran::Gpu);
                if !on_gpu {
                    codebooks_on_workers(&l, backend, &q, rows, same).await?;
                }
            }
        }
    }
    Ok(())
}

/// Classify on the device worker's GPU (the row's time), then on the page's own GPU: whether the
/// logits agree bit for bit, and the page's time, said after the CPU's verdicts.
async fn classify_gpu(
    l: &crate::vision::data::Loaded,
    engine: Engine,
    count: usize,
    rows: Var<Vec<Row>>,
    status: Var<String>,
    same: Var<String>,
) -> Result<(), String> {
    let Some(device) = pool::device_pool() else {
        return Ok(());
    };
    let say = |verdict: String| say_after(same, &verdict);
    status.set(format!(
        "Classifying {count} test images on the WebGPU worker…"
    ));
    let (test, net) = (&l.data.test, &l.pretrained);
    let t0 = web::now_ms();
    let worker =
        match logits_on_workers(&device, Jobs::Device, test, net, count, &|_| {}, &|| true).await {
            Ok(Some(z)) => z,
            Ok(None) => return Err("The benchmark stopped.".into()),
            Err(e) => {
                engine.report_device_worker(&e);
                say(format!("The WebGPU worker failed ({e})."));
                return Ok(());
            }
        };
    record(rows, 0, true, web::now_ms() - t0, true);
    let Some(gpu) = engine.page_gpu().await else {
        say("This page could not open a WebGPU device of its own to compare.".into());
        return Ok(());
    };
    status.set(format!(
        "Classifying {count} test images on this page's WebGPU device…"
    ));
    let t0 = web::now_ms();
    let page = match logits_on_page_gpu(&gpu, test, net, count, &|_| {}, &|| true).await {
        Ok(Some(z)) => z,
        Ok(None) => return Err("The benchmark stopped.".into()),
        Err(e) => {
            engine.report(&e);
            say(format!("The page's WebGPU path failed ({e})."));
            return Ok(());
        }
    };
    let ms = web::now_ms() - t0;
    say(match differing(&worker, &page) {
        0 => format!(
            "The WebGPU worker's logits ({}) equal the page's own WebGPU path's bit for bit (the \
             page's device: {ms:.0} ms).",
            page.len()
        ),
        n => format!(
            "The WebGPU worker's logits differ from the page's WebGPU path's in {n} of {}.",
            page.len()
        ),
    });
    Ok(())
}

/// How many of `a` and `b` differ in their bits (a missing entry counts).
fn differing(a: &[f32], b: &[f32]) -> usize {
    a.iter()
        .zip(b)
        .filter(|(x, y)| x.to_bits() != y.to_bits())
        .count()
        + a.len().abs_diff(b.len())
}

/// The codebooks again with the assignment passes on the workers: their time, and whether they
/// equal the single thread's `single` (said after the classification's verdict).
async fn codebooks_on_workers(
    l: &crate::vision::data::Loaded,
    cpu: Engine,
    single: &KMeansQuantizer,
    rows: Var<Vec<Row>>,
    same: Var<String>,
) -> Result<(), String> {
    let Some(pool) = pool::pool() else {
        return Ok(());
    };
    let t0 = web::now_ms();
    let q = match quantize_network(cpu, true, &l.pretrained, BITS, 0, &|_| {}, &|| true).await {
        None => return Err("The benchmark stopped.".into()),
        Some(r) => r?.1,
    };
    // Given up on the way: the page's thread finished them, so there is no workers' time.
    if pool::pool().is_some() {
        let ms = web::now_ms() - t0;
        rows.update(|r| r[1].workers_ms = Some(ms));
    }
    let n = crate::workers::named(pool.workers());
    let verdict = if &q == single {
        format!("The codebooks from {n} equal the single thread's.")
    } else {
        format!("The codebooks from {n} differ from the single thread's.")
    };
    say_after(same, &verdict);
    Ok(())
}

/// Add a verdict after those said so far.
fn say_after(same: Var<String>, verdict: &str) {
    same.update(|s| *s = format!("{s} {verdict}").trim().to_string());
}

#[component]
pub fn CompressBench() -> impl IntoView {
    let rows = Var::new(Vec::<Row>::new());
    let status = Var::new(String::new());
    let same = Var::new(String::new());
    let running = Var::new(false);
    let load = Var::new(LoadState::Idle);
    let engine = crate::ui::context::<Engine>();
    // The CPU path even where the page has WebGPU.
    let cpu = Engine::new(true);
    let start = move |_| {
        running.set(true);
        same.set(String::new());
        rows.set(
            ROWS.iter()
                .map(|&(key, what)| Row {
                    key,
                    what,
                    cpu_ms: None,
                    workers_ms: None,
                    webgpu: None,
                })
                .collect(),
        );
        crate::tasks::spawn_page_task(async move {
            let result = measure(engine, cpu, rows, status, same, load).await;
            status.set(match result {
                Ok(()) => "Done.".into(),
                Err(e) => e,
            });
            running.set(false);
        });
    };
    let ms = |v: Option<f64>| {
        v.map(|ms| format!("{ms:.0} ms"))
            .unwrap_or_else(|| "–".into())
    };
    let workers = crate::workers::named(pool::size());
    view! {
        <h2>"Pruning and quantization (chapters 6 and 7)"</h2>
        <p>
            {format!("What the two chapters repeat on the trained network: classifying {IMAGES} test images \
             (each point of the pruning scan and each quantized network is evaluated so) and finding \
             {BITS}-bit k-means codebooks for all nine layers ({KMEANS_ROUNDS} rounds each). On the CPU \
             (WebAssembly): on this page's thread alone, then classification split into jobs of 100 \
             images over the page's background workers ({workers}: one per core but one, at least 1, at most 4) \
             and each k-means assignment pass split between them (the centroid updates on the page); and again \
             on WebGPU when this browser offers it (200 images per GPU call; the k-means assignment \
             passes on the device, the centroid updates on the CPU).")}
        </p>
        <button type="button" class="primary" on:click=start disabled=move || running.get()>"Time classification and codebooks"</button>
        <p role="status" aria-live="polite" class="status" data-out="compress-bench-status">{move || status.get()}</p>
        <div class="table-scroll">
        <table class="numbers" aria-label="Pruning and quantization benchmark">
            <thead><tr><th scope="col">"Work"</th><th scope="col">"CPU, one thread"</th><th scope="col">{format!("CPU, {workers}")}</th><th scope="col">"WebGPU"</th><th scope="col">"One thread ÷ workers"</th><th scope="col">"One thread ÷ WebGPU"</th></tr></thead>
            <tbody>
                {move || rows.get().into_iter().map(|r| view! {
                    <tr data-bench=r.key>
                        <th scope="row">{r.what}</th>
                        <td data-col="cpu">{ms(r.cpu_ms)}</td>
                        <td data-col="workers">{ms(r.workers_ms)}</td>
                        <td data-col="webgpu">{match r.webgpu {
                            Some((t, true)) => format!("{t:.0} ms"),
                            Some((t, false)) => format!("{t:.0} ms (fell back to the CPU)"),
                            None => "–".into(),
                        }}</td>
                        <td data-col="workers-ratio">{match (r.cpu_ms, r.workers_ms) {
                            (Some(c), Some(w)) if w > 0.0 => format!("{:.2}", c / w),
                            _ => "–".into(),
                        }}</td>
                        <td data-col="ratio">{match (r.cpu_ms, r.webgpu) {
                            (Some(c), Some((g, _))) if g > 0.0 => format!("{:.2}", c / g),
                            _ => "–".into(),
                        }}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        </div>
        <p class="status" data-out="compress-bench-same">{move || same.get()}</p>
    }
}
