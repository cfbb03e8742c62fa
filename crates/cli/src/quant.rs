//! `glassbox quant ...`: linear quantization's parameters, k-means quantization with
//! quantization-aware training, and integer-only (int8) inference (chapter 7).

use crate::assets::{accuracy, committed_network, load_asset};
use crate::ranges;
use crate::Failure;
use clap::{Args, Subcommand};
use glassbox_lab::compress::int8::{self, Int8Network};
use glassbox_lab::compress::{prune, quant};
use serde_json::json;

#[derive(Subcommand)]
pub enum Command {
    /// Scale and zero point of linear quantization of [rmin, rmax] onto signed integers.
    LinearParams(LinearParams),
    /// k-means quantization of every conv and linear weight tensor, then quantization-aware
    /// training.
    Kmeans(Kmeans),
    /// Integer-only inference of the committed network on the test images, against fp32.
    Int8(Int8),
    /// k-means against linear (symmetric per-channel, weights only) quantization at several widths.
    Compare(Compare),
}

#[derive(Args)]
pub struct LinearParams {
    /// Lower end of the real range (below --rmax).
    #[arg(long, value_parser = ranges::finite)]
    rmin: f64,
    /// Upper end of the real range.
    #[arg(long, value_parser = ranges::finite)]
    rmax: f64,
    /// Integer width in bits, 1 to 32.
    #[arg(long, default_value_t = 8, value_parser = ranges::between(1u32, 32))]
    bits: u32,
}

#[derive(Args)]
pub struct Kmeans {
    /// Bits per weight, 1 to 8 (2^bits centroids per tensor).
    #[arg(long, value_parser = ranges::between(1u32, 8))]
    bits: u32,
    /// Epochs of quantization-aware training (0: none).
    #[arg(long, default_value_t = 0, value_parser = ranges::whole::<usize>)]
    qat_epochs: usize,
    /// Evaluate on the first N test images (at least 1; at most all 10,000).
    #[arg(long, default_value_t = 10_000, value_parser = ranges::at_least(1usize))]
    images: usize,
    /// Peak learning rate of quantization-aware training (positive).
    #[arg(long, default_value_t = 0.01, value_parser = ranges::positive::<f32>)]
    lr: f32,
    /// Seed of the centroids' initialisation and of training's batch order.
    #[arg(long, default_value_t = 0, value_parser = ranges::whole::<u64>)]
    seed: u64,
}

#[derive(Args)]
pub struct Int8 {
    /// Evaluate on the first N test images (at least 1; at most all 10,000).
    #[arg(long, default_value_t = 10_000, value_parser = ranges::at_least(1usize))]
    images: usize,
    /// Training images that calibrate the activation ranges (at least 1).
    #[arg(long, default_value_t = 512, value_parser = ranges::at_least(1usize))]
    calibration: usize,
    /// Seed of the calibration images' choice.
    #[arg(long, default_value_t = 0, value_parser = ranges::whole::<u64>)]
    seed: u64,
}

#[derive(Args)]
pub struct Compare {
    /// The widths to compare, comma-separated, each 2 to 8 bits.
    #[arg(long, default_value = "8,4,2", value_delimiter = ',')]
    #[arg(value_parser = ranges::between(2u32, 8))]
    bits: Vec<u32>,
    /// Evaluate on the first N test images (at least 1; at most all 10,000).
    #[arg(long, default_value_t = 10_000, value_parser = ranges::at_least(1usize))]
    images: usize,
    /// Seed of the k-means centroids' initialisation.
    #[arg(long, default_value_t = 0, value_parser = ranges::whole::<u64>)]
    seed: u64,
}

impl Command {
    pub fn run(self) -> Result<serde_json::Value, Failure> {
        match self {
            Command::LinearParams(l) => l.run(),
            Command::Kmeans(k) => k.run(),
            Command::Int8(i) => i.run(),
            Command::Compare(c) => c.run(),
        }
    }
}

impl LinearParams {
    fn run(self) -> Result<serde_json::Value, Failure> {
        let p = quant::linear_params(self.rmin, self.rmax, self.bits)
            .map_err(Failure::input_for("--rmin, --rmax"))?;
        Ok(serde_json::to_value(p).map_err(|e| e.to_string())?)
    }
}

