//! The chapter's shared state: its settings as read from and written to the URL, and the signals
//! that more than one part of the page uses, built once by the page and provided as context.

use super::live::ExperimentView;
use super::settings::{
    cls_default, gd_default, parse_frequencies, ChapterSettings, MinNormSettings, ToySettings,
    CLS_FIELDS, GD_FIELDS, MAML_FIELDS, MN_FIELDS, TOY_FIELDS,
};
use super::SLUG;
use crate::url_state::{read_fields, write_fields, Location, NumField};
use crate::var::Var;
use glassbox_lab::maml::{InnerPoints, MamlSettings};

/// A variant's settings from its URL fields; invalid combinations fall back to the defaults.
fn variant_from_location(
    loc: &Location,
    fields: &'static [NumField<MamlSettings>],
    default: MamlSettings,
    notices: &mut Vec<String>,
) -> MamlSettings {
    let mut s = default.clone();
    read_fields(loc, fields, &mut s, notices);
    if let Err(e) = s.validate() {
        notices.push(format!(
            "URL parameters do not fit together ({e}); using the notebook's settings."
        ));
        s = default;
    }
    s
}

/// All of the chapter's settings as read from a URL, with a notice for each bad value.
pub fn settings_from_location(loc: &Location) -> (ChapterSettings, Vec<String>) {
    let mut notices = Vec::new();
    let mut maml = MamlSettings::default();
    read_fields(loc, &MAML_FIELDS, &mut maml, &mut notices);
    if let Some(f) = loc.get("freqs") {
        match parse_frequencies(f) {
            Ok(v) => maml.true_frequencies = v,
            Err(e) => notices.push(format!("URL parameter {e}; using the default 3,4,5.")),
        }
    }
    if let Some(p) = loc.get("inner") {
        match InnerPoints::parse(p) {
            Some(v) => maml.inner_points = v,
            None => notices.push(format!(
                "URL parameter Inner points (inner): '{p}' is not grid or uniform; using grid."
            )),
        }
    }
    if let Err(e) = maml.validate() {
        notices.push(format!(
            "URL parameters do not fit together ({e}); using the notebook's settings."
        ));
        maml = MamlSettings {
            seed: maml.seed,
            ..MamlSettings::default()
        };
    }
    let mut toy = ToySettings::default();
    read_fields(loc, &TOY_FIELDS, &mut toy, &mut notices);
    let mut mn = MinNormSettings::default();
    read_fields(loc, &MN_FIELDS, &mut mn, &mut notices);
    if mn.n >= mn.d {
        notices.push(format!("URL parameters mn_n = {} and mn_d = {}: the system needs fewer equations than unknowns; using 3 and 8.", mn.n, mn.d));
        mn = MinNormSettings {
            seed: mn.seed,
            ..Default::default()
        };
    }
    let gd = variant_from_location(loc, &GD_FIELDS, gd_default(), &mut notices);
    let cls = variant_from_location(loc, &CLS_FIELDS, cls_default(), &mut notices);
    (
        ChapterSettings {
            maml,
            gd,
            cls,
            toy,
            mn,
        },
        notices,
    )
}

/// The URL that reproduces these settings.
pub fn location_of(all: &ChapterSettings) -> Location {
    let (maml, toy, mn) = (&all.maml, &all.toy, &all.mn);
    let mut params = Vec::new();
    write_fields(&MAML_FIELDS, maml, &MamlSettings::default(), &mut params);
    let def = MamlSettings::default();
    if maml.true_frequencies != def.true_frequencies {
        let s: Vec<String> = maml
            .true_frequencies
            .iter()
            .map(|f| f.to_string())
            .collect();
        params.push(("freqs".into(), s.join(",")));
    }
    if maml.inner_points != def.inner_points {
        params.push(("inner".into(), maml.inner_points.name().into()));
    }
    write_fields(&TOY_FIELDS, toy, &ToySettings::default(), &mut params);
    write_fields(&MN_FIELDS, mn, &MinNormSettings::default(), &mut params);
    write_fields(&GD_FIELDS, &all.gd, &gd_default(), &mut params);
    write_fields(&CLS_FIELDS, &all.cls, &cls_default(), &mut params);
    Location {
        route: SLUG.into(),
        params,
    }
}

/// What the page and its sections share: each experiment's signals (its settings among them), and
/// the settings of the toy and of the min-norm demo. Signals are `Copy`, so this is too.
#[derive(Clone, Copy)]
pub struct MetaLearningState {
    pub maml: ExperimentView,
    pub gd: ExperimentView,
    pub cls: ExperimentView,
    pub toy: Var<ToySettings>,
    pub mn: Var<MinNormSettings>,
}

impl MetaLearningState {
    /// The state at the settings of `location`, with a notice for each value that was not usable.
    pub fn new(location: &Location) -> (Self, Vec<String>) {
        let (start, notices) = settings_from_location(location);
        let state = MetaLearningState {
            maml: ExperimentView::new(start.maml),
            gd: ExperimentView::new(start.gd),
            cls: ExperimentView::new(start.cls),
            toy: Var::new(start.toy),
            mn: Var::new(start.mn),
        };
        (state, notices)
    }

    /// Every setting as it stands (tracked: an effect that reads it reruns on any change).
    pub fn settings(&self) -> ChapterSettings {
        ChapterSettings {
            maml: self.maml.settings.get(),
            gd: self.gd.settings.get(),
            cls: self.cls.settings.get(),
            toy: self.toy.get(),
            mn: self.mn.get(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glassbox_lab::maml::InnerLoop;

    #[test]
    fn url_round_trip_reproduces_the_settings() {
        let all = ChapterSettings {
            maml: MamlSettings {
                seed: 7,
                iterations: 50,
                true_frequencies: vec![2, 9],
                inner_points: InnerPoints::Uniform,
                ..Default::default()
            },
            gd: MamlSettings {
                seed: 3,
                ..MamlSettings::gradient_descent(1)
            },
            cls: MamlSettings {
                iterations: 40,
                inner: InnerLoop::Gradient { steps: 10, lr: 0.3 },
                ..cls_default()
            },
            toy: ToySettings {
                c0: 0.5,
                ..Default::default()
            },
            mn: MinNormSettings {
                n: 4,
                d: 9,
                seed: 3,
            },
        };
        let loc = location_of(&all);
        let back = Location::parse(&loc.to_hash());
        let (again, notices) = settings_from_location(&back);
        assert!(notices.is_empty(), "{notices:?}");
        assert_eq!(again, all);
        // Defaults write nothing.
        assert!(location_of(&ChapterSettings::default()).params.is_empty());
    }

    #[test]
    fn malformed_url_values_give_notices_and_defaults() {
        let loc = Location::parse(
            "#/meta-learning?d=500&seed=x&freqs=a,b&inner=spiral&mn_n=9&mn_d=4&gd_steps=99&cls_ilr=-1",
        );
        let (s, notices) = settings_from_location(&loc);
        assert_eq!(s.maml, MamlSettings::default());
        assert_eq!(s.mn, MinNormSettings::default());
        assert_eq!(s.gd, gd_default());
        assert_eq!(s.cls, cls_default());
        let all = notices.join("\n");
        for key in [
            "(seed)",
            "(freqs)",
            "(inner)",
            "mn_n",
            "(gd_steps)",
            "(cls_ilr)",
        ] {
            assert!(all.contains(key), "{key} missing in {all}");
        }
        assert!(all.contains("d: d must be an odd"), "{all}");
    }
}
