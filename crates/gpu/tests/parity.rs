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

/// The tiled kernel (128 x 128 tiles, and 64 x 64 where those pad much less) and the few-row
/// kernel, every transpose, batches, at awkward sizes: ragged edges in m, n and k (k not a multiple
/// of either tile's k-slice of 8 or 16).
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
        (2, 3, 129, 70),
        (1, 8, 128, 512),
        (1, 9, 33, 17),
        (3, 7, 33, 129),
        (3, 129, 7, 33),
        (1, 129, 7, 33),
        (2, 250, 19, 250),
        (1, 130, 40, 300),
        (3, 9, 64, 9),
        (1, 65, 300, 65),
        (1, 256, 129, 256),
        (2, 500, 3, 20),
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
            let a = randv(s.a_len(), &mut rng);
            let b = randv(s.b_len(), &mut rng);
            let got = pollster::block_on(gpu.matmul(&a, &b, s)).expect("matmul runs");
            let (abs, rel) = max_errors(&got, &matmul_naive(&a, &b, s));
            assert!(rel < 1e-5, "{s:?}: max abs err {abs}, rel {rel}");
        }
    }
}

/// The implicit-GEMM convolution at odd sizes, forward and input gradient, with every tile height
/// (16, 32 and 64 output channels; the input gradient's rows are the input channels) and ragged
/// edges everywhere (k = 9 C is never a multiple of the 16-deep slice). The CPU references sum each
/// output in the kernel's order, the order of the direct kernel it replaced (c or o, then i, then
/// j; an input outside the image adds 0 w where the direct kernel skipped it), so they agree to 1e-6.
#[test]
fn conv2d_implicit_gemm_matches_the_cpu_at_odd_sizes() {
    use glassbox_lab::vision::nn::{conv2d_backward_input, conv2d_forward, ConvShape};
    let gpu = gpu();
    let mut rng = Rng::new(13);
    let mut worst: f64 = 0.0;
    for n in 1..=3 {
        for (c_in, c_out) in [(1, 1), (1, 5), (3, 5), (3, 65), (17, 1), (17, 65), (33, 20)] {
            for (h, w) in [(1, 1), (5, 9), (9, 5), (31, 31)] {
                let s = ConvShape {
                    n,
                    c_in,
                    c_out,
                    h,
                    w,
                };
                let x = randv(s.x_len(), &mut rng);
                let wt = randv(s.w_len(), &mut rng);
                let dy = randv(s.y_len(), &mut rng);
                let y = pollster::block_on(gpu.conv2d(&x, &wt, s)).unwrap();
                let dx = pollster::block_on(gpu.conv2d_backward_input(&dy, &wt, s)).unwrap();
                for (what, got, want) in [
                    ("conv2d", y, conv2d_forward(&x, &wt, s)),
                    ("conv2d dx", dx, conv2d_backward_input(&dy, &wt, s)),
                ] {
                    assert_eq!(got.len(), want.len(), "{what} {s:?}: length");
                    let want: Vec<f64> = want.iter().map(|&v| v as f64).collect();
                    let (abs, rel) = max_errors(&got, &want);
                    assert!(rel <= 1e-6, "{what} {s:?}: max abs err {abs}, rel {rel}");
                    worst = worst.max(rel);
                }
            }
        }
    }
    eprintln!("largest relative error: {worst:e}");
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

fn randv(n: usize, rng: &mut Rng) -> Vec<f32> {
    (0..n).map(|_| rng.normal() as f32).collect()
}

fn close(what: &str, got: &[f32], want: &[f32], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let want64: Vec<f64> = want.iter().map(|&v| v as f64).collect();
    let (abs, rel) = max_errors(got, &want64);
    assert!(rel <= tol, "{what}: max abs err {abs}, rel {rel} > {tol}");
}

#[test]
fn conv2d_forward_and_backward_match_the_cpu() {
    use glassbox_lab::vision::nn::{
        conv2d_backward_input, conv2d_backward_weight, conv2d_forward, ConvShape,
    };
    let gpu = gpu();
    let mut rng = Rng::new(7);
    for s in [
        ConvShape {
            n: 1,
            c_in: 1,
            c_out: 1,
            h: 1,
            w: 1,
        },
        ConvShape {
            n: 2,
            c_in: 3,
            c_out: 7,
            h: 5,
            w: 9,
        },
        ConvShape {
            n: 3,
            c_in: 8,
            c_out: 5,
            h: 17,
            w: 13,
        },
    ] {
        let x = randv(s.x_len(), &mut rng);
        let w = randv(s.w_len(), &mut rng);
        let dy = randv(s.y_len(), &mut rng);
        close(
            &format!("conv2d {s:?}"),
            &pollster::block_on(gpu.conv2d(&x, &w, s)).unwrap(),
            &conv2d_forward(&x, &w, s),
            1e-5,
        );
        close(
            &format!("conv2d dx {s:?}"),
            &pollster::block_on(gpu.conv2d_backward_input(&dy, &w, s)).unwrap(),
            &conv2d_backward_input(&dy, &w, s),
            1e-5,
        );
        close(
            &format!("conv2d dw {s:?}"),
            &pollster::block_on(gpu.conv2d_backward_weight(&x, &dy, s)).unwrap(),
            &conv2d_backward_weight(&x, &dy, s),
            1e-5,
        );
    }
}

/// The weight gradient's implicit GEMM at odd sizes: every tile (16, 32, 64 and 128 output
/// channels; 9 C_in = 9, 27, 153 columns against 64- and 128-wide tiles), 1 x 1 to 32 x 32 images,
/// k = n h w from 1 (one range) to 3072 (split into 12 ranges, each summed by its own workgroups,
/// then added in order; ops.rs's unit test lists the splits), and the lab network's first block
/// at a batch of 64 (k = 65,536 in 256 ranges; the direct kernel this replaced lost part of its
/// sums there on lavapipe). The split sums in another order than the CPU reference (increasing
/// n, h, w), hence 1e-5, and 3e-5 for k = 65,536, where the reference's own f32 rounding reaches
/// about 1e-5 (the split's sums stay within 1e-6 of f64 ones there). Twice on the same input, the
/// same bits.
#[test]
fn conv2d_weight_gradient_matches_the_cpu_and_repeats_bit_for_bit() {
    use glassbox_lab::vision::nn::{conv2d_backward_weight, ConvShape};
    let gpu = gpu();
    let mut rng = Rng::new(17);
    let mut shapes = vec![ConvShape {
        n: 64,
        c_in: 1,
        c_out: 16,
        h: 32,
        w: 32,
    }];
    for n in [1, 3] {
        for c_in in [1, 3, 17] {
            for c_out in [1, 5, 20, 64, 130] {
                for size in [1, 2, 7, 32] {
                    shapes.push(ConvShape {
                        n,
                        c_in,
                        c_out,
                        h: size,
                        w: size,
                    });
                }
            }
        }
    }
    let mut worst: f64 = 0.0;
    for s in shapes {
        let x = randv(s.x_len(), &mut rng);
        let dy = randv(s.y_len(), &mut rng);
        let got = pollster::block_on(gpu.conv2d_backward_weight(&x, &dy, s)).unwrap();
        let again = pollster::block_on(gpu.conv2d_backward_weight(&x, &dy, s)).unwrap();
        let want = conv2d_backward_weight(&x, &dy, s);
        let tol = if s.n * s.h * s.w > 10_000 { 3e-5 } else { 1e-5 };
        close(&format!("conv2d dw {s:?}"), &got, &want, tol);
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&got), bits(&again), "conv2d dw {s:?}: not repeatable");
        let want64: Vec<f64> = want.iter().map(|&v| v as f64).collect();
        worst = worst.max(max_errors(&got, &want64).1);
    }
    eprintln!("largest relative error: {worst:e}");
}

