//! The language model's GPU kernels (`Gpu::lm_*`) against their CPU references at awkward shapes:
//! the lab's layer norm, GELU and attention (`glassbox_lab::lm::{layers, attention}`); the
//! embedding and the weighted cross-entropy, which the lab computes inline in its forward and
//! backward passes, restated here in the lab's order. Then a tiny model's whole forward and
//! backward pass (soft prompt and prefix included) assembled from these kernels and `Gpu::matmul`,
//! against `Model::loss_with` and `Model::forward_backward`. Errors are relative to the largest
//! reference entry (`max_errors`). No adapter is a failure, not a skip.

use glassbox_gpu::{Gpu, GpuError, MatmulShape};
use glassbox_lab::kernels::max_errors;
use glassbox_lab::lm::{attention, layers};
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

fn randv(n: usize, rng: &mut Rng) -> Vec<f32> {
    (0..n).map(|_| rng.normal() as f32).collect()
}

/// The relative error of `got` against `want` (asserted <= `tol`), also printed.
fn check(what: &str, got: &[f32], want: &[f32], tol: f64) -> f64 {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let want64: Vec<f64> = want.iter().map(|&v| v as f64).collect();
    let (abs, rel) = max_errors(got, &want64);
    eprintln!("{what}: max abs err {abs:.2e}, rel {rel:.2e}");
    assert!(rel <= tol, "{what}: max abs err {abs}, rel {rel} > {tol}");
    rel
}

fn worst(name: &str, rels: &[f64]) {
    let w = rels.iter().copied().fold(0.0f64, f64::max);
    eprintln!("WORST {name}: rel {w:.2e}");
}

#[test]
fn layer_norm_forward_and_backward_match_the_lab() {
    let gpu = gpu();
    let mut rng = Rng::new(11);
    let mut rels = vec![Vec::new(); 6];
    for &(n, d) in &[
        (1, 1),
        (3, 1),
        (1, 7),
        (5, 65),
        (17, 128),
        (70, 257),
        (129, 33),
    ] {
        // Rows with different offsets and scales, away from zero mean.
        let x: Vec<f32> = randv(n * d, &mut rng)
            .iter()
            .enumerate()
            .map(|(i, v)| v * (1.0 + (i / d % 3) as f32) + (i / d) as f32 * 0.25 - 2.0)
            .collect();
        let (g, b) = (randv(d, &mut rng), randv(d, &mut rng));
        let (y, mean, rstd) = block_on(gpu.lm_layer_norm(&x, &g, &b)).unwrap();
        let (mut cy, mut xhat, mut crstd) = (vec![0.0; n * d], vec![0.0; n * d], vec![0.0; n]);
        layers::layer_norm(&x, &g, &b, &mut cy, &mut xhat, &mut crstd);
        let cmean: Vec<f32> = x
            .chunks_exact(d)
            .map(|r| r.iter().sum::<f32>() / d as f32)
            .collect();
        let at = format!("layer norm {n}x{d}");
        rels[0].push(check(&format!("{at} y"), &y, &cy, 1e-5));
        rels[1].push(check(&format!("{at} mean"), &mean, &cmean, 1e-5));
        rels[2].push(check(&format!("{at} rstd"), &rstd, &crstd, 1e-5));
        let dy = randv(n * d, &mut rng);
        let (dx, dg, db) =
            block_on(gpu.lm_layer_norm_backward(&dy, &x, &g, &cmean, &crstd)).unwrap();
        let (mut cdx, mut cdg, mut cdb) = (vec![0.0; n * d], vec![0.0; d], vec![0.0; d]);
        layers::layer_norm_back(&dy, &xhat, &crstd, &g, &mut cdx, Some((&mut cdg, &mut cdb)));
        rels[3].push(check(&format!("{at} dx"), &dx, &cdx, 1e-4));
        rels[4].push(check(&format!("{at} dg"), &dg, &cdg, 1e-5));
        rels[5].push(check(&format!("{at} db"), &db, &cdb, 1e-5));
    }
    for (name, r) in ["ln y", "ln mean", "ln rstd", "ln dx", "ln dg", "ln db"]
        .iter()
        .zip(&rels)
    {
        worst(name, r);
    }
}

