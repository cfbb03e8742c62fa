//! Tiled matrix multiply (kernels/matmul.wgsl): batched, with either operand transposed.
//! CPU reference: `glassbox_lab::kernels::matmul`.

use crate::{Gpu, GpuError};
use glassbox_lab::kernels::MatmulShape;

const TILE: usize = 64;

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
        let dims = [
            s.m as u32,
            s.n as u32,
            s.k as u32,
            s.a_transposed as u32,
            s.b_transposed as u32,
            (s.m * s.k) as u32,
            (s.k * s.n) as u32,
            (s.m * s.n) as u32,
        ];
        let ub = self.uniform("matmul dims", &dims);
        let ab = self.storage("matmul a", a);
        let bb = self.storage("matmul b", b);
        let cb = self.output("matmul c", s.c_len());
        let bind = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("matmul"),
            layout: &self.kernels.matmul.pipeline.get_bind_group_layout(0),
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
            pass.set_pipeline(&self.kernels.matmul.pipeline);
            pass.set_bind_group(0, &bind, &[]);
            for _ in 0..repeats.max(1) {
                pass.dispatch_workgroups(
                    s.n.div_ceil(TILE) as u32,
                    s.m.div_ceil(TILE) as u32,
                    s.batch as u32,
                );
            }
        }
        self.submit_and_read(encoder, &cb, s.c_len()).await
    }
}
