//! The 3 x 3 convolution (stride 1, zero padding 1) as a matrix product: the input's unfolding
//!   cols[c 9 + i 3 + j, h W + w] = x[c, h + i - 1, w + j - 1]   (0 outside the H x W image),
//! so that y = Wt cols with the weights Wt as C_out x (C_in 9) (im2col), and its transpose, which
//! adds every entry of cols back to the pixel it came from: dx = col2im(Wt^T dy) (col2im).
//! One image at a time (x is C_in x H x W); a row of cols is a shifted copy of an input plane, so
//! both run as slice copies and sums.

/// The columns of one image within the row and of the row within the plane that a kernel offset
/// (`i` or `j` in 0..3) reads: (first output index, first input index, length).
fn span(offset: usize, size: usize) -> (usize, usize, usize) {
    match offset {
        0 => (1, 0, size.saturating_sub(1)),
        1 => (0, 0, size),
        _ => (0, 1, size.saturating_sub(1)),
    }
}

/// Unfold one C_in x H x W image into cols, (C_in 9) x (H W).
pub fn im2col3x3(x: &[f32], c_in: usize, h: usize, w: usize, cols: &mut [f32]) {
    let hw = h * w;
    assert!(
        x.len() >= c_in * hw && cols.len() >= c_in * 9 * hw,
        "im2col3x3: buffers too short"
    );
    for c in 0..c_in {
        let plane = &x[c * hw..(c + 1) * hw];
        for i in 0..3 {
            let (h_out, h_in, rows) = span(i, h);
            for j in 0..3 {
                let (w_out, w_in, len) = span(j, w);
                let row = &mut cols[(c * 9 + i * 3 + j) * hw..(c * 9 + i * 3 + j + 1) * hw];
                row.fill(0.0);
                for r in 0..rows {
                    let (to, from) = ((h_out + r) * w + w_out, (h_in + r) * w + w_in);
                    row[to..to + len].copy_from_slice(&plane[from..from + len]);
                }
            }
        }
    }
}

/// The transpose of `im2col3x3`: dx (C_in x H x W) = the sum, over the entries of cols, of each at
/// the pixel it was read from.
pub fn col2im3x3(cols: &[f32], c_in: usize, h: usize, w: usize, dx: &mut [f32]) {
    let hw = h * w;
    assert!(
        dx.len() >= c_in * hw && cols.len() >= c_in * 9 * hw,
        "col2im3x3: buffers too short"
    );
    dx[..c_in * hw].fill(0.0);
    for c in 0..c_in {
        let plane = &mut dx[c * hw..(c + 1) * hw];
        for i in 0..3 {
            let (h_out, h_in, rows) = span(i, h);
            for j in 0..3 {
                let (w_out, w_in, len) = span(j, w);
                let row = &cols[(c * 9 + i * 3 + j) * hw..(c * 9 + i * 3 + j + 1) * hw];
                for r in 0..rows {
                    let (from, to) = ((h_out + r) * w + w_out, (h_in + r) * w + w_in);
                    plane[to..to + len]
                        .iter_mut()
                        .zip(&row[from..from + len])
                        .for_each(|(d, v)| *d += v);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, entry by entry.
    fn im2col_reference(x: &[f32], c_in: usize, h: usize, w: usize) -> Vec<f32> {
        let mut cols = vec![0.0; c_in * 9 * h * w];
        for c in 0..c_in {
            for i in 0..3 {
                for j in 0..3 {
                    for y in 0..h {
                        for z in 0..w {
                            let (yy, zz) =
                                (y as isize + i as isize - 1, z as isize + j as isize - 1);
                            if yy >= 0 && zz >= 0 && (yy as usize) < h && (zz as usize) < w {
                                cols[(c * 9 + i * 3 + j) * h * w + y * w + z] =
                                    x[(c * h + yy as usize) * w + zz as usize];
                            }
                        }
                    }
                }
            }
        }
        cols
    }

    fn values(n: usize, seed: u32) -> Vec<f32> {
        (0..n)
            .map(|i| ((i as u32).wrapping_mul(2654435761) ^ seed) % 1000)
            .map(|v| v as f32 / 500.0 - 1.0)
            .collect()
    }

    #[test]
    fn im2col_follows_the_definition_and_col2im_is_its_transpose() {
        for &(c_in, h, w) in &[(1, 1, 1), (2, 1, 3), (3, 4, 4), (2, 7, 5), (1, 2, 1)] {
            let x = values(c_in * h * w, 7);
            let mut cols = vec![f32::NAN; c_in * 9 * h * w];
            im2col3x3(&x, c_in, h, w, &mut cols);
            assert_eq!(cols, im2col_reference(&x, c_in, h, w), "{c_in} x {h} x {w}");
            // <im2col(x), g> = <x, col2im(g)> for any g.
            let g = values(cols.len(), 99);
            let mut dx = vec![f32::NAN; x.len()];
            col2im3x3(&g, c_in, h, w, &mut dx);
            let lhs: f64 = cols.iter().zip(&g).map(|(a, b)| (a * b) as f64).sum();
            let rhs: f64 = x.iter().zip(&dx).map(|(a, b)| (a * b) as f64).sum();
            assert!(
                (lhs - rhs).abs() < 1e-4,
                "{c_in} x {h} x {w}: {lhs} vs {rhs}"
            );
        }
    }
}
