//! k-means quantization on the page's engine: of one tensor, and of every layer of the network;
//! the assignment passes on WebGPU (the device worker's device where the page has one), else on
//! the worker pool, else on the page's thread in slices.

use super::state::LAYERS;
use crate::engine::Engine;
use crate::tasks::SLICE_MS;
use crate::web;
use crate::workers::pool::{self, Pool};
use crate::workers::{device_ops, job};
use glassbox_gpu::Ran;
use glassbox_lab::compress::prune;
use glassbox_lab::compress::quant::{Codebook, KMeansJob, KMeansQuantizer, KMEANS_ROUNDS};
use glassbox_lab::vision::network::Network;
use wasm_bindgen::JsValue;

/// k-means of one tensor on the engine: each assignment pass on the GPU kernel when the page has
/// one, else (with `workers`) split over the worker pool, else on the CPU in slices; the centroid
/// updates on the CPU. None once `alive` turns false.
pub async fn run_kmeans(
    engine: Engine,
    workers: bool,
    mut job: KMeansJob,
    progress: &dyn Fn(f64),
    alive: &dyn Fn() -> bool,
) -> Option<(Codebook, Ran)> {
    engine.settled().await;
    let mut ran = Ran::Cpu;
    while !job.done() {
        if !alive() {
            return None;
        }
        let mut assigned = false;
        // On the device worker's device where the page has one (the page's own otherwise).
        let message = |_| job::assign_message(true, job.weights(), job.centroids());
        let whole = |a: Vec<u32>| match a.len() == job.weights().len() {
            true => Ok(a),
            false => Err(format!("the device worker assigned {} weights", a.len())),
        };
        let read = |r: &JsValue| job::assign_of(r).and_then(whole);
        if let Some(a) = device_ops::on_worker(engine, &message, &read).await {
            (ran, assigned) = (Ran::Gpu, true);
            job.set_assignment(a);
        }
        // Asked each pass: a device lost on the way leaves the page on the CPU.
        let page_device = match !assigned {
            true => engine.page_gpu().await,
            false => None,
        };
        if let Some(gpu) = page_device {
            match gpu.kmeans_assign(job.weights(), job.centroids()).await {
                Ok(a) => {
                    (ran, assigned) = (Ran::Gpu, true);
                    job.set_assignment(a);
                }
                Err(e) => engine.report(&e),
            }
        }
        if let Some(pool) = pool::pool().filter(|_| workers && !assigned) {
            match assign_on_workers(&pool, job.weights(), job.centroids(), alive).await {
                Ok(Some(a)) => {
                    (ran, assigned) = (Ran::Cpu, true);
                    job.set_assignment(a);
                }
                Ok(None) => return None,
                // Given up (the page says so): this thread assigns.
                Err(_) => {}
            }
        }
        if !assigned {
            let deadline = web::now_ms() + SLICE_MS;
            while !job.done() && web::now_ms() < deadline {
                job.advance(1 << 18);
            }
        }
        let (done, most) = job.progress();
        progress(done as f64 / most.max(1) as f64);
        web::sleep(0).await;
    }
    Some((job.codebook(), ran))
}

/// One assignment pass over the worker pool, the weights split into a run per worker, the runs'
/// assignments concatenated in order (each weight's nearest centroid does not depend on the
/// split). Ok(None) once `alive` turns false; Err when the pool was given up.
async fn assign_on_workers(
    pool: &Pool,
    x: &[f32],
    centroids: &[f32],
    alive: &dyn Fn() -> bool,
) -> Result<Option<Vec<u32>>, String> {
    let per = x.len().div_ceil(pool.workers()).max(1);
    let runs: Vec<&[f32]> = x.chunks(per).collect();
    let message = |i: usize| job::assign_message(false, runs[i], centroids);
    let Some(replies) = pool.run(runs.len(), &message, &|_| {}, &|| alive()).await? else {
        return Ok(None);
    };
    let mut out = Vec::with_capacity(x.len());
    for r in &replies {
        out.extend(job::assign_of(r)?);
    }
    if out.len() != x.len() {
        return Err(format!(
            "the workers assigned {} of {} weights",
            out.len(),
            x.len()
        ));
    }
    Ok(Some(out))
}

/// Every layer of `net` k-means-quantized on `bits` bits (as `run_kmeans`, `workers` saying
/// whether the pool may help): the quantized network and its codebooks.
pub async fn quantize_network(
    engine: Engine,
    workers: bool,
    net: &Network,
    bits: u32,
    seed: u64,
    progress: &dyn Fn(f64),
    alive: &dyn Fn() -> bool,
) -> Option<Result<(Network, KMeansQuantizer, Ran), String>> {
    let mut q = net.clone();
    let mut codebooks = Vec::with_capacity(LAYERS);
    let mut ran = Ran::Cpu;
    for i in 0..LAYERS {
        let job = match KMeansJob::new(
            prune::weights(net, i).to_vec(),
            bits,
            seed + i as u64,
            KMEANS_ROUNDS,
        ) {
            Ok(j) => j,
            Err(e) => return Some(Err(e)),
        };
        let (cb, r) = run_kmeans(
            engine,
            workers,
            job,
            &move |f| progress((i as f64 + f) / LAYERS as f64),
            alive,
        )
        .await?;
        ran = r;
        cb.apply(prune::weights_mut(&mut q, i));
        codebooks.push(cb);
    }
    Some(Ok((q, KMeansQuantizer { bits, codebooks }, ran)))
}

pub fn where_ran(r: Ran) -> &'static str {
    match r {
        Ran::Gpu => "WebGPU",
        Ran::Cpu => "CPU",
    }
}
