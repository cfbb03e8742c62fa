//! `glassbox`: runs the textbook's experiments natively and prints one JSON object per command.
//! GPU commands use any adapter wgpu finds natively (Vulkan; Mesa's lavapipe on a CPU-only machine:
//! `VK_DRIVER_FILES=/usr/share/vulkan/icd.d/lvp_icd.x86_64.json WGPU_BACKEND=vulkan`).
//! `--out DIR` also writes the chapter's figures (SVG) and their data (CSV). Errors go to stderr
//! with a non-zero exit status.

mod attention;
mod quant;

use glassbox_gpu::{Gpu, MatmulShape};
use glassbox_lab::figures::{self, FeatureWeightData, Palette, TestLossData};
use glassbox_lab::kernels;
use glassbox_lab::maml::{self, InnerPoints, MamlSettings};
use glassbox_lab::maml::{alias_toy, features};
use glassbox_lab::rng::Rng;
use serde_json::json;
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

const USAGE: &str = "usage:
  glassbox maml alias-toy [--c0 X] [--c1 Y] [--lr L] [--steps N] [--out DIR]
  glassbox maml closed-form [--seed N] [--iterations N] [--inner-points grid|uniform]
                            [--n-train-inner N] [--d N] [--meta-lr X] [--tasks-per-step N]
                            [--noise X] [--frequencies 3,4,5] [--out DIR]
  glassbox maml gd [--steps K] [--inner-lr X] ...the closed-form options (uniform points by default)
  glassbox maml classification [--steps K] [--inner-lr X] ...the closed-form options
  glassbox bench maml-variants [--repeat N]
  glassbox bench maml [--repeat N]
  glassbox bench image [--images N] [--steps N] [--backend cpu|gpu]
  glassbox data fashion-mnist [--from /usr/share/datasets/fashion-mnist] [--out assets/fashion-mnist.gbds]
  glassbox image train [--epochs N] [--seed N] [--batch N] [--lr X] [--data debian|asset] [--out FILE]
  glassbox image eval [--weights FILE]
  glassbox image stats [--arch lab|cifar-vgg] [--channel-prune R]
  glassbox prune sensitivity [--sparsities 0.4,0.5,...] [--images N] [--out DIR]
  glassbox prune fine-grained --sparsity conv1=S,...,linear=S [--finetune-epochs N] [--images N] [--out DIR]
  glassbox prune channel --ratio R [--sort] [--finetune-epochs N] [--images N]
  glassbox quant linear-params --rmin X --rmax Y --bits N
  glassbox quant kmeans --bits N [--qat-epochs E] [--images N]
  glassbox quant int8 [--images N] [--calibration N]
  glassbox quant compare [--bits 8,4,2] [--images N]
  glassbox attention mask [--caption TOKENS] [--image-tokens 3]   (default caption: <SOS> a mountain range <PAD>)
  glassbox attention model [--caption TOKENS] [--image-tokens 3] [--picture mountains|sun|stripes|checker]
                          [--seed N] [--query I] [--out DIR]
  glassbox attention cost --image H --patch P --window K --dim D [--query-row R --query-col C] [--out DIR]
  glassbox attention bench [--patch 16] [--window 7] [--dim 64] [--max-tokens 3136] [--out DIR]
  glassbox gpu selftest
  glassbox bench gpu [--sizes 256,512,1024] [--repeat N]";

/// `--flag value` pairs after the subcommand words.
struct Flags(HashMap<String, String>);

impl Flags {
    fn parse(args: &[String], allowed: &[&str]) -> Result<Flags, String> {
        let mut map = HashMap::new();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let key = a
                .strip_prefix("--")
                .ok_or_else(|| format!("unexpected argument '{a}'"))?;
            if !allowed.contains(&key) {
                return Err(format!("unknown option --{key}"));
            }
            let v = it.next().ok_or_else(|| format!("--{key} needs a value"))?;
            map.insert(key.to_string(), v.clone());
        }
        Ok(Flags(map))
    }

    fn get<T: std::str::FromStr>(&self, key: &str, default: T) -> Result<T, String> {
        match self.0.get(key) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| format!("--{key}: cannot read '{v}'")),
        }
    }

    fn out_dir(&self) -> Result<Option<PathBuf>, String> {
        match self.0.get("out") {
            None => Ok(None),
            Some(d) => {
                std::fs::create_dir_all(d).map_err(|e| format!("--out {d}: {e}"))?;
                Ok(Some(PathBuf::from(d)))
            }
        }
    }
}

fn write(dir: &std::path::Path, name: &str, contents: &str) -> Result<(), String> {
    std::fs::write(dir.join(name), contents).map_err(|e| format!("writing {name}: {e}"))
}

