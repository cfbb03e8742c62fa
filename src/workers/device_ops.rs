//! The engine's single operations on the device worker's GPU (chapter 2's attention, Under the
//! hood's kernels and self-test, chapter 6's latency), so that the page's thread neither records
//! nor waits for them; the page's own device (or the CPU) answers when there is no device worker.
//! Timings are taken where the kernel runs (the worker's clock), over the same calls the page's
//! own path makes, with the same functions (`time_attention`, `time_matmul`, `time_conv`,
//! `median_logits_ms`).
//!
//! - `gpu-attention`: masked attention, weights a = softmax(q k^T / sqrt(d)) (masked entries
//!   excluded) and outputs a v (`Gpu::attention`); with `sample_ms`, only the mean milliseconds of
//!   one attention (upload, kernel, read-back) repeated until that much time was spent.
//! - `gpu-kernel`: Under the hood's C = A B (`matmul`, m x k by k x n) or 3 x 3 convolution
//!   (`conv2d`): the first result (which also compiles and uploads) and the seconds of one timed
//!   run after it.
//! - `gpu-selftest`: every kernel against its CPU reference (`selftest::run`).
//! - `gpu-latency`: the median milliseconds of one image's eval-mode forward pass under a network
//!   (`GpuNetwork::logits`, one submission per pass).
//! - `gpu-lose`: destroy the worker's device (Under the hood's "Simulate losing the GPU device").
//!
//! One CPU job lives here too, beside its GPU twin: `attention-time` (on a compute worker), the
//! mean milliseconds of one whole unmasked attention on the CPU reference (`AttentionJob`, the
//! page's CPU path without its slices), repeated until `sample_ms` were spent.

use super::device::{checked, device};
use super::job::{floats, get, network_bytes, number, typed, Fields};
use crate::engine::Engine;
use glassbox_gpu::selftest::{self, Parity};
use glassbox_gpu::{Gpu, GpuError, GpuNetwork, MatmulShape, Ran};
use glassbox_lab::attention::{AttentionJob, AttentionShape};
use glassbox_lab::vision::network::Network;
use glassbox_lab::vision::nn::ConvShape;
use js_sys::{Array, Float64Array, Object, Uint32Array, Uint8Array};
use wasm_bindgen::prelude::*;

pub const ATTENTION: &str = "gpu-attention";
pub const KERNEL: &str = "gpu-kernel";
pub const SELFTEST: &str = "gpu-selftest";
pub const LATENCY: &str = "gpu-latency";
pub const LOSE: &str = "gpu-lose";

/// Milliseconds on the calling thread's clock (a worker has no window: its global scope's).
pub fn now_ms() -> f64 {
    let global = js_sys::global();
    js_sys::Reflect::get(&global, &"performance".into())
        .ok()
        .filter(|p| !p.is_undefined())
        .and_then(|p| {
            let now = js_sys::Reflect::get(&p, &"now".into()).ok()?;
            now.dyn_into::<js_sys::Function>()
                .ok()?
                .call0(&p)
                .ok()?
                .as_f64()
        })
        .unwrap_or_else(js_sys::Date::now)
}

/// Mean milliseconds of one attention without a mask (upload, kernel, read-back), repeated until
/// `sample_ms` were spent.
pub async fn time_attention(
    gpu: &Gpu,
    (q, k, v): (&[f32], &[f32], &[f32]),
    s: AttentionShape,
    sample_ms: f64,
) -> Result<f64, GpuError> {
    let mask = vec![false; s.t_q * s.t_k];
    let (mut spent, mut runs) = (0.0, 0usize);
    while runs == 0 || spent < sample_ms {
        let t = now_ms();
        gpu.attention(q, k, v, &mask, s).await?;
        spent += now_ms() - t;
        runs += 1;
    }
    Ok(spent / runs as f64)
}

