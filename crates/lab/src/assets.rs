//! The files the book downloads, each with the SHA-256 it must have (committed beside it as
//! `<name>.sha256`; a test checks every one against its file), so that a corrupt or truncated
//! download is named to the reader instead of being used. The language model's checkpoints carry
//! their own (`lm::shipped`).

use sha2::{Digest, Sha256};

/// A downloaded file: its name in the build, what it is (for messages), its SHA-256 (hex).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Asset {
    pub file: &'static str,
    pub what: &'static str,
    pub sha256: &'static str,
}

pub const IMAGES: Asset = Asset {
    file: "fashion-mnist.gbds",
    what: "the Fashion-MNIST images",
    sha256: include_str!("../../../assets/fashion-mnist.sha256"),
};
pub const NETWORK: Asset = Asset {
    file: "fashion-vgg.gbnet",
    what: "the trained weights",
    sha256: include_str!("../../../assets/fashion-vgg.sha256"),
};
pub const FINETUNE_TABLE: Asset = Asset {
    file: "finetune-severity5.csv",
    what: "the fine-tuning table",
    sha256: include_str!("../../../assets/finetune-severity5.sha256"),
};
pub const LM_LOSS: Asset = Asset {
    file: "loss.csv",
    what: "the language model's training log",
    sha256: include_str!("../../../assets/lm/loss.sha256"),
};
pub const HELDOUT: Asset = Asset {
    file: "heldout.txt",
    what: "the held-out text",
    sha256: include_str!("../../../assets/lm/heldout.sha256"),
};

pub const PLURALS: Asset = Asset {
    file: "plurals.tsv",
    what: "the pluralize word list",
    sha256: include_str!("../../../assets/lm/plurals.sha256"),
};
pub const WORDS: Asset = Asset {
    file: "words.tsv",
    what: "the corpus's word ranks",
    sha256: include_str!("../../../assets/lm/words.sha256"),
};
pub const PAST: Asset = Asset {
    file: "past.tsv",
    what: "the past-tense word list",
    sha256: include_str!("../../../assets/lm/past.sha256"),
};
pub const COMPARATIVE: Asset = Asset {
    file: "comparative.tsv",
    what: "the comparative word list",
    sha256: include_str!("../../../assets/lm/comparative.sha256"),
};

/// Every asset above, with its path in the repository.
pub const ALL: [(Asset, &str); 9] = [
    (IMAGES, "assets/fashion-mnist.gbds"),
    (NETWORK, "assets/fashion-vgg.gbnet"),
    (FINETUNE_TABLE, "assets/finetune-severity5.csv"),
    (LM_LOSS, "assets/lm/loss.csv"),
    (HELDOUT, "assets/lm/heldout.txt"),
    (PLURALS, "assets/lm/plurals.tsv"),
    (WORDS, "assets/lm/words.tsv"),
    (PAST, "assets/lm/past.tsv"),
    (COMPARATIVE, "assets/lm/comparative.tsv"),
];

/// A download being checked as it arrives, a chunk at a time.
pub struct Check {
    asset: Asset,
    hasher: Sha256,
    len: usize,
}

impl Check {
    pub fn new(asset: Asset) -> Check {
        Check {
            asset,
            hasher: Sha256::new(),
            len: 0,
        }
    }

    pub fn update(&mut self, chunk: &[u8]) {
        self.hasher.update(chunk);
        self.len += chunk.len();
    }

    /// Ok if the bytes are the asset's, else what is wrong with them.
    pub fn finish(self) -> Result<(), String> {
        let got: String = self
            .hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let want = self.asset.sha256.trim();
        if got == want {
            Ok(())
        } else {
            Err(format!(
                "{} ({}) arrived damaged: {} bytes with SHA-256 {}…, expected {}… (reload to download it again)",
                self.asset.what,
                self.asset.file,
                self.len,
                &got[..12],
                &want[..12.min(want.len())]
            ))
        }
    }
}

/// `bytes` checked as `asset`.
pub fn check(asset: Asset, bytes: &[u8]) -> Result<(), String> {
    let mut c = Check::new(asset);
    c.update(bytes);
    c.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_committed_hash_is_its_files() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        for (asset, path) in ALL {
            let bytes = std::fs::read(root.join(path)).expect(path);
            assert_eq!(check(asset, &bytes), Ok(()), "{path}: update its .sha256");
            assert!(path.ends_with(asset.file));
        }
    }

    #[test]
    fn a_flipped_or_missing_byte_is_named() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut bytes = std::fs::read(root.join("assets/finetune-severity5.csv")).unwrap();
        bytes[100] ^= 1;
        let e = check(FINETUNE_TABLE, &bytes).unwrap_err();
        assert!(
            e.contains("the fine-tuning table (finetune-severity5.csv) arrived damaged"),
            "{e}"
        );
        bytes[100] ^= 1;
        bytes.pop();
        assert!(check(FINETUNE_TABLE, &bytes).is_err());
        // Split into chunks, the same bytes give the same answer.
        bytes.push(b'\n');
        let mut c = Check::new(FINETUNE_TABLE);
        for piece in bytes.chunks(7) {
            c.update(piece);
        }
        assert_eq!(c.finish(), check(FINETUNE_TABLE, &bytes));
    }
}
