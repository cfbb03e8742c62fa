//! Benchmarks: one epoch of chapter 3's fine-tuning in this browser (1000 shifted training images,
//! batch 64, Adam), for the first block, the last block and the head, with the time spent once on
//! the frozen layers before the tuned block. Runs on the CPU path in ~30 ms slices.

use crate::tasks::{run_in_slices, Slice};
use crate::vision::data::{ensure_loaded, LoadState};
use crate::web;
use glassbox_lab::shift::{PhaseTimes, Tune, TuneSettings, Tuner};
use leptos::prelude::*;

/// The choices timed, with their keys on the page.
const TUNES: [(Tune, &str); 3] = [
    (Tune::Block(0), "ft_block1"),
    (Tune::Block(3), "ft_block4"),
    (Tune::Head, "ft_head"),
];

#[component]
pub fn FineTuneBench() -> impl IntoView {
    let rows = RwSignal::new(Vec::<(&'static str, String, PhaseTimes)>::new());
    let status = RwSignal::new(String::new());
    let running = RwSignal::new(false);
    let load = RwSignal::new(LoadState::Idle);
    let start = move |_| {
        running.set(true);
        rows.set(Vec::new());
        crate::tasks::spawn_page_task(async move {
            let Some(l) = ensure_loaded(load).await else {
                status.set(load.get_untracked().message().unwrap_or_default());
                running.set(false);
                return;
            };
            for (tune, key) in TUNES {
                status.set(format!("Timing an epoch of {}…", tune.name()));
                let mut tuner = match Tuner::new(
                    &l.pretrained,
                    &l.data.test,
                    TuneSettings::epoch_benchmark(tune),
                ) {
                    Ok(t) => t,
                    Err(e) => {
                        status.set(e);
                        break;
                    }
                };
                let mut times = PhaseTimes::default();
                run_in_slices(
                    |deadline| {
                        let mut more = true;
                        while more && web::now_ms() < deadline {
                            more = tuner.step_timed(&web::now_ms, &mut times);
                        }
                        if more {
                            Slice::Continue
                        } else {
                            Slice::Idle
                        }
                    },
                    || true,
                )
                .await;
                rows.update(|r| r.push((key, tune.name(), times)));
            }
            status.set("Done.".into());
            running.set(false);
        });
    };
    view! {
        <h2>"Fine-tuning (chapter 3)"</h2>
        <p>
            "One epoch of surgical fine-tuning: 1000 training images under severity-5 Gaussian noise, batch \
             64, Adam, batch-norm frozen. The frozen layers before the tuned block run once per image \
             (\"prefix\"); an epoch then runs only the tuned block and what follows it. In the page this \
             runs on the CPU (WebAssembly) whatever the compute backend."
        </p>
        <button type="button" class="primary" on:click=start disabled=move || running.get()>"Time a fine-tuning epoch"</button>
        <p role="status" aria-live="polite" class="status" data-key="ft-bench-status">{move || status.get()}</p>
        <table class="numbers" aria-label="Fine-tuning benchmark">
            <thead><tr><th>"Tuned"</th><th>"Frozen prefix, once"</th><th>"One epoch"</th></tr></thead>
            <tbody>
                {move || rows.get().into_iter().map(|(key, name, t)| view! {
                    <tr data-bench=key>
                        <th scope="row">{name}</th>
                        <td data-col="prefix">{format!("{:.0} ms", t.prefix_ms)}</td>
                        <td data-col="epoch">{format!("{:.0} ms", t.train_ms)}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}