#[test]
fn elementwise_pooling_and_reductions_match_the_cpu() {
    use glassbox_lab::vision::nn;
    let gpu = gpu();
    let mut rng = Rng::new(8);
    for len in [1usize, 7, 65, 257, 70_001] {
        let x = randv(len, &mut rng);
        let dy = randv(len, &mut rng);
        assert_eq!(pollster::block_on(gpu.relu(&x)).unwrap(), nn::relu(&x));
        assert_eq!(
            pollster::block_on(gpu.relu_backward(&x, &dy)).unwrap(),
            nn::relu_backward(&x, &dy)
        );
        let (g, v) = (randv(len, &mut rng), randv(len, &mut rng));
        let (gw, gv) = pollster::block_on(gpu.sgd_momentum(&x, &g, &v, 0.05, 0.9, 5e-4)).unwrap();
        let (mut w, mut vel) = (x.clone(), v.clone());
        nn::sgd_momentum(&mut w, &g, &mut vel, 0.05, 0.9, 5e-4);
        close("sgd weights", &gw, &w, 1e-6);
        close("sgd velocity", &gv, &vel, 1e-6);
    }
    for (planes, h, w) in [(1, 2, 2), (3, 6, 10), (7, 32, 32)] {
        let x = randv(planes * h * w, &mut rng);
        let (y, arg) = pollster::block_on(gpu.maxpool2x2(&x, planes, h, w)).unwrap();
        let (cy, carg) = nn::maxpool2x2(&x, planes, h, w);
        assert_eq!((&y, &arg), (&cy, &carg));
        let dy = randv(y.len(), &mut rng);
        assert_eq!(
            pollster::block_on(gpu.maxpool2x2_backward(&dy, &arg, planes, h, w)).unwrap(),
            nn::maxpool2x2_backward(&dy, &carg, x.len())
        );
    }
    for (n, c, hw) in [(1, 1, 1), (3, 5, 7), (16, 9, 257)] {
        let x: Vec<f32> = randv(n * c * hw, &mut rng)
            .iter()
            .map(|v| 3.0 + 2.0 * v)
            .collect();
        let (m, v) = pollster::block_on(gpu.batchnorm_stats(&x, n, c, hw)).unwrap();
        let (cm, cv) = nn::batchnorm_stats(&x, n, c, hw);
        close("bn mean", &m, &cm, 1e-5);
        close("bn var", &v, &cv, 1e-4);
    }
    for (n, k) in [(1, 1), (7, 10), (257, 65)] {
        let z = randv(n * k, &mut rng);
        let labels: Vec<u32> = (0..n).map(|i| ((i * 7 + 3) % k) as u32).collect();
        let (loss, grad) = pollster::block_on(gpu.softmax_cross_entropy(&z, &labels, k)).unwrap();
        let (cl, cg) = nn::softmax_cross_entropy(&z, &labels, k);
        assert!(
            ((loss - cl) as f64).abs() <= 1e-5 * (1.0 + cl.abs() as f64),
            "{loss} vs {cl}"
        );
        close("softmax ce grad", &grad, &cg, 1e-5);
    }
}

