//! Pruning the image lab's network (chapter 6).
//!
//! Fine-grained magnitude pruning of a tensor W (numel values) to sparsity s: the k = round(s numel)
//! weights of smallest |w| become zero (ties broken by position, so exactly k; round as the original
//! lab's Python rounds, half to even); the threshold is the
//! k-th smallest |w|. The mask m (true = kept) is re-applied after every fine-tuning step, W <- W ∘ m.
//! Prunable layers: the weights of each convolution (conv1..conv8) and of the linear layer (linear).
//! Model size: dense = 32 bits × every parameter (weights, batch-norm scales and shifts, the linear
//! bias); sparse = 32 bits × the nonzero parameters (the original lab's count; the positions of the
//! nonzeros, which real sparse storage also needs, are not counted).
//! Channel pruning with ratio r keeps the first round(C (1 - r)) output channels of every conv but the
//! last, with their batch-norm parameters, and the matching input channels of the next conv. Sorting
//! first orders each conv's output channels by importance, the L2 norm of the next conv's weights that
//! read the channel (W_next[:, c]), largest first; moving a channel together with its batch-norm
//! parameters and the next conv's input slice leaves the network's function unchanged.

use crate::vision::network::Network;
use serde::Serialize;

/// Keep-mask (true = kept) zeroing the round(s numel) smallest-magnitude values, and the threshold
/// (the largest pruned magnitude; 0 when nothing is pruned).
pub fn magnitude_mask(w: &[f32], sparsity: f64) -> Result<(Vec<bool>, f32), String> {
    if !(0.0..=1.0).contains(&sparsity) || sparsity.is_nan() {
        return Err(format!("sparsity must be in [0, 1] (got {sparsity})"));
    }
    let k = (sparsity * w.len() as f64).round_ties_even() as usize;
    let mut keep = vec![true; w.len()];
    if k == 0 {
        return Ok((keep, 0.0));
    }
    // The k smallest under the total order (|w|, position), found in linear time.
    let mut order: Vec<usize> = (0..w.len()).collect();
    let by = |a: &usize, b: &usize| w[*a].abs().total_cmp(&w[*b].abs()).then(a.cmp(b));
    let (smaller, kth, _) = order.select_nth_unstable_by(k - 1, by);
    let threshold = w[*kth].abs();
    keep[*kth] = false;
    for &i in smaller.iter() {
        keep[i] = false;
    }
    Ok((keep, threshold))
}

/// Names of the prunable layers: conv1.., then linear.
pub fn layer_names(net: &Network) -> Vec<String> {
    (1..=net.blocks.len())
        .map(|i| format!("conv{i}"))
        .chain(std::iter::once("linear".to_string()))
        .collect()
}

/// The weights of prunable layer `i` (conv blocks in order, then the linear layer).
pub fn weights(net: &Network, i: usize) -> &[f32] {
    match net.blocks.get(i) {
        Some(b) => &b.weight,
        None => &net.fc_weight,
    }
}

/// The weights of prunable layer `i`, to change them.
pub fn weights_mut(net: &mut Network, i: usize) -> &mut [f32] {
    match net.blocks.get_mut(i) {
        Some(b) => &mut b.weight,
        None => &mut net.fc_weight,
    }
}

/// One keep-mask per prunable layer (None: the layer is dense).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Masks(pub Vec<Option<Vec<bool>>>);

impl Masks {
    /// Zero every pruned weight (after an optimiser step, so pruned weights stay zero).
    pub fn apply(&self, net: &mut Network) {
        for (i, m) in self.0.iter().enumerate() {
            if let Some(m) = m {
                for (w, &k) in weights_mut(net, i).iter_mut().zip(m) {
                    if !k {
                        *w = 0.0;
                    }
                }
            }
        }
    }
}

/// Prune every layer to its sparsity (one per layer, `layer_names` order); returns the masks.
pub fn prune(net: &mut Network, sparsities: &[f64]) -> Result<Masks, String> {
    prune_layers(net, sparsities).map(|(m, _)| m)
}

/// `prune`, also returning each layer's threshold.
pub fn prune_layers(net: &mut Network, sparsities: &[f64]) -> Result<(Masks, Vec<f32>), String> {
    let layers = net.blocks.len() + 1;
    if sparsities.len() != layers {
        return Err(format!(
            "{} sparsities for {layers} layers",
            sparsities.len()
        ));
    }
    let mut masks = Vec::new();
    let mut thresholds = Vec::new();
    for (i, &s) in sparsities.iter().enumerate() {
        let (keep, t) = magnitude_mask(weights(net, i), s)?;
        thresholds.push(t);
        masks.push((s > 0.0).then_some(keep));
    }
    let masks = Masks(masks);
    masks.apply(net);
    Ok((masks, thresholds))
}

