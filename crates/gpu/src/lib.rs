//! Glassbox's compute engine: WGSL kernels run through wgpu, on WebGPU in the browser and on Vulkan
//! natively (any GPU, or Mesa's lavapipe on a CPU). Every kernel has a CPU reference in
//! `glassbox_lab::kernels` and a parity test.
//!
//! All reads from the GPU are asynchronous: a result is copied to a staging buffer and mapped with
//! `map_async`, awaited through a channel (natively the device is polled until the copy is done;
//! in the browser the event loop does it). A figure reads back once, not per element.

mod compute;
mod context;
pub mod lm;
mod lm_grad;
mod lm_ops;
mod matmul;
mod network;
mod ops;
pub mod selftest;
mod suffix;
mod tuning;

pub use compute::{Compute, Ran};
pub use context::{webgpu_offered, AdapterSummary, Gpu, GpuError, GpuUnavailable};
pub use glassbox_lab::kernels::MatmulShape;
pub use lm::{GpuLm, GpuLmSession};
pub use network::GpuNetwork;
pub use ops::KernelSources;
pub use tuning::{answer_work, GpuTuning, GPU_CHUNK};
