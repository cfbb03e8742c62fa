//! Computation off the page's thread: a pool of Web Workers, each running this same wasm module
//! (posted to it compiled, so nothing is downloaded or compiled twice), that take jobs split by the
//! problem (never by the number of workers) and answer them in any order; the page puts the answers
//! back in job order, so a result is the same bit for bit as the single-thread run's. A worker that
//! fails, or stays silent past its deadline, is restarted and its job run again; when that fails too
//! the page computes on its own thread, in slices, with a notice.
//!
//! One more worker owns a WebGPU device where the browser offers it (the device pool): the page
//! posts it the jobs that run on the GPU, so the page's thread neither records nor waits for them.
//!
//! - `pool`: the page's side (starting, feeding and restarting workers).
//! - `job`: what a worker computes, and the worker's entry point; `maml`: chapter 1's evaluation
//!   curves, an entry (value of n) per job, and its meta-training, a run of steps per job.
//! - `device`: what the device worker computes on its GPU; `device_train`: the network it keeps
//!   on its device while the page fine-tunes it; `device_lm`: language-model readings there;
//!   `device_ops`: single operations there (attention, Under the hood's kernels, latency).

pub mod device;
pub mod device_lm;
pub mod device_ops;
pub mod device_train;
pub mod job;
pub mod maml;
pub mod pool;

/// Where a computation runs, for a status line: " on 1 worker in the background" (`Some(1)`), or
/// "" on the page's thread (`None`).
pub fn place(workers: Option<usize>) -> String {
    workers
        .map(|n| format!(" on {} in the background", named(n)))
        .unwrap_or_default()
}

/// "1 worker", "3 workers".
pub fn named(n: usize) -> String {
    match n {
        1 => "1 worker".into(),
        n => format!("{n} workers"),
    }
}
