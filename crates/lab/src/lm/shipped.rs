//! The shipped models (written by `glassbox lm train`; their card is `assets/lm/MODEL_CARD.md`):
//! `STANDARD` (`assets/lm/glassbox-lm.bin`, chapters 4 and 5) and `SMALL`
//! (`assets/lm/glassbox-lm-small.bin`, about a tenth of the parameters, chapter 4's "bigger vs
//! smaller"): the SHA-256 each file must have, the held-out loss each reaches, and the check every
//! reader of a file (the page, the CLI, the tests) runs before using it.

use super::corpus::sha256_hex;
use super::model::Model;
use super::tokenizer::Vocab;
use super::weights::from_bytes;

/// One shipped weights file.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Checkpoint {
    pub name: &'static str,
    /// Its file name in `assets/lm/` (and in the page's `dist/`).
    pub file: &'static str,
    pub sha256: &'static str,
    /// Its loss on the held-out text (`assets/lm/heldout.txt`), nats per character, over
    /// `HELD_OUT_WINDOWS` evenly spaced windows of the context (`glassbox lm eval`).
    pub held_out_loss: f32,
}

pub const STANDARD: Checkpoint = Checkpoint {
    name: "the shipped one",
    file: "glassbox-lm.bin",
    sha256: include_str!("../../../../assets/lm/glassbox-lm.sha256"),
    held_out_loss: 1.1919,
};

pub const SMALL: Checkpoint = Checkpoint {
    name: "the shipped small model",
    file: "glassbox-lm-small.bin",
    sha256: include_str!("../../../../assets/lm/glassbox-lm-small.sha256"),
    held_out_loss: 1.5864,
};

/// The standard model's SHA-256 and held-out loss.
pub const SHA256: &str = STANDARD.sha256;
pub const HELD_OUT_LOSS: f32 = STANDARD.held_out_loss;
pub const HELD_OUT_WINDOWS: usize = 256;

impl Checkpoint {
    /// The model and vocabulary in `bytes`, once their checksum matches this file's.
    pub fn check(&self, bytes: &[u8]) -> Result<(Model, Vocab), String> {
        let got = sha256_hex(bytes);
        let want = self.sha256.trim();
        if got != want {
            return Err(format!(
                "the weights file is not {} (SHA-256 {}…, expected {}…; {} bytes)",
                self.name,
                &got[..12],
                &want[..12.min(want.len())],
                bytes.len()
            ));
        }
        from_bytes(bytes)
    }
}

/// The standard model and its vocabulary in `bytes` (`STANDARD.check`).
pub fn check(bytes: &[u8]) -> Result<(Model, Vocab), String> {
    STANDARD.check(bytes)
}
