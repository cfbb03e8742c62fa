//! Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017; MIT licence), from Debian's `dataset-fashion-mnist`.
//!
//! `glassbox data fashion-mnist` converts the IDX files into one compact asset committed to the
//! repository: the full 10,000-image test set and a class-balanced 10,000-image training subset, as
//! uint8 28 x 28 images and labels. File layout: the magic `GBDS0001`, a 64-bit FNV-1a checksum of the
//! uncompressed payload (little-endian), then the payload gzip-compressed. Payload: u32 LE counts
//! (test, train), rows, cols, then test images, test labels, train images, train labels. Loading
//! checks the magic, the sizes and the checksum; a corrupt or truncated file is an error, never a
//! panic. Images are padded to 32 x 32 for the network, which keeps the original lab's four pooling
//! stages.

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use std::fmt;
use std::io::{Read, Write};

pub const CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];
pub const SIDE: usize = 28;
pub const PADDED: usize = 32;
const MAGIC: &[u8; 8] = b"GBDS0001";

#[derive(Clone, Debug, PartialEq)]
pub enum DataError {
    Format(String),
    Checksum { stored: u64, computed: u64 },
    Io(String),
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataError::Format(s) => write!(f, "the data file is not valid: {s}"),
            DataError::Checksum { stored, computed } => write!(
                f,
                "the data file is corrupt (checksum {computed:016x}, expected {stored:016x}); reload the page or rebuild the asset"
            ),
            DataError::Io(s) => write!(f, "the data file could not be read: {s}"),
        }
    }
}

impl std::error::Error for DataError {}

/// Images (n x 28 x 28, row-major uint8) and their labels (0..10).
#[derive(Clone, Debug, PartialEq)]
pub struct Split {
    pub images: Vec<u8>,
    pub labels: Vec<u8>,
}

impl Split {
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    pub fn image(&self, i: usize) -> &[u8] {
        &self.images[i * SIDE * SIDE..(i + 1) * SIDE * SIDE]
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct FashionMnist {
    pub test: Split,
    pub train: Split,
}

/// FNV-1a (the book's one checksum, in the leaf crate the build's packers share).
pub use glassbox_pack::{fnv1a64, fnv1a64_update, FNV_START};

/// A gzip stream decompressed a piece at a time, so the page can yield between pieces.
pub struct Gunzip<'a> {
    decoder: GzDecoder<&'a [u8]>,
    out: Vec<u8>,
    done: bool,
}

impl<'a> Gunzip<'a> {
    pub fn new(gz: &'a [u8]) -> Gunzip<'a> {
        Gunzip {
            decoder: GzDecoder::new(gz),
            out: Vec::new(),
            done: false,
        }
    }

    /// Decompress about `bytes` more output bytes; true once the stream has ended.
    pub fn advance(&mut self, bytes: usize) -> Result<bool, DataError> {
        let mut buf = vec![0u8; 64 * 1024];
        let mut produced = 0;
        while !self.done && produced < bytes {
            match self.decoder.read(&mut buf) {
                Ok(0) => self.done = true,
                Ok(k) => {
                    self.out.extend_from_slice(&buf[..k]);
                    produced += k;
                }
                Err(e) => return Err(DataError::Format(format!("gzip: {e}"))),
            }
        }
        Ok(self.done)
    }

    /// Bytes decompressed so far.
    pub fn len(&self) -> usize {
        self.out.len()
    }

    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    pub fn finish(self) -> Vec<u8> {
        self.out
    }
}

/// Decompress a gzip stream.
fn gunzip(bytes: &[u8]) -> Result<Vec<u8>, DataError> {
    let mut out = Vec::new();
    GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|e| DataError::Format(format!("gzip: {e}")))?;
    Ok(out)
}

fn be_u32(b: &[u8], at: usize) -> Result<usize, DataError> {
    b.get(at..at + 4)
        .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as usize)
        .ok_or_else(|| DataError::Format("IDX header is truncated".into()))
}

/// A gzip-compressed IDX image file: (count, rows, cols, pixels).
pub fn read_idx_images(gz: &[u8]) -> Result<(usize, usize, usize, Vec<u8>), DataError> {
    let b = gunzip(gz)?;
    if be_u32(&b, 0)? != 0x0803 {
        return Err(DataError::Format("not an IDX image file".into()));
    }
    let (n, r, c) = (be_u32(&b, 4)?, be_u32(&b, 8)?, be_u32(&b, 12)?);
    let pixels = b
        .get(16..16 + n * r * c)
        .ok_or_else(|| DataError::Format("IDX images are truncated".into()))?;
    Ok((n, r, c, pixels.to_vec()))
}

