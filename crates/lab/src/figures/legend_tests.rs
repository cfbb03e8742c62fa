//! Every figure with a legend, drawn with representative data: the legend's box (as placed, with
//! room for the drawn text) holds no pixel of any dot, line or band drawn before it, read back
//! from the SVG.

use super::placement::{take_drawn, Rect};
use super::*;
use crate::maml::alias_toy::ToyState;
use crate::maml::{Curve, TaskFit};

/// What the SVG draws from data before the legend: dots, polylines and filled polygons.
enum Drawn {
    Dot(f64, f64, f64),
    Line(Vec<(f64, f64)>, f64),
    Fill(Vec<(f64, f64)>),
}

fn attr(el: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let i = el.find(&key)? + key.len();
    Some(el[i..].split('"').next()?.to_string())
}

fn num(el: &str, name: &str) -> f64 {
    attr(el, name)
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

fn points(el: &str) -> Vec<(f64, f64)> {
    let pts = attr(el, "points").unwrap_or_default();
    pts.split_whitespace()
        .filter_map(|p| {
            let (x, y) = p.split_once(',')?;
            Some((x.parse().ok()?, y.parse().ok()?))
        })
        .collect()
}

/// The data drawn before the legend's box `rect` (its background, a `<rect>` at its corner), and
/// that box's size as drawn.
fn drawn_before(svg: &str, rect: &Rect) -> (Vec<Drawn>, (f64, f64)) {
    let mut out = Vec::new();
    for el in svg.split('<').map(|e| e.trim_end()) {
        if el.starts_with("rect ")
            && num(el, "x") == f64::from(rect.x0)
            && num(el, "y") == f64::from(rect.y0)
        {
            return (out, (num(el, "width"), num(el, "height")));
        }
        if el.starts_with("circle ") {
            out.push(Drawn::Dot(num(el, "cx"), num(el, "cy"), num(el, "r")));
        } else if el.starts_with("polyline ") {
            out.push(Drawn::Line(points(el), num(el, "stroke-width")));
        } else if el.starts_with("polygon ") {
            out.push(Drawn::Fill(points(el)));
        }
    }
    panic!("no legend box drawn at {rect:?}");
}

fn in_rect(r: &Rect, (x, y): (f64, f64), grow: f64) -> bool {
    x >= f64::from(r.x0) - grow
        && x <= f64::from(r.x1) + grow
        && y >= f64::from(r.y0) - grow
        && y <= f64::from(r.y1) + grow
}

fn in_polygon(v: &[(f64, f64)], (x, y): (f64, f64)) -> bool {
    let mut odd = false;
    for (a, b) in v.iter().zip(v.iter().cycle().skip(1)) {
        if (a.1 > y) != (b.1 > y) && x < a.0 + (y - a.1) / (b.1 - a.1) * (b.0 - a.0) {
            odd = !odd;
        }
    }
    odd
}

/// Samples along a polyline, every quarter pixel.
fn along(v: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = v.first().copied().into_iter().collect();
    for s in v.windows(2) {
        let (a, b) = (s[0], s[1]);
        let n = ((b.0 - a.0).hypot(b.1 - a.1) * 4.0).ceil().max(1.0) as usize;
        out.extend((1..=n).map(|i| {
            let t = i as f64 / n as f64;
            (a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1))
        }));
    }
    out
}

/// Which data pixel, if any, the box `r` holds.
fn covered(r: &Rect, drawn: &[Drawn]) -> Option<String> {
    for d in drawn {
        match d {
            Drawn::Dot(x, y, rad) => {
                let (cx, cy) = (
                    x.clamp(f64::from(r.x0), f64::from(r.x1)),
                    y.clamp(f64::from(r.y0), f64::from(r.y1)),
                );
                if (x - cx).hypot(y - cy) <= *rad {
                    return Some(format!("dot at ({x}, {y})"));
                }
            }
            Drawn::Line(v, w) => {
                if let Some(pt) = along(v).into_iter().find(|&pt| in_rect(r, pt, w / 2.0)) {
                    return Some(format!("line through {pt:?}"));
                }
            }
            Drawn::Fill(v) => {
                if let Some(pt) = along(&[v.as_slice(), &v[..1.min(v.len())]].concat())
                    .into_iter()
                    .find(|&pt| in_rect(r, pt, 0.0))
                {
                    return Some(format!("band edge at {pt:?}"));
                }
                let centre = (f64::from(r.x0 + r.x1) / 2.0, f64::from(r.y0 + r.y1) / 2.0);
                if in_polygon(v, centre) {
                    return Some("inside a band".into());
                }
            }
        }
    }
    None
}

