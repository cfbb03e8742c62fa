//! Seeded random numbers: xoshiro256** seeded through SplitMix64.
//!
//! Every experiment takes an explicit seed, so the same URL or command line reproduces the same
//! figure on every platform (no OS entropy, no floating-point differences between wasm and native in
//! the generator itself). Normal draws use the Box–Muller transform: for u1, u2 ~ U(0, 1),
//! z = sqrt(-2 ln u1) cos(2 pi u2) is standard normal.

/// xoshiro256** (Blackman and Vigna), a small, fast generator with a 2^256 - 1 period.
#[derive(Clone, Debug)]
pub struct Rng {
    state: [u64; 4],
}

fn splitmix64(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        let mut x = seed;
        let state = [
            splitmix64(&mut x),
            splitmix64(&mut x),
            splitmix64(&mut x),
            splitmix64(&mut x),
        ];
        Rng { state }
    }

    /// The generator's state as eight 32-bit halves (each exact in a double), for another thread
    /// to continue the same stream (`from_halves`).
    pub fn halves(&self) -> [u32; 8] {
        let mut h = [0; 8];
        for (i, s) in self.state.iter().enumerate() {
            h[2 * i] = (s >> 32) as u32;
            h[2 * i + 1] = *s as u32;
        }
        h
    }

    /// The generator whose state `halves` wrote.
    pub fn from_halves(h: [u32; 8]) -> Self {
        let state = std::array::from_fn(|i| (u64::from(h[2 * i]) << 32) | u64::from(h[2 * i + 1]));
        Rng { state }
    }

    /// An independent stream for a named purpose (test tasks, meta tasks ...), derived from a seed.
    pub fn stream(seed: u64, purpose: u64) -> Self {
        let mut x = seed ^ purpose.wrapping_mul(0xD6E8_FEB8_6659_FD93);
        Rng::new(splitmix64(&mut x))
    }

    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.state;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1) with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    pub fn uniform(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.next_f64()
    }

    pub fn normal(&mut self) -> f64 {
        // u1 in (0, 1] so that ln(u1) is finite.
        let u1 = 1.0 - self.next_f64();
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// `n` sorted draws from U[low, high).
    pub fn sorted_uniform(&mut self, n: usize, low: f64, high: f64) -> Vec<f64> {
        let xs: Vec<f64> = (0..n).map(|_| self.uniform(low, high)).collect();
        crate::rank::ascending(&xs)
    }

    /// Uniform integer in 0..n (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_f64() * n as f64) as usize % n.max(1)
    }

    /// Shuffle `items` in place (Fisher-Yates, from the end).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_different_seeds_differ() {
        let a: Vec<u64> = (0..5)
            .map({
                let mut r = Rng::new(7);
                move |_| r.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..5)
            .map({
                let mut r = Rng::new(7);
                move |_| r.next_u64()
            })
            .collect();
        let c: Vec<u64> = (0..5)
            .map({
                let mut r = Rng::new(8);
                move |_| r.next_u64()
            })
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn normal_has_unit_variance_and_zero_mean() {
        let mut r = Rng::new(1);
        let n = 200_000;
        let xs: Vec<f64> = (0..n).map(|_| r.normal()).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.01, "var {var}");
    }

    #[test]
    fn uniform_stays_in_range_and_sorted_draws_are_sorted() {
        let mut r = Rng::new(3);
        let xs = r.sorted_uniform(1000, -1.0, 1.0);
        assert!(xs.windows(2).all(|w| w[0] <= w[1]));
        assert!(xs.iter().all(|&x| (-1.0..1.0).contains(&x)));
        assert!(xs[0] < -0.9 && xs[999] > 0.9);
    }
}