#[test]
fn gelu_forward_and_backward_match_the_lab() {
    let gpu = gpu();
    let mut rng = Rng::new(12);
    let (mut fwd, mut bwd) = (Vec::new(), Vec::new());
    for len in [1usize, 7, 257, 70_001] {
        let mut x: Vec<f32> = randv(len, &mut rng).iter().map(|v| 3.0 * v).collect();
        let extremes = [-20.0, -9.0, -5.0, 0.0, 1e-4, -1e-4, 5.0, 9.0, 20.0];
        for (slot, e) in x.iter_mut().zip(extremes) {
            *slot = e;
        }
        let dy = randv(len, &mut rng);
        let want: Vec<f32> = x.iter().map(|&v| layers::gelu(v)).collect();
        fwd.push(check(
            &format!("gelu {len}"),
            &block_on(gpu.lm_gelu(&x)).unwrap(),
            &want,
            1e-5,
        ));
        let want: Vec<f32> = x
            .iter()
            .zip(&dy)
            .map(|(&v, &g)| g * layers::gelu_grad(v))
            .collect();
        bwd.push(check(
            &format!("gelu backward {len}"),
            &block_on(gpu.lm_gelu_backward(&x, &dy)).unwrap(),
            &want,
            1e-5,
        ));
    }
    worst("gelu", &fwd);
    worst("gelu backward", &bwd);
}

/// batch, t, heads, head dimension, prefix length.
type AttShape = (usize, usize, usize, usize, usize);

fn lab_shape(&(_, t, heads, dh, p): &AttShape) -> attention::Shape {
    attention::Shape {
        n: t,
        m: p + t,
        heads,
        d: dh,
        q_stride: 3 * heads * dh,
    }
}

/// Sequence b's keys and values as the lab's forward pass assembles them: the prefix, then its own.
fn keys_values(
    s: &AttShape,
    qkv: &[f32],
    pk: &[f32],
    pv: &[f32],
    b: usize,
) -> (Vec<f32>, Vec<f32>) {
    let (_, t, heads, dh, _) = *s;
    let w = heads * dh;
    let (mut k, mut v) = (pk.to_vec(), pv.to_vec());
    for row in qkv[b * t * 3 * w..][..t * 3 * w].chunks_exact(3 * w) {
        k.extend_from_slice(&row[w..2 * w]);
        v.extend_from_slice(&row[2 * w..]);
    }
    (k, v)
}

/// The lab's attention over a batch: (output, probabilities).
fn cpu_attention(s: &AttShape, qkv: &[f32], pk: &[f32], pv: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let (batch, t, heads, dh, _) = *s;
    let (w, ls) = (heads * dh, lab_shape(s));
    let (mut out, mut probs) = (vec![0.0; batch * t * w], vec![0.0; batch * ls.probs_len()]);
    for b in 0..batch {
        let (k, v) = keys_values(s, qkv, pk, pv, b);
        attention::forward(
            ls,
            &qkv[b * t * 3 * w..][..t * 3 * w],
            &k,
            &v,
            &mut probs[b * ls.probs_len()..][..ls.probs_len()],
            &mut out[b * t * w..][..t * w],
        );
    }
    (out, probs)
}

/// The lab's attention backward over a batch, assembled as its layer backward does: (dqkv, d
/// prefix keys, d prefix values).
fn cpu_attention_backward(
    s: &AttShape,
    qkv: &[f32],
    pk: &[f32],
    pv: &[f32],
    probs: &[f32],
    dout: &[f32],
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let (batch, t, heads, dh, p) = *s;
    let (w, ls) = (heads * dh, lab_shape(s));
    let m = p + t;
    let mut dqkv = vec![0.0; qkv.len()];
    let (mut dpk, mut dpv) = (vec![0.0; p * w], vec![0.0; p * w]);
    for b in 0..batch {
        let (k, v) = keys_values(s, qkv, pk, pv, b);
        let (mut dk, mut dv) = (vec![0.0; m * w], vec![0.0; m * w]);
        let dq = &mut dqkv[b * t * 3 * w..][..t * 3 * w];
        attention::backward(
            ls,
            &qkv[b * t * 3 * w..][..t * 3 * w],
            &k,
            &v,
            &probs[b * ls.probs_len()..][..ls.probs_len()],
            &dout[b * t * w..][..t * w],
            dq,
            &mut dk,
            &mut dv,
        );
        dpk.iter_mut().zip(&dk[..p * w]).for_each(|(a, g)| *a += g);
        dpv.iter_mut().zip(&dv[..p * w]).for_each(|(a, g)| *a += g);
        for (j, row) in dq.chunks_exact_mut(3 * w).enumerate() {
            row[w..2 * w].copy_from_slice(&dk[(p + j) * w..][..w]);
            row[2 * w..].copy_from_slice(&dv[(p + j) * w..][..w]);
        }
    }
    (dqkv, dpk, dpv)
}

