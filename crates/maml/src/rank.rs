//! Rankings the chapters share: the indices of values from largest to smallest (a language model's
//! most likely characters, channels by importance), numbers in ascending order (medians,
//! percentiles, sorted draws), and strings by how often they occur. Ties keep
//! a fixed order (the lower index, the alphabetically first string), so every run lists the same.

use std::cmp::Ordering;
use std::collections::HashMap;

/// The indices 0..n in the order `cmp` gives them (a stable sort). Every ranking here goes through
/// it, so the download holds one sort instead of one per call site's element type.
pub fn order_by(n: usize, cmp: &dyn Fn(usize, usize) -> Ordering) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| cmp(a, b));
    order
}

/// The indices of `values` from largest to smallest (IEEE total order); ties: the lower index first.
pub fn largest_first(values: &[f64]) -> Vec<usize> {
    order_by(values.len(), &|a, b| values[b].total_cmp(&values[a]))
}

/// The distinct values, smallest first (one sort of integers for every caller: characters,
/// colours, float bit patterns and counts are all written as u64).
pub fn distinct(mut values: Vec<u64>) -> Vec<u64> {
    values.sort_unstable();
    values.dedup();
    values
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
    let v: Vec<(String, usize)> = counts.into_iter().collect();
    let order = order_by(v.len(), &|a, b| {
        v[b].1.cmp(&v[a].1).then_with(|| v[a].0.cmp(&v[b].0))
    });
    let mut slots: Vec<Option<(String, usize)>> = v.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
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
    fn distinct_sorts_and_drops_repeats() {
        assert_eq!(
            distinct(vec![5, 1, 5, 3, 1, u64::MAX]),
            vec![1, 3, 5, u64::MAX]
        );
        assert!(distinct(Vec::new()).is_empty());
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
