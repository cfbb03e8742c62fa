//! `glassbox bench ...`: native timings (measurements, not tests) of meta-training and its
//! evaluation sweep, of the image network on the CPU path or the GPU, and of the GPU kernels
//! against the CPU path.

use crate::assets::{committed_network, load_asset};
use crate::ranges;
use crate::Failure;
use clap::{Subcommand, ValueEnum};
use glassbox_gpu::{Gpu, MatmulShape};
use glassbox_lab::kernels;
use glassbox_lab::maml::{self, MamlSettings};
use glassbox_lab::rng::Rng;
use serde_json::json;
use std::time::Instant;

#[derive(Subcommand)]
pub enum Command {
    /// Meta-training (100 iterations) and the full evaluation sweep.
    Maml {
        /// Runs; the best time counts (at least 1).
        #[arg(long, default_value_t = 3, value_parser = ranges::at_least(1usize))]
        repeat: usize,
    },
    /// The gradient-descent and classification variants: meta-iterations per second for
    /// K = 1, 5, 10, and each variant's evaluation sweep.
    MamlVariants {
        /// Runs; the best time counts (at least 1).
        #[arg(long, default_value_t = 3, value_parser = ranges::at_least(1usize))]
        repeat: usize,
    },
    /// Images per second of the image lab's network, evaluation and training.
    Image {
        /// Test images evaluated (at least 1; at most all 10,000).
        #[arg(long, default_value_t = 2000, value_parser = ranges::at_least(1usize))]
        images: usize,
        /// Training steps timed (at least 1).
        #[arg(long, default_value_t = 10, value_parser = ranges::at_least(1usize))]
        steps: usize,
        /// Where the network runs.
        #[arg(long, value_enum, default_value_t = Backend::Cpu)]
        backend: Backend,
    },
    /// Chapter 3: one fine-tuning epoch (1000 shifted images, batch 64, Adam) per tuning choice,
    /// and the frozen prefix computed once, on the CPU path (one thread).
    Finetune {
        /// Runs; the best time counts (at least 1).
        #[arg(long, default_value_t = 1, value_parser = ranges::at_least(1usize))]
        repeat: usize,
    },
    /// The language model (the shipped weights, or a fresh model of the same shape when absent):
    /// training characters per second (batch 32 x 128, AdamW), generation characters per second
    /// with the key/value cache, and one forward and backward pass to a soft prompt's vectors
    /// (frozen weights) over a batch of 64 prompts. With `--backend gpu`: generation on the GPU
    /// (the weights and the key/value cache on the device, one submission per character).
    Lm {
        /// Runs; the best time counts (at least 1).
        #[arg(long, default_value_t = 3, value_parser = ranges::at_least(1usize))]
        repeat: usize,
        /// Where the model runs.
        #[arg(long, value_enum, default_value_t = Backend::Cpu)]
        backend: Backend,
    },
    /// Chapter 5: one soft-prompt epoch at the chapter's settings (K = 14, the 369 training nouns
    /// in micro-batches of 4, Adam), then the 40 validation answers with the prompt read once
    /// (its keys and values copied for every noun) and read again for every noun, on the CPU.
    SoftPrompt {
        /// Runs; the best time counts (at least 1).
        #[arg(long, default_value_t = 3, value_parser = ranges::at_least(1usize))]
        repeat: usize,
    },
    /// GFLOP/s of the matrix multiply, a VGG convolution and chapter 1's Gram matrix, on the GPU
    /// and on the CPU path.
    Gpu {
        /// Matrix sizes n of the n x n x n multiply, comma-separated (each at least 1).
        #[arg(long, default_value = "256,512,1024", value_delimiter = ',')]
        #[arg(value_parser = ranges::at_least(1usize))]
        sizes: Vec<usize>,
        /// GPU dispatches timed per size (the CPU path runs at most 5 times; at least 1).
        #[arg(long, default_value_t = 10, value_parser = ranges::at_least(1usize))]
        repeat: usize,
    },
}

/// Where `bench image` runs the network, and `bench lm` the language model.
#[derive(Clone, Copy, ValueEnum)]
pub enum Backend {
    /// The lab's CPU path.
    Cpu,
    /// The network resident on the GPU, one submission per batch.
    Gpu,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Cpu => "cpu",
            Backend::Gpu => "gpu",
        }
    }
}

impl Command {
    pub fn run(self) -> Result<serde_json::Value, Failure> {
        match self {
            Command::Maml { repeat } => maml(repeat),
            Command::MamlVariants { repeat } => maml_variants(repeat),
            Command::Image {
                images,
                steps,
                backend,
            } => image(images, steps, backend),
            Command::Gpu { sizes, repeat } => gpu(&sizes, repeat),
            Command::Finetune { repeat } => finetune(repeat),
            Command::Lm { repeat, backend } => lm(repeat, backend),
            Command::SoftPrompt { repeat } => soft_prompt(repeat),
        }
    }
}

