//! Chapter 1's computations (`maml`: meta-learning feature weights, closed form and unrolled
//! gradient steps, and their evaluation) and the foundations they stand on, which the whole lab
//! shares (`rng`: seeded random numbers; `rank`: orderings; `linalg`: dense f64 linear algebra).
//!
//! A crate of its own, re-exported by `glassbox-lab` under the same names, so the browser's build
//! keeps this arithmetic at opt-level "s" (its meta-training runs 10-20% slower at "z") while the
//! rest of the lab is built for size.

pub mod linalg;
pub mod maml;
pub mod rank;
pub mod rng;
