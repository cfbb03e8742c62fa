//! Chapter 4, "Prompting a language model": the homework's prompting questions answered by our
//! own character-level model in this browser (the model: `crate::lm`, `glassbox_lab::lm`). A
//! playground with the next character's distribution, temperature measured, whether the model's
//! "random" digits are uniform, zero-shot against few-shot on the notebook's pluralize task, and
//! multiple choice by three strategies and two scorings, the model against one of a tenth of its
//! size, and its confidence when right and when wrong.
//! Generation runs on WebGPU when the page has it, otherwise on the CPU, with the same answers.

mod choice;
mod common;
mod confidence;
mod digits;
mod irregulars;
mod playground;
mod run;
mod shot_answers;
mod shots;
mod sizes;
pub(crate) mod state;
mod temperature;

use crate::ui::math::{prose, Prose};
use crate::ui::notices::UrlNotices;
use crate::url_state::Location;
use crate::vision::data::LoadStatus;
use choice::Choice;
use confidence::Confidence;
use digits::Digits;
use irregulars::Irregulars;
use leptos::prelude::*;
use playground::Playground;
use shots::Shots;
use sizes::Sizes;
use state::PromptingState;
use temperature::Temperature;

pub const SLUG: &str = "prompting";

#[component]
pub fn Prompting(location: Location) -> impl IntoView {
    let (state, notices) = PromptingState::new(&location);
    provide_context(state);
    let load = state.load;
    view! {
        <article class="chapter">
            <h1>"Prompting a language model"</h1>
            <UrlNotices notices/>
            <Prose html=prose!(r#"
                <p>A language model gives, for any text, a probability to each possible next
                character. Prompting is choosing the text so that the likely continuation is the one
                you want. The homework asked these questions of GPT-2 and of hosted models; here
                they are asked of Glassbox's own model, a GPT-2-style decoder of 0.8 million
                parameters trained on WordNet's definitions and generated sentences (its card is in
                the repository), which runs entirely in this browser. It is small enough that its
                failures are plain to see, and every number below is computed here.</p>
            "#)/>
            <LoadStatus load/>
            <Playground/>
            <Temperature/>
            <Digits/>
            <Shots/>
            <Irregulars/>
            <Choice/>
            <Sizes/>
            <Confidence/>
        </article>
    }
}