#[test]
fn masked_attention_matches_the_cpu() {
    use glassbox_lab::attention::{attention, AttentionShape};
    let gpu = gpu();
    let mut rng = Rng::new(9);
    for s in [
        AttentionShape {
            batch: 1,
            t_q: 1,
            t_k: 1,
            d: 1,
            d_v: 1,
        },
        AttentionShape {
            batch: 2,
            t_q: 7,
            t_k: 9,
            d: 16,
            d_v: 5,
        },
        AttentionShape {
            batch: 3,
            t_q: 65,
            t_k: 63,
            d: 32,
            d_v: 32,
        },
    ] {
        let (q, k, v) = (
            randv(s.q_len(), &mut rng),
            randv(s.k_len(), &mut rng),
            randv(s.v_len(), &mut rng),
        );
        // A causal mask with one fully masked row.
        let masked: Vec<bool> = (0..s.t_q * s.t_k)
            .map(|idx| idx / s.t_k == 0 || idx % s.t_k > idx / s.t_k)
            .collect();
        let (w, out) = pollster::block_on(gpu.attention(&q, &k, &v, &masked, s)).unwrap();
        let (cw, cout) = attention(&q, &k, &v, &masked, s);
        close("attention weights", &w, &cw, 1e-5);
        close("attention outputs", &out, &cout, 1e-5);
        assert!(out.iter().all(|v| v.is_finite()));
    }
}

