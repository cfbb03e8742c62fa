//! Part (g): MAML with an inner loop of K gradient steps, its meta-gradient taken in reverse mode
//! through the steps.

use super::experiment::{Experiment, PlotNames};
use super::settings::GD_FIELDS;
use super::state::MetaLearningState;
use crate::ui::controls::FieldInput;
use crate::ui::math::{prose, Prose};
use crate::ui::Section;
use leptos::prelude::*;

static GD_PLOTS: PlotNames = PlotNames {
    test_loss: "gd_test_loss",
    zoom: "gd_test_loss_zoom",
    weights: "gd_feature_weights",
    fit: "gd_task_fit",
};

/// Part (g), with its controls and its live experiment.
#[component]
pub fn GradientSteps() -> impl IntoView {
    let gd = crate::ui::context::<MetaLearningState>().gd;

    view! {
        <Section id="part-g">
            <h2 id="part-g">"(g) An inner loop of gradient steps"</h2>
            <Prose html=prose!(r#"
                <p>A real network cannot be fitted in closed form. MAML's usual inner loop is a few
                steps of gradient descent, and the meta-gradient flows back through those steps.
                Here each task starts from \(\beta = 0\) and takes \(K\) steps of size
                \(\eta = 0.01\) on the mean squared error over 32 uniform random points. In
                prediction weights \(a = c \odot \beta\) one step reads</p>
                \[a_{t+1} = a_t - \frac{\eta}{n}\, c^2 \odot \Phi^\top q_t, \qquad q_t = 2(\Phi a_t - y).\]
                <p>The meta loss is measured after step \(K\), and its gradient with respect to
                \(c\) is taken exactly by running the steps backwards (reverse mode):
                \(\bar a_K = \Phi_m^\top q_m\), then for each step
                \(\bar s \leftarrow \bar s - \tfrac{\eta}{n}\, \bar a_{t+1} \odot \Phi^\top q_t\)
                and
                \(\bar a_t = \bar a_{t+1} - \tfrac{2\eta}{n}\, \Phi^\top \Phi (c^2 \odot \bar a_{t+1})\),
                with \(\partial L / \partial c = 2 c \odot \bar s\) (checked against finite
                differences for \(K\) = 1, 5 and 10). The evaluation is the same closed-form fit as
                above, with uniform random points.</p>
            "#)/>
            <div class="controls-grid">
                {GD_FIELDS.iter().map(|f| view! { <FieldInput field=f settings=gd.settings/> }).collect_view()}
            </div>
            <Experiment v=gd names=&GD_PLOTS lazy=true>
                <Prose html=prose!(r#"
                    <p>What to look for. With \(K = 5\) or \(K = 1\) the meta-learned curve drops
                    well below all-ones, as in the closed form: even one small step tells the outer
                    loop which features the tasks use, because the first step moves each coefficient
                    in proportion to \(c_k^2\) times that feature's correlation with the data. The
                    true features' weights grow several-fold. With \(K = 0\) the task model never
                    moves from zero, the meta loss does not depend on \(c\) at all, its gradient is
                    exactly zero and the weights stay at one: nothing is learned. The grid aliases
                    are not singled out this time: the inner points are random, so there is no alias
                    structure to learn, and there is no dip at \(n = 32\). (Occasional spikes in
                    both curves come from two random post-training points landing almost on top of
                    each other: the exact interpolation of noisy targets there needs enormous
                    coefficients. The tall peak near \(n = d\) is the same effect at its strongest:
                    with random points and a nearly square system, interpolation is at its worst
                    conditioned, the double-descent peak. Read the zoomed figure for
                    \(n \le 128\).)</p>
                "#)/>
            </Experiment>
        </Section>
    }
}
