//! Decimal text to the nearest f64 (ties to even): what `str::parse::<f64>` gives, bit for bit,
//! without the standard library's 20 KB table of 128-bit powers of five (the download's size).
//!
//! A number is m x 10^e, m its decimal digits read as an integer. When m < 2^53 and |e| <= 22,
//! m and 10^|e| are exact doubles and one IEEE multiplication or division rounds correctly
//! (Clinger's fast path). Otherwise m becomes a big integer: for e >= 0 the value is the integer
//! m 10^e; for e < 0 it is q 2^-k with q = floor(m 2^k / 10^-e) taken to 64 or 65 bits and a
//! sticky bit for a nonzero remainder. Either way q, its power of two and the sticky bit are
//! rounded once, to 53 bits or to fewer where the result is subnormal.

use std::cmp::Ordering;

/// `text` as an f64, with the grammar of `str::parse::<f64>`: an optional sign, then `inf`,
/// `infinity` or `nan` (any case), or digits with at most one point and at least one digit,
/// optionally followed by `e` or `E`, an optional sign and digits. None for anything else.
pub fn parse(text: &str) -> Option<f64> {
    let (negative, rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let magnitude = if rest.eq_ignore_ascii_case("inf") || rest.eq_ignore_ascii_case("infinity") {
        f64::INFINITY
    } else if rest.eq_ignore_ascii_case("nan") {
        f64::NAN
    } else {
        let (digits, exponent) = scan(rest.as_bytes())?;
        value(&digits, exponent)
    };
    Some(if negative { -magnitude } else { magnitude })
}

/// A number read from text: f64 through `parse`, integers as the standard library reads them.
pub trait FromText: Sized {
    fn from_text(text: &str) -> Option<Self>;
}

impl FromText for f64 {
    fn from_text(text: &str) -> Option<f64> {
        parse(text)
    }
}

macro_rules! integers {
    ($($t:ty),*) => {$(
        impl FromText for $t {
            fn from_text(text: &str) -> Option<$t> {
                text.parse().ok()
            }
        }
    )*};
}
integers!(u8, u64, usize);

/// The significant digits (no leading or trailing zeros, as values 0-9) and the power of ten
/// they are multiplied by; None when the text is not a number.
fn scan(s: &[u8]) -> Option<(Vec<u8>, i64)> {
    let mut digits = Vec::new();
    let (mut i, mut seen, mut point, mut exponent) = (0, false, false, 0i64);
    while i < s.len() {
        match s[i] {
            c @ b'0'..=b'9' => {
                seen = true;
                if !(digits.is_empty() && c == b'0') {
                    digits.push(c - b'0');
                }
                if point {
                    exponent -= 1;
                }
            }
            b'.' if !point => point = true,
            b'e' | b'E' => break,
            _ => return None,
        }
        i += 1;
    }
    if !seen {
        return None;
    }
    if i < s.len() {
        let (sign, mut j) = match s.get(i + 1) {
            Some(b'-') => (-1, i + 2),
            Some(b'+') => (1, i + 2),
            _ => (1, i + 1),
        };
        if j >= s.len() {
            return None;
        }
        let mut e = 0i64;
        while j < s.len() {
            let c = s[j];
            if !c.is_ascii_digit() {
                return None;
            }
            // Saturated: any larger exponent gives infinity or zero just the same.
            e = (e * 10 + (c - b'0') as i64).min(1 << 40);
            j += 1;
        }
        exponent += sign * e;
    }
    while digits.last() == Some(&0) {
        digits.pop();
        exponent += 1;
    }
    // A halfway point between two doubles has at most 767 significant digits, so the first
    // KEPT digits and whether any digit after them is nonzero decide the rounding; a nonzero
    // tail is kept as one digit 1 after them. This keeps a hostile million-digit field linear.
    if digits.len() > KEPT {
        let tail = digits[KEPT..].iter().any(|&d| d != 0);
        exponent += (digits.len() - KEPT) as i64;
        digits.truncate(KEPT);
        if tail {
            digits.push(1);
            exponent -= 1;
        }
    }
    Some((digits, exponent))
}

/// Significant digits kept (more than the 767 a halfway point can have).
const KEPT: usize = 800;

/// Exact powers of ten as doubles (10^22 is the last one an f64 holds exactly).
const EXACT: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// The nearest f64 to digits x 10^exponent.
fn value(digits: &[u8], exponent: i64) -> f64 {
    let n = digits.len() as i64;
    if n == 0 || n + exponent < -324 {
        // Below 10^-325: less than half the smallest subnormal.
        return 0.0;
    }
    if n + exponent > 310 {
        return f64::INFINITY;
    }
    if n <= 19 {
        let m = digits.iter().fold(0u64, |m, &d| m * 10 + d as u64);
        if m < 1 << 53 && exponent.abs() <= 22 {
            let p = EXACT[exponent.unsigned_abs() as usize];
            return if exponent >= 0 {
                m as f64 * p
            } else {
                m as f64 / p
            };
        }
    }
    let m = Big::from_digits(digits);
    if exponent >= 0 {
        let mut v = m;
        v.mul_pow10(exponent as u32);
        let bits = v.bit_len();
        let drop = bits.saturating_sub(64);
        let sticky = v.low_bits_nonzero(drop);
        v.shr(drop);
        round(v.low_u128(), drop as i64, sticky)
    } else {
        let mut den = Big::from_u32(1);
        den.mul_pow10((-exponent) as u32);
        // Scale so that the quotient has 64 or 65 bits.
        let k = 64 + den.bit_len() as i64 - m.bit_len() as i64;
        let mut num = m;
        if k >= 0 {
            num.shl(k as usize);
        } else {
            den.shl((-k) as usize);
        }
        let shift = num.bit_len().saturating_sub(den.bit_len());
        den.shl(shift);
        let mut q = 0u128;
        for _ in 0..=shift {
            q <<= 1;
            if num.cmp(&den) != Ordering::Less {
                num.sub(&den);
                q |= 1;
            }
            den.shr(1);
        }
        round(q, -k, !num.is_zero())
    }
}

/// The nearest f64 to (q + a fraction that is nonzero when `sticky`) x 2^exp2, q > 0, rounding
/// half to even.
fn round(q: u128, exp2: i64, sticky: bool) -> f64 {
    let len = 128 - q.leading_zeros() as i64;
    // The value lies in [2^top, 2^(top + 1)).
    let top = len - 1 + exp2;
    if top > 1023 {
        return f64::INFINITY;
    }
    // Bits kept: 53, or fewer for a subnormal (whose last bit is worth 2^-1074).
    let keep = if top >= -1022 { 53 } else { top + 1075 };
    if keep < 0 {
        return 0.0;
    }
    let drop = len - keep;
    let mut mant = if drop <= 0 {
        (q << (-drop)) as u64
    } else {
        let rest = q & ((1u128 << drop) - 1);
        let half = 1u128 << (drop - 1);
        let m = (q >> drop) as u64;
        let up = rest > half || (rest == half && (sticky || m & 1 == 1));
        m + up as u64
    };
    if top < -1022 {
        // Subnormal, or the smallest normal when the rounding carried into bit 52.
        return f64::from_bits(mant);
    }
    let mut top = top;
    if mant == 1 << 53 {
        mant >>= 1;
        top += 1;
        if top > 1023 {
            return f64::INFINITY;
        }
    }
    f64::from_bits((((top + 1023) as u64) << 52) | (mant & ((1 << 52) - 1)))
}

/// A nonnegative integer in 32-bit limbs, least significant first.
struct Big(Vec<u32>);

impl Big {
    fn from_u32(v: u32) -> Big {
        Big(vec![v])
    }

    fn from_digits(digits: &[u8]) -> Big {
        let mut b = Big(Vec::new());
        for chunk in digits.chunks(9) {
            let v = chunk.iter().fold(0u32, |v, &d| v * 10 + d as u32);
            b.mul_add(10u32.pow(chunk.len() as u32), v);
        }
        b
    }

    /// self = self x m + add.
    fn mul_add(&mut self, m: u32, add: u32) {
        let mut carry = add as u64;
        for limb in &mut self.0 {
            let v = *limb as u64 * m as u64 + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry > 0 {
            self.0.push(carry as u32);
        }
    }

    fn mul_pow10(&mut self, mut n: u32) {
        while n > 0 {
            let step = n.min(9);
            self.mul_add(10u32.pow(step), 0);
            n -= step;
        }
    }

    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    fn is_zero(&self) -> bool {
        self.0.iter().all(|&l| l == 0)
    }

    fn bit_len(&self) -> usize {
        match self.0.iter().rposition(|&l| l != 0) {
            Some(i) => i * 32 + (32 - self.0[i].leading_zeros() as usize),
            None => 0,
        }
    }

    fn shl(&mut self, bits: usize) {
        let (limbs, bits) = (bits / 32, bits % 32);
        if bits > 0 {
            let mut carry = 0u32;
            for limb in &mut self.0 {
                let v = *limb;
                *limb = (v << bits) | carry;
                carry = v >> (32 - bits);
            }
            if carry > 0 {
                self.0.push(carry);
            }
        }
        self.0.splice(0..0, std::iter::repeat_n(0, limbs));
    }

    fn shr(&mut self, bits: usize) {
        let (limbs, bits) = (bits / 32, bits % 32);
        self.0.drain(..limbs.min(self.0.len()));
        if bits > 0 {
            let mut carry = 0u32;
            for limb in self.0.iter_mut().rev() {
                let v = *limb;
                *limb = (v >> bits) | carry;
                carry = v << (32 - bits);
            }
        }
        self.trim();
    }

    /// Whether any of the lowest `bits` bits is set.
    fn low_bits_nonzero(&self, bits: usize) -> bool {
        let (limbs, bits) = (bits / 32, bits % 32);
        self.0.iter().take(limbs).any(|&l| l != 0)
            || (bits > 0
                && self
                    .0
                    .get(limbs)
                    .is_some_and(|&l| l & ((1 << bits) - 1) != 0))
    }

    fn low_u128(&self) -> u128 {
        self.0
            .iter()
            .take(4)
            .enumerate()
            .fold(0, |v, (i, &l)| v | (l as u128) << (32 * i))
    }

    fn cmp(&self, other: &Big) -> Ordering {
        let (a, b) = (self.bit_len(), other.bit_len());
        if a != b {
            return a.cmp(&b);
        }
        for i in (0..a.div_ceil(32)).rev() {
            match self.0[i].cmp(&other.0[i]) {
                Ordering::Equal => {}
                o => return o,
            }
        }
        Ordering::Equal
    }

    /// self -= other (other <= self).
    fn sub(&mut self, other: &Big) {
        let mut borrow = 0i64;
        for i in 0..self.0.len() {
            let v = self.0[i] as i64 - other.0.get(i).copied().unwrap_or(0) as i64 - borrow;
            borrow = (v < 0) as i64;
            self.0[i] = v.rem_euclid(1 << 32) as u32;
        }
        self.trim();
    }
}

#[cfg(test)]
mod tests {
    use super::parse;
    use crate::rng::Rng;

    fn same(text: &str) {
        let want = text.parse::<f64>().ok();
        let got = parse(text);
        match (want, got) {
            (Some(w), Some(g)) => assert!(
                w.to_bits() == g.to_bits() || (w.is_nan() && g.is_nan()),
                "{text}: std {w:e} ({:#x}), ours {g:e} ({:#x})",
                w.to_bits(),
                g.to_bits()
            ),
            (w, g) => assert_eq!(w.is_some(), g.is_some(), "{text}: std {w:?}, ours {g:?}"),
        }
    }

    #[test]
    fn the_grammar_is_the_standard_librarys() {
        for t in [
            "0",
            "-0",
            "+0",
            "1",
            "1.",
            ".5",
            "-.5",
            "0.005",
            "1e5",
            "1E-5",
            "1e+5",
            "2.5e",
            "e5",
            ".",
            "",
            "-",
            "+",
            "1..2",
            "1.2.3",
            "1e5.5",
            " 1",
            "1 ",
            "0x10",
            "1_000",
            "inf",
            "-INF",
            "Infinity",
            "+infinity",
            "nan",
            "NaN",
            "-nan",
            "infin",
            "1,5",
            "00012.3400",
            "1e-0",
            "--1",
            "1e--5",
            "١",
        ] {
            same(t);
        }
    }

    #[test]
    fn hard_cases_round_as_the_standard_library_does() {
        for t in [
            "9007199254740993",                     // 2^53 + 1: a tie, to even
            "9007199254740995",                     // a tie, to even (up)
            "9007199254740993.0000000000000000001", // just above the tie
            "2.2250738585072011e-308",              // the largest subnormal's neighbourhood
            "2.2250738585072014e-308",              // the smallest normal
            "2.225073858507201136057409796709131975934819546351645648e-308",
            "4.9406564584124654e-324", // the smallest subnormal
            "2.4703282292062327e-324", // half of it: a tie, to zero
            "2.4703282292062328e-324", // just above half
            "1e-400",
            "1.7976931348623157e308", // the largest double
            "1.7976931348623158e308",
            "1.7976931348623159e308", // rounds to infinity
            "1e400",
            "0.1",
            "0.30000000000000004",
            "123456789012345678901234567890",
            "1e22",
            "1e23",
            "8.98846567431158e307",
            "3.141592653589793238462643383279502884197",
            "0.000000000000000000000000000000000000000000001",
            "1e99999999999999999999",
            "1e-99999999999999999999",
        ] {
            same(t);
            same(&format!("-{t}"));
        }
        // Long digit strings: past the digits kept, a nonzero tail decides a tie.
        let tie = "9007199254740993";
        for tail in ["", "0", "1", "0000001"] {
            let long = format!("{tie}.{}{tail}", "0".repeat(2000));
            same(&long);
        }
        same(&format!("1{}e-3000", "0".repeat(3000)));
        same(&format!("0.{}1", "0".repeat(330)));
        same(&"7".repeat(5000));
        same(&format!("{}e-5000", "3".repeat(5000)));
    }

    #[test]
    fn random_numbers_round_as_the_standard_library_does() {
        let mut rng = Rng::new(7);
        let mut bits = || (rng.below(1 << 31) as u64) << 33 | (rng.below(1 << 31) as u64) << 2;
        for i in 0..200_000 {
            // Random bit patterns printed shortest, with 17 digits, and with extra digits.
            let x = f64::from_bits(bits() | (i & 3));
            if !x.is_finite() {
                continue;
            }
            same(&format!("{x}"));
            same(&format!("{x:e}"));
            same(&format!("{x:.16e}"));
            if i % 8 == 0 {
                same(&format!("{x:.40e}"));
            }
            // Short decimals of the kind typed into a field or written in a table.
            let digits = bits() >> 34;
            let e = (bits() >> 54) as i64 - 500;
            same(&format!("{digits}e{e}"));
            same(&format!("0.{digits}"));
        }
    }

    #[test]
    fn exact_halfway_points_and_their_neighbours_round_as_the_standard_library_does() {
        // Halfway between m 2^e and (m + 1) 2^e is (2m + 1) 2^(e - 1): written exactly in
        // decimal as an integer (e >= 1) or as (2m + 1) 5^(1 - e) x 10^(e - 1) (e > -31).
        let mut rng = Rng::new(11);
        for _ in 0..100_000 {
            let m =
                (1u128 << 52) + rng.below(1 << 31) as u128 * (1 << 21) + rng.below(1 << 21) as u128;
            let e = rng.below(100) as i64 - 30;
            let odd = 2 * m + 1;
            let (digits, exp10) = if e >= 1 {
                (odd << (e - 1), 0)
            } else {
                (odd * 5u128.pow((1 - e) as u32), e - 1)
            };
            same(&format!("{digits}e{exp10}"));
            same(&format!("{digits}1e{}", exp10 - 1));
            same(&format!("{}9e{}", digits - 1, exp10 - 1));
        }
    }
}
