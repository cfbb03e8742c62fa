//! The `glassbox` command-line program: JSON on stdout, figures with --out, errors on stderr.

mod common;
use common::{glassbox, output, run_in};

#[test]
fn alias_toy_reports_the_final_state() {
    let (code, v, _) = glassbox(&[
        "maml",
        "alias-toy",
        "--c0",
        "1",
        "--c1",
        "1",
        "--lr",
        "0.1",
        "--steps",
        "20000",
    ]);
    assert_eq!(code, 0);
    for key in ["c0", "c1", "norm0", "beta0", "beta1", "error"] {
        assert!(v[key].is_number(), "{key} missing: {v}");
    }
    let (c0, c1) = (v["c0"].as_f64().unwrap(), v["c1"].as_f64().unwrap());
    assert!((v["norm0"].as_f64().unwrap() - 2f64.sqrt()).abs() < 1e-12);
    assert!(c1.abs() < 0.05 && (c0 - 2f64.sqrt()).abs() < 0.05, "{v}");
    assert!((v["beta0"].as_f64().unwrap() - 1.0 / c0).abs() < 0.01);
}

#[test]
fn closed_form_prints_aligned_curves_and_writes_figures() {
    let dir = std::env::temp_dir().join(format!("glassbox-cli-{}", std::process::id()));
    let dir_s = dir.to_string_lossy().to_string();
    let (code, v, err) = glassbox(&[
        "maml",
        "closed-form",
        "--iterations",
        "5",
        "--d",
        "101",
        "--out",
        &dir_s,
    ]);
    assert_eq!(code, 0, "{err}");
    let ns = v["n_train_post"].as_array().unwrap();
    for key in ["meta", "ones", "oracle", "zero"] {
        assert_eq!(
            v["test_mse"][key].as_array().unwrap().len(),
            ns.len(),
            "{key}"
        );
    }
    assert_eq!(v["feature_weights"].as_array().unwrap().len(), 101);
    assert_eq!(v["meta_loss"].as_array().unwrap().len(), 5);
    for f in [
        "test_loss.svg",
        "test_loss_zoom.svg",
        "test_loss.csv",
        "feature_weights.svg",
        "feature_weights.csv",
        "task_fit.svg",
        "task_fit.csv",
    ] {
        let text = std::fs::read_to_string(dir.join(f)).unwrap_or_default();
        assert!(text.len() > 100, "{f} is missing or empty");
        assert!(!text.contains("NaN"), "{f} has NaN");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn gradient_descent_and_classification_variants_print_their_schemas() {
    let (code, v, err) = glassbox(&[
        "maml",
        "gd",
        "--steps",
        "0",
        "--iterations",
        "3",
        "--d",
        "101",
    ]);
    assert_eq!(code, 0, "{err}");
    let ns = v["n_train_post"].as_array().unwrap().len();
    assert_eq!(v["test_mse"]["meta"].as_array().unwrap().len(), ns);
    // K = 0: the weights never move.
    assert!(v["feature_weights"]
        .as_array()
        .unwrap()
        .iter()
        .all(|w| w.as_f64() == Some(1.0)));

    let dir = std::env::temp_dir().join(format!("glassbox-cls-{}", std::process::id()));
    let dir_s = dir.to_string_lossy().to_string();
    let (code, v, err) = glassbox(&[
        "maml",
        "classification",
        "--steps",
        "5",
        "--inner-lr",
        "0.3",
        "--iterations",
        "10",
        "--d",
        "101",
        "--out",
        &dir_s,
    ]);
    assert_eq!(code, 0, "{err}");
    let ns = v["n_train_post"].as_array().unwrap();
    assert_eq!(ns[0].as_u64(), Some(24));
    for key in ["meta", "ones", "oracle"] {
        let curve = v["test_error"][key].as_array().unwrap();
        assert_eq!(curve.len(), ns.len(), "{key}");
        assert!(curve
            .iter()
            .all(|e| (0.0..=1.0).contains(&e.as_f64().unwrap())));
    }
    assert_eq!(v["feature_weights"].as_array().unwrap().len(), 101);
    assert_eq!(v["meta_loss"].as_array().unwrap().len(), 10);
    for f in ["test_loss.svg", "test_loss.csv", "feature_weights.svg"] {
        let text = std::fs::read_to_string(dir.join(f)).unwrap_or_default();
        assert!(text.len() > 100 && !text.contains("NaN"), "{f}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_arguments_fail_with_a_message() {
    for args in [
        vec!["maml", "gd", "--steps", "1000"],
        vec!["maml", "classification", "--inner-lr", "-1"],
        vec!["maml", "closed-form", "--steps", "3"],
        vec!["maml", "closed-form", "--d", "500"],
        vec!["maml", "closed-form", "--inner-points", "spiral"],
        vec!["maml", "closed-form", "--seed", "abc"],
        vec!["maml", "closed-form", "--bogus", "1"],
        vec!["maml", "alias-toy", "--lr", "-1"],
        vec!["nothing"],
    ] {
        let (code, _, err) = glassbox(&args);
        assert_ne!(code, 0, "{args:?} should fail");
        assert!(!err.trim().is_empty(), "{args:?} should say why");
    }
}

#[test]
fn gpu_selftest_passes_on_the_native_adapter() {
    // Needs a Vulkan adapter (lavapipe in CI, see scripts/test.sh); no adapter is a failure.
    let (code, v, err) = glassbox(&["gpu", "selftest"]);
    assert_eq!(code, 0, "{err}");
    let kernels = v["kernels"].as_array().expect("kernels");
    assert!(!kernels.is_empty());
    for k in kernels {
        assert_eq!(k["ok"], true, "{k}");
        assert!(k["max_rel_err"].as_f64().unwrap() <= k["tolerance"].as_f64().unwrap());
    }
    assert!(v["adapter"].as_str().unwrap().len() > 3);
}

#[test]
fn image_stats_reproduces_the_original_labs_totals() {
    let (code, v, err) = glassbox(&["image", "stats", "--arch", "cifar-vgg"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["params"], 9_228_362);
    assert!((v["size_mib"].as_f64().unwrap() - 35.20).abs() < 0.005);
    let macs = v["macs"].as_u64().unwrap();
    assert!((605_000_000..607_000_000).contains(&macs), "{macs}");
    let layers = v["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 9);
    for key in ["name", "in", "out", "params", "macs"] {
        assert!(!layers[0][key].is_null(), "{key}");
    }
    let (code, pruned, _) = glassbox(&[
        "image",
        "stats",
        "--arch",
        "cifar-vgg",
        "--channel-prune",
        "0.3",
    ]);
    assert_eq!(code, 0);
    let ratio = pruned["macs"].as_f64().unwrap() / macs as f64;
    assert!(ratio > 0.49 && ratio < 0.53, "{ratio}");
    let (code, _, _) = glassbox(&["image", "stats", "--arch", "resnet"]);
    assert_ne!(code, 0);
}

#[test]
fn image_eval_reports_the_committed_weights() {
    // Runs from the repository root, where the assets live.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .args(["image", "eval"])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["images"], 10_000);
    assert!(v["accuracy"].as_f64().unwrap() >= 0.90);
    assert_eq!(v["per_class"].as_array().unwrap().len(), 10);
    let confusion = v["confusion"].as_array().unwrap();
    assert_eq!(confusion.len(), 10);
    let total: u64 = confusion
        .iter()
        .flat_map(|r| r.as_array().unwrap())
        .map(|x| x.as_u64().unwrap())
        .sum();
    assert_eq!(total, 10_000);
    let (code, _, err) = glassbox(&["image", "eval", "--weights", "/nonexistent.gbnet"]);
    assert_ne!(code, 0);
    assert!(err.contains("nonexistent"));
}

#[test]
fn attention_mask_and_cost() {
    let (code, v, err) = glassbox(&[
        "attention",
        "mask",
        "--caption",
        "<SOS> a mountain range <PAD>",
        "--image-tokens",
        "3",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["queries"].as_array().unwrap().len(), 5);
    assert_eq!(v["keys"].as_array().unwrap().len(), 8);
    // Key "a" (row 1) is hidden from query <SOS> (column 0), visible to itself (column 1).
    assert_eq!(v["masked"][1][0], true);
    assert_eq!(v["masked"][1][1], false);
    // Image tokens are visible to every caption query but <PAD>.
    assert_eq!(v["masked"][5][3], false);
    assert_eq!(v["masked"][5][4], true);
    let (code, c, _) = glassbox(&[
        "attention",
        "cost",
        "--image",
        "224",
        "--patch",
        "16",
        "--window",
        "7",
        "--dim",
        "64",
    ]);
    assert_eq!(code, 0);
    assert_eq!(c["tokens"], 196);
    assert_eq!(c["global_flops"], 4 * 196 * 196 * 64);
    assert_eq!(c["windowed_flops"], 4 * 196 * 49 * 64);
    assert_eq!(c["ratio"], 4.0);
    let (code, _, err) = glassbox(&[
        "attention",
        "cost",
        "--image",
        "100",
        "--patch",
        "16",
        "--window",
        "2",
        "--dim",
        "8",
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("divide"));
}

#[test]
fn attention_model_is_causal_and_figures_are_written() {
    let dir = std::env::temp_dir().join(format!("glassbox-attn-{}", std::process::id()));
    let out = dir.to_str().unwrap();
    let (code, v, err) = glassbox(&["attention", "model", "--out", out]);
    assert_eq!(code, 0, "{err}");
    // Changing caption token j moves outputs j.. only (and <PAD>, position 4, only itself).
    for (j, c) in v["caption_token_changes"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        let moved: Vec<u64> = c["outputs_changed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap())
            .collect();
        let want: Vec<u64> = if j == 4 {
            vec![4]
        } else {
            (j as u64..4).collect()
        };
        assert_eq!(moved, want, "token {j}");
    }
    // Any patch moves all 16 encoder outputs.
    let patches = v["patch_changes"].as_array().unwrap();
    assert_eq!(patches.len(), 16);
    assert!(patches.iter().all(|p| p["outputs_changed"] == 16));
    // Each caption query's weights sum to 1; <PAD>'s are all 0.
    let w = v["decoder_weights"].as_array().unwrap();
    for (q, row) in w.iter().enumerate() {
        let s: f64 = row
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .sum();
        assert!(
            (s - if q == 4 { 0.0 } else { 1.0 }).abs() < 1e-5,
            "{q}: {s}"
        );
    }
    for f in [
        "decoder_scores.svg",
        "decoder_masked_scores.csv",
        "decoder_weights.svg",
    ] {
        assert!(dir.join(f).exists(), "{f}");
    }
    let (code, _, err) = glassbox(&[
        "attention",
        "cost",
        "--image",
        "224",
        "--patch",
        "16",
        "--window",
        "7",
        "--dim",
        "64",
        "--out",
        out,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(dir.join("attention_cost.svg").exists() && dir.join("window_view.csv").exists());
    let (code, _, err) = glassbox(&["attention", "model", "--picture", "cat"]);
    assert_ne!(code, 0);
    assert!(err.contains("mountains"), "{err}");
    // The timing at small sizes: global attention's time grows faster than windowed attention's.
    let (code, b, err) = glassbox(&[
        "attention",
        "bench",
        "--patch",
        "8",
        "--window",
        "2",
        "--dim",
        "16",
        "--max-tokens",
        "1024",
    ]);
    assert_eq!(code, 0, "{err}");
    let rows = b["results"].as_array().unwrap();
    assert!(rows.len() >= 5);
    let last = &rows[rows.len() - 1];
    assert!(last["global_ms"].as_f64().unwrap() > last["windowed_ms"].as_f64().unwrap());
    let _ = std::fs::remove_dir_all(&dir);
}

/// `glassbox` run from the repository root (where the assets live): (status, JSON, stderr).
fn glassbox_at_root(args: &[&str]) -> (i32, serde_json::Value, String) {
    run_in(args, Some(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")))
}

#[test]
fn prune_commands_print_their_schemas() {
    let f = |v: &serde_json::Value| v.as_f64().unwrap();
    // Sensitivity on 300 test images: every layer at both sparsities; 90% of conv1 gone hurts.
    let (code, v, err) = glassbox_at_root(&[
        "prune",
        "sensitivity",
        "--sparsities",
        "0.4,0.9",
        "--images",
        "300",
    ]);
    assert_eq!(code, 0, "{err}");
    let dense = f(&v["dense_accuracy"]);
    assert!(dense > 0.85, "{v}");
    let layers = v["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 9);
    assert_eq!(layers[0]["name"], "conv1");
    assert_eq!(layers[8]["name"], "linear");
    assert!(layers
        .iter()
        .all(|l| l["accuracy"].as_array().unwrap().len() == 2));
    assert!(f(&layers[0]["accuracy"][1]) < dense - 0.2, "{v}");

    // Fine-grained: the achieved sparsity is the target to within one element.
    let (code, v, err) = glassbox_at_root(&[
        "prune",
        "fine-grained",
        "--sparsity",
        "conv8=0.7,linear=0.5",
        "--images",
        "300",
    ]);
    assert_eq!(code, 0, "{err}");
    for l in v["layers"].as_array().unwrap() {
        let numel = l["numel"].as_u64().unwrap() as f64;
        let (target, achieved) = (f(&l["target"]), f(&l["achieved"]));
        assert!((target - achieved).abs() * numel <= 1.0, "{l}");
        assert_eq!(
            l["zeros"].as_u64().unwrap() as f64,
            (achieved * numel).round()
        );
    }
    let ratio = f(&v["size_ratio"]);
    assert!(ratio > 0.4 && ratio < 0.7, "{v}");
    assert_eq!(v["goal"]["size_ok"], false);
    for key in [
        "accuracy_before_finetune",
        "accuracy_after_finetune",
        "dense_accuracy",
    ] {
        assert!(f(&v[key]) > 0.5, "{key}: {v}");
    }

    // Channel pruning: multiply-adds as the calculator, latency measured, sorting keeps more.
    let (_, stats, _) = glassbox(&["image", "stats", "--arch", "lab", "--channel-prune", "0.3"]);
    let (code, sorted, err) = glassbox_at_root(&[
        "prune", "channel", "--ratio", "0.3", "--sort", "true", "--images", "500",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(sorted["macs_pruned"], stats["macs"]);
    assert_eq!(sorted["params_pruned"], stats["params"]);
    let macs = f(&sorted["macs_pruned"]) / f(&sorted["macs_dense"]);
    assert!(macs > 0.49 && macs < 0.53, "{sorted}");
    assert!(f(&sorted["latency_ms_dense"]) > 0.0 && f(&sorted["latency_ms_pruned"]) > 0.0);
    let (_, plain, _) =
        glassbox_at_root(&["prune", "channel", "--ratio", "0.3", "--images", "500"]);
    assert!(
        f(&sorted["accuracy_before_finetune"]) > f(&plain["accuracy_before_finetune"]),
        "sorted {sorted} vs plain {plain}"
    );

    // Bad input: messages, not panics.
    for args in [
        &["prune", "fine-grained", "--sparsity", "conv9=0.5"][..],
        &["prune", "fine-grained", "--sparsity", "conv1=1.5"],
        &["prune", "fine-grained"],
        &["prune", "channel", "--ratio", "1.0"],
        &["prune", "channel"],
        &["prune", "sensitivity", "--sparsities", "0.5,x"],
    ] {
        let (code, _, err) = glassbox_at_root(args);
        assert_ne!(code, 0, "{args:?}");
        assert!(err.starts_with("glassbox: "), "{args:?}: {err}");
    }
}

#[test]
fn quant_commands_print_their_schemas() {
    let f = |v: &serde_json::Value| v.as_f64().unwrap();
    // The homework's example: [-0.25, 0.75] on 2 bits.
    let (code, v, err) = glassbox(&[
        "quant",
        "linear-params",
        "--rmin",
        "-0.25",
        "--rmax",
        "0.75",
        "--bits",
        "2",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!((f(&v["scale"]) - 1.0 / 3.0).abs() < 1e-12);
    assert_eq!(v["zero_point"], -1);
    assert_eq!(
        (v["qmin"].as_i64(), v["qmax"].as_i64()),
        (Some(-2), Some(1))
    );
    for (bits, most) in [(8, 256), (2, 4)] {
        let b = bits.to_string();
        let (code, v, err) =
            glassbox_at_root(&["quant", "kmeans", "--bits", &b, "--images", "300"]);
        assert_eq!(code, 0, "{err}");
        assert!(v["distinct_values_max"].as_u64().unwrap() <= most, "{v}");
        assert!(f(&v["size_mib"]) < f(&v["size_mib_fp32"]), "{v}");
        if bits == 8 {
            assert!(
                (f(&v["accuracy_before_qat"]) - f(&v["accuracy_fp32"])).abs() <= 0.01,
                "{v}"
            );
        } else {
            assert!(
                f(&v["accuracy_before_qat"]) < f(&v["accuracy_fp32"]) - 0.1,
                "{v}"
            );
        }
    }
    let (code, v, err) =
        glassbox_at_root(&["quant", "compare", "--bits", "8,2", "--images", "200"]);
    assert_eq!(code, 0, "{err}");
    let w = v["widths"].as_array().unwrap();
    assert_eq!(w.len(), 2);
    assert!(
        (f(&w[0]["linear_accuracy"]) - f(&v["accuracy_fp32"])).abs() <= 0.02,
        "{v}"
    );
    assert!(
        f(&w[1]["kmeans_accuracy"]) > f(&w[1]["linear_accuracy"]),
        "{v}"
    );
    assert!(f(&w[1]["linear_size_mib"]) < f(&w[0]["linear_size_mib"]));
    let (code, v, err) =
        glassbox_at_root(&["quant", "int8", "--images", "300", "--calibration", "128"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["relu_layers"], 0);
    assert!(
        (f(&v["accuracy_int8"]) - f(&v["accuracy_fp32"])).abs() <= 0.02,
        "{v}"
    );
    assert_eq!(v["explicit_relu_same_predictions"], "300 of 300");
    assert!(
        f(&v["accuracy_fp32_without_relu"]) < f(&v["accuracy_fp32"]) - 0.2,
        "{v}"
    );
    for args in [
        &[
            "quant",
            "linear-params",
            "--rmin",
            "1",
            "--rmax",
            "1",
            "--bits",
            "8",
        ][..],
        &["quant", "linear-params", "--rmax", "1"],
        &["quant", "kmeans", "--bits", "9"],
        &["quant", "kmeans"],
    ] {
        let (code, _, err) = glassbox_at_root(args);
        assert_ne!(code, 0, "{args:?}");
        assert!(err.starts_with("glassbox: "), "{args:?}: {err}");
    }
}

/// Every command and its options (the documented command lines of README.md and scripts/).
const COMMANDS: &[(&str, &str)] = &[
    ("maml alias-toy", "--c0 --c1 --lr --steps --out"),
    ("maml closed-form", MAML_OPTIONS),
    ("maml gd", MAML_OPTIONS),
    ("maml classification", MAML_OPTIONS),
    (
        "image train",
        "--epochs --seed --batch --lr --data --debian-dir --out",
    ),
    ("image eval", "--weights"),
    ("image stats", "--arch --channel-prune"),
    ("data fashion-mnist", "--from --out"),
    ("prune sensitivity", "--sparsities --images --out"),
    (
        "prune fine-grained",
        "--sparsity --finetune-epochs --images --lr --seed --out",
    ),
    (
        "prune channel",
        "--ratio --sort --finetune-epochs --images --lr --seed",
    ),
    ("quant linear-params", "--rmin --rmax --bits"),
    ("quant kmeans", "--bits --qat-epochs --images --lr --seed"),
    ("quant int8", "--images --calibration --seed"),
    ("quant compare", "--bits --images --seed"),
    ("attention mask", "--caption --image-tokens"),
    (
        "attention model",
        "--caption --image-tokens --picture --seed --query --out",
    ),
    (
        "attention cost",
        "--image --patch --window --dim --query-row --query-col --out",
    ),
    (
        "attention bench",
        "--patch --window --dim --max-tokens --out",
    ),
    ("finetune run", "--tune --shift --corruption --severity --noise-block --alpha --images --test-images --epochs --lr --lr-grid --seed"),
    ("finetune sweep", "--tunes --out --shift --corruption --severity --noise-block --alpha --images --test-images --epochs --lr --lr-grid --seed"),
    ("finetune corruptions", "--images --seed --out"),
    ("finetune table", "--from --out"),
    ("bench maml", "--repeat"),
    ("bench finetune", "--repeat"),
    ("bench maml-variants", "--repeat"),
    ("bench image", "--images --steps --backend"),
    ("bench gpu", "--sizes --repeat"),
    ("bench lm", "--repeat --backend"),
    ("lm pluralize", "--shots --wrong-labels --split --seed --weights --plurals"),
    ("lm digits", "--count --temperature --seed --weights"),
    ("lm choice", "--task --strategy --scoring --seed --weights --plurals"),
    ("gpu selftest", ""),
];

const MAML_OPTIONS: &str = "--seed --iterations --inner-points --n-train-inner --d --meta-lr \
                            --tasks-per-step --noise --frequencies --out";

/// `glassbox WORDS --help`: status 0 and the help text on stdout.
fn help(words: &str) -> String {
    let mut args: Vec<&str> = words.split_whitespace().collect();
    args.push("--help");
    let out = output(&args, None);
    assert_eq!(out.status.code(), Some(0), "{words} --help");
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn every_command_answers_help_with_its_options_and_defaults() {
    let top = help("");
    for (command, options) in COMMANDS {
        let (topic, sub) = command.split_once(' ').unwrap();
        assert!(top.contains(&format!("  {topic} ")), "{topic} in:\n{top}");
        let topic_help = help(topic);
        assert!(
            topic_help.contains(&format!("  {sub} ")),
            "{sub} in:\n{topic_help}"
        );
        let text = help(command);
        assert!(
            text.contains(&format!("Usage: glassbox {command}")),
            "{text}"
        );
        for option in options.split_whitespace() {
            assert!(
                text.contains(&format!("{option} ")),
                "{command}: {option} in:\n{text}"
            );
        }
        if *command == "maml gd" || *command == "maml classification" {
            assert!(
                text.contains("--steps ") && text.contains("--inner-lr "),
                "{text}"
            );
        }
    }
    for (command, default) in [
        ("maml closed-form", "[default: grid]"),
        ("maml gd", "[default: uniform]"),
        ("maml gd", "[default: 0.01]"),
        ("maml alias-toy", "[default: 10000]"),
        ("prune channel", "[default: false]"),
        ("prune sensitivity", "[default: 0.4,0.5,0.6,0.7,0.8,0.9]"),
        ("quant linear-params", "[default: 8]"),
        ("bench image", "[default: cpu]"),
        ("attention model", "[default: mountains]"),
        ("finetune run", "[default: 1e-2,1e-3,1e-4]"),
        ("finetune sweep", "[default: gaussian_noise]"),
    ] {
        assert!(help(command).contains(default), "{command}: {default}");
    }
}

#[test]
fn prune_channel_sort_is_a_bare_flag() {
    let (code, v, err) = glassbox_at_root(&[
        "prune",
        "channel",
        "--ratio",
        "0.3",
        "--sort",
        "--finetune-epochs",
        "0",
        "--images",
        "200",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["sorted"], true);
    assert_eq!(v["finetune_epochs"], 0);
    assert_eq!(v["images"], 200);
    // `--sort false` still reads as before.
    let (code, v, err) = glassbox_at_root(&[
        "prune", "channel", "--ratio", "0.3", "--sort", "false", "--images", "200",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["sorted"], false);
}

#[test]
fn bad_values_exit_2_with_one_line_naming_the_option() {
    let dir = std::env::temp_dir().join(format!("glassbox-bad-{}", std::process::id()));
    // (command line, OUT standing for an --out folder; what the one line says): refused by the
    // option's range, or by the lab once the options are read.
    let cases = [
        ("prune channel --ratio 1.5", "--ratio: 1.5 is not in [0, 1)"),
        ("prune channel --ratio 0.3 --sort maybe", "--sort"),
        ("maml alias-toy --lr -1 --out OUT", "--lr"),
        ("maml gd --steps 1000 --out OUT", "--steps"),
        (
            "maml closed-form --frequencies 3,x --out OUT",
            "--frequencies",
        ),
        ("maml closed-form --d 500 --out OUT", "--d"),
        ("quant kmeans --bits 9", "--bits"),
        ("quant compare --bits 8,1", "--bits"),
        (
            "prune sensitivity --sparsities 0.5,x --out OUT",
            "--sparsities",
        ),
        (
            "attention cost --image 224 --patch 16 --window 7 --dim 0 --out OUT",
            "--dim",
        ),
        ("attention model --picture cat --out OUT", "--picture"),
        ("bench image --images 0", "--images"),
        ("bench gpu --sizes 256,0", "--sizes"),
        ("bench lm --backend tpu", "--backend"),
        (
            "prune fine-grained --sparsity conv9=0.5 --out OUT",
            "--sparsity",
        ),
        (
            "maml closed-form --d 11 --frequencies 9 --out OUT",
            "--frequencies: 9 is outside",
        ),
        (
            "attention cost --image 100 --patch 16 --window 2 --dim 8 --out OUT",
            "--image, --patch, --window, --dim: the patch size (16) must divide",
        ),
        (
            "quant linear-params --rmin 1 --rmax 0",
            "--rmin, --rmax: the range",
        ),
        (
            "maml alias-toy --c0 0 --c1 0",
            "--c0, --c1: give finite numbers",
        ),
        (
            "maml closed-form --n-train-inner 600 --out OUT",
            "--n-train-inner: must be",
        ),
        (
            "finetune run --tune block5",
            "--tune: unknown tuning choice",
        ),
        ("finetune run --tune head --corruption fog", "--corruption"),
        ("finetune run --tune head --severity 7", "--severity"),
        ("finetune run --tune head --lr 0", "--lr"),
        ("finetune run --tune head --lr NaN", "--lr"),
        ("finetune run --tune head --images 0", "--images"),
        ("finetune run --tune head --images 15", "--images: must be"),
        (
            "finetune run --tune head --shift stage-noise --noise-block head",
            "--noise-block",
        ),
        ("finetune sweep --tunes head,all,x", "--tunes"),
        ("finetune corruptions --images 0 --out OUT", "--images"),
        (
            "finetune table --from Cargo.toml --out OUT",
            "--from: Cargo.toml: not a sweep",
        ),
    ];
    for (line, says) in cases {
        let args: Vec<&str> = line
            .split_whitespace()
            .map(|a| if a == "OUT" { dir.to_str().unwrap() } else { a })
            .collect();
        let o = output(&args, Some(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")));
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{line}: {err}");
        assert_eq!(err.lines().count(), 1, "{line}: {err}");
        assert!(
            err.starts_with("glassbox: ") && err.contains(says),
            "{line}: {err}"
        );
        assert!(o.stdout.is_empty(), "{line}");
        assert!(!dir.exists(), "{line} wrote into --out");
    }
    // Not the reader's input: the committed asset is not where the command runs.
    let (code, _, err) = run_in(&["quant", "int8"], std::env::temp_dir().to_str());
    assert_eq!(code, 1, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn finetune_run_tunes_only_its_block_and_reports_the_schema() {
    let f = |v: &serde_json::Value| v.as_f64().unwrap();
    // Reduced: 100 images, one epoch at one learning rate.
    let (code, v, err) = glassbox_at_root(&[
        "finetune",
        "run",
        "--tune",
        "block4",
        "--images",
        "100",
        "--test-images",
        "100",
        "--epochs",
        "2",
        "--lr",
        "1e-3",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["shift"], "corruption");
    assert_eq!(v["corruption"], "gaussian_noise");
    assert_eq!(v["severity"], 5);
    assert_eq!(v["tune"], "block4");
    // block4: conv7 (64 -> 128) and conv8 (128 -> 128), 3 x 3, with two batch-norms.
    let tuned = 64 * 128 * 9 + 128 * 128 * 9 + 4 * 128;
    assert_eq!(v["params_tuned"], tuned);
    let changed = v["params_changed"].as_u64().unwrap() as usize;
    assert!(changed <= tuned && changed > tuned * 9 / 10, "{changed}");
    assert_eq!(v["curve"].as_array().unwrap().len(), 2);
    for k in ["lr", "epoch", "val_accuracy"] {
        assert!(v["curve"][0][k].is_number(), "{k}");
    }
    assert!((0.0..=1.0).contains(&f(&v["accuracy_before"])));
    assert!((0.0..=1.0).contains(&f(&v["accuracy_after"])));
    assert_eq!(f(&v["lr"]), 1e-3);
    // bn-stats trains nothing.
    let (code, v, err) = glassbox_at_root(&[
        "finetune",
        "run",
        "--tune",
        "bn-stats",
        "--shift",
        "flip",
        "--images",
        "100",
        "--test-images",
        "100",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        (v["params_tuned"].as_u64(), v["params_changed"].as_u64()),
        (Some(0), Some(0))
    );
    assert!(v["lr"].is_null() && v["corruption"].is_null());
    assert!(
        f(&v["accuracy_before"]) < 0.05,
        "flip leaves no label in place"
    );
}

#[test]
fn finetune_corruptions_writes_the_heatmap_and_examples() {
    let dir = std::env::temp_dir().join(format!("glassbox-ft-{}", std::process::id()));
    let (code, v, err) = glassbox_at_root(&[
        "finetune",
        "corruptions",
        "--images",
        "100",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let rows = v["corruptions"].as_array().unwrap();
    assert_eq!(rows.len(), 8 * 6);
    let acc = |name: &str, s: u64| {
        rows.iter()
            .find(|r| r["name"] == name && r["severity"] == s)
            .unwrap()["accuracy"]
            .as_f64()
            .unwrap()
    };
    assert!(acc("gaussian_noise", 0) > 0.85);
    assert!(acc("gaussian_noise", 5) < acc("gaussian_noise", 1));
    for f in [
        "corruption-examples.svg",
        "corruption-accuracy.svg",
        "corruption-accuracy.csv",
    ] {
        let text = std::fs::read_to_string(dir.join(f)).unwrap();
        assert!(text.contains("defocus_blur"), "{f}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn finetune_sweep_writes_the_table_and_table_gathers_saved_sweeps() {
    let dir = std::env::temp_dir().join(format!("glassbox-sweep-{}", std::process::id()));
    let out = dir.to_str().unwrap();
    let (code, v, err) = glassbox_at_root(&[
        "finetune",
        "sweep",
        "--shift",
        "flip",
        "--tunes",
        "head,bn-stats",
        "--images",
        "100",
        "--test-images",
        "100",
        "--epochs",
        "1",
        "--lr",
        "1e-2",
        "--out",
        out,
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["results"].as_array().unwrap().len(), 2);
    let csv = std::fs::read_to_string(dir.join("sweep.csv")).unwrap();
    let rows = glassbox_lab::shift::sweep_table::parse(&csv).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].tune.name(), "head");
    assert_eq!(rows[1].lr, None);
    // The same table from the saved output.
    let saved = dir.join("sweep.json");
    std::fs::write(&saved, v.to_string()).unwrap();
    let again = dir.join("again");
    let (code, t, err) = glassbox_at_root(&[
        "finetune",
        "table",
        "--from",
        saved.to_str().unwrap(),
        "--out",
        again.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(t["rows"], 2);
    assert_eq!(
        std::fs::read_to_string(again.join("sweep.csv")).unwrap(),
        csv
    );
    let _ = std::fs::remove_dir_all(&dir);
}
