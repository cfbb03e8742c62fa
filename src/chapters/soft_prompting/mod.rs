//! Chapter 5, "Soft prompting": the pluralize task of chapter 4 taught to the frozen model by
//! training a few vectors read before the question (a soft prompt, or a key/value prefix at every
//! layer), live in this browser, against chapter 4's hard prompts and against fine-tuning every
//! weight (which forgets); which outputs carry the loss; why the prompt's states can be computed
//! once. The computation: `glassbox_lab::lm::tuning`; how the page drives it: `run`.

mod answers_table;
mod compare;
mod loss_cells;
mod meta;
mod precompute;
pub(crate) mod run;
pub(crate) mod state;
mod train;

use crate::ui::math::{prose, Prose};
use crate::ui::notices::UrlNotices;
use crate::ui::Section;
use crate::url_state::Location;
use crate::vision::data::LoadStatus;
use compare::Compare;
use leptos::prelude::*;
use loss_cells::LossCells;
use meta::MetaInit;
use precompute::Precompute;
use state::SoftState;
use train::TrainPrompt;

pub const SLUG: &str = "soft-prompting";

#[component]
pub fn SoftPrompting(location: Location) -> impl IntoView {
    let (state, notices) = SoftState::new(&location);
    provide_context(state);
    let load = state.load;
    view! {
        <article class="chapter">
            <h1>"Soft prompting"</h1>
            <UrlNotices notices/>
            <Prose html=prose!(r#"
                <p>Chapter 4 asked the model for plurals in words, and it mostly failed: 5% of the
                validation nouns with “The plural of X is”, at best about 17% with worked examples.
                Yet the model has read thousands of sentences such as “one wolf, two wolves”: the
                skill is there, the words do not reach it. Here the prompt is learned instead of
                written. The model's 821,504 weights stay frozen; only the prompt changes, and the
                training runs in this browser.</p>
            "#)/>
            <LoadStatus load/>
            <TrainPrompt/>
            <Compare/>
            <LossCells/>
            <Precompute/>
            <MetaInit/>
            <Section id="literature">
                <h2 id="literature">"What the literature found, and what this model shows"</h2>
                <Prose html=prose!(r#"
                    <p>Prompt tuning (Lester, Al-Rfou and Constant, “The Power of Scale for
                    Parameter-Efficient Prompt Tuning”, EMNLP 2021) trains only input vectors of a
                    frozen T5. On small models it trails full fine-tuning by a wide margin, and the
                    gap closes only as the model reaches billions of parameters; starting the
                    vectors from real token embeddings beats starting at random. Prefix tuning (Li
                    and Liang, “Prefix-Tuning: Optimizing Continuous Prompts for Generation”, ACL
                    2021) trains keys and values at every layer instead, more parameters with a more
                    direct hold on each layer, and works on smaller models. Both elicit what a model
                    already knows more than they teach it something new.</p>
                    <p>Our model is tiny (0.8 million parameters), and it agrees in part: the
                    comparison above puts full fine-tuning ahead of the soft prompt, on the
                    validation nouns and more so on the test irregulars, which a prompt has to find
                    in what the model already knows. It disagrees in part too: on this task a random
                    start trains as well as the hard-prompt start (try the switch), and a trained
                    prompt of a few thousand numbers lifts the model from 5% to about 75% on nouns
                    it never trained on, because the skill is in the weights: the corpus pairs
                    thousands of singulars with their plurals.</p>
                "#)/>
            </Section>
        </article>
    }
}
