//! The page's side of the worker pools. The compute pool: `navigator.hardwareConcurrency - 1`
//! workers (at most 4: each holds its own copy of the module's memory), started the first time a
//! computation asks for them and kept for the page's life. The device pool: one worker that owns a
//! WebGPU device (created at its first job) and answers the jobs that run on it. `Pool::run` hands
//! out jobs one at a time to whichever worker is free and keeps each answer at its job's place
//! (runs asked for at once take turns). A worker that reports an error, or does not answer within
//! its deadline (a worker that died says nothing), is restarted and its job sent again; a second
//! failure of the same job, a lost device, or a worker that cannot start, ends the pool: the
//! caller finishes elsewhere (the compute pool's page says so once; without the device pool the
//! page drives the GPU itself, with the same results).

use crate::web;
use futures::future::{join_all, select, Either};
use js_sys::{Array, Function, Object, Promise, Reflect};
use leptos::prelude::*;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{MessageEvent, Worker, WorkerOptions, WorkerType};

/// At most this many workers.
const MAX_WORKERS: usize = 4;
/// How long a worker may take to start the module.
const START_MS: i32 = 30_000;
/// A device job's least deadline: its first job also asks for the adapter and the device and
/// compiles the kernels it uses (tens of seconds on a software rasteriser under load).
const DEVICE_JOB_MS: f64 = 120_000.0;
/// A job's deadline: this long, or `SLOWEST_FACTOR` times the slowest job answered so far.
const JOB_MS: f64 = 8_000.0;
const SLOWEST_FACTOR: f64 = 20.0;

type Pending = Rc<RefCell<HashMap<u32, (Function, Function)>>>;

/// One worker, restarted in place.
struct Slot {
    worker: RefCell<Option<Worker>>,
    /// Answers awaited, by job id: the promise's resolve and reject.
    pending: Pending,
    ready: Cell<bool>,
    #[allow(clippy::type_complexity)]
    handlers: RefCell<
        Option<(
            Closure<dyn FnMut(MessageEvent)>,
            Closure<dyn FnMut(web_sys::Event)>,
        )>,
    >,
}

fn text(v: &JsValue) -> String {
    v.as_string()
        .or_else(|| {
            v.dyn_ref::<js_sys::Error>()
                .map(|e| String::from(e.message()))
        })
        .unwrap_or_else(|| format!("{v:?}"))
}

impl Slot {
    fn new() -> Slot {
        Slot {
            worker: RefCell::new(None),
            pending: Rc::new(RefCell::new(HashMap::new())),
            ready: Cell::new(false),
            handlers: RefCell::new(None),
        }
    }

    fn stop(&self) {
        if let Some(w) = self.worker.borrow_mut().take() {
            // Detached before the handlers are dropped: no late event may reach a dropped closure.
            w.set_onmessage(None);
            w.set_onerror(None);
            w.terminate();
        }
        self.handlers.borrow_mut().take();
        self.ready.set(false);
        // Whatever the old worker owed is never coming.
        let owed: Vec<_> = self.pending.borrow_mut().drain().collect();
        for (_, (_, reject)) in owed {
            let _ = reject.call1(&JsValue::NULL, &"the worker was stopped".into());
        }
    }