fn alias_toy_cmd(args: &[String]) -> Result<serde_json::Value, String> {
    let f = Flags::parse(args, &["c0", "c1", "lr", "steps", "out"])?;
    let (c0, c1) = (f.get("c0", 1.0)?, f.get("c1", 1.0)?);
    let (lr, steps) = (f.get("lr", 0.1)?, f.get("steps", 10_000usize)?);
    let path = alias_toy::descend(c0, c1, lr, steps)?;
    let last = path.last().copied().ok_or("empty trajectory")?;
    if let Some(dir) = f.out_dir()? {
        let svg = figures::to_svg(800, 480, |a| {
            figures::draw_alias_toy(a, &path, &Palette::LIGHT)
        })?;
        write(&dir, "alias_toy.svg", &svg)?;
        write(&dir, "alias_toy.csv", &figures::toy_csv(&path))?;
    }
    Ok(json!({
        "c0": last.c0, "c1": last.c1, "norm0": path[0].norm,
        "beta0": last.beta0, "beta1": last.beta1, "error": last.error,
    }))
}

fn maml_settings(f: &Flags, def: MamlSettings) -> Result<MamlSettings, String> {
    let inner = f.get("inner-points", def.inner_points.name().to_string())?;
    let inner_loop = match def.inner {
        maml::InnerLoop::ClosedForm => maml::InnerLoop::ClosedForm,
        maml::InnerLoop::Gradient { steps, lr } => maml::InnerLoop::Gradient {
            steps: f.get("steps", steps)?,
            lr: f.get("inner-lr", lr)?,
        },
    };
    let frequencies = match f.0.get("frequencies") {
        None => def.true_frequencies.clone(),
        Some(s) => s
            .split(',')
            .map(|t| {
                t.trim()
                    .parse::<usize>()
                    .map_err(|_| format!("--frequencies: cannot read '{t}'"))
            })
            .collect::<Result<_, _>>()?,
    };
    let s = MamlSettings {
        seed: f.get("seed", def.seed)?,
        iterations: f.get("iterations", def.iterations)?,
        inner_points: InnerPoints::parse(&inner)
            .ok_or_else(|| format!("--inner-points: '{inner}' is not grid or uniform"))?,
        n_train_inner: f.get("n-train-inner", def.n_train_inner)?,
        d: f.get("d", def.d)?,
        meta_lr: f.get("meta-lr", def.meta_lr)?,
        tasks_per_step: f.get("tasks-per-step", def.tasks_per_step)?,
        noise: f.get("noise", def.noise)?,
        true_frequencies: frequencies,
        inner: inner_loop,
        ..def
    };
    s.validate()?;
    Ok(s)
}

const MAML_FLAGS: &[&str] = &[
    "seed",
    "iterations",
    "inner-points",
    "n-train-inner",
    "d",
    "meta-lr",
    "tasks-per-step",
    "noise",
    "frequencies",
    "out",
];