#[test]
fn attention_forward_and_backward_match_the_lab() {
    let gpu = gpu();
    let mut rng = Rng::new(13);
    let mut rels = vec![Vec::new(); 5];
    let shapes: [AttShape; 9] = [
        (1, 1, 1, 1, 0),
        (1, 1, 2, 3, 2),
        (2, 5, 3, 4, 0),
        (3, 7, 2, 5, 3),
        (1, 3, 1, 1, 65),
        (2, 67, 2, 33, 4),
        (1, 130, 1, 70, 0),
        (4, 16, 4, 8, 8),
        (2, 9, 4, 32, 1),
    ];
    for s in &shapes {
        let (batch, t, heads, dh, p) = *s;
        let w = heads * dh;
        let qkv = randv(batch * t * 3 * w, &mut rng);
        let (pk, pv) = (randv(p * w, &mut rng), randv(p * w, &mut rng));
        let (out, probs) = block_on(gpu.lm_attention(&qkv, &pk, &pv, batch, t, heads, dh)).unwrap();
        let (cout, cprobs) = cpu_attention(s, &qkv, &pk, &pv);
        let at = format!("attention {s:?}");
        rels[0].push(check(&format!("{at} output"), &out, &cout, 1e-5));
        rels[1].push(check(&format!("{at} probabilities"), &probs, &cprobs, 1e-5));
        let dout = randv(batch * t * w, &mut rng);
        let (dqkv, dpk, dpv) = block_on(
            gpu.lm_attention_backward(&qkv, &pk, &pv, &cprobs, &dout, batch, t, heads, dh),
        )
        .unwrap();
        let (cdqkv, cdpk, cdpv) = cpu_attention_backward(s, &qkv, &pk, &pv, &cprobs, &dout);
        rels[2].push(check(&format!("{at} dqkv"), &dqkv, &cdqkv, 1e-4));
        rels[3].push(check(&format!("{at} d prefix k"), &dpk, &cdpk, 1e-4));
        rels[4].push(check(&format!("{at} d prefix v"), &dpv, &cdpv, 1e-4));
    }
    for (name, r) in [
        "attention output",
        "attention probabilities",
        "attention dqkv",
        "attention d prefix k",
        "attention d prefix v",
    ]
    .iter()
    .zip(&rels)
    {
        worst(name, r);
    }
}

/// The lab's embedding (forward.rs `embed`): soft vectors, then token rows, each plus its position.
fn cpu_embed(
    tokens: &[u32],
    batch: usize,
    wte: &[f32],
    wpe: &[f32],
    soft: &[f32],
    w: usize,
) -> Vec<f32> {
    let (t, k) = (tokens.len() / batch, soft.len() / w);
    let l = k + t;
    let mut x = vec![0.0f32; batch * l * w];
    for b in 0..batch {
        for j in 0..l {
            let src = if j < k {
                &soft[j * w..][..w]
            } else {
                &wte[tokens[b * t + j - k] as usize * w..][..w]
            };
            for c in 0..w {
                x[(b * l + j) * w + c] = src[c] + wpe[j * w + c];
            }
        }
    }
    x
}

/// The lab's embedding gradient (the end of `forward_backward`), from zero: (d_wte, d_wpe, d_soft).
fn cpu_embed_backward(
    dx: &[f32],
    tokens: &[u32],
    batch: usize,
    vocab: usize,
    context: usize,
    k: usize,
    w: usize,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let t = tokens.len() / batch;
    let l = k + t;
    let (mut dwte, mut dwpe, mut dsoft) = (
        vec![0.0f32; vocab * w],
        vec![0.0f32; context * w],
        vec![0.0f32; k * w],
    );
    for b in 0..batch {
        for j in 0..l {
            let g = &dx[(b * l + j) * w..][..w];
            let add = |dst: &mut [f32]| dst.iter_mut().zip(g).for_each(|(a, x)| *a += x);
            add(&mut dwpe[j * w..][..w]);
            if j >= k {
                add(&mut dwte[tokens[b * t + j - k] as usize * w..][..w]);
            } else {
                add(&mut dsoft[j * w..][..w]);
            }
        }
    }
    (dwte, dwpe, dsoft)
}

