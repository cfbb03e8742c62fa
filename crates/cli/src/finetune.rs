//! `glassbox finetune ...`: surgical fine-tuning of the committed network under a distribution
//! shift (chapter 3): one tuning choice (`run`), every choice (`sweep`, in parallel on the cores),
//! and the pretrained network's accuracy under every corruption and severity (`corruptions`).

use crate::assets::{committed_network, load_asset};
use crate::out_dir::OutDir;
use crate::ranges;
use crate::Failure;
use clap::{Args, Subcommand, ValueEnum};
use glassbox_lab::shift::sweep_table::{self, SweepRow};
use glassbox_lab::shift::{table, Corruption, Shift, Tune, TuneResult, TuneSettings, Tuner};
use glassbox_lab::vision::data::Split;
use glassbox_lab::vision::network::Network;
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Subcommand)]
pub enum Command {
    /// Fine-tune one choice of parameters under one shift; prints the result with its curve.
    Run(Run),
    /// Every tuning choice (or those of --tunes) under one shift, or under every corruption.
    Sweep(Sweep),
    /// The pretrained network's accuracy under every corruption at severities 0 to 5.
    Corruptions(Corruptions),
    /// Gather saved `sweep` outputs (JSON files, e.g. one per corruption run separately) into the
    /// table `sweep --out` writes (DIR/sweep.csv).
    Table(Table),
}

#[derive(Args)]
pub struct Table {
    /// The saved outputs of `glassbox finetune sweep`, comma-separated.
    #[arg(long, value_delimiter = ',', required = true)]
    from: Vec<PathBuf>,
    /// Write sweep.csv here.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ShiftKind {
    Corruption,
    Flip,
    StageNoise,
}

/// The shift and the protocol, shared by `run` and `sweep`.
#[derive(Args)]
pub struct Protocol {
    /// The shift: an input corruption, the label flip y -> 9 - y, or noise on one block's weights.
    #[arg(long, value_enum, default_value = "corruption")]
    shift: ShiftKind,
    /// The corruption (with --shift corruption): gaussian_noise, shot_noise, impulse_noise,
    /// contrast, brightness, gaussian_blur, pixelate, defocus_blur; `sweep` also takes `all`.
    #[arg(long, default_value = "gaussian_noise")]
    corruption: String,
    /// The corruption's severity, 1 to 5.
    #[arg(long, default_value_t = 5, value_parser = ranges::between(1u8, 5))]
    severity: u8,
    /// The block whose weights get noise (with --shift stage-noise): block1 to block4.
    #[arg(long, default_value = "block2")]
    noise_block: String,
    /// Noise of alpha times each tensor's standard deviation (with --shift stage-noise).
    #[arg(long, default_value_t = 1.0, value_parser = ranges::non_negative)]
    alpha: f64,
    /// Training images drawn from the test split (a multiple of 10; validation: a tenth of it).
    #[arg(long, default_value_t = 1000, value_parser = ranges::at_least(10usize))]
    images: usize,
    /// Test images (a multiple of 10), disjoint from the training and validation images.
    #[arg(long, default_value_t = 1000, value_parser = ranges::at_least(10usize))]
    test_images: usize,
    /// Epochs per learning rate, 1 to 50.
    #[arg(long, default_value_t = 10, value_parser = ranges::between(1usize, 50))]
    epochs: usize,
    /// One learning rate instead of the grid (positive, at most 1).
    #[arg(long, value_parser = ranges::positive::<f64>, conflicts_with = "lr_grid")]
    lr: Option<f64>,
    /// The learning-rate grid, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1e-2,1e-3,1e-4")]
    #[arg(value_parser = ranges::positive::<f64>)]
    lr_grid: Vec<f64>,
    /// Seed of the images' draw, the corruption noise, the stage noise and the batch order.
    #[arg(long, default_value_t = 0, value_parser = ranges::whole::<u64>)]
    seed: u64,
}

#[derive(Args)]
pub struct Run {
    #[command(flatten)]
    protocol: Protocol,
    /// What to tune: block1..block4, head, all, bn-stats (re-estimate batch-norm statistics) or
    /// auto-rgn (every weight at its relative-gradient-norm learning rate).
    #[arg(long)]
    tune: String,
}

