//! The noise corruptions, pixel by pixel on x in [0, 1], before `corruptions` clips to [0, 1]:
//!   gaussian  x + sigma z, z ~ N(0, 1) (Box–Muller, `Rng::normal`): E = x, Var = sigma^2
//!   shot      Poisson(c x) / c, photon counts at c photons per unit of brightness: E = x, Var = x / c
//!   impulse   salt and pepper: one uniform u per pixel; u < p/2 gives 0, p/2 <= u < p gives 1,
//!             otherwise x is kept, so a share p of pixels changes, half to black, half to white
//! Poisson draws use Knuth's multiplication method: multiply uniforms u_1 u_2 ... until the product
//! falls to e^-lambda or below; k, the number of factors before the last, is Poisson(lambda). Exact,
//! with lambda + 1 uniforms on average; fine for lambda <= 60 (here c x <= 60), where e^-lambda
//! ~ 1e-26 is far from underflow and the loop is short. Larger lambdas would want another method.

use crate::rng::Rng;

/// A Poisson(lambda) draw, 0 <= lambda <= 60 (Knuth's multiplication method).
pub fn poisson(rng: &mut Rng, lambda: f64) -> u32 {
    let floor = (-lambda).exp();
    let mut product = rng.next_f64();
    let mut k = 0;
    while product > floor {
        k += 1;
        product *= rng.next_f64();
    }
    k
}

pub fn gaussian_noise(pixels: &[f32], sigma: f64, rng: &mut Rng) -> Vec<f32> {
    pixels
        .iter()
        .map(|&x| (x as f64 + sigma * rng.normal()) as f32)
        .collect()
}

/// Shot noise at `photons` (c) per unit of brightness; x is clamped to [0, 1] first, so c x <= c.
pub fn shot_noise(pixels: &[f32], photons: f64, rng: &mut Rng) -> Vec<f32> {
    pixels
        .iter()
        .map(|&x| {
            let lambda = x.clamp(0.0, 1.0) as f64 * photons;
            (poisson(rng, lambda) as f64 / photons) as f32
        })
        .collect()
}

/// Salt and pepper: each pixel with probability `p` becomes 0 or 1, half each.
pub fn impulse_noise(pixels: &[f32], p: f64, rng: &mut Rng) -> Vec<f32> {
    pixels
        .iter()
        .map(|&x| {
            let u = rng.next_f64();
            if u < p / 2.0 {
                0.0
            } else if u < p {
                1.0
            } else {
                x
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shift::corruptions::Corruption;

    fn mean_var(xs: &[f64]) -> (f64, f64) {
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64;
        (mean, var)
    }

    /// Out - in over `n` pixels of the flat image `value`.
    fn differences(value: f32, n: usize, noise: impl Fn(&[f32], &mut Rng) -> Vec<f32>) -> Vec<f64> {
        let out = noise(&vec![value; n], &mut Rng::new(9));
        out.iter().map(|&y| (y - value) as f64).collect()
    }

    #[test]
    fn poisson_draws_have_mean_and_variance_lambda() {
        let mut rng = Rng::new(2);
        let n = 20_000;
        for lambda in [0.0, 0.6, 5.0, 60.0] {
            let ks: Vec<f64> = (0..n).map(|_| poisson(&mut rng, lambda) as f64).collect();
            let (mean, var) = mean_var(&ks);
            let se = (lambda / n as f64).sqrt();
            assert!(
                (mean - lambda).abs() <= 4.0 * se,
                "lambda {lambda}: mean {mean}"
            );
            assert!(
                (var - lambda).abs() <= 0.05 * lambda,
                "lambda {lambda}: var {var}"
            );
        }
    }

    #[test]
    fn gaussian_noise_has_std_sigma_on_mid_grey() {
        // Severities 1 to 3: 0.5 is 2.8 sigma or more from a clip bound there.
        for sigma in &Corruption::GaussianNoise.ladder()[..3] {
            let sigma = *sigma;
            let (mean, var) = mean_var(&differences(0.5, 16_000, |x, r| {
                gaussian_noise(x, sigma, r)
            }));
            assert!(
                (var.sqrt() / sigma - 1.0).abs() < 0.05,
                "sigma {sigma}: std {}",
                var.sqrt()
            );
            assert!(
                mean.abs() < 4.0 * sigma / 16_000f64.sqrt(),
                "sigma {sigma}: mean {mean}"
            );
        }
    }

    #[test]
    fn shot_noise_keeps_the_mean_with_variance_x_over_c() {
        for c in Corruption::ShotNoise.ladder() {
            let d = differences(0.2, 16_000, |x, r| shot_noise(x, c, r));
            let (mean, var) = mean_var(&d);
            let expected = 0.2 / c;
            let se = (expected / d.len() as f64).sqrt();
            assert!(mean.abs() < 4.0 * se, "c {c}: mean {mean}");
            assert!(
                (var / expected - 1.0).abs() < 0.1,
                "c {c}: var {var} vs {expected}"
            );
        }
    }

    #[test]
    fn impulse_noise_changes_a_share_p_of_pixels_half_to_black() {
        for p in Corruption::ImpulseNoise.ladder() {
            let d = differences(0.5, 16_000, |x, r| impulse_noise(x, p, r));
            let n = d.len() as f64;
            let changed = d.iter().filter(|&&v| v != 0.0).count() as f64 / n;
            let black = d.iter().filter(|&&v| v == -0.5).count() as f64 / n;
            let tolerance = 4.0 * (p * (1.0 - p) / n).sqrt();
            assert!((changed - p).abs() < tolerance, "p {p}: changed {changed}");
            assert!((black - p / 2.0).abs() < tolerance, "p {p}: black {black}");
            assert!(d.iter().all(|&v| v == 0.0 || v.abs() == 0.5));
        }
    }
}
