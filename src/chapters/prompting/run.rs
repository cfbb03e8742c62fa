//! How the chapter's sections run the model: a generator answered on WebGPU when the page has it
//! (else the CPU), the text decoded, and where it ran in words; runs of pluralize answers on the
//! worker pool when the page has no WebGPU.

use super::state::PromptingState;
use crate::engine::Engine;
use crate::lm::{answer_plurals_on_workers, run_generation, worker_round, LoadedLm};
use crate::web;
use crate::workers::pool;
use glassbox_gpu::Ran;
use glassbox_lab::lm::pluralize::Answer;
use glassbox_lab::lm::plurals::Noun;
use glassbox_lab::lm::{Extras, Generator};
use std::ops::Range;

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
    tick: &mut dyn FnMut(&Generator) -> bool,
) -> Result<(f64, Ran), String> {
    let done = run_generation(lm, true, engine, Extras::default(), gen, tick).await?;
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
    crate::lm::answer_plural(lm, true, engine, prompt, noun).await
}

/// Where a run of answers was computed, and for how long (ms: the page thread's and the device's
/// computation, the workers' wall-clock).
#[derive(Default)]
pub struct Answered {
    pub ms: f64,
    pub place: String,
}

impl Answered {
    /// A run's progress line: "{done} of {of} ({ms} ms on {place})", `of` saying what is counted
    /// ("800 answers").
    pub fn progress(&self, done: usize, of: &str) -> String {
        format!("{done} of {of} ({:.0} ms on {})", self.ms, self.place)
    }
}

/// The answers to prompts `range` (`ask(i)`: prompt i and the noun it asks about), in order,
/// each handed to `got(i, answer, so far)`. On WebGPU (or without a worker pool) one at a time,
/// yielding between answers; else in rounds on the worker pool, one job of prompts per worker (a
/// pool given up during a round leaves the rest to the page's thread). `go()` is asked before each
/// answer or round: false stops the run there (a reader's Pause).
pub async fn answer_all<'n>(
    engine: Engine,
    lm: &LoadedLm,
    range: Range<usize>,
    ask: &dyn Fn(usize) -> Result<(String, &'n Noun), String>,
    got: &mut dyn FnMut(usize, Answer, &Answered),
    go: &dyn Fn() -> bool,
) -> Result<Answered, String> {
    let mut done = Answered::default();
    let mut i = range.start;
    while i < range.end && go() {
        if let Some(pool) = (!engine.on_webgpu()).then(pool::pool).flatten() {
            let end = (i + worker_round(&pool)).min(range.end);
            let asks = (i..end).map(ask).collect::<Result<Vec<_>, _>>()?;
            let t = web::now_ms();
            if let Ok(Some(answers)) = answer_plurals_on_workers(
                &pool,
                lm,
                None,
                Extras::default(),
                &asks,
                &|_| {},
                &|| true,
            )
            .await
            {
                done.ms += web::now_ms() - t;
                done.place = format!("the CPU, {}", crate::workers::named(pool.workers()));
                for a in answers {
                    got(i, a, &done);
                    i += 1;
                }
                continue;
            }
        }
        let (prompt, noun) = ask(i)?;
        let (a, ms, ran) = answer(engine, lm, &prompt, noun).await?;
        done.ms += ms;
        done.place = ran_on(ran).to_string();
        got(i, a, &done);
        i += 1;
        crate::tasks::breathe().await;
    }
    Ok(done)
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
