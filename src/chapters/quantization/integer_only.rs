//! (e) Integer-only inference: batch-norm folded, int8 weights and activations with calibrated
//! ranges, no ReLU; its accuracy against fp32, and the calibrated scales.

use super::int8_pipeline::{build_and_run, Int8Report};
use super::pct;
use super::state::{QuantizationState, CALIB_FIELD, NAMES};
use crate::tasks::Generation;
use crate::ui::controls::FieldInput;
use crate::ui::math::{prose, Prose};
use crate::ui::Section;
use crate::var::Var;
use crate::vision::data::mib;
use leptos::prelude::*;

#[component]
pub fn IntegerOnlyInference() -> impl IntoView {
    let QuantizationState {
        settings,
        engine,
        lab,
        ..
    } = crate::ui::context();
    let int8_report = Var::new(None::<Result<Int8Report, String>>);
    let int8_state = Var::new((false, 0.0f64, String::new()));
    let int8_gen = Generation::new();
    let run_int8 = move |_| {
        let Some(l) = lab.get_untracked() else {
            return;
        };
        let alive = int8_gen.start();
        let (count, calib_n, seed) = settings
            .with_untracked(|s| (s.eval_images.min(l.data.test.len()), s.calib_images, s.seed));
        int8_report.set(None);
        let say = move |f: f64, what: &str| int8_state.set((true, f, what.to_string()));
        crate::tasks::spawn_page_task(async move {
            match build_and_run(l, engine, count, calib_n, seed, &say, &alive).await {
                None => {}
                Some(Err(e)) => {
                    int8_report.set(Some(Err(e)));
                    int8_state.set((false, 0.0, String::new()));
                }
                Some(Ok(r)) => {
                    int8_report.set(Some(Ok(r)));
                    int8_state.set((false, 1.0, String::new()));
                }
            }
        });
    };
    view! {
        <Section id="int8">
            <h2 id="int8">"(e) Integer-only inference"</h2>
            <Prose html=prose!(r#"
                <p>To run on integer hardware the whole network must compute in integers. Batch-norm
                is first folded into the convolution before it (in evaluation mode it is a
                per-channel scale and shift, so \(W'_o = W_o\,\gamma_o/\sqrt{\sigma_o^2+\epsilon}\)
                and \(b'_o = \beta_o - \mu_o\,\gamma_o/\sqrt{\sigma_o^2+\epsilon}\)). The weights
                become int8 per output channel; each activation gets a range calibrated on training
                images; the bias becomes int32 at the scale \(S_{\text{in}} S_w\). A convolution
                then multiplies int8 by int8, sums in int32, and rescales:</p>
                \[q_y = \operatorname{clamp}\left(Z_y + \operatorname{round}\left(\frac{S_{\text{in}} S_w}{S_y}\Big(\sum (q_x - Z_x)\, q_w + q_b\Big)\right),\ -128,\ 127\right).\]
                <p>The rescale factor is held as a 23-bit integer and a shift, so not even it needs
                a float. And there is no ReLU anywhere: each activation's range is measured after
                its ReLU, so \(r_{\min} = 0\), \(Z_y = q_{\min} = -128\), and the clamp at \(-128\)
                already turns every negative value into the real 0.</p>
            "#)/>
            <div class="controls-grid">
                <FieldInput field=&CALIB_FIELD settings=settings/>
            </div>
            <Prose html=prose!(r#"
                <p class="field-help">The accuracies use the number of test images chosen in
                (b).</p>
            "#)/>
            <div class="buttons">
                <button type="button" class="primary" on:click=run_int8 disabled=move || lab.get().is_none() || int8_state.get().0>"Build and run the int8 network"</button>
            </div>
            <progress max="1" aria-label="Integer inference progress" value=move || int8_state.get().1></progress>
            <p class="status" role="status" aria-live="polite">{move || int8_state.get().2}</p>
            {move || int8_report.get().map(|r| match r {
                Err(e) => view! { <p class="notice error" role="alert">{e}</p> }.into_any(),
                Ok(r) => view! {
                    <dl class="readout" aria-label="Integer-only inference">
                        <dt>"batch-norm folded"</dt><dd data-out="fold-error">{format!("largest logit difference {:.2e} on {} test images", r.fold_max_error, r.fold_images)}</dd>
                        <dt>"fp32 accuracy"</dt><dd data-out="int8-fp32">{format!("{} ({} test images, {})", pct(r.fp32), r.images, r.ran_fp32)}</dd>
                        <dt>"int8 accuracy"</dt><dd data-out="int8-acc">{format!("{} ({:+.2} points; {:.0} images/s, integers only, CPU)", pct(r.int8), 100.0 * (r.int8 - r.fp32), r.int8_images_per_s)}</dd>
                        <dt>"ReLU layers in the int8 model"</dt><dd data-out="relu-layers">{r.net.relu_layers()}</dd>
                        <dt>"with an explicit ReLU added"</dt><dd data-out="relu-same">{format!("identical logits on {} of {} images", r.relu_same, r.relu_checked)}</dd>
                        <dt>"fp32 without its ReLUs"</dt><dd data-out="no-relu">{pct(r.fp32_no_relu)}</dd>
                        <dt>"int8 model size"</dt><dd>{mib(r.net.model_bits())}</dd>
                    </dl>
                    <div class="table-scroll">
                        <table class="numbers" aria-label="Calibrated ranges and scales">
                            <thead><tr><th scope="col">"layer"</th><th scope="col">"output range"</th><th scope="col">"S_out"</th><th scope="col">"Z_out"</th><th scope="col">"weight scales S_w"</th></tr></thead>
                            <tbody>
                                {r.net.convs.iter().enumerate().map(|(i, c)| {
                                    let (lo, hi) = c.weight_scale.iter().fold((f64::INFINITY, 0.0f64), |(a, b), &s| (a.min(s), b.max(s)));
                                    view! {
                                        <tr><td>{NAMES[i]}</td><td>{format!("[0, {:.3}]", c.output.scale * 255.0)}</td>
                                            <td>{format!("{:.5}", c.output.scale)}</td><td>{c.output.zero_point}</td>
                                            <td>{format!("{lo:.2e} to {hi:.2e}")}</td></tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                    <p>
                        "Removing the ReLUs changes nothing in the integer model (the clamp at the zero point \
                         does their work) but ruins the float one ("{pct(r.fp32_no_relu)}"): there, without \
                         the ReLU, negative values flow on into the next layer."
                    </p>
                }.into_any(),
            })}
        </Section>
    }
}
