//! Chapter 1: meta-learning feature weights for 1D functions (MAML), its evaluation sweep and the
//! small demonstrations around it (min-norm fits, the aliased-feature toy).
//! Uses the foundations only (`rng`, `linalg`); nothing here knows about images or networks.

pub mod alias_toy;
mod evaluation;
pub mod features;
mod handoff;
pub mod inner_loop;
pub mod logistic;
pub mod min_norm;
mod outer_loop;
mod settings;

pub use evaluation::*;
pub use handoff::*;
pub use outer_loop::*;
pub use settings::*;
