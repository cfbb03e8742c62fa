//! `glassbox image ...` and `glassbox data ...`: the image lab's network (train, evaluate, its
//! layer table) and the committed Fashion-MNIST asset it learns from.

use crate::assets::{self, WEIGHTS};
use crate::ranges;
use crate::Failure;
use clap::{Args, Subcommand, ValueEnum};
use glassbox_lab::vision::vgg::{self, Arch};
use glassbox_lab::vision::{data, network::Network, train};
use serde_json::json;
use std::time::Instant;

/// Where Debian's `dataset-fashion-mnist` package puts the original files.
const DEBIAN_DIR: &str = "/usr/share/datasets/fashion-mnist";

#[derive(Subcommand)]
pub enum ImageCommand {
    /// Train the image lab's network; one JSON line per epoch, then the summary object.
    Train(Train),
    /// Accuracy, per-class accuracy and confusion matrix on the 10,000 test images.
    Eval(Eval),
    /// The layer table of a VGG-style network: parameters, size and multiply-accumulates.
    Stats(Stats),
}

#[derive(Subcommand)]
pub enum DataCommand {
    /// Build the committed Fashion-MNIST asset from Debian's `dataset-fashion-mnist` files.
    FashionMnist(FashionMnist),
}

/// The training images of `image train`.
#[derive(Clone, Copy, ValueEnum)]
enum Source {
    /// All 60,000 training images of Debian's package (see --debian-dir).
    Debian,
    /// The committed asset's training subset.
    Asset,
}

impl Source {
    fn name(self) -> &'static str {
        match self {
            Source::Debian => "debian",
            Source::Asset => "asset",
        }
    }
}

#[derive(Args)]
pub struct Train {
    /// Passes over the training images (at least 1).
    #[arg(long, default_value_t = train::TrainConfig::default().epochs)]
    #[arg(value_parser = ranges::at_least(1usize))]
    epochs: usize,
    /// Seed of the initial weights and the batch order.
    #[arg(long, default_value_t = train::TrainConfig::default().seed)]
    #[arg(value_parser = ranges::whole::<u64>)]
    seed: u64,
    /// Images per batch (at least 1).
    #[arg(long, default_value_t = train::TrainConfig::default().batch)]
    #[arg(value_parser = ranges::at_least(1usize))]
    batch: usize,
    /// Peak learning rate of the cosine schedule (positive).
    #[arg(long, default_value_t = train::TrainConfig::default().lr)]
    #[arg(value_parser = ranges::positive::<f32>)]
    lr: f32,
    /// The training images.
    #[arg(long, value_enum, default_value_t = Source::Debian)]
    data: Source,
    /// The folder of Debian's Fashion-MNIST files (with --data debian).
    #[arg(long, default_value = DEBIAN_DIR, value_name = "DIR")]
    debian_dir: String,
    /// Where to save the trained weights.
    #[arg(long, default_value = WEIGHTS, value_name = "FILE")]
    out: String,
}

#[derive(Args)]
pub struct Eval {
    /// The weights to evaluate.
    #[arg(long, default_value = WEIGHTS, value_name = "FILE")]
    weights: String,
}

#[derive(Args)]
pub struct Stats {
    /// The architecture: ours (lab) or the original lab's VGG (cifar-vgg).
    #[arg(long, default_value = "lab", value_parser = ["lab", "cifar-vgg"])]
    arch: String,
    /// Uniform channel-pruning ratio applied first, in [0, 1).
    #[arg(long, default_value_t = 0.0, value_parser = ranges::below_one)]
    channel_prune: f64,
}

#[derive(Args)]
pub struct FashionMnist {
    /// The folder of Debian's Fashion-MNIST files.
    #[arg(long, default_value = DEBIAN_DIR, value_name = "DIR")]
    from: String,
    /// Where to write the asset.
    #[arg(long, default_value = assets::ASSET, value_name = "FILE")]
    out: String,
}

impl ImageCommand {
    pub fn run(self) -> Result<serde_json::Value, Failure> {
        match self {
            ImageCommand::Train(t) => t.run(),
            ImageCommand::Eval(e) => e.run(),
            ImageCommand::Stats(s) => s.run(),
        }
    }
}

