//! A small GPT-2-style character-level language model, trained and run on the CPU.
//!
//! Text is a sequence of character ids (`tokenizer`). The model (`model`) embeds each id and adds
//! a learned position vector, applies pre-layer-norm decoder blocks (causal multi-head attention
//! and a GELU MLP, each added to the residual stream), a final layer norm, and projects back onto
//! the (tied) token embeddings: p(x_{j+1} | x_1 .. x_j) = softmax(ln_f(h_j) wte^T). Training
//! minimises the mean cross-entropy by AdamW (`train`); `forward` and `backward` also take a soft
//! prompt (vectors read before the tokens) and per-layer key/value prefixes, whose gradients serve
//! prompt tuning. Generation (`generator`: requests that a `cache::Session` or a device answers)
//! reads through a key/value cache (`cache`), choosing each character as `sample` says; `weights`
//! reads and writes the parameters (f32 or f16). The text it learns from is WordNet's glosses and
//! generated singular/plural sentences (`corpus`), over the pluralize word list (`plurals`);
//! chapter 4 asks it for plurals with a hard prompt (`pluralize`), as a multiple-choice question
//! (`choice`), and for random digits (`digits`); chapter 5 trains a soft prompt, a prefix or every
//! weight for the same task (`tuning`), and meta-learns a soft prompt's initialisation over the
//! plural, past-tense and comparative tasks (`meta_prompt`).

pub mod attention;
pub mod backward;
pub mod batch;
pub mod cache;
pub mod choice;
pub mod corpus;
pub mod digits;
pub mod forward;
mod gemm;
pub mod generator;
pub mod layers;
pub mod loss_cells;
pub mod meta_prompt;
pub mod model;
pub mod pluralize;
pub mod plurals;
pub mod sample;
pub mod shipped;
pub mod tokenizer;
pub mod train;
pub mod tuning;
pub mod weights;

pub use backward::{Grads, Wants};
pub use batch::{Extras, Inputs, Targets};
pub use cache::Session;
pub use generator::{Feed, Generator};
pub use model::{Config, Kind, Model, Tensor};
pub use sample::{complete, distribution, generate, generate_with, Sampling, MAX_NEW_TOKENS};
pub use tokenizer::{Lossy, Vocab};
pub use train::{
    eval_loss, eval_starts, learning_rate, random_windows, windows_loss, StepReport, TrainSettings,
    Trainer,
};
pub use weights::{f16_to_f32, f32_to_f16, from_bytes, to_bytes, Dtype};