impl Kmeans {
    fn run(self) -> Result<serde_json::Value, Failure> {
        let (bits, images, epochs) = (self.bits, self.images, self.qat_epochs);
        let asset = load_asset()?;
        let mut net = committed_network()?;
        let fp32 = accuracy(&net, &asset.test, images);
        let mut q = quant::KMeansQuantizer::quantize(&mut net, bits, self.seed)?;
        let before = accuracy(&net, &asset.test, images);
        let losses = glassbox_lab::vision::train::finetune(
            &mut net,
            &asset.train,
            epochs,
            self.lr,
            self.seed,
            |n| q.update_and_apply(n),
        );
        let after = accuracy(&net, &asset.test, images);
        let distinct = (0..net.blocks.len() + 1)
            .map(|i| quant::distinct_values(prune::weights(&net, i)))
            .max()
            .unwrap_or(0);
        Ok(json!({
            "bits": bits,
            "size_mib": q.model_bits(&net) as f64 / 8.0 / 1048576.0,
            "size_mib_fp32": prune::model_bits(&net, false) as f64 / 8.0 / 1048576.0,
            "distinct_values_max": distinct,
            "accuracy_fp32": fp32,
            "accuracy_before_qat": before,
            "accuracy_after_qat": after,
            "qat_epochs": epochs, "qat_losses": losses,
            "images": images.min(asset.test.len()),
        }))
    }
}

impl Int8 {
    fn run(self) -> Result<serde_json::Value, Failure> {
        let asset = load_asset()?;
        let net = committed_network()?;
        let images = self.images.min(asset.test.len());
        let calibration = self.calibration.min(asset.train.len());
        let calib = int8::calibration_batch(&asset.train, calibration, self.seed);
        let mut q = Int8Network::build(&net, &calib, calibration)?;
        let start = std::time::Instant::now();
        let preds = predict_threaded(&q, &asset.test, images);
        let int8_s = start.elapsed().as_secs_f64();
        let correct = |p: &[u32]| {
            p.iter()
                .enumerate()
                .filter(|&(i, &y)| asset.test.labels[i] as u32 == y)
                .count() as f64
                / p.len().max(1) as f64
        };
        // With an explicit ReLU after every convolution: the same predictions.
        q.explicit_relu = true;
        let with_relu = predict_threaded(&q, &asset.test, images.min(1000));
        q.explicit_relu = false;
        let same = with_relu.iter().zip(&preds).filter(|(a, b)| a == b).count();
        // The float network without its ReLUs, for contrast.
        let folded = int8::fold_batchnorm(&net);
        let n = images.min(1000);
        let idx: Vec<usize> = (0..n).collect();
        let (x, _) = glassbox_lab::vision::train::batch(&asset.test, &idx, None);
        let (logits, _) = int8::folded_forward(&net, &folded, &x, n, false);
        let no_relu: Vec<u32> = logits.chunks(net.classes()).map(int8::argmax).collect();
        let fp32 = accuracy(&net, &asset.test, images);
        Ok(json!({
            "accuracy_fp32": fp32,
            "accuracy_int8": correct(&preds),
            "relu_layers": q.relu_layers(),
            "images": images,
            "calibration_images": calibration,
            "int8_images_per_s": images as f64 / int8_s,
            "explicit_relu_same_predictions": format!("{same} of {}", with_relu.len()),
            "accuracy_fp32_without_relu": correct(&no_relu),
            "size_mib_int8": q.model_bits() as f64 / 8.0 / 1048576.0,
            "activation_ranges": q.convs.iter().map(|c| c.output.scale * 255.0).collect::<Vec<_>>(),
        }))
    }
}

/// Predictions of the first `images` test images, on every core.
fn predict_threaded(
    q: &Int8Network,
    test: &glassbox_lab::vision::data::Split,
    images: usize,
) -> Vec<u32> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let chunk = images.div_ceil(threads);
    std::thread::scope(|s| {
        let parts: Vec<_> = (0..threads)
            .map(|t| {
                let range = (t * chunk).min(images)..((t + 1) * chunk).min(images);
                s.spawn(move || q.predict_split(test, range))
            })
            .collect();
        parts
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

impl Compare {
    fn run(self) -> Result<serde_json::Value, Failure> {
        let asset = load_asset()?;
        let net = committed_network()?;
        let (images, seed) = (self.images, self.seed);
        let mut rows = Vec::new();
        for bits in self.bits {
            let mut k = net.clone();
            let q = quant::KMeansQuantizer::quantize(&mut k, bits, seed)?;
            let mut l = net.clone();
            let linear_bits = quant::linear_quantize_weights(&mut l, bits)?;
            rows.push(json!({
                "bits": bits,
                "kmeans_accuracy": accuracy(&k, &asset.test, images),
                "kmeans_size_mib": q.model_bits(&k) as f64 / 8.0 / 1048576.0,
                "linear_accuracy": accuracy(&l, &asset.test, images),
                "linear_size_mib": linear_bits as f64 / 8.0 / 1048576.0,
            }));
        }
        Ok(json!({
            "accuracy_fp32": accuracy(&net, &asset.test, images),
            "size_mib_fp32": prune::model_bits(&net, false) as f64 / 8.0 / 1048576.0,
            "images": images.min(asset.test.len()),
            "widths": rows,
        }))
    }
}
