//! Chapter 4's "are random digits random?": the model continues a list of digits, and the digits
//! it writes are counted and tested against the uniform (Pearson's chi-square, 9 degrees of
//! freedom; `crate::stats`). The prompt starts the list in the format it should keep; the model
//! writes `CHARS_PER_DIGIT` characters per digit asked for, and every digit character in its text
//! counts, up to the number asked for (a model that drifts into words yields fewer).

use crate::stats::chi_square_uniform;

/// The prompt that starts the list.
pub const PROMPT: &str = "A list of random digits: 4, 7, 1, 9, 0, ";
/// Characters generated per digit asked for (", 3" is three).
pub const CHARS_PER_DIGIT: usize = 3;
/// Most digits one run asks for.
pub const MAX_DIGITS: usize = 3000;

/// The digits in a continuation, tallied.
#[derive(Clone, Debug, PartialEq)]
pub struct Tally {
    pub counts: [usize; 10],
    /// Digits counted (at most the number asked for).
    pub found: usize,
    /// Pearson's statistic and its p-value against the uniform; None without digits.
    pub chi_square: Option<(f64, f64)>,
}

/// The first `count` digits of `text`, tallied.
pub fn tally(text: &str, count: usize) -> Tally {
    let mut counts = [0usize; 10];
    for d in text.chars().filter_map(|c| c.to_digit(10)).take(count) {
        counts[d as usize] += 1;
    }
    Tally {
        counts,
        found: counts.iter().sum(),
        chi_square: chi_square_uniform(&counts),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_counted_up_to_the_number_asked_for() {
        let t = tally("3, 1, 4, 1, 5, nine 9, 2, 6", 7);
        assert_eq!(t.found, 7);
        assert_eq!(t.counts, [0, 2, 1, 1, 1, 1, 0, 0, 0, 1]);
        let (chi2, p) = t.chi_square.unwrap();
        assert!(chi2 > 0.0 && (0.0..=1.0).contains(&p));
        assert_eq!(tally("no digits", 5).chi_square, None);
        let even = tally(&"0123456789".repeat(3), 100);
        assert_eq!((even.found, even.chi_square), (30, Some((0.0, 1.0))));
    }
}
