//! The chapter's settings and their URL keys, and the state its sections share: the caption, the
//! correct mask and the reader's grid, the toy captioner's last result, and the cost calculator's
//! inputs.

use super::model::{ModelView, Moved};
use super::SLUG;
use crate::calc::Calc;
use crate::url_state::{num_field, read_fields, write_fields, Location, NumField};
use crate::var::Var;
use glassbox_lab::attention::captioner::{self, picture, PICTURES};
use glassbox_lab::attention::{caption_mask, tokenize, CaptionMask};

pub const HOMEWORK_CAPTION: &str = "<SOS> a mountain range <PAD>";

/// The picture the toy encoder reads.
#[derive(Clone, Debug, PartialEq)]
pub enum Picture {
    Bundled(&'static str),
    /// Grey levels, after the reader drew on a picture.
    Drawn(Vec<u8>),
}

impl Picture {
    pub fn levels(&self) -> Vec<u8> {
        match self {
            Picture::Bundled(name) => picture(name).unwrap_or_default(),
            Picture::Drawn(l) => l.clone(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub caption: String,
    pub image_tokens: usize,
    pub picture: Picture,
    pub seed: u64,
    /// The decoder query whose column the heatmaps highlight.
    pub query: usize,
    /// The toy decoder uses the reader's grid instead of the correct mask.
    pub my_mask: bool,
    pub image: usize,
    pub patch: usize,
    pub window: usize,
    pub dim: usize,
    pub q_row: usize,
    pub q_col: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            caption: HOMEWORK_CAPTION.into(),
            image_tokens: 3,
            picture: Picture::Bundled("mountains"),
            seed: 0,
            query: 1,
            my_mask: false,
            image: 224,
            patch: 16,
            window: 7,
            dim: 64,
            q_row: 4,
            q_col: 9,
        }
    }
}

macro_rules! int_field {
    ($key:literal, $label:literal, $min:expr, $max:expr, $step:expr, $f:ident) => {
        num_field!(Settings; $key, $label, $min, $max, $step, true, $f)
    };
}

pub static MODEL_FIELDS: [NumField<Settings>; 2] = [
    int_field!("images", "Image tokens", 0.0, 8.0, 1.0, image_tokens),
    int_field!("seed", "Model seed", 0.0, 1e9, 1.0, seed),
];

pub static COST_FIELDS: [NumField<Settings>; 4] = [
    int_field!("image", "Image size H (pixels)", 8.0, 4096.0, 8.0, image),
    int_field!("patch", "Patch size P", 1.0, 64.0, 1.0, patch),
    int_field!("window", "Window K (patches)", 1.0, 64.0, 1.0, window),
    int_field!("dim", "Dimension D", 1.0, 4096.0, 1.0, dim),
];

pub static QUERY_FIELDS: [NumField<Settings>; 2] = [
    int_field!("qr", "Query patch row", 0.0, 4095.0, 1.0, q_row),
    int_field!("qc", "Query patch column", 0.0, 4095.0, 1.0, q_col),
];

pub fn check_caption(t: &str) -> Result<(), String> {
    let n = tokenize(t).len();
    if (1..=captioner::MAX_CAPTION).contains(&n) {
        Ok(())
    } else {
        Err(format!(
            "Caption tokens (caption): give 1 to {} tokens separated by spaces (got {n})",
            captioner::MAX_CAPTION
        ))
    }
}

/// Settings and the reader's grid from the URL, with a notice per bad parameter.
pub fn settings_from_location(loc: &Location) -> (Settings, Option<Vec<Vec<bool>>>, Vec<String>) {
    let mut s = Settings::default();
    let mut notices = Vec::new();
    read_fields(loc, &MODEL_FIELDS, &mut s, &mut notices);
    read_fields(loc, &COST_FIELDS, &mut s, &mut notices);
    read_fields(loc, &QUERY_FIELDS, &mut s, &mut notices);
    if let Some(c) = loc.get("caption") {
        match check_caption(c) {
            Ok(()) => s.caption = c.to_string(),
            Err(e) => notices.push(format!("URL parameter {e}; using the homework's caption.")),
        }
    }
    let tokens = tokenize(&s.caption).len();
    if let Some(q) = loc.get("query") {
        match q.parse::<usize>() {
            Ok(i) if i < tokens => s.query = i,
            _ => notices.push(format!(
                "URL parameter query: '{q}' is not a caption position from 0 to {}; using {}.",
                tokens - 1,
                s.query.min(tokens - 1)
            )),
        }
    }
    s.query = s.query.min(tokens - 1);
    if let Some(p) = loc.get("picture") {
        if let Some(name) = PICTURES.iter().find(|n| **n == p) {
            s.picture = Picture::Bundled(name);
        } else {
            match captioner::levels_from_hex(p) {
                Ok(l) => s.picture = Picture::Drawn(l),
                Err(e) => notices.push(format!(
                    "URL parameter picture: not one of {} and not a drawn picture ({e}); using mountains.",
                    PICTURES.join(", ")
                )),
            }
        }
    }
    match loc.get("mask") {
        None | Some("answer") => {}
        Some("mine") => s.my_mask = true,
        Some(v) => notices.push(format!(
            "URL parameter mask: '{v}' is not answer or mine; using answer."
        )),
    }
    let mut grid = None;
    if let Some(g) = loc.get("grid") {
        let m = caption_mask(&tokenize(&s.caption), s.image_tokens);
        let (rows, cols) = (m.keys.len(), m.queries.len());
        let bits: Vec<Option<bool>> = g
            .chars()
            .map(|c| match c {
                '0' => Some(false),
                '1' => Some(true),
                _ => None,
            })
            .collect();
        if bits.len() == rows * cols && bits.iter().all(Option::is_some) {
            let b: Vec<bool> = bits.into_iter().flatten().collect();
            grid = Some(b.chunks(cols).map(|r| r.to_vec()).collect());
        } else {
            notices.push(format!(
                "URL parameter grid: expected {} digits 0 or 1 ({rows} keys x {cols} queries); starting from an empty grid.",
                rows * cols
            ));
        }
    }
    if s.my_mask && grid.is_none() {
        s.my_mask = false;
    }
    (s, grid, notices)
}

pub fn location_of(s: &Settings, grid: &[Vec<bool>]) -> Location {
    let d = Settings::default();
    let mut params = Vec::new();
    if s.caption != d.caption {
        params.push(("caption".into(), s.caption.clone()));
    }
    write_fields(&MODEL_FIELDS, s, &d, &mut params);
    match &s.picture {
        Picture::Bundled(n) if *n == "mountains" => {}
        Picture::Bundled(n) => params.push(("picture".into(), n.to_string())),
        Picture::Drawn(l) => params.push(("picture".into(), captioner::levels_to_hex(l))),
    }
    if s.query != d.query {
        params.push(("query".into(), s.query.to_string()));
    }
    if grid.iter().flatten().any(|&b| b) {
        let bits: String = grid
            .iter()
            .flatten()
            .map(|&b| if b { '1' } else { '0' })
            .collect();
        params.push(("grid".into(), bits));
        if s.my_mask {
            params.push(("mask".into(), "mine".into()));
        }
    }
    write_fields(&COST_FIELDS, s, &d, &mut params);
    write_fields(&QUERY_FIELDS, s, &d, &mut params);
    Location {
        route: SLUG.into(),
        params,
    }
}

/// What more than one section reads or writes, built once by the page and shared by context.
#[derive(Clone, Copy)]
pub struct AttentionState {
    pub settings: Var<Settings>,
    pub caption: Calc<Vec<String>>,
    pub n_image: Calc<usize>,
    /// The correct mask for the caption and the number of image tokens.
    pub answer: Calc<CaptionMask>,
    /// The reader's grid, masked[key][query]; starts with nothing masked, or from the URL.
    pub grid: Var<Vec<Vec<bool>>>,
    /// The last check of the grid: how many cells are wrong, and why each one is.
    pub feedback: Var<Option<crate::ui::exercise::Verdict>>,
    /// The toy decoder uses the reader's grid instead of the correct mask.
    pub my_mask: Calc<bool>,
    /// What the toy captioner computed for the current inputs.
    pub view_state: Var<Option<ModelView>>,
    /// How much each output moved at the reader's last edit.
    pub moved: Var<Option<Moved>>,
    pub model_error: Var<Option<String>>,
    /// The cost calculator's (H, P, K, D).
    pub cost: Calc<(usize, usize, usize, usize)>,
}

impl AttentionState {
    /// The state for a location, with a notice per bad URL parameter.
    pub fn new(location: &Location) -> (Self, Vec<String>) {
        let (start, start_grid, notices) = settings_from_location(location);
        let settings = Var::new(start);
        let caption = Calc::new(move |_| tokenize(&settings.with(|s| s.caption.clone())));
        let n_image = Calc::new(move |_| settings.with(|s| s.image_tokens));
        let answer = Calc::new(move |_| caption_mask(&caption.get(), n_image.get()));
        let grid = Var::new(start_grid.unwrap_or_default());
        let feedback = Var::new(None::<crate::ui::exercise::Verdict>);
        // The grid follows the shape of the mask: a new caption or image count starts it empty.
        crate::ui::effect(move || {
            let a = answer.get();
            let fits = grid.with_untracked(|g| {
                g.len() == a.keys.len() && g.iter().all(|r| r.len() == a.queries.len())
            });
            if !fits {
                grid.set(vec![vec![false; a.queries.len()]; a.keys.len()]);
                feedback.set(None);
            }
        });
        let state = AttentionState {
            settings,
            caption,
            n_image,
            answer,
            grid,
            feedback,
            my_mask: Calc::new(move |_| settings.with(|s| s.my_mask)),
            view_state: Var::new(None),
            moved: Var::new(None),
            model_error: Var::new(None),
            cost: Calc::new(move |_| {
                let s = settings.get();
                (s.image, s.patch, s.window, s.dim)
            }),
        };
        (state, notices)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_round_trips_and_bad_values_are_notices() {
        let mut s = Settings {
            caption: "<SOS> two cats <PAD> <PAD>".into(),
            image_tokens: 2,
            picture: Picture::Bundled("sun"),
            query: 2,
            my_mask: true,
            image: 448,
            ..Settings::default()
        };
        let grid: Vec<Vec<bool>> = (0..7)
            .map(|k| (0..5).map(|q| (k + q) % 3 == 0).collect())
            .collect();
        let loc = location_of(&s, &grid);
        let (back, g, notices) = settings_from_location(&Location::parse(&loc.to_hash()));
        assert_eq!(back, s);
        assert_eq!(g, Some(grid));
        assert!(notices.is_empty(), "{notices:?}");
        // A drawn picture travels as hexadecimal digits.
        let mut l = s.picture.levels();
        l[17] = 9;
        s.picture = Picture::Drawn(l);
        let loc = location_of(&s, &[]);
        let (back, _, _) = settings_from_location(&Location::parse(&loc.to_hash()));
        assert_eq!(back.picture, s.picture);
        assert!(
            !back.my_mask,
            "mask=mine without a grid falls back to the answer"
        );
        // The defaults make an empty query string.
        assert!(location_of(&Settings::default(), &[]).params.is_empty());
        for bad in [
            "caption=",
            "images=9",
            "picture=cat",
            "mask=both",
            "grid=0101",
            "query=7",
            "patch=x",
        ] {
            let (s, _, n) = settings_from_location(&Location::parse(&format!("#/attention?{bad}")));
            assert_eq!(n.len(), 1, "{bad}: {n:?}");
            assert_eq!(s, Settings::default(), "{bad}");
        }
    }
}