/// `maml closed-form`, `maml gd` and `maml classification`: one driver, three defaults.
fn maml_cmd(args: &[String], def: MamlSettings) -> Result<serde_json::Value, String> {
    let gradient = def.inner != maml::InnerLoop::ClosedForm;
    let extra: &[&str] = if gradient {
        &["steps", "inner-lr"]
    } else {
        &[]
    };
    let allowed: Vec<&str> = MAML_FLAGS.iter().chain(extra).copied().collect();
    let f = Flags::parse(args, &allowed)?;
    let settings = maml_settings(&f, def)?;
    let classification = settings.problem == maml::Problem::Classification;
    let r = maml::run_experiment(&settings)?;
    if let Some(stop) = &r.stopped {
        eprintln!("warning: {stop}");
    }
    if let Some(dir) = f.out_dir()? {
        let data = TestLossData {
            metric: if classification {
                figures::Metric::ErrorRate
            } else {
                figures::Metric::Mse
            },
            ns: r.n_train_post.clone(),
            meta: Some(r.meta.clone()),
            ones: Some(r.ones.clone()),
            oracle: Some(r.oracle.clone()),
            noise_variance: settings.noise * settings.noise,
            zero_level: r.zero,
            iteration: r.meta_loss.len(),
        };
        let p = Palette::LIGHT;
        write(
            &dir,
            "test_loss.svg",
            &figures::to_svg(800, 500, |a| figures::draw_test_loss(a, &data, &p, None))?,
        )?;
        write(
            &dir,
            "test_loss_zoom.svg",
            &figures::to_svg(800, 500, |a| {
                figures::draw_test_loss(a, &data, &p, Some(128))
            })?,
        )?;
        write(&dir, "test_loss.csv", &data.csv())?;
        let fw = FeatureWeightData {
            weights: r.feature_weights.clone(),
            true_columns: settings.true_columns(),
            alias_columns: features::columns_of(&settings.alias_frequencies()),
            iteration: r.meta_loss.len(),
        };
        write(
            &dir,
            "feature_weights.svg",
            &figures::to_svg(800, 440, |a| figures::draw_feature_weights(a, &fw, &p))?,
        )?;
        write(&dir, "feature_weights.csv", &fw.csv())?;
        // One test task's fit (regression): needs the test tasks and post-training data only,
        // not the test Gram matrix, so the context is not prepared.
        if !classification {
            let ctx = maml::EvalContext::new(settings.clone())?;
            let weights = ndarray::Array1::from_vec(r.feature_weights.clone());
            let fit = maml::task_fit(&ctx, weights.view(), settings.n_train_inner, 400)?;
            write(
                &dir,
                "task_fit.svg",
                &figures::to_svg(800, 440, |a| figures::draw_task_fit(a, &fit, &p))?,
            )?;
            write(&dir, "task_fit.csv", &fit.csv())?;
        }
    }
    if classification {
        return Ok(classification_json(&r));
    }
    Ok(json!({
        "n_train_post": r.n_train_post,
        "test_mse": {
            "meta": r.meta.mean, "ones": r.ones.mean, "oracle": r.oracle.mean,
            "zero": vec![r.zero; r.n_train_post.len()],
        },
        "feature_weights": r.feature_weights,
        "meta_loss": r.meta_loss,
        "stopped": r.stopped,
    }))
}

fn classification_json(r: &maml::ExperimentResult) -> serde_json::Value {
    json!({
        "n_train_post": r.n_train_post,
        "test_error": {"meta": r.meta.mean, "ones": r.ones.mean, "oracle": r.oracle.mean, "chance": r.zero},
        "feature_weights": r.feature_weights,
        "meta_loss": r.meta_loss,
        "stopped": r.stopped,
    })
}

/// Native timings of the gradient-descent and classification variants: meta-iterations per second
/// for K = 1, 5, 10, and each variant's evaluation sweep.
fn bench_maml_variants(args: &[String]) -> Result<serde_json::Value, String> {
    let f = Flags::parse(args, &["repeat"])?;
    let repeat = f.get("repeat", 3usize)?.max(1);
    let best = |v: &[f64]| v.iter().cloned().fold(f64::INFINITY, f64::min);
    let mut rows = Vec::new();
    for (name, make) in [
        (
            "gd",
            MamlSettings::gradient_descent as fn(usize) -> MamlSettings,
        ),
        ("classification", |k| MamlSettings::classification(k, 1e-2)),
    ] {
        for k in [1usize, 5, 10] {
            let settings = make(k);
            let mut times = Vec::new();
            for _ in 0..repeat {
                let t = Instant::now();
                let mut trainer = maml::MetaTrainer::new(settings.clone())?;
                while trainer.step() {}
                times.push(t.elapsed().as_secs_f64());
            }
            rows.push(json!({"variant": name, "steps": k,
                "meta_iterations_per_s": settings.iterations as f64 / best(&times)}));
        }
        let settings = make(5);
        let t = Instant::now();
        let mut ctx = maml::EvalContext::new(settings.clone())?;
        for w in [maml::Weighting::Ones, maml::Weighting::Oracle] {
            maml::SweepJob::run(w, &mut ctx)?;
        }
        rows.push(
            json!({"variant": name, "evaluation_two_curves_s": t.elapsed().as_secs_f64(),
            "sweep_entries": ctx.ns.len()}),
        );
    }
    Ok(json!({"results": rows, "repeat": repeat}))
}

/// Native timings of meta-training (100 iterations) and the full evaluation sweep.
fn bench_maml(args: &[String]) -> Result<serde_json::Value, String> {
    let f = Flags::parse(args, &["repeat"])?;
    let repeat = f.get("repeat", 3usize)?.max(1);
    let settings = MamlSettings::default();
    let mut train = Vec::new();
    let mut sweep = Vec::new();
    for _ in 0..repeat {
        let t = Instant::now();
        let mut trainer = maml::MetaTrainer::new(settings.clone())?;
        while trainer.step() {}
        train.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let mut ctx = maml::EvalContext::new(settings.clone())?;
        for w in [
            maml::Weighting::Weights(trainer.weights.clone()),
            maml::Weighting::Ones,
            maml::Weighting::Oracle,
        ] {
            maml::SweepJob::run(w, &mut ctx)?;
        }
        sweep.push(t.elapsed().as_secs_f64());
    }
    let best = |v: &[f64]| v.iter().cloned().fold(f64::INFINITY, f64::min);
    Ok(json!({
        "meta_training_100_iterations_s": best(&train),
        "meta_iterations_per_s": settings.iterations as f64 / best(&train),
        "full_sweep_s": best(&sweep),
        "sweep_entries": maml::n_train_post_sweep(settings.d).len(),
        "repeat": repeat,
    }))
}

