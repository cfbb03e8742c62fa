//! The language model on the device (`GpuLm`, `GpuLmSession`, `lm::generate`) against the lab's
//! CPU reading (`glassbox_lab::lm::Session`, `generate_with`): the bias/residual kernel alone;
//! logits of a tiny model, fed in blocks and one token at a time, with and without a soft prompt
//! and a prefix; generation through the sliding window; the shipped model's logits and greedy
//! text; bad input as errors. Errors are relative to the largest reference entry. No adapter is a
//! failure, not a skip.

use glassbox_gpu::lm::generate;
use glassbox_gpu::{Gpu, GpuError, GpuLmSession};
use glassbox_lab::kernels::max_errors;
use glassbox_lab::lm::{generate_with, shipped, Config, Extras, Model, Sampling, Session};
use glassbox_lab::rng::Rng;
use pollster::block_on;

fn gpu() -> Gpu {
    block_on(Gpu::new()).unwrap_or_else(|e| {
        panic!(
            "no GPU adapter: {e}. Install mesa-vulkan-drivers and set \
             VK_DRIVER_FILES=/usr/share/vulkan/icd.d/lvp_icd.x86_64.json WGPU_BACKEND=vulkan"
        )
    })
}

fn randv(n: usize, rng: &mut Rng, scale: f32) -> Vec<f32> {
    (0..n).map(|_| scale * rng.normal() as f32).collect()
}

fn check(what: &str, got: &[f32], want: &[f32], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let want64: Vec<f64> = want.iter().map(|&v| v as f64).collect();
    let (abs, rel) = max_errors(got, &want64);
    eprintln!("{what}: max abs err {abs:.2e}, rel {rel:.2e}");
    assert!(rel <= tol, "{what}: max abs err {abs}, rel {rel} > {tol}");
}

const TINY: Config = Config {
    vocab: 13,
    layers: 2,
    heads: 3,
    width: 15,
    mlp: 22,
    context: 12,
};

/// A tiny model with non-trivial gains and biases.
fn tiny() -> Model {
    let mut rng = Rng::new(41);
    let mut params = Model::new(TINY, 5).unwrap().params;
    params
        .iter_mut()
        .for_each(|p| *p += 0.1 * rng.normal() as f32);
    Model::from_params(TINY, params).unwrap()
}

#[test]
fn the_bias_and_residual_kernel_matches_the_cpu() {
    let gpu = gpu();
    let mut rng = Rng::new(3);
    let (x, y, b) = (
        randv(7 * 5, &mut rng, 1.0),
        randv(7 * 5, &mut rng, 1.0),
        randv(5, &mut rng, 1.0),
    );
    let want0: Vec<f32> = x.iter().enumerate().map(|(i, v)| v + b[i % 5]).collect();
    let want1: Vec<f32> = want0.iter().zip(&y).map(|(a, c)| a + c).collect();
    check(
        "bias",
        &block_on(gpu.lm_add(&x, None, &b)).unwrap(),
        &want0,
        1e-6,
    );
    check(
        "bias + residual",
        &block_on(gpu.lm_add(&x, Some(&y), &b)).unwrap(),
        &want1,
        1e-6,
    );
    for bad in [
        block_on(gpu.lm_add(&x, None, &[])),
        block_on(gpu.lm_add(&x, None, &b[..4])),
        block_on(gpu.lm_add(&x, Some(&y[1..]), &b)),
    ] {
        assert!(matches!(bad, Err(GpuError::Invalid(_))), "{bad:?}");
    }
}

/// Feed `blocks` of tokens to a device session and a CPU session with the same extras; every
/// block's logits (all rows) must agree.
fn feed_both(gpu: &Gpu, model: &Model, extras: Extras, blocks: &[&[u32]]) {
    let lm = gpu.upload_lm(model).unwrap();
    let mut dev = GpuLmSession::new(gpu, &lm, extras).unwrap();
    let mut cpu = Session::with_extras(model, extras).unwrap();
    assert_eq!(dev.remaining(), cpu.remaining());
    for (i, block) in blocks.iter().enumerate() {
        let got = block_on(dev.feed_all(gpu, &lm, block)).unwrap();
        let want = cpu.feed_all(block).unwrap();
        check(
            &format!("block {i} ({} tokens)", block.len()),
            &got,
            &want,
            2e-5,
        );
        assert_eq!(dev.len(), cpu.len());
    }
    // Full: one more token is an error, as on the CPU.
    let more = block_on(dev.feed(gpu, &lm, &[0]));
    if cpu.remaining() == 0 {
        assert!(matches!(more, Err(GpuError::Invalid(_))), "{more:?}");
    }
}

#[test]
fn a_session_on_the_device_reads_as_the_cpu_session_does() {
    let gpu = gpu();
    let model = tiny();
    let mut rng = Rng::new(8);
    let w = TINY.width;
    // Without extras: a block of 5, then single tokens to the end of the context.
    let blocks: [&[u32]; 8] = [&[1, 5, 2, 9, 12], &[3], &[0], &[7], &[7], &[4], &[11], &[6]];
    feed_both(&gpu, &model, Extras::default(), &blocks);
    // A soft prompt of 3 and a prefix of 2 per layer.
    let soft = randv(3 * w, &mut rng, 0.3);
    let prefix = randv(TINY.layers * 2 * 2 * w, &mut rng, 1.0);
    let extras = Extras {
        soft: Some(&soft),
        prefix: Some(&prefix),
    };
    feed_both(&gpu, &model, extras, &[&[2, 2, 8], &[1], &[10, 4], &[0]]);
}

