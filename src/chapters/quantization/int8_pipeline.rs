//! The integer-only pipeline of (e), measured in the page: batch-norm folded and checked, the
//! activation ranges calibrated, then the fp32 network, the int8 network image by image, and the
//! float network without its ReLUs; the long steps in slices, so the page never freezes.

use crate::engine::Engine;
use crate::tasks::{run_in_slices, Slice};
use crate::vision::data::{accuracy_of, classify, Loaded};
use crate::web;
use glassbox_lab::compress::int8::{self, Calibration, Int8Network};
use glassbox_lab::vision::network::Network;
use std::rc::Rc;

/// What the integer pipeline did and measured.
#[derive(Clone, Debug, PartialEq)]
pub struct Int8Report {
    pub fold_max_error: f64,
    pub fold_images: usize,
    pub net: Int8Network,
    pub fp32: f64,
    pub int8: f64,
    pub images: usize,
    pub relu_checked: usize,
    pub relu_same: usize,
    pub fp32_no_relu: f64,
    pub ran_fp32: &'static str,
    pub int8_images_per_s: f64,
}

/// Build the int8 network from `l`'s trained one and measure it on `count` test images, telling
/// `say` how far it got. None once `alive` turns false; an error if the network cannot be built.
pub async fn build_and_run(
    l: Rc<Loaded>,
    engine: Engine,
    count: usize,
    calib_n: usize,
    seed: u64,
    say: &dyn Fn(f64, &str),
    alive: &dyn Fn() -> bool,
) -> Option<Result<Int8Report, String>> {
    let net = l.pretrained.clone();
    let folded = int8::fold_batchnorm(&net);
    // 1. Folding leaves the outputs unchanged (100 test images).
    say(
        0.0,
        "Folding batch-norm into the convolutions and checking it…",
    );
    let fold_images = 100;
    let fold_err = fold_error(&l, &net, &folded, fold_images, alive).await;
    // 2. Calibrate on training images, a few at a time.
    let c = calibrate(&l, &net, &folded, calib_n, seed, say, alive).await;
    if !alive() {
        return None;
    }
    let mut q = match Int8Network::from_calibration(&net, &folded, &c) {
        Ok(q) => q,
        Err(e) => return Some(Err(e)),
    };
    // 3. fp32 accuracy (WebGPU or CPU).
    say(0.2, "Evaluating the fp32 network…");
    let (p, _, ran_fp32) = classify(
        &l.data,
        net.clone(),
        count,
        engine,
        &|f| say(0.2 + 0.2 * f, "Evaluating the fp32 network…"),
        alive,
    )
    .await?;
    let fp32 = accuracy_of(&l.data.test, &p);
    // 4. The integer network, image by image; and with an explicit ReLU on the first 200.
    let relu_checked = 200.min(count);
    let (preds, same, busy) = integer_inference(&l, &mut q, count, relu_checked, say, alive).await;
    if preds.len() < count {
        return None;
    }
    let int8_acc = accuracy_of(&l.data.test, &preds);
    // 5. The float network without its ReLUs, for contrast.
    let no_relu = float_without_relu(&l, &net, &folded, count, say, alive).await;
    if no_relu.len() < count {
        return None;
    }
    Some(Ok(Int8Report {
        fold_max_error: fold_err,
        fold_images,
        net: q,
        fp32,
        int8: int8_acc,
        images: count,
        relu_checked,
        relu_same: same,
        fp32_no_relu: accuracy_of(&l.data.test, &no_relu),
        ran_fp32,
        int8_images_per_s: count as f64 / (busy / 1000.0).max(1e-9),
    }))
}

/// The largest difference between the logits of `net` and of its batch-norm-folded form on the
/// first `fold_images` test images.
async fn fold_error(
    l: &Loaded,
    net: &Network,
    folded: &[(Vec<f32>, Vec<f32>)],
    fold_images: usize,
    alive: &dyn Fn() -> bool,
) -> f64 {
    let mut fold_err = 0.0f64;
    let mut at = 0usize;
    let mut eval_net = net.clone();
    run_in_slices(
        &mut |deadline| {
            while at < fold_images && web::now_ms() < deadline {
                // One image (two forward passes) per unit: ten made a 45 ms unit on a slow machine,
                // and two 25-30 ms units that stretched slices to 57-64 ms in 2026-12-04's profile.
                let idx: Vec<usize> = (at..(at + 1).min(fold_images)).collect();
                let (x, _) = glassbox_lab::vision::train::batch(&l.data.test, &idx, None);
                let a = eval_net.forward(&x, idx.len(), false);
                let (b, _) = int8::folded_forward(net, folded, &x, idx.len(), true);
                for (p, q) in a.iter().zip(&b) {
                    fold_err = fold_err.max((p - q).abs() as f64);
                }
                at += idx.len();
            }
            if at >= fold_images {
                Slice::Idle
            } else {
                Slice::Continue
            }
        },
        alive,
    )
    .await;
    fold_err
}

