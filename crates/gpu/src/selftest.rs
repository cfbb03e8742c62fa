//! Every kernel on the GPU against its CPU reference on random data of awkward shapes. Shared by
//! `glassbox gpu selftest` and the "Under the hood" appendix.

use crate::{Gpu, GpuError, MatmulShape};
use glassbox_lab::attention::{attention, AttentionShape};
use glassbox_lab::kernels::{matmul_naive, max_errors};
use glassbox_lab::lm;
use glassbox_lab::rng::Rng;
use glassbox_lab::shift::suffix::{self, Adam};
use glassbox_lab::shift::{Tensor, Tune};
use glassbox_lab::vision::network::{Grads, Network};
use glassbox_lab::vision::nn::{self, ConvShape};
use glassbox_lab::vision::vgg::{Arch, Stage};
use glassbox_lab::{compress::kmeans, kernels};

/// One kernel's parity: the largest error relative to the largest reference entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Parity {
    pub name: String,
    pub max_abs_err: f64,
    pub max_rel_err: f64,
    pub tolerance: f64,
    pub ok: bool,
}

fn parity(name: &str, got: &[f32], want: &[f64], tolerance: f64) -> Parity {
    let (max_abs_err, max_rel_err) = max_errors(got, want);
    let ok = got.len() == want.len() && max_rel_err <= tolerance;
    Parity {
        name: name.into(),
        max_abs_err,
        max_rel_err,
        tolerance,
        ok,
    }
}

fn widen(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| x as f64).collect()
}

fn as_f32(a: &[u32]) -> Vec<f32> {
    a.iter().map(|&i| i as f32).collect()
}

fn random(n: usize, rng: &mut Rng) -> Vec<f32> {
    (0..n).map(|_| rng.normal() as f32).collect()
}