#[test]
fn generation_on_the_device_matches_the_cpu_through_the_sliding_window() {
    let gpu = gpu();
    let model = tiny();
    let lm = gpu.upload_lm(&model).unwrap();
    let mut rng = Rng::new(9);
    let soft = randv(2 * TINY.width, &mut rng, 0.3);
    let with_soft = Extras {
        soft: Some(&soft),
        prefix: None,
    };
    // 40 tokens in a context of 12 restart the session several times.
    for (extras, temperature) in [(Extras::default(), 0.0), (with_soft, 0.0), (with_soft, 0.9)] {
        let sampling = Sampling {
            temperature,
            top_k: 0,
            seed: 4,
        };
        let prompt = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7];
        let (want, want_p) = generate_with(&model, extras, &prompt, 40, sampling).unwrap();
        let (got, got_p) = block_on(generate(&gpu, &lm, extras, &prompt, 40, sampling)).unwrap();
        assert_eq!(got, want, "tokens at temperature {temperature}");
        check("generated probabilities", &got_p, &want_p, 1e-4);
    }
    let bad = Sampling {
        temperature: f32::NAN,
        top_k: 0,
        seed: 0,
    };
    for r in [
        block_on(generate(&gpu, &lm, Extras::default(), &[], 5, bad)),
        block_on(generate(&gpu, &lm, Extras::default(), &[1], 5, bad)),
    ] {
        assert!(matches!(r, Err(GpuError::Invalid(_))), "{r:?}");
    }
}

#[test]
fn bad_feeds_and_extras_are_errors_not_panics() {
    let gpu = gpu();
    let model = tiny();
    let lm = gpu.upload_lm(&model).unwrap();
    let w = TINY.width;
    let mut s = GpuLmSession::new(&gpu, &lm, Extras::default()).unwrap();
    for tokens in [&[][..], &[13][..], &[0; 13][..]] {
        let r = block_on(s.feed(&gpu, &lm, tokens));
        assert!(matches!(r, Err(GpuError::Invalid(_))), "{tokens:?}: {r:?}");
    }
    let (odd, nan, long) = (vec![0.0; w + 1], vec![f32::NAN; w], vec![0.0; 12 * w]);
    for extras in [
        Extras {
            soft: Some(&odd),
            prefix: None,
        },
        Extras {
            soft: Some(&nan),
            prefix: None,
        },
        Extras {
            soft: Some(&long),
            prefix: None,
        },
        Extras {
            soft: None,
            prefix: Some(&odd),
        },
    ] {
        let r = GpuLmSession::new(&gpu, &lm, extras);
        assert!(matches!(r, Err(GpuError::Invalid(_))));
    }
    let other = gpu
        .upload_lm(&Model::new(Config::tiny(), 1).unwrap())
        .unwrap();
    let r = block_on(s.feed(&gpu, &other, &[1]));
    assert!(matches!(r, Err(GpuError::Invalid(_))), "{r:?}");
}

#[test]
fn the_shipped_model_reads_and_writes_on_the_device_as_on_the_cpu() {
    let gpu = gpu();
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../assets/lm/glassbox-lm.bin"
    ))
    .unwrap();
    let (model, vocab) = shipped::check(&bytes).unwrap();
    let lm = gpu.upload_lm(&model).unwrap();
    let text = "wolf: any of various predatory carnivorous canine mammals of North America and \
                Eurasia that usually hunt in packs; one wolf, two wolves.";
    let ids = vocab.encode(text).unwrap();
    let ids = &ids[..ids.len().min(model.config.context)];
    let mut dev = GpuLmSession::new(&gpu, &lm, Extras::default()).unwrap();
    let got = block_on(dev.feed_all(&gpu, &lm, ids)).unwrap();
    let want = Session::new(&model).unwrap().feed_all(ids).unwrap();
    check("shipped model, a full window", &got, &want, 1e-4);
    let greedy = Sampling {
        temperature: 0.0,
        top_k: 0,
        seed: 0,
    };
    let prompt = vocab.encode("one wolf, two").unwrap();
    let (want, _) = generate_with(&model, Extras::default(), &prompt, 200, greedy).unwrap();
    let (got, _) = block_on(generate(&gpu, &lm, Extras::default(), &prompt, 200, greedy)).unwrap();
    let show = |t: &[u32]| {
        t.iter()
            .map(|&i| vocab.chars()[i as usize])
            .collect::<String>()
    };
    eprintln!("greedy: {:?}", show(&got));
    assert_eq!(show(&got), show(&want));
}

/// Chapter 5's precomputation on the device: after a soft prompt, the first token's logits (which
/// read only the prompt's keys and values and that token) are the same whatever follows in the
/// same block, within float tolerance, and equal the CPU's.
#[test]
fn the_prompt_positions_do_not_depend_on_what_follows_on_the_device() {
    let gpu = gpu();
    let model = tiny();
    let lm = gpu.upload_lm(&model).unwrap();
    let mut rng = Rng::new(12);
    let soft = randv(3 * TINY.width, &mut rng, 0.3);
    let extras = Extras {
        soft: Some(&soft),
        prefix: None,
    };
    let v = TINY.vocab;
    let mut first: Option<Vec<f32>> = None;
    for block in [&[4u32, 1, 2][..], &[4, 9, 9, 0, 5], &[4, 12]] {
        let mut dev = GpuLmSession::new(&gpu, &lm, extras).unwrap();
        let got = block_on(dev.feed_all(&gpu, &lm, block)).unwrap();
        let want = Session::with_extras(&model, extras)
            .unwrap()
            .feed_all(block)
            .unwrap();
        check("first token, device vs CPU", &got[..v], &want[..v], 2e-5);
        match &first {
            None => first = Some(got[..v].to_vec()),
            Some(f) => check("first token, across inputs", &got[..v], f, 1e-6),
        }
    }
}
