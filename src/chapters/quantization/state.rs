//! The chapter's settings, each with its URL key, and the state its sections share: the settings,
//! the engine, the downloaded data and network, and the whole-network comparison of (b).

use crate::engine::Engine;
use crate::url_state::{num_field, read_fields, write_fields, Location, NumField};
use crate::var::Var;
use crate::vision::data::{LoadState, Loaded, PageData};
use crate::web;
use std::rc::Rc;

pub const LAYERS: usize = 9;
pub const NAMES: [&str; LAYERS] = [
    "conv1", "conv2", "conv3", "conv4", "conv5", "conv6", "conv7", "conv8", "linear",
];

#[derive(Clone, Debug, PartialEq)]
pub struct QuantSettings {
    pub layer: usize,
    pub bits: u32,
    pub seed: u64,
    pub eval_images: usize,
    pub qat_bits: u32,
    pub qat_epochs: usize,
    pub ft_batch: usize,
    pub ft_lr: f64,
    pub rmin: f64,
    pub rmax: f64,
    pub lin_bits: u32,
    pub calib_images: usize,
}

impl Default for QuantSettings {
    fn default() -> Self {
        QuantSettings {
            layer: 1,
            bits: 2,
            seed: 0,
            eval_images: 1000,
            qat_bits: 4,
            qat_epochs: 1,
            ft_batch: 32,
            ft_lr: 0.01,
            rmin: -0.25,
            rmax: 0.75,
            lin_bits: 2,
            calib_images: 512,
        }
    }
}

macro_rules! field {
    ($($args:tt)*) => {
        num_field!(QuantSettings; $($args)*)
    };
}

pub static KMEANS_FIELDS: [NumField<QuantSettings>; 2] = [
    field!("bits", "Bits n (2^n centroids)", 1.0, 8.0, 1.0, true, bits),
    field!("seed", "k-means seed", 0.0, 1e9, 1.0, true, seed),
];
pub static EVAL_FIELD: NumField<QuantSettings> = field!(
    "eval_images",
    "Test images for each accuracy",
    100.0,
    10_000.0,
    100.0,
    true,
    eval_images
);
pub static QAT_FIELDS: [NumField<QuantSettings>; 4] = [
    field!("qat_bits", "QAT bits", 1.0, 8.0, 1.0, true, qat_bits),
    field!("qat_epochs", "QAT epochs", 1.0, 5.0, 1.0, true, qat_epochs),
    field!("ft_batch", "Batch size", 8.0, 128.0, 8.0, true, ft_batch),
    field!("ft_lr", "Learning rate", 0.0001, 0.1, 0.0001, false, ft_lr),
];
pub static LINEAR_FIELDS: [NumField<QuantSettings>; 3] = [
    field!("rmin", "r_min", -10.0, 10.0, 0.01, false, rmin),
    field!("rmax", "r_max", -10.0, 10.0, 0.01, false, rmax),
    field!("lin_bits", "Bits", 1.0, 8.0, 1.0, true, lin_bits),
];
pub static CALIB_FIELD: NumField<QuantSettings> = field!(
    "calib_images",
    "Calibration images (training set)",
    16.0,
    2048.0,
    16.0,
    true,
    calib_images
);

pub fn settings_from_location(loc: &Location) -> (QuantSettings, Vec<String>) {
    let mut s = QuantSettings::default();
    let mut notices = Vec::new();
    for fields in [&KMEANS_FIELDS[..], &QAT_FIELDS[..], &LINEAR_FIELDS[..]] {
        read_fields(loc, fields, &mut s, &mut notices);
    }
    read_fields(loc, std::slice::from_ref(&EVAL_FIELD), &mut s, &mut notices);
    read_fields(
        loc,
        std::slice::from_ref(&CALIB_FIELD),
        &mut s,
        &mut notices,
    );
    if let Some(v) = loc.get("layer") {
        match NAMES.iter().position(|n| *n == v) {
            Some(i) => s.layer = i,
            None => notices.push(format!(
                "URL parameter layer: '{v}' is not one of {}; using conv2.",
                NAMES.join(", ")
            )),
        }
    }
    (s, notices)
}

pub fn location_of(s: &QuantSettings) -> Location {
    let d = QuantSettings::default();
    let mut params = Vec::new();
    if s.layer != d.layer {
        params.push(("layer".into(), NAMES[s.layer].into()));
    }
    for fields in [&KMEANS_FIELDS[..], &QAT_FIELDS[..], &LINEAR_FIELDS[..]] {
        write_fields(fields, s, &d, &mut params);
    }
    write_fields(std::slice::from_ref(&EVAL_FIELD), s, &d, &mut params);
    write_fields(std::slice::from_ref(&CALIB_FIELD), s, &d, &mut params);
    Location {
        route: super::SLUG.into(),
        params,
    }
}

/// One bit width of the whole-network comparison.
#[derive(Clone, Debug, PartialEq)]
pub struct WidthRow {
    pub bits: u32,
    pub kmeans_acc: f64,
    pub kmeans_bits: u64,
    pub linear_acc: f64,
    pub linear_bits: u64,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Comparison {
    pub running: bool,
    pub progress: f64,
    pub status: String,
    pub fp32: Option<f64>,
    pub rows: Vec<WidthRow>,
}

/// What more than one section reads or writes, built once by the page and handed out by context.
#[derive(Clone, Copy)]
pub struct QuantizationState {
    pub settings: Var<QuantSettings>,
    pub engine: Engine,
    /// The download of the test images and the trained network, shown at the top of the page.
    pub load: Var<LoadState>,
    pub lab: Var<Option<Rc<Loaded>>>,
    /// The run of (b): its fp32 accuracy is what (c) compares with, its rows are (f)'s table.
    pub comparison: Var<Comparison>,
}

impl QuantizationState {
    /// The settings read from `location` (with a notice for each value that could not be used),
    /// published back to the URL as they change, and the download started.
    pub fn new(location: &Location) -> (Self, Vec<String>) {
        let (start, notices) = settings_from_location(location);
        let settings = Var::new(start);
        crate::ui::effect(move || web::publish(&location_of(&settings.get())));
        let engine = crate::ui::context::<Engine>();
        let PageData { load, lab } = PageData::load_now();
        let comparison = Var::new(Comparison::default());
        let state = QuantizationState {
            settings,
            engine,
            load,
            lab,
            comparison,
        };
        (state, notices)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_round_trips_and_bad_values_are_notices() {
        let s = QuantSettings {
            layer: 8,
            bits: 3,
            qat_bits: 2,
            rmin: -1.5,
            lin_bits: 4,
            ..QuantSettings::default()
        };
        let (back, notices) = settings_from_location(&Location::parse(&location_of(&s).to_hash()));
        assert_eq!(back, s);
        assert!(notices.is_empty());
        assert!(location_of(&QuantSettings::default()).params.is_empty());
        for bad in ["layer=conv9", "bits=9", "qat_epochs=0", "rmin=x"] {
            let (s, n) = settings_from_location(&Location::parse(&format!("#/quantization?{bad}")));
            assert_eq!(n.len(), 1, "{bad}");
            assert_eq!(s, QuantSettings::default());
        }
    }
}
