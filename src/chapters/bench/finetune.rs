//! Benchmarks: one epoch of chapter 3's fine-tuning in this browser (1000 shifted training images,
//! batch 64, Adam), for the first block, the last block and the head, with the time spent once on
//! the frozen layers before the tuned block: on the CPU in slices on this page's thread, on the
//! CPU in the worker pool (the same numbers), and on WebGPU (a batch per call) when the browser
//! offers it.

use crate::chapters::fine_tuning::runner::{drive, Job, Place};
use crate::engine::Engine;
use crate::ui::math::{prose, Prose};
use crate::var::Var;
use crate::vision::data::{ensure_loaded, LoadState};
use glassbox_lab::shift::{PhaseTimes, Tune, TuneSettings, Tuner};
use leptos::prelude::*;
use std::cell::RefCell;
use std::rc::Rc;

/// The choices timed, with their keys on the page.
const TUNES: [(Tune, &str); 3] = [
    (Tune::Block(0), "ft_block1"),
    (Tune::Block(3), "ft_block4"),
    (Tune::Head, "ft_head"),
];

/// A row: its key, the tuned choice, where it ran, the times.
type Row = (String, String, &'static str, PhaseTimes);

#[component]
pub fn FineTuneBench() -> impl IntoView {
    let rows = Var::new(Vec::<Row>::new());
    let status = Var::new(String::new());
    let running = Var::new(false);
    let load = Var::new(LoadState::Idle);
    let engine = crate::ui::context::<Engine>();
    let start = move |_| {
        running.set(true);
        rows.set(Vec::new());
        crate::tasks::spawn_page_task(async move {
            let Some(l) = ensure_loaded(load).await else {
                status.set(load.get_untracked().message().unwrap_or_default());
                running.set(false);
                return;
            };
            engine.settled().await;
            let gpu = engine.on_webgpu();
            let places = [
                (Place::Page, "", "the CPU (this page's thread)"),
                (Place::Workers, "_workers", "the CPU workers"),
                (Place::Engine(engine), "_webgpu", "WebGPU"),
            ];
            for (at, suffix, place) in places.into_iter().take(2 + gpu as usize) {
                for (tune, key) in TUNES {
                    status.set(format!("Timing an epoch of {} on {place}…", tune.name()));
                    let settings = TuneSettings::epoch_benchmark(tune);
                    let tuner = match Tuner::new(&l.pretrained, &l.data.test, settings) {
                        Ok(t) => t,
                        Err(e) => {
                            status.set(e);
                            running.set(false);
                            return;
                        }
                    };
                    let job = Rc::new(RefCell::new(Job::new(tuner)));
                    drive(job.clone(), at, || true, |_| {}).await;
                    let j = job.borrow();
                    let row = (format!("{key}{suffix}"), tune.name(), j.ran, j.times);
                    rows.update(|r| r.push(row));
                }
            }
            status.set("Done.".into());
            running.set(false);
        });
    };
    view! {
        <h2>"Fine-tuning (chapter 3)"</h2>
        <Prose html=prose!(r#"
            <p>One epoch of surgical fine-tuning: 1000 training images under severity-5 Gaussian
            noise, batch 64, Adam, batch-norm frozen. The frozen layers before the tuned block run
            once per image ("prefix"); an epoch then runs only the tuned block and what follows it.
            It runs on the CPU (WebAssembly) on this page's thread in slices, again in the
            background workers (a batch's chunks of 4 images split between them, the same numbers),
            and on WebGPU when this browser offers it (a whole batch per GPU call; Adam stays on the
            CPU).</p>
        "#)/>
        <button type="button" class="primary" on:click=start disabled=move || running.get()>"Time a fine-tuning epoch"</button>
        <p role="status" aria-live="polite" class="status" data-out="ft-bench-status">{move || status.get()}</p>
        <table class="numbers" aria-label="Fine-tuning benchmark">
            <thead><tr><th>"Tuned"</th><th>"On"</th><th>"Frozen prefix, once"</th><th>"One epoch"</th></tr></thead>
            <tbody>
                {move || rows.get().into_iter().map(|(key, name, ran, t)| view! {
                    <tr data-bench=key>
                        <th scope="row">{name}</th>
                        <td data-col="backend">{ran}</td>
                        <td data-col="prefix">{format!("{:.0} ms", t.prefix_ms)}</td>
                        <td data-col="epoch">{format!("{:.0} ms", t.train_ms)}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}