/// A gzip-compressed IDX label file.
pub fn read_idx_labels(gz: &[u8]) -> Result<Vec<u8>, DataError> {
    let b = gunzip(gz)?;
    if be_u32(&b, 0)? != 0x0801 {
        return Err(DataError::Format("not an IDX label file".into()));
    }
    let n = be_u32(&b, 4)?;
    Ok(b.get(8..8 + n)
        .ok_or_else(|| DataError::Format("IDX labels are truncated".into()))?
        .to_vec())
}

/// The first `per_class` images of every class, in their original order.
pub fn balanced_subset(split: &Split, per_class: usize) -> Split {
    let mut count = [0usize; 10];
    let mut out = Split {
        images: Vec::new(),
        labels: Vec::new(),
    };
    for i in 0..split.len() {
        let y = split.labels[i] as usize;
        if y < 10 && count[y] < per_class {
            count[y] += 1;
            out.images.extend_from_slice(split.image(i));
            out.labels.push(split.labels[i]);
        }
    }
    out
}

pub fn encode(data: &FashionMnist) -> Result<Vec<u8>, DataError> {
    let mut payload = Vec::new();
    for v in [data.test.len(), data.train.len(), SIDE, SIDE] {
        payload.extend_from_slice(&(v as u32).to_le_bytes());
    }
    payload.extend_from_slice(&data.test.images);
    payload.extend_from_slice(&data.test.labels);
    payload.extend_from_slice(&data.train.images);
    payload.extend_from_slice(&data.train.labels);
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&fnv1a64(&payload).to_le_bytes());
    let mut enc = GzEncoder::new(out, flate2::Compression::best());
    enc.write_all(&payload)
        .map_err(|e| DataError::Io(e.to_string()))?;
    enc.finish().map_err(|e| DataError::Io(e.to_string()))
}

/// Decode the asset: header, gzip payload, checksum, then the two splits.
pub fn decode(bytes: &[u8]) -> Result<FashionMnist, DataError> {
    let (stored, gz) = split_asset(bytes)?;
    let mut g = Gunzip::new(gz);
    while !g.advance(1 << 20)? {}
    decode_payload(stored, &g.finish())
}

/// The asset's header checked: (the stored checksum of the payload, the payload's gzip stream).
pub fn split_asset(bytes: &[u8]) -> Result<(u64, &[u8]), DataError> {
    if bytes.len() < 16 || &bytes[..8] != MAGIC {
        return Err(DataError::Format(
            "wrong magic number (not a Glassbox data asset, or truncated)".into(),
        ));
    }
    let stored = u64::from_le_bytes(
        bytes[8..16]
            .try_into()
            .map_err(|_| DataError::Format("header".into()))?,
    );
    Ok((stored, &bytes[16..]))
}

/// The two splits from the decompressed payload, after checking it against the stored checksum.
pub fn decode_payload(stored: u64, payload: &[u8]) -> Result<FashionMnist, DataError> {
    decode_summed(stored, fnv1a64(payload), payload)
}

/// `decode_payload` with the payload's FNV-1a already `computed` (the page sums it in pieces).
pub fn decode_summed(
    stored: u64,
    computed: u64,
    payload: &[u8],
) -> Result<FashionMnist, DataError> {
    if stored != computed {
        return Err(DataError::Checksum { stored, computed });
    }
    let le = |at: usize| -> Result<usize, DataError> {
        payload
            .get(at..at + 4)
            .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as usize)
            .ok_or_else(|| DataError::Format("payload header is truncated".into()))
    };
    let (n_test, n_train, rows, cols) = (le(0)?, le(4)?, le(8)?, le(12)?);
    if rows != SIDE || cols != SIDE {
        return Err(DataError::Format(format!(
            "images are {rows} x {cols}, expected 28 x 28"
        )));
    }
    let px = SIDE * SIDE;
    let want = 16 + (n_test + n_train) * (px + 1);
    if payload.len() != want {
        return Err(DataError::Format(format!(
            "payload has {} bytes, expected {want}",
            payload.len()
        )));
    }
    let mut at = 16;
    let mut take = |n: usize| {
        let s = payload[at..at + n].to_vec();
        at += n;
        s
    };
    let test = Split {
        images: take(n_test * px),
        labels: take(n_test),
    };
    let train = Split {
        images: take(n_train * px),
        labels: take(n_train),
    };
    if test.labels.iter().chain(&train.labels).any(|&y| y >= 10) {
        return Err(DataError::Format("a label is outside 0..10".into()));
    }
    Ok(FashionMnist { test, train })
}

