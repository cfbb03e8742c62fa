//! Quantization of the committed network at the homework's settings, measured on part of the test
//! set (`glassbox quant int8` measures all 10,000 images): integer-only int8 inference within
//! 0.5 points of fp32 (and equal to its double-precision simulation), and 4-bit k-means after one
//! epoch of quantization-aware training within 1 point of fp32.

use glassbox_lab::compress::int8::{self, Int8Network};
use glassbox_lab::vision::data::{self, FashionMnist, Split};
use glassbox_lab::vision::network::Network;
use glassbox_lab::{compress::quant, vision::train};

fn committed() -> (FashionMnist, Network) {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets/");
    let asset = data::decode(&std::fs::read(format!("{root}fashion-mnist.gbds")).unwrap()).unwrap();
    let net =
        Network::from_bytes(&std::fs::read(format!("{root}fashion-vgg.gbnet")).unwrap()).unwrap();
    (asset, net)
}

fn share_correct(split: &Split, preds: &[u32]) -> f64 {
    preds
        .iter()
        .enumerate()
        .filter(|&(i, &p)| split.labels[i] as u32 == p)
        .count() as f64
        / preds.len() as f64
}

/// `f` over `0..n` split between two threads, results in order.
fn in_two(n: usize, f: impl Fn(std::ops::Range<usize>) -> Vec<u32> + Sync) -> Vec<u32> {
    std::thread::scope(|s| {
        let a = s.spawn(|| f(0..n / 2));
        let b = f(n / 2..n);
        let mut v = a.join().unwrap();
        v.extend(b);
        v
    })
}

#[test]
fn int8_inference_keeps_the_accuracy_on_2500_test_images() {
    let (asset, net) = committed();
    let calib = int8::calibration_batch(&asset.train, 512, 0);
    let q = Int8Network::build(&net, &calib, 512).unwrap();
    assert_eq!(q.relu_layers(), 0);
    let n = 2500;
    let fp32 = share_correct(
        &asset.test,
        &in_two(n, |r| train::predict(&mut net.clone(), &asset.test, r)),
    );
    let int8 = share_correct(&asset.test, &in_two(n, |r| q.predict_split(&asset.test, r)));
    eprintln!("fp32 {fp32:.4}, int8 {int8:.4} on {n} test images");
    assert!((fp32 - int8).abs() <= 0.005, "fp32 {fp32} vs int8 {int8}");
    // The integer code equals its double-precision simulation on real images.
    let mut x = vec![0.0f32; data::PADDED * data::PADDED];
    for i in 0..100 {
        data::padded_image(&asset.test, i, &mut x);
        let qx = q.quantize_input(&x);
        let ints: Vec<f64> = q.forward(&qx).iter().map(|&v| v as f64).collect();
        assert_eq!(ints, q.simulate_f64(&qx), "image {i}");
    }
}

#[test]
fn four_bit_kmeans_recovers_within_a_point_after_one_epoch_of_qat() {
    let (asset, mut net) = committed();
    let images = 2000;
    let acc = |net: &Network| {
        share_correct(
            &asset.test,
            &in_two(images, |r| train::predict(&mut net.clone(), &asset.test, r)),
        )
    };
    let fp32 = acc(&net);
    let mut q = quant::KMeansQuantizer::quantize(&mut net, 4, 0).unwrap();
    let before = acc(&net);
    train::finetune(&mut net, &asset.train, 1, 0.01, 0, |n| {
        q.update_and_apply(n)
    });
    let after = acc(&net);
    eprintln!("4-bit k-means: fp32 {fp32:.4}, before QAT {before:.4}, after one epoch {after:.4}");
    assert!(after >= fp32 - 0.01, "fp32 {fp32}, after QAT {after}");
    for (i, cb) in q.codebooks.iter().enumerate() {
        assert!(cb.centroids.len() <= 16);
        assert!(quant::distinct_values(glassbox_lab::compress::prune::weights(&net, i)) <= 16);
    }
}
