//! Chapter 3's figures, fine-tuning under distribution shift: example images of each corruption at
//! severities 0 (clean) to 5, accuracy by corruption and severity, grouped bars of accuracy by the
//! block fine-tuned (one bar per shift, the best block of each marked), validation accuracy by
//! epoch for each learning rate, and heatmaps of a head's class map and of accuracy by perturbed
//! block and tuned block.

use super::axis::Axis;
use super::heatmap::{Heatmap, Scale};
use super::{err, font, mesh, Area, Palette};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::fmt::Write as _;

// ---------------------------------------------------------------------------------------------
// Shared helpers: text widths, CSV fields, notes, and a legend strip above the plot.

/// Rough width in pixels of `s` at `size` px (sans-serif; the canvas draws at the full size).
fn text_px(s: &str, size: u32) -> i32 {
    (s.chars().count() as f64 * size as f64 * 0.56).ceil() as i32
}

/// `s`, cut short with an ellipsis so it takes at most `px` pixels at `size` px.
fn fit(s: &str, px: i32, size: u32) -> String {
    if text_px(s, size) <= px {
        return s.to_string();
    }
    let keep = ((px as f64 / (size as f64 * 0.56)).floor() as usize).saturating_sub(1);
    let mut t: String = s.chars().take(keep.max(1)).collect();
    t.push('…');
    t
}

/// A class name shortened to about `n` characters: its first word when that is long enough,
/// else its first `n - 1` characters and a dot.
fn abbreviate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    let first = s.split([' ', '/', '_']).next().unwrap_or(s);
    if (3..=n).contains(&first.chars().count()) {
        return first.to_string();
    }
    let mut t: String = s.chars().take(n.saturating_sub(1).max(1)).collect();
    t.push('.');
    t
}

pub(super) fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub(super) fn pct(v: f64) -> String {
    format!("{:.1}%", 100.0 * v)
}

fn finite(v: Option<f64>) -> Option<f64> {
    v.filter(|x| x.is_finite())
}

pub(super) fn colour(p: &Palette, i: usize) -> RGBColor {
    p.series[i % p.series.len()]
}

fn anchored(p: &Palette, size: u32, h: HPos, v: VPos) -> TextStyle<'static> {
    font(p, size).pos(Pos::new(h, v))
}

/// A muted note in the middle of an area (an empty figure says why it is empty).
fn note<DB: DrawingBackend>(area: &Area<DB>, text: &str, p: &Palette) -> Result<(), String> {
    let (w, h) = area.dim_in_pixel();
    let style = anchored(p, 13, HPos::Center, VPos::Center).color(&p.muted);
    area.draw(&Text::new(
        text.to_string(),
        (w as i32 / 2, h as i32 / 2),
        style,
    ))
    .map_err(err)
}

/// What a legend entry looks like.
#[derive(Clone, Copy, Debug)]
pub(super) enum Key {
    Bar(RGBColor),
    Line(RGBColor),
    Dashed(RGBColor),
    /// The marker of a series' best bar.
    Best,
    /// The ring around the best point.
    Ring,
}

const KEY_ROW: i32 = 18;

/// Where each legend entry goes, (x, row), wrapped into `width` pixels; and the number of rows.
fn key_layout(keys: &[(String, Key)], width: i32) -> (Vec<(i32, i32)>, i32) {
    let (mut x, mut row, mut out) = (0, 0, Vec::with_capacity(keys.len()));
    for (label, _) in keys {
        let w = 24 + text_px(label, 12) + 14;
        if x > 0 && x + w > width {
            x = 0;
            row += 1;
        }
        out.push((x, row));
        x += w;
    }
    (out, if keys.is_empty() { 0 } else { row + 1 })
}

fn draw_key<DB: DrawingBackend>(
    root: &Area<DB>,
    key: Key,
    (x, y): (i32, i32),
    p: &Palette,
) -> Result<(), String> {
    let r = match key {
        Key::Bar(c) => root.draw(&Rectangle::new(
            [(x + 2, y - 5), (x + 16, y + 6)],
            c.filled(),
        )),
        Key::Line(c) => root
            .draw(&PathElement::new(
                vec![(x, y), (x + 18, y)],
                c.stroke_width(2),
            ))
            .and_then(|_| root.draw(&Circle::new((x + 9, y), 3, c.filled()))),
        Key::Dashed(c) => root
            .draw(&PathElement::new(
                vec![(x, y), (x + 7, y)],
                c.stroke_width(2),
            ))
            .and_then(|_| {
                root.draw(&PathElement::new(
                    vec![(x + 11, y), (x + 18, y)],
                    c.stroke_width(2),
                ))
            }),
        Key::Best => root.draw(&Polygon::new(
            vec![(x + 4, y - 4), (x + 14, y - 4), (x + 9, y + 4)],
            p.foreground.filled(),
        )),
        Key::Ring => root.draw(&Circle::new((x + 9, y), 6, p.foreground.stroke_width(2))),
    };
    r.map_err(err)
}

/// A figure's title at the top left: one line at 16 px, or two at 14 px when it is too long for
/// one (the rest cut short); returns the height it takes.
fn draw_title<DB: DrawingBackend>(
    root: &Area<DB>,
    title: &str,
    p: &Palette,
) -> Result<i32, String> {
    let w = root.dim_in_pixel().0 as i32 - 16;
    if text_px(title, 16) <= w {
        root.draw(&Text::new(title.to_string(), (8, 6), font(p, 16)))
            .map_err(err)?;
        return Ok(28);
    }
    let mut first = String::new();
    let mut words = title.split(' ').peekable();
    while let Some(next) = words.peek() {
        let candidate = if first.is_empty() {
            next.to_string()
        } else {
            format!("{first} {next}")
        };
        if !first.is_empty() && text_px(&candidate, 14) > w {
            break;
        }
        first = candidate;
        words.next();
    }
    let rest: Vec<&str> = words.collect();
    for (i, line) in [first, rest.join(" ")].iter().enumerate() {
        let at = (8, 4 + 17 * i as i32);
        root.draw(&Text::new(fit(line, w, 14), at, font(p, 14)))
            .map_err(err)?;
    }
    Ok(42)
}

