//! k-means on scalar values (the weights of a tensor), the reference for the GPU kernel.
//!
//! Assignment: each value goes to its nearest centroid (the lowest index on ties). Update: each
//! centroid becomes the mean of its values; a centroid with no values keeps its place. Each round
//! never increases the inertia sum_i (x_i - c_{a(i)})^2.

pub fn assign(x: &[f32], centroids: &[f32]) -> Vec<u32> {
    x.iter()
        .map(|&v| {
            let mut best = 0usize;
            let mut best_d = f32::INFINITY;
            for (j, &c) in centroids.iter().enumerate() {
                let d = (v - c) * (v - c);
                if d < best_d {
                    best_d = d;
                    best = j;
                }
            }
            best as u32
        })
        .collect()
}

pub fn update(x: &[f32], assignment: &[u32], centroids: &[f32]) -> Vec<f32> {
    let mut sum = vec![0.0f64; centroids.len()];
    let mut count = vec![0usize; centroids.len()];
    for (&v, &a) in x.iter().zip(assignment) {
        sum[a as usize] += v as f64;
        count[a as usize] += 1;
    }
    centroids
        .iter()
        .enumerate()
        .map(|(j, &c)| {
            if count[j] > 0 {
                (sum[j] / count[j] as f64) as f32
            } else {
                c
            }
        })
        .collect()
}

pub fn inertia(x: &[f32], assignment: &[u32], centroids: &[f32]) -> f64 {
    x.iter()
        .zip(assignment)
        .map(|(&v, &a)| ((v - centroids[a as usize]) as f64).powi(2))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_never_increase_inertia() {
        let mut rng = crate::rng::Rng::new(4);
        let x: Vec<f32> = (0..500).map(|_| rng.normal() as f32).collect();
        let mut c: Vec<f32> = (0..8).map(|i| -1.0 + i as f32 * 0.3).collect();
        let mut last = f64::INFINITY;
        for _ in 0..10 {
            let a = assign(&x, &c);
            let before = inertia(&x, &a, &c);
            assert!(before <= last + 1e-9);
            c = update(&x, &a, &c);
            last = inertia(&x, &a, &c);
            assert!(last <= before + 1e-9);
        }
        assert_eq!(assign(&[0.5], &[0.0, 1.0]), vec![0]);
        assert_eq!(update(&[1.0, 3.0], &[0, 0], &[0.0, 9.0]), vec![2.0, 9.0]);
    }
}
