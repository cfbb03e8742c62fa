//! The committed Fashion-MNIST asset decodes, passes its checksum and has the promised content.

use glassbox_lab::vision::data;

#[test]
fn committed_asset_is_intact() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../assets/fashion-mnist.gbds"
    );
    let bytes = std::fs::read(path).expect("assets/fashion-mnist.gbds is committed");
    let d = data::decode(&bytes).expect("decodes with a valid checksum");
    assert_eq!(d.test.len(), 10_000);
    assert_eq!(d.train.len(), 10_000);
    for split in [&d.test, &d.train] {
        let mut count = [0usize; 10];
        split.labels.iter().for_each(|&y| count[y as usize] += 1);
        assert!(count.iter().all(|&c| c == 1000), "{count:?}");
    }
    // Real images: mean intensity of Fashion-MNIST is about 0.286.
    let mean =
        d.test.images.iter().map(|&p| p as f64).sum::<f64>() / d.test.images.len() as f64 / 255.0;
    assert!((mean - 0.286).abs() < 0.01, "{mean}");
}
