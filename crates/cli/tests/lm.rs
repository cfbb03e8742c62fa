//! `glassbox lm ...` end to end on a small corpus: data from a miniature WordNet, a tiny model
//! trained a few hundred steps (its held-out loss must fall), evaluation, sampling, the next
//! character, and bad input.

mod common;
use common::{glassbox, output};

const NOUNS: &str = "00001740 03 n 02 entity 0 thing 0 000 | that which is perceived or known or inferred to have its own distinct existence  
00002137 03 n 01 wolf 0 000 | any of various predatory carnivorous canine mammals; \"the wolf howled at the moon\"  
00002452 03 n 01 box 0 000 | a (usually rectangular) container; may have a lid; \"he rummaged through a box of spare parts\"  
";

fn wordnet(dir: &std::path::Path) {
    std::fs::create_dir_all(dir).unwrap();
    // Many glosses, so the corpus is long enough for windows of 32.
    let nouns = NOUNS.repeat(40);
    std::fs::write(dir.join("data.noun"), nouns).unwrap();
    for pos in ["verb", "adj", "adv"] {
        std::fs::write(
            dir.join(format!("data.{pos}")),
            "00001740 29 v 01 breathe 0 000 | draw air into, and expel out of, the lungs; \"I can breathe better\"  \n",
        )
        .unwrap();
    }
}

