//! Chapter 1: meta-learning feature weights for 1D functions (MAML), its evaluation sweep and the
//! small demonstrations around it (min-norm fits, the aliased-feature toy).
//! Uses the foundations only (`rng`, `linalg`); nothing here knows about images or networks.

pub mod alias_toy;
pub mod features;
pub mod inner_loop;
pub mod logistic;
mod meta;
pub mod min_norm;

pub use meta::*;
