//! The shipped model (`assets/lm/glassbox-lm.bin`, written by `glassbox lm train`; its card is
//! `assets/lm/MODEL_CARD.md`): the SHA-256 its bytes must have, the held-out loss it reaches, and
//! the check every reader of the file (the page, the CLI, the tests) runs before using it.

use super::corpus::sha256_hex;
use super::model::Model;
use super::tokenizer::Vocab;
use super::weights::from_bytes;

/// The SHA-256 of the shipped weights file.
pub const SHA256: &str = include_str!("../../../../assets/lm/glassbox-lm.sha256");

/// Its loss on the held-out text (`assets/lm/heldout.txt`), nats per character, over
/// `HELD_OUT_WINDOWS` evenly spaced windows of the context (`glassbox lm eval`).
pub const HELD_OUT_LOSS: f32 = 1.3966;
pub const HELD_OUT_WINDOWS: usize = 256;

/// The model and vocabulary in `bytes`, once their checksum matches the shipped file's.
pub fn check(bytes: &[u8]) -> Result<(Model, Vocab), String> {
    let got = sha256_hex(bytes);
    if got != SHA256.trim() {
        return Err(format!(
            "the weights file is not the shipped one (SHA-256 {}…, expected {}…; {} bytes)",
            &got[..12],
            &SHA256.trim()[..12.min(SHA256.trim().len())],
            bytes.len()
        ));
    }
    from_bytes(bytes)
}
