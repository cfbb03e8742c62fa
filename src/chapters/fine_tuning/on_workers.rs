//! The worker paths of a fine-tuning run (`runner::drive`): the tuner's units that need no answer
//! before them, packed, as jobs for the CPU pool (`tune`, cut where groups of gradient chunks end:
//! `work::split`) or the device worker (`gpu-tune`), and the answers given back to the tuner in
//! order, so a run equals the page's own to the bit.

use super::runner::Job;
use crate::tasks::SLICE_MS;
use crate::web;
use crate::workers::job;
use crate::workers::pool::Pool;
use glassbox_lab::shift::blocks::gather;
use glassbox_lab::shift::tuner::{PhaseTimes, Tuner};
use glassbox_lab::shift::work::{split, Packed};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::JsValue;

/// Units per worker job: a batch of 64 images is 16 chunks.
const CHUNKS_PER_JOB: usize = 16;

/// The worker path: runs of units computed on the pool (`on_device`: the device worker's GPU), a
/// job per worker, answered in order; the units without work run here in a slice. Err (why) when
/// the pool was given up (the job keeps its place and the page goes on without it).
pub(super) async fn drive_workers(
    job: &Rc<RefCell<Job>>,
    pool: &Pool,
    on_device: bool,
    alive: &dyn Fn() -> bool,
    report: &mut dyn FnMut(&Job),
) -> Result<bool, String> {
    loop {
        if !alive() {
            return Ok(false);
        }
        let (tuner, cached) = {
            let mut j = job.borrow_mut();
            (j.tuner.take(), j.net_bytes.take())
        };
        let Some(mut tuner) = tuner else {
            return Ok(false);
        };
        let (phase, t0) = (tuner.phase_name(), web::now_ms());
        // The device takes a unit (`GPU_CHUNK` images, one submission) per job, as the page's
        // own GPU path does; its activations alone can be tens of megabytes.
        let max = if on_device {
            1
        } else {
            CHUNKS_PER_JOB * pool.workers()
        };
        // The head alone is a 512 x 10 product an image: this thread computes it in slices
        // rather than send the network with every batch (the device keeps its own path).
        let here = |t: &Tuner| !t.needs_work() || (t.head_only() && !on_device);
        let works = if here(&tuner) {
            Vec::new()
        } else {
            tuner.works_ahead(max)
        };
        // The network as bytes, made again only after it changed outside its tuned tensors (and
        // only for work to send): an optimiser step changes only the tuned tensors, whose values
        // go with every job.
        let bytes = match cached {
            Some((v, b)) if v == tuner.frozen_version() || works.is_empty() => Some((v, b)),
            _ if works.is_empty() => None,
            _ => Some((tuner.frozen_version(), Rc::new(tuner.network().to_bytes()))),
        };
        let (mut given_up, mut stopped) = (None, false);
        if works.is_empty() {
            // Drawing shifted images, batch-norm statistics (a unit is one image's convolution, or
            // the rest of a block on the whole batch), the head: this thread, a slice's worth, with
            // no unit started that the last one's time says would end past the slice.
            // Each unit's time goes to its own phase (a slice of the head's can span several).
            let (mut last, mut times) = (0.0, PhaseTimes::default());
            while here(&tuner) && !tuner.done() && web::now_ms() + last < t0 + SLICE_MS {
                let start = web::now_ms();
                tuner.step_timed(&web::now_ms, &mut times);
                last = web::now_ms() - start;
            }
            job.borrow_mut().times.add_all(&times);
        } else if let Some((_, net)) = &bytes {
            let groups = split(&works, pool.workers());
            let packed = groups
                .iter()
                .map(|g| Packed::new(g))
                .collect::<Result<Vec<_>, _>>();
            let tensors = tuner.tensors().to_vec();
            let tuned = gather(tuner.network(), &tensors);
            let message = |i: usize| match &packed {
                Ok(p) => job::tune_message(on_device, net, &tensors, &tuned, &p[i]),
                Err(e) => Err(JsValue::from_str(e)),
            };
            match pool.run(groups.len(), &message, &|_| {}, &|| alive()).await {
                Ok(Some(replies)) => {
                    // A batch's gradients of every tensor are megabytes to add: the page's thread
                    // yields between answers once a slice's time is spent.
                    let mut since = web::now_ms();
                    let kind = packed.as_ref().map(|p| p[0].kind).unwrap_or(0);
                    for (reply, g) in replies.iter().zip(&groups) {
                        let answers = match job::tune_of(reply, kind, g.len(), tensors.len()) {
                            Ok(a) => a,
                            Err(e) => {
                                tuner.error = Some(e);
                                break;
                            }
                        };
                        for a in answers {
                            tuner.answer(Some(a));
                            if web::now_ms() > since + SLICE_MS {
                                web::sleep(0).await;
                                since = web::now_ms();
                            }
                        }
                    }
                }
                // Stopped: the tuner keeps its place (the answers were not taken).
                Ok(None) => stopped = true,
                Err(why) => given_up = Some(why),
            }
        }
        let more = !tuner.done() && tuner.error.is_none();
        {
            let mut j = job.borrow_mut();
            if !works.is_empty() {
                j.times.add(phase, web::now_ms() - t0);
            }
            j.net_bytes = bytes;
            j.tuner = Some(tuner);
            if given_up.is_none() && !stopped {
                j.ran = if on_device { "WebGPU" } else { "CPU workers" };
                report(&j);
            }
        }
        match (given_up, stopped, more) {
            (Some(why), _, _) => return Err(why),
            (_, true, _) => return Ok(false),
            (_, _, false) => return Ok(true),
            _ => web::sleep(0).await,
        }
    }
}
