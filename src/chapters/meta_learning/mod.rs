//! Chapter 1: meta-learning for learning 1D functions (parts a to i), live.
//!
//! Sections: (a) the min-norm solution, checked on a random system; (b)-(d) the aliased-feature toy
//! with gradient descent on its weights; (e)-(f) closed-form MAML at the notebook's settings,
//! trained in slices and evaluated on the workers (`sweep`) so the page stays responsive; (g) an
//! inner loop of gradient steps; (h)-(i) classification. The settings and their URL keys are in
//! `settings` and `state`; the live experiment the last three parts share is in `experiment` and
//! `live`.

mod alias_toy;
mod classification;
mod closed_form;
mod experiment;
mod experiment_plots;
mod gradient_steps;
mod live;
mod min_norm;
mod outer_loop;
mod settings;
mod setup;
pub(crate) mod state;
pub(crate) mod sweep;
mod train;

use crate::ui::math::{prose, Prose};
use crate::url_state::Location;
use crate::web;
use alias_toy::AliasToy;
use classification::Classification;
use closed_form::ClosedForm;
use gradient_steps::GradientSteps;
use leptos::prelude::*;
use min_norm::MinNorm;
use outer_loop::SharedOuterLoop;
use setup::Setup;
use state::{location_of, MetaLearningState};

pub const SLUG: &str = "meta-learning";

#[component]
pub fn MetaLearning(location: Location) -> impl IntoView {
    let (state, notices) = MetaLearningState::new(&location);
    provide_context(state);

    // Keep the address bar in step with every control.
    crate::ui::effect(move || {
        let loc = location_of(&state.settings());
        web::publish(&loc);
    });

    view! {
        <article class="chapter" aria-labelledby="chapter-title">
            <h1 id="chapter-title">"Meta-learning for learning 1D functions"</h1>
            {(!notices.is_empty()).then(|| view! {
                <div class="notice warning url-notice" role="alert">
                    <Prose html=prose!(r#"
                        <p><strong>Some settings in the address were not usable:</strong></p>
                    "#)/>
                    <ul>{notices.into_iter().map(|n| view! { <li>{n}</li> }).collect_view()}</ul>
                </div>
            })}
            <Prose html=prose!(r#"
                <p class="lede">A network that has seen many related tasks should need fewer
                examples for the next one. This chapter studies that idea in a model small enough to
                solve exactly: regression on Fourier features, where the only thing learned across
                tasks is how much weight each feature gets. Every number and figure below is
                computed in your browser as you read.</p>
            "#)/>

            <Setup/>
            <MinNorm/>
            <AliasToy/>
            <ClosedForm/>
            <GradientSteps/>
            <Classification/>
            <SharedOuterLoop/>
        </article>
    }
}