/// Build the committed Fashion-MNIST asset from Debian's `dataset-fashion-mnist` files.
fn data_fashion_mnist(args: &[String]) -> Result<serde_json::Value, String> {
    use glassbox_lab::vision::data;
    let f = Flags::parse(args, &["from", "out"])?;
    let from = f.get("from", "/usr/share/datasets/fashion-mnist".to_string())?;
    let out = f.get("out", "assets/fashion-mnist.gbds".to_string())?;
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

const ASSET: &str = "assets/fashion-mnist.gbds";
const WEIGHTS: &str = "assets/fashion-vgg.gbnet";

fn load_asset() -> Result<glassbox_lab::vision::data::FashionMnist, String> {
    let bytes =
        std::fs::read(ASSET).map_err(|e| format!("{ASSET}: {e} (run from the repository root)"))?;
    glassbox_lab::vision::data::decode(&bytes).map_err(|e| e.to_string())
}

/// Train the image lab's network; one JSON line per epoch, then the summary object.
fn image_train(args: &[String]) -> Result<serde_json::Value, String> {
    use glassbox_lab::vision::{network::Network, train, vgg::Arch};
    let f = Flags::parse(
        args,
        &["epochs", "seed", "batch", "lr", "data", "out", "debian-dir"],
    )?;
    let def = train::TrainConfig::default();
    let config = train::TrainConfig {
        epochs: f.get("epochs", def.epochs)?,
        seed: f.get("seed", def.seed)?,
        batch: f.get("batch", def.batch)?.max(1),
        lr: f.get("lr", def.lr)?,
        ..def
    };
    let asset = load_asset()?;
    let source = f.get("data", "debian".to_string())?;
    let train_split = match source.as_str() {
        "asset" => asset.train.clone(),
        "debian" => {
            let dir = f.get(
                "debian-dir",
                "/usr/share/datasets/fashion-mnist".to_string(),
            )?;
            glassbox_lab::vision::data::from_idx_dir(std::path::Path::new(&dir), usize::MAX)
                .map_err(|e| format!("{e} (install dataset-fashion-mnist, or use --data asset)"))?
                .train
        }
        other => return Err(format!("--data: '{other}' is not debian or asset")),
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
    let out = f.get("out", WEIGHTS.to_string())?;
    std::fs::write(&out, net.to_bytes()).map_err(|e| format!("{out}: {e}"))?;
    Ok(json!({
        "weights": out, "epochs": config.epochs, "seed": config.seed, "batch": config.batch, "lr": config.lr,
        "train_images": train_split.len(), "data": source,
        "test_accuracy": reports.last().map(|r| r.test_accuracy), "seconds": started.elapsed().as_secs_f64(),
    }))
}

/// Images per second of the image lab's network, evaluation and training, on the CPU path or on
/// the GPU (the network resident on the device, one submission per batch).
fn bench_image(args: &[String]) -> Result<serde_json::Value, String> {
    use glassbox_lab::vision::train;
    let f = Flags::parse(args, &["images", "steps", "backend"])?;
    let asset = load_asset()?;
    let images = f.get("images", 2000usize)?.clamp(1, asset.test.len());
    let steps = f.get("steps", 10usize)?.max(1);
    let backend = f.get("backend", "cpu".to_string())?;
    let bytes = std::fs::read(WEIGHTS).map_err(|e| format!("{WEIGHTS}: {e}"))?;
    let mut net = glassbox_lab::vision::network::Network::from_bytes(&bytes)?;
    let config = train::TrainConfig::default();
    let mut trainer = train::Trainer::new(config.clone(), asset.train.len());
    let order = trainer.epoch_order(asset.train.len());
    let (eval_s, train_s, adapter) = match backend.as_str() {
        "cpu" => {
            let t = Instant::now();
            train::predict(&mut net, &asset.test, 0..images);
            let eval_s = t.elapsed().as_secs_f64();
            let t = Instant::now();
            for idx in order.chunks(config.batch).take(steps) {
                trainer.step(&mut net, &asset.train, idx);
            }
            (eval_s, t.elapsed().as_secs_f64(), "cpu".to_string())
        }
        "gpu" => {
            let gpu = pollster::block_on(Gpu::new()).map_err(|e| e.to_string())?;
            let on_gpu = gpu.upload(&net).map_err(|e| e.to_string())?;
            let idx: Vec<usize> = (0..images).collect();
            let t = Instant::now();
            for chunk in idx.chunks(250) {
                let (x, _) = train::batch(&asset.test, chunk, None);
                pollster::block_on(on_gpu.logits(&gpu, &x, chunk.len()))
                    .map_err(|e| e.to_string())?;
            }
            let eval_s = t.elapsed().as_secs_f64();
            let t = Instant::now();
            for idx in order.chunks(config.batch).take(steps) {
                let (x, y) = trainer.batch(&asset.train, idx);
                let lr = trainer.learning_rate();
                pollster::block_on(on_gpu.train_step(
                    &gpu,
                    &x,
                    &y,
                    lr,
                    config.momentum,
                    config.weight_decay,
                ))
                .map_err(|e| e.to_string())?;
                trainer.step += 1;
            }
            (
                eval_s,
                t.elapsed().as_secs_f64(),
                format!("{} ({})", gpu.info.name, gpu.info.backend),
            )
        }
        other => return Err(format!("--backend: '{other}' is not cpu or gpu")),
    };
    Ok(json!({
        "backend": backend, "adapter": adapter,
        "eval_images_per_s": images as f64 / eval_s,
        "train_images_per_s": (steps * config.batch) as f64 / train_s,
        "eval_images": images, "train_steps": steps, "batch": config.batch,
    }))
}

/// Accuracy, per-class accuracy and confusion matrix on the full test set.
fn image_eval(args: &[String]) -> Result<serde_json::Value, String> {
    let f = Flags::parse(args, &["weights"])?;
    let path = f.get("weights", WEIGHTS.to_string())?;
    let bytes = std::fs::read(&path).map_err(|e| format!("{path}: {e}"))?;
    let mut net = glassbox_lab::vision::network::Network::from_bytes(&bytes)?;
    let asset = load_asset()?;
    let e = glassbox_lab::vision::train::evaluate(&mut net, &asset.test);
    Ok(
        json!({"accuracy": e.accuracy, "per_class": e.per_class, "confusion": e.confusion, "images": e.images}),
    )
}

fn committed_network() -> Result<glassbox_lab::vision::network::Network, String> {
    let bytes = std::fs::read(WEIGHTS).map_err(|e| format!("{WEIGHTS}: {e}"))?;
    glassbox_lab::vision::network::Network::from_bytes(&bytes)
}

/// Accuracy on the first `images` test images (all 10,000 by default).
fn accuracy(
    net: &glassbox_lab::vision::network::Network,
    test: &glassbox_lab::vision::data::Split,
    images: usize,
) -> f64 {
    let n = images.min(test.len());
    let p = glassbox_lab::vision::train::predict(&mut net.clone(), test, 0..n);
    p.iter()
        .enumerate()
        .filter(|&(i, &y)| test.labels[i] as u32 == y)
        .count() as f64
        / n.max(1) as f64
}

fn parse_list(s: &str, what: &str) -> Result<Vec<f64>, String> {
    s.split(',')
        .map(|t| {
            t.trim()
                .parse::<f64>()
                .map_err(|_| format!("--{what}: cannot read '{t}'"))
        })
        .collect()
}

/// Each layer pruned alone at each sparsity: accuracy on the test images.
fn prune_sensitivity(args: &[String]) -> Result<serde_json::Value, String> {
    use glassbox_lab::compress::prune::Sensitivity;
    let f = Flags::parse(args, &["sparsities", "images", "out"])?;
    let sparsities = parse_list(
        &f.get("sparsities", "0.4,0.5,0.6,0.7,0.8,0.9".to_string())?,
        "sparsities",
    )?;
    let images = f.get("images", 10_000usize)?.max(1);
    let asset = load_asset()?;
    let net = committed_network()?;
    let mut job = Sensitivity::new(&net, &sparsities)?;
    while let Some(n) = job.next() {
        job.record(accuracy(&n, &asset.test, images));
    }
    if let Some(dir) = f.out_dir()? {
        let data = figures::SensitivityData {
            dense_accuracy: job.dense_accuracy,
            layers: job.layers.clone(),
        };
        let svg = figures::to_svg(800, 480, |a| {
            figures::draw_sensitivity(a, &data, &Palette::LIGHT)
        })?;
        write(&dir, "sensitivity.svg", &svg)?;
        write(&dir, "sensitivity.csv", &data.csv())?;
    }
    Ok(json!({
        "dense_accuracy": job.dense_accuracy, "images": images.min(asset.test.len()),
        "layers": job.layers,
    }))
}

/// Magnitude pruning with per-layer sparsities, then fine-tuning with the masks kept.
fn prune_fine_grained(args: &[String]) -> Result<serde_json::Value, String> {
    use glassbox_lab::{compress::prune, vision::train};
    let f = Flags::parse(
        args,
        &["sparsity", "finetune-epochs", "images", "lr", "seed"],
    )?;
    let mut net = committed_network()?;
    let names = prune::layer_names(&net);
    let mut targets = vec![0.0; names.len()];
    let spec =
        f.0.get("sparsity")
            .ok_or("--sparsity layer=s,... is required")?;
    for item in spec.split(',') {
        let (name, v) = item
            .split_once('=')
            .ok_or_else(|| format!("--sparsity: '{item}' is not layer=sparsity"))?;
        let i = names.iter().position(|n| n == name.trim()).ok_or_else(|| {
            format!(
                "--sparsity: no layer '{name}' (layers: {})",
                names.join(", ")
            )
        })?;
        targets[i] = v
            .trim()
            .parse()
            .map_err(|_| format!("--sparsity: cannot read '{v}'"))?;
    }
    let images = f.get("images", 10_000usize)?.max(1);
    let epochs = f.get("finetune-epochs", 0usize)?;
    let asset = load_asset()?;
    let dense_bits = prune::model_bits(&net, false);
    let dense_accuracy = accuracy(&net, &asset.test, images);
    if let Some(dir) = f.out_dir()? {
        // Each layer's weight histogram with its pruning threshold (before pruning).
        for (i, name) in names.iter().enumerate() {
            let w = prune::weights(&net, i);
            let (_, t) = prune::magnitude_mask(w, targets[i])?;
            let h = figures::WeightHistogram::new(name, w, t, targets[i], 60);
            let svg = figures::to_svg(800, 480, |a| {
                figures::draw_weight_histogram(a, &h, &Palette::LIGHT)
            })?;
            write(&dir, &format!("weights_{name}.svg"), &svg)?;
            write(&dir, &format!("weights_{name}.csv"), &h.csv())?;
        }
    }
    let masks = prune::prune(&mut net, &targets)?;
    let before = accuracy(&net, &asset.test, images);
    let losses = train::finetune(
        &mut net,
        &asset.train,
        epochs,
        f.get("lr", 0.01f32)?,
        f.get("seed", 0u64)?,
        |n| masks.apply(n),
    );
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

/// Median time of a forward pass of one image, in milliseconds.
fn latency_ms(
    net: &glassbox_lab::vision::network::Network,
    test: &glassbox_lab::vision::data::Split,
) -> f64 {
    let mut net = net.clone();
    let (x, _) = glassbox_lab::vision::train::batch(test, &[0], None);
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

/// Uniform channel pruning (optionally sorted by importance first), then fine-tuning.
fn prune_channel(args: &[String]) -> Result<serde_json::Value, String> {
    use glassbox_lab::{
        compress::prune,
        vision::{train, vgg},
    };
    let f = Flags::parse(
        args,
        &["ratio", "sort", "finetune-epochs", "images", "lr", "seed"],
    )?;
    let ratio: f64 = f.get("ratio", f64::NAN)?;
    if ratio.is_nan() {
        return Err("--ratio R is required".into());
    }
    let sort = match f.0.get("sort").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(v) => return Err(format!("--sort: '{v}' is not true or false")),
    };
    let images = f.get("images", 10_000usize)?.max(1);
    let epochs = f.get("finetune-epochs", 0usize)?;
    let asset = load_asset()?;
    let dense = committed_network()?;
    let start = if sort {
        prune::sort_channels(&dense)
    } else {
        dense.clone()
    };
    let mut pruned = prune::channel_prune(&start, ratio)?;
    let before = accuracy(&pruned, &asset.test, images);
    let losses = train::finetune(
        &mut pruned,
        &asset.train,
        epochs,
        f.get("lr", 0.01f32)?,
        f.get("seed", 0u64)?,
        |_| {},
    );
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

/// The layer table of a VGG-style network: parameters, size and multiply-accumulates.
fn image_stats(args: &[String]) -> Result<serde_json::Value, String> {
    let f = Flags::parse(args, &["arch", "channel-prune"])?;
    let mut arch = glassbox_lab::vision::vgg::Arch::by_name(&f.get("arch", "lab".to_string())?)?;
    let r = f.get("channel-prune", 0.0f64)?;
    if r != 0.0 {
        arch = arch.channel_pruned(r)?;
    }
    serde_json::to_value(glassbox_lab::vision::vgg::stats(&arch)).map_err(|e| e.to_string())
}

fn open_gpu() -> Result<Gpu, String> {
    pollster::block_on(Gpu::new()).map_err(|e| format!("no GPU: {e}"))
}

fn random(n: usize, rng: &mut Rng) -> Vec<f32> {
    (0..n).map(|_| rng.normal() as f32).collect()
}

/// Every kernel on the GPU against its CPU reference; non-zero exit when any fails.
fn gpu_selftest(args: &[String]) -> Result<serde_json::Value, String> {
    Flags::parse(args, &[])?;
    let gpu = open_gpu()?;
    let results =
        pollster::block_on(glassbox_gpu::selftest::run(&gpu)).map_err(|e| e.to_string())?;
    let all_ok = results.iter().all(|r| r.ok);
    let kernels: Vec<serde_json::Value> = results
        .iter()
        .map(|r| json!({"name": r.name, "max_abs_err": r.max_abs_err, "max_rel_err": r.max_rel_err, "tolerance": r.tolerance, "ok": r.ok}))
        .collect();
    let out = json!({
        "adapter": format!("{} ({}, {})", gpu.info.name, gpu.info.backend, gpu.info.device_type),
        "kernels": kernels,
    });
    if all_ok {
        Ok(out)
    } else {
        println!("{out}");
        Err("a kernel does not match its CPU reference".into())
    }
}

/// GFLOP/s of the matrix multiply on the GPU and on the CPU path, per size.
fn bench_gpu(args: &[String]) -> Result<serde_json::Value, String> {
    let f = Flags::parse(args, &["sizes", "repeat"])?;
    let sizes: Vec<usize> = f
        .get("sizes", "256,512,1024".to_string())?
        .split(',')
        .map(|t| {
            t.trim()
                .parse::<usize>()
                .map_err(|_| format!("--sizes: cannot read '{t}'"))
        })
        .collect::<Result<_, _>>()?;
    let repeat = f.get("repeat", 10usize)?.max(1);
    let gpu = open_gpu();
    let mut rng = Rng::new(5);
    let mut rows = Vec::new();
    for &n in &sizes {
        let s = MatmulShape::new(n, n, n);
        let (a, b) = (random(s.a_len(), &mut rng), random(s.b_len(), &mut rng));
        let mut cpu = Vec::new();
        let mut cpu_s = f64::INFINITY;
        for _ in 0..repeat.min(5) {
            let t = Instant::now();
            cpu = kernels::matmul(&a, &b, s)?;
            cpu_s = cpu_s.min(t.elapsed().as_secs_f64());
        }
        let mut row = json!({"kernel": "matmul", "m": n, "k": n, "n": n, "cpu_gflops": s.flops() / cpu_s / 1e9});
        if let Ok(gpu) = &gpu {
            // Warm up (pipeline compilation), then time `repeat` dispatches in one submission.
            let got = pollster::block_on(gpu.matmul(&a, &b, s)).map_err(|e| e.to_string())?;
            let t = Instant::now();
            pollster::block_on(gpu.matmul_repeated(&a, &b, s, repeat))
                .map_err(|e| e.to_string())?;
            let gpu_s = t.elapsed().as_secs_f64() / repeat as f64;
            let (_, rel) =
                kernels::max_errors(&got, &cpu.iter().map(|&v| v as f64).collect::<Vec<_>>());
            row["gpu_gflops"] = json!(s.flops() / gpu_s / 1e9);
            row["max_rel_err_vs_cpu"] = json!(rel);
        }
        rows.push(row);
    }
    // The convolution of a VGG block: 8 images, 64 -> 64 channels, 32 x 32.
    let cs = glassbox_lab::vision::nn::ConvShape {
        n: 8,
        c_in: 64,
        c_out: 64,
        h: 32,
        w: 32,
    };
    let (x, w) = (random(cs.x_len(), &mut rng), random(cs.w_len(), &mut rng));
    let flops = 2.0 * cs.macs() as f64;
    let mut y = vec![0.0f32; cs.y_len()];
    let mut cpu_s = f64::INFINITY;
    for _ in 0..repeat.min(5) {
        let t = Instant::now();
        glassbox_lab::vision::nn::conv2d_forward_im2col(&x, &w, cs, 0..cs.n, &mut y);
        cpu_s = cpu_s.min(t.elapsed().as_secs_f64());
    }
    let mut row =
        json!({"kernel": "conv2d", "shape": format!("{cs:?}"), "cpu_gflops": flops / cpu_s / 1e9});
    if let Ok(gpu) = &gpu {
        let got = pollster::block_on(gpu.conv2d(&x, &w, cs)).map_err(|e| e.to_string())?;
        let t = Instant::now();
        for _ in 0..repeat.min(3) {
            pollster::block_on(gpu.conv2d(&x, &w, cs)).map_err(|e| e.to_string())?;
        }
        let gpu_s = t.elapsed().as_secs_f64() / repeat.min(3) as f64;
        let (_, rel) = kernels::max_errors(&got, &y.iter().map(|&v| v as f64).collect::<Vec<_>>());
        row["gpu_gflops"] = json!(flops / gpu_s / 1e9);
        row["max_rel_err_vs_cpu"] = json!(rel);
    }
    rows.push(row);
    // Chapter 1's largest product: the Gram matrix Phi^T Phi of 1503 points and 501 features, which
    // the CPU path computes in f64 (the least-squares systems need double precision).
    let (d, n) = (501usize, 1503usize);
    let m64: Vec<f64> = (0..d * n).map(|_| rng.normal()).collect();
    let m32: Vec<f32> = m64.iter().map(|&v| v as f32).collect();
    let flops = 2.0 * (d * d * n) as f64;
    let mat = ndarray::Array2::from_shape_vec((d, n), m64).map_err(|e| e.to_string())?;
    let mut cpu_s = f64::INFINITY;
    for _ in 0..repeat.min(3) {
        let t = Instant::now();
        let _ = glassbox_lab::linalg::gram(mat.view());
        cpu_s = cpu_s.min(t.elapsed().as_secs_f64());
    }
    let mut row = json!({"kernel": "gram (chapter 1 sweep, 501 x 1503)", "cpu_f64_gflops": flops / cpu_s / 1e9, "cpu_f64_ms": cpu_s * 1e3});
    if let Ok(gpu) = &gpu {
        pollster::block_on(gpu.gram(&m32, d, n)).map_err(|e| e.to_string())?;
        let t = Instant::now();
        pollster::block_on(gpu.gram(&m32, d, n)).map_err(|e| e.to_string())?;
        let gpu_s = t.elapsed().as_secs_f64();
        row["gpu_f32_gflops"] = json!(flops / gpu_s / 1e9);
        row["gpu_f32_ms"] = json!(gpu_s * 1e3);
    }
    rows.push(row);
    Ok(json!({
        "adapter": gpu.as_ref().map(|g| format!("{} ({}, {})", g.info.name, g.info.backend, g.info.device_type)).unwrap_or_else(|e| e.clone()),
        "results": rows,
    }))
}

fn run(args: &[String]) -> Result<serde_json::Value, String> {
    let words: Vec<&str> = args.iter().take(2).map(String::as_str).collect();
    match words.as_slice() {
        ["maml", "alias-toy"] => alias_toy_cmd(&args[2..]),
        ["maml", "closed-form"] => maml_cmd(&args[2..], MamlSettings::default()),
        ["maml", "gd"] => maml_cmd(&args[2..], MamlSettings::gradient_descent(5)),
        ["maml", "classification"] => maml_cmd(&args[2..], MamlSettings::classification(5, 1e-2)),
        ["bench", "maml-variants"] => bench_maml_variants(&args[2..]),
        ["bench", "maml"] => bench_maml(&args[2..]),
        ["bench", "image"] => bench_image(&args[2..]),
        ["gpu", "selftest"] => gpu_selftest(&args[2..]),
        ["attention", "mask"] => attention::mask(&args[2..]),
        ["attention", "model"] => attention::model(&args[2..]),
        ["attention", "cost"] => attention::cost(&args[2..]),
        ["attention", "bench"] => attention::bench(&args[2..]),
        ["image", "stats"] => image_stats(&args[2..]),
        ["image", "train"] => image_train(&args[2..]),
        ["image", "eval"] => image_eval(&args[2..]),
        ["prune", "sensitivity"] => prune_sensitivity(&args[2..]),
        ["prune", "fine-grained"] => prune_fine_grained(&args[2..]),
        ["prune", "channel"] => prune_channel(&args[2..]),
        ["quant", "linear-params"] => quant::linear_params(&args[2..]),
        ["quant", "kmeans"] => quant::kmeans(&args[2..]),
        ["quant", "int8"] => quant::int8(&args[2..]),
        ["quant", "compare"] => quant::compare(&args[2..]),
        ["data", "fashion-mnist"] => data_fashion_mnist(&args[2..]),
        ["bench", "gpu"] => bench_gpu(&args[2..]),
        _ => Err(USAGE.to_string()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(v) => {
            println!("{v}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("glassbox: {e}");
            ExitCode::FAILURE
        }
    }
}
