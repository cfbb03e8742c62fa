//! `glassbox maml ...`: the two-feature alias toy, and meta-learned feature weights with a
//! closed-form or gradient inner loop, for regression or classification (chapter 1).

use crate::out_dir::OutDir;
use crate::ranges;
use crate::Failure;
use clap::{Args, Subcommand};
use glassbox_lab::figures::{self, FeatureWeightData, Palette, TestLossData};
use glassbox_lab::maml::{self, InnerLoop, InnerPoints, MamlSettings, MAX_INNER_STEPS};
use glassbox_lab::maml::{alias_toy, features};
use serde_json::json;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum Command {
    /// Gradient descent on the feature weights (c0, c1) of the two-feature alias toy.
    AliasToy(AliasToy),
    /// Meta-learn feature weights; each task's inner fit is the closed-form min-norm solve.
    ClosedForm(Maml),
    /// Meta-learn feature weights through K gradient steps on each task (regression).
    #[command(mut_arg("inner_points", uniform_points))]
    Gd {
        #[command(flatten)]
        inner: GradientSteps,
        #[command(flatten)]
        maml: Maml,
    },
    /// Meta-learn feature weights through K logistic gradient steps on each task (classification).
    #[command(mut_arg("inner_points", uniform_points))]
    Classification {
        #[command(flatten)]
        inner: GradientSteps,
        #[command(flatten)]
        maml: Maml,
    },
}

#[derive(Args)]
pub struct AliasToy {
    /// Starting weight of feature 0 (c0 and c1 not both zero).
    #[arg(long, default_value_t = 1.0, value_parser = ranges::finite)]
    c0: f64,
    /// Starting weight of feature 1.
    #[arg(long, default_value_t = 1.0, value_parser = ranges::finite)]
    c1: f64,
    /// Step size of gradient descent (positive).
    #[arg(long, default_value_t = 0.1, value_parser = ranges::positive::<f64>)]
    lr: f64,
    /// Gradient steps, 0 to 1,000,000.
    #[arg(long, default_value_t = 10_000, value_parser = ranges::between(0usize, 1_000_000))]
    steps: usize,
    /// Also write the trajectory's figure (SVG) and data (CSV) into this folder.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

/// The inner loop of `maml gd` and `maml classification`.
#[derive(Args)]
pub struct GradientSteps {
    /// Inner gradient steps K per task, 0 to 100.
    #[arg(long, default_value_t = 5, value_parser = ranges::between(0usize, MAX_INNER_STEPS))]
    steps: usize,
    /// Inner step size (positive).
    #[arg(long, default_value_t = 1e-2, value_parser = ranges::positive::<f64>)]
    inner_lr: f64,
}

/// The options every meta-learning variant shares (defaults: the notebook's settings).
#[derive(Args)]
pub struct Maml {
    /// Seed of the task sampler and the inner points.
    #[arg(long, default_value_t = MamlSettings::default().seed)]
    #[arg(value_parser = ranges::whole::<u64>)]
    seed: u64,
    /// Meta-iterations (outer steps).
    #[arg(long, default_value_t = MamlSettings::default().iterations)]
    #[arg(value_parser = ranges::whole::<usize>)]
    iterations: usize,
    /// Where each task's training inputs lie: an even grid or uniformly at random.
    #[arg(long, default_value = MamlSettings::default().inner_points.name())]
    #[arg(value_parser = inner_points())]
    inner_points: InnerPoints,
    /// Training points per task in the inner loop (at least 1; below d for the closed form).
    #[arg(long, default_value_t = MamlSettings::default().n_train_inner)]
    #[arg(value_parser = ranges::at_least(1usize))]
    n_train_inner: usize,
    /// Number of features d: odd, at least 3 (a constant, then sine and cosine pairs).
    #[arg(long, default_value_t = MamlSettings::default().d, value_parser = ranges::odd_dimension)]
    d: usize,
    /// Meta step size (positive).
    #[arg(long, default_value_t = MamlSettings::default().meta_lr)]
    #[arg(value_parser = ranges::positive::<f64>)]
    meta_lr: f64,
    /// Tasks per meta-step (at least 1).
    #[arg(long, default_value_t = MamlSettings::default().tasks_per_step)]
    #[arg(value_parser = ranges::at_least(1usize))]
    tasks_per_step: usize,
    /// Standard deviation of the label noise (at least 0).
    #[arg(long, default_value_t = MamlSettings::default().noise)]
    #[arg(value_parser = ranges::non_negative)]
    noise: f64,
    /// The tasks' true frequencies, comma-separated (each 1 to (d - 1) / 2).
    // The lab's default, written out (a default list is text); a unit test below checks it.
    #[arg(long, default_value = "3,4,5", value_delimiter = ',')]
    #[arg(value_parser = ranges::at_least(1usize))]
    frequencies: Vec<usize>,
    /// Also write the test-loss, feature-weight and task-fit figures (SVG) and data (CSV) here.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

/// `maml gd` and `maml classification` share `Maml`'s options, but their inner points are uniform
/// by default (the notebook's gradient variants).
fn uniform_points(a: clap::Arg) -> clap::Arg {
    a.default_value(MamlSettings::gradient_descent(5).inner_points.name())
}

fn inner_points() -> impl clap::builder::TypedValueParser<Value = InnerPoints> {
    use clap::builder::TypedValueParser;
    let names = [InnerPoints::Grid.name(), InnerPoints::Uniform.name()];
    clap::builder::PossibleValuesParser::new(names)
        .try_map(|s| InnerPoints::parse(&s).ok_or(format!("'{s}' is not grid or uniform")))
}

impl Command {
    pub fn run(self) -> Result<serde_json::Value, Failure> {
        match self {
            Command::AliasToy(a) => a.run(),
            Command::ClosedForm(m) => m.run(MamlSettings::default()),
            Command::Gd { inner, maml } => maml.run(inner.regression()),
            Command::Classification { inner, maml } => maml.run(inner.classification()),
        }
    }
}

impl GradientSteps {
    /// The notebook's gradient-descent variant with these inner steps.
    fn regression(&self) -> MamlSettings {
        MamlSettings {
            inner: InnerLoop::Gradient {
                steps: self.steps,
                lr: self.inner_lr,
            },
            ..MamlSettings::gradient_descent(self.steps)
        }
    }

