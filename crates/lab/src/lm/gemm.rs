//! Matrix products for the language model, all through `matrixmultiply::sgemm` (natively on every
//! core): C = beta C + op(A) op(B), with op(X) = X or X^T and row-major storage of every operand
//! (a transposed operand is only a change of strides). A `View` is a strided window into a slice,
//! so one head's columns of a wider matrix can be multiplied without copying.

/// A rows x cols window into `data`: element (i, j) is `data[i * rs + j * cs]`.
#[derive(Clone, Copy)]
pub(crate) struct View<'a> {
    pub data: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub rs: usize,
    pub cs: usize,
}

impl<'a> View<'a> {
    /// A contiguous row-major rows x cols matrix.
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Self {
        View {
            data,
            rows,
            cols,
            rs: cols,
            cs: 1,
        }
    }

    /// Columns `start..start + cols` of a row-major matrix whose rows are `stride` apart.
    pub fn cols(data: &'a [f32], rows: usize, stride: usize, start: usize, cols: usize) -> Self {
        View {
            data: &data[start.min(data.len())..],
            rows,
            cols,
            rs: stride,
            cs: 1,
        }
    }

    /// The transpose (no copy).
    pub fn t(self) -> Self {
        View {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
        }
    }

    fn fits(&self) -> bool {
        self.rows == 0
            || self.cols == 0
            || (self.rows - 1) * self.rs + (self.cols - 1) * self.cs < self.data.len()
    }
}

/// The output window of a product: element (i, j) is `data[i * rs + j]`.
pub(crate) struct ViewMut<'a> {
    pub data: &'a mut [f32],
    pub rows: usize,
    pub cols: usize,
    pub rs: usize,
}

impl<'a> ViewMut<'a> {
    pub fn new(data: &'a mut [f32], rows: usize, cols: usize) -> Self {
        ViewMut {
            data,
            rows,
            cols,
            rs: cols,
        }
    }

    pub fn cols(
        data: &'a mut [f32],
        rows: usize,
        stride: usize,
        start: usize,
        cols: usize,
    ) -> Self {
        let start = start.min(data.len());
        ViewMut {
            data: &mut data[start..],
            rows,
            cols,
            rs: stride,
        }
    }
}

/// C = beta C + A B. Shapes are the model's own (never user input), so a mismatch is a bug: it
/// stops here rather than reading out of bounds.
pub(crate) fn gemm(a: View, b: View, c: ViewMut, beta: f32) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert!(
        b.rows == k && c.rows == m && c.cols == n,
        "lm gemm: shapes {}x{} . {}x{} -> {}x{}",
        a.rows,
        a.cols,
        b.rows,
        b.cols,
        c.rows,
        c.cols
    );
    assert!(
        a.fits() && b.fits(),
        "lm gemm: operand window out of bounds"
    );
    assert!(
        m == 0 || n == 0 || (m - 1) * c.rs + n <= c.data.len(),
        "lm gemm: output window out of bounds"
    );
    if m == 0 || n == 0 {
        return;
    }
    if m <= SMALL_M && (b.cs == 1 || b.rs == 1) {
        return small(a, b, c, beta);
    }
    if k == 0 {
        for i in 0..m {
            c.data[i * c.rs..i * c.rs + n]
                .iter_mut()
                .for_each(|v| *v *= beta);
        }
        return;
    }
    // SAFETY: the checks above keep every index sgemm reads or writes inside the three slices, and
    // the output is borrowed mutably, so it cannot alias the inputs.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.data.as_ptr(),
            a.rs as isize,
            a.cs as isize,
            b.data.as_ptr(),
            b.rs as isize,
            b.cs as isize,
            beta,
            c.data.as_mut_ptr(),
            c.rs as isize,
            1,
        );
    }
}

/// Products with at most this many rows (generation's one new position) skip sgemm's packing,
/// which would copy all of B for each call.
const SMALL_M: usize = 4;

/// C = beta C + A B by rows: axpy over B's rows when they are contiguous, else dot products
/// with B's contiguous columns.
fn small(a: View, b: View, c: ViewMut, beta: f32) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    for i in 0..m {
        let out = &mut c.data[i * c.rs..i * c.rs + n];
        if beta == 0.0 {
            out.fill(0.0);
        } else {
            out.iter_mut().for_each(|v| *v *= beta);
        }
        let ai = |p: usize| a.data[i * a.rs + p * a.cs];
        if b.cs == 1 {
            for p in 0..k {
                let (x, row) = (ai(p), &b.data[p * b.rs..p * b.rs + n]);
                out.iter_mut().zip(row).for_each(|(o, &v)| *o += x * v);
            }
        } else {
            let arow: Vec<f32> = (0..k).map(ai).collect();
            for (j, o) in out.iter_mut().enumerate() {
                let col = &b.data[j * b.cs..j * b.cs + k];
                *o += dot(&arow, col);
            }
        }
    }
}

/// x . y with eight partial sums (so that it vectorises).
fn dot(x: &[f32], y: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (xc, yc) = (x.chunks_exact(8), y.chunks_exact(8));
    let tail: f32 = xc
        .remainder()
        .iter()
        .zip(yc.remainder())
        .map(|(a, b)| a * b)
        .sum();
    for (a, b) in xc.zip(yc) {
        for l in 0..8 {
            acc[l] += a[l] * b[l];
        }
    }
    acc.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strided_products_match_the_triple_loop() {
        // A 2 x 3, B 3 x 2, computed as A B, and as (A^T)^T (B^T)^T from transposed storage.
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let b = [7.0, 8.0, 9.0, 10.0, 11.0, 12.0];
        let want = [58.0, 64.0, 139.0, 154.0];
        let mut c = [0.0f32; 4];
        gemm(
            View::new(&a, 2, 3),
            View::new(&b, 3, 2),
            ViewMut::new(&mut c, 2, 2),
            0.0,
        );
        assert_eq!(c, want);
        let at = [1.0, 4.0, 2.0, 5.0, 3.0, 6.0];
        let bt = [7.0, 9.0, 11.0, 8.0, 10.0, 12.0];
        let mut c2 = [1.0f32; 4];
        gemm(
            View::new(&at, 3, 2).t(),
            View::new(&bt, 2, 3).t(),
            ViewMut::new(&mut c2, 2, 2),
            1.0,
        );
        assert_eq!(c2, want.map(|v| v + 1.0));
        // Columns 1..3 of a 2 x 4 matrix times a 2 x 1 column.
        let wide = [0.0, 1.0, 2.0, 0.0, 0.0, 3.0, 4.0, 0.0];
        let mut c3 = [0.0f32; 2];
        gemm(
            View::cols(&wide, 2, 4, 1, 2),
            View::new(&[1.0, 1.0], 2, 1),
            ViewMut::new(&mut c3, 2, 1),
            0.0,
        );
        assert_eq!(c3, [3.0, 7.0]);
    }
}