    /// A fresh worker with the module started in it.
    async fn start(&self, pool: &Pool) -> Result<(), String> {
        self.stop();
        let opts = WorkerOptions::new();
        opts.set_type(WorkerType::Module);
        let worker = Worker::new_with_options(&pool.script, &opts).map_err(|e| text(&e))?;
        let pending = self.pending.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            let data = e.data();
            let Some(id) = Reflect::get(&data, &"id".into())
                .ok()
                .and_then(|v| v.as_f64())
            else {
                return;
            };
            if let Some((resolve, reject)) = pending.borrow_mut().remove(&(id as u32)) {
                match Reflect::get(&data, &"error".into()) {
                    Ok(err) if !err.is_undefined() => {
                        let _ = reject.call1(&JsValue::NULL, &err);
                    }
                    _ => {
                        let _ = resolve.call1(&JsValue::NULL, &data);
                    }
                }
            }
        });
        let pending = self.pending.clone();
        let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
            let why = e
                .dyn_ref::<web_sys::ErrorEvent>()
                .map(|e| e.message())
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| "the worker failed to load or crashed".into());
            let owed: Vec<_> = pending.borrow_mut().drain().collect();
            for (_, (_, reject)) in owed {
                let _ = reject.call1(&JsValue::NULL, &why.clone().into());
            }
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        *self.handlers.borrow_mut() = Some((on_message, on_error));
        *self.worker.borrow_mut() = Some(worker);
        let init = Object::new();
        Reflect::set(&init, &"glue".into(), &pool.glue.clone().into()).map_err(|e| text(&e))?;
        Reflect::set(&init, &"module".into(), &wasm_bindgen::module()).map_err(|e| text(&e))?;
        self.call(pool.next_id(), &init, &Array::new(), START_MS)
            .await
            .map_err(|e| format!("a worker could not start: {e}"))?;
        self.ready.set(true);
        Ok(())
    }

    /// Post a message with `id` and wait for its answer, at most `deadline_ms`.
    async fn call(
        &self,
        id: u32,
        msg: &Object,
        transfer: &Array,
        deadline_ms: i32,
    ) -> Result<JsValue, String> {
        Reflect::set(msg, &"id".into(), &id.into()).map_err(|e| text(&e))?;
        let pending = self.pending.clone();
        let answer = Promise::new(&mut |resolve, reject| {
            pending.borrow_mut().insert(id, (resolve, reject));
        });
        let posted = match self.worker.borrow().as_ref() {
            Some(w) => w.post_message_with_transfer(msg, transfer),
            None => Err("no worker".into()),
        };
        if let Err(e) = posted {
            self.pending.borrow_mut().remove(&id);
            return Err(text(&e));
        }
        let answer = std::pin::pin!(JsFuture::from(answer));
        let timer = std::pin::pin!(web::sleep(deadline_ms));
        match select(answer, timer).await {
            Either::Left((Ok(v), _)) => Ok(v),
            Either::Left((Err(e), _)) => Err(text(&e)),
            Either::Right(_) => {
                self.pending.borrow_mut().remove(&id);
                Err(format!(
                    "a worker did not answer within {:.0} s",
                    deadline_ms as f64 / 1000.0
                ))
            }
        }
    }
}

/// What a pool's workers are for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Computation on the CPU, one worker per spare core.
    Compute,
    /// One worker that owns the WebGPU device its jobs run on.
    Device,
}

pub struct Pool {
    role: Role,
    slots: Vec<Slot>,
    /// The worker script and the app's glue, as absolute URLs.
    script: String,
    glue: String,
    next_id: Cell<u32>,
    slowest_ms: Cell<f64>,
    /// A run is under way: runs take turns (two at once would start and restart the same workers).
    busy: Cell<bool>,
    /// Workers restarted so far (Under the hood shows it).
    restarts: ArcRwSignal<u32>,
}

/// Why the pool was given up, for the page's notice (None while it works).
pub fn notice() -> ArcRwSignal<Option<String>> {
    NOTICE.with(|n| n.clone())
}

/// Why the device pool was given up (None while it works or before it started).
pub fn device_notice() -> ArcRwSignal<Option<String>> {
    DEVICE_NOTICE.with(|n| n.clone())
}

/// Jobs the device pool answered on this page.
pub fn device_jobs() -> ArcRwSignal<u32> {
    DEVICE_JOBS.with(|n| n.clone())
}

thread_local! {
    static POOL: RefCell<Option<Rc<Pool>>> = const { RefCell::new(None) };
    static GIVEN_UP: Cell<bool> = const { Cell::new(false) };
    static DEVICE_POOL: RefCell<Option<Rc<Pool>>> = const { RefCell::new(None) };
    static DEVICE_GIVEN_UP: Cell<bool> = const { Cell::new(false) };
    // Reference-counted signals: owned by no component, so no page's cleanup disposes of them.
    static NOTICE: ArcRwSignal<Option<String>> = ArcRwSignal::new(None);
    static RESTARTS: ArcRwSignal<u32> = ArcRwSignal::new(0);
    static DEVICE_NOTICE: ArcRwSignal<Option<String>> = ArcRwSignal::new(None);
    static DEVICE_JOBS: ArcRwSignal<u32> = ArcRwSignal::new(0);
}

/// Workers restarted so far on this page.
pub fn restarts() -> ArcRwSignal<u32> {
    RESTARTS.with(|r| r.clone())
}

/// How many workers the pool has (or would have): the browser's cores but one, which the page's
/// thread keeps for drawing and input (its tasks stretch when every core is busy), 1 to
/// `MAX_WORKERS`.
pub fn size() -> usize {
    let cores = web_sys::window()
        .map(|w| w.navigator().hardware_concurrency())
        .unwrap_or(1.0);
    (cores as usize).saturating_sub(1).clamp(1, MAX_WORKERS)
}

