//! One API for the chapters: each operation runs on the GPU when one is in use and on the CPU
//! reference in `glassbox_lab` otherwise, with the same results (within the parity tolerances).
//! A GPU call that fails because the device was lost is finished on the CPU, and the GPU is dropped
//! for every later call; `lost()` then says why, so the page can tell the reader.

use crate::{Gpu, GpuError};
use glassbox_lab::attention::{self, AttentionShape};
use glassbox_lab::kernels::{self, MatmulShape};
use glassbox_lab::vision::nn::{self, ConvShape};
use std::cell::RefCell;
use std::rc::Rc;

/// Where an operation ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ran {
    Gpu,
    Cpu,
}

#[derive(Default)]
pub struct Compute {
    gpu: RefCell<Option<Rc<Gpu>>>,
    lost: RefCell<Option<String>>,
}

macro_rules! op {
    ($(#[$doc:meta])* $name:ident ( $($arg:ident : $ty:ty),* ) -> $out:ty, cpu = $cpu:expr) => {
        $(#[$doc])*
        pub async fn $name(&self, $($arg: $ty),*) -> Result<($out, Ran), String> {
            if let Some(gpu) = self.gpu() {
                match gpu.$name($($arg),*).await {
                    Ok(v) => return Ok((v, Ran::Gpu)),
                    Err(GpuError::DeviceLost(why)) => self.mark_lost(why),
                    Err(e) => return Err(e.to_string()),
                }
            }
            Ok(($cpu, Ran::Cpu))
        }
    };
}

impl Compute {
    /// Use `gpu` when given, else the CPU.
    pub fn new(gpu: Option<Gpu>) -> Compute {
        Compute {
            gpu: RefCell::new(gpu.map(Rc::new)),
            lost: RefCell::new(None),
        }
    }

    /// The GPU in use, if any (and not lost).
    pub fn gpu(&self) -> Option<Rc<Gpu>> {
        let g = self.gpu.borrow().clone()?;
        if let Some(why) = g.lost_reason() {
            self.mark_lost(why);
            return None;
        }
        Some(g)
    }

    /// Why the GPU was dropped, once it was lost.
    pub fn lost(&self) -> Option<String> {
        self.lost.borrow().clone()
    }

    fn mark_lost(&self, why: String) {
        self.gpu.borrow_mut().take();
        self.lost.borrow_mut().get_or_insert(why);
    }

    op!(/// C = op(A) op(B).
        matmul(a: &[f32], b: &[f32], s: MatmulShape) -> Vec<f32>, cpu = kernels::matmul(a, b, s)?);
    op!(/// 3 x 3, padding-1 convolution.
        conv2d(x: &[f32], w: &[f32], s: ConvShape) -> Vec<f32>,
        cpu = { let mut y = vec![0.0; s.y_len()]; nn::conv2d_forward_im2col(x, w, s, 0..s.n, &mut y); y });
    op!(conv2d_backward_input(dy: &[f32], w: &[f32], s: ConvShape) -> Vec<f32>, cpu = nn::conv2d_backward_input(dy, w, s));
    op!(conv2d_backward_weight(x: &[f32], dy: &[f32], s: ConvShape) -> Vec<f32>, cpu = nn::conv2d_backward_weight(x, dy, s));
    op!(relu(x: &[f32]) -> Vec<f32>, cpu = nn::relu(x));
    op!(maxpool2x2(x: &[f32], planes: usize, h: usize, w: usize) -> (Vec<f32>, Vec<u32>), cpu = nn::maxpool2x2(x, planes, h, w));
    op!(batchnorm_stats(x: &[f32], n: usize, c: usize, hw: usize) -> (Vec<f32>, Vec<f32>), cpu = nn::batchnorm_stats(x, n, c, hw));
    op!(softmax_cross_entropy(z: &[f32], labels: &[u32], k: usize) -> (f32, Vec<f32>), cpu = nn::softmax_cross_entropy(z, labels, k));
    op!(/// Masked attention: (weights, outputs).
        attention(q: &[f32], k: &[f32], v: &[f32], masked: &[bool], s: AttentionShape) -> (Vec<f32>, Vec<f32>),
        cpu = attention::attention(q, k, v, masked, s));
    op!(kmeans_assign(x: &[f32], c: &[f32]) -> Vec<u32>, cpu = glassbox_lab::compress::kmeans::assign(x, c));
    op!(kmeans_update(x: &[f32], a: &[u32], c: &[f32]) -> Vec<f32>, cpu = glassbox_lab::compress::kmeans::update(x, a, c));
}
