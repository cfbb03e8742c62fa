//! The weights file: a small header, then every parameter little-endian.
//!
//! Layout: b"GBLM", version u32 (1), dtype u32 (0 = f32, 1 = f16), vocab, layers, heads, width,
//! mlp, context (u32 each), the vocabulary's UTF-8 byte length (u32) and bytes, then the parameters
//! in `Layout` order. f16 is IEEE binary16 (1 sign, 5 exponent, 10 fraction bits), rounded to
//! nearest, ties to even; a parameter beyond its range (|x| > 65504) is an error, not infinity.

use super::model::{Config, Model};
use super::tokenizer::Vocab;

pub const MAGIC: &[u8; 4] = b"GBLM";
pub const VERSION: u32 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dtype {
    F32,
    F16,
}

impl Dtype {
    fn code(self) -> u32 {
        match self {
            Dtype::F32 => 0,
            Dtype::F16 => 1,
        }
    }
    fn bytes(self) -> usize {
        match self {
            Dtype::F32 => 4,
            Dtype::F16 => 2,
        }
    }
}

/// The nearest binary16 to `x` (ties to even); overflow gives infinity, NaN stays NaN.
pub fn f32_to_f16(x: f32) -> u16 {
    let b = x.to_bits();
    let sign = ((b >> 16) & 0x8000) as u16;
    let exp = ((b >> 23) & 0xff) as i32;
    let man = b & 0x7f_ffff;
    if exp == 0xff {
        let nan = if man != 0 {
            0x200 | (man >> 13) as u16
        } else {
            0
        };
        return sign | 0x7c00 | nan;
    }
    let e = exp - 127 + 15;
    if e >= 0x1f {
        return sign | 0x7c00;
    }
    // Round `m >> shift` to nearest, ties to even (a carry into the exponent is correct).
    let round = |m: u32, shift: u32| -> u32 {
        let (r, rem, half) = (m >> shift, m & ((1 << shift) - 1), 1 << (shift - 1));
        if rem > half || (rem == half && r & 1 == 1) {
            r + 1
        } else {
            r
        }
    };
    if e <= 0 {
        // Subnormal: value = m * 2^-24, with m = (1.man) * 2^(e + 9).
        if e < -10 {
            return sign;
        }
        return sign | round(man | 0x80_0000, (14 - e) as u32) as u16;
    }
    sign | round(((e as u32) << 23) | man, 13) as u16
}

/// The binary16 `h` as f32 (exact).
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h & 0x8000) as u32) << 16;
    let exp = ((h >> 10) & 0x1f) as u32;
    let man = (h & 0x3ff) as u32;
    let bits = match (exp, man) {
        (0, 0) => sign,
        (0, _) => {
            // Subnormal: shift the fraction up until its leading 1 becomes the implicit bit.
            let (mut e, mut m) = (113u32, man);
            while m & 0x400 == 0 {
                m <<= 1;
                e -= 1;
            }
            sign | (e << 23) | ((m & 0x3ff) << 13)
        }
        (0x1f, _) => sign | 0x7f80_0000 | (man << 13),
        _ => sign | ((exp + 112) << 23) | (man << 13),
    };
    f32::from_bits(bits)
}

/// The file's bytes for `model` and its vocabulary.
pub fn to_bytes(model: &Model, vocab: &Vocab, dtype: Dtype) -> Result<Vec<u8>, String> {
    model.check()?;
    let c = model.config;
    if vocab.len() != c.vocab {
        return Err(format!(
            "the vocabulary has {} characters but the model {}",
            vocab.len(),
            c.vocab
        ));
    }
    let text = vocab.as_string();
    let mut out = Vec::with_capacity(64 + text.len() + model.params.len() * dtype.bytes());
    out.extend_from_slice(MAGIC);
    let fields = [VERSION, dtype.code()]
        .into_iter()
        .chain([c.vocab, c.layers, c.heads, c.width, c.mlp, c.context].map(|v| v as u32))
        .chain([text.len() as u32]);
    for v in fields {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(text.as_bytes());
    for (i, &p) in model.params.iter().enumerate() {
        if !p.is_finite() {
            return Err(format!("parameter {i} is {p}, not finite"));
        }
        match dtype {
            Dtype::F32 => out.extend_from_slice(&p.to_le_bytes()),
            Dtype::F16 => {
                let h = f32_to_f16(p);
                if h & 0x7c00 == 0x7c00 {
                    return Err(format!("parameter {i} = {p} is beyond f16's range"));
                }
                out.extend_from_slice(&h.to_le_bytes());
            }
        }
    }
    Ok(out)
}

/// Reads the next `n` bytes.
fn take<'a>(bytes: &'a [u8], at: &mut usize, n: usize, what: &str) -> Result<&'a [u8], String> {
    let end = at
        .checked_add(n)
        .filter(|&e| e <= bytes.len())
        .ok_or_else(|| {
            format!(
                "file too short: {what} needs {n} bytes at offset {at}, the file has {}",
                bytes.len()
            )
        })?;
    let s = &bytes[*at..end];
    *at = end;
    Ok(s)
}

fn u32_at(bytes: &[u8], at: &mut usize, what: &str) -> Result<u32, String> {
    let s = take(bytes, at, 4, what)?;
    Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// A model and its vocabulary from a file's bytes; every malformed input is an error.
pub fn from_bytes(bytes: &[u8]) -> Result<(Model, Vocab), String> {
    let mut at = 0;
    if take(bytes, &mut at, 4, "the magic")? != MAGIC {
        return Err("not a Glassbox language model: the file does not start with GBLM".into());
    }
    let version = u32_at(bytes, &mut at, "the version")?;
    if version != VERSION {
        return Err(format!(
            "unsupported version {version}, this reads {VERSION}"
        ));
    }
    let dtype = match u32_at(bytes, &mut at, "the dtype")? {
        0 => Dtype::F32,
        1 => Dtype::F16,
        d => return Err(format!("unknown dtype {d} (0 = f32, 1 = f16)")),
    };
    let mut f = [0usize; 6];
    for (v, name) in f
        .iter_mut()
        .zip(["vocab", "layers", "heads", "width", "mlp", "context"])
    {
        *v = u32_at(bytes, &mut at, name)? as usize;
    }
    let config = Config {
        vocab: f[0],
        layers: f[1],
        heads: f[2],
        width: f[3],
        mlp: f[4],
        context: f[5],
    };
    config.validate()?;
    let len = u32_at(bytes, &mut at, "the vocabulary length")? as usize;
    let text = std::str::from_utf8(take(bytes, &mut at, len, "the vocabulary")?)
        .map_err(|e| format!("the vocabulary is not UTF-8: {e}"))?;
    let vocab = Vocab::from_chars(text)?;
    if vocab.len() != config.vocab {
        return Err(format!(
            "the vocabulary has {} characters, the header says {}",
            vocab.len(),
            config.vocab
        ));
    }
    let n = super::model::Layout::new(&config).total;
    let body = &bytes[at..];
    if body.len() != n * dtype.bytes() {
        return Err(format!(
            "wrong size: {n} {dtype:?} parameters need {} bytes after the header, the file has {}",
            n * dtype.bytes(),
            body.len()
        ));
    }
    let params: Vec<f32> = match dtype {
        Dtype::F32 => body
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        Dtype::F16 => body
            .chunks_exact(2)
            .map(|b| f16_to_f32(u16::from_le_bytes([b[0], b[1]])))
            .collect(),
    };
    Ok((Model::from_params(config, params)?, vocab))
}
