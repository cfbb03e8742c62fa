//! The VGG pattern of the pruning and quantization labs, and its calculator.
//!
//! A stack of 3 x 3 convolutions (no bias), each followed by batch-norm and ReLU, with 2 x 2
//! max-pooling (M) between groups, then the mean over space and one linear layer. Parameters:
//! conv C_in C_out 9, batch-norm 2 C_out (scale and shift), linear C_last K + K. Multiply-adds per
//! image count convolutions (C_in C_out 9 H W at the layer's resolution) and the linear layer
//! (C_last K) only. Uniform channel pruning with ratio r keeps round(C (1 - r)) output channels of
//! every convolution but the last (and the matching input channels of the next), rounding half to
//! even as the original lab's Python does.

use serde::Serialize;

/// One entry of the channel list: a convolution with this many output channels, or a max-pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Conv(usize),
    Pool,
}

/// A VGG-style network.
#[derive(Clone, Debug, PartialEq)]
pub struct Arch {
    pub name: &'static str,
    pub in_channels: usize,
    pub size: usize,
    pub stages: Vec<Stage>,
    pub classes: usize,
}

use Stage::{Conv, Pool};

impl Arch {
    /// The original lab's CIFAR-10 network: 9,228,362 parameters, about 606 M multiply-adds.
    pub fn cifar_vgg() -> Arch {
        Arch {
            name: "cifar-vgg",
            in_channels: 3,
            size: 32,
            stages: vec![
                Conv(64),
                Conv(128),
                Pool,
                Conv(256),
                Conv(256),
                Pool,
                Conv(512),
                Conv(512),
                Pool,
                Conv(512),
                Conv(512),
                Pool,
            ],
            classes: 10,
        }
    }

    /// Glassbox's network for Fashion-MNIST (1 x 32 x 32, padded from 28 x 28): the same pattern with
    /// widths scaled down so it trains natively in minutes and evaluates 10,000 images in the browser
    /// in about a second: 295,002 parameters, about 13.1 M multiply-adds per image.
    pub fn lab() -> Arch {
        Arch {
            name: "lab",
            in_channels: 1,
            size: 32,
            stages: vec![
                Conv(16),
                Conv(16),
                Pool,
                Conv(32),
                Conv(32),
                Pool,
                Conv(64),
                Conv(64),
                Pool,
                Conv(128),
                Conv(128),
                Pool,
            ],
            classes: 10,
        }
    }

    pub fn by_name(name: &str) -> Result<Arch, String> {
        match name {
            "lab" => Ok(Arch::lab()),
            "cifar-vgg" => Ok(Arch::cifar_vgg()),
            other => Err(format!("unknown architecture '{other}' (lab or cifar-vgg)")),
        }
    }

    /// Channel widths after uniform pruning with ratio r (every conv but the last).
    pub fn channel_pruned(&self, r: f64) -> Result<Arch, String> {
        if !(0.0..1.0).contains(&r) {
            return Err(format!("channel pruning ratio must be in [0, 1) (got {r})"));
        }
        let last = self.stages.iter().rposition(|s| matches!(s, Conv(_)));
        let stages = self
            .stages
            .iter()
            .enumerate()
            .map(|(i, s)| match s {
                Conv(c) if Some(i) != last => {
                    Conv(((*c as f64) * (1.0 - r)).round_ties_even().max(1.0) as usize)
                }
                other => *other,
            })
            .collect();
        Ok(Arch {
            stages,
            ..self.clone()
        })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerStats {
    pub name: String,
    #[serde(rename = "in")]
    pub input: usize,
    pub out: usize,
    pub params: u64,
    pub macs: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ArchStats {
    pub layers: Vec<LayerStats>,
    pub params: u64,
    pub size_mib: f64,
    pub macs: u64,
}

/// The layer table: conv layers (weights + batch-norm) and the linear layer.
pub fn stats(arch: &Arch) -> ArchStats {
    let mut layers = Vec::new();
    let (mut c, mut hw) = (arch.in_channels, arch.size);
    let mut k = 0;
    for s in &arch.stages {
        match *s {
            Conv(out) => {
                k += 1;
                let weights = (c * out * 9) as u64;
                layers.push(LayerStats {
                    name: format!("conv{k}"),
                    input: c,
                    out,
                    params: weights + 2 * out as u64,
                    macs: weights * (hw * hw) as u64,
                });
                c = out;
            }
            Pool => hw /= 2,
        }
    }
    layers.push(LayerStats {
        name: "linear".into(),
        input: c,
        out: arch.classes,
        params: (c * arch.classes + arch.classes) as u64,
        macs: (c * arch.classes) as u64,
    });
    let params = layers.iter().map(|l| l.params).sum::<u64>();
    ArchStats {
        macs: layers.iter().map(|l| l.macs).sum(),
        size_mib: params as f64 * 4.0 / (1024.0 * 1024.0),
        params,
        layers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reproduces_the_original_labs_totals() {
        let s = stats(&Arch::cifar_vgg());
        assert_eq!(s.params, 9_228_362);
        assert!((s.size_mib - 35.20).abs() < 0.005, "{}", s.size_mib);
        // Convolutions 605,749,248 and the linear layer 5,120: "about 606 million".
        assert_eq!(s.macs, 605_749_248 + 5_120);
        assert_eq!(s.layers.len(), 9);
    }

    #[test]
    fn the_lab_network_is_small() {
        let s = stats(&Arch::lab());
        assert_eq!(s.params, 295_002);
        assert_eq!(s.macs, 13_123_584 + 1_280);
    }

    #[test]
    fn channel_pruning_keeps_about_half_the_compute_at_30_percent() {
        let dense = stats(&Arch::cifar_vgg());
        let pruned = stats(&Arch::cifar_vgg().channel_pruned(0.3).unwrap());
        assert_eq!(pruned.layers[0].out, 45);
        assert_eq!(pruned.layers[7].out, 512);
        assert_eq!(pruned.layers[7].input, 358);
        let ratio = pruned.macs as f64 / dense.macs as f64;
        // Inner layers shrink by 0.7^2 = 0.49; the first (input 3) and last (output 512) by 0.7.
        assert!(ratio > 0.49 && ratio < 0.53, "{ratio}");
        assert!(Arch::cifar_vgg().channel_pruned(1.0).is_err());
    }
}
