//! The chapter's URL: a key per setting (numeric fields with their ranges, and the named
//! choices), read with a notice per bad value and written back with only what differs from the
//! defaults.

use super::state::{FtSettings, SHIFTS};
use super::SLUG;
use crate::url_state::{num_field, read_fields, write_fields, Location, NumField};
use glassbox_lab::shift::{Corruption, Tune};

macro_rules! field {
    ($($args:tt)*) => {
        num_field!(FtSettings; $($args)*)
    };
}

pub static SHIFT_FIELDS: [NumField<FtSettings>; 2] = [
    field!("severity", "Severity", 1.0, 5.0, 1.0, true, severity),
    field!(
        "alpha",
        "Noise alpha (times each tensor's std)",
        0.0,
        5.0,
        0.1,
        false,
        alpha
    ),
];

pub static RUN_FIELDS: [NumField<FtSettings>; 5] = [
    field!(
        "images",
        "Training images (multiple of 10)",
        10.0,
        1000.0,
        10.0,
        true,
        images
    ),
    field!(
        "test_images",
        "Test images (multiple of 10)",
        10.0,
        1000.0,
        10.0,
        true,
        test_images
    ),
    field!(
        "epochs",
        "Epochs per learning rate",
        1.0,
        20.0,
        1.0,
        true,
        epochs
    ),
    field!(
        "lr",
        "Learning rate (without the grid)",
        0.00001,
        0.1,
        0.0001,
        false,
        lr
    ),
    field!(
        "seed",
        "Seed (images, noise, batch order)",
        0.0,
        1_000_000.0,
        1.0,
        true,
        seed
    ),
];

pub static TABLE_FIELDS: [NumField<FtSettings>; 2] = [
    field!(
        "cell_images",
        "Test images per cell",
        100.0,
        10_000.0,
        100.0,
        true,
        cell_images
    ),
    field!(
        "example",
        "Example test image",
        0.0,
        9999.0,
        1.0,
        true,
        example
    ),
];

/// The tuning choices as the select lists them (`Tune::name`, description).
pub const TUNE_OPTIONS: &[(&str, &str)] = &[
    ("block1", "block1: conv1 and conv2"),
    ("block2", "block2: conv3 and conv4"),
    ("block3", "block3: conv5 and conv6"),
    ("block4", "block4: conv7 and conv8"),
    ("head", "head: the linear layer"),
    ("all", "all: full fine-tuning"),
    ("bn-stats", "bn-stats: re-estimate batch-norm statistics"),
    ("auto-rgn", "auto-rgn: every weight at its own rate"),
];

/// Settings from the URL, with a notice per bad parameter.
pub fn settings_from_location(loc: &Location) -> (FtSettings, Vec<String>) {
    let mut s = FtSettings::default();
    let mut notices = Vec::new();
    read_fields(loc, &SHIFT_FIELDS, &mut s, &mut notices);
    read_fields(loc, &RUN_FIELDS, &mut s, &mut notices);
    read_fields(loc, &TABLE_FIELDS, &mut s, &mut notices);
    if let Some(v) = loc.get("shift") {
        match SHIFTS.iter().find(|(k, _)| *k == v) {
            Some((k, _)) => s.shift = k,
            None => notices.push(format!(
                "URL parameter shift: '{v}' is not corruption, flip or stage-noise; using corruption."
            )),
        }
    }
    if let Some(v) = loc.get("corruption") {
        match Corruption::parse(v) {
            Ok(c) => s.corruption = c,
            Err(e) => notices.push(format!(
                "URL parameter corruption: {e}; using gaussian_noise."
            )),
        }
    }
    if let Some(v) = loc.get("noise_block") {
        match Tune::parse(v) {
            Ok(Tune::Block(b)) => s.noise_block = b,
            _ => notices.push(format!(
                "URL parameter noise_block: '{v}' is not block1 to block4; using block2."
            )),
        }
    }
    if let Some(v) = loc.get("tune") {
        match Tune::parse(v) {
            Ok(t) => s.tune = t,
            Err(e) => notices.push(format!("URL parameter tune: {e}; using block1.")),
        }
    }
    match loc.get("grid") {
        None => {}
        Some("1") => s.grid = true,
        Some("0") => s.grid = false,
        Some(v) => notices.push(format!("URL parameter grid: '{v}' is not 0 or 1; using 0.")),
    }
    for (key, v) in [
        ("images", &mut s.images),
        ("test_images", &mut s.test_images),
    ] {
        if !v.is_multiple_of(10) {
            notices.push(format!(
                "URL parameter {key}: {v} is not a multiple of 10; using {}.",
                *v / 10 * 10
            ));
            *v = *v / 10 * 10;
        }
    }
    (s, notices)
}

pub fn location_of(s: &FtSettings) -> Location {
    let d = FtSettings::default();
    let mut params = Vec::new();
    if s.shift != d.shift {
        params.push(("shift".into(), s.shift.into()));
    }
    if s.corruption != d.corruption {
        params.push(("corruption".into(), s.corruption.name().into()));
    }
    write_fields(&SHIFT_FIELDS, s, &d, &mut params);
    if s.noise_block != d.noise_block {
        params.push(("noise_block".into(), format!("block{}", s.noise_block + 1)));
    }
    if s.tune != d.tune {
        params.push(("tune".into(), s.tune.name()));
    }
    write_fields(&RUN_FIELDS, s, &d, &mut params);
    if s.grid != d.grid {
        params.push(("grid".into(), if s.grid { "1" } else { "0" }.into()));
    }
    write_fields(&TABLE_FIELDS, s, &d, &mut params);
    Location {
        route: SLUG.into(),
        params,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_round_trips_and_bad_values_are_notices() {
        let s = FtSettings {
            shift: "stage-noise",
            corruption: Corruption::Pixelate,
            severity: 3,
            noise_block: 3,
            alpha: 0.5,
            tune: Tune::AutoRgn,
            images: 300,
            test_images: 200,
            epochs: 2,
            lr: 0.001,
            grid: true,
            seed: 7,
            cell_images: 200,
            example: 12,
        };
        let (back, notices) = settings_from_location(&Location::parse(&location_of(&s).to_hash()));
        assert_eq!(back, s);
        assert!(notices.is_empty(), "{notices:?}");
        let (d, notices) = settings_from_location(&Location::parse(
            "#/fine-tuning?shift=rain&corruption=fog&severity=7&tune=block9&lr=0&images=0&grid=2&noise_block=head&alpha=NaN",
        ));
        assert_eq!(d, FtSettings::default());
        assert_eq!(notices.len(), 9, "{notices:?}");
        assert!(notices
            .iter()
            .any(|n| n.contains("corruption") && n.contains("fog")));
        let (s, notices) = settings_from_location(&Location::parse("#/fine-tuning?images=255"));
        assert_eq!((s.images, notices.len()), (250, 1));
    }
}