/// The page's compute pool; None once it was given up (the page then computes on its own thread).
pub fn pool() -> Option<Rc<Pool>> {
    pool_of(Role::Compute)
}

/// The device pool; None once it was given up (the page then drives the GPU itself).
pub fn device_pool() -> Option<Rc<Pool>> {
    pool_of(Role::Device)
}

type PoolCell = std::thread::LocalKey<RefCell<Option<Rc<Pool>>>>;

impl Role {
    /// This role's pool and whether it was given up.
    fn cells(
        self,
    ) -> (
        &'static PoolCell,
        &'static std::thread::LocalKey<Cell<bool>>,
    ) {
        match self {
            Role::Compute => (&POOL, &GIVEN_UP),
            Role::Device => (&DEVICE_POOL, &DEVICE_GIVEN_UP),
        }
    }
}

fn pool_of(role: Role) -> Option<Rc<Pool>> {
    let (cell, given_up) = role.cells();
    if given_up.get() {
        return None;
    }
    cell.with(|p| {
        if let Some(p) = p.borrow().as_ref() {
            return Some(p.clone());
        }
        let pool = Rc::new(Pool::new(role)?);
        *p.borrow_mut() = Some(pool.clone());
        Some(pool)
    })
}

/// Give the device pool up (its worker has no WebGPU device): the page drives the GPU itself.
pub fn give_up_device(why: &str) {
    give_up(Role::Device, why);
}

/// Give a pool up for the rest of the page's life, with the reason in the page.
fn give_up(role: Role, why: &str) {
    let (cell, given_up) = role.cells();
    given_up.set(true);
    if let Some(p) = cell.with(|p| p.borrow_mut().take()) {
        p.slots.iter().for_each(Slot::stop);
    }
    match role {
        Role::Compute => {
            web_sys::console::warn_1(&format!("Glassbox: compute workers given up: {why}").into());
            notice().set(Some(format!(
                "The background workers stopped ({why}); this page now computes on its own thread, \
                 which can make it less responsive."
            )));
        }
        Role::Device => {
            web_sys::console::warn_1(&format!("Glassbox: WebGPU worker given up: {why}").into());
            device_notice().set(Some(match lost_reason(why) {
                Some(r) => format!(
                    "The WebGPU worker's device was lost ({r}); the page computes on the CPU."
                ),
                None => {
                    format!("The WebGPU worker stopped ({why}); the page drives the GPU itself.")
                }
            }));
        }
    }
}

/// The reason a device pool's job failed with, when it was a lost device (the worker's reply is
/// `GpuError::DeviceLost`'s text): such a job is not run again, and the page switches to the CPU.
pub fn lost_reason(why: &str) -> Option<String> {
    let lost = glassbox_gpu::GpuError::DeviceLost(String::new()).to_string();
    why.strip_prefix(&lost).map(|r| r.to_string())
}

impl Pool {
    /// None when the page has no glue script to hand the workers (not a Trunk build).
    fn new(role: Role) -> Option<Pool> {
        let doc = web_sys::window()?.document()?;
        let base = doc.base_uri().ok()??;
        let href = doc
            .query_selector("link[rel=modulepreload][href$='.js']")
            .ok()??
            .get_attribute("href")?;
        let abs = |rel: &str| {
            web_sys::Url::new_with_base(rel, &base)
                .ok()
                .map(|u| u.href())
        };
        let workers = match role {
            Role::Compute => size(),
            Role::Device => 1,
        };
        Some(Pool {
            role,
            slots: (0..workers).map(|_| Slot::new()).collect(),
            script: abs("glassbox-worker.js")?,
            glue: abs(&href)?,
            next_id: Cell::new(1),
            slowest_ms: Cell::new(0.0),
            busy: Cell::new(false),
            restarts: restarts(),
        })
    }

    fn next_id(&self) -> u32 {
        let id = self.next_id.get();
        self.next_id.set(id.wrapping_add(1).max(1));
        id
    }

    fn deadline_ms(&self) -> i32 {
        let least = match self.role {
            Role::Compute => JOB_MS,
            Role::Device => DEVICE_JOB_MS,
        };
        least.max(SLOWEST_FACTOR * self.slowest_ms.get()) as i32
    }

    pub fn workers(&self) -> usize {
        self.slots.len()
    }