/// Read the Debian package's four files and build the asset's content.
pub fn from_idx_dir(
    dir: &std::path::Path,
    train_per_class: usize,
) -> Result<FashionMnist, DataError> {
    let read = |name: &str| {
        std::fs::read(dir.join(name))
            .map_err(|e| DataError::Io(format!("{}: {e}", dir.join(name).display())))
    };
    let split = |images: &str, labels: &str| -> Result<Split, DataError> {
        let (n, r, c, pixels) = read_idx_images(&read(images)?)?;
        let labels = read_idx_labels(&read(labels)?)?;
        if r != SIDE || c != SIDE || labels.len() != n {
            return Err(DataError::Format(format!(
                "{images}: {n} images of {r} x {c}, {} labels",
                labels.len()
            )));
        }
        Ok(Split {
            images: pixels,
            labels,
        })
    };
    let test = split("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")?;
    let train = split("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")?;
    Ok(FashionMnist {
        test,
        train: balanced_subset(&train, train_per_class),
    })
}

/// Per-pixel normalisation of the padded images: (x / 255 - MEAN) / STD (training-set statistics).
pub const MEAN: f32 = 0.2860;
pub const STD: f32 = 0.3530;

/// Image `i` of a split as 1 x 32 x 32 floats: normalised, padded with the value of a black pixel.
pub fn padded_image(split: &Split, i: usize, out: &mut [f32]) {
    let pad = (PADDED - SIDE) / 2;
    let black = (0.0 - MEAN) / STD;
    out[..PADDED * PADDED].fill(black);
    let img = split.image(i);
    for r in 0..SIDE {
        for c in 0..SIDE {
            out[(r + pad) * PADDED + c + pad] = (img[r * SIDE + c] as f32 / 255.0 - MEAN) / STD;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> FashionMnist {
        let split = |n: usize, seed: u8| Split {
            images: (0..n * SIDE * SIDE)
                .map(|i| (i as u8).wrapping_mul(seed))
                .collect(),
            labels: (0..n).map(|i| (i % 10) as u8).collect(),
        };
        FashionMnist {
            test: split(12, 3),
            train: split(25, 7),
        }
    }

    #[test]
    fn encode_then_decode_round_trips() {
        let d = tiny();
        let bytes = encode(&d).unwrap();
        assert_eq!(decode(&bytes).unwrap(), d);
    }

    #[test]
    fn corrupt_or_truncated_files_are_errors() {
        let bytes = encode(&tiny()).unwrap();
        assert!(matches!(
            decode(&bytes[..bytes.len() / 2]),
            Err(DataError::Format(_))
        ));
        assert!(matches!(decode(&bytes[..10]), Err(DataError::Format(_))));
        let mut bad = bytes.clone();
        bad[9] ^= 0xff; // the stored checksum
        assert!(matches!(decode(&bad), Err(DataError::Checksum { .. })));
        assert!(decode(b"hello world, not an asset").is_err());
    }

    #[test]
    fn fnv_summed_in_pieces_is_the_whole_sum() {
        let bytes: Vec<u8> = (0..1000u32).map(|i| (i * 37 % 251) as u8).collect();
        let whole = fnv1a64(&bytes);
        for piece in [1, 7, 64, 999, 1000, 4096] {
            let pieces = bytes.chunks(piece).fold(FNV_START, fnv1a64_update);
            assert_eq!(pieces, whole, "pieces of {piece}");
        }
        // The known FNV-1a 64 of "a" (the published test vector).
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        let bytes = encode(&tiny()).unwrap();
        let (stored, gz) = split_asset(&bytes).unwrap();
        let mut g = Gunzip::new(gz);
        while !g.advance(1 << 16).unwrap() {}
        let payload = g.finish();
        let sum = payload.chunks(100).fold(FNV_START, fnv1a64_update);
        assert_eq!(decode_summed(stored, sum, &payload).unwrap(), tiny());
        assert!(matches!(
            decode_summed(stored, sum ^ 1, &payload),
            Err(DataError::Checksum { .. })
        ));
    }

    #[test]
    fn balanced_subset_takes_the_first_of_each_class() {
        let d = tiny();
        let s = balanced_subset(&d.train, 2);
        assert_eq!(s.len(), 20);
        assert_eq!(&s.labels[..10], &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert_eq!(s.image(10), d.train.image(10));
    }

    #[test]
    fn padding_centres_the_image() {
        let d = tiny();
        let mut out = vec![0.0f32; PADDED * PADDED];
        padded_image(&d.test, 1, &mut out);
        assert_eq!(out[0], -MEAN / STD);
        let v = d.test.image(1)[0] as f32 / 255.0;
        assert!((out[2 * PADDED + 2] - (v - MEAN) / STD).abs() < 1e-6);
    }
}
