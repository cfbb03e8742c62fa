//! The chapter's settings and their URL keys, and what its sections share: the language model
//! (loaded when the page opens), the held-out text (loaded when a comparison needs it), the best
//! hard prompt of chapter 4 at this seed, the last trained prompt, and whether a computation holds
//! the model.

use crate::lm::{ensure_lm, nouns_of, LoadedLm};
use crate::url_state::{num_field, read_fields, write_fields, Location, NumField};
use crate::var::Var;
use crate::vision::data::{fetch_checked, load_once, LoadState};
use crate::web;
use glassbox_lab::assets;
use glassbox_lab::lm::meta_prompt::TaskKind;
use glassbox_lab::lm::plurals::{self, Noun, Split, TRAIN_COUNT};
use glassbox_lab::lm::tuning::{Init, Method, TuneSettings};
use std::rc::Rc;

/// Most epochs the page trains for in one run.
pub const MAX_PAGE_EPOCHS: f64 = 50.0;
/// Most training nouns a run learns from: all of them.
const NOUNS: f64 = TRAIN_COUNT as f64;

#[derive(Clone, Debug, PartialEq)]
pub struct SoftSettings {
    /// Soft vectors (or prefix entries), 1 to 32.
    pub tokens: usize,
    pub epochs: usize,
    /// Training nouns the runs learn from, evenly spaced through the list (all by default).
    pub nouns: usize,
    pub lr: f64,
    pub init: Init,
    /// Train a key/value prefix at every layer instead.
    pub prefix: bool,
    pub seed: u64,
    /// Full fine-tuning's epochs and learning rate (the comparison).
    pub ft_epochs: usize,
    pub ft_lr: f64,
    /// Meta-learning: the held-out task and the meta-iterations.
    pub target: TaskKind,
    pub meta_steps: usize,
}

/// An f32 rate as the decimal it was written as (0.005, not 0.004999999888241291).
fn decimal(v: f32) -> f64 {
    glassbox_lab::decimal::parse(&v.to_string()).unwrap_or(v as f64)
}

impl Default for SoftSettings {
    fn default() -> Self {
        let soft = TuneSettings::new(Method::Soft);
        let full = TuneSettings::new(Method::Full);
        SoftSettings {
            tokens: soft.tokens,
            epochs: 5,
            nouns: TRAIN_COUNT,
            lr: decimal(soft.lr),
            init: Init::Hard,
            prefix: false,
            seed: 0,
            ft_epochs: 3,
            ft_lr: decimal(full.lr),
            target: TaskKind::Comparative,
            meta_steps: 50,
        }
    }
}

impl SoftSettings {
    /// The lab's settings for the run the training section starts.
    pub fn tune(&self) -> TuneSettings {
        let method = if self.prefix {
            Method::Prefix
        } else {
            Method::Soft
        };
        TuneSettings {
            method,
            tokens: self.tokens,
            epochs: self.epochs,
            lr: self.lr as f32,
            init: self.init,
            seed: self.seed,
            ..TuneSettings::new(method)
        }
    }

    /// The comparison's trained runs: a soft prompt and a prefix with the training section's
    /// length, epochs, start and seed (each at its method's default rate while the reader keeps
    /// the default), then full fine-tuning.
    pub fn compared(&self) -> Vec<TuneSettings> {
        let default_lr = self.lr == SoftSettings::default().lr;
        let trained = |prefix: bool| {
            let mut t = SoftSettings {
                prefix,
                ..self.clone()
            }
            .tune();
            if default_lr {
                t.lr = TuneSettings::new(t.method).lr;
            }
            t
        };
        vec![trained(false), trained(true), self.full()]
    }

    /// Full fine-tuning's settings for the comparison.
    pub fn full(&self) -> TuneSettings {
        TuneSettings {
            epochs: self.ft_epochs,
            lr: self.ft_lr as f32,
            seed: self.seed,
            ..TuneSettings::new(Method::Full)
        }
    }
}

macro_rules! field {
    ($($args:tt)*) => {
        num_field!(SoftSettings; $($args)*)
    };
}

