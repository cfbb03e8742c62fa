//! Matrix multiply: batched, with either operand transposed. Tiled (kernels/matmul.wgsl: 128 x 128
//! tiles, or 64 x 64 where those pad the product much less), or for at most `FEW_ROWS` rows one
//! invocation per output (kernels/matmul_rows.wgsl), where a tile would be mostly padding. CPU
//! reference: `glassbox_lab::kernels::matmul`.

use crate::ops::{Kernel, Kernels};
use crate::{Gpu, GpuError};
use glassbox_lab::kernels::MatmulShape;

/// The large and the small tile's side (kernels/matmul.wgsl as written, and `matmul_small`).
const TILE: usize = 128;
const SMALL_TILE: usize = 64;

/// Products of at most this many rows use the row kernel.
const FEW_ROWS: usize = 8;

/// The kernel for shape `s`, its uniform words and workgroups.
pub(crate) fn matmul_pass<'k>(
    kernels: &'k Kernels,
    s: &MatmulShape,
) -> (&'k Kernel, Vec<u32>, (u32, u32, u32)) {
    let dims = vec![
        s.m as u32,
        s.n as u32,
        s.k as u32,
        s.a_transposed as u32,
        s.b_transposed as u32,
        (s.m * s.k) as u32,
        (s.k * s.n) as u32,
        (s.m * s.n) as u32,
    ];
    if s.m <= FEW_ROWS {
        let groups = (s.n.div_ceil(64) as u32, s.m as u32, s.batch as u32);
        return (&kernels.matmul_rows, dims, groups);
    }
    let (kernel, tile) = if large_tile(s.m, s.n) {
        (&kernels.matmul, TILE)
    } else {
        (&kernels.matmul_small, SMALL_TILE)
    };
    let groups = (
        s.n.div_ceil(tile) as u32,
        s.m.div_ceil(tile) as u32,
        s.batch as u32,
    );
    (kernel, dims, groups)
}

/// Whether an m x n product takes the 128 x 128 tile. The large tile does about 10% more per thread
/// on lavapipe (one barrier and one staging pass per 128 x 128 x 8 instead of 64 x 64 x 16); it is
/// taken unless it pads the product by more than an eighth beyond what the small one pads (9 or
/// 192 rows, say).
fn large_tile(m: usize, n: usize) -> bool {
    let padded = |t: usize| m.div_ceil(t) * t * n.div_ceil(t) * t;
    8 * padded(TILE) <= 9 * padded(SMALL_TILE)
}

impl Gpu {
    /// C = op(A) op(B) for every batch, read back once.
    pub async fn matmul(&self, a: &[f32], b: &[f32], s: MatmulShape) -> Result<Vec<f32>, GpuError> {
        self.matmul_repeated(a, b, s, 1).await
    }

    /// The same product dispatched `repeats` times in one submission (for benchmarks: the upload
    /// and the read-back are paid once), read back once.
    pub async fn matmul_repeated(
        &self,
        a: &[f32],
        b: &[f32],
        s: MatmulShape,
        repeats: usize,
    ) -> Result<Vec<f32>, GpuError> {
        s.check(a, b).map_err(GpuError::Invalid)?;
        self.check_alive()?;
        let limit = self.info.max_storage_buffer_binding_size as usize / 4;
        if s.a_len().max(s.b_len()).max(s.c_len()) > limit {
            return Err(GpuError::Invalid(format!(
                "matmul {s:?} exceeds this adapter's buffer limit"
            )));
        }
        let (kernel, dims, groups) = matmul_pass(&self.kernels, &s);
        let ub = self.uniform("matmul dims", &dims);
        let ab = self.storage("matmul a", a);
        let bb = self.storage("matmul b", b);
        let cb = self.output("matmul c", s.c_len());
        let bind = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("matmul"),
            layout: &kernel.pipeline.get_bind_group_layout(0),
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: ub.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: ab.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: bb.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 3,
                    resource: cb.as_entire_binding(),
                },
            ],
        });
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("matmul"),
            });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("matmul"),
                timestamp_writes: None,
            });
            pass.set_pipeline(&kernel.pipeline);
            pass.set_bind_group(0, &bind, &[]);
            for _ in 0..repeats.max(1) {
                pass.dispatch_workgroups(groups.0, groups.1, groups.2);
            }
        }
        self.submit_and_read(encoder, &cb, s.c_len()).await
    }
}

#[cfg(test)]
mod tests {
    use super::large_tile;

    #[test]
    fn thin_or_ragged_products_take_the_small_tile() {
        for (m, n) in [
            (128, 128),
            (256, 256),
            (512, 512),
            (1024, 1000),
            (65, 65),
            (501, 501),
        ] {
            assert!(large_tile(m, n), "{m} x {n}");
        }
        for (m, n) in [
            (9, 512),
            (512, 9),
            (64, 1024),
            (192, 512),
            (129, 129),
            (257, 65),
        ] {
            assert!(!large_tile(m, n), "{m} x {n}");
        }
    }
}
