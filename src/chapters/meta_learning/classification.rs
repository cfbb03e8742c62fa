//! Parts (h)-(i): MAML for classification, with K gradient steps on the logistic loss inside and
//! logistic regression on the weighted features to evaluate.

use super::experiment::{Experiment, PlotNames};
use super::settings::CLS_FIELDS;
use super::state::MetaLearningState;
use crate::ui::controls::FieldInput;
use crate::ui::math::{prose, tex, Prose, M};
use crate::ui::Section;
use leptos::prelude::*;

static CLS_PLOTS: PlotNames = PlotNames {
    test_loss: "cls_test_error",
    zoom: "cls_test_error_zoom",
    weights: "cls_feature_weights",
    fit: "cls_task_fit",
};

/// Parts (h)-(i), with their controls and their live experiment.
#[component]
pub fn Classification() -> impl IntoView {
    let cls = crate::ui::context::<MetaLearningState>().cls;

    view! {
        <Section id="part-h">
            <h2 id="part-h">"(h)–(i) Meta-learning for classification"</h2>
            <Prose html=prose!(r#"
                <p>Now the tasks are classification: the label of a point is the sign of the task's
                function (sign 0 counts as +1), taken of the same noisy targets. The inner loop
                takes \(K\) gradient steps on the logistic loss \(\ell(z, y) = \log(1 + e^{-yz})\)
                with weight decay \(10^{-5}\) and step 0.01 (or 0.3: try both); the meta loss is the
                logistic loss on 64 random points. The backward pass is the one above with
                \(q = -y\,\sigma(-yz)\) and the curvature \(\sigma(z)\sigma(-z)\) in place of 2.</p>
                <p>Evaluation fits each test task on \(n\) labelled random points, for \(n\) from 24
                to \(3d\), with a well-converged logistic regression on the weighted features,</p>
                \[\min_\beta \sum_i \ell(y_i, (\Phi\,\mathrm{diag}(c)\,\beta)_i) + \tfrac12\|\beta\|^2\]
                <p>(scikit-learn's default objective), solved by Newton's method with a preconditioned
                conjugate-gradient solve per step, stopped when the Newton decrement falls below
                \(10^{-10}\). The metric is the error rate on 1000 noiseless test points; chance is
                0.5. As with the min-norm rule, the penalty on \(\beta\) is a penalty
                \(\sum_k \alpha_k^2 / c_k^2\) on the prediction weights, so \(c_k^2\) again plays
                the prior variance.</p>
            "#)/>
            <div class="controls-grid">
                {CLS_FIELDS.iter().map(|f| view! { <FieldInput field=f settings=cls.settings/> }).collect_view()}
            </div>
            <Experiment v=cls names=&CLS_PLOTS lazy=true>
                <p>
                    "Part (h). The meta-learned weights classify far better than all-ones at small "
                    <M mathml=tex!("n")/>" and stay above the oracle, which knows the six true features. \
                     Part (i). In the weights, the favoured (true) features grow while all the others \
                     drift only slightly; with the larger inner step 0.3 the inner loop moves further, \
                     the meta-gradient is larger and the true weights grow faster. Each evaluation \
                     fits a few hundred logistic regressions, so the curve is redrawn every "
                    {move || cls.settings.with(|s| s.eval_every)}" iterations."
                </p>
            </Experiment>
        </Section>
    }
}
