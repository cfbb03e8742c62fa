//! The image lab's settings (all in the URL) and the state its sections share: the download, the
//! evaluation, and the fine-tuning run with the network it changes.

use super::SLUG;
use crate::url_state::{read_fields, write_fields, Bounds, Location, NumField};
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
    NumField {
        bounds: Bounds {
            key: "prune",
            label: "Channel pruning ratio r",
            min: 0.0,
            max: 0.9,
            step: 0.05,
            integer: false,
        },
        get: |s| s.ratio,
        set: |s, v| s.ratio = v,
    },
    NumField {
        bounds: Bounds {
            key: "eval_images",
            label: "Test images to classify",
            min: 100.0,
            max: 10_000.0,
            step: 100.0,
            integer: true,
        },
        get: |s| s.eval_images as f64,
        set: |s, v| s.eval_images = v as usize,
    },
    NumField {
        bounds: Bounds {
            key: "ft_steps",
            label: "Fine-tuning steps",
            min: 1.0,
            max: 2000.0,
            step: 1.0,
            integer: true,
        },
        get: |s| s.steps as f64,
        set: |s, v| s.steps = v as usize,
    },
    NumField {
        bounds: Bounds {
            key: "ft_batch",
            label: "Batch size",
            min: 8.0,
            max: 128.0,
            step: 8.0,
            integer: true,
        },
        get: |s| s.batch as f64,
        set: |s, v| s.batch = v as usize,
    },
    NumField {
        bounds: Bounds {
            key: "ft_lr",
            label: "Learning rate (start of the cosine schedule)",
            min: 0.0001,
            max: 0.5,
            step: 0.0001,
            integer: false,
        },
        get: |s| s.lr,
        set: |s, v| s.lr = v,
    },
    NumField {
        bounds: Bounds {
            key: "ft_seed",
            label: "Seed (batch order and augmentation)",
            min: 0.0,
            max: 1_000_000.0,
            step: 1.0,
            integer: true,
        },
        get: |s| s.seed as f64,
        set: |s, v| s.seed = v as u64,
    },
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
    pub settings: RwSignal<LabSettings>,
    /// The download of the data set and the weights.
    pub load: RwSignal<LoadState>,
    pub evaluation: RwSignal<EvalState>,
    pub tuning: RwSignal<Tuning>,
    /// The downloaded data set and weights, once there.
    pub lab: StoredValue<Option<Rc<Loaded>>, LocalStorage>,
    pub model: StoredValue<Model, LocalStorage>,
}

impl ImageLabState {
    /// The state for the settings in `location`, with a notice per bad parameter.
    pub fn new(location: &Location) -> (Self, Vec<String>) {
        let (start, notices) = settings_from_location(location);
        let state = ImageLabState {
            settings: RwSignal::new(start),
            load: RwSignal::new(LoadState::Idle),
            evaluation: RwSignal::new(EvalState::Idle),
            tuning: RwSignal::new(Tuning::default()),
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