#[test]
fn kmeans_assignment_and_update_match_the_cpu() {
    use glassbox_lab::compress::kmeans;
    let gpu = gpu();
    let mut rng = Rng::new(10);
    for (len, k) in [(1usize, 1usize), (65, 4), (10_007, 16), (4_099, 256)] {
        let x = randv(len, &mut rng);
        let c: Vec<f32> = (0..k).map(|i| -2.0 + 4.0 * i as f32 / k as f32).collect();
        let a = pollster::block_on(gpu.kmeans_assign(&x, &c)).unwrap();
        assert_eq!(a, kmeans::assign(&x, &c));
        let upd = pollster::block_on(gpu.kmeans_update(&x, &a, &c)).unwrap();
        close("kmeans update", &upd, &kmeans::update(&x, &a, &c), 1e-5);
    }
}

#[test]
fn gram_matches_the_cpu() {
    let gpu = gpu();
    let mut rng = Rng::new(12);
    let (rows, cols) = (63, 257);
    let m = randv(rows * cols, &mut rng);
    let s = MatmulShape {
        b_transposed: true,
        ..MatmulShape::new(rows, cols, rows)
    };
    let got = pollster::block_on(gpu.gram(&m, rows, cols)).unwrap();
    let (_, rel) = max_errors(&got, &matmul_naive(&m, &m, s));
    assert!(rel < 1e-5, "{rel}");
}

#[test]
fn compute_falls_back_to_the_cpu_when_the_device_is_lost() {
    use glassbox_gpu::{Compute, Ran};
    let compute = Compute::new(Some(gpu()));
    let mut rng = Rng::new(13);
    let s = MatmulShape::new(33, 65, 17);
    let (a, b) = (randv(s.a_len(), &mut rng), randv(s.b_len(), &mut rng));
    let want = matmul_naive(&a, &b, s);
    let (got, ran) = pollster::block_on(compute.matmul(&a, &b, s)).unwrap();
    assert_eq!(ran, Ran::Gpu);
    assert!(max_errors(&got, &want).1 < 1e-5);
    compute.gpu().expect("gpu in use").simulate_device_loss();
    let (got, ran) = pollster::block_on(compute.matmul(&a, &b, s)).unwrap();
    assert_eq!(ran, Ran::Cpu);
    assert!(max_errors(&got, &want).1 < 1e-5);
    assert!(compute.lost().is_some());
    assert!(compute.gpu().is_none());
    // Without a GPU everything runs on the CPU.
    let cpu = Compute::new(None);
    assert_eq!(
        pollster::block_on(cpu.relu(&[-1.0, 2.0])).unwrap(),
        (vec![0.0, 2.0], Ran::Cpu)
    );
}

