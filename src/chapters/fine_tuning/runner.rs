//! Running a fine-tuning experiment in the page: the lab's `Tuner` advanced a unit at a time in
//! ~30 ms slices (never freezing the page), kept between slices so Pause keeps its place and Run
//! goes on from there; the time spent in each phase is measured (`PhaseTimes`), so the page can
//! say what computing the frozen layers once saved.

use crate::tasks::{run_in_slices, Slice};
use crate::web;
use glassbox_lab::shift::{PhaseTimes, TuneResult, Tuner};
use glassbox_lab::vision::network::Network;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

/// A run's state between slices.
#[derive(Default)]
pub struct Job {
    pub tuner: Option<Tuner>,
    pub times: PhaseTimes,
}

/// What the page shows of a run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    pub fraction: f64,
    pub activity: String,
    pub curve: Vec<glassbox_lab::shift::CurvePoint>,
    pub multipliers: Vec<(String, f64)>,
    pub result: Option<TuneResult>,
    /// Why the run stopped early.
    pub error: Option<String>,
    /// The tuned network, once done.
    pub tuned: Option<Arc<Network>>,
    pub times: PhaseTimes,
}

impl Job {
    pub fn snapshot(&self) -> Snapshot {
        let Some(t) = &self.tuner else {
            return Snapshot::default();
        };
        Snapshot {
            fraction: t.progress(),
            activity: t.activity(),
            curve: t.curve.clone(),
            multipliers: t.multipliers(),
            result: t.result(),
            error: t.error.clone(),
            tuned: t.done().then(|| Arc::new(t.network().clone())),
            times: self.times,
        }
    }
}

/// Advance the job's tuner to its end in slices, calling `report` after each slice; returns true
/// when it finished (false: stopped, the job keeps its place).
pub async fn drive(
    job: Rc<RefCell<Job>>,
    alive: impl Fn() -> bool,
    mut report: impl FnMut(&Job),
) -> bool {
    let mut finished = false;
    run_in_slices(
        |deadline| {
            let mut guard = job.borrow_mut();
            let j = &mut *guard;
            let mut more = j.tuner.is_some();
            while more && web::now_ms() < deadline {
                if let Some(t) = j.tuner.as_mut() {
                    more = t.step_timed(&web::now_ms, &mut j.times);
                }
            }
            report(j);
            if more {
                Slice::Continue
            } else {
                finished = true;
                Slice::Idle
            }
        },
        &alive,
    )
    .await;
    finished
}

/// Seconds, briefly.
pub fn secs(ms: f64) -> String {
    if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else if ms < 10_000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else {
        format!("{:.0} s", ms / 1000.0)
    }
}

/// Run `jobs` one after another on the committed network, each a `Tuner` driven in slices:
/// `progress(job, fraction of that job, its activity)` after each slice and `done(job, result,
/// ms)` after each job. Returns false if stopped (`alive` turned false) or a job could not start
/// (its message goes to `progress` as the activity, with fraction -1).
pub async fn run_jobs(
    lab: &crate::vision::data::Loaded,
    jobs: Vec<glassbox_lab::shift::TuneSettings>,
    alive: impl Fn() -> bool + Copy,
    progress: impl Fn(usize, f64, String),
    mut done: impl FnMut(usize, TuneResult, f64),
) -> bool {
    for (i, settings) in jobs.into_iter().enumerate() {
        let tuner = match Tuner::new(&lab.pretrained, &lab.data.test, settings) {
            Ok(t) => t,
            Err(e) => {
                progress(i, -1.0, e);
                return false;
            }
        };
        let job = Rc::new(RefCell::new(Job {
            tuner: Some(tuner),
            ..Job::default()
        }));
        let finished = drive(job.clone(), alive, |j| {
            if let Some(t) = &j.tuner {
                progress(i, t.progress(), t.activity());
            }
        })
        .await;
        if !finished || !alive() {
            return false;
        }
        let j = job.borrow();
        if let Some(e) = j.tuner.as_ref().and_then(|t| t.error.clone()) {
            progress(i, -1.0, e);
            return false;
        }
        if let Some(r) = j.tuner.as_ref().and_then(|t| t.result()) {
            done(i, r, j.times.total_ms);
        }
    }
    true
}
