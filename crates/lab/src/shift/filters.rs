//! The spatial filters behind the blur and pixelate corruptions, on one side x side image (row-major).
//!
//! Gaussian kernel: g_k = exp(-k^2 / (2 sigma^2)) / sum_j exp(-j^2 / (2 sigma^2)), k = -R..=R with
//!   R = ceil(3 sigma); the 2-D blur g(dy) g(dx) is separable: rows, then columns.
//! Disk kernel: d(dy, dx) = 1 / |D| on D = {(dy, dx): dy^2 + dx^2 <= r^2}, 0 elsewhere.
//! Convolution: y[r, c] = sum_{dy, dx} K(dy, dx) x[clamp(r + dy), clamp(c + dx)], indices clamped
//!   to 0..side (the edge pixels are replicated), so a kernel that sums to 1 keeps a flat image flat
//!   (both kernels are symmetric, so correlation and convolution agree).
//! Pixelate to n x n: area averaging, then nearest-neighbour back up. Low-resolution pixel j covers
//!   [j side / n, (j + 1) side / n) of the image; in units of 1 / n that is [j side, (j + 1) side)
//!   and source pixel i covers [i n, (i + 1) n), so its weight, overlap / side, is an exact ratio of
//!   integers (fractional overlap included). Back up, pixel r takes block floor((r + 1/2) n / side).

/// The 1-D Gaussian kernel of width `sigma` (> 0): 2 ceil(3 sigma) + 1 taps, summing to 1.
pub fn gaussian_kernel(sigma: f64) -> Vec<f64> {
    let radius = (3.0 * sigma).ceil() as i64;
    let taps: Vec<f64> = (-radius..=radius)
        .map(|k| (-((k * k) as f64) / (2.0 * sigma * sigma)).exp())
        .collect();
    let total: f64 = taps.iter().sum();
    taps.into_iter().map(|g| g / total).collect()
}

/// The disk kernel of radius `radius`: (2 radius + 1)^2 taps, row-major, uniform on the disk.
pub fn disk_kernel(radius: usize) -> Vec<f64> {
    let r = radius as i64;
    let inside = |dy: i64, dx: i64| dy * dy + dx * dx <= r * r;
    let count = (-r..=r)
        .flat_map(|dy| (-r..=r).map(move |dx| (dy, dx)))
        .filter(|&(dy, dx)| inside(dy, dx))
        .count() as f64;
    (-r..=r)
        .flat_map(|dy| (-r..=r).map(move |dx| (dy, dx)))
        .map(|(dy, dx)| if inside(dy, dx) { 1.0 / count } else { 0.0 })
        .collect()
}

/// Index `i + offset`, clamped into 0..side (replicate the edge).
fn clamped(i: usize, offset: i64, side: usize) -> usize {
    (i as i64 + offset).clamp(0, side as i64 - 1) as usize
}

/// Convolve with the separable kernel `taps` (odd length) along rows, then along columns.
pub fn convolve_separable(image: &[f32], side: usize, taps: &[f64]) -> Vec<f32> {
    let radius = (taps.len() / 2) as i64;
    let along = |src: &[f32], horizontal: bool| -> Vec<f32> {
        let mut out = vec![0.0f32; side * side];
        for r in 0..side {
            for c in 0..side {
                let mut sum = 0.0f64;
                for (k, &w) in taps.iter().enumerate() {
                    let offset = k as i64 - radius;
                    let (rr, cc) = if horizontal {
                        (r, clamped(c, offset, side))
                    } else {
                        (clamped(r, offset, side), c)
                    };
                    sum += w * src[rr * side + cc] as f64;
                }
                out[r * side + c] = sum as f32;
            }
        }
        out
    };
    along(&along(image, true), false)
}

/// Convolve with the square kernel `kernel` ((2R + 1)^2 taps, row-major).
pub fn convolve_2d(image: &[f32], side: usize, kernel: &[f64]) -> Vec<f32> {
    let width = (kernel.len() as f64).sqrt().round() as usize;
    let radius = (width / 2) as i64;
    let mut out = vec![0.0f32; side * side];
    for r in 0..side {
        for c in 0..side {
            let mut sum = 0.0f64;
            for (k, &w) in kernel.iter().enumerate() {
                if w == 0.0 {
                    continue;
                }
                let (dy, dx) = ((k / width) as i64 - radius, (k % width) as i64 - radius);
                sum += w * image[clamped(r, dy, side) * side + clamped(c, dx, side)] as f64;
            }
            out[r * side + c] = sum as f32;
        }
    }
    out
}

/// Area-averaging weights from `side` pixels down to `n` (1 <= n <= side): n x side, rows sum to 1.
pub fn area_weights(side: usize, n: usize) -> Vec<f64> {
    let mut weights = vec![0.0; n * side];
    for j in 0..n {
        let (low, high) = (j * side, (j + 1) * side);
        for i in 0..side {
            let overlap = ((i + 1) * n).min(high).saturating_sub((i * n).max(low));
            weights[j * side + i] = overlap as f64 / side as f64;
        }
    }
    weights
}

/// The low-resolution block (0..n) that full-resolution pixel `r` takes when scaled back up.
pub fn nearest_block(r: usize, side: usize, n: usize) -> usize {
    ((2 * r + 1) * n / (2 * side)).min(n - 1)
}