/// C = A B once (compiling and uploading), then timed over a few dispatches read back once: (C,
/// seconds of one product).
pub async fn time_matmul(
    gpu: &Gpu,
    a: &[f32],
    b: &[f32],
    s: MatmulShape,
) -> Result<(Vec<f32>, f64), GpuError> {
    let c = gpu.matmul(a, b, s).await?;
    let reps = (2e9 / s.flops()).clamp(1.0, 20.0) as usize;
    let t0 = now_ms();
    gpu.matmul_repeated(a, b, s, reps).await?;
    Ok((c, (now_ms() - t0) / 1000.0 / reps as f64))
}

/// The convolution once (compiling and uploading), then timed once: (y, seconds).
pub async fn time_conv(
    gpu: &Gpu,
    x: &[f32],
    w: &[f32],
    s: ConvShape,
) -> Result<(Vec<f32>, f64), GpuError> {
    let y = gpu.conv2d(x, w, s).await?;
    let t0 = now_ms();
    gpu.conv2d(x, w, s).await?;
    Ok((y, (now_ms() - t0) / 1000.0))
}

/// The median milliseconds of 11 forward passes of one image `x` under `net` on `gpu`.
pub async fn median_logits_ms(gpu: &Gpu, net: &GpuNetwork, x: &[f32]) -> Result<f64, GpuError> {
    let mut times = Vec::with_capacity(11);
    for _ in 0..11 {
        let t = now_ms();
        net.logits(gpu, x, 1).await?;
        times.push(now_ms() - t);
    }
    let times = glassbox_lab::rank::ascending(&times);
    Ok(times[times.len() / 2])
}

/// `message`'s job on the device worker when the page computes on WebGPU and has that worker: its
/// reply read by `read`. None: the page computes it itself (no device worker; or it failed, and a
/// lost device switched the page to the CPU with its notice).
pub async fn on_worker<T>(
    engine: Engine,
    message: &dyn Fn(usize) -> Result<(Object, Array), JsValue>,
    read: &dyn Fn(&JsValue) -> Result<T, String>,
) -> Option<T> {
    let device = engine
        .on_webgpu()
        .then(super::pool::device_pool)
        .flatten()?;
    match device.one(message).await.and_then(|r| read(&r)) {
        Ok(v) => Some(v),
        Err(why) => {
            engine.report_device_worker(&why);
            None
        }
    }
}

fn shape_of(msg: &JsValue) -> Result<Vec<usize>, JsValue> {
    let s = typed::<Uint32Array>(msg, "shape").ok_or("a job without a shape")?;
    Ok(s.to_vec().into_iter().map(|v| v as usize).collect())
}

fn new_message(kind: &str, shape: &[usize]) -> Fields {
    let shape: Vec<u32> = shape.iter().map(|&v| v as u32).collect();
    Fields::job(kind).u32s("shape", &shape)
}

fn floats_of(reply: &JsValue, key: &str) -> Result<Vec<f32>, String> {
    floats(reply, key)
        .ok()
        .flatten()
        .ok_or_else(|| format!("the device worker's reply had no '{key}'"))
}

fn number_of(reply: &JsValue, key: &str) -> Result<f64, String> {
    number(reply, key).ok_or_else(|| format!("the device worker's reply had no '{key}'"))
}

/// An attention job's message (`kind`: this file's on the device, or the CPU's timing job):
/// `sample_ms` asks for its time only.
fn attention_message(
    kind: &str,
    (q, k, v): (&[f32], &[f32], &[f32]),
    masked: Option<&[bool]>,
    s: AttentionShape,
    sample_ms: Option<f64>,
) -> Result<(Object, Array), JsValue> {
    let mut msg = new_message(kind, &[s.batch, s.t_q, s.t_k, s.d, s.d_v])
        .f32s("q", q)
        .f32s("k", k)
        .f32s("v", v);
    if let Some(m) = masked {
        let bytes: Vec<u8> = m.iter().map(|&b| b as u8).collect();
        msg = msg.bytes("masked", &bytes);
    }
    if let Some(ms) = sample_ms {
        msg = msg.num("sample_ms", ms);
    }
    msg.message()
}

