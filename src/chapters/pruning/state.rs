//! The chapter's settings and their URL keys, and the state more than one section reads: the loaded
//! data, the fine-grained pruned network and its accuracy, the channel-pruned network and its
//! accuracy before fine-tuning.

use super::pruned::{prune_all, Pruned};
use super::SLUG;
use crate::calc::Calc;
use crate::url_state::{num_field, read_fields, write_fields, Bounds, Location, NumField};
use crate::var::Var;
use crate::vision::data::{LoadState, Loaded, PageData};
use crate::vision::finetune::TuneSpec;
use crate::web;
use glassbox_lab::compress::prune;
use glassbox_lab::vision::network::Network;
use leptos::prelude::*;
use std::rc::Rc;
use std::sync::Arc;

/// Prunable layers of the image lab's network: conv1..conv8, linear.
pub const LAYERS: usize = 9;
pub const NAMES: [&str; LAYERS] = [
    "conv1", "conv2", "conv3", "conv4", "conv5", "conv6", "conv7", "conv8", "linear",
];

#[derive(Clone, Debug, PartialEq)]
pub struct PruneSettings {
    pub sparsity: [f64; LAYERS],
    /// The layer whose histogram (and mask) is shown.
    pub layer: usize,
    pub eval_images: usize,
    pub scan_from: f64,
    pub scan_to: f64,
    pub scan_step: f64,
    pub scan_images: usize,
    pub ft_steps: usize,
    pub ft_batch: usize,
    pub ft_lr: f64,
    pub ft_seed: u64,
    /// Channel pruning ratio, and whether channels are sorted by importance first.
    pub ch_ratio: f64,
    pub ch_sort: bool,
}

impl Default for PruneSettings {
    fn default() -> Self {
        PruneSettings {
            sparsity: [0.0; LAYERS],
            layer: 1,
            eval_images: 1000,
            scan_from: 0.4,
            scan_to: 0.9,
            scan_step: 0.1,
            scan_images: 500,
            ft_steps: 300,
            ft_batch: 32,
            ft_lr: 0.01,
            ft_seed: 0,
            ch_ratio: 0.3,
            ch_sort: true,
        }
    }
}

impl PruneSettings {
    /// Fine-tuning with the page's settings (the goal exercise and channel pruning share them).
    pub fn tune_spec(&self, done_hint: &'static str) -> TuneSpec {
        TuneSpec {
            steps: self.ft_steps,
            batch: self.ft_batch,
            lr: self.ft_lr,
            seed: self.ft_seed,
            done_hint,
            stop_every: None,
        }
    }

    /// The scan's sparsities: from, from + step, ... up to `to`.
    pub fn grid(&self) -> Vec<f64> {
        let n = ((self.scan_to - self.scan_from) / self.scan_step + 1e-9)
            .floor()
            .max(0.0) as usize;
        (0..=n)
            .map(|i| ((self.scan_from + i as f64 * self.scan_step) * 1000.0).round() / 1000.0)
            .collect()
    }
}

macro_rules! sparsity_fields {
    ($($i:literal => $key:literal, $label:literal;)*) => {
        [$(NumField {
            bounds: Bounds {
                key: $key,
                label: $label,
                min: 0.0,
                max: 0.99,
                step: 0.01,
                integer: false,
            },
            get: |s: &PruneSettings| s.sparsity[$i],
            set: |s: &mut PruneSettings, v| s.sparsity[$i] = v,
        },)*]
    };
}

pub static SPARSITY_FIELDS: [NumField<PruneSettings>; LAYERS] = sparsity_fields! {
    0 => "s_conv1", "conv1 sparsity";
    1 => "s_conv2", "conv2 sparsity";
    2 => "s_conv3", "conv3 sparsity";
    3 => "s_conv4", "conv4 sparsity";
    4 => "s_conv5", "conv5 sparsity";
    5 => "s_conv6", "conv6 sparsity";
    6 => "s_conv7", "conv7 sparsity";
    7 => "s_conv8", "conv8 sparsity";
    8 => "s_linear", "linear sparsity";
};

