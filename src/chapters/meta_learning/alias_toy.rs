//! Parts (b)-(d): a feature and its alias at one training point, and gradient descent on their two
//! feature weights.

use super::settings::TOY_FIELDS;
use super::state::MetaLearningState;
use crate::calc::Calc;
use crate::ui::controls::FieldInput;
use crate::ui::exercise::NumberExercise;
use crate::ui::math::{prose, Prose};
use crate::ui::plot::Plot;
use crate::ui::Section;
use glassbox_lab::figures;
use glassbox_lab::maml::alias_toy;
use leptos::prelude::*;

/// Parts (b)-(d), with the toy's controls, its descent figure and its final values.
#[component]
pub fn AliasToy() -> impl IntoView {
    let toy = crate::ui::context::<MetaLearningState>().toy;
    let toy_path = Calc::new(move |_| {
        let t = toy.get();
        alias_toy::descend(t.c0, t.c1, t.lr, t.steps)
    });
    let toy_ok = move || toy_path.get().ok().unwrap_or_default();
    // The worked question: E at the start, from the reader's c0 and c1.
    let start_error = crate::ui::derive(move || {
        toy.with(|t| {
            let s = t.c0 * t.c0 + t.c1 * t.c1;
            (s > 0.0).then(|| t.c1.powi(4) / (s * s))
        })
    });
    let explain_error = move |e: f64| {
        let t = toy.get_untracked();
        let s = t.c0 * t.c0 + t.c1 * t.c1;
        format!(
            "s = c0^2 + c1^2 = {s:.4}, so E = c1^4 / s^2 = {:.4} / {:.4} = {e:.4}.",
            t.c1.powi(4),
            s * s
        )
    };

    view! {
        <Section id="part-b">
            <h2 id="part-b">"(b)–(d) A feature and its alias"</h2>
            <Prose html=prose!(r#"
                <p>Take one training point at which a true feature \(\phi_0\) and a second feature
                \(\phi_1\) happen to have the same value, and the true function \(y = \phi_0\). Seen
                from that point the two features are identical: an alias. The min-norm fit with
                weights \(c_0, c_1\) is</p>
                \[\beta = \frac{[c_0,\ c_1]}{c_0^2 + c_1^2}, \qquad \alpha_k = c_k\beta_k = \frac{c_k^2}{c_0^2 + c_1^2}.\]
                <p>So the prediction splits the signal between the two features in proportion to
                \(c_k^2\). If the features are orthonormal under the test distribution, the test
                error (with the usual one-half) and its gradient are</p>
                \[E = \frac{c_1^4}{s^2},\quad \frac{\partial E}{\partial c_0} = -\frac{4 c_0 c_1^4}{s^3},\quad \frac{\partial E}{\partial c_1} = \frac{4 c_0^2 c_1^3}{s^3},\qquad s = c_0^2 + c_1^2.\]
                <p>The gradient is orthogonal to \(c\) (\(c \cdot \nabla E = 0\)), so gradient flow
                moves \(c\) around a circle: \(c_1\) shrinks to zero, \(c_0\) grows to \(\|c(0)\|\),
                and \(\beta_0 \to 1/c_0\). Because the gradient near \(c_1 = 0\) is of order
                \(c_1^3\), the last part of the way is slow: \(c_1\) decays polynomially, not
                geometrically. With a finite step the norm creeps up a little, since each step adds
                \(\eta^2\|\nabla E\|^2\) to \(\|c\|^2\). Try a larger step size, or start with
                \(c_1 > c_0\).</p>
            "#)/>
            <div class="controls-grid">
                {TOY_FIELDS.iter().map(|f| view! { <FieldInput field=f settings=toy/> }).collect_view()}
            </div>
            {move || toy_path.get().err().map(|e| view! { <p class="notice error" role="alert">{e}</p> })}
            <Plot
                name="alias_toy"
                title="Gradient descent on the feature weights"
                summary=crate::ui::derive(move || figures::toy_summary(&toy_ok()))
                csv=crate::ui::derive(move || figures::toy_csv(&toy_ok()))
                draw=move |area, p| figures::draw_alias_toy(area, &toy_ok(), p)
            />
            <NumberExercise id="alias-error"
                question="Before any descent, with the starting c0 and c1 you set, what is the test error E of the min-norm fit?"
                answer=start_error tolerance=0.01 explain=explain_error
                hint="E = c1^4 / s^2 with s = c0^2 + c1^2 (the formula above); use the starting values, not the final ones."/>
            {move || toy_path.get().ok().and_then(|p| p.last().copied()).map(|t| view! {
                <dl class="readout" aria-label="Final values of the toy">
                    <dt>"c0"</dt><dd data-out="c0">{format!("{:.4}", t.c0)}</dd>
                    <dt>"c1"</dt><dd data-out="c1">{format!("{:.4}", t.c1)}</dd>
                    <dt>"||c||"</dt><dd>{format!("{:.4}", t.norm)}</dd>
                    <dt>"beta0"</dt><dd>{format!("{:.4} (1/c0 = {:.4})", t.beta0, 1.0 / t.c0)}</dd>
                    <dt>"beta1"</dt><dd>{format!("{:.4}", t.beta1)}</dd>
                    <dt>"E"</dt><dd>{format!("{:.2e}", t.error)}</dd>
                </dl>
            })}
        </Section>
    }
}
