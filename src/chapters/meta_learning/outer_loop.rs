//! What the three variants share: one outer loop and one evaluation driver; only the inner loop
//! (and with it the meta-gradient) changes.

use crate::ui::math::{prose, Prose};
use crate::ui::Section;
use leptos::prelude::*;

/// The closing section on what the three variants share.
#[component]
pub fn SharedOuterLoop() -> impl IntoView {
    view! {
        <Section id="shared">
            <h2 id="shared">"What the three variants share"</h2>
            <Prose html=prose!(r#"
                <p>Only the inner loop changes. The outer loop is the same code for all three: draw
                5 tasks, adapt each on its training points, score it on 64 fresh points, sum the
                gradients of those scores with respect to \(c\), take one SGD step, and stop with
                the last good weights if anything diverges. What differs is how a task adapts (an
                exact min-norm solve, or \(K\) gradient steps on squared or logistic loss) and
                therefore how the meta-gradient is computed (a closed formula, or reverse mode
                through the steps). The evaluation driver is shared too; only its per-task fit
                (min-norm or logistic regression) and metric (squared error or error rate)
                change.</p>
            "#)/>
        </Section>
    }
}
