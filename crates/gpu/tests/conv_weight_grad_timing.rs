//! Timings (a measurement, not a test; `--ignored` runs it) of the convolution's weight gradient
//! at the shapes of the lab network's blocks (`Arch::lab`) for a batch of 64 images:
//!   cargo test -p glassbox-gpu --release --test conv_weight_grad_timing -- --ignored --nocapture
//! Each row is the fastest and the median of seven calls of `Gpu::conv2d_backward_weight` after
//! one warm-up call, uploads and read-back included; FLOPs are 2 C_out C_in 9 N H W.

use glassbox_gpu::Gpu;
use glassbox_lab::rng::Rng;
use glassbox_lab::vision::network::Network;
use glassbox_lab::vision::nn::ConvShape;
use glassbox_lab::vision::vgg::Arch;
use std::time::Instant;

#[test]
#[ignore]
fn conv2d_weight_gradient_timings_at_the_lab_networks_shapes() {
    let gpu = pollster::block_on(Gpu::new()).expect("a GPU adapter");
    eprintln!("adapter: {} ({})", gpu.info.name, gpu.info.backend);
    let mut rng = Rng::new(5);
    let n = 64;
    let mut total = 0.0;
    for b in &Network::new(&Arch::lab(), 1).blocks {
        let s = ConvShape {
            n,
            c_in: b.c_in,
            c_out: b.c_out,
            h: b.size,
            w: b.size,
        };
        let x: Vec<f32> = (0..s.x_len()).map(|_| rng.normal() as f32).collect();
        let dy: Vec<f32> = (0..s.y_len()).map(|_| rng.normal() as f32).collect();
        let run = || pollster::block_on(gpu.conv2d_backward_weight(&x, &dy, s)).unwrap();
        run();
        let mut ms: Vec<f64> = (0..7)
            .map(|_| {
                let t = Instant::now();
                run();
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        ms.sort_by(f64::total_cmp);
        total += ms[0];
        eprintln!(
            "C_in {:>3} C_out {:>3} {:>2} x {:<2}: {:>7.2} ms (median {:>7.2}) {:>6.2} GFLOP/s",
            s.c_in,
            s.c_out,
            s.h,
            s.w,
            ms[0],
            ms[3],
            2.0 * s.macs() as f64 / ms[0] / 1e6
        );
    }
    eprintln!("all blocks: {total:.1} ms");
}
