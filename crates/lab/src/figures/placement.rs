//! Where a figure's legend goes so that it covers no data: the first free spot inside the plot
//! (the figure's preferred corner, the other corners and edge midpoints, then along the edges), else
//! a strip beside or above the plot that the chart reserves for it.

use plotters::prelude::*;
use plotters::style::TextStyle;
use SeriesLabelPosition::*;

/// Clear space kept between the legend box and any data, in pixels.
const PAD: f64 = 4.0;
/// The box's distance from the plot's edges (what plotters uses for its named positions).
const INSET: i32 = 5;
/// Space between the plot and a legend in a strip.
const GAP: i32 = 12;
/// Width plotters gives the entries' symbols, and its margin around the entries (its layout of
/// series labels, which `Key::draw` follows).
const SYMBOLS: i32 = 30;
const MARGIN: i32 = 10;

/// Something a figure draws from its data, which its legend must not cover.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Mark<C> {
    /// A dot of this radius in pixels.
    Dot(C, u32),
    /// A polyline this many pixels wide (a line series, a reference line).
    Line(Vec<C>, u32),
    /// A filled polygon (a band).
    Fill(Vec<C>),
}

impl<C> Mark<C> {
    fn map<D>(&self, f: impl Fn(&C) -> D) -> Mark<D> {
        match self {
            Mark::Dot(c, r) => Mark::Dot(f(c), *r),
            Mark::Line(v, w) => Mark::Line(v.iter().map(f).collect(), *w),
            Mark::Fill(v) => Mark::Fill(v.iter().map(f).collect()),
        }
    }
}

/// A rectangle in pixels, from (`x0`, `y0`) to (`x1`, `y1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rect {
    pub x0: i32,
    pub y0: i32,
    pub x1: i32,
    pub y1: i32,
}

impl Rect {
    fn at((x, y): (i32, i32), (w, h): (i32, i32)) -> Rect {
        Rect {
            x0: x,
            y0: y,
            x1: x + w,
            y1: y + h,
        }
    }

    pub(crate) fn shifted(&self, (dx, dy): (i32, i32)) -> Rect {
        Rect::at(
            (self.x0 + dx, self.y0 + dy),
            (self.x1 - self.x0, self.y1 - self.y0),
        )
    }

    /// Whether `mark` (in pixels) comes within `pad` pixels of the rectangle.
    pub(crate) fn touches(&self, mark: &Mark<(i32, i32)>, pad: f64) -> bool {
        let f = |&(x, y): &(i32, i32)| (f64::from(x), f64::from(y));
        let grown = |d: f64| {
            [
                f64::from(self.x0) - d,
                f64::from(self.y0) - d,
                f64::from(self.x1) + d,
                f64::from(self.y1) + d,
            ]
        };
        match mark {
            Mark::Dot(c, r) => {
                let (x, y) = f(c);
                let [x0, y0, x1, y1] = grown(0.0);
                let (dx, dy) = (x - x.clamp(x0, x1), y - y.clamp(y0, y1));
                dx.hypot(dy) <= f64::from(*r) + pad
            }
            Mark::Line(v, w) => {
                let b = grown(pad + f64::from(*w) / 2.0);
                match v.as_slice() {
                    [one] => segment_meets(f(one), f(one), b),
                    _ => v.windows(2).any(|s| segment_meets(f(&s[0]), f(&s[1]), b)),
                }
            }
            Mark::Fill(v) => {
                let b = grown(pad);
                let edges = v.iter().zip(v.iter().cycle().skip(1));
                let centre = (
                    f64::from(self.x0 + self.x1) / 2.0,
                    f64::from(self.y0 + self.y1) / 2.0,
                );
                edges.clone().any(|(a, c)| segment_meets(f(a), f(c), b))
                    || (v.len() > 2 && inside(centre, edges.map(|(a, c)| (f(a), f(c)))))
            }
        }
    }
}

