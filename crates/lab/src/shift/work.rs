//! The heavy computations of a fine-tuning run, as requests an engine answers: the tuner says what
//! it needs next (`Work`), the CPU (`compute`, here) or the GPU (`glassbox_gpu`) computes it, and
//! the tuner takes the `Answer`. Every request is evaluation-mode arithmetic on the network from
//! convolution `first` on (see `suffix`):
//!   Prefix: the activations entering convolution `first` of n images;
//!   Correct: how many of n images the network classifies right from those activations;
//!   Grads: sum over the n images of the cross-entropy, and the gradients of the tuned tensors of
//!   that chunk's share of a batch of `batch` images (dL/dz scaled by n / batch).
//!
//! A batch's gradient is added up in a fixed order, whoever computes it: the chunks of each group
//! of `GROUP` images are summed in order from zero, and the groups, in order, into the batch's
//! sum. So another thread can send back one sum per whole group (`compute_all`) instead of one
//! gradient per chunk, and the tuner's sums are the same to the bit.
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
        /// Where the chunk starts in its batch.
        pos: usize,
    },
}

/// Images per group of a batch's chunks (see the module's opening).
pub const GROUP: usize = 16;

/// Whether the chunk of images `pos..end` of a batch of `batch` ends its group: it reaches or
/// crosses a multiple of `GROUP`, or the batch's end.
pub fn ends_group(pos: usize, end: usize, batch: usize) -> bool {
    end >= batch || end / GROUP > pos / GROUP
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

    /// A gradient chunk that opens a group (whatever chunk came before it ended one).
    fn starts_group(&self) -> bool {
        matches!(self, Work::Grads { pos, .. } if pos % GROUP == 0)
    }

    /// A gradient chunk that ends its group.
    fn ends_group(&self) -> bool {
        match self {
            Work::Grads {
                pos, labels, batch, ..
            } => ends_group(*pos, pos + labels.len(), *batch),
            _ => false,
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
        Work::Grads { .. } => {
            let mut grads = vec![Vec::new(); tensors.len()];
            let loss = add_grads(net, tensors, work, &mut grads);
            Answer::Grads(loss, grads)
        }
    }
}

/// A gradient chunk's loss, its gradients added into `grads`.
fn add_grads(net: &mut Network, tensors: &[Tensor], work: &Work, grads: &mut [Vec<f32>]) -> f64 {
    match work {
        Work::Grads {
            first,
            act,
            labels,
            batch,
            ..
        } => accumulate_grads(net, *first, tensors, act, labels, *batch, grads),
        _ => 0.0,
    }
}

/// Answers to consecutive `works`, as the tuner takes them in order: each group of gradient
/// chunks wholly among them comes back as one sum, in its last chunk's answer (the others' are
/// empty: zero), so the tuner adds the same numbers in the same order as from `compute` alone.
pub fn compute_all(net: &mut Network, tensors: &[Tensor], works: &[Work]) -> Vec<Answer> {
    let mut out = Vec::with_capacity(works.len());
    let mut i = 0;
    while i < works.len() {
        let last = (i..works.len()).find(|&j| works[j].ends_group());
        match last {
            Some(last) if works[i].starts_group() => {
                let mut sum = vec![Vec::new(); tensors.len()];
                for (k, w) in works.iter().enumerate().take(last + 1).skip(i) {
                    let loss = add_grads(net, tensors, w, &mut sum);
                    let grads = if k == last {
                        std::mem::take(&mut sum)
                    } else {
                        vec![Vec::new(); tensors.len()]
                    };
                    out.push(Answer::Grads(loss, grads));
                }
                i = last + 1;
            }
            _ => {
                out.push(compute(net, tensors, &works[i]));
                i += 1;
            }
        }
    }
    out
}

/// `works` cut into at most about `jobs` runs of near-equal length for as many threads, gradient
/// chunks only where a group ends (so each run's groups come back as sums, `compute_all`).
pub fn split(works: &[Work], jobs: usize) -> Vec<&[Work]> {
    let per = works.len().div_ceil(jobs.max(1)).max(1);
    let mut out = Vec::with_capacity(jobs);
    let mut rest = works;
    while !rest.is_empty() {
        let cut = (per..rest.len())
            .find(|&i| !matches!(rest[i - 1], Work::Grads { .. }) || rest[i - 1].ends_group())
            .unwrap_or(rest.len());
        let (job, tail) = rest.split_at(cut);
        out.push(job);
        rest = tail;
    }
    out
}

/// Consecutive works of one kind (`Tuner::works_ahead`) as flat arrays, for another thread: each
/// work's image count, then their inputs (images or activations) and labels end to end.
#[derive(Clone, Debug, PartialEq)]
pub struct Packed {
    /// 0: prefixes, 1: counts, 2: gradients.
    pub kind: u32,
    pub first: usize,
    /// The batch a gradient chunk belongs to, and where the first chunk starts in it (0 for the
    /// other kinds).
    pub batch: usize,
    pub pos: usize,
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
            pos: 0,
            sizes: Vec::with_capacity(works.len()),
            data: Vec::new(),
            labels: Vec::new(),
        };
        for (i, w) in works.iter().enumerate() {
            let (kind, first, batch, pos, data, labels) = match w {
                Work::Prefix { first, x, .. } => (0, *first, 0, 0, x, &[][..]),
                Work::Correct { first, act, labels } => (1, *first, 0, 0, act, &labels[..]),
                Work::Grads {
                    first,
                    act,
                    labels,
                    batch,
                    pos,
                } => (2, *first, *batch, *pos, act, &labels[..]),
            };
            let at = p.pos + p.labels.len();
            if i == 0 {
                (p.kind, p.first, p.batch, p.pos) = (kind, first, batch, pos);
            } else if (kind, first, batch) != (p.kind, p.first, p.batch) {
                return Err("works of different kinds cannot be packed together".into());
            } else if kind == 2 && pos != at {
                return Err("gradient chunks that do not follow each other".into());
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
        if self.kind == 2 && self.pos + images > self.batch {
            return bad("gradient chunks past their batch");
        }
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
                    pos: self.pos + at,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(pos: usize, batch: usize) -> Work {
        Work::Grads {
            first: 0,
            act: vec![0.0; 4],
            labels: vec![0; 4.min(batch - pos)],
            batch,
            pos,
        }
    }

    fn lens(works: &[Work], jobs: usize) -> Vec<usize> {
        split(works, jobs).iter().map(|j| j.len()).collect()
    }

    #[test]
    fn jobs_of_gradient_chunks_end_where_groups_end() {
        // A batch of 64 in chunks of 4: groups of 4 chunks.
        let batch: Vec<Work> = (0..64).step_by(4).map(|p| chunk(p, 64)).collect();
        assert_eq!(lens(&batch, 1), vec![16]);
        assert_eq!(lens(&batch, 2), vec![8, 8]);
        assert_eq!(lens(&batch, 3), vec![8, 8]);
        assert_eq!(lens(&batch, 4), vec![4, 4, 4, 4]);
        assert_eq!(lens(&batch, 16), vec![4, 4, 4, 4]);
        // Starting mid-group: the first job finishes that group.
        assert_eq!(lens(&batch[2..], 4), vec![6, 4, 4]);
        // A short batch ends its last group.
        let short: Vec<Work> = (0..20).step_by(4).map(|p| chunk(p, 20)).collect();
        assert_eq!(lens(&short, 2), vec![4, 1]);
        // Other works are cut anywhere.
        let counts = vec![
            Work::Correct {
                first: 0,
                act: vec![],
                labels: vec![],
            };
            5
        ];
        assert_eq!(lens(&counts, 2), vec![3, 2]);
        assert_eq!(lens(&[], 3), Vec::<usize>::new());
    }
}
