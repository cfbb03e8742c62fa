//! Choosing the next character. With logits z and temperature T > 0 the distribution is
//! p_i = exp(z_i / T) / sum_j exp(z_j / T) over the top-k logits (all if k = 0; the others get 0);
//! T -> 0 concentrates it on the arg-max, so T = 0 means greedy decoding (the first maximum).
//! A draw takes the first i whose cumulative probability exceeds u ~ U[0, 1) from the seeded `Rng`.

use super::batch::Extras;
use super::cache::Session;
use super::generator::Generator;
use super::layers::softmax;
use super::model::Model;
use crate::rng::Rng;

/// Most tokens one `generate` call produces.
pub const MAX_NEW_TOKENS: usize = 10_000;

/// How to choose each token.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sampling {
    /// 0 = greedy; must be finite and >= 0.
    pub temperature: f32,
    /// Keep the k most likely tokens; 0 = all.
    pub top_k: usize,
    pub seed: u64,
}

/// The next-token distribution from `logits`, with temperature and top-k as the module says.
pub fn distribution(logits: &[f32], temperature: f32, top_k: usize) -> Result<Vec<f32>, String> {
    if !temperature.is_finite() || temperature < 0.0 {
        return Err(format!(
            "temperature {temperature} is invalid: want a finite number >= 0 (0 = greedy)"
        ));
    }
    if logits.is_empty() {
        return Err("no logits to sample from".into());
    }
    if let Some(i) = logits.iter().position(|z| !z.is_finite()) {
        return Err(format!("logit {i} is {}, not finite", logits[i]));
    }
    let mut p = vec![0.0f32; logits.len()];
    if temperature == 0.0 {
        let best = (0..logits.len()).fold(0, |b, i| if logits[i] > logits[b] { i } else { b });
        p[best] = 1.0;
        return Ok(p);
    }
    let order = crate::rank::largest_first_f32(logits);
    let k = if top_k == 0 {
        logits.len()
    } else {
        top_k.min(logits.len())
    };
    let mut kept: Vec<f32> = order[..k]
        .iter()
        .map(|&i| logits[i] / temperature)
        .collect();
    softmax(&mut kept);
    for (&i, &q) in order[..k].iter().zip(&kept) {
        p[i] = q;
    }
    Ok(p)
}

/// A draw from `probs` (which sum to 1).
pub fn sample(probs: &[f32], rng: &mut Rng) -> usize {
    let u = rng.next_f64();
    let mut cum = 0.0f64;
    let mut last = 0;
    for (i, &p) in probs.iter().enumerate() {
        if p > 0.0 {
            last = i;
            cum += p as f64;
            if cum > u {
                return i;
            }
        }
    }
    last
}

/// `n` new tokens after `prompt`, and the probability the model (at temperature 1, all tokens)
/// gave each chosen one. See `generate_with`.
pub fn generate(
    model: &Model,
    prompt: &[u32],
    n: usize,
    temperature: f32,
    top_k: usize,
    seed: u64,
) -> Result<(Vec<u32>, Vec<f32>), String> {
    let sampling = Sampling {
        temperature,
        top_k,
        seed,
    };
    generate_with(model, Extras::default(), prompt, n, sampling)
}

/// `n` new tokens (at most `MAX_NEW_TOKENS`) after a non-empty `prompt`, read after the extras'
/// soft prompt and with their prefix, on the CPU (a `Generator` answered by `Session`s; see there
/// for the sliding window). Returns the new tokens and the probability the model gave each.
pub fn generate_with(
    model: &Model,
    extras: Extras,
    prompt: &[u32],
    n: usize,
    sampling: Sampling,
) -> Result<(Vec<u32>, Vec<f32>), String> {
    let session = Session::with_extras(model, extras)?;
    let gen = Generator::new(prompt, n, sampling, session.remaining())?;
    complete(model, extras, gen)
}

/// Run `gen` to its end on the CPU, read after the extras; (tokens, their probabilities).
pub fn complete(
    model: &Model,
    extras: Extras,
    mut gen: Generator,
) -> Result<(Vec<u32>, Vec<f32>), String> {
    let mut session = Session::with_extras(model, extras)?;
    let mut fresh = true;
    while let Some(feed) = gen.feed() {
        if feed.restart && !fresh {
            session = Session::with_extras(model, extras)?;
        }
        fresh = false;
        let logits = session.feed(feed.tokens)?;
        gen.give(&logits)?;
    }
    Ok(gen.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temperature_and_top_k_shape_the_distribution() {
        let z = [1.0f32, 3.0, 2.0, 3.0];
        assert_eq!(distribution(&z, 0.0, 0).unwrap(), vec![0.0, 1.0, 0.0, 0.0]);
        let p = distribution(&z, 1.0, 2).unwrap();
        assert_eq!((p[0], p[2]), (0.0, 0.0));
        assert!((p[1] - 0.5).abs() < 1e-6 && (p[3] - 0.5).abs() < 1e-6);
        let hot = distribution(&z, 100.0, 0).unwrap();
        assert!(hot.iter().all(|&q| (q - 0.25).abs() < 0.01));
        for bad in [-1.0, f32::NAN, f32::INFINITY] {
            assert!(distribution(&z, bad, 0).is_err());
        }
        let mut rng = Rng::new(1);
        let counts = (0..10_000).fold([0usize; 4], |mut c, _| {
            c[sample(&p, &mut rng)] += 1;
            c
        });
        assert_eq!((counts[0], counts[2]), (0, 0));
        assert!((counts[1] as i64 - 5000).abs() < 300, "{counts:?}");
    }
}