/// Whether the segment from `a` to `b` meets the box [x0, y0, x1, y1] (Liang–Barsky clipping).
fn segment_meets(a: (f64, f64), b: (f64, f64), [x0, y0, x1, y1]: [f64; 4]) -> bool {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for (p, q) in [
        (-dx, a.0 - x0),
        (dx, x1 - a.0),
        (-dy, a.1 - y0),
        (dy, y1 - a.1),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return false;
            }
        } else {
            let t = q / p;
            if p < 0.0 {
                t0 = t0.max(t);
            } else {
                t1 = t1.min(t);
            }
        }
    }
    t0 <= t1
}

/// Whether `pt` lies inside the polygon with these edges (even-odd rule).
fn inside(pt: (f64, f64), edges: impl Iterator<Item = ((f64, f64), (f64, f64))>) -> bool {
    let mut odd = false;
    for (a, b) in edges {
        if (a.1 > pt.1) != (b.1 > pt.1) && pt.0 < a.0 + (pt.1 - a.1) / (b.1 - a.1) * (b.0 - a.0) {
            odd = !odd;
        }
    }
    odd
}

/// The named positions, in the order tried after the figure's own choice.
const ORDER: [SeriesLabelPosition; 8] = [
    UpperRight,
    UpperLeft,
    LowerRight,
    LowerLeft,
    MiddleRight,
    MiddleLeft,
    UpperMiddle,
    LowerMiddle,
];

/// Top-left corner of a `size` box at `pos` in an `area` (plotters' rule for named positions).
fn corner(pos: &SeriesLabelPosition, (w, h): (i32, i32), (aw, ah): (i32, i32)) -> (i32, i32) {
    let x = match pos {
        UpperLeft | MiddleLeft | LowerLeft => INSET,
        UpperMiddle | MiddleMiddle | LowerMiddle => (aw - w) / 2,
        UpperRight | MiddleRight | LowerRight => aw - w - INSET,
        Coordinate(x, _) => *x,
    };
    let y = match pos {
        UpperLeft | UpperMiddle | UpperRight => INSET,
        MiddleLeft | MiddleMiddle | MiddleRight => (ah - h) / 2,
        LowerLeft | LowerMiddle | LowerRight => ah - h - INSET,
        Coordinate(_, y) => *y,
    };
    (x, y)
}

/// The spots tried in an `area` for a `size` box: `first`, the other named positions, then eight
/// steps along each edge.
fn candidates(
    first: &SeriesLabelPosition,
    size: (i32, i32),
    area: (i32, i32),
) -> Vec<(SeriesLabelPosition, (i32, i32))> {
    let mut v: Vec<_> = std::iter::once(first.clone())
        .chain(ORDER.iter().filter(|&p| p != first).cloned())
        .map(|p| {
            let c = corner(&p, size, area);
            (p, c)
        })
        .collect();
    let (right, bottom) = (area.0 - size.0 - INSET, area.1 - size.1 - INSET);
    for i in 1..8 {
        let x = INSET + (right - INSET) * i / 8;
        let y = INSET + (bottom - INSET) * i / 8;
        for c in [(x, INSET), (x, bottom), (right, y), (INSET, y)] {
            v.push((Coordinate(c.0, c.1), c));
        }
    }
    v
}

/// The first spot in a plot of `area` pixels where a box of `size` pixels covers none of `marks`
/// (in the plot's pixels) and keeps `PAD` pixels clear of them: the figure's `first` choice, the
/// other named positions, then steps along the edges. `None` when every one is covered or the box
/// does not fit.
pub(crate) fn place(
    area: (i32, i32),
    size: (i32, i32),
    marks: &[Mark<(i32, i32)>],
    first: &SeriesLabelPosition,
) -> Option<(SeriesLabelPosition, Rect)> {
    if size.0 + 2 * INSET > area.0 || size.1 + 2 * INSET > area.1 {
        return None;
    }
    candidates(first, size, area)
        .into_iter()
        .map(|(p, c)| (p, Rect::at(c, size)))
        .find(|(_, r)| !marks.iter().any(|m| r.touches(m, PAD)))
}