pub static OTHER_FIELDS: [NumField<PruneSettings>; 5] = [
    num_field!(PruneSettings; "eval_images", "Test images for the accuracy", 100.0, 10_000.0, 100.0, true, eval_images),
    num_field!(PruneSettings; "scan_from", "Scan from sparsity", 0.05, 0.95, 0.05, false, scan_from),
    num_field!(PruneSettings; "scan_to", "Scan to sparsity", 0.05, 0.99, 0.01, false, scan_to),
    num_field!(PruneSettings; "scan_step", "Scan step", 0.05, 0.5, 0.05, false, scan_step),
    num_field!(PruneSettings; "scan_images", "Test images per scan point", 100.0, 10_000.0, 100.0, true, scan_images),
];

pub static TUNE_FIELDS: [NumField<PruneSettings>; 4] = [
    num_field!(PruneSettings; "ft_steps", "Fine-tuning steps", 1.0, 5000.0, 1.0, true, ft_steps),
    num_field!(PruneSettings; "ft_batch", "Batch size", 8.0, 128.0, 8.0, true, ft_batch),
    num_field!(PruneSettings; "ft_lr", "Learning rate (start of the cosine schedule)", 0.0001, 0.5, 0.0001, false, ft_lr),
    num_field!(PruneSettings; "ft_seed", "Seed (batch order and augmentation)", 0.0, 1_000_000.0, 1.0, true, ft_seed),
];

pub static CH_FIELD: NumField<PruneSettings> = num_field!(PruneSettings; "ch_ratio", "Channel pruning ratio r", 0.0, 0.9, 0.05, false, ch_ratio);

/// Settings from the URL, with a notice per bad parameter.
pub fn settings_from_location(loc: &Location) -> (PruneSettings, Vec<String>) {
    let mut s = PruneSettings::default();
    let mut notices = Vec::new();
    read_fields(loc, &SPARSITY_FIELDS, &mut s, &mut notices);
    read_fields(loc, &OTHER_FIELDS, &mut s, &mut notices);
    read_fields(loc, &TUNE_FIELDS, &mut s, &mut notices);
    read_fields(loc, std::slice::from_ref(&CH_FIELD), &mut s, &mut notices);
    match loc.get("ch_sort") {
        None => {}
        Some("1") => s.ch_sort = true,
        Some("0") => s.ch_sort = false,
        Some(v) => notices.push(format!(
            "URL parameter ch_sort: '{v}' is not 0 or 1; using 1 (sorted)."
        )),
    }
    if let Some(v) = loc.get("layer") {
        match NAMES.iter().position(|n| *n == v) {
            Some(i) => s.layer = i,
            None => notices.push(format!(
                "URL parameter layer: '{v}' is not one of {}; using conv2.",
                NAMES.join(", ")
            )),
        }
    }
    if s.scan_to < s.scan_from {
        notices.push("URL parameters scan_from and scan_to: the scan must end at or after its start; using the defaults.".into());
        let d = PruneSettings::default();
        (s.scan_from, s.scan_to) = (d.scan_from, d.scan_to);
    }
    (s, notices)
}

pub fn location_of(s: &PruneSettings) -> Location {
    let mut params = Vec::new();
    let d = PruneSettings::default();
    write_fields(&SPARSITY_FIELDS, s, &d, &mut params);
    if s.layer != d.layer {
        params.push(("layer".into(), NAMES[s.layer].into()));
    }
    write_fields(&OTHER_FIELDS, s, &d, &mut params);
    write_fields(&TUNE_FIELDS, s, &d, &mut params);
    write_fields(std::slice::from_ref(&CH_FIELD), s, &d, &mut params);
    if s.ch_sort != d.ch_sort {
        params.push(("ch_sort".into(), if s.ch_sort { "1" } else { "0" }.into()));
    }
    Location {
        route: SLUG.into(),
        params,
    }
}