#[test]
fn embedding_and_its_gradient_match_the_lab() {
    let gpu = gpu();
    let mut rng = Rng::new(14);
    let (mut fwd, mut bwd) = (Vec::new(), Vec::new());
    // batch, t, soft rows K, vocab, context, width.
    for &(batch, t, k, vocab, context, w) in &[
        (1, 1, 0, 1, 1, 1),
        (2, 5, 0, 11, 16, 16),
        (3, 7, 2, 13, 12, 5),
        (4, 33, 3, 70, 40, 67),
        (5, 130, 0, 3, 130, 9),
    ] {
        let tokens: Vec<u32> = (0..batch * t).map(|_| rng.below(vocab) as u32).collect();
        let (wte, wpe, soft) = (
            randv(vocab * w, &mut rng),
            randv(context * w, &mut rng),
            randv(k * w, &mut rng),
        );
        let at = format!("embedding b{batch} t{t} K{k} V{vocab} ctx{context} w{w}");
        let x = block_on(gpu.lm_embed(&tokens, batch, &wte, &wpe, &soft, w)).unwrap();
        fwd.push(check(
            &at,
            &x,
            &cpu_embed(&tokens, batch, &wte, &wpe, &soft, w),
            0.0,
        ));
        let dx = randv(x.len(), &mut rng);
        let (dwte, dwpe, dsoft) =
            block_on(gpu.lm_embed_backward(&dx, &tokens, batch, vocab, context, k, w)).unwrap();
        let (cwte, cwpe, csoft) = cpu_embed_backward(&dx, &tokens, batch, vocab, context, k, w);
        bwd.push(check(&format!("{at} d_wte"), &dwte, &cwte, 1e-6));
        bwd.push(check(&format!("{at} d_wpe"), &dwpe, &cwpe, 1e-6));
        bwd.push(check(&format!("{at} d_soft"), &dsoft, &csoft, 1e-6));
    }
    worst("embedding", &fwd);
    worst("embedding backward", &bwd);
}

/// The lab's weighted cross-entropy (forward.rs `softmax_loss`, backward.rs `forward_backward`):
/// (loss, each row's nll, dlogits).
fn cpu_cross_entropy(logits: &[f32], targets: &[u32], w: &[f32]) -> (f32, Vec<f32>, Vec<f32>) {
    let v = logits.len() / targets.len();
    let den: f64 = w.iter().map(|&x| x as f64).sum();
    let (mut num, mut nll, mut d) = (0.0f64, Vec::new(), logits.to_vec());
    for (s, row) in d.chunks_exact_mut(v).enumerate() {
        let y = targets[s] as usize;
        let z = row[y];
        let lse = layers::softmax(row);
        nll.push(lse - z);
        num += w[s] as f64 * (lse - z) as f64;
        row[y] -= 1.0;
        let f = (w[s] as f64 / den) as f32;
        row.iter_mut().for_each(|g| *g *= f);
    }
    ((num / den) as f32, nll, d)
}

#[test]
fn cross_entropy_matches_the_lab() {
    use glassbox_lab::lm::{Config, Inputs, Model, Targets};
    let gpu = gpu();
    let mut rng = Rng::new(15);
    let mut rels = vec![Vec::new(); 3];
    for &(n, v) in &[(1, 1), (1, 7), (5, 65), (37, 100), (64, 257), (3, 1000)] {
        let logits: Vec<f32> = randv(n * v, &mut rng).iter().map(|x| 3.0 * x).collect();
        let targets: Vec<u32> = (0..n).map(|i| ((i * 7 + 3) % v) as u32).collect();
        let w: Vec<f32> = (0..n)
            .map(|i| match i % 4 {
                1 if n > 1 => 0.0,
                2 => 0.5,
                _ => 1.0 + rng.next_f64() as f32,
            })
            .collect();
        let (loss, nll, d) = block_on(gpu.lm_cross_entropy(&logits, &targets, Some(&w))).unwrap();
        let (closs, cnll, cd) = cpu_cross_entropy(&logits, &targets, &w);
        let at = format!("cross-entropy {n}x{v}");
        rels[0].push(check(&format!("{at} loss"), &[loss], &[closs], 1e-5));
        rels[1].push(check(&format!("{at} nll"), &nll, &cnll, 1e-5));
        rels[2].push(check(&format!("{at} dlogits"), &d, &cd, 1e-5));
    }
    // The lab's own loss of a tiny model, from its logits at every position.
    let c = Config::tiny();
    let model = Model::new(c, 4).unwrap();
    let (batch, t) = (3, 9);
    let tokens: Vec<u32> = (0..batch * t).map(|i| (i * 5 % c.vocab) as u32).collect();
    let ids: Vec<u32> = (0..batch * t).map(|i| (i * 3 % c.vocab) as u32).collect();
    let w: Vec<f32> = (0..batch * t).map(|i| (i % 3) as f32 * 0.5).collect();
    let inputs = Inputs::new(&tokens, batch, t);
    let logits = model.logits(&inputs).unwrap();
    let (loss, _, _) = block_on(gpu.lm_cross_entropy(&logits, &ids, Some(&w))).unwrap();
    let want = model
        .loss_with(&inputs, &Targets::new(&ids).with_weights(&w))
        .unwrap();
    rels[0].push(check(
        "cross-entropy vs Model::loss_with",
        &[loss],
        &[want],
        1e-5,
    ));
    let (loss, _, _) = block_on(gpu.lm_cross_entropy(&logits, &ids, None)).unwrap();
    let want = model.loss(&tokens, &ids, batch, t).unwrap();
    rels[0].push(check(
        "cross-entropy vs Model::loss",
        &[loss],
        &[want],
        1e-5,
    ));
    for (name, r) in ["ce loss", "ce nll", "ce dlogits"].iter().zip(&rels) {
        worst(name, r);
    }
}