    /// The notebook's classification variant with these inner steps.
    fn classification(&self) -> MamlSettings {
        MamlSettings::classification(self.steps, self.inner_lr)
    }
}

/// The settings `MamlSettings::validate` names, and their options.
const SETTING_OPTIONS: &[(&str, &str)] = &[
    ("inner step size:", "--inner-lr:"),
    ("inner steps:", "--steps:"),
    ("d:", "--d:"),
    ("true frequencies:", "--frequencies:"),
    ("n_train_inner:", "--n-train-inner:"),
    ("noise:", "--noise:"),
    ("tasks per step:", "--tasks-per-step:"),
];

impl AliasToy {
    fn run(self) -> Result<serde_json::Value, Failure> {
        let (c0, c1, lr, steps) = (self.c0, self.c1, self.lr, self.steps);
        // Every error of the descent comes from the starting point or the step size.
        let path = alias_toy::descend(c0, c1, lr, steps).map_err(Failure::input_relabelled(&[
            ("c0, c1:", "--c0, --c1:"),
            ("step", "--lr: step"),
        ]))?;
        let last = path.last().copied().ok_or("empty trajectory")?;
        if let Some(dir) = OutDir::open(self.out.as_deref())? {
            let svg = figures::to_svg(800, 480, |a| {
                figures::draw_alias_toy(a, &path, &Palette::LIGHT)
            })?;
            dir.write("alias_toy.svg", &svg)?;
            dir.write("alias_toy.csv", &figures::toy_csv(&path))?;
        }
        Ok(json!({
            "c0": last.c0, "c1": last.c1, "norm0": path[0].norm,
            "beta0": last.beta0, "beta1": last.beta1, "error": last.error,
        }))
    }
}

impl Maml {
    /// `base` with this command's options: the variant's inner loop and problem stay.
    fn settings(&self, base: MamlSettings) -> Result<MamlSettings, Failure> {
        let s = MamlSettings {
            seed: self.seed,
            iterations: self.iterations,
            inner_points: self.inner_points,
            n_train_inner: self.n_train_inner,
            d: self.d,
            meta_lr: self.meta_lr,
            tasks_per_step: self.tasks_per_step,
            noise: self.noise,
            true_frequencies: self.frequencies.clone(),
            ..base
        };
        s.validate()
            .map_err(Failure::input_relabelled(SETTING_OPTIONS))?;
        Ok(s)
    }