/// Masked attention on the engine: the device worker's GPU, else the page's own or the CPU.
pub async fn attention(
    engine: Engine,
    (q, k, v): (&[f32], &[f32], &[f32]),
    masked: &[bool],
    s: AttentionShape,
) -> Result<((Vec<f32>, Vec<f32>), Ran), String> {
    let message = |_| attention_message(ATTENTION, (q, k, v), Some(masked), s, None);
    let read = |r: &JsValue| Ok((floats_of(r, "weights")?, floats_of(r, "outputs")?));
    if let Some(wo) = on_worker(engine, &message, &read).await {
        return Ok((wo, Ran::Gpu));
    }
    let r = engine.compute().await.attention(q, k, v, masked, s).await;
    engine.check_lost();
    r
}

/// Mean milliseconds of one unmasked attention on WebGPU (the device worker's, else the page's):
/// Ok(None) when the page has no device left (lost: the engine told the reader).
pub async fn timed_attention(
    engine: Engine,
    qkv: (&[f32], &[f32], &[f32]),
    s: AttentionShape,
    sample_ms: f64,
) -> Result<Option<f64>, String> {
    let message = |_| attention_message(ATTENTION, qkv, None, s, Some(sample_ms));
    if let Some(ms) = on_worker(engine, &message, &|r| number_of(r, "ms")).await {
        return Ok(Some(ms));
    }
    let Some(gpu) = engine.page_gpu().await else {
        return Ok(None);
    };
    match time_attention(&gpu, qkv, s, sample_ms).await {
        Ok(ms) => Ok(Some(ms)),
        Err(e @ GpuError::DeviceLost(_)) => {
            engine.report(&e);
            Ok(None)
        }
        Err(e) => Err(e.to_string()),
    }
}

/// An attention job's shape and its queries, keys and values.
type AttentionInputs = (AttentionShape, Vec<f32>, Vec<f32>, Vec<f32>);

fn attention_inputs(msg: &JsValue) -> Result<AttentionInputs, JsValue> {
    let [batch, t_q, t_k, d, d_v] = shape_of(msg)?[..] else {
        return Err("an attention job's shape is not 5 numbers".into());
    };
    let s = AttentionShape {
        batch,
        t_q,
        t_k,
        d,
        d_v,
    };
    let input = |key| floats(msg, key)?.ok_or_else(|| JsValue::from(format!("no '{key}'")));
    Ok((s, input("q")?, input("k")?, input("v")?))
}

/// The kind of the CPU's attention timing job (a compute worker, one thread).
pub const CPU_ATTENTION_TIME: &str = "attention-time";

/// Mean milliseconds of one unmasked attention on the CPU reference, timed on one of the compute
/// workers (one thread, no slices): None without the workers (given up: the page then times it in
/// slices).
pub async fn cpu_timed_attention(
    qkv: (&[f32], &[f32], &[f32]),
    s: AttentionShape,
    sample_ms: f64,
) -> Option<f64> {
    let pool = super::pool::pool()?;
    let message = |_| attention_message(CPU_ATTENTION_TIME, qkv, None, s, Some(sample_ms));
    let reply = pool.one(&message).await.ok()?;
    number_of(&reply, "ms").ok()
}

/// Whole attentions (`AttentionJob`, the page's CPU path) repeated until `sample_ms` were spent:
/// the mean milliseconds of one.
pub(super) fn cpu_attention_time_job(msg: &JsValue, reply: &Object) -> Result<Array, JsValue> {
    let (s, q, k, v) = attention_inputs(msg)?;
    let sample_ms = number(msg, "sample_ms").ok_or("a timing job without 'sample_ms'")?;
    let mut job = AttentionJob::new(q, k, v, vec![false; s.t_q * s.t_k], s);
    let (mut spent, mut runs) = (0.0, 0usize);
    while runs == 0 || spent < sample_ms {
        let t = now_ms();
        job.restart();
        while !job.done() {
            job.advance(1e15);
        }
        spent += now_ms() - t;
        runs += 1;
    }
    Fields::on(reply).num("ms", spent / runs as f64).reply()
}