#[test]
fn the_self_test_checks_of_the_language_model_kernels_pass() {
    let gpu = gpu();
    let checks = block_on(glassbox_gpu::selftest::run(&gpu)).unwrap();
    let lm: Vec<_> = checks
        .iter()
        .filter(|c| c.name.starts_with("lm "))
        .collect();
    assert_eq!(lm.len(), 9, "{checks:?}");
    for c in &checks {
        if c.name.starts_with("lm ") {
            eprintln!(
                "selftest {}: rel {:.2e} (tolerance {:.0e})",
                c.name, c.max_rel_err, c.tolerance
            );
        }
        assert!(c.ok, "{c:?}");
    }
}

fn invalid<T: std::fmt::Debug>(what: &str, r: Result<T, GpuError>) {
    assert!(matches!(r, Err(GpuError::Invalid(_))), "{what}: {r:?}");
}

#[test]
fn bad_shapes_are_errors_not_panics() {
    let gpu = gpu();
    let x = vec![0.5f32; 12];
    let g = vec![1.0f32; 4];
    invalid("ln empty width", block_on(gpu.lm_layer_norm(&x, &[], &[])));
    invalid("ln ragged", block_on(gpu.lm_layer_norm(&x[..11], &g, &g)));
    invalid("ln shift", block_on(gpu.lm_layer_norm(&x, &g, &g[..3])));
    let (m, r) = (vec![0.0f32; 3], vec![1.0f32; 3]);
    invalid(
        "ln backward dy",
        block_on(gpu.lm_layer_norm_backward(&x[..8], &x, &g, &m, &r)),
    );
    invalid(
        "ln backward rstd",
        block_on(gpu.lm_layer_norm_backward(&x, &x, &g, &m, &r[..2])),
    );
    invalid(
        "ln backward width",
        block_on(gpu.lm_layer_norm_backward(&x, &x, &[], &m, &r)),
    );
    invalid("gelu backward", block_on(gpu.lm_gelu_backward(&x, &x[..5])));
    // Attention: 2 sequences of 3, 2 heads of 2: qkv 2 * 3 * 12.
    let qkv = vec![0.1f32; 72];
    let pk = vec![0.0f32; 8];
    invalid(
        "att heads 0",
        block_on(gpu.lm_attention(&qkv, &[], &[], 2, 3, 0, 2)),
    );
    invalid(
        "att t 0",
        block_on(gpu.lm_attention(&qkv, &[], &[], 2, 0, 2, 2)),
    );
    invalid(
        "att batch 0",
        block_on(gpu.lm_attention(&qkv, &[], &[], 0, 3, 2, 2)),
    );
    invalid(
        "att qkv",
        block_on(gpu.lm_attention(&qkv[..70], &[], &[], 2, 3, 2, 2)),
    );
    invalid(
        "att prefix ragged",
        block_on(gpu.lm_attention(&qkv, &pk[..3], &pk[..3], 2, 3, 2, 2)),
    );
    invalid(
        "att prefix mismatch",
        block_on(gpu.lm_attention(&qkv, &pk, &pk[..4], 2, 3, 2, 2)),
    );
    invalid(
        "att huge",
        block_on(gpu.lm_attention(&qkv, &[], &[], usize::MAX / 2, 3, 2, 2)),
    );
    let probs = vec![0.0f32; 2 * 2 * 3 * 5];
    let dout = vec![0.0f32; 24];
    assert!(block_on(gpu.lm_attention_backward(&qkv, &pk, &pk, &probs, &dout, 2, 3, 2, 2)).is_ok());
    invalid(
        "att backward probs",
        block_on(gpu.lm_attention_backward(&qkv, &pk, &pk, &probs[1..], &dout, 2, 3, 2, 2)),
    );
    invalid(
        "att backward dout",
        block_on(gpu.lm_attention_backward(&qkv, &pk, &pk, &probs, &dout[1..], 2, 3, 2, 2)),
    );
    // Embedding: vocab 3, context 4, width 2.
    let (wte, wpe) = (vec![0.0f32; 6], vec![0.0f32; 8]);
    invalid(
        "embed token",
        block_on(gpu.lm_embed(&[0, 3], 1, &wte, &wpe, &[], 2)),
    );
    invalid(
        "embed context",
        block_on(gpu.lm_embed(&[0, 1, 2], 1, &wte, &wpe, &[0.0; 4], 2)),
    );
    invalid(
        "embed batch 0",
        block_on(gpu.lm_embed(&[0, 1], 0, &wte, &wpe, &[], 2)),
    );
    invalid(
        "embed ragged batch",
        block_on(gpu.lm_embed(&[0, 1, 2], 2, &wte, &wpe, &[], 2)),
    );
    invalid(
        "embed no tokens",
        block_on(gpu.lm_embed(&[], 1, &wte, &wpe, &[], 2)),
    );
    invalid(
        "embed width 0",
        block_on(gpu.lm_embed(&[0], 1, &wte, &wpe, &[], 0)),
    );
    invalid(
        "embed ragged wte",
        block_on(gpu.lm_embed(&[0], 1, &wte[..5], &wpe, &[], 2)),
    );
    invalid(
        "embed backward dx",
        block_on(gpu.lm_embed_backward(&[0.0; 5], &[0, 1], 1, 3, 4, 1, 2)),
    );
    invalid(
        "embed backward token",
        block_on(gpu.lm_embed_backward(&[0.0; 4], &[0, 3], 1, 3, 4, 0, 2)),
    );
    invalid(
        "embed backward context",
        block_on(gpu.lm_embed_backward(&[0.0; 10], &[0, 1], 1, 3, 4, 3, 2)),
    );
    // Cross-entropy: 2 rows of 3.
    let z = [0.0f32; 6];
    invalid(
        "ce target",
        block_on(gpu.lm_cross_entropy(&z, &[0, 3], None)),
    );
    invalid(
        "ce ragged",
        block_on(gpu.lm_cross_entropy(&z[..5], &[0, 1], None)),
    );
    invalid("ce no rows", block_on(gpu.lm_cross_entropy(&z, &[], None)));
    invalid(
        "ce zero weights",
        block_on(gpu.lm_cross_entropy(&z, &[0, 1], Some(&[0.0, 0.0]))),
    );
    invalid(
        "ce negative weight",
        block_on(gpu.lm_cross_entropy(&z, &[0, 1], Some(&[1.0, -1.0]))),
    );
    invalid(
        "ce NaN weight",
        block_on(gpu.lm_cross_entropy(&z, &[0, 1], Some(&[1.0, f32::NAN]))),
    );
    invalid(
        "ce weights length",
        block_on(gpu.lm_cross_entropy(&z, &[0, 1], Some(&[1.0]))),
    );
}