/// The best of `repeat` timings of `f`, in seconds.
fn best_of(repeat: usize, mut f: impl FnMut() -> Result<(), String>) -> Result<f64, String> {
    let mut best = f64::INFINITY;
    for _ in 0..repeat {
        let t = Instant::now();
        f()?;
        best = best.min(t.elapsed().as_secs_f64());
    }
    Ok(best)
}

fn lm(repeat: usize, backend: Backend) -> Result<serde_json::Value, Failure> {
    use glassbox_lab::lm::{self, Config, Inputs, Model, Targets, TrainSettings, Trainer, Wants};
    let (model, shipped) = match std::fs::read(crate::lm::WEIGHTS) {
        Ok(bytes) => (lm::from_bytes(&bytes)?.0, true),
        Err(_) => (Model::new(Config::standard(92), 0)?, false),
    };
    let weights = if shipped {
        crate::lm::WEIGHTS
    } else {
        "a fresh model of the shipped shape"
    };
    let c = model.config;
    let mut rng = Rng::new(1);
    let mut tokens = |n: usize| -> Vec<u32> { (0..n).map(|_| rng.below(c.vocab) as u32).collect() };
    if let Backend::Gpu = backend {
        return lm_gpu(&model, weights, &tokens(20), repeat);
    }
    let corpus = tokens(50_000);
    let mut trainer = Trainer::new(model.clone(), TrainSettings::default())?;
    trainer.step(&corpus)?;
    let train = best_of(repeat, || trainer.step(&corpus).map(|_| ()))?;
    let n = 500;
    let prompt = tokens(20);
    let generate = best_of(repeat, || {
        lm::generate(&model, &prompt, n, 1.0, 0, 7).map(|_| ())
    })?;
    // 64 prompts of 24 characters after an 8-vector soft prompt, the loss on every position.
    let (b, t, k) = (64, 24, 8);
    let (x, y) = (tokens(b * t), tokens(b * t));
    let soft = vec![0.01f32; k * c.width];
    let inputs = Inputs::new(&x, b, t).with_soft(&soft);
    let targets = Targets::new(&y);
    let soft_pass = best_of(repeat, || {
        model
            .forward_backward(&inputs, &targets, Wants::EXTRAS)
            .map(|_| ())
    })?;
    Ok(json!({
        "backend": "cpu", "weights": weights,
        "params": model.param_count(), "threads": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "train_chars_per_s": (32 * c.context) as f64 / train,
        "generate_chars_per_s": n as f64 / generate,
        "soft_prompt_pass_64_prompts_ms": 1000.0 * soft_pass,
        "soft_prompt_pass": format!("{b} prompts x ({k} soft vectors + {t} characters), loss on every character, gradients of the soft vectors only"),
    }))
}

/// Generation characters per second on the GPU: 500 characters after a 20-character prompt at
/// temperature 1 (the CPU row's settings), and the largest difference from the CPU's logits over
/// that prompt.
fn lm_gpu(
    model: &glassbox_lab::lm::Model,
    weights: &str,
    prompt: &[u32],
    repeat: usize,
) -> Result<serde_json::Value, Failure> {
    use glassbox_lab::lm::{Extras, Sampling, Session};
    let gpu = crate::gpu::open()?;
    let on_gpu = gpu.upload_lm(model).map_err(|e| e.to_string())?;
    let sampling = Sampling {
        temperature: 1.0,
        top_k: 0,
        seed: 7,
    };
    let n = 500;
    let run = || glassbox_gpu::lm::generate(&gpu, &on_gpu, Extras::default(), prompt, n, sampling);
    pollster::block_on(run()).map_err(|e| e.to_string())?;
    let generate = best_of(repeat, || {
        pollster::block_on(run())
            .map(|_| ())
            .map_err(|e| e.to_string())
    })?;
    let mut session = glassbox_gpu::GpuLmSession::new(&gpu, &on_gpu, Extras::default())
        .map_err(|e| e.to_string())?;
    let got =
        pollster::block_on(session.feed_all(&gpu, &on_gpu, prompt)).map_err(|e| e.to_string())?;
    let want = Session::new(model)?.feed_all(prompt)?;
    let diff = got
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    Ok(json!({
        "backend": "gpu", "adapter": format!("{} ({})", gpu.info.name, gpu.info.backend),
        "weights": weights, "params": model.param_count(),
        "generate_chars_per_s": n as f64 / generate,
        "logits_max_abs_diff_vs_cpu": diff,
    }))
}

