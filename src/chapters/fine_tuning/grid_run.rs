//! A section's grid of fine-tuning runs (rows x columns, run row by row), keeping each run's test
//! accuracy after tuning: the three shifts side by side and the stage-noise matrix. It holds the
//! page while it runs, says which run it is on, and clears when the shift or protocol changes.

use super::runner::{run_jobs, Place};
use super::state::{clear_on_change, FineTuningState};
use crate::tasks::Generation;
use crate::var::Var;
use glassbox_lab::shift::TuneSettings;

#[derive(Clone, Copy)]
pub struct GridRun {
    /// Test accuracy after tuning, [row][column]; None until that run ends.
    pub acc: Var<Vec<Vec<Option<f64>>>>,
    pub running: Var<bool>,
    pub status: Var<String>,
    generation: Generation,
    state: FineTuningState,
    engine: crate::engine::Engine,
    rows: usize,
    cols: usize,
}

impl GridRun {
    pub fn new(rows: usize, cols: usize) -> GridRun {
        let state: FineTuningState = crate::ui::context();
        let grid = GridRun {
            acc: Var::new(vec![vec![None; cols]; rows]),
            running: Var::new(false),
            status: Var::new(String::new()),
            generation: Generation::new(),
            engine: crate::ui::context(),
            state,
            rows,
            cols,
        };
        clear_on_change(state.settings, move || {
            grid.stop();
            grid.acc.set(vec![vec![None; cols]; rows]);
            grid.status.set(String::new());
        });
        grid
    }

    /// Run `jobs` (rows x columns of them, row by row) on the committed network.
    pub fn start(self, jobs: Vec<TuneSettings>) {
        let Some(l) = self.state.lab.get_untracked() else {
            return;
        };
        let alive = self.generation.start();
        let (rows, cols) = (self.rows, self.cols);
        self.acc.set(vec![vec![None; cols]; rows]);
        self.running.set(true);
        self.state.busy.set(true);
        crate::tasks::spawn_page_task(async move {
            let status = self.status;
            let finished = run_jobs(
                &l,
                Place::Engine(self.engine),
                jobs,
                &alive,
                &|k, f, activity| {
                    status.set(if f < 0.0 {
                        activity
                    } else {
                        format!("Run {} of {}: {activity}", k + 1, rows * cols)
                    })
                },
                &mut |k, r, _, _| {
                    self.acc
                        .update(|v| v[k / cols][k % cols] = Some(r.accuracy_after))
                },
            )
            .await;
            if finished {
                status.set("Done.".into());
            }
            if finished || alive() {
                self.release();
            }
        });
    }

    /// Stop the run in progress (if any) and let the page run something else.
    pub fn stop(self) {
        self.generation.stop();
        if self.running.get_untracked() {
            self.release();
        }
    }

    fn release(self) {
        self.running.set(false);
        self.state.busy.set(false);
    }
}
