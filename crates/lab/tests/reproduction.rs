//! Reproduces the notebook's closed-form MAML results at its settings, over several seeds.

use glassbox_lab::maml::features::columns_of;
use glassbox_lab::maml::{run_experiment, EvalContext, MamlSettings, SweepJob, Weighting};
use ndarray::Array1;

#[test]
fn meta_learned_weights_reproduce_the_notebook() {
    for seed in [0u64, 1, 2, 3] {
        let settings = MamlSettings {
            seed,
            ..Default::default()
        };
        let r = run_experiment(&settings).expect("experiment runs");
        assert!(r.stopped.is_none(), "seed {seed}: {:?}", r.stopped);
        assert_eq!(r.meta_loss.len(), 100);
        let i32 = r
            .n_train_post
            .iter()
            .position(|&m| m == 32)
            .expect("32 is in the sweep");
        assert!(
            r.meta.mean[i32] * 5.0 <= r.ones.mean[i32],
            "seed {seed}: at n = 32 meta {} vs ones {}",
            r.meta.mean[i32],
            r.ones.mean[i32]
        );

        // oracle <= meta-learned <= all ones at n = 16, 64 and 128 (64 and 128 are not sweep entries,
        // so evaluate exactly there).
        let mut ctx = EvalContext::new(settings.clone()).unwrap();
        ctx.ns = vec![16, 64, 128];
        let weights = Array1::from_vec(r.feature_weights.clone());
        let meta = SweepJob::run(Weighting::Weights(weights), &mut ctx).unwrap();
        let ones = SweepJob::run(Weighting::Ones, &mut ctx).unwrap();
        let oracle = SweepJob::run(Weighting::Oracle, &mut ctx).unwrap();
        for (i, n) in ctx.ns.iter().enumerate() {
            let (o, m, a) = (oracle.mean[i], meta.mean[i], ones.mean[i]);
            assert!(
                o <= m && m <= a,
                "seed {seed}, n = {n}: oracle {o} meta {m} ones {a}"
            );
        }

        // Part (f): the true features' weights grow, the grid aliases' shrink.
        let w = &r.feature_weights;
        let mean =
            |cols: &[usize]| cols.iter().map(|&k| w[k].abs()).sum::<f64>() / cols.len() as f64;
        let true_mean = mean(&settings.true_columns());
        let alias_mean = mean(&columns_of(&settings.alias_frequencies()));
        assert!(true_mean > 1.5, "seed {seed}: true weights {true_mean}");
        assert!(alias_mean < 0.7, "seed {seed}: alias weights {alias_mean}");
    }
}

#[test]
fn diverging_runs_stop_and_keep_the_last_good_weights() {
    use glassbox_lab::maml::{InnerPoints, MetaTrainer, TrainingStop, DIVERGENCE_LIMIT};
    // Uniform inner points with n close to d: nearly singular inner systems blow the weights up.
    let settings = MamlSettings {
        d: 51,
        n_train_inner: 30,
        inner_points: InnerPoints::Uniform,
        seed: 0,
        ..Default::default()
    };
    let mut trainer = MetaTrainer::new(settings).unwrap();
    let mut last_good = trainer.weights.clone();
    while trainer.step() {
        last_good = trainer.weights.clone();
    }
    let stop = trainer.stopped.clone().expect("this run diverges");
    assert!(
        matches!(stop, TrainingStop::Diverged { iteration: 7, .. }),
        "{stop:?}"
    );
    assert_eq!(trainer.iteration, 6);
    assert_eq!(trainer.meta_loss.len(), 6);
    assert_eq!(trainer.weights, last_good);
    assert!(trainer
        .weights
        .iter()
        .all(|w| w.is_finite() && w.abs() <= DIVERGENCE_LIMIT));
    assert!(!trainer.step(), "a stopped trainer stays stopped");

    // A singular inner system is refused rather than solved.
    let settings = MamlSettings {
        d: 41,
        n_train_inner: 40,
        inner_points: InnerPoints::Uniform,
        ..Default::default()
    };
    let mut trainer = MetaTrainer::new(settings).unwrap();
    assert!(!trainer.step());
    assert!(matches!(
        trainer.stopped,
        Some(TrainingStop::InnerSystem { iteration: 1, .. })
    ));
    assert!(trainer.weights.iter().all(|&w| w == 1.0));
}