/// The whole network on the device against the CPU network: evaluation logits, a training step's
/// loss and every gradient, the running statistics it updates, and the weights after SGD.
#[test]
fn network_forward_backward_and_step_match_the_cpu() {
    use glassbox_lab::vision::network::Network;
    use glassbox_lab::vision::nn::sgd_momentum;
    use glassbox_lab::vision::vgg::{Arch, Stage::*};
    let gpu = gpu();
    let odd = Arch {
        name: "odd",
        in_channels: 2,
        size: 12,
        stages: vec![Conv(3), Pool, Conv(5), Conv(7), Pool],
        classes: 5,
    };
    for (arch, n) in [(odd, 5usize), (Arch::lab(), 6)] {
        let mut rng = Rng::new(21);
        let mut cpu = Network::new(&arch, 4);
        for b in cpu.blocks.iter_mut() {
            for g in b.gamma.iter_mut() {
                *g = 1.0 + 0.3 * rng.normal() as f32;
            }
            for v in b.beta.iter_mut() {
                *v = 0.2 * rng.normal() as f32;
            }
            for v in b.running_mean.iter_mut() {
                *v = 0.1 * rng.normal() as f32;
            }
        }
        let x = randv(n * arch.in_channels * arch.size * arch.size, &mut rng);
        let labels: Vec<u32> = (0..n).map(|i| (i * 3 % arch.classes) as u32).collect();
        let net = gpu.upload(&cpu).unwrap();
        let what = arch.name;
        close(
            &format!("{what} eval logits"),
            &pollster::block_on(net.logits(&gpu, &x, n)).unwrap(),
            &cpu.forward(&x, n, false),
            1e-4,
        );
        let (loss, grads) = pollster::block_on(net.loss_and_grads(&gpu, &x, &labels)).unwrap();
        let (cpu_loss, cpu_grads) = cpu.loss_and_grads(&x, &labels, n);
        assert!(
            (loss - cpu_loss).abs() < 1e-4 * cpu_loss.abs().max(1.0),
            "{what}: loss {loss} vs {cpu_loss}"
        );
        for (i, (g, c)) in grads.blocks.iter().zip(&cpu_grads.blocks).enumerate() {
            close(&format!("{what} block {i} dW"), &g.0, &c.0, 1e-3);
            close(&format!("{what} block {i} dgamma"), &g.1, &c.1, 1e-3);
            close(&format!("{what} block {i} dbeta"), &g.2, &c.2, 1e-3);
        }
        close(
            &format!("{what} fc dW"),
            &grads.fc_weight,
            &cpu_grads.fc_weight,
            1e-4,
        );
        close(
            &format!("{what} fc db"),
            &grads.fc_bias,
            &cpu_grads.fc_bias,
            1e-4,
        );
        // Both updated their running statistics once.
        let back = pollster::block_on(net.download(&gpu)).unwrap();
        for (b, c) in back.blocks.iter().zip(&cpu.blocks) {
            close(
                &format!("{what} running mean"),
                &b.running_mean,
                &c.running_mean,
                1e-4,
            );
            close(
                &format!("{what} running var"),
                &b.running_var,
                &c.running_var,
                1e-4,
            );
        }
        // One SGD step on the device against the same step on the CPU (from zero velocity).
        let (lr, mom, wd) = (0.05, 0.9, 5e-4);
        let before = cpu.clone().forward(&x, n, true);
        let (step_loss, correct) =
            pollster::block_on(net.train_step(&gpu, &x, &labels, lr, mom, wd)).unwrap();
        assert_eq!(
            correct,
            glassbox_lab::vision::nn::count_correct(&before, &labels, arch.classes)
        );
        let (cl, g) = cpu.loss_and_grads(&x, &labels, n);
        assert!(
            (step_loss - cl).abs() < 1e-4 * cl.abs().max(1.0),
            "{what}: step loss"
        );
        let mut vel: Vec<Vec<f32>> = cpu
            .params_and_grads(&g)
            .iter()
            .map(|(p, _)| vec![0.0; p.len()])
            .collect();
        for ((p, g), v) in cpu.params_and_grads(&g).into_iter().zip(vel.iter_mut()) {
            sgd_momentum(p, g, v, lr, mom, wd);
        }
        let after = pollster::block_on(net.download(&gpu)).unwrap();
        for (b, c) in after.blocks.iter().zip(&cpu.blocks) {
            close(
                &format!("{what} weights after a step"),
                &b.weight,
                &c.weight,
                1e-4,
            );
            close(
                &format!("{what} gamma after a step"),
                &b.gamma,
                &c.gamma,
                1e-4,
            );
            close(&format!("{what} beta after a step"), &b.beta, &c.beta, 1e-4);
        }
        close(
            &format!("{what} fc after a step"),
            &after.fc_weight,
            &cpu.fc_weight,
            1e-4,
        );
        // Bad batches are errors.
        assert!(pollster::block_on(net.logits(&gpu, &x[1..], n)).is_err());
        let bad: Vec<u32> = vec![99; n];
        assert!(pollster::block_on(net.loss_and_grads(&gpu, &x, &bad)).is_err());
    }
}