fn mm(gpu: &Gpu, a: &[f32], b: &[f32], s: MatmulShape) -> Vec<f32> {
    block_on(gpu.matmul(a, b, s)).unwrap()
}

/// y = x W + bias for `n` rows (W is inp x out).
fn linear(gpu: &Gpu, x: &[f32], w: &[f32], bias: &[f32], n: usize, inp: usize) -> Vec<f32> {
    let out = bias.len();
    let mut y = mm(gpu, x, w, MatmulShape::new(n, inp, out));
    for row in y.chunks_exact_mut(out) {
        row.iter_mut().zip(bias).for_each(|(a, b)| *a += b);
    }
    y
}

/// The backward pass of `linear`: (dx = dy W^T, dW = x^T dy, db = column sums of dy).
fn linear_back(
    gpu: &Gpu,
    dy: &[f32],
    x: &[f32],
    w: &[f32],
    n: usize,
    inp: usize,
    out: usize,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let dx = mm(
        gpu,
        dy,
        w,
        MatmulShape {
            b_transposed: true,
            ..MatmulShape::new(n, out, inp)
        },
    );
    let dw = mm(
        gpu,
        x,
        dy,
        MatmulShape {
            a_transposed: true,
            ..MatmulShape::new(inp, n, out)
        },
    );
    let mut db = vec![0.0f32; out];
    for row in dy.chunks_exact(out) {
        db.iter_mut().zip(row).for_each(|(a, b)| *a += b);
    }
    (dx, dw, db)
}

/// What the assembled forward pass keeps per layer.
struct Saved {
    x_in: Vec<f32>,
    ln1: (Vec<f32>, Vec<f32>, Vec<f32>),
    qkv: Vec<f32>,
    probs: Vec<f32>,
    att: Vec<f32>,
    x_mid: Vec<f32>,
    ln2: (Vec<f32>, Vec<f32>, Vec<f32>),
    pre: Vec<f32>,
    act: Vec<f32>,
}