/// The title and a wrapped legend strip at the top of `root`; returns the height they take.
pub(super) fn draw_header<DB: DrawingBackend>(
    root: &Area<DB>,
    title: &str,
    keys: &[(String, Key)],
    p: &Palette,
) -> Result<i32, String> {
    let w = root.dim_in_pixel().0 as i32;
    let top = draw_title(root, title, p)?;
    let (pos, rows) = key_layout(keys, w - 16);
    for ((label, key), (x, row)) in keys.iter().zip(pos) {
        let (x, y) = (8 + x, top + row * KEY_ROW + KEY_ROW / 2);
        draw_key(root, *key, (x, y), p)?;
        let style = anchored(p, 12, HPos::Left, VPos::Center);
        root.draw(&Text::new(fit(label, w - x - 32, 12), (x + 24, y), style))
            .map_err(err)?;
    }
    Ok(top + rows * KEY_ROW + 4)
}

// ---------------------------------------------------------------------------------------------
// 1. Example images of each corruption at each severity.

/// Example images: one row per corruption, one column per severity, 0 (clean) first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CorruptionGrid {
    /// A corruption's name and its images at severities 0, 1, ...: `side * side` grey values in
    /// [0, 1] each (0 black, 1 white); an empty image leaves its cell blank.
    pub rows: Vec<(String, Vec<Vec<f32>>)>,
    pub side: usize,
}

/// Mean and standard deviation of an image's finite values (None: none).
fn image_stats(img: &[f32]) -> Option<(f64, f64)> {
    let v: Vec<f64> = img
        .iter()
        .map(|&x| x as f64)
        .filter(|x| x.is_finite())
        .collect();
    if v.is_empty() {
        return None;
    }
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    Some((mean, var.sqrt()))
}

impl CorruptionGrid {
    fn columns(&self) -> usize {
        self.rows.iter().map(|r| r.1.len()).max().unwrap_or(0)
    }

    /// One line per image: its corruption, severity, pixel mean and standard deviation (empty
    /// fields for an empty image).
    pub fn csv(&self) -> String {
        let mut s = String::from("corruption,severity,mean,std\n");
        for (name, images) in &self.rows {
            for (severity, img) in images.iter().enumerate() {
                let name = csv_field(name);
                match image_stats(img) {
                    Some((m, sd)) => writeln!(s, "{name},{severity},{m:.5},{sd:.5}"),
                    None => writeln!(s, "{name},{severity},,"),
                }
                .ok();
            }
        }
        s
    }

    pub fn summary(&self) -> String {
        let cols = self.columns();
        if cols == 0 {
            return "Empty plot: no example images yet.".into();
        }
        let names: Vec<&str> = self.rows.iter().map(|r| r.0.as_str()).collect();
        let mut s = format!(
            "Grid of example images, {0} by {0} grey pixels (0 black, 1 white): one row per \
             corruption ({1}), one column per severity from 0 (clean) to {2}. Pixel mean and \
             standard deviation, clean and at the highest severity shown:",
            self.side,
            names.join(", "),
            cols - 1
        );
        let mut parts = Vec::new();
        for (name, images) in &self.rows {
            let first = images.first().and_then(|i| image_stats(i));
            let last = images.last().and_then(|i| image_stats(i));
            if let (Some((m0, s0)), Some((m1, s1))) = (first, last) {
                parts.push(format!(
                    " {name} from mean {m0:.2} (std {s0:.2}) to mean {m1:.2} (std {s1:.2})"
                ));
            }
        }
        if parts.is_empty() {
            s.push_str(" no image has pixels.");
        } else {
            write!(s, "{}.", parts.join(";")).ok();
        }
        s
    }
}

