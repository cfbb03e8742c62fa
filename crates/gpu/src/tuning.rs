//! A fine-tuning run (`glassbox_lab::shift::Tuner`) with its heavy arithmetic on the GPU: the
//! tuner hands out `Work` (the frozen prefix of a chunk of images, the correct answers of a chunk,
//! a chunk's gradients of the tuned tensors) and this answers it with the network held on the
//! device, in chunks of `GPU_CHUNK` images (a whole batch of the paper's 64 per call). The tuner
//! keeps the protocol, the optimiser (Adam on the CPU: a few hundred thousand numbers per batch at
//! most) and the bookkeeping, so a run's results are the CPU run's within float rounding. The
//! device copy follows the tuner's network: when `Tuner::version` moves, the tuned tensors are
//! written again (or, when `Tuner::frozen_version` moved too, the whole network is uploaded).

use crate::{Gpu, GpuError, GpuNetwork};
use glassbox_lab::shift::work::{Answer, Work};
use glassbox_lab::shift::Tuner;
use glassbox_lab::vision::nn::count_correct;

/// Images per GPU call.
pub const GPU_CHUNK: usize = 64;

/// A tuner's network on the device.
pub struct GpuTuning {
    net: GpuNetwork,
    version: u64,
    frozen_version: u64,
}

impl GpuTuning {
    /// Upload the tuner's network as it stands, and set the tuner to GPU-sized chunks.
    pub fn new(gpu: &Gpu, tuner: &mut Tuner) -> Result<GpuTuning, GpuError> {
        tuner.set_chunk(GPU_CHUNK);
        Ok(GpuTuning {
            net: gpu.upload(tuner.network())?,
            version: tuner.version(),
            frozen_version: tuner.frozen_version(),
        })
    }

    /// Do the tuner's next unit, its arithmetic on the device; Ok(false) once the run is done.
    pub async fn step(&mut self, gpu: &Gpu, tuner: &mut Tuner) -> Result<bool, GpuError> {
        let Some(work) = tuner.work() else {
            return Ok(tuner.step());
        };
        if tuner.version() != self.version {
            if tuner.frozen_version() != self.frozen_version {
                self.net = gpu.upload(tuner.network())?;
                self.frozen_version = tuner.frozen_version();
            } else {
                self.net
                    .write_tensors(gpu, tuner.network(), tuner.tensors())?;
            }
            self.version = tuner.version();
        }
        let classes = tuner.network().classes();
        let answer = answer_work(&self.net, gpu, &work, tuner.tensors(), classes).await?;
        Ok(tuner.answer(Some(answer)))
    }
}

/// One unit of work answered on the device by a network `net` that holds the tuner's current
/// network (`tensors`: the tuned ones). A device worker answers a page's works with it, so its
/// answers equal `GpuTuning::step`'s.
pub async fn answer_work(
    net: &GpuNetwork,
    gpu: &Gpu,
    work: &Work,
    tensors: &[glassbox_lab::shift::Tensor],
    classes: usize,
) -> Result<Answer, GpuError> {
    Ok(match work {
        Work::Prefix { first, x, n } => Answer::Acts(net.prefix(gpu, *first, x, *n).await?),
        Work::Correct { first, act, labels } => {
            let logits = net.logits_from(gpu, *first, act, labels.len()).await?;
            Answer::Correct(count_correct(&logits, labels, classes))
        }
        Work::Grads {
            first,
            act,
            labels,
            batch,
            ..
        } => {
            let (loss, grads) = net
                .suffix_grads(gpu, *first, tensors, act, labels, *batch)
                .await?;
            Answer::Grads(loss, grads)
        }
    })
}
