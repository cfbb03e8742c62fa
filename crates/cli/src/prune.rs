//! `glassbox prune ...`: each layer's sensitivity to pruning, fine-grained magnitude pruning with
//! fine-tuning, and uniform channel pruning (chapter 6), on the committed network.

use crate::assets::{accuracy, committed_network, load_asset};
use crate::out_dir::OutDir;
use crate::ranges::{self, LayerSparsity};
use crate::Failure;
use clap::{Args, Subcommand};
use glassbox_lab::compress::prune::{self, Sensitivity};
use glassbox_lab::figures::{self, Palette};
use glassbox_lab::vision::{data::Split, network::Network, train, vgg};
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Subcommand)]
pub enum Command {
    /// Each layer pruned alone at each sparsity: accuracy on the test images.
    Sensitivity(SensitivityScan),
    /// Magnitude pruning with per-layer sparsities, then fine-tuning with the masks kept.
    FineGrained(FineGrained),
    /// Uniform channel pruning (optionally sorted by importance first), then fine-tuning.
    Channel(Channel),
}

/// The test images and the fine-tuning every pruning command shares.
#[derive(Args)]
pub struct Finetune {
    /// Fine-tuning epochs after pruning (0: none).
    #[arg(long, default_value_t = 0, value_parser = ranges::whole::<usize>)]
    finetune_epochs: usize,
    /// Evaluate on the first N test images (at least 1; at most all 10,000).
    #[arg(long, default_value_t = 10_000, value_parser = ranges::at_least(1usize))]
    images: usize,
    /// Peak learning rate of fine-tuning (positive).
    #[arg(long, default_value_t = 0.01, value_parser = ranges::positive::<f32>)]
    lr: f32,
    /// Seed of fine-tuning's batch order and augmentation.
    #[arg(long, default_value_t = 0, value_parser = ranges::whole::<u64>)]
    seed: u64,
}