/// One grey image of `side * side` values as a `size`-pixel square at (x, y), framed; runs of
/// equal pixels in a row are one rectangle. Draws nothing for a short or empty image.
fn draw_image<DB: DrawingBackend>(
    root: &Area<DB>,
    img: &[f32],
    side: usize,
    (x, y): (i32, i32),
    size: i32,
    p: &Palette,
) -> Result<(), String> {
    if side == 0 || img.len() < side * side || size < 1 {
        return Ok(());
    }
    let at = |i: usize| (i as f64 * size as f64 / side as f64).round() as i32;
    let grey = |r: usize, c: usize| {
        let v = img[r * side + c];
        v.is_finite()
            .then(|| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
    };
    for r in 0..side {
        let (y0, y1) = (y + at(r), y + at(r + 1));
        if y1 <= y0 {
            continue;
        }
        let mut c = 0;
        while c < side {
            let g = grey(r, c);
            let mut e = c + 1;
            while e < side && grey(r, e) == g {
                e += 1;
            }
            let (x0, x1) = (x + at(c), x + at(e));
            if let (Some(g), true) = (g, x1 > x0) {
                root.draw(&Rectangle::new(
                    [(x0, y0), (x1, y1)],
                    RGBColor(g, g, g).filled(),
                ))
                .map_err(err)?;
            }
            c = e;
        }
    }
    root.draw(&Rectangle::new(
        [(x - 1, y - 1), (x + size, y + size)],
        p.muted.stroke_width(1),
    ))
    .map_err(err)
}

/// A row label in at most `px` pixels: whole, else split in two lines at an underscore or space
/// (when the row is tall enough), else cut short.
fn row_label(name: &str, px: i32, row_px: f64) -> Vec<String> {
    if text_px(name, 13) <= px {
        return vec![name.to_string()];
    }
    let mid = name.chars().count() / 2;
    let split = name
        .char_indices()
        .filter(|&(_, ch)| ch == '_' || ch == ' ')
        .min_by_key(|&(i, _)| i.abs_diff(mid));
    match split {
        Some((i, _)) if row_px >= 30.0 => {
            vec![fit(&name[..i], px, 13), fit(&name[i + 1..], px, 13)]
        }
        _ => vec![fit(name, px, 13)],
    }
}

/// The example images: corruptions down, severities across (0 = clean), labels on the left.
pub fn draw_corruption_grid<DB: DrawingBackend>(
    root: &Area<DB>,
    g: &CorruptionGrid,
    p: &Palette,
) -> Result<(), String> {
    root.fill(&p.background).map_err(err)?;
    let (w, h) = root.dim_in_pixel();
    let (w, h) = (w as i32, h as i32);
    let cols = g.columns();
    let title = match cols {
        0 => "Corruptions by severity".to_string(),
        n => format!("Corruptions by severity, 0 (clean) to {}", n - 1),
    };
    let top = draw_title(root, &title, p)? + 22;
    if cols == 0 || g.side == 0 || g.rows.is_empty() {
        note(root, "No example images yet", p)?;
        return root.present().map_err(err);
    }
    let widest = g.rows.iter().map(|r| text_px(&r.0, 13)).max().unwrap_or(0);
    let left = (widest + 14).min((w as f64 * 0.3) as i32).max(24);
    let cell = ((w - left - 8) as f64 / cols as f64)
        .min((h - top - 6) as f64 / g.rows.len() as f64)
        .max(2.0);
    let gap = (cell * 0.08).clamp(1.0, 6.0);
    let clean = if cell >= (text_px("0 (clean)", 13) + 4) as f64 {
        "0 (clean)"
    } else {
        "clean"
    };
    let x = |c: usize| left + (c as f64 * cell).round() as i32;
    let y = |r: usize| top + (r as f64 * cell).round() as i32;
    for c in 0..cols {
        let label = if c == 0 {
            clean.to_string()
        } else {
            c.to_string()
        };
        let at = (x(c) + (cell / 2.0) as i32, top - 8);
        let style = anchored(p, 13, HPos::Center, VPos::Bottom);
        root.draw(&Text::new(label, at, style)).map_err(err)?;
    }
    for (r, (name, images)) in g.rows.iter().enumerate() {
        let lines = row_label(name, left - 10, cell);
        let yc = y(r) as f64 + (cell - gap) / 2.0;
        for (i, line) in lines.iter().enumerate() {
            let yy = yc + (i as f64 - (lines.len() - 1) as f64 / 2.0) * 15.0;
            let style = anchored(p, 13, HPos::Right, VPos::Center);
            root.draw(&Text::new(line.clone(), (left - 8, yy as i32), style))
                .map_err(err)?;
        }
        for (c, img) in images.iter().enumerate() {
            let side = (cell - gap).round() as i32;
            draw_image(root, img, g.side, (x(c), y(r)), side, p)?;
        }
    }
    root.present().map_err(err)
}

// ---------------------------------------------------------------------------------------------
// 2, 5, 6. Heatmaps (drawn by `heatmap::draw_heatmap`).

/// Values of `rows.len()` x `cols` cells from ragged rows, NaN and missing cells masked.
fn cells(accuracy: &[Vec<Option<f64>>], rows: usize, cols: usize) -> Vec<Option<f64>> {
    (0..rows)
        .flat_map(|r| (0..cols).map(move |c| (r, c)))
        .map(|(r, c)| finite(accuracy.get(r).and_then(|v| v.get(c).copied().flatten())))
        .collect()
}

/// Accuracy by corruption (rows) and severity (columns, 0 = clean) on a 0..1 scale.
pub fn corruption_accuracy_heatmap(
    names: &[String],
    severities: &[usize],
    accuracy: &[Vec<Option<f64>>],
    clean: Option<f64>,
) -> Heatmap {
    let title = match finite(clean) {
        Some(c) => format!("Accuracy (clean: {})", pct(c)),
        None => "Accuracy under corruption".to_string(),
    };
    Heatmap {
        title,
        rows: names.to_vec(),
        cols: severities
            .iter()
            .map(|&s| match s {
                0 => "clean".to_string(),
                s => s.to_string(),
            })
            .collect(),
        values: cells(accuracy, names.len(), severities.len()),
        scale: Some(Scale::Sequential { lo: 0.0, hi: 1.0 }),
        highlight_col: None,
        row_desc: "corruption".into(),
        col_desc: "severity".into(),
        show_values: true,
    }
}

/// A k x k matrix (row-major; e.g. the map from the old head's classes to the new one's, or a
/// permutation) on a diverging scale at its largest magnitude, labelled by class (shortened).
pub fn head_matrix_heatmap(matrix: &[f32], k: usize, title: &str, classes: &[&str]) -> Heatmap {
    let values: Vec<Option<f64>> = (0..k * k)
        .map(|i| finite(matrix.get(i).map(|&v| v as f64)))
        .collect();
    let max = values.iter().flatten().fold(0.0f64, |m, v| m.max(v.abs()));
    let labels: Vec<String> = (0..k)
        .map(|i| match classes.get(i) {
            Some(c) => abbreviate(c, 8),
            None => i.to_string(),
        })
        .collect();
    Heatmap {
        title: title.to_string(),
        rows: labels.clone(),
        cols: labels,
        values,
        scale: Some(Scale::Diverging {
            max: if max > 0.0 { max } else { 1.0 },
        }),
        highlight_col: None,
        row_desc: "old class".into(),
        col_desc: "new class".into(),
        show_values: k <= 12,
    }
}

/// A generic accuracy matrix (e.g. perturbed block by tuned block) on a 0..1 scale.
pub fn block_matrix_heatmap(
    rows: &[String],
    cols: &[String],
    accuracy: &[Vec<Option<f64>>],
    title: &str,
    row_desc: &str,
    col_desc: &str,
) -> Heatmap {
    Heatmap {
        title: title.to_string(),
        rows: rows.to_vec(),
        cols: cols.to_vec(),
        values: cells(accuracy, rows.len(), cols.len()),
        scale: Some(Scale::Sequential { lo: 0.0, hi: 1.0 }),
        highlight_col: None,
        row_desc: row_desc.to_string(),
        col_desc: col_desc.to_string(),
        show_values: true,
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Grouped bars: a value per category (the block tuned) and series (the shift).

/// A grouped bar chart: one group per category, one bar per series, the best category of each
/// series marked, an optional dashed baseline. Values up to 1 show as percent.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BarGroups {
    pub title: String,
    /// What the bars measure (the y axis).
    pub y_desc: String,
    pub categories: Vec<String>,
    /// A series' name and its value in each category (None: not measured).
    pub series: Vec<(String, Vec<Option<f64>>)>,
    pub baseline: Option<(String, f64)>,
}

impl BarGroups {
    fn value(&self, s: usize, c: usize) -> Option<f64> {
        finite(
            self.series
                .get(s)
                .and_then(|x| x.1.get(c).copied().flatten()),
        )
    }

    fn baseline_value(&self) -> Option<(&str, f64)> {
        self.baseline
            .as_ref()
            .filter(|b| b.1.is_finite())
            .map(|(l, v)| (l.as_str(), *v))
    }

    /// Each series' best category: (series, category, value); a tie goes to the first.
    pub fn best(&self) -> Vec<(usize, usize, f64)> {
        (0..self.series.len())
            .filter_map(|s| {
                (0..self.categories.len())
                    .filter_map(|c| self.value(s, c).map(|v| (s, c, v)))
                    .reduce(|a, b| if b.2 > a.2 { b } else { a })
            })
            .collect()
    }

    /// The top of the value axis: 1, or the largest value when that is larger.
    fn top(&self) -> f64 {
        (0..self.series.len())
            .flat_map(|s| (0..self.categories.len()).filter_map(move |c| self.value(s, c)))
            .chain(self.baseline_value().map(|b| b.1))
            .fold(1.0f64, f64::max)
    }

    fn format(&self, v: f64) -> String {
        if self.top() <= 1.0 {
            pct(v)
        } else {
            format!("{v:.3}")
        }
    }

    /// One line per category and series (an empty value where none), then the baseline.
    pub fn csv(&self) -> String {
        let mut s = String::from("category,series,value\n");
        for (c, cat) in self.categories.iter().enumerate() {
            for (k, (name, _)) in self.series.iter().enumerate() {
                let v = self
                    .value(k, c)
                    .map(|v| format!("{v:.6}"))
                    .unwrap_or_default();
                writeln!(s, "{},{},{v}", csv_field(cat), csv_field(name)).ok();
            }
        }
        if let Some((label, v)) = self.baseline_value() {
            writeln!(s, "baseline,{},{v:.6}", csv_field(label)).ok();
        }
        s
    }

    pub fn summary(&self) -> String {
        let best = self.best();
        if best.is_empty() {
            return format!("Empty plot: {}: no values yet.", self.title);
        }
        let series: Vec<&str> = self.series.iter().map(|s| s.0.as_str()).collect();
        let mut s = format!(
            "Grouped bar chart '{}' of {}: {} groups ({}), one bar per series ({}). Best of each \
             series: ",
            self.title,
            self.y_desc,
            self.categories.len(),
            self.categories.join(", "),
            series.join(", ")
        );
        let parts: Vec<String> = best
            .iter()
            .map(|&(k, c, v)| {
                let f = self.format(v);
                format!("{} with {} ({f})", self.series[k].0, self.categories[c])
            })
            .collect();
        write!(s, "{}.", parts.join("; ")).ok();
        if let Some((label, v)) = self.baseline_value() {
            write!(s, " Dashed line: {label} at {}.", self.format(v)).ok();
        }
        s
    }
}

/// Category names under a bar chart: flat when they fit their group, else turned upright (cut
/// short, and only every `step`-th one when even upright they would overlap).
struct AxisLabels {
    text: Vec<String>,
    upright: bool,
    step: usize,
    area: u32,
}

fn axis_labels(categories: &[String], group_px: f64) -> AxisLabels {
    let widest = categories.iter().map(|c| text_px(c, 12)).max().unwrap_or(0);
    if widest as f64 <= group_px - 6.0 {
        return AxisLabels {
            text: categories.to_vec(),
            upright: false,
            step: 1,
            area: 26,
        };
    }
    let text: Vec<String> = categories.iter().map(|c| fit(c, 96, 12)).collect();
    let widest = text.iter().map(|c| text_px(c, 12)).max().unwrap_or(0);
    AxisLabels {
        text,
        upright: true,
        step: (15.0 / group_px.max(1.0)).ceil().max(1.0) as usize,
        area: (widest + 14).clamp(26, 110) as u32,
    }
}

impl BarGroups {
    /// Marks on the best bars only mean something with two groups or more.
    fn marks_best(&self) -> bool {
        self.categories.len() > 1 && !self.best().is_empty()
    }

    fn keys(&self, p: &Palette) -> Vec<(String, Key)> {
        let mut keys: Vec<(String, Key)> = (self.series.iter().enumerate())
            .map(|(i, s)| (s.0.clone(), Key::Bar(colour(p, i))))
            .collect();
        if self.marks_best() {
            let label = match self.series.len() {
                1 => "best",
                _ => "best of each series",
            };
            keys.push((label.into(), Key::Best));
        }
        if let Some((label, v)) = self.baseline_value() {
            let label = format!("{label} ({})", self.format(v));
            keys.push((label, Key::Dashed(p.foreground)));
        }
        keys
    }
}

type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<Axis, Axis>>;

/// The bars, the dashed baseline and the marks on each series' best bar, on an axis up to `top`.
fn draw_bars<DB: DrawingBackend>(
    chart: &mut Chart<DB>,
    d: &BarGroups,
    p: &Palette,
    top: f64,
) -> Result<(), String> {
    let slot = 0.8 / d.series.len().max(1) as f64;
    let centre = |k: usize, c: usize| c as f64 + 0.1 + slot * (k as f64 + 0.5);
    for k in 0..d.series.len() {
        let fill = colour(p, k).filled();
        let bars = (0..d.categories.len()).filter_map(|c| {
            let v = d.value(k, c)?.clamp(0.0, top);
            let x = centre(k, c);
            let corners = [(x - slot * 0.44, 0.0), (x + slot * 0.44, v)];
            Some(Rectangle::new(corners, fill))
        });
        chart.draw_series(bars).map_err(err)?;
    }
    if let Some((_, v)) = d.baseline_value() {
        let line = vec![
            (0.0, v.min(top)),
            (d.categories.len().max(1) as f64, v.min(top)),
        ];
        let style = p.foreground.stroke_width(2);
        chart
            .draw_series(DashedLineSeries::new(line, 6, 4, style))
            .map_err(err)?;
    }
    if d.marks_best() {
        let fill = p.foreground.filled();
        chart
            .draw_series(d.best().into_iter().map(|(k, c, v)| {
                EmptyElement::at((centre(k, c), v.clamp(0.0, top)))
                    + Polygon::new(vec![(-5, -11), (5, -11), (0, -3)], fill)
            }))
            .map_err(err)?;
    }
    Ok(())
}

/// Grouped bars in the figures' style: see `BarGroups`.
pub fn draw_bar_groups<DB: DrawingBackend>(
    root: &Area<DB>,
    d: &BarGroups,
    p: &Palette,
) -> Result<(), String> {
    root.fill(&p.background).map_err(err)?;
    let head = draw_header(root, &d.title, &d.keys(p), p)?;
    let (_, body) = root.split_vertically(head);
    let n = d.categories.len().max(1);
    let group_px = (body.dim_in_pixel().0 as f64 - 80.0) / n as f64;
    let labels = axis_labels(&d.categories, group_px);
    let (vmax, percent) = (d.top(), d.top() <= 1.0);
    let top = vmax * 1.1;
    let mut chart = ChartBuilder::on(&body)
        .margin(10)
        .margin_top(4)
        .x_label_area_size(labels.area)
        .y_label_area_size(58)
        .build_cartesian_2d(Axis::linear(0f64..n as f64), Axis::linear(0f64..top))
        .map_err(err)?;
    mesh(&mut chart, p)
        .disable_x_mesh()
        .y_max_light_lines(1)
        .x_labels(0)
        .y_desc(d.y_desc.as_str())
        .y_label_formatter(&|v| match (*v > vmax + 1e-9, percent) {
            (true, _) => String::new(),
            (false, true) => format!("{:.0}%", 100.0 * v),
            (false, false) => format!("{v:.2}"),
        })
        .draw()
        .map_err(err)?;
    draw_bars(&mut chart, d, p, top)?;
    let style = match labels.upright {
        true => anchored(p, 12, HPos::Right, VPos::Center).transform(FontTransform::Rotate270),
        false => anchored(p, 12, HPos::Center, VPos::Top),
    };
    let shown = labels.text.iter().enumerate().step_by(labels.step);
    chart
        .draw_series(shown.map(|(c, t)| {
            EmptyElement::at((c as f64 + 0.5, 0.0)) + Text::new(t.clone(), (0, 6), style.clone())
        }))
        .map_err(err)?;
    if d.best().is_empty() {
        let style = anchored(p, 13, HPos::Center, VPos::Center).color(&p.muted);
        let at = (n as f64 / 2.0, top / 2.0);
        chart
            .draw_series(std::iter::once(Text::new("No values yet", at, style)))
            .map_err(err)?;
    }
    root.present().map_err(err)
}

// ---------------------------------------------------------------------------------------------
// 4. Validation accuracy against epoch, one line per learning rate.

/// Validation accuracy (0..1) after each epoch, one line per learning rate; the run picked
/// is ringed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ValCurves {
    /// A line's label (e.g. "lr 1e-3") and its accuracy after epochs 1, 2, ...
    pub lines: Vec<(String, Vec<f64>)>,
    /// The run picked: (line, epoch index from 0); None: the highest accuracy.
    pub best: Option<(usize, usize)>,
}

impl ValCurves {
    fn epochs(&self) -> usize {
        self.lines.iter().map(|l| l.1.len()).max().unwrap_or(0)
    }

    /// The point picked, (line, epoch index, accuracy): `best` when it names a finite value,
    /// else the highest accuracy (the first of ties).
    pub fn best_point(&self) -> Option<(usize, usize, f64)> {
        let at = |l: usize, e: usize| {
            finite(self.lines.get(l).and_then(|x| x.1.get(e).copied())).map(|v| (l, e, v))
        };
        if let Some(b) = self.best.and_then(|(l, e)| at(l, e)) {
            return Some(b);
        }
        (0..self.lines.len())
            .flat_map(|l| (0..self.lines[l].1.len()).filter_map(move |e| at(l, e)))
            .reduce(|a, b| if b.2 > a.2 { b } else { a })
    }

    /// One line per value: line label, epoch (from 1), accuracy.
    pub fn csv(&self) -> String {
        let mut s = String::from("line,epoch,accuracy\n");
        for (label, acc) in &self.lines {
            for (e, v) in acc.iter().enumerate() {
                writeln!(s, "{},{},{v:.6}", csv_field(label), e + 1).ok();
            }
        }
        s
    }

    pub fn summary(&self) -> String {
        let Some((l, e, v)) = self.best_point() else {
            return "Empty plot: no validation accuracy yet.".into();
        };
        let finals: Vec<String> = self
            .lines
            .iter()
            .map(|(label, acc)| match acc.last() {
                Some(v) if v.is_finite() => format!("{label} {}", pct(*v)),
                Some(_) => format!("{label} not a number (diverged)"),
                None => format!("{label} no epoch"),
            })
            .collect();
        format!(
            "Line plot of validation accuracy against epoch (1 to {}), one line per learning rate. \
             After the last epoch: {}. Best: {} at epoch {}, {}.",
            self.epochs(),
            finals.join(", "),
            self.lines[l].0,
            e + 1,
            pct(v)
        )
    }
}

/// The validation curves with the best point ringed; the y axis starts at a tenth below the
/// lowest accuracy.
pub fn draw_val_curves<DB: DrawingBackend>(
    root: &Area<DB>,
    d: &ValCurves,
    p: &Palette,
) -> Result<(), String> {
    root.fill(&p.background).map_err(err)?;
    let best = d.best_point();
    let mut keys: Vec<(String, Key)> = (d.lines.iter().enumerate())
        .map(|(i, l)| (l.0.clone(), Key::Line(colour(p, i))))
        .collect();
    if let Some((l, e, _)) = best {
        keys.push((
            format!("best: {}, epoch {}", d.lines[l].0, e + 1),
            Key::Ring,
        ));
    }
    let title = "Validation accuracy by learning rate";
    let head = draw_header(root, title, &keys, p)?;
    let (_, body) = root.split_vertically(head);
    let epochs = d.epochs().max(1) as f64;
    let lowest = (d.lines.iter().flat_map(|l| l.1.iter()))
        .filter(|v| v.is_finite())
        .fold(f64::INFINITY, |m, &v| m.min(v));
    let lo = match lowest.is_finite() {
        true => (((lowest - 0.05) * 10.0).floor() / 10.0).clamp(0.0, 0.9),
        false => 0.0,
    };
    let mut chart = ChartBuilder::on(&body)
        .margin(10)
        .margin_top(4)
        .x_label_area_size(40)
        .y_label_area_size(58)
        .build_cartesian_2d(Axis::linear(0.7..epochs + 0.3), Axis::linear(lo..1.0))
        .map_err(err)?;
    mesh(&mut chart, p)
        .x_desc("epoch")
        .y_desc("validation accuracy")
        .x_labels((epochs as usize + 1).min(12))
        .x_label_formatter(&|v| match v.fract() == 0.0 && *v >= 1.0 {
            true => format!("{v:.0}"),
            false => String::new(),
        })
        .y_label_formatter(&|v| format!("{:.0}%", 100.0 * v))
        .draw()
        .map_err(err)?;
    for (i, (_, acc)) in d.lines.iter().enumerate() {
        let c = colour(p, i);
        let pts: Vec<(f64, f64)> = (acc.iter().enumerate())
            .filter(|(_, v)| v.is_finite())
            .map(|(e, v)| ((e + 1) as f64, v.clamp(lo, 1.0)))
            .collect();
        let dots = if epochs <= 40.0 { 3 } else { 0 };
        chart
            .draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))
            .map_err(err)?;
        chart
            .draw_series(pts.into_iter().map(|pt| Circle::new(pt, dots, c.filled())))
            .map_err(err)?;
    }
    if let Some((_, e, v)) = best {
        let ring = Circle::new(
            ((e + 1) as f64, v.clamp(lo, 1.0)),
            8,
            p.foreground.stroke_width(2),
        );
        chart.draw_series(std::iter::once(ring)).map_err(err)?;
    } else {
        let style = anchored(p, 13, HPos::Center, VPos::Center).color(&p.muted);
        let at = ((epochs + 1.0) / 2.0, (lo + 1.0) / 2.0);
        chart
            .draw_series(std::iter::once(Text::new(
                "No validation run yet",
                at,
                style,
            )))
            .map_err(err)?;
    }
    root.present().map_err(err)
}

