//! The setup: a task is a sum of a few unknown Fourier features; the learner fits every task with
//! all of them, scaled by feature weights shared across tasks.

use crate::ui::math::{prose, Prose};
use crate::ui::Section;
use leptos::prelude::*;

/// The setup, in prose and formulas.
#[component]
pub fn Setup() -> impl IntoView {
    view! {
        <Section id="setup">
            <h2 id="setup">"The setup"</h2>
            <Prose html=prose!(r#"
                <p>A task is a function built from a few unknown features:
                \(y = \sum_{s \in S} \alpha_s \phi_s(x)\), where the features are sines and cosines
                on \([-1, 1]\) and the set \(S\) of true features is the same for every task while
                the coefficients are new each time. The learner does not know \(S\). It fits every
                task with all \(d\) features, each scaled by a feature weight \(c_k\) that is shared
                across tasks:</p>
                \[\hat y(x) = \sum_{k=0}^{d-1} \beta_k\, c_k\, \phi_k(x).\]
                <p>The weights \(c\) stand in for everything a deep network learns before its last
                layer; \(\beta\) is the task-specific last layer. With few training points and many
                features the fit is under-determined, so we need a rule to pick one of its many
                exact solutions.</p>
            "#)/>
        </Section>
    }
}
