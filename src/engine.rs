//! Which compute backend the page uses: WebGPU when the browser grants an adapter and a device
//! (one per page: the device worker's, which runs the page's GPU work; the page opens its own only
//! without that worker, or to compare with it), otherwise the CPU (WebAssembly), with the reason
//! in words. The reader can force the CPU path
//! (header control, or `backend=cpu` in the URL). A device lost mid-computation switches the page
//! to the CPU path with a notice.

use crate::var::Var;
use glassbox_gpu::{AdapterSummary, Compute, Gpu, GpuError, GpuUnavailable, KernelSources};
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
    pub state: Var<BackendState>,
    pub force_cpu: Var<bool>,
    /// A notice for the reader (fallback reasons, a lost device).
    pub notice: Var<Option<BackendNotice>>,
    /// The operations on the page's own device, once it has one (else the CPU's).
    compute: StoredValue<Rc<Compute>, LocalStorage>,
    /// The page's own device is being asked for (one request at a time).
    opening: StoredValue<bool>,
    /// The adapter the page computes on (the device worker's or the page's own), once found.
    adapter: StoredValue<Option<AdapterSummary>>,
}

impl Engine {
    pub fn new(force_cpu: bool) -> Engine {
        let e = Engine {
            state: Var::new(BackendState::Detecting),
            force_cpu: Var::new(force_cpu),
            notice: Var::new(None),
            compute: StoredValue::new_local(Rc::new(Compute::new(None))),
            opening: StoredValue::new(false),
            adapter: StoredValue::new(None),
        };
        e.detect();
        e
    }

    /// (Re)choose the backend: forced CPU, or try WebGPU: the device worker's device (one device
    /// per page: the page's GPU work runs there), else the page's own.
    pub fn detect(self) {
        if self.force_cpu.get_untracked() {
            self.state.set(BackendState::Cpu(
                "the CPU path was chosen on this page".into(),
            ));
            self.notice.set(None);
            return;
        }
        if let Some(adapter) = self.adapter.get_value() {
            self.state.set(BackendState::WebGpu(adapter));
            return;
        }
        self.state.set(BackendState::Detecting);
        leptos::task::spawn_local(async move {
            let found = self.find_device().await;
            if self.force_cpu.get_untracked() {
                return;
            }
            match found {
                Ok(adapter) => {
                    self.adapter.set_value(Some(adapter.clone()));
                    self.state.set(BackendState::WebGpu(adapter));
                    self.notice.set(None);
                }
                Err(why) => {
                    let line = match why {
                        GpuUnavailable::NoWebGpu | GpuUnavailable::NoAdapter(_) => {
                            "Running on the CPU: this browser offers no WebGPU."
                        }
                        _ => "Running on the CPU: WebGPU could not be started.",
                    };
                    let why = why.to_string();
                    self.state.set(BackendState::Cpu(why.clone()));
                    self.notice.set(Some(BackendNotice {
                        line: line.into(),
                        details: format!("Computing on the CPU: {why}."),
                    }));
                }
            }
        });
    }

    /// The adapter to compute on: the device worker's (its device started now, so the first
    /// computation finds it), else the page's own device's; Err: why there is none.
    async fn find_device(self) -> Result<AdapterSummary, GpuUnavailable> {
        if !glassbox_gpu::webgpu_offered() {
            return Err(GpuUnavailable::NoWebGpu);
        }
        match crate::workers::device::start().await {
            Some(Ok(adapter)) => return Ok(adapter),
            // WebGPU on the page but not in its worker: the page drives the GPU itself.
            Some(Err(why)) => crate::workers::pool::give_up_device(&why),
            // No device worker (its notice says why).
            None => {}
        }
        self.open_page_device().await
    }

    /// Open the page's own device (one request at a time; a second caller waits for the first).
    async fn open_page_device(self) -> Result<AdapterSummary, GpuUnavailable> {
        while self.opening.get_value() {
            crate::web::sleep(20).await;
        }
        if let Some(gpu) = self.compute.with_value(|c| c.gpu()) {
            return Ok(gpu.info.clone());
        }
        self.opening.set_value(true);
        let gpu = open_gpu().await;
        self.opening.set_value(false);
        let gpu = gpu?;
        let adapter = gpu.info.clone();
        self.compute.set_value(Rc::new(Compute::new(Some(gpu))));
        Ok(adapter)
    }

    /// Wait until the backend is chosen (the adapter request has answered), so that a computation
    /// started as the page opens does not run on the CPU only because WebGPU was still being asked.
    /// A browser that never answers gets 10 seconds; then the computation runs on the CPU.
    pub async fn settled(self) {
        for _ in 0..200 {
            if !matches!(self.state.get_untracked(), BackendState::Detecting) {
                return;
            }
            crate::web::sleep(50).await;
        }
    }

    /// Whether the page computes on WebGPU (the device worker's device, else its own). Finding the
    /// page's own device lost switches the page to the CPU.
    pub fn on_webgpu(self) -> bool {
        if self.force_cpu.get_untracked() {
            return false;
        }
        self.check_lost();
        matches!(self.state.get_untracked(), BackendState::WebGpu(_))
    }

    /// The adapter's name when the page computes on WebGPU.
    pub fn webgpu_adapter(self) -> Option<String> {
        match self.state.get_untracked() {
            BackendState::WebGpu(a) if self.on_webgpu() => Some(a.name),
            _ => None,
        }
    }

    /// The operations on the page's own device (opened now if the page computes on WebGPU and has
    /// none yet), or on the CPU. After using it, call `check_lost` so a device lost on the way is
    /// reported.
    pub async fn compute(self) -> Rc<Compute> {
        if self.page_gpu().await.is_none() {
            return Rc::new(Compute::new(None));
        }
        self.compute.with_value(|c| c.clone())
    }

    /// The page's own device, when the page computes on WebGPU: opened at the first ask (the
    /// device worker computes while it works; the page needs its own only without it, or to
    /// compare with it). A device found lost, or one that cannot be opened without the device
    /// worker, switches the page to the CPU with a notice.
    pub async fn page_gpu(self) -> Option<Rc<Gpu>> {
        if !self.on_webgpu() {
            return None;
        }
        if let Err(why) = self.open_page_device().await {
            // Without the device worker the page has no WebGPU left (beside it, only a comparison
            // goes without).
            if crate::workers::pool::device_pool().is_none() {
                self.report(&GpuError::DeviceLost(format!(
                    "the page could not open a device of its own: {why}"
                )));
            }
            return None;
        }
        let gpu = self.compute.with_value(|c| c.gpu());
        self.check_lost();
        gpu
    }

    /// The page's own device if it has opened one (not opening one).
    pub fn page_device(self) -> Option<Rc<Gpu>> {
        self.compute.with_value(|c| c.gpu())
    }

    /// Tell the reader if the page's own device was lost during a computation.
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
            self.adapter.set_value(None);
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

/// The WGSL kernels, beside index.html (crates/pack's `kernel-pack`, Trunk's hook).
const KERNELS_FILE: &str = "kernels.txt";

/// Open a WebGPU device with the kernels file, which is fetched only here (by the device worker,
/// or by the page when it drives the GPU itself) once a device is granted: a reader without WebGPU
/// never downloads it.
pub async fn open_gpu() -> Result<Gpu, GpuUnavailable> {
    Gpu::open(|| async {
        let file = crate::web::fetch_text_fresh(KERNELS_FILE).await?;
        KernelSources::parse(&file).map_err(|e| format!("{KERNELS_FILE}: {e}"))
    })
    .await
}
