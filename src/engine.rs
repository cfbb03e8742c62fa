//! Which compute backend the page uses: WebGPU when the browser grants an adapter and a device,
//! otherwise the CPU (WebAssembly), with the reason in words. The reader can force the CPU path
//! (header control, or `backend=cpu` in the URL). A device lost mid-computation switches the page
//! to the CPU path with a notice.

use glassbox_gpu::{AdapterSummary, Compute, Gpu, GpuError};
use leptos::prelude::*;
use std::rc::Rc;

#[derive(Clone, Debug, PartialEq)]
pub enum BackendState {
    /// Still asking the browser for an adapter.
    Detecting,
    WebGpu(AdapterSummary),
    /// The CPU path, and why.
    Cpu(String),
}

impl BackendState {
    pub fn badge(&self) -> String {
        match self {
            BackendState::Detecting => "CPU (checking for WebGPU…)".into(),
            BackendState::WebGpu(a) => format!("WebGPU ({})", a.name),
            BackendState::Cpu(_) => "CPU".into(),
        }
    }
}

/// A notice about the backend: one line for the page, the technical reason behind "Details".
#[derive(Clone, Debug, PartialEq)]
pub struct BackendNotice {
    pub line: String,
    pub details: String,
}

/// Shared through context.
#[derive(Clone, Copy)]
pub struct Engine {
    pub state: RwSignal<BackendState>,
    pub force_cpu: RwSignal<bool>,
    /// A notice for the reader (fallback reasons, a lost device).
    pub notice: RwSignal<Option<BackendNotice>>,
    compute: StoredValue<Rc<Compute>, LocalStorage>,
}

impl Engine {
    pub fn new(force_cpu: bool) -> Engine {
        let e = Engine {
            state: RwSignal::new(BackendState::Detecting),
            force_cpu: RwSignal::new(force_cpu),
            notice: RwSignal::new(None),
            compute: StoredValue::new_local(Rc::new(Compute::new(None))),
        };
        e.detect();
        e
    }

    /// (Re)choose the backend: forced CPU, or try WebGPU.
    pub fn detect(self) {
        if self.force_cpu.get_untracked() {
            self.state.set(BackendState::Cpu(
                "the CPU path was chosen on this page".into(),
            ));
            self.notice.set(None);
            return;
        }
        if let Some(gpu) = self.compute.with_value(|c| c.gpu()) {
            self.state.set(BackendState::WebGpu(gpu.info.clone()));
            return;
        }
        self.state.set(BackendState::Detecting);
        leptos::task::spawn_local(async move {
            match Gpu::new().await {
                Ok(gpu) => {
                    if self.force_cpu.get_untracked() {
                        return;
                    }
                    // The device first: a computation the new state starts must find it.
                    let info = gpu.info.clone();
                    self.compute.set_value(Rc::new(Compute::new(Some(gpu))));
                    self.state.set(BackendState::WebGpu(info));
                    self.notice.set(None);
                    crate::workers::device::warm_soon();
                }
                Err(why) => {
                    self.state.set(BackendState::Cpu(why.to_string()));
                    self.notice.set(Some(BackendNotice {
                        line: "Running on the CPU: this browser offers no WebGPU.".into(),
                        details: format!("Computing on the CPU: {why}."),
                    }));
                }
            }
        });
    }

    /// Wait until the backend is chosen (the adapter request has answered), so that a computation
    /// started as the page opens does not run on the CPU only because WebGPU was still being asked.
    /// A browser that never answers gets 5 seconds; then the computation runs on the CPU.
    pub async fn settled(self) {
        for _ in 0..100 {
            if !matches!(self.state.get_untracked(), BackendState::Detecting) {
                return;
            }
            crate::web::sleep(50).await;
        }
    }

    /// The operations, on WebGPU or the CPU (forced CPU: a CPU-only `Compute`). After using it,
    /// call `check_lost` so a device lost on the way is reported.
    pub fn compute(self) -> Rc<Compute> {
        if self.force_cpu.get_untracked() {
            return Rc::new(Compute::new(None));
        }
        self.compute.with_value(|c| c.clone())
    }

    /// The GPU, when the page is using it. Finding it lost switches the page to the CPU.
    pub fn gpu(self) -> Option<Rc<Gpu>> {
        if self.force_cpu.get_untracked() {
            return None;
        }
        let gpu = self.compute.with_value(|c| c.gpu());
        self.check_lost();
        gpu
    }

    /// Tell the reader if the device was lost during a computation.
    pub fn check_lost(self) {
        if let Some(why) = self.compute.with_value(|c| c.lost()) {
            if !matches!(self.state.get_untracked(), BackendState::Cpu(_)) {
                self.report(&GpuError::DeviceLost(why));
            }
        }
    }

    /// Report why the device worker's pool was given up (`Pool::run`'s error): a lost device
    /// switches the page to the CPU; any other failure leaves the page to drive the GPU itself.
    pub fn report_device_worker(self, why: &str) {
        if let Some(why) = crate::workers::pool::lost_reason(why) {
            self.report(&GpuError::DeviceLost(why));
        }
    }

    /// Report a failed GPU call: a lost device (the page's, or the device worker's) switches the
    /// page to the CPU path with a notice.
    pub fn report(self, e: &GpuError) {
        if let GpuError::DeviceLost(why) = e {
            // The page's own device may still work; the page stays on the CPU all the same.
            self.compute.set_value(Rc::new(Compute::new(None)));
            self.state.set(BackendState::Cpu(format!(
                "the WebGPU device was lost ({why})"
            )));
            self.notice.set(Some(BackendNotice {
                line: "The WebGPU device was lost: Glassbox finishes on the CPU.".into(),
                details: format!(
                    "The WebGPU device was lost ({why}); Glassbox switched to the CPU and finishes the computation there."
                ),
            }));
        }
    }
}
