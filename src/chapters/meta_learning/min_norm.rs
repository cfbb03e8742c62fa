//! Part (a): the min-norm solution of an under-determined system, checked against other exact
//! solutions of a random Gaussian system.

use super::settings::MN_FIELDS;
use super::state::MetaLearningState;
use crate::calc::Calc;
use crate::ui::controls::FieldInput;
use crate::ui::math::{prose, Prose};
use crate::ui::Section;
use glassbox_lab::maml::min_norm;
use leptos::prelude::*;

/// Part (a), with its random system's controls and the table of exact solutions.
#[component]
pub fn MinNorm() -> impl IntoView {
    let mn = crate::ui::context::<MetaLearningState>().mn;
    let mn_demo = Calc::new(move |_| {
        let s = mn.get();
        min_norm::demo(s.seed, s.n, s.d, 4)
    });

    view! {
        <Section id="part-a">
            <h2 id="part-a">"(a) The min-norm solution"</h2>
            <Prose html=prose!(r#"
                <p>Among all \(\beta\) with \(A\beta = y\) (with \(A\) of size \(n \times d\),
                \(n < d\), full row rank), the shortest one is</p>
                \[\beta^\star = A^\top (A A^\top)^{-1} y.\]
                <p>Why: \(\beta^\star\) lies in the row space of \(A\), and any other exact solution
                adds a vector \(z\) with \(Az = 0\), which is orthogonal to the row space. So
                \(\|\beta^\star + z\|^2 = \|\beta^\star\|^2 + \|z\|^2\). We never form the inverse:
                \(AA^\top\) is factored by Cholesky and two triangular solves give the answer.
                Below, a random Gaussian system and a few other exact solutions: all fit the data,
                all are longer.</p>
            "#)/>
            <div class="controls-grid">
                {MN_FIELDS.iter().map(|f| view! { <FieldInput field=f settings=mn/> }).collect_view()}
            </div>
            {move || match mn_demo.get() {
                Ok(demo) => view! {
                    <table class="numbers" aria-label="Exact solutions of the random system">
                        <thead><tr><th scope="col">"solution"</th><th scope="col">"norm"</th><th scope="col">"max |A beta - y|"</th></tr></thead>
                        <tbody>
                            {std::iter::once(demo.min_norm.clone()).chain(demo.others.clone()).map(|s| view! {
                                <tr><td>{s.label}</td><td>{format!("{:.4}", s.norm)}</td><td>{format!("{:.1e}", s.residual)}</td></tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
                Err(e) => view! { <p class="notice error" role="alert">{e}</p> }.into_any(),
            }}
        </Section>
    }
}