/// Pruning masks on the device: applied at once, and again after a training step, as on the CPU.
#[test]
fn masked_training_step_matches_the_cpu() {
    use glassbox_lab::compress::prune;
    use glassbox_lab::vision::network::Network;
    use glassbox_lab::vision::nn::sgd_momentum;
    use glassbox_lab::vision::vgg::{Arch, Stage::*};
    let gpu = gpu();
    let arch = Arch {
        name: "masked",
        in_channels: 1,
        size: 8,
        stages: vec![Conv(4), Pool, Conv(6), Pool],
        classes: 3,
    };
    let dense = Network::new(&arch, 8);
    let mut cpu = dense.clone();
    let masks = prune::prune(&mut cpu, &[0.5, 0.0, 0.7]).unwrap();
    let net = gpu.upload(&dense).unwrap();
    pollster::block_on(net.set_masks(&gpu, &masks.0)).unwrap();
    let now = pollster::block_on(net.download(&gpu)).unwrap();
    assert_eq!(now.blocks[0].weight, cpu.blocks[0].weight);
    assert_eq!(now.fc_weight, cpu.fc_weight);
    let mut rng = Rng::new(30);
    let x = randv(4 * 64, &mut rng);
    let labels = vec![0u32, 1, 2, 1];
    pollster::block_on(net.train_step(&gpu, &x, &labels, 0.1, 0.9, 5e-4)).unwrap();
    let (_, g) = cpu.loss_and_grads(&x, &labels, 4);
    let mut vel: Vec<Vec<f32>> = cpu
        .params_and_grads(&g)
        .iter()
        .map(|(p, _)| vec![0.0; p.len()])
        .collect();
    for ((p, g), v) in cpu.params_and_grads(&g).into_iter().zip(vel.iter_mut()) {
        sgd_momentum(p, g, v, 0.1, 0.9, 5e-4);
    }
    masks.apply(&mut cpu);
    let after = pollster::block_on(net.download(&gpu)).unwrap();
    close(
        "masked conv1 after a step",
        &after.blocks[0].weight,
        &cpu.blocks[0].weight,
        1e-4,
    );
    close(
        "dense conv2 after a step",
        &after.blocks[1].weight,
        &cpu.blocks[1].weight,
        1e-4,
    );
    close(
        "masked linear after a step",
        &after.fc_weight,
        &cpu.fc_weight,
        1e-4,
    );
    let zeros = |w: &[f32]| w.iter().filter(|&&v| v == 0.0).count();
    assert_eq!(zeros(&after.blocks[0].weight), 18);
    assert_eq!(zeros(&after.fc_weight), 13);
    assert!(pollster::block_on(net.set_masks(&gpu, &masks.0[..2])).is_err());
}

/// Two computations in flight at once (as the page runs them) both finish, with the results each
/// gets alone: submissions and their error scopes take turns.
#[test]
fn concurrent_computations_take_turns() {
    use glassbox_lab::vision::network::Network;
    use glassbox_lab::vision::vgg::{Arch, Stage::*};
    let gpu = gpu();
    let arch = Arch {
        name: "pair",
        in_channels: 1,
        size: 8,
        stages: vec![Conv(4), Pool, Conv(6), Pool],
        classes: 3,
    };
    let (a, b) = (Network::new(&arch, 1), Network::new(&arch, 2));
    let (ga, gb) = (gpu.upload(&a).unwrap(), gpu.upload(&b).unwrap());
    let mut rng = Rng::new(40);
    let x = randv(5 * 64, &mut rng);
    let alone = (
        pollster::block_on(ga.logits(&gpu, &x, 5)).unwrap(),
        pollster::block_on(gb.logits(&gpu, &x, 5)).unwrap(),
    );
    let (ra, rb) = pollster::block_on(futures_util::future::join(
        ga.logits(&gpu, &x, 5),
        gb.logits(&gpu, &x, 5),
    ));
    assert_eq!((ra.unwrap(), rb.unwrap()), alone);
}

