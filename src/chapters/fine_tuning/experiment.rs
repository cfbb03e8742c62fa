//! Section "Fine-tune one choice": pick what to tune, run the paper's protocol live (Adam, batch
//! 64, batch-norm frozen, best validation over the learning rates and epochs), with pause and
//! reset; the validation curves, the result, what the frozen prefix saved, and (for Auto-RGN) the
//! multipliers or (under the flip) the learned head against the permutation.

use super::controls::{ProtocolControls, ShiftControls};
use super::experiment_figures::{HeadMap, Multipliers, ValidationCurves};
use super::fields::TUNE_OPTIONS;
use super::runner::{drive, on, secs, Job, Place, Snapshot};
use super::state::FineTuningState;
use crate::calc::Calc;
use crate::tasks::Generation;
use crate::ui::math::{prose, Prose};
use crate::ui::Section;
use crate::var::Var;
use glassbox_lab::shift::{Tune, Tuner};
use leptos::prelude::*;
use std::cell::RefCell;
use std::rc::Rc;

#[component]
pub fn Experiment() -> impl IntoView {
    let FineTuningState {
        settings,
        lab,
        busy,
        ..
    } = crate::ui::context();
    // Held by the page thread; a StoredValue so the handlers below can be Send (as a section's
    // children must be).
    let job = StoredValue::new_local(Rc::new(RefCell::new(Job::default())));
    let snap = Var::new(Snapshot::default());
    let running = Var::new(false);
    let error = Var::new(None::<String>);
    let generation = Generation::new();
    let engine = crate::ui::context::<crate::engine::Engine>();
    // New settings for this run start it over (the heatmap's settings do not).
    let key = Calc::new(move |_| settings.with(|s| format!("{:?}", s.tune_settings(s.tune))));
    {
        Effect::new(move |prev: Option<String>| {
            let k = key.get();
            if prev.is_some_and(|p| p != k) {
                generation.stop();
                *job.get_value().borrow_mut() = Job::default();
                snap.set(Snapshot::default());
                // Only this section's own run releases the page.
                if running.get_untracked() {
                    running.set(false);
                    busy.set(false);
                }
            }
            k
        });
    }
    let run = {
        move |_| {
            let job = job.get_value();
            let Some(l) = lab.get_untracked() else { return };
            if job.borrow().tuner.is_none() {
                let s = settings.get_untracked();
                match Tuner::new(&l.pretrained, &l.data.test, s.tune_settings(s.tune)) {
                    Ok(t) => *job.borrow_mut() = Job::new(t),
                    Err(e) => {
                        error.set(Some(e));
                        return;
                    }
                }
            }
            error.set(None);
            running.set(true);
            busy.set(true);
            let alive = generation.start();
            let job = job.clone();
            crate::tasks::spawn_page_task(async move {
                let j = job.clone();
                let finished =
                    drive(j, Place::Engine(engine), alive, |j| snap.set(j.snapshot())).await;
                let s = snap.get_untracked();
                if finished && s.result.is_some() {
                    crate::progress::record_time(super::SLUG, s.times.total_ms);
                }
                if alive() || finished {
                    running.set(false);
                    busy.set(false);
                }
            });
        }
    };
    let pause = move |_| {
        generation.stop();
        running.set(false);
        busy.set(false);
    };
    let reset = {
        move |_| {
            generation.stop();
            *job.get_value().borrow_mut() = Job::default();
            snap.set(Snapshot::default());
            if running.get_untracked() {
                running.set(false);
                busy.set(false);
            }
        }
    };
    let tune = crate::ui::derive(move || settings.get().tune.name());

    view! {
        <Section id="experiment">
            <h2 id="experiment">"Fine-tune one choice"</h2>
            <Prose html=prose!(r#"
                <p>Choose the shift and what to tune, and run the protocol here. Each learning rate
                starts again from the shifted network; after every epoch the validation images score
                it, and the reported accuracy is the test accuracy of the parameters at the best
                validation score. The defaults are sized for a browser; the button below restores
                the paper's protocol (minutes here for an early block).</p>
            "#)/>
            <ShiftControls/>
            <ProtocolControls/>
            <div class="controls-grid">
                <crate::ui::controls::ChoiceInput label="Tune" key="tune" options=TUNE_OPTIONS value=tune
                    on_change=move |v| { if let Ok(t) = Tune::parse(&v) { settings.update(|s| s.tune = t) } }/>
            </div>
            <div class="buttons" role="group" aria-label="Fine-tuning">
                <button type="button" class="primary" data-action="run-one" on:click=run
                    disabled=move || running.get() || (busy.get() && !running.get()) || lab.get().is_none() || snap.get().result.is_some()>
                    {move || if snap.get().fraction > 0.0 { "Resume" } else { "Run" }}</button>
                <button type="button" on:click=pause disabled=move || !running.get()>"Pause"</button>
                <button type="button" on:click=reset>"Reset"</button>
            </div>
            {move || error.get().or(snap.get().error).map(|e| view! { <p class="notice error" role="alert">{e}</p> })}
            <div class="progress-row">
                <progress max="1" aria-label="Fine-tuning progress" value=move || snap.get().fraction></progress>
                <span class="counter" data-out="run-progress">{move || format!("{:.0}%", 100.0 * snap.get().fraction)}</span>
            </div>
            <p class="status" role="status" aria-live="polite">{move || {
                let s = snap.get();
                if s.fraction == 0.0 { String::new() }
                else if s.result.is_some() { format!("Done in {} on {}.", secs(s.times.total_ms), on(s.ran)) }
                else { format!("{} ({} so far, on {})", s.activity, secs(s.times.total_ms), on(s.ran)) }
            }}</p>
            <ValidationCurves snap/>
            <Readout snap/>
            <Multipliers snap/>
            <HeadMap snap/>
        </Section>
    }
}

/// The result in words: before and after, the best (lr, epoch), what was tuned and changed, and
/// what computing the frozen prefix once saved.
#[component]
fn Readout(snap: Var<Snapshot>) -> impl IntoView {
    let FineTuningState { settings, .. } = crate::ui::context();
    move || {
        let s = snap.get();
        let r = s.result?;
        let total = glassbox_lab::vision::vgg::Arch::lab();
        let net_params = glassbox_lab::vision::network::Network::new(&total, 0).param_count();
        let best = match (r.lr, r.epoch) {
            (Some(lr), Some(e)) => format!(" (best validation at lr {lr:e}, epoch {e})"),
            _ => String::new(),
        };
        let lrs = settings.get_untracked().tune_settings(Tune::Head).lrs.len();
        let epochs = settings.get_untracked().epochs;
        let saving = if s.times.prefix_ms > 0.0 && r.tune != "bn-stats" {
            // The prefix ran once over the training, validation and test images.
            let st = settings.get_untracked();
            let per_epoch = r.images + r.images / 10;
            let saved =
                s.times
                    .prefix_saving_ms(per_epoch, per_epoch + st.test_images, lrs * epochs);
            format!(
                " The frozen layers before the tuned block were computed once ({}); recomputing them \
                 every epoch would have added about {} to the {} of training.",
                secs(s.times.prefix_ms),
                secs(saved),
                secs(s.times.train_ms)
            )
        } else {
            String::new()
        };
        let loss = r.curve.last().map(|c| {
            format!(
                "Mean training loss in the last epoch (lr {:e}, epoch {}): {:.6}.",
                c.lr, c.epoch, c.train_loss
            )
        });
        Some(view! {
            {loss.map(|l| view! { <p data-out="run-loss">{l}</p> })}
            <p data-out="run-result">{format!(
                "{}: test accuracy {:.1}% before, {:.1}% after{best}. Tuned {} parameters ({:.1}% of {}); {} \
                 changed bit-wise, every other parameter is identical to the shifted network's.{saving}",
                r.tune,
                100.0 * r.accuracy_before,
                100.0 * r.accuracy_after,
                r.params_tuned,
                100.0 * r.params_tuned as f64 / net_params as f64,
                net_params,
                r.params_changed,
            )}</p>
        })
    }
}
