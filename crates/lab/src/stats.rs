//! Pearson's chi-square test of counts against the uniform: with N draws over k categories and
//! e = N / k expected in each, chi2 = sum_i (o_i - e)^2 / e. Under uniform draws chi2 follows the
//! chi-square law with d = k - 1 degrees of freedom, whose upper tail is p = Q(d / 2, chi2 / 2),
//! Q(a, x) = Gamma(a, x) / Gamma(a) the regularized upper incomplete gamma function: by its power
//! series 1 - e^-x x^a sum_n x^n / Gamma(a + n + 1) for x < a + 1, by its continued fraction
//! (modified Lentz) otherwise. ln Gamma by Lanczos's approximation (g = 7, 9 terms; ~1e-15).

/// ln Gamma(x) for x > 0.
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Gamma(x) Gamma(1 - x) = pi / sin(pi x).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, &c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Q(a, x), the regularized upper incomplete gamma function, for a > 0, x >= 0.
pub fn gamma_q(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    let front = (-x + a * x.ln() - ln_gamma(a)).exp();
    if x < a + 1.0 {
        let (mut sum, mut term, mut n) = (1.0 / a, 1.0 / a, a);
        for _ in 0..1000 {
            n += 1.0;
            term *= x / n;
            sum += term;
            if term.abs() < sum.abs() * 1e-16 {
                break;
            }
        }
        return (1.0 - front * sum).clamp(0.0, 1.0);
    }
    let tiny = 1e-300;
    let mut b = x + 1.0 - a;
    let (mut c, mut d) = (1.0 / tiny, 1.0 / b);
    let mut h = d;
    for i in 1..1000 {
        let an = -(i as f64) * (i as f64 - a);
        b += 2.0;
        d = an * d + b;
        if d.abs() < tiny {
            d = tiny;
        }
        c = b + an / c;
        if c.abs() < tiny {
            c = tiny;
        }
        d = 1.0 / d;
        let step = d * c;
        h *= step;
        if (step - 1.0).abs() < 1e-16 {
            break;
        }
    }
    (front * h).clamp(0.0, 1.0)
}

/// (chi2, p) of `counts` against the uniform over their categories; None with fewer than two
/// categories or no draws.
pub fn chi_square_uniform(counts: &[usize]) -> Option<(f64, f64)> {
    let n: usize = counts.iter().sum();
    if counts.len() < 2 || n == 0 {
        return None;
    }
    let e = n as f64 / counts.len() as f64;
    let chi2: f64 = counts.iter().map(|&o| (o as f64 - e).powi(2) / e).sum();
    let dof = (counts.len() - 1) as f64;
    Some((chi2, gamma_q(dof / 2.0, chi2 / 2.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gamma_and_the_chi_square_tail_match_tables() {
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-12);
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-12);
        // Critical values of the chi-square law (upper tail 0.05 and 0.01).
        for (dof, x, p) in [
            (9.0, 16.918_977_604_620_448, 0.05),
            (9.0, 21.665_994_333_461_924, 0.01),
            (1.0, 3.841_458_820_694_124, 0.05),
            (2.0, 5.991_464_547_107_979, 0.05),
        ] {
            let q = gamma_q(dof / 2.0, x / 2.0);
            assert!((q - p).abs() < 1e-9, "dof {dof}, x {x}: {q}");
        }
        // Q(1, x) = e^-x on both sides of the series/fraction split.
        for x in [0.3, 1.9, 2.1, 40.0] {
            assert!((gamma_q(1.0, x) - (-x).exp()).abs() < 1e-12);
        }
        assert_eq!(chi_square_uniform(&[10; 10]), Some((0.0, 1.0)));
        let (chi2, p) = chi_square_uniform(&[100, 0, 0, 0, 0, 0, 0, 0, 0, 0]).unwrap();
        assert!((chi2 - 900.0).abs() < 1e-9 && p < 1e-100);
        assert_eq!(chi_square_uniform(&[0; 10]), None);
        assert_eq!(chi_square_uniform(&[5]), None);
    }
}