#[derive(Args)]
pub struct SensitivityScan {
    /// The sparsities to scan, comma-separated, each in [0, 1].
    #[arg(long, default_value = "0.4,0.5,0.6,0.7,0.8,0.9", value_delimiter = ',')]
    #[arg(value_parser = ranges::fraction)]
    sparsities: Vec<f64>,
    /// Evaluate on the first N test images (at least 1; at most all 10,000).
    #[arg(long, default_value_t = 10_000, value_parser = ranges::at_least(1usize))]
    images: usize,
    /// Also write the sensitivity figure (SVG) and its data (CSV) into this folder.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

#[derive(Args)]
pub struct FineGrained {
    /// Per-layer target sparsities, comma-separated layer=S with S in [0, 1]
    /// (layers conv1 to conv8 and linear; those not named stay dense).
    #[arg(long, required = true, value_delimiter = ',', value_name = "LAYER=S")]
    #[arg(value_parser = ranges::layer_sparsity)]
    sparsity: Vec<LayerSparsity>,
    #[command(flatten)]
    finetune: Finetune,
    /// Also write each layer's weight histogram with its threshold (SVG, CSV) into this folder.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

#[derive(Args)]
pub struct Channel {
    /// Fraction of each conv's output channels removed (all but the last conv), in [0, 1).
    #[arg(long, value_parser = ranges::below_one)]
    ratio: f64,
    /// Sort each layer's channels by importance before pruning (`--sort` alone means true).
    #[arg(long, default_value_t = false, num_args = 0..=1, default_missing_value = "true")]
    #[arg(value_name = "true|false")]
    sort: bool,
    #[command(flatten)]
    finetune: Finetune,
}

impl Command {
    pub fn run(self) -> Result<serde_json::Value, Failure> {
        match self {
            Command::Sensitivity(s) => s.run(),
            Command::FineGrained(f) => f.run(),
            Command::Channel(c) => c.run(),
        }
    }
}

impl SensitivityScan {
    fn run(self) -> Result<serde_json::Value, Failure> {
        let images = self.images;
        let asset = load_asset()?;
        let net = committed_network()?;
        let mut job = Sensitivity::new(&net, &self.sparsities).map_err(Failure::Input)?;
        while let Some(n) = job.next() {
            job.record(accuracy(&n, &asset.test, images));
        }
        if let Some(dir) = OutDir::open(self.out.as_deref())? {
            let data = figures::SensitivityData {
                dense_accuracy: job.dense_accuracy,
                layers: job.layers.clone(),
            };
            let svg = figures::to_svg(800, 480, |a| {
                figures::draw_sensitivity(a, &data, &Palette::LIGHT)
            })?;
            dir.write("sensitivity.svg", &svg)?;
            dir.write("sensitivity.csv", &data.csv())?;
        }
        Ok(json!({
            "dense_accuracy": job.dense_accuracy, "images": images.min(asset.test.len()),
            "layers": job.layers,
        }))
    }
}

impl FineGrained {
    /// Magnitude pruning with per-layer sparsities, then fine-tuning with the masks kept.
    fn run(self) -> Result<serde_json::Value, Failure> {
        let mut net = committed_network()?;
        let names = prune::layer_names(&net);
        let mut targets = vec![0.0; names.len()];
        for LayerSparsity { layer, sparsity } in &self.sparsity {
            let i = names.iter().position(|n| n == layer).ok_or_else(|| {
                Failure::Input(format!(
                    "--sparsity: no layer '{layer}' (layers: {})",
                    names.join(", ")
                ))
            })?;
            targets[i] = *sparsity;
        }
        let Finetune {
            finetune_epochs: epochs,
            images,
            lr,
            seed,
        } = self.finetune;
        let asset = load_asset()?;
        let dense_bits = prune::model_bits(&net, false);
        let dense_accuracy = accuracy(&net, &asset.test, images);
        if let Some(dir) = OutDir::open(self.out.as_deref())? {
            // Each layer's weight histogram with its pruning threshold (before pruning).
            for (i, name) in names.iter().enumerate() {
                let w = prune::weights(&net, i);
                let (_, t) = prune::magnitude_mask(w, targets[i])?;
                let h = figures::WeightHistogram::new(name, w, t, targets[i], 60);
                let svg = figures::to_svg(800, 480, |a| {
                    figures::draw_weight_histogram(a, &h, &Palette::LIGHT)
                })?;
                dir.write(&format!("weights_{name}.svg"), &svg)?;
                dir.write(&format!("weights_{name}.csv"), &h.csv())?;
            }
        }
        let masks = prune::prune(&mut net, &targets)?;
        let before = accuracy(&net, &asset.test, images);
        let losses = train::finetune(&mut net, &asset.train, epochs, lr, seed, |n| masks.apply(n));
        let after = accuracy(&net, &asset.test, images);
        let sparse_bits = prune::model_bits(&net, true);
        Ok(json!({
            "layers": prune::report(&net, &targets),
            "size_ratio": sparse_bits as f64 / dense_bits as f64,
            "dense_size_mib": dense_bits as f64 / 8.0 / 1048576.0,
            "sparse_size_mib": sparse_bits as f64 / 8.0 / 1048576.0,
            "dense_accuracy": dense_accuracy,
            "accuracy_before_finetune": before,
            "accuracy_after_finetune": after,
            "finetune_epochs": epochs, "finetune_losses": losses,
            "goal": prune::check_goal(dense_bits, sparse_bits, dense_accuracy, after),
            "images": images.min(asset.test.len()),
        }))
    }
}

impl Channel {
    fn run(self) -> Result<serde_json::Value, Failure> {
        let (ratio, sort) = (self.ratio, self.sort);
        let Finetune {
            finetune_epochs: epochs,
            images,
            lr,
            seed,
        } = self.finetune;
        let asset = load_asset()?;
        let dense = committed_network()?;
        let start = if sort {
            prune::sort_channels(&dense)
        } else {
            dense.clone()
        };
        let mut pruned = prune::channel_prune(&start, ratio).map_err(Failure::Input)?;
        let before = accuracy(&pruned, &asset.test, images);
        let losses = train::finetune(&mut pruned, &asset.train, epochs, lr, seed, |_| {});
        let after = accuracy(&pruned, &asset.test, images);
        let (sd, sp) = (vgg::stats(&dense.arch), vgg::stats(&pruned.arch));
        Ok(json!({
            "ratio": ratio, "sorted": sort,
            "macs_dense": sd.macs, "macs_pruned": sp.macs,
            "params_dense": sd.params, "params_pruned": sp.params,
            "dense_accuracy": accuracy(&dense, &asset.test, images),
            "accuracy_before_finetune": before, "accuracy_after_finetune": after,
            "finetune_epochs": epochs, "finetune_losses": losses,
            "latency_ms_dense": latency_ms(&dense, &asset.test),
            "latency_ms_pruned": latency_ms(&pruned, &asset.test),
            "images": images.min(asset.test.len()),
        }))
    }
}

/// Median time of a forward pass of one image, in milliseconds.
fn latency_ms(net: &Network, test: &Split) -> f64 {
    let mut net = net.clone();
    let (x, _) = train::batch(test, &[0], None);
    let mut times: Vec<f64> = (0..41)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(net.forward(&x, 1, false));
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}