#[derive(Args)]
pub struct Sweep {
    #[command(flatten)]
    protocol: Protocol,
    /// The tuning choices, comma-separated (default: all eight).
    #[arg(long, value_delimiter = ',')]
    tunes: Vec<String>,
    /// Also write the results as a table (sweep.csv) here.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Args)]
pub struct Corruptions {
    /// Evaluate on the first N test images (at least 10; at most all 10,000).
    #[arg(long, default_value_t = 2000, value_parser = ranges::at_least(10usize))]
    images: usize,
    /// Seed of the corruption noise.
    #[arg(long, default_value_t = 0, value_parser = ranges::whole::<u64>)]
    seed: u64,
    /// Also write the example grid and the accuracy heatmap (SVG) and their data (CSV) here.
    #[arg(long)]
    out: Option<PathBuf>,
}

impl Command {
    pub fn run(self) -> Result<serde_json::Value, Failure> {
        match self {
            Command::Run(r) => r.run(),
            Command::Sweep(s) => s.run(),
            Command::Corruptions(c) => c.run(),
            Command::Table(t) => t.run(),
        }
    }
}

fn block(name: &str) -> Result<usize, Failure> {
    match Tune::parse(name) {
        Ok(Tune::Block(b)) => Ok(b),
        _ => Err(Failure::Input(format!(
            "--noise-block: '{name}' is not block1, block2, block3 or block4"
        ))),
    }
}

impl Protocol {
    /// The shifts asked for (every corruption for `--corruption all` when `all_ok`).
    fn shifts(&self, all_ok: bool) -> Result<Vec<Shift>, Failure> {
        Ok(match self.shift {
            ShiftKind::Flip => vec![Shift::Flip],
            ShiftKind::StageNoise => vec![Shift::StageNoise {
                block: block(&self.noise_block)?,
                alpha: self.alpha,
            }],
            ShiftKind::Corruption if all_ok && self.corruption == "all" => Corruption::ALL
                .iter()
                .map(|&corruption| Shift::Corruption {
                    corruption,
                    severity: self.severity,
                })
                .collect(),
            ShiftKind::Corruption => vec![Shift::Corruption {
                corruption: Corruption::parse(&self.corruption)
                    .map_err(Failure::input_for("--corruption"))?,
                severity: self.severity,
            }],
        })
    }

