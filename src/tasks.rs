//! A page's background work: tasks cancelled when the page changes, and long computations run in
//! slices of about 20 ms with the browser given control between slices, so the page never freezes.

use leptos::prelude::*;

/// The current run of a repeatable computation (a measurement, a scan, an evaluation): starting a
/// new run, or stopping, makes every earlier run's `alive` check false, so a stale task ends at its
/// next check instead of writing over the new one's results.
#[derive(Clone, Copy)]
pub struct Generation(StoredValue<u64, LocalStorage>);

impl Generation {
    pub fn new() -> Self {
        Generation(StoredValue::new_local(0))
    }

    /// Start a run; the check it returns stays true until the next `start` or `stop`.
    pub fn start(self) -> impl Fn() -> bool + Copy + 'static {
        let run = self.start_run();
        move || run.alive()
    }

    /// `start`, as a value that can be handed on (to a function that starts more work of the run).
    pub fn start_run(self) -> Run {
        self.0.update_value(|g| *g += 1);
        self.current()
    }

    /// The run under way now.
    pub fn current(self) -> Run {
        Run(self, self.0.get_value())
    }

    /// End the current run.
    pub fn stop(self) {
        self.0.update_value(|g| *g += 1);
    }
}

/// One run of a `Generation`.
#[derive(Clone, Copy)]
pub struct Run(Generation, u64);

impl Run {
    /// Whether no later run has started and the run was not stopped.
    pub fn alive(self) -> bool {
        self.0 .0.get_value() == self.1
    }
}

impl Default for Generation {
    fn default() -> Self {
        Self::new()
    }
}

thread_local! {
    static PAGE_TASKS: std::cell::RefCell<Vec<futures::future::AbortHandle>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Spawn a page's background computation. Leaving the page (or opening it again with other
/// parameters) cancels it with `abort_page_tasks`, so it never touches the signals of a page
/// that is gone.
pub fn spawn_page_task(task: impl std::future::Future<Output = ()> + 'static) {
    // Boxed here, so what follows is compiled once, not once per task (the download's size).
    spawn_boxed(Box::pin(task));
}

fn spawn_boxed(task: std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>) {
    let (handle, registration) = futures::future::AbortHandle::new_pair();
    PAGE_TASKS.with(|t| {
        let mut t = t.borrow_mut();
        t.retain(|h| !h.is_aborted());
        t.push(handle);
    });
    leptos::task::spawn_local(async move {
        let _ = futures::future::Abortable::new(task, registration).await;
    });
}

/// Cancel every page task (the app calls this before it shows another page).
pub fn abort_page_tasks() {
    PAGE_TASKS.with(|t| t.borrow_mut().drain(..).for_each(|h| h.abort()));
}

/// Run `work` in slices of about `slice_ms` milliseconds of computation, yielding to the browser
/// between slices, until it reports `Slice::Idle` or `alive` turns false. The first slice starts
/// in a task of its own: started from a click, it would otherwise share the click's task with the
/// click's own updates (a 51 ms click in CI, session 33).
pub async fn run_in_slices(work: &mut dyn FnMut(f64) -> Slice, alive: &dyn Fn() -> bool) {
    crate::web::sleep(0).await;
    loop {
        if !alive() {
            return;
        }
        let deadline = crate::web::now_ms() + SLICE_MS;
        match work(deadline) {
            Slice::Idle => return,
            Slice::Continue => crate::web::sleep(0).await,
            Slice::Wait(ms) => crate::web::sleep(ms).await,
        }
    }
}

/// Computation per slice; the page must never freeze for more than about 100 ms, and aims at 50
/// (a slice's task also holds its last unit of work and the page's updates; with 30 ms slices
/// those tasks reached 55-68 ms).
pub const SLICE_MS: f64 = 20.0;

pub enum Slice {
    /// More to do right away.
    Continue,
    /// More to do after a pause (the reader chose a slow speed).
    Wait(i32),
    /// Nothing to do until the reader asks.
    Idle,
}

thread_local! {
    /// When the page's thread last went back to the browser through `breathe`.
    static LAST_BREATH: std::cell::Cell<f64> = const { std::cell::Cell::new(0.0) };
    /// When `breathe` was last called (the work since is the guess at the next step's).
    static LAST_CALL: std::cell::Cell<f64> = const { std::cell::Cell::new(0.0) };
}

/// Yield to the browser if this thread, computing since it last did so here, would pass
/// `SLICE_MS` with one more step as long as the last (no step starts that the last one says would
/// end past the slice): for loops of many short steps (a character, an answer) that no single
/// step would yield in.
pub async fn breathe() {
    let now = crate::web::now_ms();
    let last = LAST_BREATH.get();
    let step = (now - LAST_CALL.get()).min(SLICE_MS);
    LAST_CALL.set(now);
    if now - last + step > SLICE_MS {
        crate::web::sleep(0).await;
        let after = crate::web::now_ms();
        LAST_BREATH.set(after);
        LAST_CALL.set(after);
    } else if last == 0.0 {
        LAST_BREATH.set(now);
    }
}

/// `n` standard normal draws from `rng`, in slices (the same numbers as drawn at once): random
/// inputs of a timing, where 600,000 draws at once (attention at 896 pixels) would be a task of
/// 40-100 ms on a 2-core machine, and two 1024 x 1024 matrices twice that. It yields after every
/// 16,384 draws (2-3 ms), not a whole slice: on a page as long as the Benchmarks appendix the
/// frame after a slice also lays the page out (about 30 ms), and a 20 ms slice with it made a
/// task of 50-80 ms (session 36).
pub async fn normals(rng: &mut glassbox_lab::rng::Rng, n: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let m = (n - out.len()).min(1 << 14);
        out.extend((0..m).map(|_| rng.normal() as f32));
        crate::web::sleep(0).await;
    }
    out
}
