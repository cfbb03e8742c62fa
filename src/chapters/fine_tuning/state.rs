//! The chapter's settings (their URL keys are in `fields`), and what its sections share: the
//! settings, the downloaded data and network, and whether a fine-tuning run holds the page (one
//! at a time: a single run, the sweep, the three shifts or the stage-noise matrix).

use super::fields::{location_of, settings_from_location};
use crate::calc::Calc;
use crate::url_state::Location;
use crate::var::Var;
use crate::vision::data::{LoadState, Loaded, PageData};
use crate::web;
use glassbox_lab::shift::{Corruption, Shift, Tune, TuneSettings};
use leptos::prelude::*;
use std::rc::Rc;

/// The shift kinds, as the URL and the select name them.
pub const SHIFTS: &[(&str, &str)] = &[
    ("corruption", "Input: a corruption"),
    ("flip", "Label: flip y -> 9 - y"),
    ("stage-noise", "Feature: noise on one block"),
];

#[derive(Clone, Debug, PartialEq)]
pub struct FtSettings {
    /// `corruption`, `flip` or `stage-noise`.
    pub shift: &'static str,
    pub corruption: Corruption,
    pub severity: u8,
    /// The perturbed block, 0..4.
    pub noise_block: usize,
    pub alpha: f64,
    pub tune: Tune,
    pub images: usize,
    pub test_images: usize,
    pub epochs: usize,
    /// One learning rate, or the paper's grid {1e-2, 1e-3, 1e-4}.
    pub lr: f64,
    pub grid: bool,
    pub seed: u64,
    /// Test images per cell of the corruption heatmap.
    pub cell_images: usize,
    /// The test image of the example grid.
    pub example: usize,
}

impl Default for FtSettings {
    /// Sized for a browser: 500 images, 5 epochs at one learning rate (the paper's protocol is one
    /// button away).
    fn default() -> Self {
        FtSettings {
            shift: "corruption",
            corruption: Corruption::GaussianNoise,
            severity: 5,
            noise_block: 1,
            alpha: 1.0,
            tune: Tune::Block(0),
            images: 500,
            test_images: 1000,
            epochs: 5,
            lr: 1e-2,
            grid: false,
            seed: 0,
            cell_images: 500,
            example: 0,
        }
    }
}

pub const GRID: [f64; 3] = [1e-2, 1e-3, 1e-4];

impl FtSettings {
    pub fn shift(&self) -> Shift {
        match self.shift {
            "flip" => Shift::Flip,
            "stage-noise" => Shift::StageNoise {
                block: self.noise_block,
                alpha: self.alpha,
            },
            _ => Shift::Corruption {
                corruption: self.corruption,
                severity: self.severity,
            },
        }
    }

    /// The run's settings for tuning choice `tune`.
    pub fn tune_settings(&self, tune: Tune) -> TuneSettings {
        TuneSettings {
            shift: self.shift(),
            tune,
            images: self.images,
            test_images: self.test_images,
            epochs: self.epochs,
            lrs: if self.grid {
                GRID.to_vec()
            } else {
                vec![self.lr]
            },
            seed: self.seed,
            ..TuneSettings::default()
        }
    }

    /// The paper's protocol: 1000 images, 10 epochs, the learning-rate grid.
    pub fn paper(&self) -> FtSettings {
        FtSettings {
            images: 1000,
            test_images: 1000,
            epochs: 10,
            grid: true,
            ..self.clone()
        }
    }
}

/// Call `clear` whenever a setting that the sections' runs depend on changes (the shift and the
/// protocol; not the single run's tuning choice, nor the heatmap's settings), so no figure shows
/// results of settings no longer on the page.
pub fn clear_on_change(settings: Var<FtSettings>, clear: impl Fn() + 'static) {
    let key = Calc::new(move |_| {
        settings.with(|s| {
            let runs = FtSettings {
                tune: Tune::Head,
                cell_images: 0,
                example: 0,
                ..s.clone()
            };
            format!("{runs:?}")
        })
    });
    Effect::new(move |prev: Option<String>| {
        let k = key.get();
        if prev.is_some_and(|p| p != k) {
            clear();
        }
        k
    });
}

/// What more than one section reads: the settings, the data, and whether a run holds the CPU.
#[derive(Clone, Copy)]
pub struct FineTuningState {
    pub settings: Var<FtSettings>,
    pub load: Var<LoadState>,
    pub lab: Var<Option<Rc<Loaded>>>,
    /// A fine-tuning run (single or sweep) is in progress; the other waits.
    pub busy: Var<bool>,
}

impl FineTuningState {
    pub fn new(location: &Location) -> (Self, Vec<String>) {
        let (start, notices) = settings_from_location(location);
        let settings = Var::new(start);
        crate::ui::effect(move || web::publish(&location_of(&settings.get())));
        let PageData { load, lab } = PageData::load_now();
        let state = FineTuningState {
            settings,
            load,
            lab,
            busy: Var::new(false),
        };
        (state, notices)
    }
}

#[cfg(test)]
mod tests {
    use super::super::fields::TUNE_OPTIONS;
    use super::*;

    #[test]
    fn settings_make_valid_runs() {
        let s = FtSettings::default();
        for t in Tune::ALL {
            s.tune_settings(t).validate().unwrap();
            s.paper().tune_settings(t).validate().unwrap();
        }
        assert_eq!(s.paper().tune_settings(Tune::Head).lrs, GRID.to_vec());
        let names: Vec<String> = Tune::ALL.iter().map(|t| t.name()).collect();
        assert_eq!(
            names,
            TUNE_OPTIONS
                .iter()
                .map(|(k, _)| k.to_string())
                .collect::<Vec<_>>()
        );
    }
}