/// Draws a figure and checks its one legend; returns the box (in the SVG's pixels) and the data.
fn check(
    name: &str,
    size: (u32, u32),
    draw: impl FnOnce(&Area<SVGBackend>) -> Result<(), String>,
) -> (Rect, Vec<Drawn>) {
    take_drawn();
    let svg = to_svg(size.0, size.1, draw).unwrap();
    if let Ok(dir) = std::env::var("LEGEND_SVG_DIR") {
        std::fs::write(format!("{dir}/{}.svg", name.replace(' ', "_")), &svg).unwrap();
    }
    let rects = take_drawn();
    assert_eq!(rects.len(), 1, "{name}: one legend");
    let rect = rects[0];
    let (drawn, (w, h)) = drawn_before(&svg, &rect);
    assert!(!drawn.is_empty(), "{name}: no data read back");
    // The box kept free is at least the box plotters drew.
    assert!(
        w <= f64::from(rect.x1 - rect.x0) && h <= f64::from(rect.y1 - rect.y0),
        "{name}: drawn {w} x {h}, kept {rect:?}"
    );
    if let Some(what) = covered(&rect, &drawn) {
        panic!("{name}: the legend at {rect:?} covers a {what}");
    }
    (rect, drawn)
}

/// A deterministic stream in [0, 1).
fn noise(seed: u64) -> impl FnMut() -> f64 {
    let mut s = seed;
    move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn features(weights: Vec<f64>) -> FeatureWeightData {
    FeatureWeightData {
        weights,
        true_columns: (5..11).collect(),
        alias_columns: [55, 56, 70, 71, 118, 119, 134, 135, 182, 183, 199, 200]
            .into_iter()
            .chain([246, 247, 262, 263, 310, 311, 326, 327, 374, 375, 390, 391])
            .collect(),
        iteration: 0,
    }
}

#[test]
fn chapter_1s_feature_weights_legend_covers_no_point() {
    // Before any meta-step every weight is 1: a row of points along the top of the plot, right
    // where the legend used to sit.
    let fw = features(vec![1.0; 501]);
    check("feature weights at 0", (800, 440), |a| {
        draw_feature_weights(a, &fw, &Palette::LIGHT)
    });
    // Trained: true features high, aliases low, the rest near 1.
    let mut r = noise(1);
    let w = (0..501)
        .map(|k| match k {
            5..=10 => 3.8 + 0.1 * r(),
            _ if fw.alias_columns.contains(&k) => 0.2 + 0.05 * r(),
            _ => 0.98 + 0.04 * r(),
        })
        .collect();
    check("feature weights trained", (800, 440), |a| {
        draw_feature_weights(a, &features(w), &Palette::DARK)
    });
}

#[test]
fn a_plot_with_no_room_puts_its_legend_in_a_strip() {
    // Points everywhere: no spot inside the plot is free, so the legend moves to a strip above
    // the plot (this legend is too wide for one beside it).
    let mut r = noise(7);
    let fw = features((0..501).map(|_| r()).collect());
    let (rect, drawn) = check("crowded feature weights", (800, 440), |a| {
        draw_feature_weights(a, &fw, &Palette::LIGHT)
    });
    let top = drawn.iter().fold(f64::INFINITY, |m, d| match d {
        Drawn::Dot(_, y, r) => m.min(y - r),
        _ => m,
    });
    assert!(f64::from(rect.y1) < top, "{rect:?} above data from {top}");
    assert!(rect.x0 >= 0 && rect.x1 <= 800 && rect.y0 >= 30, "{rect:?}");
    // A narrower legend goes in a strip beside the plot.
    let key = Key::new(13, SeriesLabelPosition::UpperRight).entry("dots", Symbol::dot(BLACK, 2));
    let mut r = noise(8);
    let dots: Vec<Mark<(f64, f64)>> = (0..2000).map(|_| Mark::Dot((r(), r()), 2)).collect();
    let (rect, drawn) = check("crowded dots", (800, 440), |root| {
        let area = frame(root, "Crowded", &Palette::LIGHT)?;
        let (mut chart, placed) = build_with_legend(key, &dots, &|right, top| {
            labelled(&area, right, top, 50)
                .build_cartesian_2d(0f64..1.0, 0f64..1.0)
                .map_err(err)
        })?;
        let pts = dots.iter().filter_map(|m| match m {
            Mark::Dot(pt, _) => Some(Circle::new(*pt, 2, BLACK.filled())),
            _ => None,
        });
        chart.draw_series(pts).map_err(err)?;
        legend(&area, &Palette::LIGHT, &placed)
    });
    let right = drawn.iter().fold(0.0f64, |m, d| match d {
        Drawn::Dot(x, _, r) => m.max(x + r),
        _ => m,
    });
    assert!(
        f64::from(rect.x0) > right && rect.x1 <= 800,
        "{rect:?} beside data to {right}"
    );
}

fn curve(f: impl Fn(f64) -> f64, ns: &[usize], spread: f64) -> Curve {
    let mean: Vec<f64> = ns.iter().map(|&n| f(n as f64)).collect();
    Curve {
        p10: mean.iter().map(|m| m / spread).collect(),
        p90: mean.iter().map(|m| (m * spread).min(1.0)).collect(),
        mean,
    }
}

#[test]
fn chapter_1s_test_loss_legends_cover_no_curve() {
    let ns = vec![
        1, 2, 3, 4, 5, 6, 7, 9, 11, 13, 16, 20, 24, 29, 32, 35, 42, 51, 61, 74, 90, 108, 131, 158,
        190, 230, 277, 335, 404, 487, 588, 709, 856, 1032, 1245, 1503,
    ];
    let mse = TestLossData {
        metric: Metric::Mse,
        meta: Some(curve(|n| 1.0 / (1.0 + n / 20.0), &ns, 1.3)),
        ones: Some(curve(|n| if n < 250.0 { 0.95 } else { 0.006 }, &ns, 1.1)),
        oracle: Some(curve(|n| 0.8 / n.powi(2), &ns, 2.0)),
        ns: ns.clone(),
        noise_variance: 0.01,
        zero_level: 1.0,
        iteration: 100,
    };
    for zoom in [None, Some(128)] {
        check("test loss", (800, 500), |a| {
            draw_test_loss(a, &mse, &Palette::LIGHT, zoom)
        });
    }
    let rate = TestLossData {
        metric: Metric::ErrorRate,
        meta: Some(curve(|n| 0.5 / (1.0 + n / 30.0), &ns, 1.2)),
        ones: Some(curve(|n| 0.5 / (1.0 + n / 300.0), &ns, 1.2)),
        oracle: None,
        ns,
        noise_variance: 0.0,
        zero_level: 0.5,
        iteration: 10,
    };
    check("error rate", (800, 500), |a| {
        draw_test_loss(a, &rate, &Palette::LIGHT, None)
    });
}

#[test]
fn chapter_1s_task_fit_and_alias_toy_legends_cover_no_data() {
    let x: Vec<f64> = (0..400).map(|i| -1.0 + 2.0 * i as f64 / 399.0).collect();
    let wave = |x: f64| (3.0 * std::f64::consts::PI * x).sin() + 0.5 * (5.0 * x).cos();
    let mut r = noise(3);
    let train_x: Vec<f64> = (0..32).map(|i| -1.0 + 2.0 * i as f64 / 31.0).collect();
    let fit = TaskFit {
        n: 32,
        truth: x.iter().map(|&x| wave(x)).collect(),
        meta: x.iter().map(|&x| wave(x) * 0.95).collect(),
        ones: x
            .iter()
            .map(|&x| wave(x) + 0.4 * (40.0 * x).sin())
            .collect(),
        train_y: train_x
            .iter()
            .map(|&x| wave(x) + 0.1 * (r() - 0.5))
            .collect(),
        train_x,
        x,
    };
    check("task fit", (800, 440), |a| {
        draw_task_fit(a, &fit, &Palette::LIGHT)
    });
    let path: Vec<ToyState> = (0..=10_000)
        .map(|s| {
            let t = (s as f64 + 1.0).ln() / 10_001f64.ln();
            ToyState::at(s, 1.0 + 0.4 * t, 1.0 - 0.9 * t)
        })
        .collect();
    check("alias toy", (800, 480), |a| {
        draw_alias_toy(a, &path, &Palette::LIGHT)
    });
}

#[test]
fn training_and_language_model_curves_keep_their_legends_clear() {
    let mut r = noise(5);
    let points: Vec<TrainPoint> = (0..300)
        .map(|s| {
            let t = s as f64 / 300.0;
            TrainPoint {
                step: s,
                loss: 2.3 * (-3.0 * t).exp() + 0.3 * r(),
                accuracy: (0.1 + 0.85 * (1.0 - (-4.0 * t).exp()) + 0.1 * (r() - 0.5)).min(1.0),
            }
        })
        .collect();
    check("training", (800, 480), |a| {
        draw_training(a, &points, &Palette::LIGHT)
    });
    let loss: Vec<lm::LossPoint> = (0..2000)
        .map(|s| lm::LossPoint {
            step: s,
            train: 4.2 * (-(s as f64) / 500.0).exp() + 1.4 + 0.3 * r(),
            held_out: (s % 200 == 199).then(|| 4.0 * (-(s as f64) / 500.0).exp() + 1.6),
        })
        .collect();
    check("lm loss", (720, 420), |a| {
        lm::draw_loss_curve(a, &loss, &Palette::LIGHT)
    });
}

#[test]
fn pruning_quantization_and_attention_legends_cover_no_data() {
    use crate::compress::prune::LayerScan;
    use crate::compress::quant::linear_params;
    let sparsity: Vec<f64> = (0..10).map(|i| i as f64 / 10.0).collect();
    let layers = (0..8)
        .map(|l| LayerScan {
            name: format!("conv{l}"),
            accuracy: (sparsity.iter())
                .map(|s| 0.92 - s.powi(2 + l % 3) * (0.2 + 0.1 * l as f64))
                .collect(),
            sparsity: sparsity.clone(),
        })
        .collect();
    let scan = SensitivityData {
        dense_accuracy: Some(0.92),
        layers,
    };
    check("sensitivity", (800, 480), |a| {
        draw_sensitivity(a, &scan, &Palette::LIGHT)
    });
    for (rmin, rmax, bits) in [(-0.25, 0.75, 2), (-1.0, 3.0, 8), (0.5, 2.0, 4)] {
        let m = quant::LinearMapping {
            rmin,
            rmax,
            bits,
            params: linear_params(rmin, rmax, bits).unwrap(),
        };
        check("linear mapping", (600, 400), |a| {
            quant::draw_linear_mapping(a, &m, &Palette::LIGHT)
        });
    }
    let cost = attention::CostCurve::new(224, 16, 7, 64);
    check("attention cost", (800, 480), |a| {
        attention::draw_attention_cost(a, &cost, &Palette::LIGHT)
    });
    let rows = [112, 224, 448, 896]
        .iter()
        .map(|&h| {
            let c = crate::attention::attention_cost(h, 16, 7, 64).unwrap();
            let (g, w) = (c.global_flops as f64, c.windowed_flops as f64);
            attention::TimingRow::new(h, &c, g / 1e9 + 0.5, w / 1e9 + 0.5)
        })
        .collect();
    let timing = attention::TimingData {
        rows,
        path: "CPU".into(),
    };
    check("attention timing", (800, 480), |a| {
        attention::draw_attention_timing(a, &timing, &Palette::LIGHT)
    });
}
