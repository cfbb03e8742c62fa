//! Value parsers for the options: each reads one value and checks it against the range the lab
//! accepts, so a bad value is refused before any work starts, with a message naming the range
//! (clap puts the option's name in front: `--ratio: 1.5 is not in [0, 1)`).

use std::fmt::Display;
use std::str::FromStr;

/// The integer types the options use (counts, sizes, bits).
pub trait Whole: FromStr + PartialOrd + Display + Copy + Send + Sync + 'static {}
impl<T: FromStr + PartialOrd + Display + Copy + Send + Sync + 'static> Whole for T {}

/// Any whole number of the type (seeds, epochs that may be 0).
pub fn whole<T: Whole>(s: &str) -> Result<T, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a whole number"))
}

/// A whole number of at least `min`.
pub fn at_least<T: Whole>(
    min: T,
) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static {
    move |s| {
        let v = whole(s)?;
        if v < min {
            return Err(format!("{v} is less than {min}"));
        }
        Ok(v)
    }
}

/// A whole number in [min, max].
pub fn between<T: Whole>(
    min: T,
    max: T,
) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static {
    move |s| {
        let v = whole(s)?;
        if v < min || v > max {
            return Err(format!("{v} is not in [{min}, {max}]"));
        }
        Ok(v)
    }
}

/// The number of features d: odd (a constant and sine/cosine pairs) and at least 3.
pub fn odd_dimension(s: &str) -> Result<usize, String> {
    let d: usize = whole(s)?;
    if d < 3 || d.is_multiple_of(2) {
        return Err(format!("{d} is not an odd number of at least 3"));
    }
    Ok(d)
}

/// The real types the options use (f64, and f32 for the network's learning rates).
pub trait Real: FromStr + Into<f64> + Copy + Send + Sync + 'static {}
impl<T: FromStr + Into<f64> + Copy + Send + Sync + 'static> Real for T {}

/// A finite real for which `ok` holds, or the message "`v` is not `what`".
fn real<T: Real>(s: &str, ok: fn(f64) -> bool, what: &str) -> Result<T, String> {
    let v: T = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number"))?;
    let x: f64 = v.into();
    if !x.is_finite() {
        return Err(format!("'{s}' is not a finite number"));
    }
    if !ok(x) {
        return Err(format!("{} is not {what}", s.trim()));
    }
    Ok(v)
}

/// Any finite real.
pub fn finite(s: &str) -> Result<f64, String> {
    real(s, |_| true, "finite")
}

/// A positive real (step sizes).
pub fn positive<T: Real>(s: &str) -> Result<T, String> {
    real(s, |x| x > 0.0, "a positive number")
}

/// A real of at least 0 (noise).
pub fn non_negative(s: &str) -> Result<f64, String> {
    real(s, |x| x >= 0.0, "a number >= 0")
}

/// A fraction in [0, 1] (sparsities: 1 prunes the whole layer).
pub fn fraction(s: &str) -> Result<f64, String> {
    real(s, |x| (0.0..=1.0).contains(&x), "in [0, 1]")
}

/// A fraction in [0, 1) (channel-pruning ratios: every conv keeps at least one channel).
pub fn below_one(s: &str) -> Result<f64, String> {
    real(s, |x| (0.0..1.0).contains(&x), "in [0, 1)")
}

/// A caption: whitespace-separated tokens, 1 to `max` of them.
#[derive(Clone, Debug, PartialEq)]
pub struct Caption(pub Vec<String>);

pub fn caption(
    max: usize,
) -> impl Fn(&str) -> Result<Caption, String> + Clone + Send + Sync + 'static {
    move |s| {
        let tokens = glassbox_lab::attention::tokenize(s);
        if tokens.is_empty() || tokens.len() > max {
            return Err(format!("give 1 to {max} tokens (got {})", tokens.len()));
        }
        Ok(Caption(tokens))
    }
}

/// One layer's target sparsity, `conv1=0.5` (the layer name is checked against the network later).
#[derive(Clone, Debug, PartialEq)]
pub struct LayerSparsity {
    pub layer: String,
    pub sparsity: f64,
}

pub fn layer_sparsity(s: &str) -> Result<LayerSparsity, String> {
    let (layer, v) = s
        .split_once('=')
        .ok_or_else(|| format!("'{s}' is not layer=sparsity"))?;
    Ok(LayerSparsity {
        layer: layer.trim().to_string(),
        sparsity: fraction(v).map_err(|e| format!("{}: {e}", layer.trim()))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_accept_their_ends_and_name_what_they_refuse() {
        assert_eq!(below_one("0"), Ok(0.0));
        assert_eq!(below_one("1.5"), Err("1.5 is not in [0, 1)".to_string()));
        assert!(below_one("1").is_err() && fraction("1").is_ok());
        assert_eq!(
            fraction("NaN"),
            Err("'NaN' is not a finite number".to_string())
        );
        assert_eq!(positive::<f32>("0.01"), Ok(0.01f32));
        assert!(positive::<f64>("0").is_err() && non_negative("0").is_ok());
        assert_eq!(between(1u32, 8)("8"), Ok(8));
        assert_eq!(between(1u32, 8)("9"), Err("9 is not in [1, 8]".to_string()));
        assert_eq!(at_least(1usize)("0"), Err("0 is less than 1".to_string()));
        assert_eq!(
            at_least(1usize)("x"),
            Err("'x' is not a whole number".to_string())
        );
        assert_eq!(odd_dimension("101"), Ok(101));
        assert!(odd_dimension("500").is_err() && odd_dimension("1").is_err());
    }

    #[test]
    fn captions_and_layer_sparsities_are_read_whole() {
        assert_eq!(caption(3)("<SOS> a b").map(|c| c.0.len()), Ok(3));
        assert!(caption(3)("a b c d").is_err() && caption(3)("  ").is_err());
        let l = layer_sparsity("conv8 = 0.7").unwrap();
        assert_eq!((l.layer.as_str(), l.sparsity), ("conv8", 0.7));
        assert_eq!(
            layer_sparsity("conv1=1.5"),
            Err("conv1: 1.5 is not in [0, 1]".to_string())
        );
        assert!(layer_sparsity("conv1").is_err());
    }
}
