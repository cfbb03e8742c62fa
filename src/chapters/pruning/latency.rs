//! Measuring one image's forward pass through several networks, on the CPU (the page's thread) and
//! on WebGPU (timed where it runs: the device worker, where the page has one).

use crate::engine::Engine;
use crate::vision::data::Loaded;
use crate::web;
use glassbox_lab::vision::network::Network;

/// Median milliseconds of one image's forward pass of each network (dense, fine-grained pruned,
/// channel-pruned), on the CPU and, when the page uses it, on WebGPU (one submission per image).
#[derive(Clone, Debug, PartialEq)]
pub struct Latency {
    pub cpu: Vec<f64>,
    pub gpu: Option<Vec<f64>>,
}

fn median(v: Vec<f64>) -> f64 {
    let v = glassbox_lab::rank::ascending(&v);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

pub async fn measure_latency(l: &Loaded, nets: &[&Network], engine: Engine) -> Latency {
    let (x, _) = glassbox_lab::vision::train::batch(&l.data.test, &[0], None);
    // Each sample times 5 passes (about 10 ms, well above the browser's timer resolution); the
    // networks take turns, so a slow moment of the machine does not fall on one of them only.
    let mut copies: Vec<Network> = nets.iter().map(|n| (*n).clone()).collect();
    let mut samples = vec![Vec::new(); nets.len()];
    for _ in 0..15 {
        for (k, net) in copies.iter_mut().enumerate() {
            let t = web::now_ms();
            for _ in 0..5 {
                std::hint::black_box(net.forward(&x, 1, false));
            }
            samples[k].push((web::now_ms() - t) / 5.0);
        }
        web::sleep(0).await;
    }
    let cpu = samples.into_iter().map(median).collect();
    engine.settled().await;
    let gpu_times = match engine.on_webgpu() {
        true => crate::workers::device_ops::latencies(engine, nets, &x).await,
        false => None,
    };
    Latency {
        cpu,
        gpu: gpu_times,
    }
}
