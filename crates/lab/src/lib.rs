//! Glassbox's computations: plain Rust, no web dependency, deterministic given a seed.
//!
//! Grouped by topic, one folder each (`maml`, `vision`, `compress`, `attention`, `shift`, `lm`,
//! `figures`), on top of the shared foundations at this level (`rng`, `linalg`, `kernels`, `decimal`). Each
//! module opens with the mathematics it implements. The textbook (wasm) and the `glassbox`
//! command-line program both call these functions, and `figures` draws the same figures on a canvas
//! or into an SVG file.

pub mod assets;
pub mod decimal;
/// The CPU matrix multiply (crates/kernels, kept at full optimisation in the browser's build).
pub use glassbox_kernels as kernels;
/// Chapter 1 and the foundations under it (crates/maml, kept at opt-level "s" in the browser's
/// build while the rest of the lab is built at "z").
pub use glassbox_maml::{linalg, maml, rank, rng};
pub mod stats;

pub mod attention;
pub mod compress;
pub mod figures;
pub mod lm;
pub mod shift;
pub mod vision;
