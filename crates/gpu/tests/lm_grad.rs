//! The soft prompt's and the prefix's gradient on the device (`Gpu::lm_extras_grad`) against the
//! lab's backward pass (`Model::forward_backward` with `Wants::EXTRAS`): a tiny model with a soft
//! prompt and a prefix under a loss mask, and the shipped model with chapter 5's soft prompt on
//! pluralize sequences. Errors are relative to the largest reference entry. No adapter is a
//! failure, not a skip.

use glassbox_gpu::Gpu;
use glassbox_lab::kernels::max_errors;
use glassbox_lab::lm::{shipped, Config, Inputs, Model, Targets, Wants};
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

fn check(what: &str, got: &[f32], want: &[f32], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let want64: Vec<f64> = want.iter().map(|&v| v as f64).collect();
    let (abs, rel) = max_errors(got, &want64);
    eprintln!("{what}: max abs err {abs:.2e}, rel {rel:.2e}");
    assert!(rel <= tol, "{what}: max abs err {abs}, rel {rel} > {tol}");
}

fn randv(n: usize, rng: &mut Rng, scale: f32) -> Vec<f32> {
    (0..n).map(|_| scale * rng.normal() as f32).collect()
}

#[test]
fn the_extras_gradient_on_the_device_matches_the_cpu() {
    let gpu = gpu();
    let c = Config {
        vocab: 13,
        layers: 2,
        heads: 3,
        width: 15,
        mlp: 22,
        context: 12,
    };
    let mut rng = Rng::new(5);
    let mut params = Model::new(c, 2).unwrap().params;
    params
        .iter_mut()
        .for_each(|p| *p += 0.1 * rng.normal() as f32);
    let model = Model::from_params(c, params).unwrap();
    let (b, t) = (3, 5);
    let tokens: Vec<u32> = (0..b * t).map(|i| (i * 7 % 13) as u32).collect();
    let targets: Vec<u32> = (0..b * t).map(|i| (i * 5 % 13) as u32).collect();
    let weights: Vec<f32> = (0..b * t)
        .map(|i| if i % 3 == 0 { 0.0 } else { 1.0 })
        .collect();
    let soft = randv(2 * c.width, &mut rng, 0.5);
    let prefix = randv(c.layers * 2 * 3 * c.width, &mut rng, 0.5);
    let inputs = Inputs::new(&tokens, b, t)
        .with_soft(&soft)
        .with_prefix(&prefix);
    let tg = Targets::new(&targets).with_weights(&weights);
    let (loss, g) = model.forward_backward(&inputs, &tg, Wants::EXTRAS).unwrap();
    let (dloss, dsoft, dprefix) = block_on(gpu.lm_extras_grad(&model, &inputs, &tg)).unwrap();
    assert!(
        (dloss - loss).abs() <= 1e-5 * loss.abs().max(1.0),
        "{dloss} vs {loss}"
    );
    check(
        "soft prompt gradient",
        &dsoft.unwrap(),
        &g.soft.unwrap(),
        1e-4,
    );
    check(
        "prefix gradient",
        &dprefix.unwrap(),
        &g.prefix.unwrap(),
        1e-4,
    );
    // A malformed batch is an error, not a panic.
    let bad = Inputs::new(&tokens[..4], b, t);
    assert!(block_on(gpu.lm_extras_grad(&model, &bad, &tg)).is_err());
}

#[test]
fn the_shipped_model_gives_chapter_5s_gradient_on_the_device() {
    let gpu = gpu();
    let (model, vocab) =
        shipped::check(include_bytes!("../../../assets/lm/glassbox-lm.bin")).unwrap();
    let text = ["wolf is wolves.", "box is boxes.\n\n", "city is cities."];
    let t = 14;
    let ids: Vec<Vec<u32>> = text.iter().map(|s| vocab.encode(s).unwrap()).collect();
    let x: Vec<u32> = ids.iter().flat_map(|v| v[..t].to_vec()).collect();
    let y: Vec<u32> = ids.iter().flat_map(|v| v[1..t + 1].to_vec()).collect();
    let w: Vec<f32> = (0..3 * t)
        .map(|i| if i % t >= 6 { 1.0 } else { 0.0 })
        .collect();
    let mut rng = Rng::new(1);
    let soft = randv(14 * model.config.width, &mut rng, 0.1);
    let inputs = Inputs::new(&x, 3, t).with_soft(&soft);
    let tg = Targets::new(&y).with_weights(&w);
    let (loss, g) = model.forward_backward(&inputs, &tg, Wants::EXTRAS).unwrap();
    let (dloss, dsoft, dprefix) = block_on(gpu.lm_extras_grad(&model, &inputs, &tg)).unwrap();
    assert!(dprefix.is_none());
    assert!(
        (dloss - loss).abs() <= 1e-4 * loss.abs().max(1.0),
        "{dloss} vs {loss}"
    );
    check(
        "shipped soft prompt gradient",
        &dsoft.unwrap(),
        &g.soft.unwrap(),
        1e-3,
    );
}
