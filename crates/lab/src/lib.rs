//! Glassbox's computations: plain Rust, no web dependency, deterministic given a seed.
//!
//! One module per topic; each opens with the mathematics it implements. The textbook (wasm) and the
//! `glassbox` command-line program both call these functions, and the figures module draws the same
//! figures on a canvas or into an SVG file.

pub mod alias_toy;
pub mod attention;
pub mod captioner;
pub mod data;
pub mod features;
pub mod figures;
pub mod inner_loop;
pub mod int8;
pub mod kernels;
pub mod kmeans;
pub mod linalg;
pub mod logistic;
pub mod maml;
pub mod min_norm;
pub mod network;
pub mod nn;
pub mod prune;
pub mod quant;
pub mod rng;
pub mod train;
pub mod vgg;
