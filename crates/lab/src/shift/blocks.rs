//! What surgical fine-tuning may change: the network's parameter tensors, grouped into the blocks
//! the chapter and the CLI name. For the image lab's eight convolutions, `block k` (k = 1..4) is
//! convolutions 2k-1 and 2k with their batch-norm scale and shift, `head` the linear layer, `all`
//! everything. `bn-stats` trains nothing (it re-estimates batch-norm's running statistics) and
//! `auto-rgn` trains every convolution weight and the head (batch-norm excluded) at per-tensor
//! learning rates. Parameters of a choice: the sum of its tensors' sizes; its share: that over
//! the network's trainable parameters.

use crate::vision::network::Network;

/// Convolutions per block.
pub const CONVS_PER_BLOCK: usize = 2;
/// Blocks of the image lab's network.
pub const BLOCKS: usize = 4;

/// One trainable tensor of the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tensor {
    ConvWeight(usize),
    Gamma(usize),
    Beta(usize),
    FcWeight,
    FcBias,
}

impl Tensor {
    /// Its name, as `conv3.weight`, `bn3.gamma`, `fc.weight` (convolutions numbered from 1).
    pub fn name(self) -> String {
        match self {
            Tensor::ConvWeight(i) => format!("conv{}.weight", i + 1),
            Tensor::Gamma(i) => format!("bn{}.gamma", i + 1),
            Tensor::Beta(i) => format!("bn{}.beta", i + 1),
            Tensor::FcWeight => "fc.weight".into(),
            Tensor::FcBias => "fc.bias".into(),
        }
    }

    /// A number for the tensor (for a message to another thread): the head's weight 0, its bias 1,
    /// then 2 + 3i, 3 + 3i, 4 + 3i for convolution i's weight, gamma and beta.
    pub fn code(self) -> u32 {
        match self {
            Tensor::FcWeight => 0,
            Tensor::FcBias => 1,
            Tensor::ConvWeight(i) => 2 + 3 * i as u32,
            Tensor::Gamma(i) => 3 + 3 * i as u32,
            Tensor::Beta(i) => 4 + 3 * i as u32,
        }
    }

    /// The tensor of `code` in a network of `convs` convolutions.
    pub fn from_code(code: u32, convs: usize) -> Result<Tensor, String> {
        let i = (code.saturating_sub(2) / 3) as usize;
        if code >= 2 && i >= convs {
            return Err(format!(
                "tensor {code}: the network has {convs} convolutions"
            ));
        }
        Ok(match code {
            0 => Tensor::FcWeight,
            1 => Tensor::FcBias,
            c if c % 3 == 2 => Tensor::ConvWeight(i),
            c if c % 3 == 0 => Tensor::Gamma(i),
            _ => Tensor::Beta(i),
        })
    }

    /// The convolution it belongs to (None: the head).
    pub fn conv(self) -> Option<usize> {
        match self {
            Tensor::ConvWeight(i) | Tensor::Gamma(i) | Tensor::Beta(i) => Some(i),
            Tensor::FcWeight | Tensor::FcBias => None,
        }
    }

    pub fn get(self, net: &Network) -> &[f32] {
        match self {
            Tensor::ConvWeight(i) => &net.blocks[i].weight,
            Tensor::Gamma(i) => &net.blocks[i].gamma,
            Tensor::Beta(i) => &net.blocks[i].beta,
            Tensor::FcWeight => &net.fc_weight,
            Tensor::FcBias => &net.fc_bias,
        }
    }

    pub fn get_mut(self, net: &mut Network) -> &mut Vec<f32> {
        match self {
            Tensor::ConvWeight(i) => &mut net.blocks[i].weight,
            Tensor::Gamma(i) => &mut net.blocks[i].gamma,
            Tensor::Beta(i) => &mut net.blocks[i].beta,
            Tensor::FcWeight => &mut net.fc_weight,
            Tensor::FcBias => &mut net.fc_bias,
        }
    }
}

/// The values of `tensors` in `net`, end to end: all another thread's copy of the network needs
/// after an optimiser step (nothing else changed while `Tuner::frozen_version` stands still).
pub fn gather(net: &Network, tensors: &[Tensor]) -> Vec<f32> {
    let mut out = Vec::with_capacity(tensors.iter().map(|t| t.get(net).len()).sum());
    for t in tensors {
        out.extend_from_slice(t.get(net));
    }
    out
}

/// Write `values` (in `gather`'s order) into `tensors` of `net`; Err when their lengths differ.
pub fn scatter(net: &mut Network, tensors: &[Tensor], values: &[f32]) -> Result<(), String> {
    let want: usize = tensors.iter().map(|t| t.get(net).len()).sum();
    if values.len() != want {
        return Err("the tuned tensors' values do not fit them".into());
    }
    let mut at = 0;
    for t in tensors {
        let dst = t.get_mut(net);
        let len = dst.len();
        dst.copy_from_slice(&values[at..at + len]);
        at += len;
    }
    Ok(())
}

/// A tuning choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tune {
    /// Block 0..4 (named block1..block4).
    Block(usize),
    Head,
    All,
    BnStats,
    AutoRgn,
}

impl Tune {
    /// Every choice, in the order the chapter's bar chart shows them.
    pub const ALL: [Tune; 8] = [
        Tune::Block(0),
        Tune::Block(1),
        Tune::Block(2),
        Tune::Block(3),
        Tune::Head,
        Tune::All,
        Tune::BnStats,
        Tune::AutoRgn,
    ];

    pub fn name(self) -> String {
        match self {
            Tune::Block(b) => format!("block{}", b + 1),
            Tune::Head => "head".into(),
            Tune::All => "all".into(),
            Tune::BnStats => "bn-stats".into(),
            Tune::AutoRgn => "auto-rgn".into(),
        }
    }

