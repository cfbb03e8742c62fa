//! Fine-grained magnitude pruning of every layer at once: the pruned network, its masks, and what
//! pruning did to each layer and to the model's size.

use super::state::LAYERS;
use glassbox_lab::compress::prune::{self, LayerReport};
use glassbox_lab::vision::network::Network;

/// The pruned network and what pruning did, for the current sparsities.
#[derive(Clone, PartialEq)]
pub struct Pruned {
    pub net: Network,
    pub masks: prune::Masks,
    pub report: Vec<LayerReport>,
    pub thresholds: Vec<f32>,
    pub dense_bits: u64,
    pub sparse_bits: u64,
}

pub fn prune_all(dense: &Network, sparsity: &[f64; LAYERS]) -> Result<Pruned, String> {
    let mut net = dense.clone();
    let (masks, thresholds) = prune::prune_layers(&mut net, sparsity)?;
    Ok(Pruned {
        masks,
        report: prune::report(&net, sparsity),
        dense_bits: prune::model_bits(dense, false),
        sparse_bits: prune::model_bits(&net, true),
        thresholds,
        net,
    })
}
