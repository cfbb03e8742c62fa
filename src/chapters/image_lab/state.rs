//! The image lab's settings (all in the URL) and the state its sections share: the download, the
//! evaluation, and the fine-tuning run with the network it changes.

use super::SLUG;
use crate::url_state::{num_field, read_fields, write_fields, Location, NumField};
use crate::var::Var;
use crate::vision::data::{LoadState, Loaded};
use crate::vision::finetune::{Model, Tuning};
use glassbox_lab::vision::train::Evaluation;
use leptos::prelude::*;
use std::rc::Rc;

/// The appendix's settings, all in the URL.
#[derive(Clone, Debug, PartialEq)]
pub struct LabSettings {
    /// Channel pruning ratio of the calculator.
    pub ratio: f64,
    /// Test images to evaluate (the first ones of the test set).
    pub eval_images: usize,
    pub steps: usize,
    pub batch: usize,
    pub lr: f64,
    pub seed: u64,
}

impl Default for LabSettings {
    fn default() -> Self {
        LabSettings {
            ratio: 0.3,
            eval_images: 10_000,
            steps: 200,
            batch: 32,
            lr: 0.01,
            seed: 0,
        }
    }
}

pub static FIELDS: [NumField<LabSettings>; 6] = [
    num_field!(LabSettings; "prune", "Channel pruning ratio r", 0.0, 0.9, 0.05, false, ratio),
    num_field!(LabSettings; "eval_images", "Test images to classify", 100.0, 10_000.0, 100.0, true, eval_images),
    num_field!(LabSettings; "ft_steps", "Fine-tuning steps", 1.0, 2000.0, 1.0, true, steps),
    num_field!(LabSettings; "ft_batch", "Batch size", 8.0, 128.0, 8.0, true, batch),
    num_field!(LabSettings; "ft_lr", "Learning rate (start of the cosine schedule)", 0.0001, 0.5, 0.0001, false, lr),
    num_field!(LabSettings; "ft_seed", "Seed (batch order and augmentation)", 0.0, 1_000_000.0, 1.0, true, seed),
];

/// Settings from the URL, with a notice per bad parameter.
pub fn settings_from_location(loc: &Location) -> (LabSettings, Vec<String>) {
    let mut s = LabSettings::default();
    let mut notices = Vec::new();
    read_fields(loc, &FIELDS, &mut s, &mut notices);
    (s, notices)
}

pub fn location_of(s: &LabSettings) -> Location {
    let mut params = Vec::new();
    write_fields(&FIELDS, s, &LabSettings::default(), &mut params);
    Location {
        route: SLUG.into(),
        params,
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum EvalState {
    Idle,
    Running(f64),
    /// The evaluation, seconds of computation, where it ran, which network.
    Done(Evaluation, f64, &'static str, String),
}

/// What more than one section reads or writes, shared through context. The evaluation and the
/// fine-tuning never run at once, and both evaluate or train the same `model`.
#[derive(Clone, Copy)]
pub struct ImageLabState {
    pub settings: Var<LabSettings>,
    /// The download of the data set and the weights.
    pub load: Var<LoadState>,
    pub evaluation: Var<EvalState>,
    pub tuning: Var<Tuning>,
    /// The downloaded data set and weights, once there.
    pub lab: StoredValue<Option<Rc<Loaded>>, LocalStorage>,
    pub model: StoredValue<Model, LocalStorage>,
}

impl ImageLabState {
    /// The state for the settings in `location`, with a notice per bad parameter.
    pub fn new(location: &Location) -> (Self, Vec<String>) {
        let (start, notices) = settings_from_location(location);
        let state = ImageLabState {
            settings: Var::new(start),
            load: Var::new(LoadState::Idle),
            evaluation: Var::new(EvalState::Idle),
            tuning: Var::new(Tuning::default()),
            lab: StoredValue::new_local(None),
            model: StoredValue::new_local(Model::default()),
        };
        (state, notices)
    }

    /// The data set or the weights are downloading.
    pub fn loading(self) -> bool {
        matches!(self.load.get(), LoadState::Loading(..))
    }
}
