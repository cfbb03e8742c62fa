//! Chapter 2: masked scaled dot-product attention (the reference of the GPU kernel), the captioning
//! decoder's mask, global against windowed attention and its cost, and a toy captioner.
//! Uses the foundations only.

mod attend;
pub mod captioner;

pub use attend::*;