/// The activation ranges of `net`, measured on `calib_n` training images drawn with `seed`.
async fn calibrate(
    l: &Loaded,
    net: &Network,
    folded: &[(Vec<f32>, Vec<f32>)],
    calib_n: usize,
    seed: u64,
    say: &dyn Fn(f64, &str),
    alive: &dyn Fn() -> bool,
) -> Calibration {
    let calib = int8::calibration_batch(&l.data.train, calib_n, seed);
    let px = glassbox_lab::vision::data::PADDED * glassbox_lab::vision::data::PADDED;
    let n_calib = calib.len() / px;
    let mut c = Calibration::default();
    let mut done = 0usize;
    run_in_slices(
        &mut |deadline| {
            while done < n_calib && web::now_ms() < deadline {
                // Two images per unit (four made units that stretched slices past 50 ms).
                let k = 2.min(n_calib - done);
                c.add(net, folded, &calib[done * px..(done + k) * px], k);
                done += k;
            }
            say(
                0.05 + 0.15 * done as f64 / n_calib as f64,
                &format!("Calibrating activation ranges: {done} of {n_calib} training images…"),
            );
            if done >= n_calib {
                Slice::Idle
            } else {
                Slice::Continue
            }
        },
        alive,
    )
    .await;
    c
}

/// The int8 network's predictions on the first `count` test images (fewer if stopped), how many
/// of the first `relu_checked` give the same logits with an explicit ReLU, and the milliseconds
/// spent computing.
async fn integer_inference(
    l: &Loaded,
    q: &mut Int8Network,
    count: usize,
    relu_checked: usize,
    say: &dyn Fn(f64, &str),
    alive: &dyn Fn() -> bool,
) -> (Vec<u32>, usize, f64) {
    let px = glassbox_lab::vision::data::PADDED * glassbox_lab::vision::data::PADDED;
    let mut preds = Vec::with_capacity(count);
    let mut same = 0usize;
    let mut x = vec![0.0f32; px];
    let mut busy = 0.0f64;
    // An image whose forward pass with an explicit ReLU is still to run (a unit of its own).
    let mut check: Option<(Vec<i8>, Vec<i32>)> = None;
    run_in_slices(
        &mut |deadline| {
            let t0 = web::now_ms();
            while preds.len() < count && web::now_ms() < deadline {
                if let Some((qx, acc)) = check.take() {
                    q.explicit_relu = true;
                    same += (q.forward(&qx) == acc) as usize;
                    q.explicit_relu = false;
                    preds.push(int8::argmax(&acc));
                    continue;
                }
                let i = preds.len();
                glassbox_lab::vision::data::padded_image(&l.data.test, i, &mut x);
                let qx = q.quantize_input(&x);
                let acc = q.forward(&qx);
                if i < relu_checked {
                    check = Some((qx, acc));
                } else {
                    preds.push(int8::argmax(&acc));
                }
            }
            busy += web::now_ms() - t0;
            say(
                0.4 + 0.45 * preds.len() as f64 / count as f64,
                &format!(
                    "Integer-only inference: {} of {count} test images…",
                    preds.len()
                ),
            );
            if preds.len() >= count {
                Slice::Idle
            } else {
                Slice::Continue
            }
        },
        alive,
    )
    .await;
    (preds, same, busy)
}

/// The folded float network's predictions without its ReLUs on the first `count` test images
/// (fewer if stopped).
async fn float_without_relu(
    l: &Loaded,
    net: &Network,
    folded: &[(Vec<f32>, Vec<f32>)],
    count: usize,
    say: &dyn Fn(f64, &str),
    alive: &dyn Fn() -> bool,
) -> Vec<u32> {
    let mut no_relu = Vec::with_capacity(count);
    run_in_slices(
        &mut |deadline| {
            while no_relu.len() < count && web::now_ms() < deadline {
                // Two images per unit (each image is convolved alone, so the batch changes nothing).
                let idx: Vec<usize> = (no_relu.len()..(no_relu.len() + 2).min(count)).collect();
                let (x, _) = glassbox_lab::vision::train::batch(&l.data.test, &idx, None);
                let (logits, _) = int8::folded_forward(net, folded, &x, idx.len(), false);
                no_relu.extend(logits.chunks(net.classes()).map(int8::argmax));
            }
            say(
                0.85 + 0.15 * no_relu.len() as f64 / count as f64,
                "The float network without its ReLUs…",
            );
            if no_relu.len() >= count {
                Slice::Idle
            } else {
                Slice::Continue
            }
        },
        alive,
    )
    .await;
    no_relu
}