/// One epoch of fine-tuning per choice (the `Benchmarks` page times the same settings).
fn finetune(repeat: usize) -> Result<serde_json::Value, Failure> {
    use glassbox_lab::shift::{PhaseTimes, Tune, TuneSettings, Tuner};
    let (asset, net) = (load_asset()?, committed_network()?);
    let clock = Instant::now();
    let now = || clock.elapsed().as_secs_f64() * 1000.0;
    let mut rows = Vec::new();
    // Every choice trained by gradient but Auto-RGN (all's cost plus five batches an epoch).
    for tune in Tune::ALL
        .into_iter()
        .filter(|&t| t.trains() && t != Tune::AutoRgn)
    {
        let mut best = PhaseTimes {
            prefix_ms: f64::INFINITY,
            train_ms: f64::INFINITY,
            total_ms: 0.0,
        };
        for _ in 0..repeat {
            let settings = TuneSettings::epoch_benchmark(tune);
            let mut t = Tuner::new(&net, &asset.test, settings)?;
            let mut times = PhaseTimes::default();
            while t.step_timed(&now, &mut times) {}
            best.prefix_ms = best.prefix_ms.min(times.prefix_ms);
            best.train_ms = best.train_ms.min(times.train_ms);
        }
        rows.push(json!({
            "tune": tune.name(),
            "params": tune.param_count(&net),
            "prefix_s": best.prefix_ms / 1000.0,
            "epoch_s": best.train_ms / 1000.0,
        }));
    }
    Ok(json!({ "images": 1000, "batch": 64, "repeat": repeat, "rows": rows }))
}

/// Native timings of meta-training (100 iterations) and the full evaluation sweep.
fn maml(repeat: usize) -> Result<serde_json::Value, Failure> {
    let settings = MamlSettings::default();
    let (mut train, mut sweep, mut threaded) = (Vec::new(), Vec::new(), Vec::new());
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut same = true;
    for _ in 0..repeat {
        let t = Instant::now();
        let mut trainer = maml::MetaTrainer::new(settings.clone())?;
        while trainer.step() {}
        train.push(t.elapsed().as_secs_f64());
        let weightings = [
            maml::Weighting::Weights(trainer.weights.clone()),
            maml::Weighting::Ones,
            maml::Weighting::Oracle,
        ];
        let t = Instant::now();
        let mut ctx = maml::EvalContext::new(settings.clone())?;
        let mut curves = Vec::new();
        for w in &weightings {
            curves.push(maml::SweepJob::run(w.clone(), &mut ctx)?);
        }
        sweep.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let split = sweep_on_threads(&settings, &weightings, threads)?;
        threaded.push(t.elapsed().as_secs_f64());
        same &= split == curves;
    }
    let best = |v: &[f64]| v.iter().cloned().fold(f64::INFINITY, f64::min);
    Ok(json!({
        "meta_training_100_iterations_s": best(&train),
        "meta_iterations_per_s": settings.iterations as f64 / best(&train),
        "full_sweep_s": best(&sweep),
        "full_sweep_on_threads_s": best(&threaded),
        "threads": threads,
        "threads_give_the_same_curves": same,
        "sweep_entries": maml::n_train_post_sweep(settings.d).len(),
        "repeat": repeat,
    }))
}

/// The sweep's curves with their entries (`SweepJob::entry`) split over `threads` threads, each
/// with its own evaluation context, taking every `threads`-th entry of each curve (an entry's cost
/// grows with n): what the page's workers do, joined in order the same way.
fn sweep_on_threads(
    settings: &MamlSettings,
    weightings: &[maml::Weighting],
    threads: usize,
) -> Result<Vec<maml::Curve>, Failure> {
    let entries = maml::EvalContext::new(settings.clone())?.ns.len();
    let jobs: Vec<(usize, usize)> = (0..weightings.len())
        .flat_map(|w| (0..entries).map(move |i| (w, i)))
        .collect();
    type Answers = Result<Vec<((usize, usize), Vec<f64>)>, String>;
    let answers: Vec<Answers> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let jobs = &jobs;
                s.spawn(move || -> Answers {
                    let mut ctx = maml::EvalContext::new(settings.clone())?;
                    jobs.iter()
                        .skip(t)
                        .step_by(threads)
                        .map(|&(w, i)| {
                            let values = maml::SweepJob::entry(weightings[w].clone(), &mut ctx, i)?;
                            Ok(((w, i), values))
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a sweep thread panicked".into()))
            })
            .collect()
    });
    let mut table = vec![vec![Vec::new(); entries]; weightings.len()];
    for answer in answers {
        for ((w, i), values) in answer? {
            table[w][i] = values;
        }
    }
    Ok(table.iter().map(|e| maml::Curve::from_entries(e)).collect())
}

