//! A heatmap: a grid of cells coloured by value, with row and column labels, masked cells drawn
//! apart and one column that can be highlighted. Used for attention scores and weights (chapter 2)
//! and for weight tensors before and after quantization (chapter 7). The colour of a cell is a
//! function of its value alone, so equal values always get equal colours.

use super::{err, font, Area, Palette};
use plotters::prelude::*;
use std::fmt::Write as _;

/// How values map to colours.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scale {
    /// -max .. 0 .. max: first series colour, background, second series colour.
    Diverging { max: f64 },
    /// lo .. hi: background to the first series colour.
    Sequential { lo: f64, hi: f64 },
    /// lo .. hi: black to white (pictures), whatever the theme.
    Grey { lo: f64, hi: f64 },
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Heatmap {
    pub title: String,
    pub rows: Vec<String>,
    pub cols: Vec<String>,
    /// Row-major; None = a masked cell.
    pub values: Vec<Option<f64>>,
    pub scale: Option<Scale>,
    pub highlight_col: Option<usize>,
    pub row_desc: String,
    pub col_desc: String,
    /// Print each value in its cell (when the cells are large enough).
    pub show_values: bool,
}

fn mix(a: RGBColor, b: RGBColor, t: f64) -> RGBColor {
    let t = t.clamp(0.0, 1.0);
    let f = |x: u8, y: u8| (x as f64 + (y as f64 - x as f64) * t).round() as u8;
    RGBColor(f(a.0, b.0), f(a.1, b.1), f(a.2, b.2))
}

impl Scale {
    pub fn colour(&self, v: f64, p: &Palette) -> RGBColor {
        match *self {
            Scale::Diverging { max } => {
                let t = v / max.max(1e-30);
                if t < 0.0 {
                    mix(p.background, p.series[0], -t)
                } else {
                    mix(p.background, p.series[1], t)
                }
            }
            Scale::Sequential { lo, hi } => {
                mix(p.background, p.series[0], (v - lo) / (hi - lo).max(1e-30))
            }
            Scale::Grey { lo, hi } => mix(
                RGBColor(0, 0, 0),
                RGBColor(255, 255, 255),
                (v - lo) / (hi - lo).max(1e-30),
            ),
        }
    }
}

impl Heatmap {
    pub fn n_rows(&self) -> usize {
        self.rows.len()
    }
    pub fn n_cols(&self) -> usize {
        self.cols.len()
    }

    pub fn get(&self, r: usize, c: usize) -> Option<f64> {
        self.values.get(r * self.n_cols() + c).copied().flatten()
    }

    /// The scale given, or a diverging one over the largest magnitude.
    pub fn effective_scale(&self) -> Scale {
        self.scale.unwrap_or_else(|| Scale::Diverging {
            max: self
                .values
                .iter()
                .flatten()
                .fold(0.0f64, |m, v| m.max(v.abs())),
        })
    }

    pub fn csv(&self) -> String {
        let mut s = String::from("row,column,value\n");
        for (r, rn) in self.rows.iter().enumerate() {
            for (c, cn) in self.cols.iter().enumerate() {
                match self.get(r, c) {
                    Some(v) => writeln!(s, "{},{},{v:.6}", csv_field(rn), csv_field(cn)).ok(),
                    None => writeln!(s, "{},{},masked", csv_field(rn), csv_field(cn)).ok(),
                };
            }
        }
        s
    }

    pub fn summary(&self) -> String {
        let vals: Vec<f64> = self.values.iter().flatten().copied().collect();
        let masked = self.values.len() - vals.len();
        let (lo, hi) = vals
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        let mut s = format!(
            "Heatmap '{}': {} rows ({}) by {} columns ({}).",
            self.title,
            self.n_rows(),
            self.row_desc,
            self.n_cols(),
            self.col_desc
        );
        if vals.is_empty() {
            s.push_str(" Every cell is masked.");
        } else {
            write!(s, " Values from {lo:.3} to {hi:.3}").ok();
            if masked > 0 {
                write!(s, "; {masked} cells masked").ok();
            }
            s.push('.');
        }
        s
    }
}