    fn settings(&self, shift: Shift, tune: Tune) -> Result<TuneSettings, Failure> {
        let s = TuneSettings {
            shift,
            tune,
            images: self.images,
            test_images: self.test_images,
            epochs: self.epochs,
            lrs: self.lr.map_or_else(|| self.lr_grid.clone(), |lr| vec![lr]),
            seed: self.seed,
            ..TuneSettings::default()
        };
        s.validate().map_err(Failure::input_relabelled(&[
            ("images", "--images:"),
            ("test images", "--test-images:"),
            ("lr", "--lr:"),
            ("alpha", "--alpha:"),
        ]))?;
        Ok(s)
    }
}

/// One experiment to the end: its result as JSON, with its running time.
fn tune_one(
    net: &Network,
    test: &Split,
    settings: TuneSettings,
) -> Result<serde_json::Value, String> {
    let start = Instant::now();
    let mut tuner = Tuner::new(net, test, settings)?;
    tuner.run();
    let mut v = serde_json::to_value(tuner.result()).map_err(|e| e.to_string())?;
    v["seconds"] = json!(start.elapsed().as_secs_f64());
    Ok(v)
}

impl Run {
    fn run(self) -> Result<serde_json::Value, Failure> {
        let tune = Tune::parse(&self.tune).map_err(Failure::input_for("--tune"))?;
        let shift = self.protocol.shifts(false)?[0];
        let settings = self.protocol.settings(shift, tune)?;
        let (asset, net) = (load_asset()?, committed_network()?);
        Ok(tune_one(&net, &asset.test, settings)?)
    }
}

impl Sweep {
    fn run(self) -> Result<serde_json::Value, Failure> {
        let tunes = if self.tunes.is_empty() {
            Tune::ALL.to_vec()
        } else {
            self.tunes
                .iter()
                .map(|t| Tune::parse(t).map_err(Failure::input_for("--tunes")))
                .collect::<Result<_, _>>()?
        };
        let mut jobs = Vec::new();
        for shift in self.protocol.shifts(true)? {
            for &tune in &tunes {
                jobs.push(self.protocol.settings(shift, tune)?);
            }
        }
        let (asset, net) = (load_asset()?, committed_network()?);
        let start = Instant::now();
        let results = run_parallel(&net, &asset.test, jobs)?;
        if let Some(dir) = OutDir::open(self.out.as_deref())? {
            dir.write("sweep.csv", &table_csv(&results)?)?;
        }
        Ok(json!({
            "results": results,
            "seconds": start.elapsed().as_secs_f64(),
            "threads": threads(),
        }))
    }
}

/// The results (as printed) as the sweep table's CSV.
fn table_csv(results: &[serde_json::Value]) -> Result<String, String> {
    let rows = results
        .iter()
        .map(|v| {
            let r: TuneResult = serde_json::from_value(v.clone()).map_err(|e| e.to_string())?;
            SweepRow::try_from(&r)
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(sweep_table::to_csv(&rows))
}

impl Table {
    fn run(self) -> Result<serde_json::Value, Failure> {
        let mut results = Vec::new();
        for path in &self.from {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Failure::Input(format!("--from: {}: {e}", path.display())))?;
            let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
                Failure::Input(format!(
                    "--from: {}: not a sweep's output ({e})",
                    path.display()
                ))
            })?;
            match v["results"].as_array() {
                Some(r) => results.extend(r.iter().cloned()),
                None => {
                    return Err(Failure::Input(format!(
                        "--from: {}: not a sweep's output (no results)",
                        path.display()
                    )))
                }
            }
        }
        let csv = table_csv(&results).map_err(Failure::input_for("--from"))?;
        let dir = OutDir::open(Some(&self.out))?.ok_or("--out is required")?;
        dir.write("sweep.csv", &csv)?;
        Ok(json!({ "rows": results.len() }))
    }
}

fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Every job, on every core (each job alone on one), results in the jobs' order.
fn run_parallel(
    net: &Network,
    test: &Split,
    jobs: Vec<TuneSettings>,
) -> Result<Vec<serde_json::Value>, String> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let slots: Vec<std::sync::Mutex<Option<Result<serde_json::Value, String>>>> =
        jobs.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..threads().min(jobs.len()) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(job) = jobs.get(i) else { break };
                let r = tune_one(net, test, job.clone());
                if let Ok(mut slot) = slots[i].lock() {
                    *slot = Some(r);
                }
            });
        }
    });
    slots
        .into_iter()
        .map(|m| {
            m.into_inner()
                .ok()
                .flatten()
                .unwrap_or_else(|| Err("a sweep job did not finish".into()))
        })
        .collect()
}

impl Corruptions {
    fn run(self) -> Result<serde_json::Value, Failure> {
        let out = OutDir::open(self.out.as_deref())?;
        let (asset, net) = (load_asset()?, committed_network()?);
        let images = self.images.min(asset.test.len());
        let cells = table::cells();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let acc: Vec<std::sync::Mutex<Result<f64, String>>> = cells
            .iter()
            .map(|_| std::sync::Mutex::new(Err("not computed".into())))
            .collect();
        std::thread::scope(|s| {
            for _ in 0..threads().min(cells.len()) {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(&(c, severity)) = cells.get(i) else {
                        break;
                    };
                    let a = table::cell_accuracy(&net, &asset.test, c, severity, self.seed, images);
                    if let Ok(mut slot) = acc[i].lock() {
                        *slot = a;
                    }
                });
            }
        });
        let acc: Vec<f64> = acc
            .into_iter()
            .map(|m| m.into_inner().map_err(|e| e.to_string())?)
            .collect::<Result<_, String>>()?;
        let table = table::CorruptionTable::from_accuracies(images, self.seed, &acc)?;
        if let Some(dir) = out {
            crate::finetune_figures::write(&dir, &asset.test, &table)?;
        }
        Ok(json!({
            "images": images,
            "seed": self.seed,
            "clean_accuracy": table.clean,
            "corruptions": table.rows(),
        }))
    }
}