/// Target and achieved sparsity of one layer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerReport {
    pub name: String,
    pub target: f64,
    pub achieved: f64,
    pub zeros: usize,
    pub numel: usize,
}

pub fn report(net: &Network, targets: &[f64]) -> Vec<LayerReport> {
    layer_names(net)
        .into_iter()
        .enumerate()
        .map(|(i, name)| {
            let w = weights(net, i);
            let zeros = w.iter().filter(|&&v| v == 0.0).count();
            LayerReport {
                name,
                target: targets.get(i).copied().unwrap_or(0.0),
                achieved: zeros as f64 / w.len().max(1) as f64,
                zeros,
                numel: w.len(),
            }
        })
        .collect()
}

fn all_params(net: &Network) -> impl Iterator<Item = &f32> {
    net.blocks
        .iter()
        .flat_map(|b| b.weight.iter().chain(&b.gamma).chain(&b.beta))
        .chain(&net.fc_weight)
        .chain(&net.fc_bias)
}

/// Model size in bits: every parameter at 32 bits, or (sparse) only the nonzero ones.
pub fn model_bits(net: &Network, nonzero_only: bool) -> u64 {
    32 * all_params(net)
        .filter(|&&v| !nonzero_only || v != 0.0)
        .count() as u64
}

/// The lab's goal: at most 25% of the dense size, at most 0.5 points below dense accuracy.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Goal {
    pub size_ratio: f64,
    pub accuracy_drop_points: f64,
    pub size_ok: bool,
    pub accuracy_ok: bool,
}

pub const GOAL_SIZE_RATIO: f64 = 0.25;
pub const GOAL_ACCURACY_DROP: f64 = 0.5;

pub fn check_goal(dense_bits: u64, sparse_bits: u64, dense_acc: f64, acc: f64) -> Goal {
    let size_ratio = sparse_bits as f64 / dense_bits.max(1) as f64;
    let drop = 100.0 * (dense_acc - acc);
    Goal {
        size_ratio,
        accuracy_drop_points: drop,
        size_ok: size_ratio <= GOAL_SIZE_RATIO + 1e-12,
        accuracy_ok: drop <= GOAL_ACCURACY_DROP + 1e-9,
    }
}

/// Accuracy of one layer pruned alone at each sparsity of the scan.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerScan {
    pub name: String,
    pub sparsity: Vec<f64>,
    pub accuracy: Vec<f64>,
}

/// The sensitivity scan: the dense network, then each layer pruned alone at each sparsity. The
/// caller evaluates each network `next` hands out (on whatever path it likes) and `record`s its
/// accuracy, so the scan can run in slices, on the GPU, and be stopped.
pub struct Sensitivity {
    dense: Network,
    sparsities: Vec<f64>,
    recorded: usize,
    pub dense_accuracy: Option<f64>,
    pub layers: Vec<LayerScan>,
}

impl Sensitivity {
    pub fn new(dense: &Network, sparsities: &[f64]) -> Result<Self, String> {
        if sparsities.is_empty() {
            return Err("the scan needs at least one sparsity".into());
        }
        for &s in sparsities {
            magnitude_mask(&[], s)?;
        }
        let layers = layer_names(dense)
            .into_iter()
            .map(|name| LayerScan {
                name,
                sparsity: sparsities.to_vec(),
                accuracy: Vec::new(),
            })
            .collect();
        Ok(Sensitivity {
            dense: dense.clone(),
            sparsities: sparsities.to_vec(),
            recorded: 0,
            dense_accuracy: None,
            layers,
        })
    }

    /// Evaluations recorded so far, and in all (the dense one included).
    pub fn progress(&self) -> (usize, usize) {
        (self.recorded, 1 + self.layers.len() * self.sparsities.len())
    }

    pub fn done(&self) -> bool {
        let (a, b) = self.progress();
        a >= b
    }

    /// The network to evaluate next, or None when the scan is complete.
    pub fn next(&self) -> Option<Network> {
        if self.done() {
            return None;
        }
        let mut net = self.dense.clone();
        if self.recorded > 0 {
            let k = self.recorded - 1;
            let (layer, s) = (k / self.sparsities.len(), k % self.sparsities.len());
            let mut targets = vec![0.0; self.layers.len()];
            targets[layer] = self.sparsities[s];
            // The sparsities were checked in `new`.
            prune(&mut net, &targets).ok()?;
        }
        Some(net)
    }

