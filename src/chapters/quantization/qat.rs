//! (c) Quantization-aware training, live: the network quantized at the QAT width is fine-tuned
//! with its codebooks kept, and evaluated after each epoch.

use super::kmeans::quantize_network;
use super::pct;
use super::state::{QuantizationState, QAT_FIELDS};
use crate::calc::Calc;
use crate::tasks::{Generation, Run};
use crate::ui::controls::FieldInput;
use crate::ui::math::{prose, Prose};
use crate::ui::plot::Plot;
use crate::ui::run_controls::{RunControls, Speed};
use crate::ui::Section;
use crate::var::Var;
use crate::vision::data::{accuracy_of, classify, Loaded};
use crate::vision::finetune::{self, Keep, TuneSpec, Tuning};
use glassbox_lab::figures;
use leptos::prelude::*;
use std::rc::Rc;

#[component]
pub fn QuantizationAwareTraining() -> impl IntoView {
    let QuantizationState {
        settings,
        engine,
        lab,
        ..
    } = crate::ui::context();
    let eval_images = Calc::new(move |_| settings.with(|s| s.eval_images));
    let model = StoredValue::new_local(finetune::Model::default());
    let tuning = Var::new(Tuning::default());
    let speed = Var::new(Speed::Fast);
    let qat_status = Var::new(String::new());
    let qat_evals = Var::new(Vec::<(usize, f64)>::new());
    let qat_auto = Var::new(false);
    let qat_ready = Var::new(false);
    let qat_gen = Generation::new();
    let qat_reset = Var::new(0u64);
    // The epoch whose evaluation is under way, so that it starts once.
    let qat_pending = StoredValue::new_local(None::<usize>);
    let qat_key = Calc::new(move |_| {
        settings.with(|s| {
            (
                s.qat_bits,
                s.qat_epochs,
                s.ft_batch,
                s.ft_lr.to_bits(),
                s.seed,
                s.eval_images,
            )
        })
    });
    let steps_per_epoch = move || {
        let b = settings.with(|s| s.ft_batch).max(1);
        lab.with(|l| l.as_ref().map(|l| l.data.train.len() / b).unwrap_or(0))
            .max(1)
    };
    let evaluate_qat = move |l: Rc<Loaded>, epoch: usize, run: Run| {
        qat_pending.set_value(Some(epoch));
        crate::tasks::spawn_page_task(async move {
            let alive = move || run.alive();
            let count = eval_images.get_untracked().min(l.data.test.len());
            qat_status.set(format!("Evaluating after epoch {epoch}…"));
            let net = finetune::current_network(model, engine, &l.pretrained).await;
            let Some((p, ..)) = classify(&l.data, net, count, engine, &|_| {}, &alive).await else {
                return;
            };
            let acc = accuracy_of(&l.data.test, &p);
            qat_pending.set_value(None);
            qat_evals.update(|v| v.push((epoch, acc)));
            qat_status.set(String::new());
        });
    };
    let run_qat = move |l: Rc<Loaded>, single: bool| {
        let s = settings.get_untracked();
        let spe = l.data.train.len() / s.ft_batch.max(1);
        let spec = TuneSpec {
            steps: spe * s.qat_epochs,
            batch: s.ft_batch,
            lr: s.ft_lr,
            seed: s.seed,
            done_hint: "",
            stop_every: Some(spe),
        };
        finetune::run(model, tuning, l, spec, engine, speed, single);
    };
    // After each epoch's evaluation, go on if the reader did not pause.
    crate::ui::effect(move || {
        let Some(&(epoch, _)) = qat_evals.with(|v| v.last().copied()).as_ref() else {
            return;
        };
        if !qat_auto.get_untracked() {
            return;
        }
        if epoch < settings.with_untracked(|s| s.qat_epochs) {
            if let Some(l) = lab.get_untracked() {
                run_qat(l, false);
            }
        } else {
            qat_auto.set(false);
        }
    });
    // Prepare: quantize the network at the QAT bit width and evaluate it (epoch 0).
    crate::ui::effect(move || {
        let (bits, _, _, _, seed, _) = qat_key.get();
        qat_reset.track();
        let Some(l) = lab.get() else {
            return;
        };
        let run = qat_gen.start_run();
        let alive = move || run.alive();
        qat_ready.set(false);
        qat_auto.set(false);
        qat_evals.set(Vec::new());
        qat_pending.set_value(None);
        finetune::reset(model, tuning, None, Keep::Nothing);
        qat_status.set(format!("Quantizing every layer to {bits} bits…"));
        crate::tasks::spawn_page_task(async move {
            match quantize_network(engine, true, &l.pretrained, bits, seed, &|_| {}, &alive).await {
                None => {}
                Some(Err(e)) => qat_status.set(e),
                Some(Ok((qnet, quantizer, _))) => {
                    finetune::reset(model, tuning, Some(qnet), Keep::Codebooks(quantizer));
                    qat_ready.set(true);
                    evaluate_qat(l, 0, run);
                }
            }
        });
    });
    // At each epoch's end (the run stops there), evaluate; then go on if the reader did not pause.
    crate::ui::effect(move || {
        let t = tuning.get();
        let Some(last) = t.points.last().map(|p| p.step) else {
            return;
        };
        let spe = steps_per_epoch();
        let epoch = last / spe;
        let evaluated = qat_evals.with_untracked(|v| v.last().map(|e| e.0));
        let pending = qat_pending.get_value().is_some();
        if !t.running && !pending && last % spe == 0 && evaluated.is_some_and(|e| e < epoch) {
            if let Some(l) = lab.get_untracked() {
                evaluate_qat(l, epoch, qat_gen.current());
            }
        }
    });
    let qat_steps =
        crate::ui::derive(move || tuning.get().points.last().map(|p| p.step).unwrap_or(0));
    let qat_total = crate::ui::derive(move || steps_per_epoch() * settings.with(|s| s.qat_epochs));
    view! {
        <Section id="qat">
            <h2 id="qat">"(c) Quantization-aware training"</h2>
            <Prose html=prose!(r#"
                <p>Fine-tune the quantized network as the original lab does: each step trains the
                weights as usual, then every centroid moves to the mean of the weights assigned to
                it and every weight goes back to its centroid, so the network stays quantized with
                the same assignment while the codebook learns. The accuracy is measured after each
                epoch (a pass over the 10,000 training images). The codebooks live on the CPU, so
                this runs on the CPU path.</p>
            "#)/>
            <div class="controls-grid">
                {QAT_FIELDS.iter().map(|f| view! { <FieldInput field=f settings=settings/> }).collect_view()}
            </div>
            <RunControls
                label="Quantization-aware training"
                running=crate::ui::derive(move || tuning.get().running || qat_auto.get())
                can_run=crate::ui::derive(move || qat_ready.get() && qat_status.get().is_empty() && qat_steps.get() < qat_total.get())
                iteration=qat_steps
                total=qat_total
                progress=crate::ui::derive(move || qat_steps.get() as f64 / qat_total.get().max(1) as f64)
                status=crate::ui::derive(move || { let q = qat_status.get(); if q.is_empty() { tuning.get().status_line() } else { q } })
                speed=speed
                on_run=move || { if let Some(l) = lab.get_untracked() { qat_auto.set(true); run_qat(l, false); } }
                on_pause=move || { qat_auto.set(false); if tuning.get_untracked().running { tuning.update(|t| t.request_pause()); } }
                on_step=move || { if let Some(l) = lab.get_untracked() { qat_auto.set(false); run_qat(l, true); } }
                on_reset=move || qat_reset.update(|r| *r += 1)
            />
            <QatAccuracies qat_evals=qat_evals/>
            <Plot name="qat-training" title="Quantization-aware training"
                summary=crate::ui::derive(move || figures::training_summary(&tuning.get().points))
                csv=crate::ui::derive(move || figures::training_csv(&tuning.get().points))
                draw=move |area, palette| figures::draw_training(area, &tuning.get().points, palette)/>
        </Section>
    }
}

/// The accuracy after each epoch, and how much of what quantization lost QAT won back.
#[component]
fn QatAccuracies(qat_evals: Var<Vec<(usize, f64)>>) -> impl IntoView {
    let QuantizationState {
        settings,
        comparison,
        ..
    } = crate::ui::context();
    view! {
        <div class="table-scroll">
            <table class="numbers" aria-label="Accuracy per epoch of quantization-aware training">
                <thead><tr><th scope="col">"epoch"</th><th scope="col">"test accuracy"</th></tr></thead>
                <tbody>
                    {move || qat_evals.get().into_iter().map(|(e, a)| view! {
                        <tr data-epoch=e><td>{if e == 0 { "0 (before QAT)".to_string() } else { e.to_string() }}</td><td data-out="qat-acc">{pct(a)}</td></tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        <p data-out="qat-recovered">{move || {
            let v = qat_evals.get();
            let fp32 = comparison.get().fp32;
            match (v.first(), v.last(), fp32) {
                (Some(&(0, a0)), Some(&(e, a)), Some(f)) if e > 0 => format!(
                    "After {e} epoch{}: {} (from {} before QAT; fp32 {}): QAT won back {:.2} of the {:.2} points that {} bits lost.",
                    if e == 1 { "" } else { "s" }, pct(a), pct(a0), pct(f), 100.0 * (a - a0), 100.0 * (f - a0), settings.with(|s| s.qat_bits)
                ),
                (Some(&(0, a0)), Some(&(e, a)), None) if e > 0 => format!(
                    "After {e} epoch{}: {} (from {} before QAT). Run (b) for the fp32 accuracy to compare.",
                    if e == 1 { "" } else { "s" }, pct(a), pct(a0)
                ),
                _ => String::new(),
            }
        }}</p>
    }
}