pub(super) async fn attention_job(msg: &JsValue, reply: &Object) -> Result<Array, JsValue> {
    let gpu = device().await?;
    let (s, q, k, v) = attention_inputs(msg)?;
    let (t_q, t_k) = (s.t_q, s.t_k);
    if let Some(sample_ms) = number(msg, "sample_ms") {
        let ms = checked(&gpu, time_attention(&gpu, (&q, &k, &v), s, sample_ms).await).await?;
        return Fields::on(reply).num("ms", ms).reply();
    }
    let masked: Vec<bool> = match typed::<Uint8Array>(msg, "masked") {
        Some(m) => m.to_vec().into_iter().map(|b| b != 0).collect(),
        None => vec![false; t_q * t_k],
    };
    let (w, o) = checked(&gpu, gpu.attention(&q, &k, &v, &masked, s).await).await?;
    Fields::on(reply)
        .f32s("weights", &w)
        .f32s("outputs", &o)
        .reply()
}

/// The page has no WebGPU device left (it was lost: the engine has told the reader).
fn gone() -> GpuError {
    GpuError::Failed("no WebGPU device is left".into())
}

/// Under the hood's kernels, on WebGPU: a product or a convolution.
#[derive(Clone, Copy)]
pub enum Kernel {
    Matmul(MatmulShape),
    Conv(ConvShape),
}

/// A kernel's first result and the seconds of one timed run on WebGPU (the device worker's, else
/// the page's own device): Err with the device's error (already reported to the engine).
pub async fn timed_kernel(
    engine: Engine,
    kernel: Kernel,
    a: &[f32],
    b: &[f32],
) -> Result<(Vec<f32>, f64), GpuError> {
    let message = |_| {
        let msg = match kernel {
            Kernel::Matmul(s) => new_message(KERNEL, &[0, s.m, s.k, s.n]),
            Kernel::Conv(s) => new_message(KERNEL, &[1, s.n, s.c_in, s.c_out, s.h, s.w]),
        };
        msg.f32s("a", a).f32s("b", b).message()
    };
    let read = |r: &JsValue| Ok((floats_of(r, "out")?, number_of(r, "secs")?));
    if let Some(timed) = on_worker(engine, &message, &read).await {
        return Ok(timed);
    }
    let gpu = engine.page_gpu().await.ok_or_else(gone)?;
    let r = match kernel {
        Kernel::Matmul(s) => time_matmul(&gpu, a, b, s).await,
        Kernel::Conv(s) => time_conv(&gpu, a, b, s).await,
    };
    if let Err(e) = &r {
        engine.report(e);
    }
    r
}

pub(super) async fn kernel_job(msg: &JsValue, reply: &Object) -> Result<Array, JsValue> {
    let gpu = device().await?;
    let input = |key| floats(msg, key)?.ok_or_else(|| JsValue::from(format!("no '{key}'")));
    let (a, b) = (input("a")?, input("b")?);
    let r = match shape_of(msg)?[..] {
        [0, m, k, n] => time_matmul(&gpu, &a, &b, MatmulShape::new(m, k, n)).await,
        [1, n, c_in, c_out, h, w] => {
            let s = ConvShape {
                n,
                c_in,
                c_out,
                h,
                w,
            };
            time_conv(&gpu, &a, &b, s).await
        }
        _ => return Err("a kernel job's shape names no kernel".into()),
    };
    let (out, secs) = checked(&gpu, r).await?;
    Fields::on(reply)
        .num("secs", secs)
        .f32s("out", &out)
        .reply()
}