pub static TRAIN_FIELDS: [NumField<SoftSettings>; 5] = [
    field!(
        "k",
        "Prompt length K (vectors)",
        1.0,
        32.0,
        1.0,
        true,
        tokens
    ),
    field!("epochs", "Epochs", 1.0, MAX_PAGE_EPOCHS, 1.0, true, epochs),
    field!("nouns", "Training nouns", 4.0, NOUNS, 1.0, true, nouns),
    field!("lr", "Learning rate (Adam)", 0.0001, 1.0, 0.0005, false, lr),
    field!("seed", "Seed", 0.0, 1_000_000.0, 1.0, true, seed),
];

pub static FULL_FIELDS: [NumField<SoftSettings>; 2] = [
    field!(
        "ft_epochs",
        "Full fine-tuning: epochs",
        1.0,
        20.0,
        1.0,
        true,
        ft_epochs
    ),
    field!(
        "ft_lr",
        "Full fine-tuning: learning rate",
        0.00001,
        0.01,
        0.00005,
        false,
        ft_lr
    ),
];

pub static META_FIELDS: [NumField<SoftSettings>; 1] = [field!(
    "meta_steps",
    "Meta-iterations (Reptile)",
    1.0,
    1000.0,
    1.0,
    true,
    meta_steps
)];

pub const TARGETS: &[(&str, &str)] = &[
    ("comparative", "comparative (tall, taller)"),
    ("past", "past tense (walk, walked)"),
    ("plural", "plural (cat, cats)"),
];

pub const INITS: &[(&str, &str)] = &[
    ("hard", "a hard prompt's embeddings"),
    ("random", "random vectors"),
];

pub const KINDS: &[(&str, &str)] = &[
    ("soft", "soft prompt (input vectors)"),
    ("prefix", "prefix (keys and values at every layer)"),
];

pub fn settings_from_location(loc: &Location) -> (SoftSettings, Vec<String>) {
    let mut s = SoftSettings::default();
    let mut notices = Vec::new();
    read_fields(loc, &TRAIN_FIELDS, &mut s, &mut notices);
    read_fields(loc, &FULL_FIELDS, &mut s, &mut notices);
    read_fields(loc, &META_FIELDS, &mut s, &mut notices);
    match loc.get("target").map(|v| (v, TaskKind::parse(v))) {
        None => {}
        Some((_, Some(k))) => s.target = k,
        Some((v, None)) => notices.push(format!(
            "URL parameter target: '{v}' is not plural, past or comparative; using comparative."
        )),
    }
    match loc.get("init") {
        None => {}
        Some("hard") => s.init = Init::Hard,
        Some("random") => s.init = Init::Random,
        Some(v) => notices.push(format!(
            "URL parameter init: '{v}' is not hard or random; using hard."
        )),
    }
    match loc.get("tuning") {
        None => {}
        Some("soft") => s.prefix = false,
        Some("prefix") => s.prefix = true,
        Some(v) => notices.push(format!(
            "URL parameter tuning: '{v}' is not soft or prefix; using soft."
        )),
    }
    (s, notices)
}

pub fn location_of(s: &SoftSettings) -> Location {
    let d = SoftSettings::default();
    let mut params = Vec::new();
    write_fields(&TRAIN_FIELDS, s, &d, &mut params);
    write_fields(&FULL_FIELDS, s, &d, &mut params);
    write_fields(&META_FIELDS, s, &d, &mut params);
    if s.target != d.target {
        params.push(("target".into(), s.target.name().into()));
    }
    if s.init != d.init {
        params.push(("init".into(), s.init.name().into()));
    }
    if s.prefix {
        params.push(("tuning".into(), "prefix".into()));
    }
    Location {
        route: super::SLUG.into(),
        params,
    }
}

/// The training nouns a run learns from: `s.nouns` of them, evenly spaced (empty until the model
/// has loaded).
pub fn training_nouns(s: &SoftSettings) -> Vec<&'static Noun> {
    plurals::spaced(nouns_of(Split::Train), s.nouns)
}

/// The best of chapter 4's hard prompts at a seed: its shots and its accuracy on the validation and
/// test nouns.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HardBest {
    pub seed: u64,
    pub shots: usize,
    pub val: f64,
    pub test: f64,
}

/// A finished training run of the training section.
#[derive(Clone, Debug)]
pub struct Trained {
    pub settings: TuneSettings,
    /// The soft prompt or prefix.
    pub params: Rc<Vec<f32>>,
    /// Per epoch from 0: (training loss, validation accuracy).
    pub curve: Vec<(f64, f64)>,
}