    /// The accuracy of the network `next` handed out.
    pub fn record(&mut self, accuracy: f64) {
        if self.done() {
            return;
        }
        if self.recorded == 0 {
            self.dense_accuracy = Some(accuracy);
        } else {
            let layer = (self.recorded - 1) / self.sparsities.len();
            self.layers[layer].accuracy.push(accuracy);
        }
        self.recorded += 1;
    }

    /// The scan so far: the layers with at least one point, each cut to its recorded points.
    pub fn partial(&self) -> Vec<LayerScan> {
        self.layers
            .iter()
            .filter(|l| !l.accuracy.is_empty())
            .map(|l| LayerScan {
                name: l.name.clone(),
                sparsity: l.sparsity[..l.accuracy.len()].to_vec(),
                accuracy: l.accuracy.clone(),
            })
            .collect()
    }
}

/// A starting point for the goal from a scan: for each layer the largest scanned sparsity whose
/// accuracy stays within `tolerance` points of dense, with the tolerance raised in half-point steps
/// until the model is at most 25% of its dense size (or every layer is at its largest sparsity).
pub fn suggest(net: &Network, scan: &[LayerScan], dense_accuracy: f64) -> Vec<f64> {
    let dense_bits = model_bits(net, false);
    let nonzero_bits = model_bits(net, true);
    // Zeros of each layer after pruning to s: the round(s n) smallest magnitudes, which include any
    // weights that are zero already.
    let zeros_now: Vec<(usize, usize)> = (0..scan.len())
        .map(|i| {
            let w = weights(net, i);
            (w.len(), w.iter().filter(|&&v| v == 0.0).count())
        })
        .collect();
    let bits_at = |choice: &[f64]| {
        let removed: usize = choice
            .iter()
            .zip(&zeros_now)
            .map(|(&s, &(n, z0))| ((s * n as f64).round_ties_even() as usize).max(z0) - z0)
            .sum();
        nonzero_bits - 32 * removed as u64
    };
    let mut tolerance = 0.5;
    loop {
        let choice: Vec<f64> = scan
            .iter()
            .map(|l| {
                l.sparsity
                    .iter()
                    .zip(&l.accuracy)
                    .filter(|(_, &a)| 100.0 * (dense_accuracy - a) <= tolerance)
                    .map(|(&s, _)| s)
                    .fold(0.0, f64::max)
            })
            .collect();
        if bits_at(&choice) as f64 <= GOAL_SIZE_RATIO * dense_bits as f64 || tolerance > 100.0 {
            return choice;
        }
        tolerance += 0.5;
    }
}

/// Reorder every conv's output channels (but the last conv's) by importance, largest first; the
/// network computes the same function.
pub fn sort_channels(net: &Network) -> Network {
    let mut out = net.clone();
    for i in 0..out.blocks.len().saturating_sub(1) {
        let (c_out, next_in) = (out.blocks[i].c_out, out.blocks[i + 1].c_in);
        debug_assert_eq!(c_out, next_in);
        let next = &out.blocks[i + 1];
        let importance: Vec<f64> = (0..c_out)
            .map(|c| {
                (0..next.c_out)
                    .flat_map(|o| {
                        &next.weight[(o * next.c_in + c) * 9..(o * next.c_in + c + 1) * 9]
                    })
                    .map(|&w| (w as f64) * (w as f64))
                    .sum::<f64>()
                    .sqrt()
            })
            .collect();
        let order = crate::rank::largest_first(&importance);
        select_channels(&mut out, i, &order);
    }
    out
}

/// Keep (in this order) the output channels `keep` of conv block `i`, and the matching input
/// channels of block i + 1.
fn select_channels(net: &mut Network, i: usize, keep: &[usize]) {
    let b = &mut net.blocks[i];
    let per = b.c_in * 9;
    b.weight = keep
        .iter()
        .flat_map(|&c| b.weight[c * per..(c + 1) * per].to_vec())
        .collect();
    for v in [
        &mut b.gamma,
        &mut b.beta,
        &mut b.running_mean,
        &mut b.running_var,
    ] {
        *v = keep.iter().map(|&c| v[c]).collect();
    }
    b.c_out = keep.len();
    let n = &mut net.blocks[i + 1];
    let old_in = n.c_in;
    n.weight = (0..n.c_out)
        .flat_map(|o| {
            keep.iter()
                .flat_map(|&c| n.weight[(o * old_in + c) * 9..(o * old_in + c + 1) * 9].to_vec())
                .collect::<Vec<f32>>()
        })
        .collect();
    n.c_in = keep.len();
}