#[test]
fn data_train_eval_sample_next() {
    let tmp = std::env::temp_dir().join(format!("glassbox-lm-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let wn = tmp.join("wordnet");
    wordnet(&wn);
    let p = |name: &str| tmp.join(name).to_string_lossy().to_string();
    let plurals = concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets/lm/plurals.tsv");
    let (code, v, err) = glassbox(&[
        "lm",
        "data",
        "--wordnet",
        &p("wordnet"),
        "--plurals",
        plurals,
        "--out",
        &p("corpus.txt"),
        "--held-out",
        &p("held.txt"),
        "--words",
        &p("words.tsv"),
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["glosses"], 123);
    let words = std::fs::read_to_string(p("words.tsv")).unwrap();
    assert!(words.contains("rank\tword\tcount\n1\t"), "{words}");
    assert!(v["sentences"].as_u64().unwrap() > 20_000);
    let corpus = std::fs::read_to_string(p("corpus.txt")).unwrap();
    assert!(corpus.contains("wolf: any of various predatory"));
    assert!(!corpus.contains("The plural of"));
    assert_eq!(v["sha256"].as_str().unwrap().len(), 64);

    let (code, t, err) = glassbox(&[
        "lm",
        "train",
        "--tiny",
        "--corpus",
        &p("corpus.txt"),
        "--steps",
        "300",
        "--batch",
        "16",
        "--eval-every",
        "100",
        "--out",
        &p("w.bin"),
        "--curve",
        &p("curve"),
        "--precision",
        "f32",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("step 300/300"), "a progress line: {err}");
    let loss = t["val_loss_nats_per_char"].as_f64().unwrap();
    let vocab = t["vocab"].as_f64().unwrap();
    // From ln(vocab) (about 4.5) at the start to well below it.
    assert!(
        loss < 0.75 * vocab.ln(),
        "held-out loss {loss} vs ln {}",
        vocab.ln()
    );
    assert!(
        std::fs::read_to_string(p("curve/loss.csv"))
            .unwrap()
            .lines()
            .count()
            == 301
    );
    assert!(std::fs::read_to_string(p("curve/loss.svg"))
        .unwrap()
        .contains("held out"));

    let (code, e, _) = glassbox(&[
        "lm",
        "eval",
        "--weights",
        &p("w.bin"),
        "--text",
        &p("held.txt"),
        "--windows",
        "16",
    ]);
    assert_eq!(code, 0);
    assert_eq!(e["chars"], 16 * 32);
    assert_eq!(e["sha256"], t["sha256"]);
    let greedy = [
        "lm",
        "sample",
        "--weights",
        &p("w.bin"),
        "--prompt",
        "one wolf, two",
        "--temperature",
        "0",
        "--tokens",
        "12",
    ];
    let (code, a, _) = glassbox(&greedy);
    assert_eq!(code, 0);
    assert_eq!(a, glassbox(&greedy).1, "greedy is deterministic");
    assert_eq!(a["tokens"], 12);
    assert_eq!(a["probs"].as_array().unwrap().len(), 12);
    let (code, n, _) = glassbox(&[
        "lm",
        "next",
        "--weights",
        &p("w.bin"),
        "--prompt",
        "caf\u{e9}",
        "--top-k",
        "5",
    ]);
    assert_eq!(code, 0);
    assert_eq!(n["next"].as_array().unwrap().len(), 5);
    assert_eq!(n["replaced"]["characters"][0], "\u{e9}");

    for (args, option) in [
        (vec!["--prompt", ""], "--prompt"),
        (
            vec!["--prompt", "a", "--temperature", "-1"],
            "--temperature",
        ),
        (
            vec!["--prompt", "a", "--temperature", "NaN"],
            "--temperature",
        ),
        (vec!["--prompt", "a", "--tokens", "20000"], "--tokens"),
    ] {
        let w = p("w.bin");
        let all: Vec<&str> = ["lm", "sample", "--weights", w.as_str()]
            .into_iter()
            .chain(args)
            .collect();
        let o = output(&all, None);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{all:?}: {err}");
        assert!(
            err.trim().lines().count() == 1 && err.contains(option),
            "{err}"
        );
    }
    std::fs::write(p("bad.bin"), b"GBLM\x01junk").unwrap();
    let (code, _, err) = glassbox(&[
        "lm",
        "eval",
        "--weights",
        &p("bad.bin"),
        "--text",
        &p("held.txt"),
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("bad.bin"), "{err}");
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn pluralize_and_digits_with_the_shipped_model() {
    let w = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../assets/lm/glassbox-lm.bin"
    );
    let plurals = concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets/lm/plurals.tsv");
    let (code, v, err) = glassbox(&[
        "lm",
        "pluralize",
        "--split",
        "test",
        "--shots",
        "2",
        "--weights",
        w,
        "--plurals",
        plurals,
    ]);
    assert_eq!(code, 0, "{err}");
    let answers = v["answers"].as_array().unwrap();
    let nouns: Vec<&str> = answers
        .iter()
        .map(|a| a["noun"].as_str().unwrap())
        .collect();
    assert_eq!(
        nouns,
        ["foot", "man", "person", "self", "wife", "wolf", "woman"]
    );
    let correct = answers.iter().filter(|a| a["verdict"] == "correct").count();
    let invalid = answers.iter().filter(|a| a["verdict"] == "invalid").count();
    assert_eq!(v["accuracy"].as_f64().unwrap(), correct as f64 / 7.0);
    assert_eq!(v["invalid_rate"].as_f64().unwrap(), invalid as f64 / 7.0);
    for a in answers {
        assert!(["correct", "incorrect", "invalid"].contains(&a["verdict"].as_str().unwrap()));
        let p = a["prob"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&p), "{a}");
    }
    assert!(v["per_rule"].as_object().unwrap().contains_key("irregular"));

    let args = [
        "lm",
        "digits",
        "--count",
        "60",
        "--seed",
        "3",
        "--weights",
        w,
    ];
    let (code, d, err) = glassbox(&args);
    assert_eq!(code, 0, "{err}");
    let counts: Vec<u64> = d["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_u64().unwrap())
        .collect();
    assert_eq!(counts.len(), 10);
    let found = d["digits_found"].as_u64().unwrap();
    assert_eq!(counts.iter().sum::<u64>(), found);
    assert!(found <= 60);
    if found > 0 {
        let p = d["p_value"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&p) && d["chi_square"].as_f64().unwrap() >= 0.0);
    }
    assert_eq!(glassbox(&args).1, d, "a seed reproduces the digits");

    for scoring in ["generate", "likelihood"] {
        let (code, c, err) = glassbox(&[
            "lm",
            "choice",
            "--strategy",
            "few-shot",
            "--scoring",
            scoring,
            "--weights",
            w,
            "--plurals",
            plurals,
        ]);
        assert_eq!(code, 0, "{err}");
        let rates = ["accuracy", "wrong_rate", "invalid_rate"].map(|k| c[k].as_f64().unwrap());
        assert!((rates.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{rates:?}");
        assert_eq!(c["items"].as_array().unwrap().len(), 40);
        if scoring == "likelihood" {
            assert_eq!(rates[2], 0.0, "the likeliest letter is never invalid");
        }
    }

    for (args, option) in [
        (vec!["lm", "pluralize", "--shots", "10"], "--shots"),
        (vec!["lm", "pluralize", "--split", "train"], "--split"),
        (vec!["lm", "digits", "--count", "0"], "--count"),
        (vec!["lm", "choice", "--strategy", "clever"], "--strategy"),
        (
            vec!["lm", "digits", "--temperature", "NaN"],
            "--temperature",
        ),
    ] {
        refused(&args, option);
    }
}

#[test]
fn soft_prompt_and_finetune_all_with_the_shipped_model() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let w = format!("{root}/assets/lm/glassbox-lm.bin");
    let plurals = format!("{root}/assets/lm/plurals.tsv");
    let held = format!("{root}/assets/lm/heldout.txt");
    let out = std::env::temp_dir().join(format!("glassbox-soft-{}", std::process::id()));
    let out = out.to_str().unwrap().to_string();
    let files = [
        "--weights",
        &w,
        "--plurals",
        &plurals,
        "--heldout",
        &held,
        "--heldout-windows",
        "4",
    ];
    let mut args = vec![
        "lm",
        "soft-prompt",
        "--tokens",
        "4",
        "--epochs",
        "1",
        "--nouns",
        "40",
        "--out",
        &out,
    ];
    args.extend(files);
    let (code, v, err) = glassbox(&args);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        (v["tokens"].as_u64(), v["prefix"].as_bool()),
        (Some(4), Some(false))
    );
    assert_eq!(v["params_trained"], 4 * 128);
    assert_eq!(v["train_nouns"], 40);
    assert_eq!(v["params_model"], 821_504);
    assert_eq!(v["epochs"].as_array().unwrap().len(), 1);
    assert_eq!(v["heldout_loss_before"], v["heldout_loss_after"], "frozen");
    assert!(v["epochs"][0]["loss"].as_f64().unwrap() < v["start"]["train_loss"].as_f64().unwrap());
    for k in [
        "val_accuracy",
        "test_accuracy",
        "best_hard_prompt_val_accuracy",
    ] {
        assert!((0.0..=1.0).contains(&v[k].as_f64().unwrap()), "{k}: {v}");
    }
    let svg = std::fs::read_to_string(format!("{out}/tuning.svg")).unwrap();
    assert!(svg.contains("best hard prompt"));
    std::fs::remove_dir_all(&out).ok();

    let mut args = vec!["lm", "finetune-all", "--epochs", "1"];
    args.extend(files);
    let (code, f, err) = glassbox(&args);
    assert_eq!(code, 0, "{err}");
    assert_eq!(f["params_trained"], 821_504);
    let (b, a) = (
        f["heldout_loss_before"].as_f64().unwrap(),
        f["heldout_loss_after"].as_f64().unwrap(),
    );
    assert!(a > b, "full fine-tuning forgets: {b} -> {a}");

    for (args, option) in [
        (vec!["lm", "soft-prompt", "--tokens", "0"], "--tokens"),
        (vec!["lm", "soft-prompt", "--tokens", "1000"], "--tokens"),
        (vec!["lm", "soft-prompt", "--lr", "NaN"], "--lr"),
        (vec!["lm", "soft-prompt", "--epochs", "101"], "--epochs"),
        (vec!["lm", "soft-prompt", "--nouns", "3"], "--nouns"),
        (
            vec!["lm", "soft-prompt", "--loss-on", "padding"],
            "--loss-on",
        ),
        (vec!["lm", "finetune-all", "--lr", "2"], "--lr"),
        (
            vec!["lm", "meta-prompt", "--tasks", "plural,comparative"],
            "--tasks",
        ),
        (
            vec!["lm", "meta-prompt", "--tasks", "plural,plural"],
            "--tasks",
        ),
        (
            vec!["lm", "meta-prompt", "--algorithm", "sgd"],
            "--algorithm",
        ),
        (vec!["lm", "meta-prompt", "--tokens", "33"], "--tokens"),
    ] {
        refused(&args, option);
    }
}

/// A bad value: status 2 and one line on stderr naming the option.
fn refused(args: &[&str], option: &str) {
    let o = output(args, None);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert!(
        err.trim().lines().count() == 1 && err.contains(option),
        "{err}"
    );
}