    /// `maml closed-form`, `maml gd` and `maml classification`: one driver, three variants.
    fn run(self, base: MamlSettings) -> Result<serde_json::Value, Failure> {
        let settings = self.settings(base)?;
        let classification = settings.problem == maml::Problem::Classification;
        let r = maml::run_experiment(&settings)?;
        if let Some(stop) = &r.stopped {
            eprintln!("warning: {stop}");
        }
        if let Some(dir) = OutDir::open(self.out.as_deref())? {
            let data = TestLossData {
                metric: if classification {
                    figures::Metric::ErrorRate
                } else {
                    figures::Metric::Mse
                },
                ns: r.n_train_post.clone(),
                meta: Some(r.meta.clone()),
                ones: Some(r.ones.clone()),
                oracle: Some(r.oracle.clone()),
                noise_variance: settings.noise * settings.noise,
                zero_level: r.zero,
                iteration: r.meta_loss.len(),
            };
            let p = Palette::LIGHT;
            dir.write(
                "test_loss.svg",
                &figures::to_svg(800, 500, |a| figures::draw_test_loss(a, &data, &p, None))?,
            )?;
            dir.write(
                "test_loss_zoom.svg",
                &figures::to_svg(800, 500, |a| {
                    figures::draw_test_loss(a, &data, &p, Some(128))
                })?,
            )?;
            dir.write("test_loss.csv", &data.csv())?;
            let fw = FeatureWeightData {
                weights: r.feature_weights.clone(),
                true_columns: settings.true_columns(),
                alias_columns: features::columns_of(&settings.alias_frequencies()),
                iteration: r.meta_loss.len(),
            };
            dir.write(
                "feature_weights.svg",
                &figures::to_svg(800, 440, |a| figures::draw_feature_weights(a, &fw, &p))?,
            )?;
            dir.write("feature_weights.csv", &fw.csv())?;
            // One test task's fit (regression): needs the test tasks and post-training data only,
            // not the test Gram matrix, so the context is not prepared.
            if !classification {
                let ctx = maml::EvalContext::new(settings.clone())?;
                let weights = ndarray::Array1::from_vec(r.feature_weights.clone());
                let fit = maml::task_fit(&ctx, weights.view(), settings.n_train_inner, 400)?;
                dir.write(
                    "task_fit.svg",
                    &figures::to_svg(800, 440, |a| figures::draw_task_fit(a, &fit, &p))?,
                )?;
                dir.write("task_fit.csv", &fit.csv())?;
            }
        }
        if classification {
            return Ok(classification_json(&r));
        }
        Ok(json!({
            "n_train_post": r.n_train_post,
            "test_mse": {
                "meta": r.meta.mean, "ones": r.ones.mean, "oracle": r.oracle.mean,
                "zero": vec![r.zero; r.n_train_post.len()],
            },
            "feature_weights": r.feature_weights,
            "meta_loss": r.meta_loss,
            "stopped": r.stopped,
        }))
    }
}

fn classification_json(r: &maml::ExperimentResult) -> serde_json::Value {
    json!({
        "n_train_post": r.n_train_post,
        "test_error": {"meta": r.meta.mean, "ones": r.ones.mean, "oracle": r.oracle.mean, "chance": r.zero},
        "feature_weights": r.feature_weights,
        "meta_loss": r.meta_loss,
        "stopped": r.stopped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn settings(args: &[&str]) -> MamlSettings {
        let cli = crate::Cli::try_parse_from(args).unwrap();
        let crate::Topic::Maml(command) = cli.topic else {
            panic!("not a maml command")
        };
        match command {
            Command::ClosedForm(m) => m.settings(MamlSettings::default()),
            Command::Gd { inner, maml } => maml.settings(inner.regression()),
            Command::Classification { inner, maml } => maml.settings(inner.classification()),
            Command::AliasToy(_) => panic!("no settings"),
        }
        .unwrap()
    }

    #[test]
    fn defaults_are_the_labs_settings() {
        let s = settings(&["glassbox", "maml", "closed-form"]);
        assert_eq!(s, MamlSettings::default());
        let s = settings(&["glassbox", "maml", "gd"]);
        assert_eq!(s, MamlSettings::gradient_descent(5));
        let s = settings(&["glassbox", "maml", "classification"]);
        assert_eq!(s, MamlSettings::classification(5, 1e-2));
    }

    #[test]
    fn options_reach_the_settings() {
        let s = settings(&[
            "glassbox",
            "maml",
            "gd",
            "--steps",
            "3",
            "--inner-lr",
            "0.3",
            "--inner-points",
            "grid",
            "--frequencies",
            "2,7",
            "--d",
            "101",
        ]);
        assert_eq!(s.inner, InnerLoop::Gradient { steps: 3, lr: 0.3 });
        assert_eq!(s.inner_points, InnerPoints::Grid);
        assert_eq!((s.true_frequencies, s.d), (vec![2, 7], 101));
    }
}
