//! "Latency on this machine": one image's forward pass through the dense, the fine-grained pruned and
//! the channel-pruned networks, measured here.

use super::latency::{measure_latency, Latency};
use super::state::PruningState;
use crate::engine::Engine;
use crate::ui::math::{prose, Prose};
use crate::var::Var;
use glassbox_lab::vision::vgg::{self, Arch};
use leptos::prelude::*;

#[component]
pub fn ChannelLatency() -> impl IntoView {
    let PruningState {
        lab,
        pruned,
        channel,
        ..
    } = crate::ui::context();
    let engine = crate::ui::context::<Engine>();

    let latency = Var::new(None::<Latency>);
    let measuring = Var::new(false);
    let measure = move |_| {
        let (Some(l), Some(Ok(ch)), Some(Ok(fine))) = (
            lab.get_untracked(),
            channel.get_untracked(),
            pruned.get_untracked(),
        ) else {
            return;
        };
        measuring.set(true);
        crate::tasks::spawn_page_task(async move {
            let nets = [&l.pretrained, &fine.net, &*ch];
            latency.set(Some(measure_latency(&l, &nets, engine).await));
            measuring.set(false);
        });
    };

    view! {
            <h3>"Latency on this machine"</h3>
            <Prose html=prose!(r#"
                <p>Compute is not time. Measure one image's forward pass through the dense network,
                the fine-grained pruned one (the sparsities chosen above) and the channel-pruned one
                here: the time falls less than the multiply-adds, because part of it does not shrink
                with the channels — reading the image and writing each layer's activations, the
                element-wise batch-norm, ReLU and pooling, and fixed costs per layer (launching a
                kernel, allocating buffers, the JavaScript–WebAssembly boundary). The fine-grained
                pruned network runs in the dense time, give or take the machine's noise: our kernels
                multiply its zeros like any other weight.</p>
            "#)/>
            <button type="button" on:click=measure disabled=move || lab.get().is_none() || measuring.get()>
                "Measure latency"
            </button>
            <p data-out="latency" role="status" aria-live="polite">{move || {
                if measuring.get() {
                    return "Measuring…".to_string();
                }
                let macs = channel.get().and_then(|c| c.ok()).map(|n| vgg::stats(&n.arch).macs as f64 / vgg::stats(&Arch::lab()).macs as f64);
                match (latency.get(), macs) {
                    (Some(t), Some(m)) => {
                        let line = |path: &str, v: &[f64]| format!(
                            "{path}: {:.2} ms dense, {:.2} ms pruned ({:.2} of the time for {m:.2} of the multiply-adds); \
                             fine-grained pruned (the sparsities above) {:.2} ms ({:.2} of dense).",
                            v[0], v[2], v[2] / v[0], v[1], v[1] / v[0]
                        );
                        let mut s = line("CPU", &t.cpu);
                        if let Some(g) = &t.gpu {
                            s += " ";
                            s += &line("WebGPU", g);
                        }
                        s
                    }
                    _ => String::new(),
                }
            }}</p>
    }
}
