//! Meta-training continued on another thread (a page's worker). The part of a `MetaTrainer` that
//! changes as it steps is its iteration t, its random stream's state and its weights c_t; a run
//! from (t, stream, c_t) repeats the steps c_{t+1} = c_t - lr * sum_i dL_i/dc on the same tasks
//! with the same arithmetic, so a trainer that hands its runs out (`state`, `resume` and
//! `run_until` there, `take` here) ends where one that stepped itself does, to the bit.

use super::outer_loop::MetaTrainer;
use super::settings::MamlSettings;
use crate::rng::Rng;
use ndarray::Array1;

/// Numbers before the weights in `MetaTrainer::state`: the iteration and the stream's 8 halves.
const HEAD: usize = 9;

/// What a run of steps on another thread gives back.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    /// The meta loss of each step taken.
    pub losses: Vec<f64>,
    /// The next step stops training (an inner system too ill-conditioned, or divergence): it was
    /// left untaken, the stream as before it, so the trainer that takes the run takes it and stops
    /// with the same reason.
    pub stops_next: bool,
}

impl MetaTrainer {
    /// The iteration, the random stream and the weights, as numbers (`resume` reads them back).
    pub fn state(&self) -> Vec<f64> {
        let mut v = Vec::with_capacity(HEAD + self.weights.len());
        v.push(self.iteration as f64);
        v.extend(self.rng.halves().iter().map(|&h| f64::from(h)));
        v.extend(self.weights.iter());
        v
    }

    /// A trainer under `settings` at the state `state` wrote (no loss history or snapshots).
    pub fn resume(settings: MamlSettings, state: &[f64]) -> Result<MetaTrainer, String> {
        let mut t = MetaTrainer::new(settings)?;
        t.set_state(state)?;
        Ok(t)
    }

    /// The next iteration after which the weights are evaluated (and kept as a snapshot).
    pub fn next_evaluation(&self) -> usize {
        let every = self.settings.eval_every.max(1);
        ((self.iteration / every + 1) * every).min(self.settings.iterations)
    }

    /// Step until iteration `until`, at most to the next evaluation, or until the next step would
    /// stop training.
    pub fn run_until(&mut self, until: usize) -> Run {
        let until = until.min(self.next_evaluation());
        let mut losses = Vec::new();
        while self.iteration < until {
            let before = self.rng.clone();
            if !self.step() {
                let stops_next = self.stopped.take().is_some();
                self.rng = before;
                return Run { losses, stops_next };
            }
            losses.extend(self.meta_loss.last());
        }
        Run {
            losses,
            stops_next: false,
        }
    }

    /// Take a run computed elsewhere from this trainer's `state`: the state it ended at and its
    /// losses. A run that stops next is followed by that step, taken here.
    pub fn take(&mut self, state: &[f64], run: &Run) -> Result<(), String> {
        let iteration = self.iteration + run.losses.len();
        if state.first() != Some(&(iteration as f64)) {
            return Err(format!(
                "a run of {} steps from iteration {} ended at iteration {:?}",
                run.losses.len(),
                self.iteration,
                state.first()
            ));
        }
        if iteration > self.next_evaluation() {
            return Err("a run went past an evaluation".into());
        }
        self.set_state(state)?;
        self.meta_loss.extend(&run.losses);
        let s = &self.settings;
        if !run.losses.is_empty()
            && (iteration.is_multiple_of(s.eval_every) || iteration == s.iterations)
        {
            self.snapshots.push((iteration, self.weights.clone()));
        }
        if run.stops_next {
            self.step();
        }
        Ok(())
    }

