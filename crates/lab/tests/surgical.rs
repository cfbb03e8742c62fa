//! Surgical fine-tuning on the committed network, over three seeds, at reduced settings (500
//! training images, 500 test images, one learning rate 1e-2, a few epochs; the full protocol's
//! numbers are in the README): under severity-5 Gaussian noise the first block beats the head,
//! and under the label flip the head reaches 80% and beats the first block. The runs also check
//! that tuning a block changes that block only.

use glassbox_lab::shift::blocks::params_changed;
use glassbox_lab::shift::{Corruption, Shift, Tune, TuneSettings, Tuner};
use glassbox_lab::vision::{data, network::Network};

fn assets() -> (data::FashionMnist, Network) {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets/");
    let asset = data::decode(&std::fs::read(format!("{root}fashion-mnist.gbds")).unwrap()).unwrap();
    let net = Network::from_bytes(&std::fs::read(format!("{root}fashion-vgg.gbnet")).unwrap())
        .expect("weights load");
    (asset, net)
}

fn tune(
    net: &Network,
    test: &data::Split,
    shift: Shift,
    tune: Tune,
    epochs: usize,
    seed: u64,
) -> f64 {
    let mut t = Tuner::new(
        net,
        test,
        TuneSettings {
            shift,
            tune,
            images: 500,
            test_images: 500,
            epochs,
            lrs: vec![1e-2],
            seed,
            ..TuneSettings::default()
        },
    )
    .unwrap();
    t.run();
    let r = t.result().unwrap();
    // Only the tuned tensors moved.
    let mut only = t.start_network().clone();
    for x in tune.tensors(net) {
        x.get_mut(&mut only).copy_from_slice(x.get(t.network()));
    }
    assert_eq!(params_changed(&only, t.network()), 0);
    assert_eq!(
        r.params_changed,
        params_changed(t.start_network(), t.network())
    );
    eprintln!(
        "{} seed {seed}, {}: {:.3} -> {:.3}",
        shift.describe(),
        tune.name(),
        r.accuracy_before,
        r.accuracy_after
    );
    r.accuracy_after
}

#[test]
fn the_first_block_for_noise_and_the_head_for_the_flip() {
    let (asset, net) = assets();
    let noise = Shift::Corruption {
        corruption: Corruption::GaussianNoise,
        severity: 5,
    };
    for seed in 0..3 {
        let (b1, head) = (
            tune(&net, &asset.test, noise, Tune::Block(0), 3, seed),
            tune(&net, &asset.test, noise, Tune::Head, 3, seed),
        );
        assert!(
            b1 > head + 0.05,
            "noise, seed {seed}: block1 {b1} vs head {head}"
        );
        let (b1, head) = (
            tune(&net, &asset.test, Shift::Flip, Tune::Block(0), 5, seed),
            tune(&net, &asset.test, Shift::Flip, Tune::Head, 5, seed),
        );
        assert!(head >= 0.8, "flip, seed {seed}: head {head}");
        assert!(
            head > b1 + 0.2,
            "flip, seed {seed}: head {head} vs block1 {b1}"
        );
    }
}
