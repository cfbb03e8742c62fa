//! The committed Fashion-MNIST asset and trained weights under `assets/` (so the commands that use
//! them run from the repository root), and a network's accuracy on the asset's test images.

use glassbox_lab::vision::data::{self, FashionMnist, Split};
use glassbox_lab::vision::network::Network;

pub const ASSET: &str = "assets/fashion-mnist.gbds";
pub const WEIGHTS: &str = "assets/fashion-vgg.gbnet";

pub fn load_asset() -> Result<FashionMnist, String> {
    let bytes =
        std::fs::read(ASSET).map_err(|e| format!("{ASSET}: {e} (run from the repository root)"))?;
    data::decode(&bytes).map_err(|e| e.to_string())
}

/// A network saved by `glassbox image train`.
pub fn load_network(path: &str) -> Result<Network, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    Network::from_bytes(&bytes)
}

pub fn committed_network() -> Result<Network, String> {
    load_network(WEIGHTS)
}

/// Accuracy on the first `images` test images (all 10,000 by default).
pub fn accuracy(net: &Network, test: &Split, images: usize) -> f64 {
    let n = images.min(test.len());
    let p = glassbox_lab::vision::train::predict(&mut net.clone(), test, 0..n);
    p.iter()
        .enumerate()
        .filter(|&(i, &y)| test.labels[i] as u32 == y)
        .count() as f64
        / n.max(1) as f64
}