// ---------------------------------------------------------------------------------------------
// The figures' data from the chapter's computations.

/// Test image `image` under every corruption at severities 0 to 5 (noise from
/// `Rng::stream(seed, image)`, as in the accuracy table and the fine-tuning data).
pub fn corruption_examples(
    test: &crate::vision::data::Split,
    image: usize,
    seed: u64,
) -> Result<CorruptionGrid, String> {
    use crate::shift::corruptions::{corrupt_range, pixels_from_bytes, Corruption, MAX_SEVERITY};
    let rows = Corruption::ALL
        .iter()
        .map(|&c| {
            let images = (0..=MAX_SEVERITY)
                .map(|s| {
                    Ok(pixels_from_bytes(&corrupt_range(
                        test,
                        c,
                        s,
                        seed,
                        image..image + 1,
                    )?))
                })
                .collect::<Result<Vec<_>, String>>()?;
            Ok((c.name().to_string(), images))
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(CorruptionGrid {
        rows,
        side: crate::vision::data::SIDE,
    })
}

/// The pretrained network's accuracy table as a heatmap (corruptions x severities 0..5).
pub fn corruption_table_heatmap(t: &crate::shift::table::CorruptionTable) -> Heatmap {
    use crate::shift::corruptions::{Corruption, MAX_SEVERITY};
    let names: Vec<String> = Corruption::ALL
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    let severities: Vec<usize> = (0..=MAX_SEVERITY as usize).collect();
    corruption_accuracy_heatmap(&names, &severities, &t.grid(), Some(t.clean))
}

#[cfg(test)]
mod tests {
    use super::super::heatmap::draw_heatmap;
    use super::super::to_svg;
    use super::*;

    const BLOCKS: [&str; 8] = [
        "block1", "block2", "block3", "block4", "head", "all", "bn-stats", "auto-rgn",
    ];

    /// A 28 x 28 "image": a bright disk, noisier with the severity.
    fn image(severity: usize, seed: usize) -> Vec<f32> {
        (0..28 * 28)
            .map(|i| {
                let (r, c) = ((i / 28) as f32 - 13.5, (i % 28) as f32 - 13.5);
                let disk = if r * r + c * c < 80.0 { 0.9 } else { 0.05 };
                let noise = (((i * 7919 + seed * 104729) % 97) as f32 / 97.0 - 0.5) * 0.2;
                (disk + noise * severity as f32).clamp(0.0, 1.0)
            })
            .collect()
    }

    fn grid() -> CorruptionGrid {
        let names = ["gaussian_noise", "contrast", "defocus_blur", "pixelate"];
        let rows = (names.iter().enumerate())
            .map(|(k, n)| {
                let mut imgs: Vec<Vec<f32>> = (0..=5).map(|s| image(s, k)).collect();
                if k == 3 {
                    imgs[4].clear(); // a missing image
                }
                (n.to_string(), imgs)
            })
            .collect();
        CorruptionGrid { rows, side: 28 }
    }

    fn bars() -> BarGroups {
        let series = [("gaussian_noise", 0.3), ("flip", 0.0), ("stage-noise", 0.6)];
        BarGroups {
            title: "Accuracy after fine-tuning one block".into(),
            y_desc: "test accuracy".into(),
            categories: BLOCKS.iter().map(|s| s.to_string()).collect(),
            series: (series.iter().enumerate())
                .map(|(k, &(name, shift))| {
                    let vals = (0..BLOCKS.len())
                        .map(|c| {
                            let v = 0.55 + 0.05 * ((c as f64 - 2.0 - 3.0 * shift).abs()).min(6.0);
                            (c != 6 || k != 1).then_some(1.0 - v * 0.5)
                        })
                        .collect();
                    (name.to_string(), vals)
                })
                .collect(),
            baseline: Some(("no fine-tuning".into(), 0.62)),
        }
    }

    fn curves() -> ValCurves {
        let lrs = [("lr 1e-4", 0.02), ("lr 1e-3", 0.06), ("lr 1e-2", 0.1)];
        let lines = lrs
            .iter()
            .map(|&(name, rate)| {
                let acc = (1..=8)
                    .map(|e| {
                        0.9 - 0.5 * (-rate * 6.0 * e as f64).exp() - 0.01 * rate * (e * e) as f64
                    })
                    .collect();
                (name.to_string(), acc)
            })
            .collect();
        ValCurves { lines, best: None }
    }

    fn heatmaps() -> Vec<Heatmap> {
        let names: Vec<String> = ["gaussian_noise", "contrast", "pixelate"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let acc: Vec<Vec<Option<f64>>> = (0..3)
            .map(|r| {
                (0..6)
                    .map(|s| Some(0.92 - 0.1 * s as f64 * (r + 1) as f64 / 3.0))
                    .collect()
            })
            .collect();
        let classes = crate::vision::data::CLASSES;
        let k = classes.len();
        let m: Vec<f32> = (0..k * k)
            .map(|i| {
                if i / k == (i % k + 3) % k {
                    0.9
                } else {
                    ((i % 7) as f32 - 3.0) * 0.05
                }
            })
            .collect();
        let blocks: Vec<String> = BLOCKS[..4].iter().map(|s| s.to_string()).collect();
        let tuned: Vec<Vec<Option<f64>>> = (0..4)
            .map(|r| {
                (0..4)
                    .map(|c| Some(if r == c { 0.85 } else { 0.4 + 0.05 * c as f64 }))
                    .collect()
            })
            .collect();
        vec![
            corruption_accuracy_heatmap(&names, &[0, 1, 2, 3, 4, 5], &acc, Some(0.921)),
            head_matrix_heatmap(&m, k, "Learned class map", &classes),
            block_matrix_heatmap(
                &blocks,
                &blocks,
                &tuned,
                "Accuracy",
                "perturbed block",
                "tuned block",
            ),
        ]
    }

    fn both(
        w: u32,
        h: u32,
        draw: impl Fn(&Area<SVGBackend>, &Palette) -> Result<(), String>,
    ) -> Vec<String> {
        [Palette::LIGHT, Palette::DARK]
            .iter()
            .map(|p| to_svg(w, h, |a| draw(a, p)).expect("draws"))
            .collect()
    }

    #[test]
    fn the_corruption_grid_draws_labels_and_describes_each_image() {
        let g = grid();
        for svg in both(720, 520, |a, p| draw_corruption_grid(a, &g, p)) {
            assert!(svg.contains("gaussian_noise") && svg.contains("pixelate"));
            assert!(svg.contains("0 (clean)") && svg.contains("\n5\n"));
        }
        // Narrow: the long names break at the underscore, the clean column shortens.
        let svg = &both(340, 300, |a, p| draw_corruption_grid(a, &g, p))[0];
        assert!(svg.contains("\nclean\n") && svg.contains("\ngaussian\n"));
        let csv = g.csv();
        assert_eq!(csv.lines().next(), Some("corruption,severity,mean,std"));
        assert_eq!(csv.lines().count(), 1 + 4 * 6);
        assert!(csv.contains("pixelate,4,,\n"));
        assert!(g.summary().contains("defocus_blur from mean"));
        let empty = CorruptionGrid::default();
        assert!(empty.summary().starts_with("Empty plot"));
        for svg in both(340, 200, |a, p| draw_corruption_grid(a, &empty, p)) {
            assert!(svg.contains("No example images yet"));
        }
        let odd = CorruptionGrid {
            rows: vec![(
                "nan".into(),
                vec![vec![f32::NAN; 784], vec![0.5; 3], vec![]],
            )],
            side: 28,
        };
        both(100, 60, |a, p| draw_corruption_grid(a, &odd, p));
        assert!(odd.csv().contains("nan,0,,\n"));
    }

    #[test]
    fn bar_groups_mark_the_best_block_of_each_series() {
        let d = bars();
        let best = d.best();
        assert_eq!(best.len(), 3);
        for &(k, c, v) in &best {
            let all: Vec<f64> = (0..BLOCKS.len()).filter_map(|c| d.value(k, c)).collect();
            assert!(all.iter().all(|&x| x <= v) && d.value(k, c) == Some(v));
        }
        let (k, c, v) = best[0];
        let s = d.summary();
        assert!(s.contains(&format!(
            "{} with {} ({})",
            d.series[k].0,
            BLOCKS[c],
            pct(v)
        )));
        assert!(s.contains("no fine-tuning at 62.0%"));
        for (w, h) in [(720, 420), (340, 300)] {
            for svg in both(w, h, |a, pp| draw_bar_groups(a, &d, pp)) {
                assert!(BLOCKS.iter().all(|b| svg.contains(b)), "labels at {w}");
                assert!(svg.contains("stage-noise") && svg.contains("no fine-tuning"));
            }
        }
        let csv = d.csv();
        assert_eq!(csv.lines().next(), Some("category,series,value"));
        assert_eq!(csv.lines().count(), 1 + 8 * 3 + 1);
        assert!(csv.contains("bn-stats,flip,\n") && csv.contains("baseline,no fine-tuning,0.62"));
        // Values above 1 (learning-rate multipliers, say) stretch the axis and print plainly.
        let big = BarGroups {
            series: vec![("mult".into(), vec![Some(0.5), Some(2.0)])],
            categories: vec!["conv1.w".into(), "fc.b".into()],
            ..Default::default()
        };
        assert!(big.summary().contains("mult with fc.b (2.000)"));
        both(340, 240, |a, pp| draw_bar_groups(a, &big, pp));
    }

    #[test]
    fn empty_or_odd_bars_draw_a_frame_with_a_note() {
        let empty = BarGroups::default();
        assert!(empty.summary().starts_with("Empty plot"));
        assert_eq!(empty.csv(), "category,series,value\n");
        for svg in both(340, 240, |a, p| draw_bar_groups(a, &empty, p)) {
            assert!(svg.contains("No values yet"));
        }
        let odd = BarGroups {
            categories: (0..40).map(|i| format!("layer{i}.weight")).collect(),
            series: vec![("a".into(), vec![Some(f64::NAN), None, Some(-0.2)])],
            baseline: Some(("nan".into(), f64::NAN)),
            ..Default::default()
        };
        both(340, 200, |a, p| draw_bar_groups(a, &odd, p));
        both(60, 40, |a, p| draw_bar_groups(a, &bars(), p));
    }

    #[test]
    fn validation_curves_ring_the_best_learning_rate() {
        let d = curves();
        let (l, e, v) = d.best_point().unwrap();
        let max = d
            .lines
            .iter()
            .flat_map(|l| l.1.iter())
            .fold(0.0f64, |m, &v| m.max(v));
        assert_eq!(v, max);
        let s = d.summary();
        assert!(s.contains(&format!(
            "Best: {} at epoch {}, {}",
            d.lines[l].0,
            e + 1,
            pct(v)
        )));
        let picked = ValCurves {
            best: Some((0, 7)),
            ..d.clone()
        };
        assert_eq!(picked.best_point().map(|b| (b.0, b.1)), Some((0, 7)));
        for svg in both(720, 420, |a, p| draw_val_curves(a, &d, p)) {
            assert!(svg.contains("lr 1e-3") && svg.contains("epoch"));
        }
        both(340, 260, |a, p| draw_val_curves(a, &picked, p));
        let csv = d.csv();
        assert_eq!(csv.lines().next(), Some("line,epoch,accuracy"));
        assert_eq!(csv.lines().count(), 1 + 3 * 8);
        let empty = ValCurves::default();
        assert!(empty.summary().starts_with("Empty plot"));
        for svg in both(340, 240, |a, p| draw_val_curves(a, &empty, p)) {
            assert!(svg.contains("No validation run yet"));
        }
        let odd = ValCurves {
            lines: vec![
                ("lr 1".into(), vec![f64::NAN, 0.1]),
                ("none".into(), vec![]),
            ],
            best: Some((5, 5)),
        };
        assert!(odd.summary().contains("Best: lr 1 at epoch 2"));
        both(340, 240, |a, p| draw_val_curves(a, &odd, p));
    }

    #[test]
    fn heatmaps_label_their_rows_and_columns() {
        let hs = heatmaps();
        assert_eq!(hs[0].cols[0], "clean");
        assert!(hs[0].title.contains("92.1%"));
        assert_eq!(hs[0].get(2, 5), Some(0.92 - 0.5));
        assert_eq!(hs[1].rows[0], "T-shirt");
        assert_eq!(hs[1].rows[2], "Pullover");
        assert_eq!(hs[1].rows[9], "Ankle");
        assert_eq!(
            hs[1].effective_scale(),
            Scale::Diverging { max: 0.9f32 as f64 }
        );
        assert_eq!(
            (hs[2].row_desc.as_str(), hs[2].get(1, 1)),
            ("perturbed block", Some(0.85))
        );
        for h in &hs {
            assert_eq!(h.csv().lines().count(), 1 + h.n_rows() * h.n_cols());
            for svg in both(720, 520, |a, p| draw_heatmap(a, h, p)) {
                assert!(h
                    .rows
                    .iter()
                    .chain(&h.cols)
                    .all(|l| svg.contains(l.as_str())));
            }
        }
        // Ragged, NaN and missing input becomes masked cells.
        let h = corruption_accuracy_heatmap(&["a".into()], &[1, 2], &[vec![Some(f64::NAN)]], None);
        assert_eq!(h.values, vec![None, None]);
        let m = head_matrix_heatmap(&[0.0; 3], 2, "t", &[]);
        assert_eq!(
            (m.rows.clone(), m.values[3]),
            (vec!["0".into(), "1".into()], None)
        );
        both(340, 300, |a, p| draw_heatmap(a, &m, p));
        assert_eq!(abbreviate("gaussian", 8), "gaussian");
        assert_eq!(abbreviate("superlongname", 8), "superlo.");
    }

    /// Writes every figure, light and dark, wide and narrow, to $GLASSBOX_FIG_DIR (to look at).
    #[test]
    fn write_figures_when_asked() {
        let Ok(dir) = std::env::var("GLASSBOX_FIG_DIR") else {
            return;
        };
        std::fs::create_dir_all(&dir).unwrap();
        let hs = heatmaps();
        let (g, b, c) = (grid(), bars(), curves());
        let many = BarGroups {
            title: "Auto-RGN: learning-rate multiplier per tensor".into(),
            y_desc: "multiplier".into(),
            categories: (1..=20).map(|i| format!("conv{i}.weight")).collect(),
            series: vec![(
                "mult".into(),
                (0..20).map(|i| Some(1.0 / (1.0 + i as f64))).collect(),
            )],
            baseline: None,
        };
        type Draw<'a> = Box<dyn Fn(&Area<SVGBackend>, &Palette) -> Result<(), String> + 'a>;
        let mut figs: Vec<(String, Draw)> = vec![
            (
                "grid".into(),
                Box::new(|a, p| draw_corruption_grid(a, &g, p)),
            ),
            ("bars".into(), Box::new(|a, p| draw_bar_groups(a, &b, p))),
            ("curves".into(), Box::new(|a, p| draw_val_curves(a, &c, p))),
            (
                "bars-many".into(),
                Box::new(|a, p| draw_bar_groups(a, &many, p)),
            ),
            (
                "empty-grid".into(),
                Box::new(|a, p| draw_corruption_grid(a, &Default::default(), p)),
            ),
            (
                "empty-bars".into(),
                Box::new(|a, p| draw_bar_groups(a, &Default::default(), p)),
            ),
            (
                "empty-curves".into(),
                Box::new(|a, p| draw_val_curves(a, &Default::default(), p)),
            ),
        ];
        for (i, hm) in hs.iter().enumerate() {
            figs.push((
                format!("heatmap{i}"),
                Box::new(move |a, p| draw_heatmap(a, hm, p)),
            ));
        }
        for (w, h) in [(720u32, 460u32), (340, 300)] {
            for (theme, p) in [("light", Palette::LIGHT), ("dark", Palette::DARK)] {
                for (name, draw) in &figs {
                    let svg = to_svg(w, h, |a| draw(a, &p)).unwrap();
                    std::fs::write(format!("{dir}/{name}-{theme}-{w}.svg"), svg).unwrap();
                }
            }
        }
    }
}