/// Every kernel against its CPU reference on WebGPU (the device worker's, else the page's).
pub async fn self_test(engine: Engine) -> Result<Vec<Parity>, GpuError> {
    let message = |_| new_message(SELFTEST, &[]).message();
    let read = |r: &JsValue| {
        let names = get(r, "names").map_err(|_| "no names".to_string())?;
        let numbers = typed::<Float64Array>(r, "numbers").ok_or("no numbers")?;
        let (names, numbers) = (Array::from(&names), numbers.to_vec());
        Ok((0..names.length() as usize)
            .zip(numbers.chunks_exact(4))
            .map(|(i, n)| Parity {
                name: names.get(i as u32).as_string().unwrap_or_default(),
                max_abs_err: n[0],
                max_rel_err: n[1],
                tolerance: n[2],
                ok: n[3] != 0.0,
            })
            .collect())
    };
    if let Some(p) = on_worker(engine, &message, &read).await {
        return Ok(p);
    }
    let gpu = engine.page_gpu().await.ok_or_else(gone)?;
    let r = selftest::run(&gpu).await;
    if let Err(e) = &r {
        engine.report(e);
    }
    r
}

pub(super) async fn selftest_job(reply: &Object) -> Result<Array, JsValue> {
    let gpu = device().await?;
    let parity = checked(&gpu, selftest::run(&gpu).await).await?;
    let names = Array::new();
    let mut numbers = Vec::with_capacity(4 * parity.len());
    for p in &parity {
        names.push(&p.name.as_str().into());
        let ok = if p.ok { 1.0 } else { 0.0 };
        numbers.extend([p.max_abs_err, p.max_rel_err, p.tolerance, ok]);
    }
    Fields::on(reply)
        .value("names", &names)
        .f64s("numbers", &numbers)
        .reply()
}

/// The median milliseconds of one image's forward pass under each network on WebGPU (the device
/// worker's, else the page's own device); None when the device failed (a loss is reported).
pub async fn latencies(engine: Engine, nets: &[&Network], x: &[f32]) -> Option<Vec<f64>> {
    let mut out = Vec::with_capacity(nets.len());
    for net in nets {
        let message = |_| {
            new_message(LATENCY, &[])
                .bytes("net", &net.to_bytes())
                .f32s("x", x)
                .message()
        };
        if let Some(ms) = on_worker(engine, &message, &|r| number_of(r, "ms")).await {
            out.push(ms);
            continue;
        }
        let gpu = engine.page_gpu().await?;
        let timed = match gpu.upload(net) {
            Ok(resident) => median_logits_ms(&gpu, &resident, x).await,
            Err(e) => Err(e),
        };
        match timed {
            Ok(ms) => out.push(ms),
            Err(e) => {
                engine.report(&e);
                return None;
            }
        }
    }
    Some(out)
}

pub(super) async fn latency_job(msg: &JsValue, reply: &Object) -> Result<Array, JsValue> {
    let gpu = device().await?;
    let (bytes, _) = network_bytes(msg)?;
    let net = Network::from_bytes(&bytes.to_vec())?;
    let x = floats(msg, "x")?.ok_or("a latency job without an image")?;
    let resident = gpu.upload(&net).map_err(super::device::gpu_error)?;
    let ms = checked(&gpu, median_logits_ms(&gpu, &resident, &x).await).await?;
    Fields::on(reply).num("ms", ms).reply()
}

/// Destroy the device worker's device (if it has one) and the page's own: the next computation
/// finds them lost and finishes on the CPU.
pub async fn simulate_loss(engine: Engine) {
    if let Some(gpu) = engine.page_device() {
        gpu.simulate_device_loss();
    }
    if let Some(device) = super::pool::device_pool() {
        let _ = device.one(&|_| new_message(LOSE, &[]).message()).await;
    }
}

pub(super) fn lose_job() -> Result<Array, JsValue> {
    if let Some(gpu) = super::device::started() {
        gpu.simulate_device_loss();
    }
    Ok(Array::new())
}