/// What a legend entry shows before its label.
#[derive(Clone, Debug)]
pub(crate) enum Symbol {
    /// An 18-pixel line in this style.
    Line(ShapeStyle),
    /// A dot of this radius.
    Dot(ShapeStyle, u32),
}

impl Symbol {
    pub(crate) fn line<C: Color>(colour: C, width: u32) -> Symbol {
        Symbol::Line(colour.stroke_width(width))
    }

    pub(crate) fn dot<C: Color>(colour: C, radius: u32) -> Symbol {
        Symbol::Dot(colour.filled(), radius)
    }
}

/// A legend: its entries (label and symbol, top to bottom), their text size, and the position the
/// figure prefers.
#[derive(Clone, Debug)]
pub(crate) struct Key {
    pub entries: Vec<(String, Symbol)>,
    pub size: u32,
    pub first: SeriesLabelPosition,
}

impl Key {
    pub(crate) fn new(size: u32, first: SeriesLabelPosition) -> Key {
        Key {
            entries: Vec::new(),
            size,
            first,
        }
    }

    pub(crate) fn entry(mut self, label: impl Into<String>, symbol: Symbol) -> Key {
        self.entries.push((label.into(), symbol));
        self
    }

    /// The text style of the labels.
    pub(crate) fn font(&self) -> TextStyle<'static> {
        (FontFamily::SansSerif, self.size).into_font().into()
    }

    /// The legend box's size in pixels: the text block as the backend measures it (`measure`: the
    /// canvas's own measure on the page, an estimate in SVG), laid out as plotters' multi-line text
    /// (a line every 1.25 font sizes), at least a generous guess at any font's width and height,
    /// plus 30 px for the symbols and 10 px margins (plotters' own legend layout).
    pub(crate) fn box_size(
        &self,
        measure: impl Fn(&str, &TextStyle) -> Option<(u32, u32)>,
    ) -> (i32, i32) {
        let style = self.font();
        let size = f64::from(self.size);
        let (mut w, mut h) = (0, 0);
        for (i, (l, _)) in self.entries.iter().enumerate() {
            let (dx, dy) = measure(l, &style).unwrap_or((0, 0));
            let y = (i as f64 * 1.25 * size).round() as i32;
            (w, h) = (w.max(dx as i32), h.max(y + dy as i32));
        }
        let chars = self.entries.iter().map(|(l, _)| l.chars().count()).max();
        let guess_w = (0.52 * size * chars.unwrap_or(0) as f64).ceil() as i32;
        let lines = self.entries.len().max(1) as f64;
        let guess_h = ((lines - 1.0) * 1.25 * size + 1.2 * size).ceil() as i32;
        (
            w.max(guess_w) + SYMBOLS + 2 * MARGIN,
            h.max(guess_h) + 2 * MARGIN,
        )
    }

    /// Draws the legend in `rect` (pixels of `area`): the box, then per entry its symbol and label,
    /// laid out as plotters lays out series labels.
    pub(crate) fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, plotters::coord::Shift>,
        rect: Rect,
        background: ShapeStyle,
        border: ShapeStyle,
        text: TextStyle,
    ) -> Result<(), String> {
        let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        let corners = [(rect.x0, rect.y0), (rect.x1, rect.y1)];
        area.draw(&Rectangle::new(corners, background))
            .map_err(err)?;
        area.draw(&Rectangle::new(corners, border)).map_err(err)?;
        let x = rect.x0 + MARGIN;
        for (i, (label, symbol)) in self.entries.iter().enumerate() {
            let y = rect.y0 + MARGIN + (i as f64 * 1.25 * f64::from(self.size)).round() as i32;
            let line_h = area
                .estimate_text_size(label, &text)
                .map_or(self.size * 4 / 5, |b| b.1);
            let mid = y + line_h as i32 / 2;
            area.draw(&Text::new(label.as_str(), (x + SYMBOLS, y), text.clone()))
                .map_err(err)?;
            match symbol {
                Symbol::Line(style) => area
                    .draw(&PathElement::new(vec![(x, mid), (x + 18, mid)], *style))
                    .map_err(err)?,
                Symbol::Dot(style, r) => area
                    .draw(&Circle::new((x + 8, mid), *r, *style))
                    .map_err(err)?,
            }
        }
        Ok(())
    }
}