/// Run every kernel once and compare; an error from the GPU itself (a lost device) is returned.
pub async fn run(gpu: &Gpu) -> Result<Vec<Parity>, GpuError> {
    let mut rng = Rng::new(17);
    let mut out = Vec::new();
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
            "matmul few rows B^T 3x129x70",
            MatmulShape {
                b_transposed: true,
                ..MatmulShape::new(3, 129, 70)
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
        out.push(parity(
            name,
            &gpu.matmul(&a, &b, s).await?,
            &matmul_naive(&a, &b, s),
            1e-5,
        ));
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
    out.push(parity(
        "conv2d 3x5x17x13 -> 7",
        &gpu.conv2d(&x, &w, cs).await?,
        &widen(&nn::conv2d_forward(&x, &w, cs)),
        1e-5,
    ));
    out.push(parity(
        "conv2d input gradient",
        &gpu.conv2d_backward_input(&dy, &w, cs).await?,
        &widen(&nn::conv2d_backward_input(&dy, &w, cs)),
        1e-5,
    ));
    out.push(parity(
        "conv2d weight gradient",
        &gpu.conv2d_backward_weight(&x, &dy, cs).await?,
        &widen(&nn::conv2d_backward_weight(&x, &dy, cs)),
        1e-5,
    ));
    let e = random(10_007, &mut rng);
    let g = random(e.len(), &mut rng);
    out.push(parity(
        "relu",
        &gpu.relu(&e).await?,
        &widen(&nn::relu(&e)),
        0.0,
    ));
    out.push(parity(
        "relu backward",
        &gpu.relu_backward(&e, &g).await?,
        &widen(&nn::relu_backward(&e, &g)),
        0.0,
    ));
    let plane = &e[..7 * 30 * 34];
    let (pooled, arg) = gpu.maxpool2x2(plane, 7, 30, 34).await?;
    let (cpooled, carg) = nn::maxpool2x2(plane, 7, 30, 34);
    out.push(parity(
        "maxpool 2x2",
        &[pooled, as_f32(&arg)].concat(),
        &widen(&[cpooled, as_f32(&carg)].concat()),
        0.0,
    ));
    let gy = &g[..carg.len()];
    out.push(parity(
        "maxpool backward",
        &gpu.maxpool2x2_backward(gy, &carg, 7, 30, 34).await?,
        &widen(&nn::maxpool2x2_backward(gy, &carg, plane.len())),
        0.0,
    ));
    let bx = &e[..9 * 5 * 111];
    let (mean, var) = gpu.batchnorm_stats(bx, 9, 5, 111).await?;
    let (cmean, cvar) = nn::batchnorm_stats(bx, 9, 5, 111);
    out.push(parity(
        "batchnorm statistics",
        &[mean, var].concat(),
        &widen(&[cmean, cvar].concat()),
        1e-5,
    ));
    let labels: Vec<u32> = (0..257).map(|i| (i * 7 % 10) as u32).collect();
    let (loss, grad) = gpu.softmax_cross_entropy(&e[..2570], &labels, 10).await?;
    let (closs, cgrad) = nn::softmax_cross_entropy(&e[..2570], &labels, 10);
    out.push(parity(
        "softmax cross-entropy",
        &[vec![loss], grad].concat(),
        &widen(&[vec![closs], cgrad].concat()),
        1e-5,
    ));
    let v0 = random(e.len(), &mut rng);
    let (nw, nv) = gpu.sgd_momentum(&e, &g, &v0, 0.05, 0.9, 5e-4).await?;
    let (mut cw, mut cv) = (e.clone(), v0.clone());
    nn::sgd_momentum(&mut cw, &g, &mut cv, 0.05, 0.9, 5e-4);
    out.push(parity(
        "sgd with momentum",
        &[nw, nv].concat(),
        &widen(&[cw, cv].concat()),
        1e-6,
    ));
    // Batch-norm backward with fixed statistics: 4 images of 6 channels of 111 positions, y of
    // either sign so the ReLU mask matters.
    let (bn, bc, bhw) = (4, 6, 111);
    let blen = bn * bc * bhw;
    let (da, y, xh) = (&e[..blen], &g[..blen], &v0[..blen]);
    let gamma = random(bc, &mut rng);
    let bvar: Vec<f32> = random(bc, &mut rng).iter().map(|r| 0.5 + r * r).collect();
    let (dz, dgamma, dbeta) = gpu
        .relu_batchnorm_backward_eval(da, y, xh, &gamma, &bvar, bn, bc, bhw)
        .await?;
    let (cdz, cdgamma, cdbeta) =
        nn::relu_batchnorm_backward_eval(da, y, xh, &gamma, &bvar, bn, bc, bhw);
    out.push(parity(
        "batchnorm backward (eval)",
        &[dz, dgamma, dbeta].concat(),
        &widen(&[cdz, cdgamma, cdbeta].concat()),
        1e-5,
    ));
    // Two Adam steps on a network's linear layer (two tensors, two multipliers), feeding the
    // moments back, against the lab's optimiser.
    let mut anet = Network::new(&Arch::lab(), 0);
    let tensors = [Tensor::FcWeight, Tensor::FcBias];
    let (lr, multipliers, wd) = (1e-3, [1.0, 0.5], 1e-4);
    let mut gpu_state: Vec<_> = tensors
        .iter()
        .map(|t| {
            let w = t.get(&anet).to_vec();
            let z = vec![0.0; w.len()];
            (w, z.clone(), z)
        })
        .collect();
    let mut adam = Adam::default();
    for step in 1..=2 {
        let grads: Vec<Vec<f32>> = gpu_state
            .iter()
            .map(|(w, _, _)| random(w.len(), &mut rng))
            .collect();
        for (k, state) in gpu_state.iter_mut().enumerate() {
            let (w, m, v) = &*state;
            let c = multipliers[k] as f32;
            *state = gpu
                .adam(w, &grads[k], m, v, lr as f32, c, wd as f32, step)
                .await?;
        }
        adam.step(&mut anet, &tensors, &grads, lr, &multipliers, wd);
    }
    out.push(parity(
        "adam (2 steps)",
        &gpu_state
            .iter()
            .flat_map(|(w, _, _)| w.iter().copied())
            .collect::<Vec<_>>(),
        &tensors
            .iter()
            .flat_map(|t| widen(t.get(&anet)))
            .collect::<Vec<_>>(),
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
    let (aw, ao) = gpu.attention(&q, &k, &v, &masked, s).await?;
    let (caw, cao) = attention(&q, &k, &v, &masked, s);
    out.push(parity(
        "masked attention",
        &[aw, ao].concat(),
        &widen(&[caw, cao].concat()),
        1e-5,
    ));
    let centroids: Vec<f32> = (0..16).map(|i| -2.0 + i as f32 * 0.25).collect();
    let assign = gpu.kmeans_assign(&e, &centroids).await?;
    let cassign = kmeans::assign(&e, &centroids);
    out.push(parity(
        "k-means assignment",
        &as_f32(&assign),
        &widen(&as_f32(&cassign)),
        0.0,
    ));
    out.push(parity(
        "k-means update",
        &gpu.kmeans_update(&e, &cassign, &centroids).await?,
        &widen(&kmeans::update(&e, &cassign, &centroids)),
        1e-5,
    ));
    let gm = random(63 * 257, &mut rng);
    let gs = MatmulShape {
        b_transposed: true,
        ..MatmulShape::new(63, 257, 63)
    };
    out.push(parity(
        "gram 63x257",
        &gpu.gram(&gm, 63, 257).await?,
        &kernels::matmul_naive(&gm, &gm, gs),
        1e-5,
    ));
    // The whole network resident on the device: evaluation logits, then a training step's loss and
    // gradients (the batch-norm, head and input-gradient kernels), against the CPU network.
    let arch = Arch {
        name: "selftest",
        in_channels: 2,
        size: 12,
        stages: vec![
            Stage::Conv(3),
            Stage::Pool,
            Stage::Conv(5),
            Stage::Conv(6),
            Stage::Pool,
        ],
        classes: 4,
    };
    let mut cpu = Network::new(&arch, 5);
    let n = 3;
    let x = random(n * 2 * 144, &mut rng);
    let labels = [0u32, 3, 1];
    let resident = gpu.upload(&cpu)?;
    out.push(parity(
        "network forward (eval)",
        &resident.logits(gpu, &x, n).await?,
        &widen(&cpu.forward(&x, n, false)),
        1e-4,
    ));
    let (loss, grads) = resident.loss_and_grads(gpu, &x, &labels).await?;
    let (closs, cgrads) = cpu.loss_and_grads(&x, &labels, n);
    let flat = |l: f32, g: &Grads| {
        let mut v = vec![l];
        for (w, ga, b) in &g.blocks {
            v.extend(w.iter().chain(ga).chain(b));
        }
        v.extend(g.fc_weight.iter().chain(&g.fc_bias));
        v
    };
    out.push(parity(
        "network loss and gradients",
        &flat(loss, &grads),
        &widen(&flat(closs, &cgrads)),
        1e-3,
    ));
    // The network from its second convolution on, in evaluation mode (surgical fine-tuning): the
    // activations entering it, the logits from them, and a chunk's loss and the gradients of every
    // tensor from there on (dL/dz scaled by the chunk's share of a batch of 2n).
    let resident = gpu.upload(&cpu)?;
    let from = 1;
    out.push(parity(
        "network prefix (eval)",
        &resident.prefix(gpu, from, &x, n).await?,
        &widen(&suffix::prefix(&mut cpu, from, &x, n)),
        1e-4,
    ));
    let act = suffix::prefix(&mut cpu, from, &x, n);
    out.push(parity(
        "network logits from a convolution (eval)",
        &resident.logits_from(gpu, from, &act, n).await?,
        &widen(&suffix::logits_from(&mut cpu, from, &act, n)),
        1e-4,
    ));
    let tensors: Vec<Tensor> = Tune::All
        .tensors(&cpu)
        .into_iter()
        .filter(|t| t.conv().is_none_or(|i| i >= from))
        .collect();
    let (loss, grads) = resident
        .suffix_grads(gpu, from, &tensors, &act, &labels, 2 * n)
        .await?;
    let mut cgrads = vec![Vec::new(); tensors.len()];
    let closs =
        suffix::accumulate_grads(&mut cpu, from, &tensors, &act, &labels, 2 * n, &mut cgrads);
    out.push(parity(
        "network suffix loss and gradients (eval)",
        &[vec![loss as f32], grads.concat()].concat(),
        &widen(&[vec![closs as f32], cgrads.concat()].concat()),
        1e-3,
    ));
    lm_checks(gpu, &mut rng, &mut out).await?;
    Ok(out)
}

/// The language model's kernels (`Gpu::lm_*`) against the lab's layer norm, GELU and attention
/// (`glassbox_lab::lm::{layers, attention}`), and the embedding and weighted cross-entropy of the
/// lab's forward and backward passes, restated here in the lab's order.
async fn lm_checks(gpu: &Gpu, rng: &mut Rng, out: &mut Vec<Parity>) -> Result<(), GpuError> {
    // Layer norm over 13 rows of 37 (offset rows), and its backward pass from the lab's statistics.
    let (n, d) = (13, 37);
    let x: Vec<f32> = random(n * d, rng)
        .iter()
        .enumerate()
        .map(|(i, v)| v + (i / d) as f32 * 0.3 - 1.0)
        .collect();
    let (g, b, dy) = (random(d, rng), random(d, rng), random(n * d, rng));
    let (y, mean, rstd) = gpu.lm_layer_norm(&x, &g, &b).await?;
    let (mut cy, mut xhat, mut crstd) = (vec![0.0; n * d], vec![0.0; n * d], vec![0.0; n]);
    lm::layers::layer_norm(&x, &g, &b, &mut cy, &mut xhat, &mut crstd);
    let cmean: Vec<f32> = x
        .chunks_exact(d)
        .map(|r| r.iter().sum::<f32>() / d as f32)
        .collect();
    out.push(parity(
        "lm layer norm 13x37",
        &[y, mean, rstd].concat(),
        &widen(&[cy, cmean.clone(), crstd.clone()].concat()),
        1e-5,
    ));
    let (dx, dg, db) = gpu
        .lm_layer_norm_backward(&dy, &x, &g, &cmean, &crstd)
        .await?;
    let (mut cdx, mut cdg, mut cdb) = (vec![0.0; n * d], vec![0.0; d], vec![0.0; d]);
    lm::layers::layer_norm_back(&dy, &xhat, &crstd, &g, &mut cdx, Some((&mut cdg, &mut cdb)));
    out.push(parity(
        "lm layer norm backward",
        &[dx, dg, db].concat(),
        &widen(&[cdx, cdg, cdb].concat()),
        1e-4,
    ));
    // GELU on 1001 values.
    let x: Vec<f32> = random(1001, rng).iter().map(|v| 3.0 * v).collect();
    let dy = random(x.len(), rng);
    let cy: Vec<f32> = x.iter().map(|&v| lm::layers::gelu(v)).collect();
    out.push(parity(
        "lm gelu",
        &gpu.lm_gelu(&x).await?,
        &widen(&cy),
        1e-5,
    ));
    let cdx: Vec<f32> = x
        .iter()
        .zip(&dy)
        .map(|(&v, &g)| g * lm::layers::gelu_grad(v))
        .collect();
    out.push(parity(
        "lm gelu backward",
        &gpu.lm_gelu_backward(&x, &dy).await?,
        &widen(&cdx),
        1e-5,
    ));
    // Causal attention: 2 sequences of 9, 2 heads of 5, 3 prefix keys and values.
    let (batch, t, heads, dh, p) = (2, 9, 2, 5, 3);
    let w = heads * dh;
    let qkv = random(batch * t * 3 * w, rng);
    let (pk, pv, dout) = (
        random(p * w, rng),
        random(p * w, rng),
        random(batch * t * w, rng),
    );
    let (att, probs) = gpu
        .lm_attention(&qkv, &pk, &pv, batch, t, heads, dh)
        .await?;
    let r = lm_attention_reference((batch, t, heads, dh, p), &qkv, &pk, &pv, &dout);
    out.push(parity(
        "lm causal attention 2x9, 2 heads, prefix 3",
        &[att, probs].concat(),
        &widen(&[r.out, r.probs.clone()].concat()),
        1e-5,
    ));
    let (dqkv, dpk, dpv) = gpu
        .lm_attention_backward(&qkv, &pk, &pv, &r.probs, &dout, batch, t, heads, dh)
        .await?;
    out.push(parity(
        "lm causal attention backward",
        &[dqkv, dpk, dpv].concat(),
        &widen(&[r.dqkv, r.dpk, r.dpv].concat()),
        1e-4,
    ));
    // Embedding: 3 sequences of 5 tokens after 2 soft vectors, vocabulary 7, context 9, width 6.
    let (batch, t, k, vocab, context, w) = (3, 5, 2, 7, 9, 6);
    let l = k + t;
    let tokens: Vec<u32> = (0..batch * t).map(|_| rng.below(vocab) as u32).collect();
    let (wte, wpe, soft) = (
        random(vocab * w, rng),
        random(context * w, rng),
        random(k * w, rng),
    );
    let mut cx = vec![0.0f32; batch * l * w];
    for (row, xr) in cx.chunks_exact_mut(w).enumerate() {
        let (b, j) = (row / l, row % l);
        let src = match j.checked_sub(k) {
            None => &soft[j * w..][..w],
            Some(i) => &wte[tokens[b * t + i] as usize * w..][..w],
        };
        for c in 0..w {
            xr[c] = src[c] + wpe[j * w + c];
        }
    }
    out.push(parity(
        "lm embedding (soft prompt + tokens + positions)",
        &gpu.lm_embed(&tokens, batch, &wte, &wpe, &soft, w).await?,
        &widen(&cx),
        0.0,
    ));
    let dx = random(cx.len(), rng);
    let (dwte, dwpe, dsoft) = gpu
        .lm_embed_backward(&dx, &tokens, batch, vocab, context, k, w)
        .await?;
    let (mut cwte, mut cwpe, mut csoft) = (
        vec![0.0f32; vocab * w],
        vec![0.0f32; context * w],
        vec![0.0f32; k * w],
    );
    for (row, g) in dx.chunks_exact(w).enumerate() {
        let (b, j) = (row / l, row % l);
        let add = |dst: &mut [f32]| dst.iter_mut().zip(g).for_each(|(a, x)| *a += x);
        add(&mut cwpe[j * w..][..w]);
        match j.checked_sub(k) {
            None => add(&mut csoft[j * w..][..w]),
            Some(i) => add(&mut cwte[tokens[b * t + i] as usize * w..][..w]),
        }
    }
    out.push(parity(
        "lm embedding gradient",
        &[dwte, dwpe, dsoft].concat(),
        &widen(&[cwte, cwpe, csoft].concat()),
        1e-6,
    ));
    // Weighted cross-entropy over 11 rows of 29 logits, some weights 0.
    let (n, v) = (11, 29);
    let logits: Vec<f32> = random(n * v, rng).iter().map(|z| 2.0 * z).collect();
    let targets: Vec<u32> = (0..n).map(|_| rng.below(v) as u32).collect();
    let weights: Vec<f32> = (0..n).map(|i| (i % 3) as f32 * 0.75).collect();
    let (loss, nll, dz) = gpu
        .lm_cross_entropy(&logits, &targets, Some(&weights))
        .await?;
    let den: f64 = weights.iter().map(|&x| x as f64).sum();
    let (mut num, mut cnll, mut cdz) = (0.0f64, Vec::new(), logits.clone());
    for (s, row) in cdz.chunks_exact_mut(v).enumerate() {
        let y = targets[s] as usize;
        let z = row[y];
        let lse = lm::layers::softmax(row);
        cnll.push(lse - z);
        num += weights[s] as f64 * (lse - z) as f64;
        row[y] -= 1.0;
        let f = (weights[s] as f64 / den) as f32;
        row.iter_mut().for_each(|g| *g *= f);
    }
    out.push(parity(
        "lm weighted cross-entropy",
        &[vec![loss], nll, dz].concat(),
        &widen(&[vec![(num / den) as f32], cnll, cdz].concat()),
        1e-5,
    ));
    Ok(())
}

/// The lab's attention of a batch, forward and backward.
struct LmAttention {
    out: Vec<f32>,
    probs: Vec<f32>,
    dqkv: Vec<f32>,
    dpk: Vec<f32>,
    dpv: Vec<f32>,
}

/// The lab's attention over a batch laid out as the language model's (qkv rows of 3 width, a
/// prefix shared by the batch), forward and backward, as its layers assemble it.
fn lm_attention_reference(
    (batch, t, heads, dh, p): (usize, usize, usize, usize, usize),
    qkv: &[f32],
    pk: &[f32],
    pv: &[f32],
    dout: &[f32],
) -> LmAttention {
    let (w, m) = (heads * dh, p + t);
    let s = lm::attention::Shape {
        n: t,
        m,
        heads,
        d: dh,
        q_stride: 3 * w,
    };
    let pl = s.probs_len();
    let (mut att, mut probs) = (vec![0.0; batch * t * w], vec![0.0; batch * pl]);
    let mut dqkv = vec![0.0; qkv.len()];
    let (mut dpk, mut dpv) = (vec![0.0; p * w], vec![0.0; p * w]);
    for b in 0..batch {
        let q = &qkv[b * t * 3 * w..][..t * 3 * w];
        let (mut k, mut v) = (pk.to_vec(), pv.to_vec());
        for row in q.chunks_exact(3 * w) {
            k.extend_from_slice(&row[w..2 * w]);
            v.extend_from_slice(&row[2 * w..]);
        }
        let pb = &mut probs[b * pl..][..pl];
        lm::attention::forward(s, q, &k, &v, pb, &mut att[b * t * w..][..t * w]);
        let (mut dk, mut dv) = (vec![0.0; m * w], vec![0.0; m * w]);
        let dq = &mut dqkv[b * t * 3 * w..][..t * 3 * w];
        let go = &dout[b * t * w..][..t * w];
        lm::attention::backward(s, q, &k, &v, pb, go, dq, &mut dk, &mut dv);
        dpk.iter_mut().zip(&dk[..p * w]).for_each(|(a, g)| *a += g);
        dpv.iter_mut().zip(&dv[..p * w]).for_each(|(a, g)| *a += g);
        for (j, row) in dq.chunks_exact_mut(3 * w).enumerate() {
            row[w..2 * w].copy_from_slice(&dk[(p + j) * w..][..w]);
            row[2 * w..].copy_from_slice(&dv[(p + j) * w..][..w]);
        }
    }
    LmAttention {
        out: att,
        probs,
        dqkv,
        dpk,
        dpv,
    }
}
