//! Benchmarks: chapter 2's attention cost measured. Global against windowed attention (7 x 7
//! patch windows, D = 64, patches of 16 pixels) at the homework's 224-pixel image (196 tokens) and
//! at 896 pixels (3136 tokens, the chapter's largest measured size), timed as the chapter's
//! "Measure it" times them (`attention::timing::time_size`: windowed includes regrouping the tokens
//! into windows and back), on the CPU path (one background worker's thread; the page's thread in
//! slices without workers) and, when the browser offers it, on WebGPU (the device worker's
//! device, timed there).

use crate::chapters::attention::timing::time_size;
use crate::engine::Engine;
use crate::var::Var;
use crate::web;
use glassbox_lab::rng::Rng;
use leptos::prelude::*;

const PATCH: usize = 16;
const WINDOW: usize = 7;
const DIM: usize = 64;
const IMAGES: [usize; 2] = [224, 896];

/// One image size: its side and tokens, and (global, windowed) ms on the CPU and on WebGPU.
#[derive(Clone, Debug, PartialEq)]
struct Row {
    image: usize,
    tokens: usize,
    cpu: Option<(f64, f64)>,
    gpu: Option<(f64, f64)>,
}

#[component]
pub fn AttentionBench() -> impl IntoView {
    let engine = crate::ui::context::<Engine>();
    let running = Var::new(false);
    let rows = Var::new(Vec::<Row>::new());
    let status = Var::new(String::new());
    let start = move |_| {
        running.set(true);
        rows.set(
            IMAGES
                .iter()
                .map(|&image| Row {
                    image,
                    tokens: (image / PATCH).pow(2),
                    cpu: None,
                    gpu: None,
                })
                .collect(),
        );
        crate::tasks::spawn_page_task(async move {
            engine.settled().await;
            let on_gpu = engine.on_webgpu();
            for (on, place) in [(false, "the CPU"), (true, "WebGPU")] {
                if on && !on_gpu {
                    break;
                }
                let mut rng = Rng::new(23);
                for (i, image) in IMAGES.into_iter().enumerate() {
                    status.set(format!("Timing attention at H = {image} on {place}…"));
                    let sized = (image, PATCH, WINDOW, DIM);
                    match time_size(engine, on, sized, &mut rng, &|| true, &|_| {}).await {
                        Ok(Some(t)) => rows.update(|r| {
                            if on {
                                r[i].gpu = Some(t)
                            } else {
                                r[i].cpu = Some(t)
                            }
                        }),
                        Ok(None) => status.set(format!("{place} did not finish the run.")),
                        Err(e) => status.set(format!("{place} could not run attention: {e}")),
                    }
                    web::sleep(0).await;
                }
            }
            if status.with_untracked(|s| s.starts_with("Timing")) {
                status.set("Done.".into());
            }
            running.set(false);
        });
    };
    let ms = |v: Option<f64>| {
        v.map(|x| format!("{x:.2} ms"))
            .unwrap_or_else(|| "–".into())
    };
    view! {
        <h2>"Attention (chapter 2)"</h2>
        <p>
            {format!("Global against windowed attention ({WINDOW} x {WINDOW} patch windows, D = {DIM}, \
              {PATCH}-pixel patches) at the homework's {}-pixel image and at {} pixels, random queries, keys \
              and values, timed as the chapter's \u{201c}Measure it\u{201d} does (windowed includes regrouping \
              the tokens): on the CPU (WebAssembly, one thread: a background worker, or this page's thread \
              in slices without workers) and on WebGPU when this browser offers it (upload, kernel and \
              read-back, timed in the background worker that owns the device).", IMAGES[0], IMAGES[1])}
        </p>
        <button type="button" class="primary" on:click=start disabled=move || running.get()>"Time attention"</button>
        <p role="status" aria-live="polite" class="status" data-out="attention-bench-status">{move || status.get()}</p>
        <div class="table-scroll">
            <table class="numbers" aria-label="Attention benchmark">
                <thead><tr><th>"H (tokens)"</th><th>"CPU, global"</th><th>"CPU, windowed"</th>
                    <th>"WebGPU, global"</th><th>"WebGPU, windowed"</th><th>"CPU ÷ WebGPU, global"</th></tr></thead>
                <tbody>
                    {move || rows.get().into_iter().map(|r| view! {
                        <tr data-bench=format!("attention_{}", r.image)>
                            <th scope="row">{format!("{} ({})", r.image, r.tokens)}</th>
                            <td data-col="cpu-global">{ms(r.cpu.map(|t| t.0))}</td>
                            <td data-col="cpu-windowed">{ms(r.cpu.map(|t| t.1))}</td>
                            <td data-col="gpu-global">{ms(r.gpu.map(|t| t.0))}</td>
                            <td data-col="gpu-windowed">{ms(r.gpu.map(|t| t.1))}</td>
                            <td data-col="ratio">{r.cpu.zip(r.gpu).map(|(c, g)| format!("{:.2}", c.0 / g.0)).unwrap_or_else(|| "–".into())}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}
