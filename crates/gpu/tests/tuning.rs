//! A fine-tuning run with its arithmetic on the GPU (`GpuTuning`) against the same run on the CPU:
//! the same protocol, so the same numbers within float rounding. Small sets, so it runs quickly on
//! lavapipe. No adapter is a failure, not a skip.

use glassbox_gpu::{Gpu, GpuTuning};
use glassbox_lab::rng::Rng;
use glassbox_lab::shift::{Shift, Tune, TuneResult, TuneSettings, Tuner};
use glassbox_lab::vision::data::Split;
use glassbox_lab::vision::network::Network;
use glassbox_lab::vision::vgg::Arch;

fn gpu() -> Gpu {
    pollster::block_on(Gpu::new()).unwrap_or_else(|e| {
        panic!(
            "no GPU adapter: {e}. Install mesa-vulkan-drivers and set \
             VK_DRIVER_FILES=/usr/share/vulkan/icd.d/lvp_icd.x86_64.json WGPU_BACKEND=vulkan"
        )
    })
}

fn split(per_class: usize) -> Split {
    let n = per_class * 10;
    let mut rng = Rng::new(3);
    Split {
        images: (0..n * 784).map(|_| rng.below(256) as u8).collect(),
        labels: (0..n).map(|i| (i % 10) as u8).collect(),
    }
}

fn settings(tune: Tune, shift: Shift) -> TuneSettings {
    TuneSettings {
        shift,
        tune,
        images: 20,
        test_images: 20,
        epochs: 2,
        lrs: vec![1e-2],
        batch: 8,
        ..TuneSettings::default()
    }
}

fn on_gpu(gpu: &Gpu, net: &Network, split: &Split, s: TuneSettings) -> TuneResult {
    let mut tuner = Tuner::new(net, split, s).unwrap();
    let mut copy = GpuTuning::new(gpu, &mut tuner).unwrap();
    while pollster::block_on(copy.step(gpu, &mut tuner)).expect("the GPU answers") {}
    assert!(tuner.error.is_none(), "{:?}", tuner.error);
    tuner.result().unwrap()
}

fn on_cpu(net: &Network, split: &Split, s: TuneSettings) -> TuneResult {
    let mut tuner = Tuner::new(net, split, s).unwrap();
    tuner.run();
    tuner.result().unwrap()
}

fn assert_close(cpu: &TuneResult, gpu: &TuneResult) {
    assert_eq!(cpu.accuracy_before, gpu.accuracy_before);
    assert_eq!(cpu.curve.len(), gpu.curve.len());
    for (a, b) in cpu.curve.iter().zip(&gpu.curve) {
        let tol = 1e-3 * a.train_loss.abs().max(1.0);
        assert!((a.train_loss - b.train_loss).abs() < tol, "{a:?} vs {b:?}");
        assert!(
            (a.val_accuracy - b.val_accuracy).abs() <= 0.1,
            "{a:?} vs {b:?}"
        );
    }
    assert!((cpu.accuracy_after - gpu.accuracy_after).abs() <= 0.1);
    for (a, b) in cpu.multipliers.iter().zip(&gpu.multipliers) {
        assert!((a.1 - b.1).abs() < 1e-3, "{a:?} vs {b:?}");
    }
}

#[test]
fn a_run_on_the_gpu_matches_the_cpu_run() {
    let gpu = gpu();
    let net = Network::new(&Arch::lab(), 4);
    let data = split(6);
    let noise = Shift::Corruption {
        corruption: glassbox_lab::shift::Corruption::GaussianNoise,
        severity: 5,
    };
    for (tune, shift) in [
        (Tune::Block(1), Shift::Flip),
        (Tune::AutoRgn, noise),
        (Tune::BnStats, noise),
    ] {
        let s = settings(tune, shift);
        let (c, g) = (on_cpu(&net, &data, s.clone()), on_gpu(&gpu, &net, &data, s));
        eprintln!(
            "{}: cpu {:.3} -> {:.3}, gpu {:.3} -> {:.3}",
            tune.name(),
            c.accuracy_before,
            c.accuracy_after,
            g.accuracy_before,
            g.accuracy_after
        );
        assert_close(&c, &g);
        assert_eq!(c.params_changed > 0, g.params_changed > 0);
    }
}
