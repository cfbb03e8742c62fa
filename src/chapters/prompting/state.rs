//! The chapter's settings and their URL keys, and what its sections share: the settings, the
//! language model (loaded when the page opens), and whether a computation holds the model.

use crate::calc::Calc;
use crate::lm::{ensure_lm, LoadedLm};
use crate::url_state::{num_field, read_fields, write_fields, Location, NumField};
use crate::var::Var;
use crate::vision::data::LoadState;
use crate::web;
use glassbox_lab::lm::Session;
use std::rc::Rc;

/// Longest prompt the page takes (the model reads its last 128 characters).
pub const MAX_PROMPT: usize = 2000;

#[derive(Clone, Debug, PartialEq)]
pub struct PromptSettings {
    pub prompt: String,
    pub temperature: f64,
    pub top_k: usize,
    pub seed: u64,
    pub chars: usize,
    pub digits: usize,
    pub digits_temperature: f64,
    pub shots_seed: u64,
    pub test_shots: usize,
}

impl Default for PromptSettings {
    fn default() -> Self {
        PromptSettings {
            prompt: "one wolf, two".into(),
            temperature: 0.8,
            top_k: 0,
            seed: 0,
            chars: 200,
            digits: 100,
            digits_temperature: 1.0,
            shots_seed: 0,
            test_shots: 3,
        }
    }
}

macro_rules! field {
    ($($args:tt)*) => {
        num_field!(PromptSettings; $($args)*)
    };
}

pub static PLAY_FIELDS: [NumField<PromptSettings>; 4] = [
    field!(
        "t",
        "Temperature (0 = greedy)",
        0.0,
        2.0,
        0.05,
        false,
        temperature
    ),
    field!(
        "top_k",
        "Top-k (0 = all characters)",
        0.0,
        92.0,
        1.0,
        true,
        top_k
    ),
    field!("seed", "Seed", 0.0, 1_000_000.0, 1.0, true, seed),
    field!(
        "chars",
        "Characters to write",
        1.0,
        2000.0,
        1.0,
        true,
        chars
    ),
];

pub static DIGIT_FIELDS: [NumField<PromptSettings>; 2] = [
    field!(
        "digits",
        "Digits asked for",
        10.0,
        1000.0,
        10.0,
        true,
        digits
    ),
    field!(
        "digits_t",
        "Temperature of the digits",
        0.0,
        2.0,
        0.05,
        false,
        digits_temperature
    ),
];

pub static SHOT_FIELDS: [NumField<PromptSettings>; 1] = [field!(
    "shots_seed",
    "Seed of the examples' choice",
    0.0,
    1_000_000.0,
    1.0,
    true,
    shots_seed
)];

pub static TEST_FIELDS: [NumField<PromptSettings>; 1] = [field!(
    "test_shots",
    "Worked examples before each test noun",
    0.0,
    9.0,
    1.0,
    true,
    test_shots
)];

/// A prompt the page accepts: not empty, at most `MAX_PROMPT` characters.
pub fn check_prompt(p: &str) -> Result<(), String> {
    if p.is_empty() {
        return Err("the prompt is empty: give at least one character to continue".into());
    }
    let n = p.chars().count();
    if n > MAX_PROMPT {
        return Err(format!(
            "the prompt has {n} characters; at most {MAX_PROMPT}"
        ));
    }
    Ok(())
}

pub fn settings_from_location(loc: &Location) -> (PromptSettings, Vec<String>) {
    let mut s = PromptSettings::default();
    let mut notices = Vec::new();
    read_fields(loc, &PLAY_FIELDS, &mut s, &mut notices);
    read_fields(loc, &DIGIT_FIELDS, &mut s, &mut notices);
    read_fields(loc, &SHOT_FIELDS, &mut s, &mut notices);
    read_fields(loc, &TEST_FIELDS, &mut s, &mut notices);
    if let Some(p) = loc.get("prompt") {
        match check_prompt(p) {
            Ok(()) => s.prompt = p.to_string(),
            Err(e) => notices.push(format!(
                "URL parameter prompt: {e}; using \u{201c}{}\u{201d}.",
                s.prompt
            )),
        }
    }
    (s, notices)
}

pub fn location_of(s: &PromptSettings) -> Location {
    let d = PromptSettings::default();
    let mut params = Vec::new();
    if s.prompt != d.prompt {
        params.push(("prompt".to_string(), s.prompt.clone()));
    }
    write_fields(&PLAY_FIELDS, s, &d, &mut params);
    write_fields(&DIGIT_FIELDS, s, &d, &mut params);
    write_fields(&SHOT_FIELDS, s, &d, &mut params);
    write_fields(&TEST_FIELDS, s, &d, &mut params);
    Location {
        route: super::SLUG.into(),
        params,
    }
}

/// What more than one section reads.
#[derive(Clone, Copy)]
pub struct PromptingState {
    pub settings: Var<PromptSettings>,
    pub load: Var<LoadState>,
    pub lm: Var<Option<Rc<LoadedLm>>>,
    /// A computation on the model is in progress; the others wait.
    pub busy: Var<bool>,
    /// The next character's logits after the prompt (its last `context` characters, characters
    /// outside the vocabulary mapped to the fallback), on the CPU; None until the model is loaded.
    pub logits: Calc<Option<Result<Vec<f32>, String>>>,
}

/// The next-character logits after `prompt`.
fn next_logits(lm: &LoadedLm, prompt: &str) -> Result<Vec<f32>, String> {
    check_prompt(prompt)?;
    let ids = lm.vocab.encode_lossy(prompt).tokens;
    let room = lm.model.config.context;
    Session::new(&lm.model)?.feed(&ids[ids.len().saturating_sub(room)..])
}

impl PromptingState {
    pub fn new(location: &Location) -> (Self, Vec<String>) {
        let (start, notices) = settings_from_location(location);
        let settings = Var::new(start);
        crate::ui::effect(move || web::publish(&location_of(&settings.get())));
        let load = Var::new(LoadState::Idle);
        let lm = Var::new(None::<Rc<LoadedLm>>);
        crate::tasks::spawn_page_task(async move {
            if let Some(m) = ensure_lm(load).await {
                lm.set(Some(m));
            }
        });
        let logits = Calc::new(move |_| {
            let prompt = settings.with(|s| s.prompt.clone());
            lm.with(|m| m.as_ref().map(|m| next_logits(m, &prompt)))
        });
        let state = PromptingState {
            settings,
            load,
            lm,
            busy: Var::new(false),
            logits,
        };
        (state, notices)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_round_trips_and_bad_values_are_named() {
        let s = PromptSettings {
            prompt: "a b&c=d?".into(),
            temperature: 1.5,
            top_k: 5,
            test_shots: 9,
            ..PromptSettings::default()
        };
        let loc = Location::parse(&location_of(&s).to_hash());
        assert_eq!(settings_from_location(&loc), (s, vec![]));
        let long = "x".repeat(MAX_PROMPT + 1);
        let loc = Location::parse(&format!(
            "#/prompting?prompt={long}&t=NaN&top_k=200&test_shots=10"
        ));
        let (s, notices) = settings_from_location(&loc);
        assert_eq!(s, PromptSettings::default());
        assert_eq!(notices.len(), 4, "{notices:?}");
        assert!(notices
            .iter()
            .any(|n| n.contains("prompt") && n.contains("2000")));
        let (_, notices) = settings_from_location(&Location::parse("#/prompting?prompt="));
        assert!(notices[0].contains("empty"), "{notices:?}");
    }
}
