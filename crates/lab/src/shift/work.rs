//! The heavy computations of a fine-tuning run, as requests an engine answers: the tuner says what
//! it needs next (`Work`), the CPU (`compute`, here) or the GPU (`glassbox_gpu`) computes it, and
//! the tuner takes the `Answer`. Every request is evaluation-mode arithmetic on the network from
//! convolution `first` on (see `suffix`):
//!   Prefix: the activations entering convolution `first` of n images;
//!   Correct: how many of n images the network classifies right from those activations;
//!   Grads: sum over the n images of the cross-entropy, and the gradients of the tuned tensors of
//!   that chunk's share of a batch of `batch` images (dL/dz scaled by n / batch).
//!
//! `Packed` and `PackedAnswers` carry consecutive works of one kind and their answers as flat
//! arrays, for the page's worker pool.

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

/// Consecutive works of one kind (`Tuner::works_ahead`) as flat arrays, for another thread: each
/// work's image count, then their inputs (images or activations) and labels end to end.
#[derive(Clone, Debug, PartialEq)]
pub struct Packed {
    /// 0: prefixes, 1: counts, 2: gradients.
    pub kind: u32,
    pub first: usize,
    /// The batch a gradient chunk belongs to (0 for the other kinds).
    pub batch: usize,
    pub sizes: Vec<u32>,
    pub data: Vec<f32>,
    pub labels: Vec<u32>,
}

impl Packed {
    pub fn new(works: &[Work]) -> Result<Packed, String> {
        let mut p = Packed {
            kind: 0,
            first: 0,
            batch: 0,
            sizes: Vec::with_capacity(works.len()),
            data: Vec::new(),
            labels: Vec::new(),
        };
        for (i, w) in works.iter().enumerate() {
            let (kind, first, batch, data, labels) = match w {
                Work::Prefix { first, x, .. } => (0, *first, 0, x, &[][..]),
                Work::Correct { first, act, labels } => (1, *first, 0, act, &labels[..]),
                Work::Grads {
                    first,
                    act,
                    labels,
                    batch,
                } => (2, *first, *batch, act, &labels[..]),
            };
            if i == 0 {
                (p.kind, p.first, p.batch) = (kind, first, batch);
            } else if (kind, first, batch) != (p.kind, p.first, p.batch) {
                return Err("works of different kinds cannot be packed together".into());
            }
            p.sizes.push(w.images() as u32);
            p.data.extend_from_slice(data);
            p.labels.extend_from_slice(labels);
        }
        Ok(p)
    }

    /// The works again, each input the same length per image.
    pub fn works(&self) -> Result<Vec<Work>, String> {
        let images: usize = self.sizes.iter().map(|&n| n as usize).sum();
        let bad = |why: &str| Err(format!("packed works: {why}"));
        if self.kind > 2 {
            return bad("an unknown kind");
        }
        if images == 0 || !self.data.len().is_multiple_of(images) {
            return bad("inputs that are not a whole number per image");
        }
        if self.labels.len() != if self.kind == 0 { 0 } else { images } {
            return bad("not one label per image");
        }
        let per = self.data.len() / images;
        let (mut at, mut out) = (0, Vec::with_capacity(self.sizes.len()));
        for &n in &self.sizes {
            let n = n as usize;
            let data = self.data[at * per..(at + n) * per].to_vec();
            let labels = || self.labels[at..at + n].to_vec();
            out.push(match self.kind {
                0 => Work::Prefix {
                    first: self.first,
                    x: data,
                    n,
                },
                1 => Work::Correct {
                    first: self.first,
                    act: data,
                    labels: labels(),
                },
                _ => Work::Grads {
                    first: self.first,
                    act: data,
                    labels: labels(),
                    batch: self.batch,
                },
            });
            at += n;
        }
        Ok(out)
    }
}

/// Answers to packed works as flat arrays: a number per work (a count, or a loss), the floats
/// (activations, or every tensor's gradient) end to end, and their lengths (per work, or per work
/// and tensor).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PackedAnswers {
    pub numbers: Vec<f64>,
    pub floats: Vec<f32>,
    pub lens: Vec<u32>,
}

impl PackedAnswers {
    pub fn new(answers: &[Answer]) -> PackedAnswers {
        let mut p = PackedAnswers::default();
        for a in answers {
            match a {
                Answer::Acts(v) => {
                    p.lens.push(v.len() as u32);
                    p.floats.extend_from_slice(v);
                }
                Answer::Correct(c) => p.numbers.push(*c as f64),
                Answer::Grads(loss, grads) => {
                    p.numbers.push(*loss);
                    for g in grads {
                        p.lens.push(g.len() as u32);
                        p.floats.extend_from_slice(g);
                    }
                }
            }
        }
        p
    }

    /// The answers to `works` packed works of `kind` with `tensors` tuned tensors.
    pub fn answers(&self, kind: u32, works: usize, tensors: usize) -> Result<Vec<Answer>, String> {
        let total: usize = self.lens.iter().map(|&l| l as usize).sum();
        let (numbers, lens) = match kind {
            0 => (0, works),
            1 => (works, 0),
            _ => (works, works * tensors),
        };
        if self.numbers.len() != numbers || self.lens.len() != lens || total != self.floats.len() {
            return Err(format!(
                "answers that do not fit {works} works: {} numbers, {} lengths, {} floats",
                self.numbers.len(),
                self.lens.len(),
                self.floats.len()
            ));
        }
        let (mut at, mut lens) = (0, self.lens.iter().map(|&l| l as usize));
        let mut take = |n: usize| -> Vec<f32> {
            at += n;
            self.floats[at - n..at].to_vec()
        };
        Ok((0..works)
            .map(|i| match kind {
                0 => Answer::Acts(take(lens.next().unwrap_or(0))),
                1 => Answer::Correct(self.numbers[i] as usize),
                _ => Answer::Grads(
                    self.numbers[i],
                    (0..tensors)
                        .map(|_| take(lens.next().unwrap_or(0)))
                        .collect(),
                ),
            })
            .collect())
    }
}
