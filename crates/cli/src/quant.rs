//! `glassbox quant ...`: linear quantization's parameters, k-means quantization with
//! quantization-aware training, and integer-only (int8) inference (chapter 7).

use crate::{accuracy, committed_network, load_asset, Flags};
use glassbox_lab::compress::int8::{self, Int8Network};
use serde_json::json;

/// Scale and zero point of linear quantization.
pub fn linear_params(args: &[String]) -> Result<serde_json::Value, String> {
    let f = Flags::parse(args, &["rmin", "rmax", "bits"])?;
    let need = |k: &str| -> Result<f64, String> {
        let v: f64 = f.get(k, f64::NAN)?;
        if v.is_nan() {
            return Err(format!("--{k} is required"));
        }
        Ok(v)
    };
    let p = glassbox_lab::compress::quant::linear_params(
        need("rmin")?,
        need("rmax")?,
        f.get("bits", 8u32)?,
    )?;
    serde_json::to_value(p).map_err(|e| e.to_string())
}

/// k-means quantization of every conv and linear weight tensor, then quantization-aware training.
pub fn kmeans(args: &[String]) -> Result<serde_json::Value, String> {
    use glassbox_lab::{
        compress::{prune, quant},
        vision::train,
    };
    let f = Flags::parse(args, &["bits", "qat-epochs", "images", "lr", "seed"])?;
    let bits: u32 = f.get("bits", 0u32)?;
    let images = f.get("images", 10_000usize)?.max(1);
    let epochs = f.get("qat-epochs", 0usize)?;
    let asset = load_asset()?;
    let mut net = committed_network()?;
    let fp32 = accuracy(&net, &asset.test, images);
    let mut q = quant::KMeansQuantizer::quantize(&mut net, bits, f.get("seed", 0u64)?)?;
    let before = accuracy(&net, &asset.test, images);
    let losses = train::finetune(
        &mut net,
        &asset.train,
        epochs,
        f.get("lr", 0.01f32)?,
        f.get("seed", 0u64)?,
        |n| q.update_and_apply(n),
    );
    let after = accuracy(&net, &asset.test, images);
    let distinct = (0..net.blocks.len() + 1)
        .map(|i| quant::distinct_values(prune::weights(&net, i)))
        .max()
        .unwrap_or(0);
    Ok(json!({
        "bits": bits,
        "size_mib": q.model_bits(&net) as f64 / 8.0 / 1048576.0,
        "size_mib_fp32": prune::model_bits(&net, false) as f64 / 8.0 / 1048576.0,
        "distinct_values_max": distinct,
        "accuracy_fp32": fp32,
        "accuracy_before_qat": before,
        "accuracy_after_qat": after,
        "qat_epochs": epochs, "qat_losses": losses,
        "images": images.min(asset.test.len()),
    }))
}

/// Integer-only inference of the committed network on the test images, against fp32.
pub fn int8(args: &[String]) -> Result<serde_json::Value, String> {
    let f = Flags::parse(args, &["images", "calibration", "seed"])?;
    let asset = load_asset()?;
    let net = committed_network()?;
    let images = f.get("images", 10_000usize)?.clamp(1, asset.test.len());
    let calibration = f.get("calibration", 512usize)?.clamp(1, asset.train.len());
    let calib = int8::calibration_batch(&asset.train, calibration, f.get("seed", 0u64)?);
    let mut q = Int8Network::build(&net, &calib, calibration)?;
    let start = std::time::Instant::now();
    let preds = predict_threaded(&q, &asset.test, images);
    let int8_s = start.elapsed().as_secs_f64();
    let correct = |p: &[u32]| {
        p.iter()
            .enumerate()
            .filter(|&(i, &y)| asset.test.labels[i] as u32 == y)
            .count() as f64
            / p.len().max(1) as f64
    };
    // With an explicit ReLU after every convolution: the same predictions.
    q.explicit_relu = true;
    let with_relu = predict_threaded(&q, &asset.test, images.min(1000));
    q.explicit_relu = false;
    let same = with_relu.iter().zip(&preds).filter(|(a, b)| a == b).count();
    // The float network without its ReLUs, for contrast.
    let folded = int8::fold_batchnorm(&net);
    let n = images.min(1000);
    let idx: Vec<usize> = (0..n).collect();
    let (x, _) = glassbox_lab::vision::train::batch(&asset.test, &idx, None);
    let (logits, _) = int8::folded_forward(&net, &folded, &x, n, false);
    let no_relu: Vec<u32> = logits.chunks(net.classes()).map(int8::argmax).collect();
    let fp32 = accuracy(&net, &asset.test, images);
    Ok(json!({
        "accuracy_fp32": fp32,
        "accuracy_int8": correct(&preds),
        "relu_layers": q.relu_layers(),
        "images": images,
        "calibration_images": calibration,
        "int8_images_per_s": images as f64 / int8_s,
        "explicit_relu_same_predictions": format!("{same} of {}", with_relu.len()),
        "accuracy_fp32_without_relu": correct(&no_relu),
        "size_mib_int8": q.model_bits() as f64 / 8.0 / 1048576.0,
        "activation_ranges": q.convs.iter().map(|c| c.output.scale * 255.0).collect::<Vec<_>>(),
    }))
}

/// Predictions of the first `images` test images, on every core.
fn predict_threaded(
    q: &Int8Network,
    test: &glassbox_lab::vision::data::Split,
    images: usize,
) -> Vec<u32> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let chunk = images.div_ceil(threads);
    std::thread::scope(|s| {
        let parts: Vec<_> = (0..threads)
            .map(|t| {
                let range = (t * chunk).min(images)..((t + 1) * chunk).min(images);
                s.spawn(move || q.predict_split(test, range))
            })
            .collect();
        parts
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

/// k-means against linear (symmetric per-channel, weights only) quantization at several widths.
pub fn compare(args: &[String]) -> Result<serde_json::Value, String> {
    use glassbox_lab::compress::{prune, quant};
    let f = Flags::parse(args, &["bits", "images", "seed"])?;
    let widths: Vec<u32> = f
        .get("bits", "8,4,2".to_string())?
        .split(',')
        .map(|b| {
            b.trim()
                .parse()
                .map_err(|_| format!("--bits: cannot read '{b}'"))
        })
        .collect::<Result<_, _>>()?;
    let asset = load_asset()?;
    let net = committed_network()?;
    let images = f.get("images", 10_000usize)?.max(1);
    let seed = f.get("seed", 0u64)?;
    let mut rows = Vec::new();
    for bits in widths {
        let mut k = net.clone();
        let q = quant::KMeansQuantizer::quantize(&mut k, bits, seed)?;
        let mut l = net.clone();
        let linear_bits = quant::linear_quantize_weights(&mut l, bits)?;
        rows.push(json!({
            "bits": bits,
            "kmeans_accuracy": accuracy(&k, &asset.test, images),
            "kmeans_size_mib": q.model_bits(&k) as f64 / 8.0 / 1048576.0,
            "linear_accuracy": accuracy(&l, &asset.test, images),
            "linear_size_mib": linear_bits as f64 / 8.0 / 1048576.0,
        }));
    }
    Ok(json!({
        "accuracy_fp32": accuracy(&net, &asset.test, images),
        "size_mib_fp32": prune::model_bits(&net, false) as f64 / 8.0 / 1048576.0,
        "images": images.min(asset.test.len()),
        "widths": rows,
    }))
}