/// What more than one section reads.
#[derive(Clone, Copy)]
pub struct SoftState {
    pub settings: Var<SoftSettings>,
    pub load: Var<LoadState>,
    pub lm: Var<Option<Rc<LoadedLm>>>,
    /// A computation on the model is in progress; the others wait.
    pub busy: Var<bool>,
    pub hard: Var<Option<HardBest>>,
    pub trained: Var<Option<Trained>>,
    /// The held-out text's download (the comparison's forgetting measure).
    pub held_load: Var<LoadState>,
}

impl SoftState {
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
        let state = SoftState {
            settings,
            load,
            lm,
            busy: Var::new(false),
            hard: Var::new(None),
            trained: Var::new(None),
            held_load: Var::new(LoadState::Idle),
        };
        (state, notices)
    }

    /// The held-out text (`assets/lm/heldout.txt`) as the model's ids, downloaded the first time.
    pub async fn held_out(self, lm: &LoadedLm) -> Option<Rc<Vec<u32>>> {
        thread_local! {
            static HELD: std::cell::RefCell<Option<Rc<Vec<u32>>>> = const { std::cell::RefCell::new(None) };
        }
        let load = self.held_load;
        let fetch = async move {
            let bytes = fetch_checked(assets::HELDOUT, load).await?;
            let text = String::from_utf8(bytes)
                .map_err(|_| "the held-out text is not UTF-8".to_string())?;
            // Encoded 500 lines at a time (a few milliseconds each), yielding in between.
            let lines: Vec<&str> = text.split_inclusive('\n').collect();
            let mut ids = Vec::with_capacity(text.len());
            for group in lines.chunks(500) {
                ids.extend(lm.vocab.encode(&group.concat())?);
                web::sleep(0).await;
            }
            Ok(ids)
        };
        load_once(&HELD, load, "The held-out text could not be loaded", fetch).await
    }

    /// The model, held for one computation; None (and nothing held) while it is loading or another
    /// computation holds it.
    pub fn begin(self) -> Option<Rc<LoadedLm>> {
        let lm = self.lm.get_untracked()?;
        self.hold().then_some(lm)
    }

    /// Hold the model for one computation: false (and nothing held) when another holds it.
    fn hold(self) -> bool {
        if self.busy.get_untracked() {
            return false;
        }
        self.busy.set(true);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_comparison_runs_soft_prefix_and_full() {
        let d = SoftSettings::default();
        let runs = d.compared();
        let methods: Vec<Method> = runs.iter().map(|t| t.method).collect();
        assert_eq!(methods, [Method::Soft, Method::Prefix, Method::Full]);
        assert_eq!(
            (runs[0].lr, runs[1].lr),
            (0.005, 0.01),
            "each method's default rate"
        );
        let custom = SoftSettings {
            lr: 0.02,
            tokens: 6,
            ..d
        };
        let runs = custom.compared();
        assert_eq!((runs[0].lr, runs[1].lr, runs[1].tokens), (0.02, 0.02, 6));
    }

    #[test]
    fn the_url_round_trips_and_bad_values_are_named() {
        let s = SoftSettings {
            tokens: 32,
            epochs: 7,
            nouns: 40,
            lr: 0.02,
            init: Init::Random,
            prefix: true,
            seed: 4,
            ft_epochs: 2,
            ft_lr: 0.0001,
            target: TaskKind::Past,
            meta_steps: 200,
        };
        let loc = Location::parse(&location_of(&s).to_hash());
        assert_eq!(settings_from_location(&loc), (s, vec![]));
        let loc = Location::parse(
            "#/soft-prompting?k=0&epochs=1000&nouns=3&lr=NaN&init=zeros&tuning=both&ft_epochs=99&target=future",
        );
        let (s, notices) = settings_from_location(&loc);
        assert_eq!(s, SoftSettings::default());
        assert_eq!(notices.len(), 8, "{notices:?}");
        assert!(
            notices[0].contains("(k)") && notices[0].contains("1 to 32"),
            "{notices:?}"
        );
        let (_, notices) = settings_from_location(&Location::parse("#/soft-prompting?k=1000"));
        assert!(notices[0].contains("1000"), "{notices:?}");
    }
}