    /// Run jobs `0..n` (`message(i)` builds job i's message and the buffers it transfers) on the
    /// workers; `progress(done)` after each answer. The answers in job order; Ok(None) once `alive`
    /// turns false; Err when the pool had to be given up (the caller computes on the page then).
    pub async fn run(
        &self,
        n: usize,
        message: &dyn Fn(usize) -> Result<(Object, Array), JsValue>,
        progress: &dyn Fn(usize),
        alive: &dyn Fn() -> bool,
    ) -> Result<Option<Vec<JsValue>>, String> {
        while self.busy.get() {
            web::sleep(5).await;
        }
        // Released when the run ends or is dropped (its page task cancelled).
        struct Turn<'a>(&'a Cell<bool>);
        impl Drop for Turn<'_> {
            fn drop(&mut self) {
                self.0.set(false);
            }
        }
        self.busy.set(true);
        let _turn = Turn(&self.busy);
        if !alive() {
            return Ok(None);
        }
        let state = RunState {
            answers: RefCell::new(vec![None; n]),
            next: Cell::new(0),
            done: Cell::new(0),
            failed: RefCell::new(None),
        };
        let jobs = Jobs {
            n,
            message,
            progress,
            alive,
        };
        join_all(self.slots.iter().map(|slot| self.lane(slot, &state, &jobs))).await;
        let RunState {
            answers, failed, ..
        } = state;
        if let Some(why) = failed.into_inner() {
            give_up(self.role, &why);
            return Err(why);
        }
        if !alive() {
            return Ok(None);
        }
        let answers = answers.into_inner();
        Ok(Some(
            answers
                .into_iter()
                .map(|a| a.unwrap_or(JsValue::NULL))
                .collect(),
        ))
    }

    /// One job alone (`message(0)`): its reply; Err when the pool had to be given up.
    pub async fn one(
        &self,
        message: &dyn Fn(usize) -> Result<(Object, Array), JsValue>,
    ) -> Result<JsValue, String> {
        match self.run(1, message, &|_| {}, &|| true).await? {
            Some(mut replies) => replies.pop().ok_or_else(|| "a job without a reply".into()),
            None => Err("the job was stopped".into()),
        }
    }

    /// One worker's share of a run: jobs taken in turn until none is left, one restart allowed
    /// per job.
    async fn lane(&self, slot: &Slot, state: &RunState, jobs: &Jobs<'_>) {
        let RunState {
            answers,
            next,
            done,
            failed,
        } = state;
        let Jobs {
            n,
            message,
            progress,
            alive,
        } = *jobs;
        if !slot.ready.get() {
            if let Err(e) = slot.start(self).await {
                failed.borrow_mut().get_or_insert(e);
                return;
            }
        }
        loop {
            if failed.borrow().is_some() || !alive() || next.get() >= n {
                return;
            }
            let i = next.get();
            next.set(i + 1);
            let mut tries = 0;
            loop {
                let answer = match message(i) {
                    Err(e) => Err(text(&e)),
                    Ok((msg, transfer)) => {
                        let t0 = web::now_ms();
                        let a = slot
                            .call(self.next_id(), &msg, &transfer, self.deadline_ms())
                            .await;
                        if a.is_ok() {
                            let ms = web::now_ms() - t0;
                            self.slowest_ms.set(self.slowest_ms.get().max(ms));
                        }
                        a
                    }
                };
                match answer {
                    Ok(a) => {
                        answers.borrow_mut()[i] = Some(a);
                        if self.role == Role::Device {
                            device_jobs().update(|n| *n += 1);
                        }
                        done.set(done.get() + 1);
                        progress(done.get());
                        break;
                    }
                    Err(why) if tries == 0 && alive() && lost_reason(&why).is_none() => {
                        tries += 1;
                        web_sys::console::warn_1(
                            &format!("Glassbox: restarting a worker (job {i}): {why}").into(),
                        );
                        self.restarts.update(|r| *r += 1);
                        if let Err(e) = slot.start(self).await {
                            failed.borrow_mut().get_or_insert(e);
                            return;
                        }
                    }
                    Err(why) => {
                        if alive() {
                            failed.borrow_mut().get_or_insert(why);
                        }
                        return;
                    }
                }
            }
        }
    }
}

/// A run's shared progress: answers in job order, the next job to hand out, answers so far, and
/// the first failure.
struct RunState {
    answers: RefCell<Vec<Option<JsValue>>>,
    next: Cell<usize>,
    done: Cell<usize>,
    failed: RefCell<Option<String>>,
}

/// A run's jobs, as `Pool::run` takes them.
struct Jobs<'a> {
    n: usize,
    message: &'a dyn Fn(usize) -> Result<(Object, Array), JsValue>,
    progress: &'a dyn Fn(usize),
    alive: &'a dyn Fn() -> bool,
}
