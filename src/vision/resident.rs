//! Where fine-tuning keeps the image network while it trains on WebGPU: in a session on the device
//! worker (`workers::device_train`) where the page has one, so the page's thread neither records
//! nor waits for the steps, else on the page's own device. Both run `GpuNetwork::train_step` on
//! the same adapter, so the losses and weights are the same bit for bit.

use crate::engine::Engine;
use crate::workers::device::Held;
use crate::workers::device_train::{self, Sgd};
use crate::workers::pool::{self, Pool};
use glassbox_gpu::{Gpu, GpuError, GpuNetwork};
use glassbox_lab::compress::prune::Masks;
use glassbox_lab::vision::network::Network;
use js_sys::{Array, Object};
use std::rc::Rc;
use wasm_bindgen::JsValue;

/// The network resident on a device.
#[derive(Clone)]
pub enum Resident {
    /// On the page's own device.
    Page(Rc<Gpu>, Rc<GpuNetwork>),
    /// In a session on the device worker (`device_train`).
    Worker(Rc<Held>),
}

/// Why a resident network stopped answering.
pub enum Failure {
    /// The page's device failed.
    Gpu(GpuError),
    /// The device worker failed (`Pool::run`'s error: its device lost, or the worker stopped).
    Worker(String),
    /// The device worker no longer has the session (restarted, or the pool was given up).
    Gone,
}

impl Failure {
    /// Tell the page: a lost device switches it to the CPU.
    pub fn report(&self, engine: Engine) {
        match self {
            Failure::Gpu(e) => engine.report(e),
            Failure::Worker(why) => engine.report_device_worker(why),
            Failure::Gone => {}
        }
    }

    /// What the status says happened, and where the run goes on.
    pub fn status(&self) -> String {
        let from = "from the last weights copied back";
        match self {
            Failure::Gpu(e) => format!("WebGPU failed ({e}); continuing on the CPU {from}."),
            Failure::Worker(why) => match pool::lost_reason(why) {
                Some(r) => format!(
                    "The WebGPU worker's device was lost ({r}); continuing on the CPU {from}."
                ),
                None => format!("The WebGPU worker stopped ({why}); continuing {from}."),
            },
            Failure::Gone => format!("The WebGPU worker lost the network; continuing {from}."),
        }
    }
}

/// One job on the device pool: its reply, or why there is none.
async fn one_job(
    pool: &Pool,
    message: &dyn Fn(usize) -> Result<(Object, Array), JsValue>,
) -> Result<JsValue, Failure> {
    pool.one(message).await.map_err(Failure::Worker)
}

impl Resident {
    /// Put `net` (with its keep-masks) on the device worker, or, without one (or with
    /// `page_only`), on the page's own device (opened now if it has none).
    pub async fn open(
        engine: Engine,
        net: &Network,
        masks: Option<&Masks>,
        page_only: bool,
    ) -> Result<Resident, Failure> {
        if let Some(device) = pool::device_pool().filter(|_| !page_only) {
            let held = Held::new(device_train::release_message);
            let message = |_| device_train::open_message(held.id(), net, masks);
            match one_job(&device, &message).await {
                Ok(_) => return Ok(Resident::Worker(Rc::new(held))),
                // A lost device: the page goes to the CPU; else the page's device takes over.
                Err(Failure::Worker(why)) if pool::lost_reason(&why).is_some() => {
                    return Err(Failure::Worker(why))
                }
                Err(_) => {}
            }
        }
        let gpu = engine
            .page_gpu()
            .await
            .ok_or_else(|| Failure::Gpu(GpuError::Failed("no WebGPU device is left".into())))?;
        let resident = gpu.upload(net).map_err(Failure::Gpu)?;
        if let Some(m) = masks {
            resident.set_masks(&gpu, &m.0).await.map_err(Failure::Gpu)?;
        }
        Ok(Resident::Page(gpu, Rc::new(resident)))
    }

    /// One SGD step on the batch `(x, labels)`: its loss and how many images it classified right.
    pub async fn step(&self, x: &[f32], labels: &[u32], sgd: Sgd) -> Result<(f32, usize), Failure> {
        match self {
            Resident::Page(gpu, net) => net
                .train_step(gpu, x, labels, sgd.lr, sgd.momentum, sgd.weight_decay)
                .await
                .map_err(Failure::Gpu),
            Resident::Worker(s) => {
                let device = pool::device_pool().ok_or(Failure::Gone)?;
                let message = |_| device_train::step_message(s.id(), x, labels, sgd);
                let reply = one_job(&device, &message).await?;
                device_train::stepped(&reply)
                    .map_err(Failure::Worker)?
                    .ok_or(Failure::Gone)
            }
        }
    }

    /// The network as it is now on the device.
    pub async fn download(&self) -> Result<Network, Failure> {
        match self {
            Resident::Page(gpu, net) => net.download(gpu).await.map_err(Failure::Gpu),
            Resident::Worker(s) => {
                let device = pool::device_pool().ok_or(Failure::Gone)?;
                let reply = one_job(&device, &|_| device_train::weights_message(s.id())).await?;
                device_train::weights_of(&reply)
                    .map_err(Failure::Worker)?
                    .ok_or(Failure::Gone)
            }
        }
    }
}
