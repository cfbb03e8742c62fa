//! `glassbox`: runs the textbook's experiments natively and prints one JSON object per command.
//! GPU commands use any adapter wgpu finds natively (Vulkan; Mesa's lavapipe on a CPU-only machine:
//! `VK_DRIVER_FILES=/usr/share/vulkan/icd.d/lvp_icd.x86_64.json WGPU_BACKEND=vulkan`).
//! `--out DIR` also writes the chapter's figures (SVG) and their data (CSV). Errors go to stderr
//! with a non-zero exit status.

use glassbox_gpu::{Gpu, MatmulShape};
use glassbox_lab::figures::{self, FeatureWeightData, Palette, TestLossData};
use glassbox_lab::maml::{self, InnerPoints, MamlSettings};
use glassbox_lab::rng::Rng;
use glassbox_lab::{alias_toy, features, kernels};
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
  glassbox bench maml [--repeat N]
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

fn maml_settings(f: &Flags) -> Result<MamlSettings, String> {
    let def = MamlSettings::default();
    let inner = f.get("inner-points", "grid".to_string())?;
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

fn closed_form_cmd(args: &[String]) -> Result<serde_json::Value, String> {
    let f = Flags::parse(args, MAML_FLAGS)?;
    let settings = maml_settings(&f)?;
    let r = maml::run_closed_form(&settings)?;
    if let Some(stop) = &r.stopped {
        eprintln!("warning: {stop}");
    }
    if let Some(dir) = f.out_dir()? {
        let data = TestLossData {
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
        let mut ctx = maml::EvalContext::new(settings.clone())?;
        while !ctx.prepare(u64::MAX) {}
        let weights = ndarray::Array1::from_vec(r.feature_weights.clone());
        let fit = maml::task_fit(&ctx, weights.view(), settings.n_train_inner, 400)?;
        write(
            &dir,
            "task_fit.svg",
            &figures::to_svg(800, 440, |a| figures::draw_task_fit(a, &fit, &p))?,
        )?;
        write(&dir, "task_fit.csv", &fit.csv())?;
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

fn open_gpu() -> Result<Gpu, String> {
    pollster::block_on(Gpu::new()).map_err(|e| format!("no GPU: {e}"))
}

fn random(n: usize, rng: &mut Rng) -> Vec<f32> {
    (0..n).map(|_| rng.normal() as f32).collect()
}

/// Every kernel on the GPU against its CPU reference; non-zero exit when any fails.
fn gpu_selftest(args: &[String]) -> Result<serde_json::Value, String> {
    use glassbox_lab::attention::{attention, AttentionShape};
    use glassbox_lab::nn::{self, ConvShape};
    Flags::parse(args, &[])?;
    let gpu = open_gpu()?;
    let mut rng = Rng::new(17);
    let run = |r: Result<Vec<f32>, glassbox_gpu::GpuError>| r.map_err(|e| e.to_string());
    // (name, GPU result, CPU reference, tolerance on the error relative to the largest entry)
    let mut cases: Vec<(String, Vec<f32>, Vec<f64>, f64)> = Vec::new();
    let widen = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<f64>>();
    for (name, s) in [
        ("matmul 257x63x65", MatmulShape::new(257, 63, 65)),
        (
            "matmul A^T 64x300x7",
            MatmulShape {
                a_transposed: true,
                ..MatmulShape::new(64, 300, 7)
            },
        ),
        (
            "matmul B^T 65x65x65",
            MatmulShape {
                b_transposed: true,
                ..MatmulShape::new(65, 65, 65)
            },
        ),
        (
            "matmul batched 3x33x17x129",
            MatmulShape {
                batch: 3,
                ..MatmulShape::new(33, 17, 129)
            },
        ),
    ] {
        let (a, b) = (random(s.a_len(), &mut rng), random(s.b_len(), &mut rng));
        let got = run(pollster::block_on(gpu.matmul(&a, &b, s)))?;
        cases.push((name.into(), got, kernels::matmul_naive(&a, &b, s), 1e-5));
    }
    let cs = ConvShape {
        n: 3,
        c_in: 5,
        c_out: 7,
        h: 17,
        w: 13,
    };
    let (x, w, dy) = (
        random(cs.x_len(), &mut rng),
        random(cs.w_len(), &mut rng),
        random(cs.y_len(), &mut rng),
    );
    cases.push((
        "conv2d 3x5x17x13 -> 7".into(),
        run(pollster::block_on(gpu.conv2d(&x, &w, cs)))?,
        widen(&nn::conv2d_forward(&x, &w, cs)),
        1e-5,
    ));
    cases.push((
        "conv2d input gradient".into(),
        run(pollster::block_on(gpu.conv2d_backward_input(&dy, &w, cs)))?,
        widen(&nn::conv2d_backward_input(&dy, &w, cs)),
        1e-5,
    ));
    cases.push((
        "conv2d weight gradient".into(),
        run(pollster::block_on(gpu.conv2d_backward_weight(&x, &dy, cs)))?,
        widen(&nn::conv2d_backward_weight(&x, &dy, cs)),
        1e-5,
    ));
    let e = random(10_007, &mut rng);
    let g = random(e.len(), &mut rng);
    cases.push((
        "relu".into(),
        run(pollster::block_on(gpu.relu(&e)))?,
        widen(&nn::relu(&e)),
        0.0,
    ));
    cases.push((
        "relu backward".into(),
        run(pollster::block_on(gpu.relu_backward(&e, &g)))?,
        widen(&nn::relu_backward(&e, &g)),
        0.0,
    ));
    let (pooled, arg) = pollster::block_on(gpu.maxpool2x2(&e[..7 * 30 * 34], 7, 30, 34))
        .map_err(|x| x.to_string())?;
    let (cpooled, carg) = nn::maxpool2x2(&e[..7 * 30 * 34], 7, 30, 34);
    let arg_ok = arg == carg;
    cases.push(("maxpool 2x2".into(), pooled, widen(&cpooled), 0.0));
    cases.push((
        "maxpool backward".into(),
        run(pollster::block_on(gpu.maxpool2x2_backward(
            &g[..carg.len()],
            &carg,
            7,
            30,
            34,
        )))?,
        widen(&nn::maxpool2x2_backward(
            &g[..carg.len()],
            &carg,
            7 * 30 * 34,
        )),
        0.0,
    ));
    let (mean, var) = pollster::block_on(gpu.batchnorm_stats(&e[..9 * 5 * 111], 9, 5, 111))
        .map_err(|x| x.to_string())?;
    let (cmean, cvar) = nn::batchnorm_stats(&e[..9 * 5 * 111], 9, 5, 111);
    cases.push((
        "batchnorm statistics".into(),
        [mean, var].concat(),
        widen(&[cmean, cvar].concat()),
        1e-5,
    ));
    let labels: Vec<u32> = (0..257).map(|i| (i * 7 % 10) as u32).collect();
    let (loss, grad) = pollster::block_on(gpu.softmax_cross_entropy(&e[..2570], &labels, 10))
        .map_err(|x| x.to_string())?;
    let (closs, cgrad) = nn::softmax_cross_entropy(&e[..2570], &labels, 10);
    cases.push((
        "softmax cross-entropy".into(),
        [vec![loss], grad].concat(),
        widen(&[vec![closs], cgrad].concat()),
        1e-5,
    ));
    let v0 = random(e.len(), &mut rng);
    let (nw, nv) = pollster::block_on(gpu.sgd_momentum(&e, &g, &v0, 0.05, 0.9, 5e-4))
        .map_err(|x| x.to_string())?;
    let (mut cw, mut cv) = (e.clone(), v0.clone());
    nn::sgd_momentum(&mut cw, &g, &mut cv, 0.05, 0.9, 5e-4);
    cases.push((
        "sgd with momentum".into(),
        [nw, nv].concat(),
        widen(&[cw, cv].concat()),
        1e-6,
    ));
    let s = AttentionShape {
        batch: 2,
        t_q: 9,
        t_k: 11,
        d: 16,
        d_v: 8,
    };
    let (q, k, v) = (
        random(s.q_len(), &mut rng),
        random(s.k_len(), &mut rng),
        random(s.v_len(), &mut rng),
    );
    let masked: Vec<bool> = (0..s.t_q * s.t_k).map(|i| i % s.t_k > i / s.t_k).collect();
    let (aw, ao) =
        pollster::block_on(gpu.attention(&q, &k, &v, &masked, s)).map_err(|x| x.to_string())?;
    let (caw, cao) = attention(&q, &k, &v, &masked, s);
    cases.push((
        "masked attention".into(),
        [aw, ao].concat(),
        widen(&[caw, cao].concat()),
        1e-5,
    ));
    let centroids: Vec<f32> = (0..16).map(|i| -2.0 + i as f32 * 0.25).collect();
    let assign =
        pollster::block_on(gpu.kmeans_assign(&e, &centroids)).map_err(|x| x.to_string())?;
    let cassign = glassbox_lab::kmeans::assign(&e, &centroids);
    let to_f = |a: &[u32]| a.iter().map(|&i| i as f32).collect::<Vec<f32>>();
    cases.push((
        "k-means assignment".into(),
        to_f(&assign),
        widen(&to_f(&cassign)),
        0.0,
    ));
    cases.push((
        "k-means update".into(),
        run(pollster::block_on(
            gpu.kmeans_update(&e, &cassign, &centroids),
        ))?,
        widen(&glassbox_lab::kmeans::update(&e, &cassign, &centroids)),
        1e-5,
    ));

    let mut all_ok = arg_ok;
    let kernels_json: Vec<serde_json::Value> = cases
        .iter()
        .map(|(name, got, want, tol)| {
            let (abs, rel) = kernels::max_errors(got, want);
            let ok = got.len() == want.len() && rel <= *tol;
            all_ok &= ok;
            json!({"name": name, "max_abs_err": abs, "max_rel_err": rel, "tolerance": tol, "ok": ok})
        })
        .collect();
    let out = json!({
        "adapter": format!("{} ({}, {})", gpu.info.name, gpu.info.backend, gpu.info.device_type),
        "kernels": kernels_json,
        "maxpool_argmax_equal": arg_ok,
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
    Ok(json!({
        "adapter": gpu.as_ref().map(|g| format!("{} ({}, {})", g.info.name, g.info.backend, g.info.device_type)).unwrap_or_else(|e| e.clone()),
        "results": rows,
    }))
}

fn run(args: &[String]) -> Result<serde_json::Value, String> {
    let words: Vec<&str> = args.iter().take(2).map(String::as_str).collect();
    match words.as_slice() {
        ["maml", "alias-toy"] => alias_toy_cmd(&args[2..]),
        ["maml", "closed-form"] => closed_form_cmd(&args[2..]),
        ["bench", "maml"] => bench_maml(&args[2..]),
        ["gpu", "selftest"] => gpu_selftest(&args[2..]),
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
