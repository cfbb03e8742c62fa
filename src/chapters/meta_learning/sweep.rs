//! Where an evaluation curve is computed: on the compute workers, an entry (value of n_train_post)
//! per job, when the page has them, so the page's thread only draws; else here, in slices of
//! `SweepJob`. The workers' entries joined in order (`Curve::from_entries`) equal the sliced run to
//! the bit.

use crate::web;
use crate::workers::{self, maml, pool};
use glassbox_lab::maml::{Curve, EvalContext, SweepJob, Weighting};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use wasm_bindgen::JsValue;

/// Multiply-adds between deadline checks (3 million let one check run past a slice by up to ~40 ms
/// in classification MAML's logistic fits; the work does not depend on it).
const MACS_PER_CHECK: u64 = 1_000_000;

type Answer = Result<Option<Vec<JsValue>>, String>;

pub enum Sweep {
    Here(SweepJob),
    Workers {
        weighting: Weighting,
        workers: usize,
        started: f64,
        done: Rc<Cell<usize>>,
        answer: Rc<RefCell<Option<Answer>>>,
    },
}

impl Sweep {
    /// The curve of `weighting`: its jobs sent to the workers at once if there are workers.
    pub fn start(weighting: Weighting, ctx: &EvalContext) -> Sweep {
        let Some(pool) = pool::pool() else {
            return Sweep::Here(SweepJob::new(weighting, ctx));
        };
        let (done, answer) = (Rc::new(Cell::new(0)), Rc::new(RefCell::new(None)));
        let workers = pool.workers();
        let (settings, entries) = (ctx.settings.to_numbers(), ctx.ns.len());
        let (w, counted, to) = (weighting.clone(), done.clone(), Rc::downgrade(&answer));
        crate::tasks::spawn_page_task(async move {
            // Stopped once the experiment dropped this sweep (a reset, new settings).
            let alive = || to.strong_count() > 0;
            let message = |i: usize| maml::sweep_message(&settings, &w, i);
            let r = pool
                .run(entries, &message, &|n| counted.set(n), &alive)
                .await;
            if let Some(a) = to.upgrade() {
                *a.borrow_mut() = Some(r);
            }
        });
        Sweep::Workers {
            weighting,
            workers,
            started: web::now_ms(),
            done,
            answer,
        }
    }

    /// Work towards the curve (a check's worth here; elsewhere, a look at the answers): the curve
    /// once complete. `waited`: milliseconds the workers took, added when their answers arrive.
    /// Workers given up (the pool's notice says why): the curve is computed here from the start.
    pub fn advance(
        &mut self,
        ctx: &mut EvalContext,
        waited: &mut f64,
    ) -> Result<Option<Curve>, String> {
        let (weighting, started, answer) = match self {
            Sweep::Here(job) => {
                return Ok(job
                    .advance(ctx, MACS_PER_CHECK)?
                    .then(|| job.curve().clone()))
            }
            Sweep::Workers {
                weighting,
                started,
                answer,
                ..
            } => (weighting, *started, answer.borrow_mut().take()),
        };
        match answer {
            None => Ok(None),
            Some(Ok(Some(replies))) => {
                *waited += web::now_ms() - started;
                let entries = replies
                    .iter()
                    .map(maml::sweep_of)
                    .collect::<Result<Vec<_>, _>>()?;
                let tasks = ctx.settings.n_test_tasks;
                if let Some(e) = entries.iter().find(|e| e.len() != tasks) {
                    return Err(format!(
                        "a worker's sweep entry had {} values for {tasks} test tasks",
                        e.len()
                    ));
                }
                Ok(Some(Curve::from_entries(&entries)))
            }
            Some(_) => {
                *self = Sweep::Here(SweepJob::new(weighting.clone(), ctx));
                Ok(None)
            }
        }
    }

    /// Fraction of the curve's entries finished.
    pub fn progress(&self, ctx: &EvalContext) -> f64 {
        match self {
            Sweep::Here(job) => job.progress(ctx),
            Sweep::Workers { done, .. } => done.get() as f64 / ctx.ns.len() as f64,
        }
    }

    /// Whether the workers compute it (the page has nothing to do but wait).
    pub fn elsewhere(&self) -> bool {
        matches!(self, Sweep::Workers { .. })
    }

    /// Where it is computed, for the status line: "" (here) or " on 1 worker in the background".
    pub fn place(&self) -> String {
        workers::place(match self {
            Sweep::Here(_) => None,
            Sweep::Workers { workers, .. } => Some(*workers),
        })
    }
}