/// Uniform channel pruning with ratio r: keep the first round(C (1 - r)) output channels of every conv
/// but the last (sort first to keep the most important ones).
pub fn channel_prune(net: &Network, r: f64) -> Result<Network, String> {
    let arch = net.arch.channel_pruned(r)?;
    let widths: Vec<usize> = arch
        .stages
        .iter()
        .filter_map(|s| match s {
            crate::vision::vgg::Stage::Conv(c) => Some(*c),
            crate::vision::vgg::Stage::Pool => None,
        })
        .collect();
    let mut out = net.clone();
    let last = widths.len().saturating_sub(1);
    for (i, &w) in widths[..last].iter().enumerate() {
        let first: Vec<usize> = (0..w).collect();
        select_channels(&mut out, i, &first);
    }
    out.arch = arch;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use crate::vision::vgg::{Arch, Stage::*};

    fn tiny() -> Network {
        let arch = Arch {
            name: "tiny",
            in_channels: 2,
            size: 8,
            stages: vec![Conv(6), Pool, Conv(5), Conv(4), Pool],
            classes: 3,
        };
        let mut net = Network::new(&arch, 3);
        let mut rng = Rng::new(4);
        for b in net.blocks.iter_mut() {
            for v in b.gamma.iter_mut().chain(b.beta.iter_mut()) {
                *v += 0.3 * rng.normal() as f32;
            }
            for v in b.running_mean.iter_mut() {
                *v = 0.1 * rng.normal() as f32;
            }
        }
        net
    }

    #[test]
    fn the_rule_on_hand_made_tensors() {
        let w = [0.5f32, -0.1, 0.3, -0.7, 0.2];
        let (keep, t) = magnitude_mask(&w, 0.4).unwrap();
        assert_eq!(keep, vec![true, false, true, true, false]);
        assert_eq!(t, 0.2);
        // round(0.5 * 5) = 2 (half to even, as Python's round): 0.1 and 0.2 go.
        let (keep, t) = magnitude_mask(&w, 0.5).unwrap();
        assert_eq!(keep.iter().filter(|&&k| !k).count(), 2);
        assert_eq!(t, 0.2);
        // round(0.7 * 5) = round(3.5) = 4.
        assert_eq!(
            magnitude_mask(&w, 0.7)
                .unwrap()
                .0
                .iter()
                .filter(|&&k| !k)
                .count(),
            4
        );
        assert_eq!(magnitude_mask(&w, 0.0).unwrap(), (vec![true; 5], 0.0));
        assert_eq!(magnitude_mask(&w, 1.0).unwrap().0, vec![false; 5]);
        // Ties: exactly k zeros, the earlier position first.
        let ties = [1.0f32, -1.0, 1.0, 1.0];
        assert_eq!(
            magnitude_mask(&ties, 0.5).unwrap().0,
            vec![false, false, true, true]
        );
        assert!(magnitude_mask(&w, 1.5).is_err());
        assert!(magnitude_mask(&w, f64::NAN).is_err());
    }

    #[test]
    fn achieved_sparsity_is_the_target_within_one_element() {
        let mut rng = Rng::new(1);
        for numel in [1usize, 7, 100, 1001] {
            let w: Vec<f32> = (0..numel).map(|_| rng.normal() as f32).collect();
            for s in [0.0, 0.13, 0.4, 0.5, 0.77, 0.9, 1.0] {
                let (keep, _) = magnitude_mask(&w, s).unwrap();
                let zeros = keep.iter().filter(|&&k| !k).count();
                assert!((zeros as f64 - s * numel as f64).abs() <= 0.5 + 1e-9);
            }
        }
    }

    #[test]
    fn masks_stay_applied_through_fine_tuning() {
        let mut net = tiny();
        let targets = vec![0.5, 0.7, 0.3, 0.6];
        let masks = prune(&mut net, &targets).unwrap();
        let before = report(&net, &targets);
        let mut rng = Rng::new(9);
        let x: Vec<f32> = (0..4 * 2 * 64).map(|_| rng.normal() as f32).collect();
        let labels = vec![0u32, 1, 2, 1];
        let mut vel: Vec<Vec<f32>> = Vec::new();
        for _ in 0..5 {
            let (_, g) = net.loss_and_grads(&x, &labels, 4);
            let pg = net.params_and_grads(&g);
            if vel.is_empty() {
                vel = pg.iter().map(|(p, _)| vec![0.0; p.len()]).collect();
            }
            for ((p, g), v) in pg.into_iter().zip(vel.iter_mut()) {
                crate::vision::nn::sgd_momentum(p, g, v, 0.1, 0.9, 5e-4);
            }
            masks.apply(&mut net);
        }
        let after = report(&net, &targets);
        for (a, b) in before.iter().zip(&after) {
            assert_eq!(a.zeros, b.zeros, "{}", a.name);
            assert!((a.achieved - a.target).abs() <= 0.5 / a.numel as f64 + 1e-12);
        }
        assert!(model_bits(&net, true) < model_bits(&net, false));
    }

    #[test]
    fn sorting_channels_keeps_the_function() {
        let net = tiny();
        let sorted = sort_channels(&net);
        assert_ne!(sorted.blocks[0].weight, net.blocks[0].weight);
        let mut rng = Rng::new(2);
        let x: Vec<f32> = (0..3 * 2 * 64).map(|_| rng.normal() as f32).collect();
        let a = net.clone().forward(&x, 3, false);
        let b = sorted.clone().forward(&x, 3, false);
        for (u, v) in a.iter().zip(&b) {
            assert!((u - v).abs() < 1e-4, "{u} vs {v}");
        }
    }

    #[test]
    fn channel_pruning_matches_the_calculator_and_runs() {
        let net = tiny();
        for r in [0.0, 0.3, 0.5] {
            let pruned = channel_prune(&sort_channels(&net), r).unwrap();
            let stats = crate::vision::vgg::stats(&pruned.arch);
            assert_eq!(pruned.param_count() as u64, stats.params);
            let widths: Vec<usize> = pruned.blocks.iter().map(|b| b.c_out).collect();
            let want: Vec<usize> = stats.layers[..3].iter().map(|l| l.out).collect();
            assert_eq!(widths, want);
            let mut p = pruned.clone();
            let x = vec![0.1f32; 2 * 2 * 64];
            assert_eq!(p.forward(&x, 2, false).len(), 2 * 3);
        }
        let lab = Network::new(&Arch::lab(), 0);
        let pruned = channel_prune(&lab, 0.3).unwrap();
        let ratio = crate::vision::vgg::stats(&pruned.arch).macs as f64
            / crate::vision::vgg::stats(&lab.arch).macs as f64;
        assert!(ratio > 0.49 && ratio < 0.53, "{ratio}");
        assert!(channel_prune(&lab, 1.0).is_err());
    }

    #[test]
    fn the_goal_checker_accepts_and_rejects() {
        let g = check_goal(1000, 250, 0.92, 0.916);
        assert!(g.size_ok && g.accuracy_ok, "{g:?}");
        let g = check_goal(1000, 260, 0.92, 0.92);
        assert!(!g.size_ok && g.accuracy_ok);
        let g = check_goal(1000, 200, 0.92, 0.914);
        assert!(g.size_ok && !g.accuracy_ok);
    }

    #[test]
    fn the_scan_evaluates_every_layer_at_every_sparsity() {
        let net = tiny();
        let mut scan = Sensitivity::new(&net, &[0.5, 0.9]).unwrap();
        assert_eq!(scan.progress(), (0, 9));
        let mut seen = Vec::new();
        while let Some(n) = scan.next() {
            let zeros: Vec<usize> = report(&n, &[]).iter().map(|r| r.zeros).collect();
            seen.push(zeros.clone());
            scan.record(0.9 - 0.01 * seen.len() as f64);
            assert!(seen.len() < 10);
        }
        assert!(scan.done());
        // The dense network first, then one layer pruned at a time.
        assert!(seen[0].iter().all(|&z| z == 0));
        for (k, z) in seen[1..].iter().enumerate() {
            let pruned: Vec<usize> = (0..z.len()).filter(|&i| z[i] > 0).collect();
            assert_eq!(pruned, vec![k / 2], "{z:?}");
        }
        assert_eq!(scan.dense_accuracy, Some(0.89));
        assert!(scan.layers.iter().all(|l| l.accuracy.len() == 2));
        assert_eq!(scan.partial().len(), 4);
        let s = suggest(&net, &scan.layers, 0.89);
        assert_eq!(s.len(), 4);
        // The scan's fake accuracies fall with each point, so only the largest sparsities fit 25%.
        let mut pruned = net.clone();
        prune(&mut pruned, &s).unwrap();
        let ratio = model_bits(&pruned, true) as f64 / model_bits(&net, false) as f64;
        assert!(
            ratio <= GOAL_SIZE_RATIO || s.iter().all(|&x| x == 0.9),
            "{s:?}: {ratio}"
        );
        assert!(Sensitivity::new(&net, &[]).is_err());
        assert!(Sensitivity::new(&net, &[1.2]).is_err());
    }
}
