//! The network from convolution `s` on, in evaluation mode, on the device (`GpuNetwork::prefix`,
//! `logits_from`, `suffix_grads`, `write_tensors`) against the lab's `shift::suffix`, on whatever
//! adapter wgpu finds (in CI: Mesa's lavapipe through Vulkan). No adapter is a failure, not a skip.

use glassbox_gpu::{Gpu, GpuError, GpuNetwork};
use glassbox_lab::rng::Rng;
use glassbox_lab::shift::suffix::{accumulate_grads, logits_from, prefix};
use glassbox_lab::shift::Tensor;
use glassbox_lab::vision::network::Network;
use glassbox_lab::vision::vgg::{Arch, Stage::*};

fn gpu() -> Gpu {
    pollster::block_on(Gpu::new()).unwrap_or_else(|e| {
        panic!(
            "no GPU adapter: {e}. Install mesa-vulkan-drivers and set \
             VK_DRIVER_FILES=/usr/share/vulkan/icd.d/lvp_icd.x86_64.json WGPU_BACKEND=vulkan"
        )
    })
}

fn randv(n: usize, rng: &mut Rng) -> Vec<f32> {
    (0..n).map(|_| rng.normal() as f32).collect()
}

/// max |a - b| <= 1e-3 max |b| + 1e-5; returns max |a - b| / max |b| for the report.
fn close(what: &str, got: &[f32], want: &[f32]) -> f64 {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want.iter().fold(0.0f64, |m, &v| m.max((v as f64).abs()));
    let err = got
        .iter()
        .zip(want)
        .fold(0.0f64, |m, (&a, &b)| m.max((a as f64 - b as f64).abs()));
    assert!(
        err <= 1e-3 * scale + 1e-5,
        "{what}: max abs err {err}, max |reference| {scale}"
    );
    err / scale.max(1e-30)
}

/// Eight convolutions at awkward channel counts, the last block unpooled (the head averages 2 x 2).
fn odd_arch() -> Arch {
    Arch {
        name: "odd",
        in_channels: 1,
        size: 16,
        stages: vec![
            Conv(4),
            Conv(5),
            Pool,
            Conv(6),
            Conv(6),
            Pool,
            Conv(7),
            Conv(7),
            Pool,
            Conv(8),
            Conv(9),
        ],
        classes: 5,
    }
}

/// A seeded network with batch-norm away from identity: gamma, beta and running statistics random.
fn network(arch: &Arch, seed: u64) -> Network {
    let mut net = Network::new(arch, seed);
    let mut rng = Rng::new(seed + 100);
    for b in &mut net.blocks {
        for g in b.gamma.iter_mut() {
            *g = 1.0 + 0.3 * rng.normal() as f32;
        }
        for v in b.beta.iter_mut() {
            *v = 0.2 * rng.normal() as f32;
        }
        for (m, v) in b.running_mean.iter_mut().zip(&mut b.running_var) {
            *m = rng.uniform(-0.2, 0.2) as f32;
            *v = rng.uniform(0.5, 2.0) as f32;
        }
    }
    net
}

fn conv(i: usize) -> [Tensor; 3] {
    [Tensor::ConvWeight(i), Tensor::Gamma(i), Tensor::Beta(i)]
}

/// The tensor sets checked from convolution s: (name, tensors).
fn tensor_sets(s: usize, convs: usize) -> Vec<(&'static str, Vec<Tensor>)> {
    let head = vec![Tensor::FcWeight, Tensor::FcBias];
    let mut sets = Vec::new();
    if s < convs {
        sets.push(("block", (s..(s + 2).min(convs)).flat_map(conv).collect()));
    }
    sets.push(("head", head.clone()));
    sets.push(("all", (s..convs).flat_map(conv).chain(head).collect()));
    // Out of order, gamma without its weight, one tensor twice.
    if s + 1 < convs {
        sets.push((
            "mixed",
            vec![
                Tensor::FcBias,
                Tensor::Beta(convs - 1),
                Tensor::Gamma(s + 1),
                Tensor::FcBias,
                Tensor::ConvWeight(convs - 1),
            ],
        ));
    }
    sets.push(("none", Vec::new()));
    sets
}

