//! Rankings the chapters share: the indices of values from largest to smallest (a language model's
//! most likely characters, channels by importance), numbers in ascending order (medians,
//! percentiles, sorted draws), and strings by how often they occur. Ties keep
//! a fixed order (the lower index, the alphabetically first string), so every run lists the same.

use std::collections::HashMap;

/// The indices of `values` from largest to smallest (IEEE total order); ties: the lower index first.
pub fn largest_first(values: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
    order
}

/// `values` from smallest to largest (IEEE total order). Through `largest_first`, so the download
/// holds one sort of numbers, not one per call site's type.
pub fn ascending(values: &[f64]) -> Vec<f64> {
    largest_first(values)
        .into_iter()
        .rev()
        .map(|i| values[i])
        .collect()
}

/// `largest_first` of single-precision values (each widened exactly).
pub fn largest_first_f32(values: &[f32]) -> Vec<usize> {
    largest_first(&values.iter().map(|&v| f64::from(v)).collect::<Vec<_>>())
}

/// Each string counted, the most frequent first (ties in alphabetical order).
pub fn by_count(counts: HashMap<String, usize>) -> Vec<(String, usize)> {
    let mut v: Vec<(String, usize)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn largest_first_breaks_ties_by_index() {
        assert_eq!(largest_first(&[1.0, 3.0, 2.0, 3.0]), vec![1, 3, 2, 0]);
        assert_eq!(largest_first_f32(&[0.5, -1.0, 0.5]), vec![0, 2, 1]);
        assert!(largest_first(&[]).is_empty());
        let v = [2.0, -0.0, f64::INFINITY, 0.0, -3.5, 2.0];
        let mut sorted = v.to_vec();
        sorted.sort_by(f64::total_cmp);
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&ascending(&v)), bits(&sorted));
    }

    #[test]
    fn by_count_breaks_ties_alphabetically() {
        let counts = HashMap::from([
            ("b".to_string(), 2),
            ("a".to_string(), 2),
            ("c".to_string(), 5),
        ]);
        let names: Vec<_> = by_count(counts)
            .into_iter()
            .map(|(s, n)| format!("{s}{n}"))
            .collect();
        assert_eq!(names, ["c5", "a2", "b2"]);
    }
}
