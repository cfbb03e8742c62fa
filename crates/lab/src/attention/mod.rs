//! Chapter 2: masked scaled dot-product attention (the reference of the GPU kernel), the captioning
//! decoder's mask, global against windowed attention and its cost, and a toy captioner.
//! Uses the foundations only.

pub mod captioner;
mod cost;
mod dot_product;
mod mask;

pub use cost::*;
pub use dot_product::*;
pub use mask::*;