/// Pixelate: area-average down to n x n (1 <= n <= side), then nearest-neighbour back up.
pub fn pixelate(image: &[f32], side: usize, n: usize) -> Vec<f32> {
    let a = area_weights(side, n);
    // low = A X A^T, rows first.
    let mut rows = vec![0.0f64; n * side];
    for j in 0..n {
        for c in 0..side {
            rows[j * side + c] = (0..side)
                .map(|r| a[j * side + r] * image[r * side + c] as f64)
                .sum();
        }
    }
    let mut low = vec![0.0f64; n * n];
    for j in 0..n {
        for k in 0..n {
            low[j * n + k] = (0..side)
                .map(|c| a[k * side + c] * rows[j * side + c])
                .sum();
        }
    }
    let mut out = vec![0.0f32; side * side];
    for r in 0..side {
        for c in 0..side {
            out[r * side + c] =
                low[nearest_block(r, side, n) * n + nearest_block(c, side, n)] as f32;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use std::collections::HashSet;

    #[test]
    fn gaussian_kernels_sum_to_one_are_symmetric_and_three_sigma_wide() {
        for sigma in [1.0, 2.0, 3.0, 4.0, 6.0] {
            let g = gaussian_kernel(sigma);
            assert_eq!(g.len(), 2 * (3.0 * sigma) as usize + 1, "sigma {sigma}");
            assert!((g.iter().sum::<f64>() - 1.0).abs() < 1e-12, "sigma {sigma}");
            assert!(g.iter().zip(g.iter().rev()).all(|(a, b)| a == b));
            let mid = g.len() / 2;
            assert!(
                g[..mid].windows(2).all(|w| w[0] < w[1]),
                "rises to the centre"
            );
        }
    }

    #[test]
    fn disk_kernels_sum_to_one_and_cover_the_disk() {
        // Lattice points in the disk of radius r: 5, 13, 29, 49, 81.
        for (r, count) in [(1, 5), (2, 13), (3, 29), (4, 49), (5, 81)] {
            let d = disk_kernel(r);
            assert_eq!(d.len(), (2 * r + 1) * (2 * r + 1));
            assert!((d.iter().sum::<f64>() - 1.0).abs() < 1e-12, "r {r}");
            assert_eq!(d.iter().filter(|&&w| w > 0.0).count(), count, "r {r}");
            assert_eq!(d[0], 0.0, "the corner is outside the disk");
        }
    }

    #[test]
    fn area_weights_rows_sum_to_one_and_columns_to_n_over_side() {
        for n in [17, 14, 11, 8, 7] {
            let a = area_weights(28, n);
            for j in 0..n {
                let row: f64 = a[j * 28..(j + 1) * 28].iter().sum();
                assert!((row - 1.0).abs() < 1e-12, "n {n} row {j}");
            }
            // Every source pixel is shared out whole: its weights add up to n / side.
            for i in 0..28 {
                let col: f64 = (0..n).map(|j| a[j * 28 + i]).sum();
                assert!((col - n as f64 / 28.0).abs() < 1e-12, "n {n} column {i}");
            }
        }
    }

    #[test]
    fn a_point_spreads_into_the_kernel_away_from_the_borders() {
        let mut image = vec![0.0f32; 28 * 28];
        image[14 * 28 + 14] = 1.0;
        let g = gaussian_kernel(1.0);
        let out = convolve_separable(&image, 28, &g);
        assert!((out[14 * 28 + 15] as f64 - g[3] * g[4]).abs() < 1e-7);
        let d = disk_kernel(2);
        let out = convolve_2d(&image, 28, &d);
        assert!(
            (out[12 * 28 + 14] as f64 - d[2]).abs() < 1e-7,
            "(-2, 0) is on the disk"
        );
        assert_eq!(out[12 * 28 + 13], 0.0, "(-2, -1) is off the disk");
    }

    #[test]
    fn the_borders_replicate_the_edge_pixels() {
        // Left half white, right half black: with replicated edges the outer columns keep their
        // value (zero padding would darken column 0, wrapping around would mix the halves).
        let step: Vec<f32> = (0..28 * 28)
            .map(|k| if k % 28 < 14 { 1.0 } else { 0.0 })
            .collect();
        for out in [
            convolve_separable(&step, 28, &gaussian_kernel(2.0)),
            convolve_2d(&step, 28, &disk_kernel(3)),
        ] {
            for r in [0, 13, 27] {
                assert!((out[r * 28] - 1.0).abs() < 1e-6, "row {r}: {}", out[r * 28]);
                assert!(
                    out[r * 28 + 27].abs() < 1e-6,
                    "row {r}: {}",
                    out[r * 28 + 27]
                );
            }
        }
    }

    #[test]
    fn pixelate_makes_n_by_n_blocks_of_block_means() {
        let mut rng = Rng::new(7);
        let image: Vec<f32> = (0..28 * 28).map(|_| rng.next_f64() as f32).collect();
        // The sizes of the pixelate ladder, round(28 c).
        for n in [17, 14, 11, 8, 7] {
            let out = pixelate(&image, 28, n);
            let distinct: HashSet<u32> = out.iter().map(|v| v.to_bits()).collect();
            assert_eq!(distinct.len(), n * n, "n {n}");
            for row in out.chunks(28) {
                let runs = 1 + row.windows(2).filter(|w| w[0] != w[1]).count();
                assert_eq!(runs, n, "n {n}: runs in a row");
            }
            if 28 % n != 0 {
                continue;
            }
            // Whole blocks (n = 14, 7): each is constant and equal to the image's block mean.
            let b = 28 / n;
            for (br, bc) in (0..n).flat_map(|br| (0..n).map(move |bc| (br, bc))) {
                let cells: Vec<usize> = (0..b * b)
                    .map(|k| (br * b + k / b) * 28 + bc * b + k % b)
                    .collect();
                let mean = cells.iter().map(|&k| image[k] as f64).sum::<f64>() / (b * b) as f64;
                assert!(cells.iter().all(|&k| out[k] == out[cells[0]]), "n {n}");
                assert!((out[cells[0]] as f64 - mean).abs() < 1e-6, "n {n}");
            }
        }
    }
}