fn csv_field(s: &str) -> String {
    if s.contains(',') || s.contains('"') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Black or white text, whichever reads on `bg`.
fn text_on(bg: RGBColor) -> RGBColor {
    let lum = 0.299 * bg.0 as f64 + 0.587 * bg.1 as f64 + 0.114 * bg.2 as f64;
    if lum > 140.0 {
        RGBColor(20, 20, 24)
    } else {
        RGBColor(245, 245, 248)
    }
}

pub fn draw_heatmap<DB: DrawingBackend>(
    root: &Area<DB>,
    h: &Heatmap,
    p: &Palette,
) -> Result<(), String> {
    root.fill(&p.background).map_err(err)?;
    let (w, ht) = root.dim_in_pixel();
    let (rows, cols) = (h.n_rows().max(1), h.n_cols().max(1));
    let label_chars = |v: &[String]| v.iter().map(|s| s.chars().count()).max().unwrap_or(0);
    let small = rows > 24 || cols > 24;
    let left = if small {
        46
    } else {
        (label_chars(&h.rows) as i32 * 8 + 16).clamp(30, 140)
    };
    let top = if small {
        48
    } else {
        (label_chars(&h.cols) as i32 * 7 + 50).clamp(56, 130)
    };
    let cell = (((w as i32 - left - 12) as f64 / cols as f64)
        .min((ht as i32 - top - 30) as f64 / rows as f64))
    .max(1.0);
    root.draw(&Text::new(h.title.clone(), (left, 6), font(p, 17)))
        .map_err(err)?;
    let scale = h.effective_scale();
    let x = |c: usize| left + (c as f64 * cell).round() as i32;
    let y = |r: usize| top + (r as f64 * cell).round() as i32;
    for r in 0..h.n_rows() {
        for c in 0..h.n_cols() {
            let (x0, y0, x1, y1) = (x(c), y(r), x(c + 1), y(r + 1));
            match h.get(r, c) {
                Some(v) => {
                    let bg = scale.colour(v, p);
                    root.draw(&Rectangle::new([(x0, y0), (x1, y1)], bg.filled()))
                        .map_err(err)?;
                    if h.show_values && cell >= 34.0 {
                        let t = format!("{v:.2}");
                        let style = (FontFamily::SansSerif, 12).into_font().color(&text_on(bg));
                        root.draw(&Text::new(t, (x0 + 4, y0 + (cell as i32) / 2 - 6), style))
                            .map_err(err)?;
                    }
                }
                None => {
                    root.draw(&Rectangle::new([(x0, y0), (x1, y1)], p.grid.filled()))
                        .map_err(err)?;
                    root.draw(&PathElement::new(
                        vec![(x0, y1), (x1, y0)],
                        p.muted.stroke_width(1),
                    ))
                    .map_err(err)?;
                }
            }
        }
    }
    if cell >= 6.0 {
        for r in 0..=h.n_rows() {
            root.draw(&PathElement::new(
                vec![(x(0), y(r)), (x(h.n_cols()), y(r))],
                p.background,
            ))
            .map_err(err)?;
        }
        for c in 0..=h.n_cols() {
            root.draw(&PathElement::new(
                vec![(x(c), y(0)), (x(c), y(h.n_rows()))],
                p.background,
            ))
            .map_err(err)?;
        }
    }
    if let Some(c) = h.highlight_col.filter(|&c| c < h.n_cols()) {
        root.draw(&Rectangle::new(
            [(x(c) - 1, y(0) - 1), (x(c + 1) + 1, y(h.n_rows()) + 1)],
            p.foreground.stroke_width(3),
        ))
        .map_err(err)?;
    }
    // Labels: every one when the cells are large, else the axis descriptions only.
    if !small {
        for (r, name) in h.rows.iter().enumerate() {
            let yy = y(r) + (cell as i32) / 2 - 7;
            root.draw(&Text::new(name.clone(), (4, yy), font(p, 13)))
                .map_err(err)?;
        }
        for (c, name) in h.cols.iter().enumerate() {
            let style = font(p, 13).transform(FontTransform::Rotate270);
            let xx = x(c) + (cell as i32) / 2 - 7;
            root.draw(&Text::new(name.clone(), (xx, top - 6), style))
                .map_err(err)?;
        }
    }
    let desc = format!("rows: {}   columns: {}", h.row_desc, h.col_desc);
    root.draw(&Text::new(
        desc,
        (left, (y(h.n_rows()) + 8).min(ht as i32 - 18)),
        font(p, 13),
    ))
    .map_err(err)?;
    root.present().map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_values_get_equal_colours_and_masked_cells_are_marked() {
        let p = Palette::LIGHT;
        let s = Scale::Diverging { max: 2.0 };
        assert_eq!(s.colour(0.0, &p), p.background);
        assert_eq!(s.colour(2.0, &p), p.series[1]);
        assert_eq!(s.colour(-2.0, &p), p.series[0]);
        assert_eq!(s.colour(0.7, &p), s.colour(0.7, &p));
        let h = Heatmap {
            title: "t".into(),
            rows: vec!["a".into(), "b,c".into()],
            cols: vec!["x".into()],
            values: vec![Some(1.0), None],
            ..Default::default()
        };
        assert_eq!(
            h.csv(),
            "row,column,value\na,x,1.000000\n\"b,c\",x,masked\n"
        );
        assert!(h.summary().contains("1 cells masked"));
        let svg = super::super::to_svg(400, 300, |a| draw_heatmap(a, &h, &p)).unwrap();
        assert!(svg.contains("<svg"));
    }
}