/// Backward through relu(gamma x_hat + beta) with fixed statistics (chapter 3's evaluation-mode
/// fine-tuning): dz, dgamma and dbeta against the lab, at shapes whose N HW is not a multiple of
/// the workgroup, with y of either sign (and some exact zeros) so the ReLU mask matters.
#[test]
fn batchnorm_backward_eval_matches_the_cpu() {
    use glassbox_lab::vision::nn::relu_batchnorm_backward_eval;
    let gpu = gpu();
    let mut rng = Rng::new(50);
    for (n, c, hw) in [(1, 1, 1), (3, 5, 7), (2, 3, 300), (5, 9, 257)] {
        let len = n * c * hw;
        let da = randv(len, &mut rng);
        let x_hat = randv(len, &mut rng);
        let mut y = randv(len, &mut rng);
        y.iter_mut().step_by(11).for_each(|v| *v = 0.0);
        let gamma: Vec<f32> = randv(c, &mut rng).iter().map(|g| 1.0 + 0.3 * g).collect();
        let var: Vec<f32> = randv(c, &mut rng).iter().map(|r| 0.1 + r * r).collect();
        let (dz, dgamma, dbeta) = pollster::block_on(
            gpu.relu_batchnorm_backward_eval(&da, &y, &x_hat, &gamma, &var, n, c, hw),
        )
        .unwrap();
        let (cdz, cdgamma, cdbeta) =
            relu_batchnorm_backward_eval(&da, &y, &x_hat, &gamma, &var, n, c, hw);
        let what = format!("bn backward eval {n}x{c}x{hw}");
        // The mask is exact: dz is zero exactly where y <= 0.
        assert!(
            dz.iter().zip(&y).all(|(d, &yv)| yv > 0.0 || *d == 0.0),
            "{what}: mask"
        );
        for (name, got, want) in [
            ("dz", &dz, &cdz),
            ("dgamma", &dgamma, &cdgamma),
            ("dbeta", &dbeta, &cdbeta),
        ] {
            let want64: Vec<f64> = want.iter().map(|&v| v as f64).collect();
            eprintln!("{what} {name}: {:?}", max_errors(got, &want64));
        }
        close(&format!("{what} dz"), &dz, &cdz, 1e-6);
        close(&format!("{what} dgamma"), &dgamma, &cdgamma, 1e-5);
        close(&format!("{what} dbeta"), &dbeta, &cdbeta, 1e-5);
    }
}

