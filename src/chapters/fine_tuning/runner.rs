//! Running a fine-tuning experiment in the page: the lab's `Tuner` advanced a unit at a time in
//! ~30 ms slices (never freezing the page), kept between slices so Pause keeps its place and Run
//! goes on from there; the time spent in each phase is measured (`PhaseTimes`), so the page can
//! say what computing the frozen layers once saved. With WebGPU the units' arithmetic runs on the
//! device worker's GPU (`gpu-tune` jobs, a unit of 64 images each, the same numbers as the page's
//! own device), or, where that worker cannot run, on the page's device (`GpuTuning`, a batch per
//! call, awaited, so the page stays free); a lost device hands the run to the CPU where it stands.
//! On the CPU the units' arithmetic goes to the worker pool (`tune` jobs: a batch's gradient chunks
//! or a run of a set's units at once, answered in order, the same numbers as the page's own units);
//! the page's thread keeps the units without work (drawing the shifted images, batch-norm
//! statistics) and takes over if the pool is given up. Both worker paths: `on_workers`.

use super::on_workers::drive_workers;
use crate::engine::Engine;
use crate::tasks::{run_in_slices, Slice, SLICE_MS};
use crate::web;
use glassbox_gpu::{Gpu, GpuTuning};
use glassbox_lab::shift::{PhaseTimes, TuneResult, Tuner};
use glassbox_lab::vision::network::Network;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

/// Where a run computes.
#[derive(Clone, Copy)]
pub enum Place {
    /// This page's thread (the Benchmarks' one-thread row).
    Page,
    /// The worker pool (this page's thread without one).
    Workers,
    /// The engine's device when it has one, else as `Workers`.
    Engine(Engine),
}

/// A run's state between slices.
#[derive(Default)]
pub struct Job {
    pub tuner: Option<Tuner>,
    pub times: PhaseTimes,
    /// The run's network on the GPU, while it runs there.
    pub(super) gpu: Option<(Rc<Gpu>, GpuTuning)>,
    /// The tuner's network as bytes for the workers, with the tuner's frozen version it was
    /// taken at (`Tuner::frozen_version`: the tuned tensors' values go with every job).
    pub(super) net_bytes: Option<(u64, Rc<Vec<u8>>)>,
    /// Where the last unit ran: "WebGPU", "CPU" or "CPU workers".
    pub ran: &'static str,
}

impl Job {
    pub fn new(tuner: Tuner) -> Job {
        Job {
            tuner: Some(tuner),
            ..Job::default()
        }
    }
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
    /// "WebGPU" or "CPU" (empty before the first unit).
    pub ran: &'static str,
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
            ran: self.ran,
        }
    }
}

/// Advance the job's tuner to its end at `place`, calling `report` after each slice; returns true
/// when it finished (false: stopped, the job keeps its place).
pub async fn drive(
    job: Rc<RefCell<Job>>,
    place: Place,
    alive: impl Fn() -> bool,
    mut report: impl FnMut(&Job),
) -> bool {
    // One body for every caller's closures (the download's size, issue 22).
    drive_at(job, place, &alive, &mut report).await
}

async fn drive_at(
    job: Rc<RefCell<Job>>,
    place: Place,
    alive: &dyn Fn() -> bool,
    report: &mut dyn FnMut(&Job),
) -> bool {
    if let Place::Engine(engine) = place {
        engine.settled().await;
        if engine.on_webgpu() {
            if let Some(device) = crate::workers::pool::device_pool() {
                {
                    let mut j = job.borrow_mut();
                    j.gpu = None;
                    if let Some(t) = j.tuner.as_mut() {
                        t.set_chunk(glassbox_gpu::GPU_CHUNK);
                    }
                }
                match drive_workers(&job, &device, true, alive, report).await {
                    Ok(finished) => return finished,
                    Err(why) => engine.report_device_worker(&why),
                }
            }
        }
        if let Some(gpu) = engine.page_gpu().await {
            match drive_gpu(&job, &gpu, alive, report).await {
                Ok(finished) => return finished,
                Err(e) => engine.report(&e),
            }
        }
    }
    // The CPU path (from the start, after a failed device, or resumed after the reader chose the
    // CPU): small units again, so no unit holds the page for long.
    {
        let mut j = job.borrow_mut();
        j.gpu = None;
        if let Some(t) = j.tuner.as_mut() {
            t.set_chunk(glassbox_lab::shift::tuner::CHUNK);
        }
    }
    if !matches!(place, Place::Page) {
        if let Some(pool) = crate::workers::pool::pool() {
            // Err: the pool was given up (the page says so), and this thread goes on.
            if let Ok(finished) = drive_workers(&job, &pool, false, alive, report).await {
                return finished;
            }
        }
    }
    drive_cpu(job, alive, report).await
}