/// prefix, logits_from and suffix_grads against the lab for one network, s and chunk.
#[allow(clippy::too_many_arguments)]
fn check(
    gpu: &Gpu,
    gnet: &GpuNetwork,
    cpu: &mut Network,
    what: &str,
    s: usize,
    x: &[f32],
    labels: &[u32],
    batch: usize,
) -> Vec<(String, f64)> {
    let n = labels.len();
    let convs = cpu.blocks.len();
    let mut errs = Vec::new();
    let act = pollster::block_on(gnet.prefix(gpu, s, x, n)).unwrap();
    let cact = prefix(cpu, s, x, n);
    errs.push((
        format!("{what} s={s} n={n} prefix"),
        close(&format!("{what} s={s} prefix"), &act, &cact),
    ));
    // From here on both sides start from the lab's activations, so each check covers only the suffix.
    let logits = pollster::block_on(gnet.logits_from(gpu, s, &cact, n)).unwrap();
    let clogits = logits_from(cpu, s, &cact, n);
    errs.push((
        format!("{what} s={s} n={n} logits_from"),
        close(&format!("{what} s={s} logits"), &logits, &clogits),
    ));
    for (set, tensors) in tensor_sets(s, convs) {
        let (loss, grads) =
            pollster::block_on(gnet.suffix_grads(gpu, s, &tensors, &cact, labels, batch)).unwrap();
        let mut cgrads = vec![Vec::new(); tensors.len()];
        let closs = accumulate_grads(cpu, s, &tensors, &cact, labels, batch, &mut cgrads);
        let lerr = (loss - closs).abs() / closs.abs().max(1e-30);
        assert!(
            (loss - closs).abs() <= 1e-4 * closs.abs() + 1e-6,
            "{what} s={s} {set}: loss {loss} vs {closs}"
        );
        errs.push((format!("{what} s={s} n={n} {set} loss"), lerr));
        assert_eq!(grads.len(), tensors.len());
        for (k, t) in tensors.iter().enumerate() {
            // The lab fills a repeated tensor's first entry only.
            let first = tensors.iter().position(|u| u == t).unwrap();
            if first != k {
                assert!(cgrads[k].is_empty());
                assert_eq!(grads[k], grads[first], "{what} s={s} {set}: repeated {t:?}");
                continue;
            }
            assert_eq!(grads[k].len(), t.get(cpu).len(), "{what} {t:?}: length");
            let name = format!("{what} s={s} n={n} {set} {}", t.name());
            errs.push((name.clone(), close(&name, &grads[k], &cgrads[k])));
        }
    }
    errs
}

fn report(errs: &[(String, f64)]) {
    for (name, e) in errs {
        eprintln!("{name}: max err / max |ref| = {e:.2e}");
    }
    let worst = errs.iter().fold(0.0f64, |m, (_, e)| m.max(*e));
    eprintln!("worst over {} checks: {worst:.2e}", errs.len());
}

#[test]
fn suffix_matches_the_lab_from_every_block_boundary() {
    let gpu = gpu();
    let arch = odd_arch();
    let mut cpu = network(&arch, 3);
    let gnet = gpu.upload(&cpu).unwrap();
    let mut rng = Rng::new(7);
    let mut errs = Vec::new();
    // Two chunks of different sizes, each part of a larger batch (dL/dz scaled by n / batch).
    for (n, batch) in [(5usize, 8usize), (3, 8), (2, 2)] {
        let x = randv(n * 16 * 16, &mut rng);
        let labels: Vec<u32> = (0..n).map(|i| ((i * 3 + 1) % 5) as u32).collect();
        let starts: &[usize] = if n == 2 { &[3] } else { &[0, 2, 4, 6, 8] };
        for &s in starts {
            errs.extend(check(&gpu, &gnet, &mut cpu, "odd", s, &x, &labels, batch));
        }
    }
    report(&errs);
}