    fn set_state(&mut self, state: &[f64]) -> Result<(), String> {
        let d = self.settings.d;
        if state.len() != HEAD + d {
            return Err(format!(
                "a trainer's state of {} numbers for d = {d}",
                state.len()
            ));
        }
        let whole = |x: f64, most: f64| x >= 0.0 && x <= most && x.fract() == 0.0;
        if !whole(state[0], self.settings.iterations as f64)
            || !state[1..HEAD].iter().all(|&h| whole(h, u32::MAX as f64))
        {
            return Err("a trainer's state with a bad iteration or stream".into());
        }
        let weights = &state[HEAD..];
        if !weights.iter().all(|w| w.is_finite()) {
            return Err("a trainer's state with weights that are not finite".into());
        }
        self.iteration = state[0] as usize;
        self.rng = Rng::from_halves(std::array::from_fn(|i| state[1 + i] as u32));
        self.weights = Array1::from(weights.to_vec());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::maml::TrainingStop;

    fn small(s: MamlSettings) -> MamlSettings {
        MamlSettings {
            d: 41,
            iterations: 23,
            eval_every: 5,
            seed: 3,
            ..s
        }
    }

    /// Train `settings` by handing runs of `chunk` steps to another trainer each time (a fresh
    /// one, as a worker would build), through the numbers a message carries.
    fn handed_out(settings: &MamlSettings, chunk: usize) -> MetaTrainer {
        let mut here = MetaTrainer::new(settings.clone()).unwrap();
        while !here.finished() {
            let numbers = settings.to_numbers();
            let mut there =
                MetaTrainer::resume(MamlSettings::from_numbers(&numbers).unwrap(), &here.state())
                    .unwrap();
            let run = there.run_until(here.iteration + chunk);
            here.take(&there.state(), &run).unwrap();
        }
        here
    }

    #[test]
    fn runs_handed_out_train_to_the_bit_as_steps_taken_here() {
        for settings in [
            small(MamlSettings::default()),
            small(MamlSettings::gradient_descent(2)),
            small(MamlSettings::classification(3, 0.3)),
        ] {
            let mut alone = MetaTrainer::new(settings.clone()).unwrap();
            while alone.step() {}
            assert_eq!(alone.iteration, 23);
            for chunk in [1, 3, 5, 100] {
                let handed = handed_out(&settings, chunk);
                assert_eq!(handed.weights, alone.weights, "chunk {chunk}");
                assert_eq!(handed.meta_loss, alone.meta_loss);
                assert_eq!(handed.snapshots, alone.snapshots);
                assert!(handed.stopped.is_none());
            }
        }
    }

    #[test]
    fn a_run_that_stops_next_stops_the_trainer_that_takes_it_with_the_same_reason() {
        // Classification at meta step 1 diverges at iteration 4.
        let settings = MamlSettings {
            meta_lr: 1.0,
            ..small(MamlSettings::classification(3, 0.3))
        };
        let mut alone = MetaTrainer::new(settings.clone()).unwrap();
        while alone.step() {}
        assert!(matches!(
            alone.stopped,
            Some(TrainingStop::Diverged { iteration: 4, .. })
        ));
        for chunk in [1, 4, 100] {
            let handed = handed_out(&settings, chunk);
            assert_eq!(handed.stopped, alone.stopped);
            assert_eq!(handed.iteration, alone.iteration);
            assert_eq!(handed.weights, alone.weights);
            assert_eq!(handed.meta_loss, alone.meta_loss);
        }
    }

    #[test]
    fn a_bad_state_or_run_is_refused() {
        let settings = small(MamlSettings::default());
        let mut t = MetaTrainer::new(settings.clone()).unwrap();
        let good = t.state();
        assert!(MetaTrainer::resume(settings.clone(), &good[..good.len() - 1]).is_err());
        for (i, bad) in [(0, 2.5), (0, 24.0), (3, -1.0), (3, 5e9), (20, f64::NAN)] {
            let mut s = good.clone();
            s[i] = bad;
            assert!(
                MetaTrainer::resume(settings.clone(), &s).is_err(),
                "{i} = {bad}"
            );
        }
        // A run must end where its steps lead, and not past an evaluation.
        let mut there = MetaTrainer::resume(settings.clone(), &good).unwrap();
        let run = there.run_until(3);
        assert_eq!(run.losses.len(), 3);
        let short = Run {
            losses: vec![1.0],
            stops_next: false,
        };
        assert!(t.take(&there.state(), &short).is_err());
        let mut far = there.state();
        far[0] = 7.0;
        let long = Run {
            losses: vec![1.0; 7],
            stops_next: false,
        };
        assert!(t.take(&far, &long).is_err());
        t.take(&there.state(), &run).unwrap();
        assert_eq!(t.iteration, 3);
        assert_eq!(t.next_evaluation(), 5);
    }
}
