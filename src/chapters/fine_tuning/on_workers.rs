//! The worker paths of a fine-tuning run (`runner::drive`): the tuner's units that need no answer
//! before them, packed, as jobs for the CPU pool (`tune`) or the device worker (`gpu-tune`), and
//! the answers given back to the tuner in order, so a run equals the page's own to the bit.

use super::runner::Job;
use crate::tasks::SLICE_MS;
use crate::web;
use crate::workers::job;
use crate::workers::pool::Pool;
use glassbox_lab::shift::work::{Packed, Work};
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
    alive: &impl Fn() -> bool,
    report: &mut impl FnMut(&Job),
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
        let works = tuner.works_ahead(max);
        // The network as bytes, made again only after it changed (and only for work to send).
        let bytes = match cached {
            Some((v, b)) if v == tuner.version() || works.is_empty() => Some((v, b)),
            _ if works.is_empty() => None,
            _ => Some((tuner.version(), Rc::new(tuner.network().to_bytes()))),
        };
        let (mut given_up, mut stopped) = (None, false);
        if works.is_empty() {
            // Drawing shifted images, batch-norm statistics (a unit is one convolution of a whole
            // batch): this thread, a slice's worth, with no unit started that the last one's time
            // says would end past the slice.
            let mut last = 0.0;
            while !tuner.needs_work() && !tuner.done() && web::now_ms() + last < t0 + SLICE_MS {
                let start = web::now_ms();
                tuner.step();
                last = web::now_ms() - start;
            }
        } else if let Some((_, net)) = &bytes {
            let per_job = works.len().div_ceil(pool.workers());
            let groups: Vec<&[Work]> = works.chunks(per_job).collect();
            let packed = groups
                .iter()
                .map(|g| Packed::new(g))
                .collect::<Result<Vec<_>, _>>();
            let tensors = tuner.tensors().to_vec();
            let message = |i: usize| match &packed {
                Ok(p) => job::tune_message(on_device, net, &tensors, &p[i]),
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
            j.times.add(phase, web::now_ms() - t0);
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