/// The fine-grained section's test-accuracy readout.
#[derive(Clone, Debug, PartialEq)]
pub enum Accuracy {
    Idle,
    Running(f64),
    /// (dense, pruned, images, where it ran)
    Done(f64, f64, usize, &'static str),
}

/// What more than one section reads and writes, built once by the page and passed by context.
#[derive(Clone, Copy)]
pub struct PruningState {
    pub settings: Var<PruneSettings>,
    pub load: Var<LoadState>,
    pub lab: Var<Option<Rc<Loaded>>>,
    pub sparsity: Calc<[f64; LAYERS]>,
    pub pruned: Calc<Option<Result<Arc<Pruned>, String>>>,
    pub eval_images: Calc<usize>,
    /// Test accuracy of the dense and pruned networks (the fine-grained section computes it).
    pub accuracy: Var<Accuracy>,
    /// The dense network's accuracy and on how many images, kept so it is computed once.
    pub dense_acc: StoredValue<Option<(usize, f64)>, LocalStorage>,
    /// The fine-tuning settings; a change starts both fine-tunings over.
    pub tune_key: Calc<(usize, usize, u64, u64)>,
    pub channel: Calc<Option<Result<Arc<Network>, String>>>,
    /// The channel-pruned network's accuracy before fine-tuning: (accuracy, images, where it ran).
    pub ch_before: Var<Option<(f64, usize, &'static str)>>,
}

impl PruningState {
    /// The state for the settings in `location` (which starts loading the data), with a notice per
    /// bad URL parameter.
    pub fn new(location: &Location) -> (Self, Vec<String>) {
        let (start, notices) = settings_from_location(location);
        let settings = Var::new(start);
        crate::ui::effect(move || web::publish(&location_of(&settings.get())));
        let PageData { load, lab } = PageData::load_now();

        let sparsity = Calc::new(move |_| settings.get().sparsity);
        let pruned = Calc::new(move |_| {
            lab.get()
                .map(|l| prune_all(&l.pretrained, &sparsity.get()).map(Arc::new))
        });
        let eval_images = Calc::new(move |_| settings.get().eval_images);
        // A new pruning (or new fine-tuning settings) starts the fine-tuning over from the pruned network.
        let tune_key = Calc::new(move |_| {
            settings.with(|s| (s.ft_steps, s.ft_batch, s.ft_lr.to_bits(), s.ft_seed))
        });

        // Channel pruning: sorted (or not), pruned.
        let ch_key = Calc::new(move |_| settings.with(|s| (s.ch_ratio.to_bits(), s.ch_sort)));
        let channel = Calc::new(move |_| {
            let l = lab.get()?;
            let (r, sort) = ch_key.get();
            let start = if sort {
                prune::sort_channels(&l.pretrained)
            } else {
                l.pretrained.clone()
            };
            Some(prune::channel_prune(&start, f64::from_bits(r)).map(Arc::new))
        });

        let state = PruningState {
            settings,
            load,
            lab,
            sparsity,
            pruned,
            eval_images,
            accuracy: Var::new(Accuracy::Idle),
            dense_acc: StoredValue::new_local(None),
            tune_key,
            channel,
            ch_before: Var::new(None),
        };
        (state, notices)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_round_trips_and_bad_values_are_notices() {
        let mut s = PruneSettings::default();
        s.sparsity[2] = 0.55;
        s.layer = 8;
        s.scan_step = 0.2;
        s.ch_ratio = 0.5;
        s.ch_sort = false;
        let loc = location_of(&s);
        let (back, notices) = settings_from_location(&Location::parse(&loc.to_hash()));
        assert_eq!(back, s);
        assert!(notices.is_empty());
        let (d, notices) = settings_from_location(&Location::parse(
            "#/pruning?s_conv1=2&layer=conv99&scan_from=0.9&scan_to=0.5&ch_sort=yes&ch_ratio=1",
        ));
        assert_eq!(d, PruneSettings::default());
        assert_eq!(notices.len(), 5, "{notices:?}");
    }

    #[test]
    fn the_scan_grid() {
        let s = PruneSettings::default();
        assert_eq!(s.grid(), vec![0.4, 0.5, 0.6, 0.7, 0.8, 0.9]);
        let s = PruneSettings {
            scan_from: 0.5,
            scan_to: 0.5,
            ..s
        };
        assert_eq!(s.grid(), vec![0.5]);
    }
}
