//! How the chapter's sections run the model: a generator answered on WebGPU when the page has it
//! (else the CPU), the text decoded, and where it ran in words.

use super::state::PromptingState;
use crate::engine::Engine;
use crate::lm::{run_generation, LoadedLm};
use glassbox_gpu::Ran;
use glassbox_lab::lm::pluralize::Answer;
use glassbox_lab::lm::plurals::Noun;
use glassbox_lab::lm::{Extras, Generator};
use leptos::prelude::*;

/// "WebGPU" or "the CPU".
pub fn ran_on(ran: Ran) -> &'static str {
    match ran {
        Ran::Gpu => "WebGPU",
        Ran::Cpu => "the CPU",
    }
}

/// Run `gen` to its end (or until `tick` says stop) on the engine; (ms, where it ran).
pub async fn generate(
    engine: Engine,
    lm: &LoadedLm,
    gen: &mut Generator,
    tick: impl FnMut(&Generator) -> bool,
) -> Result<(f64, Ran), String> {
    let done = run_generation(lm, engine.gpu(), engine, Extras::default(), gen, tick).await?;
    Ok((done.ms, done.ran))
}

/// `noun`'s plural as the model answers `prompt` greedily, scored (`pluralize`); with the ms
/// and where it ran.
pub async fn answer(
    engine: Engine,
    lm: &LoadedLm,
    prompt: &str,
    noun: &Noun,
) -> Result<(Answer, f64, Ran), String> {
    crate::lm::answer_plural(lm, engine.gpu(), engine, prompt, noun).await
}

/// A character as a chart label: space and newline made visible.
pub fn show_char(c: char) -> String {
    match c {
        ' ' => "\u{2423}".into(),
        '\n' => "\\n".into(),
        c => c.to_string(),
    }
}

impl PromptingState {
    /// Hold the model for one computation: false (and nothing held) when another holds it.
    pub fn hold(self) -> bool {
        if self.busy.get_untracked() {
            return false;
        }
        self.busy.set(true);
        true
    }
}