    pub fn parse(name: &str) -> Result<Tune, String> {
        Tune::ALL
            .into_iter()
            .find(|t| t.name() == name)
            .ok_or_else(|| {
                format!(
                    "unknown tuning choice '{name}' (one of {})",
                    Tune::ALL.map(|t| t.name()).join(", ")
                )
            })
    }

    /// Whether it trains parameters by gradient descent (all but `bn-stats`).
    pub fn trains(self) -> bool {
        self != Tune::BnStats
    }

    /// The tensors it trains, in network order.
    pub fn tensors(self, net: &Network) -> Vec<Tensor> {
        let convs = net.blocks.len();
        let conv = |i: usize| [Tensor::ConvWeight(i), Tensor::Gamma(i), Tensor::Beta(i)];
        let head = [Tensor::FcWeight, Tensor::FcBias];
        match self {
            Tune::Block(b) => (b * CONVS_PER_BLOCK..((b + 1) * CONVS_PER_BLOCK).min(convs))
                .flat_map(conv)
                .collect(),
            Tune::Head => head.to_vec(),
            Tune::All => (0..convs).flat_map(conv).chain(head).collect(),
            Tune::BnStats => Vec::new(),
            Tune::AutoRgn => (0..convs).map(Tensor::ConvWeight).chain(head).collect(),
        }
    }

    /// Parameters it trains.
    pub fn param_count(self, net: &Network) -> usize {
        self.tensors(net).iter().map(|t| t.get(net).len()).sum()
    }

    /// The first convolution whose input changes with training: the frozen prefix before it
    /// computes the same activations every epoch, so they are computed once. The head's choice
    /// freezes every convolution (`net.blocks.len()`); `bn-stats` re-estimates from the first.
    pub fn first_conv(self, net: &Network) -> usize {
        self.tensors(net)
            .iter()
            .map(|t| t.conv().unwrap_or(net.blocks.len()))
            .min()
            .unwrap_or(0)
    }
}

/// The network has the blocks this chapter names (four blocks of two convolutions).
pub fn check_blocks(net: &Network) -> Result<(), String> {
    if net.blocks.len() == BLOCKS * CONVS_PER_BLOCK {
        Ok(())
    } else {
        Err(format!(
            "surgical fine-tuning needs a network of {} convolutions in {BLOCKS} blocks (this one has {})",
            BLOCKS * CONVS_PER_BLOCK,
            net.blocks.len()
        ))
    }
}

/// Parameters of `a` and `b` that differ bit-wise (NaN compared by its bits too).
pub fn params_changed(a: &Network, b: &Network) -> usize {
    let all = Tune::All.tensors(a);
    all.iter()
        .map(|t| {
            t.get(a)
                .iter()
                .zip(t.get(b))
                .filter(|(x, y)| x.to_bits() != y.to_bits())
                .count()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vision::vgg::Arch;

    #[test]
    fn choices_cover_the_network_once() {
        let net = Network::new(&Arch::lab(), 1);
        check_blocks(&net).unwrap();
        let blocks: usize = (0..BLOCKS).map(|b| Tune::Block(b).param_count(&net)).sum();
        assert_eq!(
            blocks + Tune::Head.param_count(&net),
            Tune::All.param_count(&net)
        );
        assert_eq!(Tune::All.param_count(&net), net.param_count());
        assert_eq!(Tune::BnStats.param_count(&net), 0);
        // block1: conv 1x16 and 16x16 (3 x 3) plus two batch-norms of 16 channels.
        assert_eq!(
            Tune::Block(0).param_count(&net),
            16 * 9 + 16 * 16 * 9 + 4 * 16
        );
        assert_eq!(Tune::Head.param_count(&net), 128 * 10 + 10);
        assert_eq!(Tune::Block(2).first_conv(&net), 4);
        assert_eq!(Tune::Head.first_conv(&net), 8);
        assert_eq!(Tune::AutoRgn.first_conv(&net), 0);
        for t in Tune::ALL {
            assert_eq!(Tune::parse(&t.name()), Ok(t));
        }
        assert!(Tune::parse("block5").unwrap_err().contains("block1"));
    }

    #[test]
    fn params_changed_counts_bits() {
        let a = Network::new(&Arch::lab(), 1);
        let mut b = a.clone();
        assert_eq!(params_changed(&a, &b), 0);
        b.fc_bias[3] += 1.0;
        b.blocks[2].weight[0] = -b.blocks[2].weight[0];
        b.blocks[0].running_mean[0] = 9.0; // a statistic, not a parameter
        assert_eq!(params_changed(&a, &b), 2);
    }

    #[test]
    fn gathered_values_written_back_give_the_same_network() {
        let a = Network::new(&Arch::lab(), 1);
        let mut b = Network::new(&Arch::lab(), 2);
        let tensors = Tune::Block(3).tensors(&a);
        let values = gather(&a, &tensors);
        assert_eq!(values.len(), Tune::Block(3).param_count(&a));
        let before = b.clone();
        scatter(&mut b, &tensors, &values).unwrap();
        assert_eq!(gather(&b, &tensors), values);
        let others: Vec<Tensor> = Tune::All
            .tensors(&a)
            .into_iter()
            .filter(|t| !tensors.contains(t))
            .collect();
        assert_eq!(gather(&b, &others), gather(&before, &others));
        assert!(params_changed(&before, &b) > values.len() / 2);
        assert!(scatter(&mut b, &tensors, &values[1..])
            .unwrap_err()
            .contains("do not fit"));
    }
}