/// Adam with L2 weight decay, three steps in a row with theta, m and v fed back, against an f64
/// loop of the formula (storing f32 between steps, as the lab does); then against the lab's own
/// optimiser on a network's linear-layer bias.
#[test]
fn adam_matches_the_cpu() {
    use glassbox_lab::shift::suffix::{Adam, ADAM_EPS, BETA1, BETA2};
    use glassbox_lab::shift::Tensor;
    use glassbox_lab::vision::network::Network;
    use glassbox_lab::vision::vgg::Arch;
    let gpu = gpu();
    let mut rng = Rng::new(51);
    let (lr, c, wd) = (1e-2f32, 0.7f32, 5e-4f32);
    for len in [1usize, 7, 257, 10_007] {
        let theta0 = randv(len, &mut rng);
        let (mut theta, mut m, mut v) = (theta0.clone(), vec![0.0; len], vec![0.0; len]);
        let (mut ct, mut cm, mut cv) = (theta0, vec![0.0f32; len], vec![0.0f32; len]);
        for t in 1..=3 {
            let g = randv(len, &mut rng);
            (theta, m, v) = pollster::block_on(gpu.adam(&theta, &g, &m, &v, lr, c, wd, t)).unwrap();
            let (c1, c2) = (1.0 - BETA1.powi(t), 1.0 - BETA2.powi(t));
            let step = lr as f64 * c as f64;
            for i in 0..len {
                let gi = g[i] as f64 + wd as f64 * ct[i] as f64;
                let mi = BETA1 * cm[i] as f64 + (1.0 - BETA1) * gi;
                let vi = BETA2 * cv[i] as f64 + (1.0 - BETA2) * gi * gi;
                cm[i] = mi as f32;
                cv[i] = vi as f32;
                ct[i] = (ct[i] as f64 - step * (mi / c1) / ((vi / c2).sqrt() + ADAM_EPS)) as f32;
            }
            let what = format!("adam len {len} step {t}");
            for (name, got, want) in [("theta", &theta, &ct), ("m", &m, &cm), ("v", &v, &cv)] {
                let want64: Vec<f64> = want.iter().map(|&x| x as f64).collect();
                eprintln!("{what} {name}: {:?}", max_errors(got, &want64));
            }
            close(&format!("{what} theta"), &theta, &ct, 1e-6);
            close(&format!("{what} m"), &m, &cm, 1e-6);
            close(&format!("{what} v"), &v, &cv, 1e-5);
        }
    }
    // The lab's optimiser on a network's fc.bias, three steps, the moments fed back on the GPU.
    let mut net = Network::new(&Arch::lab(), 0);
    let mut adam = Adam::default();
    let mut theta = net.fc_bias.clone();
    let (mut m, mut v) = (vec![0.0; theta.len()], vec![0.0; theta.len()]);
    for t in 1..=3 {
        let g = randv(theta.len(), &mut rng);
        (theta, m, v) = pollster::block_on(gpu.adam(&theta, &g, &m, &v, lr, c, wd, t)).unwrap();
        adam.step(
            &mut net,
            &[Tensor::FcBias],
            &[g],
            lr as f64,
            &[c as f64],
            wd as f64,
        );
        let want64: Vec<f64> = net.fc_bias.iter().map(|&x| x as f64).collect();
        eprintln!("adam fc.bias step {t}: {:?}", max_errors(&theta, &want64));
        close(
            &format!("adam fc.bias step {t}"),
            &theta,
            &net.fc_bias,
            1e-6,
        );
    }
}

#[test]
fn bad_shapes_for_the_fine_tuning_kernels_are_errors_not_panics() {
    use glassbox_gpu::GpuError;
    let gpu = gpu();
    let (n, c, hw) = (2, 3, 5);
    let x = vec![0.5f32; n * c * hw];
    let per = vec![1.0f32; c];
    let bn = |da: &[f32], y: &[f32], xh: &[f32], g: &[f32], v: &[f32], c: usize| {
        pollster::block_on(gpu.relu_batchnorm_backward_eval(da, y, xh, g, v, n, c, hw))
    };
    assert!(bn(&x, &x, &x, &per, &per, c).is_ok());
    for r in [
        bn(&x[1..], &x, &x, &per, &per, c),
        bn(&x, &x[1..], &x, &per, &per, c),
        bn(&x, &x, &x[1..], &per, &per, c),
        bn(&x, &x, &x, &per[1..], &per, c),
        bn(&x, &x, &x, &per, &per[1..], c),
        bn(&x, &x, &x, &per, &per, c + 1),
    ] {
        assert!(matches!(r, Err(GpuError::Invalid(_))), "{r:?}");
    }
    let w = vec![0.5f32; 9];
    let adam = |t: &[f32], g: &[f32], m: &[f32], v: &[f32], step: i32| {
        pollster::block_on(gpu.adam(t, g, m, v, 1e-3, 1.0, 0.0, step))
    };
    assert!(adam(&w, &w, &w, &w, 1).is_ok());
    for r in [
        adam(&w, &w[1..], &w, &w, 1),
        adam(&w, &w, &w[1..], &w, 1),
        adam(&w, &w, &w, &w[1..], 1),
        adam(&w, &w, &w, &w, 0),
        adam(&w, &w, &w, &w, -3),
    ] {
        assert!(matches!(r, Err(GpuError::Invalid(_))), "{r:?}");
    }
}
