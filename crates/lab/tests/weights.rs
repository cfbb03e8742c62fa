//! The committed weights of the image lab's network reach the stated accuracy on the full
//! Fashion-MNIST test set (10,000 images), evaluated natively with batch-norm's running statistics.

use glassbox_lab::vision::{data, network::Network, train, vgg::Arch};

#[test]
fn committed_weights_reach_90_percent_on_the_test_set() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets/");
    let asset = data::decode(&std::fs::read(format!("{root}fashion-mnist.gbds")).unwrap()).unwrap();
    let bytes = std::fs::read(format!("{root}fashion-vgg.gbnet"))
        .expect("assets/fashion-vgg.gbnet is committed");
    let mut net = Network::from_bytes(&bytes).expect("weights load");
    assert_eq!(net.arch.stages, Arch::lab().stages);
    let e = train::evaluate(&mut net, &asset.test);
    eprintln!("test accuracy of the committed weights: {:.4}", e.accuracy);
    assert_eq!(e.images, 10_000);
    assert!(e.accuracy >= 0.90, "accuracy {}", e.accuracy);
    assert_eq!(e.confusion.iter().flatten().sum::<u32>(), 10_000);
}