impl DataCommand {
    pub fn run(self) -> Result<serde_json::Value, Failure> {
        match self {
            DataCommand::FashionMnist(f) => f.run(),
        }
    }
}

impl Train {
    fn run(self) -> Result<serde_json::Value, Failure> {
        let config = train::TrainConfig {
            epochs: self.epochs,
            seed: self.seed,
            batch: self.batch,
            lr: self.lr,
            ..train::TrainConfig::default()
        };
        let asset = assets::load_asset()?;
        let train_split = match self.data {
            Source::Asset => asset.train.clone(),
            Source::Debian => {
                data::from_idx_dir(std::path::Path::new(&self.debian_dir), usize::MAX)
                    .map_err(|e| {
                        format!("{e} (install dataset-fashion-mnist, or use --data asset)")
                    })?
                    .train
            }
        };
        let started = Instant::now();
        let mut net = Network::new(&Arch::lab(), config.seed);
        let mut trainer = train::Trainer::new(config.clone(), train_split.len());
        let mut reports = Vec::new();
        for epoch in 1..=config.epochs {
            let t = Instant::now();
            let order = trainer.epoch_order(train_split.len());
            let mut loss = 0.0f64;
            let batches = order.chunks(config.batch);
            let count = batches.len();
            for idx in batches {
                loss += trainer.step(&mut net, &train_split, idx) as f64;
            }
            let eval = train::evaluate(&mut net, &asset.test);
            let report = train::EpochReport {
                epoch,
                train_loss: loss / count as f64,
                test_accuracy: eval.accuracy,
                seconds: t.elapsed().as_secs_f64(),
            };
            println!(
                "{}",
                serde_json::to_string(&report).map_err(|e| e.to_string())?
            );
            reports.push(report);
        }
        let out = self.out;
        std::fs::write(&out, net.to_bytes()).map_err(|e| format!("{out}: {e}"))?;
        let source = self.data.name();
        Ok(json!({
            "weights": out, "epochs": config.epochs, "seed": config.seed, "batch": config.batch, "lr": config.lr,
            "train_images": train_split.len(), "data": source,
            "test_accuracy": reports.last().map(|r| r.test_accuracy), "seconds": started.elapsed().as_secs_f64(),
        }))
    }
}

impl Eval {
    fn run(self) -> Result<serde_json::Value, Failure> {
        let mut net = assets::load_network(&self.weights)?;
        let asset = assets::load_asset()?;
        let e = train::evaluate(&mut net, &asset.test);
        Ok(
            json!({"accuracy": e.accuracy, "per_class": e.per_class, "confusion": e.confusion, "images": e.images}),
        )
    }
}

impl Stats {
    fn run(self) -> Result<serde_json::Value, Failure> {
        let mut arch = Arch::by_name(&self.arch).map_err(Failure::Input)?;
        let r = self.channel_prune;
        if r != 0.0 {
            arch = arch.channel_pruned(r).map_err(Failure::Input)?;
        }
        Ok(serde_json::to_value(vgg::stats(&arch)).map_err(|e| e.to_string())?)
    }
}

impl FashionMnist {
    fn run(self) -> Result<serde_json::Value, Failure> {
        let (from, out) = (self.from, self.out);
        let d = data::from_idx_dir(std::path::Path::new(&from), 1000).map_err(|e| e.to_string())?;
        let bytes = data::encode(&d).map_err(|e| e.to_string())?;
        // Check what was written decodes to the same data before replacing anything.
        if data::decode(&bytes).map_err(|e| e.to_string())? != d {
            return Err("the encoded asset does not decode to the same data".into());
        }
        std::fs::write(&out, &bytes).map_err(|e| format!("{out}: {e}"))?;
        Ok(json!({
            "out": out, "bytes": bytes.len(), "test_images": d.test.len(), "train_images": d.train.len(),
            "checksum": format!("{:016x}", data::fnv1a64(&bytes)),
        }))
    }
}