#[test]
fn suffix_matches_the_lab_on_the_lab_network() {
    let gpu = gpu();
    let arch = Arch::lab();
    let mut cpu = network(&arch, 5);
    let gnet = gpu.upload(&cpu).unwrap();
    let mut rng = Rng::new(9);
    let n = 3;
    let x = randv(n * 32 * 32, &mut rng);
    let labels = vec![7u32, 0, 4];
    let mut errs = Vec::new();
    for s in [0, 2, 4, 6, 8] {
        errs.extend(check(&gpu, &gnet, &mut cpu, "lab", s, &x, &labels, 32));
    }
    report(&errs);
}

#[test]
fn written_tensors_are_used_by_the_next_pass() {
    let gpu = gpu();
    let arch = odd_arch();
    let mut cpu = network(&arch, 11);
    let gnet = gpu.upload(&cpu).unwrap();
    let mut rng = Rng::new(12);
    let n = 4;
    let x = randv(n * 256, &mut rng);
    let labels = vec![0u32, 4, 2, 2];
    let s = 2;
    let cact = prefix(&mut cpu, s, &x, n);
    let before = logits_from(&mut cpu, s, &cact, n);
    let changed = [
        Tensor::ConvWeight(3),
        Tensor::Beta(4),
        Tensor::Gamma(7),
        Tensor::FcBias,
    ];
    for t in changed {
        for v in t.get_mut(&mut cpu).iter_mut() {
            *v += 0.3 * rng.normal() as f32;
        }
    }
    let after = logits_from(&mut cpu, s, &cact, n);
    let moved = before
        .iter()
        .zip(&after)
        .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(moved > 1e-2, "the change moves the logits ({moved})");
    // Not yet written: the device still computes the old logits.
    let stale = pollster::block_on(gnet.logits_from(&gpu, s, &cact, n)).unwrap();
    close("logits before the write", &stale, &before);
    gnet.write_tensors(&gpu, &cpu, &changed).unwrap();
    let fresh = pollster::block_on(gnet.logits_from(&gpu, s, &cact, n)).unwrap();
    let e = close("logits after the write", &fresh, &after);
    eprintln!("logits after write_tensors: max err / max |ref| = {e:.2e}");
    // Gradients use the written values too; every tensor round-trips through download.
    let tensors: Vec<Tensor> = (s..8).flat_map(conv).chain([Tensor::FcWeight]).collect();
    let (_, grads) =
        pollster::block_on(gnet.suffix_grads(&gpu, s, &tensors, &cact, &labels, n)).unwrap();
    let mut cgrads = vec![Vec::new(); tensors.len()];
    accumulate_grads(&mut cpu, s, &tensors, &cact, &labels, n, &mut cgrads);
    for (k, t) in tensors.iter().enumerate() {
        close(
            &format!("{} after the write", t.name()),
            &grads[k],
            &cgrads[k],
        );
    }
    let back = pollster::block_on(gnet.download(&gpu)).unwrap();
    for t in glassbox_lab::shift::Tune::All.tensors(&cpu) {
        assert_eq!(t.get(&back), t.get(&cpu), "{}", t.name());
    }
    // A tensor of the wrong size, or one the device does not have, is refused and writes nothing.
    let mut wrong = cpu.clone();
    wrong.fc_bias.push(1.0);
    wrong.blocks[0].gamma[0] = 9.0;
    let r = gnet.write_tensors(&gpu, &wrong, &[Tensor::Gamma(0), Tensor::FcBias]);
    assert!(matches!(r, Err(GpuError::Invalid(_))), "{r:?}");
    let r = gnet.write_tensors(&gpu, &cpu, &[Tensor::Beta(8)]);
    assert!(matches!(r, Err(GpuError::Invalid(_))), "{r:?}");
    let back = pollster::block_on(gnet.download(&gpu)).unwrap();
    assert_eq!(back.blocks[0].gamma, cpu.blocks[0].gamma);
}