/// Native timings of the gradient-descent and classification variants: meta-iterations per second
/// for K = 1, 5, 10, and each variant's evaluation sweep.
fn maml_variants(repeat: usize) -> Result<serde_json::Value, Failure> {
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

/// Images per second of the image lab's network, evaluation and training, on the CPU path or on
/// the GPU (the network resident on the device, one submission per batch).
fn image(images: usize, steps: usize, backend: Backend) -> Result<serde_json::Value, Failure> {
    use glassbox_lab::vision::train;
    let asset = load_asset()?;
    let images = images.min(asset.test.len());
    let mut net = committed_network()?;
    let config = train::TrainConfig::default();
    let mut trainer = train::Trainer::new(config.clone(), asset.train.len());
    let order = trainer.epoch_order(asset.train.len());
    let (eval_s, train_s, adapter) = match backend {
        Backend::Cpu => {
            let t = Instant::now();
            train::predict(&mut net, &asset.test, 0..images);
            let eval_s = t.elapsed().as_secs_f64();
            let t = Instant::now();
            for idx in order.chunks(config.batch).take(steps) {
                trainer.step(&mut net, &asset.train, idx);
            }
            (eval_s, t.elapsed().as_secs_f64(), "cpu".to_string())
        }
        Backend::Gpu => {
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
    };
    Ok(json!({
        "backend": backend.name(), "adapter": adapter,
        "eval_images_per_s": images as f64 / eval_s,
        "train_images_per_s": (steps * config.batch) as f64 / train_s,
        "eval_images": images, "train_steps": steps, "batch": config.batch,
    }))
}

/// GFLOP/s of the matrix multiply on the GPU and on the CPU path, per size.
fn gpu(sizes: &[usize], repeat: usize) -> Result<serde_json::Value, Failure> {
    let gpu = crate::gpu::open();
    let mut rng = Rng::new(5);
    let mut rows = Vec::new();
    for &n in sizes {
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

/// n samples of the standard normal, as f32 (inputs of the timed kernels).
pub fn random(n: usize, rng: &mut Rng) -> Vec<f32> {
    (0..n).map(|_| rng.normal() as f32).collect()
}

fn soft_prompt(repeat: usize) -> Result<serde_json::Value, Failure> {
    use glassbox_lab::lm::plurals::{self, Split};
    use glassbox_lab::lm::tuning::{self, Evaluator, Method, TuneSettings, Tuner};
    use glassbox_lab::lm::{complete, from_bytes};
    let bytes = std::fs::read(crate::lm::WEIGHTS)
        .map_err(|e| Failure::Run(format!("{}: {e}", crate::lm::WEIGHTS)))?;
    let (model, vocab) = from_bytes(&bytes)?;
    let tsv = std::fs::read_to_string(crate::lm::PLURALS)
        .map_err(|e| Failure::Run(format!("{}: {e}", crate::lm::PLURALS)))?;
    let nouns = plurals::parse(&tsv)?;
    let (train, val) = (
        plurals::of(&nouns, Split::Train),
        plurals::of(&nouns, Split::Val),
    );
    let settings = TuneSettings {
        epochs: 1,
        ..TuneSettings::new(Method::Soft)
    };
    let mut params = Vec::new();
    let epoch = best_of(repeat, || {
        let mut t = Tuner::new(&model, &vocab, &train, settings)?;
        while !t.is_done() {
            t.step()?;
        }
        params = t.params().to_vec();
        Ok(())
    })?;
    let extras = glassbox_lab::lm::Extras {
        soft: Some(&params),
        prefix: None,
    };
    let eval = Evaluator::new(&model, &vocab, extras)?;
    let once = best_of(repeat, || {
        for n in &val {
            eval.answer("", n)?;
        }
        Ok(())
    })?;
    let each = best_of(repeat, || {
        for n in &val {
            complete(
                &model,
                extras,
                eval.generator(&tuning::question("", &n.singular))?,
            )?;
        }
        Ok(())
    })?;
    Ok(json!({
        "tokens": settings.tokens, "train_nouns": train.len(), "val_nouns": val.len(),
        "epoch_train_ms": 1000.0 * epoch,
        "val_answers_prompt_once_ms": 1000.0 * once,
        "val_answers_prompt_each_ms": 1000.0 * each,
        "epoch_with_precompute_ms": 1000.0 * (epoch + once),
        "epoch_without_precompute_ms": 1000.0 * (epoch + each),
        "repeat": repeat,
    }))
}
