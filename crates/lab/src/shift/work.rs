//! The heavy computations of a fine-tuning run, as requests an engine answers: the tuner says what
//! it needs next (`Work`), the CPU (`compute`, here) or the GPU (`glassbox_gpu`) computes it, and
//! the tuner takes the `Answer`. Every request is evaluation-mode arithmetic on the network from
//! convolution `first` on (see `suffix`):
//!   Prefix: the activations entering convolution `first` of n images;
//!   Correct: how many of n images the network classifies right from those activations;
//!   Grads: sum over the n images of the cross-entropy, and the gradients of the tuned tensors of
//!   that chunk's share of a batch of `batch` images (dL/dz scaled by n / batch).

use super::blocks::Tensor;
use super::suffix::{accumulate_grads, correct_from, prefix};
use crate::vision::network::Network;

/// What the tuner needs computed next.
#[derive(Clone, Debug, PartialEq)]
pub enum Work {
    Prefix {
        first: usize,
        x: Vec<f32>,
        n: usize,
    },
    Correct {
        first: usize,
        act: Vec<f32>,
        labels: Vec<u32>,
    },
    Grads {
        first: usize,
        act: Vec<f32>,
        labels: Vec<u32>,
        batch: usize,
    },
}

/// The answer to a `Work`.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    Acts(Vec<f32>),
    Correct(usize),
    /// The loss summed over the chunk, and one gradient per tuned tensor (empty: zero).
    Grads(f64, Vec<Vec<f32>>),
}

impl Work {
    /// Images in the request.
    pub fn images(&self) -> usize {
        match self {
            Work::Prefix { n, .. } => *n,
            Work::Correct { labels, .. } | Work::Grads { labels, .. } => labels.len(),
        }
    }
}

/// Answer `work` on the CPU with `net`, for the tuned `tensors`.
pub fn compute(net: &mut Network, tensors: &[Tensor], work: &Work) -> Answer {
    match work {
        Work::Prefix { first, x, n } => Answer::Acts(prefix(net, *first, x, *n)),
        Work::Correct { first, act, labels } => {
            Answer::Correct(correct_from(net, *first, act, labels))
        }
        Work::Grads {
            first,
            act,
            labels,
            batch,
        } => {
            let mut grads = vec![Vec::new(); tensors.len()];
            let loss = accumulate_grads(net, *first, tensors, act, labels, *batch, &mut grads);
            Answer::Grads(loss, grads)
        }
    }
}