#[test]
fn bad_arguments_and_a_lost_device_are_errors() {
    let gpu = gpu();
    let cpu = network(&odd_arch(), 1);
    let gnet = gpu.upload(&cpu).unwrap();
    let mut rng = Rng::new(2);
    let x = randv(2 * 256, &mut rng);
    let invalid = |r: Result<(), GpuError>, what: &str| {
        assert!(matches!(r, Err(GpuError::Invalid(_))), "{what}: {r:?}");
    };
    let act2 = pollster::block_on(gnet.prefix(&gpu, 2, &x, 2)).unwrap();
    let head_in = pollster::block_on(gnet.prefix(&gpu, 8, &x, 2)).unwrap();
    assert_eq!(head_in.len(), 2 * 9 * 4);
    invalid(
        pollster::block_on(gnet.prefix(&gpu, 9, &x, 2)).map(|_| ()),
        "s = 9",
    );
    invalid(
        pollster::block_on(gnet.prefix(&gpu, 2, &x[1..], 2)).map(|_| ()),
        "short images",
    );
    invalid(
        pollster::block_on(gnet.prefix(&gpu, 2, &[], 0)).map(|_| ()),
        "no images",
    );
    invalid(
        pollster::block_on(gnet.logits_from(&gpu, 9, &act2, 2)).map(|_| ()),
        "logits from 9",
    );
    invalid(
        pollster::block_on(gnet.logits_from(&gpu, 3, &act2, 2)).map(|_| ()),
        "activations of the wrong block",
    );
    let all: Vec<Tensor> = (2..8).flat_map(conv).collect();
    let grads = |s, t: &[Tensor], a: &[f32], y: &[u32], b| {
        pollster::block_on(gnet.suffix_grads(&gpu, s, t, a, y, b)).map(|_| ())
    };
    grads(2, &all, &act2, &[0, 1], 2).unwrap();
    grads(8, &[Tensor::FcWeight], &head_in, &[0, 1], 2).unwrap();
    invalid(grads(2, &all, &act2, &[0, 5], 2), "label 5 of 5 classes");
    invalid(grads(2, &all, &act2, &[0], 2), "one label for two images");
    invalid(grads(2, &all, &act2, &[0, 1], 0), "batch 0");
    invalid(
        grads(2, &[Tensor::Gamma(1)], &act2, &[0, 1], 2),
        "tensor before s",
    );
    invalid(
        grads(2, &[Tensor::ConvWeight(8)], &act2, &[0, 1], 2),
        "no convolution 8",
    );
    invalid(grads(9, &[], &act2, &[0, 1], 2), "s = 9");
    // A lost device: every call is an error, not a panic.
    let lost = self::gpu();
    let lnet = lost.upload(&cpu).unwrap();
    lost.simulate_device_loss();
    let dead = |r: Result<(), GpuError>, what: &str| {
        assert!(matches!(r, Err(GpuError::DeviceLost(_))), "{what}: {r:?}");
    };
    dead(
        pollster::block_on(lnet.prefix(&lost, 2, &x, 2)).map(|_| ()),
        "prefix",
    );
    dead(
        pollster::block_on(lnet.logits_from(&lost, 2, &act2, 2)).map(|_| ()),
        "logits_from",
    );
    dead(
        pollster::block_on(lnet.suffix_grads(&lost, 2, &all, &act2, &[0, 1], 2)).map(|_| ()),
        "suffix_grads",
    );
    dead(lnet.write_tensors(&lost, &cpu, &all), "write_tensors");
}
