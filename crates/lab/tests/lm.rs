//! The character-level language model: cache, causality, gradients, sampling, training, weights.

use glassbox_lab::lm::{
    self, eval_loss, from_bytes, generate, generate_with, to_bytes, Config, Dtype, Extras,
    Generator, Inputs, Kind, Model, Sampling, Session, Targets, TrainSettings, Trainer, Vocab,
    Wants,
};
use glassbox_lab::rng::Rng;

/// A tiny model with every parameter moved by N(0, scale^2), so that all paths matter.
fn jiggled(seed: u64, scale: f64) -> Model {
    let mut m = Model::new(Config::tiny(), seed).unwrap();
    let mut rng = Rng::new(seed + 100);
    m.params
        .iter_mut()
        .for_each(|p| *p += (scale * rng.normal()) as f32);
    m
}

fn random_vec(n: usize, scale: f64, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..n).map(|_| (scale * rng.normal()) as f32).collect()
}

fn random_tokens(n: usize, vocab: usize, seed: u64) -> Vec<u32> {
    let mut rng = Rng::new(seed);
    (0..n).map(|_| rng.below(vocab) as u32).collect()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn lm_cached_and_uncached_forward_agree() {
    let m = jiggled(1, 0.2);
    let c = m.config;
    let (k, p) = (3, 2);
    let soft = random_vec(k * c.width, 0.5, 2);
    let prefix = random_vec(2 * c.layers * p * c.width, 0.5, 3);
    let mut worst = 0.0f32;
    for extras in [
        Extras::default(),
        Extras {
            soft: Some(&soft),
            prefix: Some(&prefix),
        },
    ] {
        let t = if extras.soft.is_some() {
            c.context - k
        } else {
            c.context
        };
        let toks = random_tokens(t, c.vocab, 5);
        let full = m
            .logits(&Inputs {
                tokens: &toks,
                batch: 1,
                t,
                extras,
            })
            .unwrap();
        let mut one = Session::with_extras(&m, extras).unwrap();
        for (i, &tok) in toks.iter().enumerate() {
            let got = one.feed(&[tok]).unwrap();
            let want = &full[i * c.vocab..(i + 1) * c.vocab];
            worst = worst.max(max_diff(&got, want));
        }
        assert_eq!(one.remaining(), 0);
        assert!(
            one.feed(&[0]).is_err(),
            "feeding past the context must fail"
        );
        // A prompt at once (in two blocks) gives the same logits, and the last ones from `feed`.
        let mut block = Session::with_extras(&m, extras).unwrap();
        let mut all = block.feed_all(&toks[..5]).unwrap();
        all.extend(block.feed_all(&toks[5..]).unwrap());
        worst = worst.max(max_diff(&all, &full));
        let mut last = Session::with_extras(&m, extras).unwrap();
        let got = last.feed(&toks).unwrap();
        worst = worst.max(max_diff(&got, &full[full.len() - c.vocab..]));
        assert_eq!(last.logits(), Some(&got[..]));
    }
    println!("cache vs full forward: max |diff| {worst:e}");
    assert!(worst <= 1e-5, "cache disagrees by {worst}");
}

#[test]
fn lm_later_tokens_never_change_earlier_logits() {
    let m = jiggled(2, 0.2);
    let c = m.config;
    let t = c.context;
    let a = random_tokens(2 * t, c.vocab, 6);
    let base = m.logits(&Inputs::new(&a, 2, t)).unwrap();
    for j in [0, 5, t - 1] {
        let mut b = a.clone();
        b[j] = (b[j] + 1) % c.vocab as u32;
        b[t + j] = (b[t + j] + 3) % c.vocab as u32;
        let changed = m.logits(&Inputs::new(&b, 2, t)).unwrap();
        for s in 0..2 {
            let row = |x: &[f32], i: usize| x[(s * t + i) * c.vocab..][..c.vocab].to_vec();
            for i in 0..j {
                assert_eq!(
                    row(&base, i),
                    row(&changed, i),
                    "position {i} saw token {j}"
                );
            }
            assert_ne!(row(&base, j), row(&changed, j));
        }
    }
}

/// Central difference of the loss in one coordinate, five-point stencil (error O(h^4)):
/// (f(x - 2h) - 8 f(x - h) + 8 f(x + h) - f(x + 2h)) / 12h, in f64 from f32 losses.
fn central(f: &mut dyn FnMut(f32) -> f32, x: f32, h: f32) -> f64 {
    let mut at = |s: f32| f(x + s * h) as f64;
    (at(-2.0) - 8.0 * at(-1.0) + 8.0 * at(1.0) - at(2.0)) / (12.0 * h as f64)
}

/// The derivative along g / |g| (which is |g| if g is the gradient), by a five-point stencil:
/// (f(-2h) - 8 f(-h) + 8 f(h) - f(2h)) / 12h. Returns (numeric, |g|).
fn along(f: &mut dyn FnMut(&[f32]) -> f32, x: &[f32], g: &[f32], h: f64) -> (f64, f64) {
    let norm = g.iter().map(|&v| v as f64 * v as f64).sum::<f64>().sqrt();
    let mut at = |s: f64| {
        let y: Vec<f32> = x
            .iter()
            .zip(g)
            .map(|(&a, &d)| (a as f64 + s * d as f64 / norm) as f32)
            .collect();
        f(&y) as f64
    };
    let fd = (at(-2.0 * h) - 8.0 * at(-h) + 8.0 * at(h) - at(2.0 * h)) / (12.0 * h);
    (fd, norm)
}

/// Indices to check in `g[range]`: the two largest |g| and one random.
fn picks(g: &[f32], range: std::ops::Range<usize>, rng: &mut Rng) -> Vec<usize> {
    let mut idx: Vec<usize> = range.clone().collect();
    idx.sort_by(|&a, &b| g[b].abs().total_cmp(&g[a].abs()));
    let mut out: Vec<usize> = idx.into_iter().take(2).collect();
    out.push(range.start + rng.below(range.len()));
    out
}

/// A small masked batch with a soft prompt (K = 2) and prefixes (P = 3) on a jiggled tiny model.
struct GradCase {
    m: Model,
    toks: Vec<u32>,
    ys: Vec<u32>,
    mask: Vec<f32>,
    soft: Vec<f32>,
    prefix: Vec<f32>,
}

const B: usize = 2;
const T: usize = 6;

impl GradCase {
    fn new() -> Self {
        let m = jiggled(3, 0.3);
        let c = m.config;
        GradCase {
            toks: random_tokens(B * T, c.vocab, 7),
            ys: random_tokens(B * T, c.vocab, 8),
            mask: (0..B * T)
                .map(|i| [0.0, 1.0, 0.5, 0.0, 1.0, 2.0][i % 6])
                .collect(),
            soft: random_vec(2 * c.width, 0.5, 9),
            prefix: random_vec(2 * c.layers * 3 * c.width, 0.5, 10),
            m,
        }
    }

    fn loss(&self, m: &Model, soft: &[f32], prefix: &[f32]) -> f32 {
        let inputs = Inputs::new(&self.toks, B, T)
            .with_soft(soft)
            .with_prefix(prefix);
        m.loss_with(&inputs, &Targets::new(&self.ys).with_weights(&self.mask))
            .unwrap()
    }

    fn grads(&self, wants: Wants) -> (f32, lm::Grads) {
        let inputs = Inputs::new(&self.toks, B, T)
            .with_soft(&self.soft)
            .with_prefix(&self.prefix);
        let targets = Targets::new(&self.ys).with_weights(&self.mask);
        self.m.forward_backward(&inputs, &targets, wants).unwrap()
    }
}

#[test]
fn lm_gradients_match_central_differences() {
    let case = GradCase::new();
    let (m, soft, prefix) = (&case.m, &case.soft, &case.prefix);
    let (l0, g) = case.grads(Wants::ALL);
    assert!((l0 - case.loss(m, soft, prefix)).abs() < 1e-6);
    let (gw, gs, gp) = (g.weights.unwrap(), g.soft.unwrap(), g.prefix.unwrap());
    let h = 1e-2f32;
    let mut rng = Rng::new(11);
    let mut worst = 0.0f64;
    let mut check = |what: String, analytic: f32, numeric: f64| {
        let err = (analytic as f64 - numeric).abs();
        worst = worst.max(err / (numeric.abs() + 1e-3));
        assert!(
            err <= 0.01 * numeric.abs() + 3e-5,
            "{what}: analytic {analytic:e}, numeric {numeric:e}"
        );
    };
    let tensors = m.tensors();
    for tensor in &tensors {
        for i in picks(&gw, tensor.range(), &mut rng) {
            let mut mm = m.clone();
            let mut f = |v| {
                mm.params[i] = v;
                case.loss(&mm, soft, prefix)
            };
            let fd = central(&mut f, m.params[i], h);
            check(
                format!("{} [{}]", tensor.name, i - tensor.offset),
                gw[i],
                fd,
            );
        }
    }
    for i in picks(&gs, 0..gs.len(), &mut rng) {
        let mut s = soft.clone();
        let mut f = |v| {
            s[i] = v;
            case.loss(m, &s, prefix)
        };
        check(format!("soft [{i}]"), gs[i], central(&mut f, soft[i], h));
    }
    // Keys and values of both layers.
    let part = gp.len() / (2 * m.config.layers);
    for q in 0..2 * m.config.layers {
        for i in picks(&gp, q * part..(q + 1) * part, &mut rng) {
            let mut pr = prefix.clone();
            let mut f = |v| {
                pr[i] = v;
                case.loss(m, soft, &pr)
            };
            check(
                format!("prefix [{i}]"),
                gp[i],
                central(&mut f, prefix[i], h),
            );
        }
    }
    println!(
        "{} tensors x 3 weights, 3 soft, {} prefix coordinates checked; worst |error| / \
         (|numeric| + 1e-3) = {worst:.2e}",
        tensors.len(),
        6 * m.config.layers
    );
}

#[test]
fn lm_gradients_match_the_derivative_along_themselves() {
    // Along g / |g| the directional derivative is |g| if g is the gradient: a check of every
    // component at once.
    let case = GradCase::new();
    let (m, soft, prefix) = (&case.m, &case.soft, &case.prefix);
    let g = case.grads(Wants::ALL).1;
    let mut mm = m.clone();
    let mut weights = |p: &[f32]| {
        mm.params.copy_from_slice(p);
        case.loss(&mm, soft, prefix)
    };
    let dirs = [
        along(&mut weights, &m.params, &g.weights.unwrap(), 1e-2),
        along(
            &mut |s| case.loss(m, s, prefix),
            soft,
            &g.soft.unwrap(),
            1e-2,
        ),
        along(
            &mut |p| case.loss(m, soft, p),
            prefix,
            &g.prefix.unwrap(),
            1e-2,
        ),
    ];
    for ((fd, norm), what) in dirs.into_iter().zip(["weights", "soft", "prefix"]) {
        println!("{what}: |g| {norm:.6}, derivative along g/|g| {fd:.6}");
        assert!(
            (fd - norm).abs() <= 1e-3 * norm,
            "{what}: |g| {norm} vs {fd}"
        );
    }
}

#[test]
fn lm_frozen_weights_and_masked_targets() {
    let case = GradCase::new();
    let (l0, g) = case.grads(Wants::ALL);
    // The extras' gradients are the same without the weights'.
    let (l1, g1) = case.grads(Wants::EXTRAS);
    assert_eq!(l1, l0);
    assert!(g1.weights.is_none());
    assert_eq!((g1.soft, g1.prefix), (g.soft, g.prefix));
    // A masked position's target does not matter; an unmasked one's does.
    let inputs = Inputs::new(&case.toks, B, T)
        .with_soft(&case.soft)
        .with_prefix(&case.prefix);
    let vocab = case.m.config.vocab as u32;
    for (pos, matters) in [(0, false), (1, true)] {
        let mut ys = case.ys.clone();
        ys[pos] = (ys[pos] + 1) % vocab;
        let targets = Targets::new(&ys).with_weights(&case.mask);
        let l = case.m.loss_with(&inputs, &targets).unwrap();
        assert_eq!(l != l0, matters, "position {pos}");
    }
}

#[test]
fn lm_bad_inputs_are_errors() {
    let m = Model::new(Config::tiny(), 0).unwrap();
    let c = m.config;
    let toks = vec![1u32; 4];
    assert!(m.loss(&toks, &toks, 1, 3).is_err(), "length mismatch");
    assert!(
        m.loss(&[99, 1], &[1, 1], 1, 2).is_err(),
        "token outside vocab"
    );
    assert!(
        m.loss(&toks, &[1, 1, 1, 99], 1, 4).is_err(),
        "target outside vocab"
    );
    let long = vec![0u32; c.context + 1];
    assert!(m.loss(&long, &long, 1, c.context + 1).is_err(), "too long");
    let soft = vec![0.0f32; c.width + 1];
    assert!(m
        .logits(&Inputs::new(&toks, 1, 4).with_soft(&soft))
        .is_err());
    let soft = vec![0.0f32; c.width * (c.context - 3)];
    assert!(m
        .logits(&Inputs::new(&toks, 1, 4).with_soft(&soft))
        .is_err());
    let zero = [0.0f32; 4];
    let err = m
        .loss_with(
            &Inputs::new(&toks, 1, 4),
            &Targets::new(&toks).with_weights(&zero),
        )
        .unwrap_err();
    assert!(err.contains("0"), "{err}");
    let neg = [1.0, -1.0, 1.0, 1.0];
    assert!(m
        .loss_with(
            &Inputs::new(&toks, 1, 4),
            &Targets::new(&toks).with_weights(&neg)
        )
        .is_err());
    assert!(m.logits(&Inputs::new(&[], 0, 0)).is_err());
    // A model changed behind its layout's back is refused, not read out of bounds.
    let mut wider = m.clone();
    wider.config.width = 32;
    assert!(wider.loss(&toks, &toks, 1, 4).is_err());
    let mut short = m.clone();
    short.params.pop();
    assert!(Session::new(&short).is_err());
    assert!(generate(&short, &toks, 3, 0.0, 0, 0).is_err());
    assert!(Session::new(&m).unwrap().feed(&[]).is_err());
}

#[test]
fn lm_sampling_is_deterministic_when_greedy_and_reproducible_when_seeded() {
    let m = jiggled(4, 0.3);
    let prompt = [1u32, 2, 3];
    // Long enough to slide the context window twice.
    let n = 3 * m.config.context + 5;
    let (g1, p1) = generate(&m, &prompt, n, 0.0, 0, 1).unwrap();
    let (g2, _) = generate(&m, &prompt, n, 0.0, 5, 99).unwrap();
    assert_eq!(g1, g2, "greedy ignores the seed and top-k");
    assert_eq!(g1.len(), n);
    assert!(p1.iter().all(|&p| p > 0.0 && p <= 1.0));
    // The first greedy token is the arg-max of the full forward pass's last logits.
    let logits = m.logits(&Inputs::new(&prompt, 1, 3)).unwrap();
    let last = &logits[2 * m.config.vocab..];
    let best = (0..last.len()).fold(0, |b, i| if last[i] > last[b] { i } else { b });
    assert_eq!(g1[0], best as u32);
    let (s1, q1) = generate(&m, &prompt, 40, 1.0, 0, 7).unwrap();
    let (s2, q2) = generate(&m, &prompt, 40, 1.0, 0, 7).unwrap();
    let (s3, _) = generate(&m, &prompt, 40, 1.0, 0, 8).unwrap();
    assert_eq!((&s1, &q1), (&s2, &q2));
    assert_ne!(s1, s3);
    let (k1, _) = generate(&m, &prompt, 40, 1.0, 1, 7).unwrap();
    assert_eq!(k1, g1[..40], "top-1 is greedy");
    for bad in [-0.5, f32::NAN] {
        assert!(generate(&m, &prompt, 5, bad, 0, 1).is_err());
    }
    assert!(generate(&m, &[], 5, 1.0, 0, 1).is_err(), "empty prompt");
    assert!(
        generate(&m, &[42], 5, 1.0, 0, 1).is_err(),
        "token outside vocab"
    );
    assert!(generate(&m, &prompt, lm::MAX_NEW_TOKENS + 1, 1.0, 0, 1).is_err());
    // With a soft prompt the same rules hold.
    let soft = random_vec(4 * m.config.width, 0.5, 12);
    let extras = Extras {
        soft: Some(&soft),
        prefix: None,
    };
    let greedy = Sampling {
        temperature: 0.0,
        top_k: 0,
        seed: 0,
    };
    let a = generate_with(&m, extras, &prompt, 30, greedy).unwrap();
    let b = generate_with(&m, extras, &prompt, 30, Sampling { seed: 5, ..greedy }).unwrap();
    assert_eq!(a, b);
}

#[test]
fn lm_a_generation_taken_over_by_a_fresh_session_continues_the_same() {
    let m = jiggled(6, 0.3);
    let room = m.config.context;
    let sampling = Sampling {
        temperature: 0.8,
        top_k: 0,
        seed: 3,
    };
    let prompt = random_tokens(room + 9, m.config.vocab, 2);
    let n = 2 * room + 3;
    let want = generate_with(&m, Extras::default(), &prompt, n, sampling).unwrap();
    // Every 7 tokens the session is dropped and a fresh one reads the generator's window.
    let mut gen = Generator::new(&prompt, n, sampling, room).unwrap();
    assert_eq!(
        gen.feed().unwrap().tokens,
        &prompt[9..],
        "the prompt's last `room`"
    );
    let mut session = Session::new(&m).unwrap();
    let mut step = 0;
    while let Some(feed) = gen.feed() {
        let logits = if step % 7 == 6 {
            session = Session::new(&m).unwrap();
            session.feed(gen.window()).unwrap()
        } else {
            if feed.restart && step > 0 {
                session = Session::new(&m).unwrap();
            }
            session.feed(feed.tokens).unwrap()
        };
        gen.give(&logits).unwrap();
        step += 1;
    }
    assert_eq!(gen.tokens(), &want.0[..]);
    assert!(max_diff(gen.probs(), &want.1) < 1e-5);
    assert!(
        gen.give(&[0.0; 3]).is_err(),
        "a complete generation takes no more"
    );
    assert!(Generator::new(&[], 3, sampling, room).is_err());
    assert!(Generator::new(&[1], 3, sampling, 0).is_err());
    assert!(Generator::new(&[1], lm::MAX_NEW_TOKENS + 1, sampling, room).is_err());
    let hot = Sampling {
        temperature: -1.0,
        ..sampling
    };
    assert!(Generator::new(&[1], 3, hot, room).is_err());
}

const CORPUS: &str = "the cat sat on the mat. the man ate the oats. ";

#[test]
fn lm_a_tiny_model_learns_a_repetitive_corpus() {
    let text = CORPUS.repeat(40);
    let vocab = Vocab::from_corpus(&text).unwrap();
    let tokens = vocab.encode(&text).unwrap();
    let config = Config {
        vocab: vocab.len(),
        ..Config::tiny()
    };
    let model = Model::new(config, 1).unwrap();
    let uniform = (vocab.len() as f32).ln();
    let before = eval_loss(&model, &tokens, 16).unwrap();
    let settings = TrainSettings {
        steps: 300,
        batch: 16,
        lr: 1e-2,
        min_lr: 1e-3,
        warmup: 20,
        seed: 3,
        ..TrainSettings::default()
    };
    let mut trainer = Trainer::new(model, settings).unwrap();
    let mut last = None;
    while !trainer.is_done() {
        last = Some(trainer.step(&tokens).unwrap());
    }
    let last = last.unwrap();
    assert!(trainer.step(&tokens).is_err(), "stepping past the end");
    let model = trainer.into_model();
    let after = eval_loss(&model, &tokens, 16).unwrap();
    assert_eq!(after, eval_loss(&model, &tokens, 16).unwrap());
    println!(
        "vocab {}, ln(vocab) {uniform:.3}, loss before {before:.3}, after 300 steps {after:.3} \
         (last batch {:.3}, grad norm {:.3})",
        vocab.len(),
        last.loss,
        last.grad_norm
    );
    assert!((before - uniform).abs() < 0.2, "initial loss {before}");
    assert!(
        after < 0.5 * uniform,
        "loss {after} not below half of {uniform}"
    );
    let prompt = vocab.encode("the ").unwrap();
    let (out, _) = generate(&model, &prompt, 20, 0.0, 0, 0).unwrap();
    println!("greedy: {:?}", vocab.decode(&out).unwrap());
}

#[test]
fn lm_a_soft_prompt_is_learned_with_frozen_weights() {
    let m = jiggled(5, 0.2);
    let c = m.config;
    let (batch, t, k) = (4, 6, 3);
    let toks = random_tokens(batch * t, c.vocab, 13);
    // Every sequence should end by predicting token 7.
    let ys: Vec<u32> = (0..batch * t).map(|_| 7).collect();
    let mask: Vec<f32> = (0..batch * t)
        .map(|i| if i % t == t - 1 { 1.0 } else { 0.0 })
        .collect();
    let mut soft = vec![0.0f32; k * c.width];
    let settings = TrainSettings::default();
    let mut adam = lm::train::AdamW::new(soft.len(), &settings, vec![]);
    let targets = Targets::new(&ys).with_weights(&mask);
    let mut first = None;
    let mut loss = 0.0;
    for _ in 0..60 {
        let inputs = Inputs::new(&toks, batch, t).with_soft(&soft);
        let (l, g) = m
            .forward_backward(&inputs, &targets, Wants::EXTRAS)
            .unwrap();
        first.get_or_insert(l);
        loss = l;
        adam.step(&mut soft, &g.soft.unwrap(), 0.05).unwrap();
    }
    println!("soft prompt: loss {:.3} -> {loss:.3}", first.unwrap());
    assert!(loss < 0.5 * first.unwrap());
}

#[test]
fn lm_weights_round_trip_and_corrupt_files_are_errors() {
    let vocab = Vocab::from_corpus("abcdefghij?").unwrap();
    let m = jiggled(6, 0.1);
    let bytes = to_bytes(&m, &vocab, Dtype::F32).unwrap();
    let (back, v2) = from_bytes(&bytes).unwrap();
    assert_eq!((&back, &v2), (&m, &vocab));
    let half = to_bytes(&m, &vocab, Dtype::F16).unwrap();
    let (back16, _) = from_bytes(&half).unwrap();
    let worst = m
        .params
        .iter()
        .zip(&back16.params)
        .map(|(a, b)| (a - b).abs() / (a.abs() * 2f32.powi(-11) + 2f32.powi(-25)))
        .fold(0.0f32, f32::max);
    assert!(worst <= 1.0, "f16 error {worst} half-ulps");
    println!(
        "f32 file {} bytes, f16 file {} bytes, f16 error <= {worst:.3} half-ulp",
        bytes.len(),
        half.len()
    );
    // Every truncation fails, as do trailing bytes and each corrupted header field.
    for cut in (0..bytes.len()).step_by(97).chain([bytes.len() - 1]) {
        assert!(from_bytes(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    let mut long = bytes.clone();
    long.push(0);
    assert!(from_bytes(&long).is_err());
    let patch = |at: usize, v: &[u8]| {
        let mut b = bytes.clone();
        b[at..at + v.len()].copy_from_slice(v);
        from_bytes(&b)
    };
    assert!(patch(0, b"GBLX").unwrap_err().contains("GBLM"));
    assert!(patch(4, &9u32.to_le_bytes()).is_err(), "version");
    assert!(patch(8, &7u32.to_le_bytes()).is_err(), "dtype");
    assert!(patch(12, &12u32.to_le_bytes()).is_err(), "vocab size");
    assert!(
        patch(20, &3u32.to_le_bytes()).is_err(),
        "heads not dividing width"
    );
    assert!(patch(24, &u32::MAX.to_le_bytes()).is_err(), "huge width");
    assert!(patch(44, b"b").is_err(), "unsorted vocabulary");
    assert!(patch(44, &[0xff]).is_err(), "not UTF-8");
    let nan_at = bytes.len() - 4;
    assert!(patch(nan_at, &f32::NAN.to_le_bytes()).is_err(), "NaN");
    let mut big = m.clone();
    big.params[0] = 1e6;
    assert!(to_bytes(&big, &vocab, Dtype::F16).is_err(), "beyond f16");
    assert!(to_bytes(&m, &Vocab::from_corpus("ab").unwrap(), Dtype::F32).is_err());
}

#[test]
fn lm_f16_conversion_rounds_to_nearest_even_and_inverts() {
    for h in 0..=u16::MAX {
        let x = lm::f16_to_f32(h);
        if x.is_nan() {
            assert!(lm::f32_to_f16(x) & 0x7c00 == 0x7c00 && lm::f32_to_f16(x) & 0x3ff != 0);
        } else {
            assert_eq!(lm::f32_to_f16(x), h, "{h:#06x} -> {x}");
        }
    }
    assert_eq!(lm::f32_to_f16(1.0), 0x3c00);
    assert_eq!(lm::f32_to_f16(65504.0), 0x7bff);
    assert_eq!(lm::f32_to_f16(65520.0), 0x7c00, "rounds up to infinity");
    assert_eq!(lm::f32_to_f16(2f32.powi(-24)), 1);
    assert_eq!(lm::f32_to_f16(2f32.powi(-25)), 0, "tie to even: 0");
    assert_eq!(lm::f32_to_f16(3.0 * 2f32.powi(-25)), 2, "tie to even: 2");
    // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties go to the even 1.
    assert_eq!(lm::f32_to_f16(1.0 + 2f32.powi(-11)), 0x3c00);
    assert_eq!(lm::f32_to_f16(1.0 + 3.0 * 2f32.powi(-11)), 0x3c02);
    // Random values: within half an ulp.
    let mut rng = Rng::new(1);
    for _ in 0..10_000 {
        let x = (rng.normal() * 10f64.powf(rng.uniform(-6.0, 4.0))) as f32;
        let y = lm::f16_to_f32(lm::f32_to_f16(x));
        assert!(
            (x - y).abs() <= x.abs() * 2f32.powi(-11) + 2f32.powi(-25),
            "{x} -> {y}"
        );
    }
}

#[test]
fn lm_decay_applies_to_matrices_only() {
    let m = Model::new(Config::tiny(), 0).unwrap();
    let kinds: Vec<Kind> = m.tensors().iter().map(|t| t.kind).collect();
    assert_eq!(kinds.iter().filter(|k| **k == Kind::Matrix).count(), 4);
    assert_eq!(
        kinds.iter().filter(|k| **k == Kind::ResidualMatrix).count(),
        4
    );
    let s = TrainSettings {
        steps: 100,
        warmup: 10,
        ..TrainSettings::default()
    };
    assert!((lm::learning_rate(&s, 0) - s.lr / 10.0).abs() < 1e-9);
    assert!((lm::learning_rate(&s, 10) - s.lr).abs() < 1e-9);
    assert!((lm::learning_rate(&s, 100) - s.min_lr).abs() < 1e-9);
}