#[test]
fn a_tiny_model_assembled_from_the_kernels_matches_the_lab() {
    use glassbox_lab::lm::{Config, Inputs, Model, Targets, Wants};
    let gpu = gpu();
    let mut rng = Rng::new(16);
    let c = Config {
        vocab: 13,
        layers: 2,
        heads: 3,
        width: 15,
        mlp: 22,
        context: 12,
    };
    // Non-trivial gains and biases: GPT-2's initialisation plus noise.
    let mut params = Model::new(c, 3).unwrap().params;
    params
        .iter_mut()
        .for_each(|p| *p += 0.1 * rng.normal() as f32);
    let model = Model::from_params(c, params).unwrap();
    let (batch, t, k, p) = (3, 7, 2, 3);
    let (w, v, dh, l) = (c.width, c.vocab, c.head_dim(), k + t);
    let n = batch * l;
    let tokens: Vec<u32> = (0..batch * t).map(|i| ((i * 7 + 2) % v) as u32).collect();
    let ids: Vec<u32> = (0..batch * t).map(|i| ((i * 5 + 1) % v) as u32).collect();
    let weights: Vec<f32> = (0..batch * t)
        .map(|i| {
            if i % 5 == 3 {
                0.0
            } else {
                1.0 + (i % 3) as f32
            }
        })
        .collect();
    let soft: Vec<f32> = randv(k * w, &mut rng).iter().map(|x| 0.3 * x).collect();
    let prefix: Vec<f32> = randv(c.layers * 2 * p * w, &mut rng);
    let inputs = Inputs::new(&tokens, batch, t)
        .with_soft(&soft)
        .with_prefix(&prefix);
    let targets = Targets::new(&ids).with_weights(&weights);
    let (want_loss, grads) = model
        .forward_backward(&inputs, &targets, Wants::ALL)
        .unwrap();
    let lay = model.layout().clone();
    let prm = |off: usize, len: usize| &model.params[off..off + len];
    let pre_kv = |l: usize| {
        let s = p * w;
        (&prefix[2 * l * s..][..s], &prefix[(2 * l + 1) * s..][..s])
    };

    // Forward.
    let wte = prm(lay.wte, v * w);
    let wpe = prm(lay.wpe, c.context * w);
    let mut x = block_on(gpu.lm_embed(&tokens, batch, wte, wpe, &soft, w)).unwrap();
    let mut saved = Vec::new();
    for (li, lo) in lay.layers.iter().enumerate() {
        let x_in = x.clone();
        let ln1 = block_on(gpu.lm_layer_norm(&x, prm(lo.ln1_g, w), prm(lo.ln1_b, w))).unwrap();
        let qkv = linear(
            &gpu,
            &ln1.0,
            prm(lo.qkv_w, w * 3 * w),
            prm(lo.qkv_b, 3 * w),
            n,
            w,
        );
        let (pk, pv) = pre_kv(li);
        let (att, probs) = block_on(gpu.lm_attention(&qkv, pk, pv, batch, l, c.heads, dh)).unwrap();
        let y = linear(&gpu, &att, prm(lo.proj_w, w * w), prm(lo.proj_b, w), n, w);
        x.iter_mut().zip(&y).for_each(|(a, b)| *a += b);
        let x_mid = x.clone();
        let ln2 = block_on(gpu.lm_layer_norm(&x, prm(lo.ln2_g, w), prm(lo.ln2_b, w))).unwrap();
        let pre = linear(
            &gpu,
            &ln2.0,
            prm(lo.fc_w, w * c.mlp),
            prm(lo.fc_b, c.mlp),
            n,
            w,
        );
        let act = block_on(gpu.lm_gelu(&pre)).unwrap();
        let y = linear(
            &gpu,
            &act,
            prm(lo.out_w, c.mlp * w),
            prm(lo.out_b, w),
            n,
            c.mlp,
        );
        x.iter_mut().zip(&y).for_each(|(a, b)| *a += b);
        saved.push(Saved {
            x_in,
            ln1,
            qkv,
            probs,
            att,
            x_mid,
            ln2,
            pre,
            act,
        });
    }
    // Every token row goes through ln_f and the tied projection; weight-0 rows carry no loss.
    let rows: Vec<usize> = (0..batch)
        .flat_map(|b| (0..t).map(move |i| b * l + k + i))
        .collect();
    let sel: Vec<f32> = rows
        .iter()
        .flat_map(|&r| &x[r * w..][..w])
        .copied()
        .collect();
    let ns = rows.len();
    let (lnf_g, lnf_b) = (prm(lay.lnf_g, w), prm(lay.lnf_b, w));
    let (lnf, mf, rf) = block_on(gpu.lm_layer_norm(&sel, lnf_g, lnf_b)).unwrap();
    let logits = mm(
        &gpu,
        &lnf,
        wte,
        MatmulShape {
            b_transposed: true,
            ..MatmulShape::new(ns, w, v)
        },
    );
    let (loss, _, dlogits) = block_on(gpu.lm_cross_entropy(&logits, &ids, Some(&weights))).unwrap();
    let want_eval = model.loss_with(&inputs, &targets).unwrap();
    let loss_rel = check("assembled loss", &[loss], &[want_loss], 1e-5);
    assert_eq!(want_loss, want_eval);

    // Backward.
    let mut gw = vec![0.0f32; model.param_count()];
    let mut gp = vec![0.0f32; prefix.len()];
    let mut put = |off: usize, g: &[f32]| gw[off..off + g.len()].copy_from_slice(g);
    let dsel = mm(&gpu, &dlogits, wte, MatmulShape::new(ns, v, w));
    let dwte_proj = mm(
        &gpu,
        &dlogits,
        &lnf,
        MatmulShape {
            a_transposed: true,
            ..MatmulShape::new(v, ns, w)
        },
    );
    let (dsel_in, dgf, dbf) =
        block_on(gpu.lm_layer_norm_backward(&dsel, &sel, lnf_g, &mf, &rf)).unwrap();
    put(lay.lnf_g, &dgf);
    put(lay.lnf_b, &dbf);
    let mut dx = vec![0.0f32; n * w];
    for (s, &r) in rows.iter().enumerate() {
        dx[r * w..][..w].copy_from_slice(&dsel_in[s * w..][..w]);
    }
    for (li, lo) in lay.layers.iter().enumerate().rev() {
        let sv = &saved[li];
        let (d_act, dw, db) =
            linear_back(&gpu, &dx, &sv.act, prm(lo.out_w, c.mlp * w), n, c.mlp, w);
        put(lo.out_w, &dw);
        put(lo.out_b, &db);
        let d_pre = block_on(gpu.lm_gelu_backward(&sv.pre, &d_act)).unwrap();
        let (d_ln2, dw, db) = linear_back(
            &gpu,
            &d_pre,
            &sv.ln2.0,
            prm(lo.fc_w, w * c.mlp),
            n,
            w,
            c.mlp,
        );
        put(lo.fc_w, &dw);
        put(lo.fc_b, &db);
        let (ddx, dg, db) = block_on(gpu.lm_layer_norm_backward(
            &d_ln2,
            &sv.x_mid,
            prm(lo.ln2_g, w),
            &sv.ln2.1,
            &sv.ln2.2,
        ))
        .unwrap();
        put(lo.ln2_g, &dg);
        put(lo.ln2_b, &db);
        dx.iter_mut().zip(&ddx).for_each(|(a, b)| *a += b);
        let (d_att, dw, db) = linear_back(&gpu, &dx, &sv.att, prm(lo.proj_w, w * w), n, w, w);
        put(lo.proj_w, &dw);
        put(lo.proj_b, &db);
        let (pk, pv) = pre_kv(li);
        let (dqkv, dpk, dpv) = block_on(
            gpu.lm_attention_backward(&sv.qkv, pk, pv, &sv.probs, &d_att, batch, l, c.heads, dh),
        )
        .unwrap();
        let s = p * w;
        gp[2 * li * s..][..s].copy_from_slice(&dpk);
        gp[(2 * li + 1) * s..][..s].copy_from_slice(&dpv);
        let (d_ln1, dw, db) = linear_back(
            &gpu,
            &dqkv,
            &sv.ln1.0,
            prm(lo.qkv_w, w * 3 * w),
            n,
            w,
            3 * w,
        );
        put(lo.qkv_w, &dw);
        put(lo.qkv_b, &db);
        let (ddx, dg, db) = block_on(gpu.lm_layer_norm_backward(
            &d_ln1,
            &sv.x_in,
            prm(lo.ln1_g, w),
            &sv.ln1.1,
            &sv.ln1.2,
        ))
        .unwrap();
        put(lo.ln1_g, &dg);
        put(lo.ln1_b, &db);
        dx.iter_mut().zip(&ddx).for_each(|(a, b)| *a += b);
    }
    let (dwte, dwpe, dsoft) =
        block_on(gpu.lm_embed_backward(&dx, &tokens, batch, v, c.context, k, w)).unwrap();
    let dwte: Vec<f32> = dwte.iter().zip(&dwte_proj).map(|(a, b)| a + b).collect();
    put(lay.wte, &dwte);
    put(lay.wpe, &dwpe);
    let rels = [
        loss_rel,
        check(
            "assembled weight gradients",
            &gw,
            grads.weights.as_ref().unwrap(),
            1e-4,
        ),
        check(
            "assembled soft-prompt gradient",
            &dsoft,
            grads.soft.as_ref().unwrap(),
            1e-4,
        ),
        check(
            "assembled prefix gradient",
            &gp,
            grads.prefix.as_ref().unwrap(),
            1e-4,
        ),
    ];
    worst("assembled model", &rels);
}