/// A legend with its place: the box in the backend's pixels.
#[derive(Clone, Debug)]
pub(crate) struct Legend {
    pub key: Key,
    pub rect: Rect,
}

/// `marks` in pixels of the chart's plot (its top-left corner at (0, 0)).
fn to_pixels<DB: DrawingBackend, CT: CoordTranslate>(
    chart: &ChartContext<'_, DB, CT>,
    marks: &[Mark<CT::From>],
) -> Vec<Mark<(i32, i32)>> {
    let area = chart.plotting_area();
    let (bx, by) = area.get_base_pixel();
    marks
        .iter()
        .map(|m| {
            m.map(|c| {
                let (x, y) = area.map_coordinate(c);
                (x.saturating_sub(bx), y.saturating_sub(by))
            })
        })
        .collect()
}

fn plot_size<DB: DrawingBackend, CT: CoordTranslate>(
    chart: &ChartContext<'_, DB, CT>,
) -> (i32, i32) {
    let (w, h) = chart.plotting_area().dim_in_pixel();
    (w as i32, h as i32)
}

/// Builds a chart with `build(right, top)` (extra right and top margins in pixels, for a legend
/// strip) and finds where its legend goes: the first free spot inside the plot (see `place`) if
/// `build(0, 0)` has one; else a strip `GAP` pixels right of the plot, or above it when a strip
/// beside would leave the plot less than 60% of its width. `marks` are in the chart's data
/// coordinates. Draw the legend (`figures::legend`) on an area that holds the strip.
///
/// `build` is a `&dyn` closure, so this is compiled once per backend and coordinates, and each
/// figure's chart building once (not at each of its three calls).
pub(crate) fn build_with_legend<'a, DB, CT>(
    key: Key,
    marks: &[Mark<CT::From>],
    build: &dyn Fn(u32, u32) -> Result<ChartContext<'a, DB, CT>, String>,
) -> Result<(ChartContext<'a, DB, CT>, Legend), String>
where
    DB: DrawingBackend + 'a,
    CT: CoordTranslate,
{
    let chart = build(0, 0)?;
    let area = chart.plotting_area();
    let size = key.box_size(|t, s| area.estimate_text_size(t, s).ok());
    let (w, h) = plot_size(&chart);
    let pixels = to_pixels(&chart, marks);
    let (chart, rect) = match place((w, h), size, &pixels, &key.first) {
        Some((_, rect)) => (chart, rect),
        None if w - (size.0 + GAP) >= w * 3 / 5 => {
            let chart = build((size.0 + GAP) as u32, 0)?;
            let (w, _) = plot_size(&chart);
            (chart, Rect::at((w + GAP, 0), size))
        }
        None => {
            let chart = build(0, (size.1 + GAP) as u32)?;
            let (w, _) = plot_size(&chart);
            (chart, Rect::at((w - size.0, -(size.1 + GAP)), size))
        }
    };
    let rect = rect.shifted(chart.plotting_area().get_base_pixel());
    Ok((chart, Legend { key, rect }))
}

#[cfg(test)]
thread_local! {
    static DRAWN: std::cell::RefCell<Vec<Rect>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Notes (in tests) where a legend was drawn, in the backend's pixels.
pub(crate) fn record(_rect: Rect) {
    #[cfg(test)]
    DRAWN.with(|d| d.borrow_mut().push(_rect));
}

/// The legends drawn on this thread since the last call, in the backend's pixels.
#[cfg(test)]
pub(crate) fn take_drawn() -> Vec<Rect> {
    DRAWN.with(|d| std::mem::take(&mut *d.borrow_mut()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const AREA: (i32, i32) = (400, 300);
    const SIZE: (i32, i32) = (120, 60);

    #[test]
    fn the_first_choice_wins_when_it_is_free() {
        let marks = [Mark::Dot((200, 150), 3)];
        let (pos, rect) = place(AREA, SIZE, &marks, &UpperRight).unwrap();
        assert_eq!(pos, UpperRight);
        assert_eq!(rect, Rect::at((400 - 120 - 5, 5), SIZE));
    }

    #[test]
    fn an_occupied_corner_gives_way_to_a_free_one() {
        // A dot in the upper-right corner, a line along the top: the upper corners are taken.
        let marks = [
            Mark::Dot((390, 10), 2),
            Mark::Line(vec![(0, 20), (400, 20)], 2),
        ];
        let (pos, rect) = place(AREA, SIZE, &marks, &UpperRight).unwrap();
        assert_eq!(pos, LowerRight);
        assert!(!marks.iter().any(|m| rect.touches(m, PAD)));
        // Only the lower left is free of a line across the rest.
        let marks = [
            Mark::Line(vec![(0, 0), (400, 300)], 1),
            Mark::Line(vec![(0, 20), (400, 20)], 1),
        ];
        assert_eq!(place(AREA, SIZE, &marks, &UpperRight).unwrap().0, LowerLeft);
    }

    #[test]
    fn with_every_named_spot_taken_a_step_along_an_edge_is_tried() {
        // Columns of dots at the left, middle and right leave two gaps along the top and bottom.
        let marks: Vec<Mark<(i32, i32)>> = [10, 200, 390]
            .iter()
            .flat_map(|&x| (0..300).step_by(4).map(move |y| Mark::Dot((x, y), 2)))
            .collect();
        let (pos, rect) = place(AREA, SIZE, &marks, &UpperRight).unwrap();
        assert!(matches!(pos, Coordinate(..)), "{pos:?}");
        assert!(!marks.iter().any(|m| rect.touches(m, PAD)));
    }

    #[test]
    fn a_full_plot_or_a_box_too_big_has_no_spot() {
        let band = Mark::Fill(vec![(-10, -10), (410, -10), (410, 310), (-10, 310)]);
        assert_eq!(place(AREA, SIZE, &[band], &UpperRight), None);
        assert_eq!(place((100, 50), SIZE, &[], &UpperRight), None);
    }

    #[test]
    fn touching_counts_crossings_stroke_width_and_inside_a_band() {
        let r = Rect::at((100, 100), (50, 20));
        // A segment through the box with both ends outside it.
        assert!(r.touches(&Mark::Line(vec![(90, 90), (160, 130)], 1), 0.0));
        // A line 3 px below the box: only a wide stroke or the padding reaches it.
        let below = vec![(0, 123), (300, 123)];
        assert!(!r.touches(&Mark::Line(below.clone(), 1), 0.0));
        assert!(r.touches(&Mark::Line(below.clone(), 8), 0.0));
        assert!(r.touches(&Mark::Line(below, 1), PAD));
        // A band around the whole box, and a dot whose radius reaches in.
        let band = Mark::Fill(vec![(0, 0), (300, 0), (300, 300), (0, 300)]);
        assert!(r.touches(&band, 0.0));
        assert!(r.touches(&Mark::Dot((155, 110), 6), 0.0));
        assert!(!r.touches(&Mark::Dot((160, 110), 6), 0.0));
    }

    #[test]
    fn the_box_is_at_least_as_big_as_plotters_draws_it() {
        let key = Key::new(13, UpperRight)
            .entry("one", Symbol::dot(BLACK, 3))
            .entry("a much longer label", Symbol::line(BLACK, 2));
        let mut svg = String::new();
        let area = SVGBackend::with_string(&mut svg, (400, 300)).into_drawing_area();
        let (w, h) = key.box_size(|t, s| area.estimate_text_size(t, s).ok());
        let style: TextStyle = (FontFamily::SansSerif, 13).into_font().into();
        let mut text = MultiLineText::<(i32, i32), &str>::new((0, 0), &style);
        text.push_line("one");
        text.push_line("a much longer label");
        let (tw, th) = text.estimate_dimension().unwrap();
        assert!(w >= tw + 50 && h >= th + 20);
        assert!(w >= (0.5 * 13.0 * 19.0) as i32 + 50);
    }
}