/// The CPU path: units in slices, a slice starting no unit that the last unit's time says would
/// end past its deadline (but always one).
async fn drive_cpu(
    job: Rc<RefCell<Job>>,
    alive: &dyn Fn() -> bool,
    report: &mut dyn FnMut(&Job),
) -> bool {
    let (mut finished, mut last) = (false, 0.0);
    run_in_slices(
        &mut |deadline| {
            let mut guard = job.borrow_mut();
            let j = &mut *guard;
            let mut more = j.tuner.is_some();
            let mut first = true;
            while more && (first || web::now_ms() + last < deadline) {
                first = false;
                if let Some(t) = j.tuner.as_mut() {
                    let t0 = web::now_ms();
                    more = t.step_timed(&web::now_ms, &mut j.times);
                    last = web::now_ms() - t0;
                    j.ran = "CPU";
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
        alive,
    )
    .await;
    finished
}

/// The GPU path: the tuner is taken out of the job while its units are awaited (a slice at a
/// time) and put back before each report. Err: the device failed; the job keeps its place.
async fn drive_gpu(
    job: &Rc<RefCell<Job>>,
    gpu: &Rc<Gpu>,
    alive: &dyn Fn() -> bool,
    report: &mut dyn FnMut(&Job),
) -> Result<bool, glassbox_gpu::GpuError> {
    loop {
        if !alive() {
            return Ok(false);
        }
        let (tuner, copy) = {
            let mut j = job.borrow_mut();
            (j.tuner.take(), j.gpu.take())
        };
        let Some(mut tuner) = tuner else {
            return Ok(false);
        };
        let mut copy = match copy {
            Some((g, c)) if Rc::ptr_eq(&g, gpu) => Ok(c),
            _ => GpuTuning::new(gpu, &mut tuner),
        };
        let (deadline, mut times, mut more) =
            (web::now_ms() + SLICE_MS, PhaseTimes::default(), true);
        while let Ok(c) = copy.as_mut() {
            let (phase, t0) = (tuner.phase_name(), web::now_ms());
            match c.step(gpu, &mut tuner).await {
                Ok(m) => more = m,
                Err(e) => copy = Err(e),
            }
            times.add(phase, web::now_ms() - t0);
            if !more || web::now_ms() >= deadline || !alive() {
                break;
            }
        }
        {
            let mut j = job.borrow_mut();
            j.tuner = Some(tuner);
            j.times.add_all(&times);
            j.gpu = Some((gpu.clone(), copy?));
            j.ran = "WebGPU";
            report(&j);
        }
        if !more {
            return Ok(true);
        }
        web::sleep(0).await;
    }
}

/// Where a run ran as the page says it: "WebGPU", "the CPU" or "the CPU, in background workers".
pub fn on(ran: &str) -> &str {
    match ran {
        "WebGPU" => "WebGPU",
        "CPU workers" => "the CPU, in background workers",
        _ => "the CPU",
    }
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

/// Run `jobs` one after another on the committed network, each a `Tuner` driven at `place`:
/// `progress(job, fraction of that job, its activity)` after each slice and `done(job, result, ms,
/// where it ran)` after each job. Returns false if stopped
/// (`alive` turned false) or a job could not start (its message goes to `progress` as the
/// activity, with fraction -1).
pub async fn run_jobs(
    lab: &crate::vision::data::Loaded,
    place: Place,
    jobs: Vec<glassbox_lab::shift::TuneSettings>,
    alive: &dyn Fn() -> bool,
    progress: &dyn Fn(usize, f64, String),
    done: &mut dyn FnMut(usize, TuneResult, f64, &'static str),
) -> bool {
    for (i, settings) in jobs.into_iter().enumerate() {
        // Each job starts in a task of its own: the last slice of the job before and the table it
        // filled, then setting up the next (its shifted data), then the next's first slice would
        // otherwise hold the page together.
        web::sleep(0).await;
        let tuner = match Tuner::new(&lab.pretrained, &lab.data.test, settings) {
            Ok(t) => t,
            Err(e) => {
                progress(i, -1.0, e);
                return false;
            }
        };
        web::sleep(0).await;
        if !alive() {
            return false;
        }
        let job = Rc::new(RefCell::new(Job::new(tuner)));
        let finished = drive(job.clone(), place, alive, |j| {
            if let Some(t) = &j.tuner {
                progress(
                    i,
                    t.progress(),
                    format!("{} (on {})", t.activity(), on(j.ran)),
                );
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
            done(i, r, j.times.total_ms, j.ran);
        }
    }
    true
}
