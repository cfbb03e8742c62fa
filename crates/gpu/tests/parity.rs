//! GPU kernels against their CPU references at awkward shapes, on whatever adapter wgpu finds
//! (in CI: Mesa's lavapipe through Vulkan). No adapter is a failure, not a skip.

use glassbox_gpu::{Gpu, MatmulShape};
use glassbox_lab::kernels::{matmul_naive, max_errors};
use glassbox_lab::rng::Rng;

fn gpu() -> Gpu {
    pollster::block_on(Gpu::new()).unwrap_or_else(|e| {
        panic!(
            "no GPU adapter: {e}. Install mesa-vulkan-drivers and set \
             VK_DRIVER_FILES=/usr/share/vulkan/icd.d/lvp_icd.x86_64.json WGPU_BACKEND=vulkan"
        )
    })
}

#[test]
fn matmul_matches_the_cpu_reference_at_awkward_shapes() {
    let gpu = gpu();
    eprintln!("adapter: {:?}", gpu.info);
    let mut rng = Rng::new(3);
    let shapes = [
        (1, 1, 1, 1),
        (1, 7, 63, 65),
        (2, 65, 7, 63),
        (1, 257, 65, 1),
        (3, 63, 257, 65),
        (1, 128, 128, 128),
    ];
    for &(batch, m, k, n) in &shapes {
        for (at, bt) in [(false, false), (true, false), (false, true), (true, true)] {
            let s = MatmulShape {
                batch,
                m,
                k,
                n,
                a_transposed: at,
                b_transposed: bt,
            };
            let a: Vec<f32> = (0..s.a_len()).map(|_| rng.normal() as f32).collect();
            let b: Vec<f32> = (0..s.b_len()).map(|_| rng.normal() as f32).collect();
            let got = pollster::block_on(gpu.matmul(&a, &b, s)).expect("matmul runs");
            let (abs, rel) = max_errors(&got, &matmul_naive(&a, &b, s));
            assert!(rel < 1e-5, "{s:?}: max abs err {abs}, rel {rel}");
        }
    }
}

#[test]
fn bad_shapes_are_errors_not_panics() {
    let gpu = gpu();
    let r = pollster::block_on(gpu.matmul(&[1.0, 2.0], &[1.0], MatmulShape::new(1, 1, 1)));
    assert!(
        matches!(r, Err(glassbox_gpu::GpuError::Invalid(_))),
        "{r:?}"
    );
}
