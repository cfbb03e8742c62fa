//! k-means quantization on the page's engine: of one tensor, and of every layer of the network.

use super::state::LAYERS;
use crate::engine::Engine;
use crate::tasks::SLICE_MS;
use crate::web;
use glassbox_gpu::Ran;
use glassbox_lab::compress::prune;
use glassbox_lab::compress::quant::{Codebook, KMeansJob, KMeansQuantizer, KMEANS_ROUNDS};
use glassbox_lab::vision::network::Network;

/// k-means of one tensor on the engine: each assignment pass on the GPU kernel when the page has
/// one, else on the CPU in slices; the centroid updates on the CPU. None once `alive` turns false.
pub async fn run_kmeans(
    engine: Engine,
    mut job: KMeansJob,
    progress: impl Fn(f64),
    alive: impl Fn() -> bool,
) -> Option<(Codebook, Ran)> {
    engine.settled().await;
    let compute = engine.compute();
    let mut ran = Ran::Cpu;
    while !job.done() {
        if !alive() {
            return None;
        }
        let mut assigned = false;
        if compute.gpu().is_some() {
            if let Ok((a, r)) = compute.kmeans_assign(job.weights(), job.centroids()).await {
                ran = r;
                job.set_assignment(a);
                assigned = true;
            }
            engine.check_lost();
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

/// Every layer of `net` k-means-quantized on `bits` bits: the quantized network and its codebooks.
pub async fn quantize_network(
    engine: Engine,
    net: &Network,
    bits: u32,
    seed: u64,
    progress: impl Fn(f64) + Copy,
    alive: impl Fn() -> bool + Copy,
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
            job,
            move |f| progress((i as f64 + f) / LAYERS as f64),
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
