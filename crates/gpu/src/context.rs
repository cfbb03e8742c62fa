//! Adapter and device set-up, buffers, and asynchronous read-back.

use crate::ops::KernelSources;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use wgpu::util::DeviceExt;

/// Why the GPU path is not available; the page says this in words and uses the CPU instead.
#[derive(Clone, Debug, PartialEq)]
pub enum GpuUnavailable {
    /// The browser has no `navigator.gpu`.
    NoWebGpu,
    /// No adapter was granted.
    NoAdapter(String),
    /// The kernels file could not be fetched or read (the browser's copy; natively it is built in).
    Kernels(String),
    /// The adapter refused to create a device.
    DeviceRefused(String),
}

impl fmt::Display for GpuUnavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GpuUnavailable::NoWebGpu => {
                write!(f, "this browser does not offer WebGPU (no navigator.gpu)")
            }
            GpuUnavailable::NoAdapter(e) => write!(f, "no GPU adapter was granted ({e})"),
            GpuUnavailable::Kernels(e) => write!(f, "the kernels file could not be used ({e})"),
            GpuUnavailable::DeviceRefused(e) => {
                write!(f, "the GPU adapter refused to create a device ({e})")
            }
        }
    }
}

/// A failure while running a kernel.
#[derive(Clone, Debug, PartialEq)]
pub enum GpuError {
    /// The device was lost (driver reset, tab in the background too long, ...).
    DeviceLost(String),
    /// Bad arguments (shapes that do not match the data).
    Invalid(String),
    /// Validation or out-of-memory error reported by wgpu, or a failed read-back.
    Failed(String),
}

impl fmt::Display for GpuError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GpuError::DeviceLost(e) => write!(f, "the GPU device was lost: {e}"),
            GpuError::Invalid(e) => write!(f, "{e}"),
            GpuError::Failed(e) => write!(f, "GPU computation failed: {e}"),
        }
    }
}

impl std::error::Error for GpuError {}

/// What the reader's adapter is, for the badge and the "Under the hood" appendix.
#[derive(Clone, Debug, PartialEq)]
pub struct AdapterSummary {
    pub name: String,
    pub backend: String,
    pub device_type: String,
    pub driver: String,
    pub max_buffer_size: u64,
    pub max_storage_buffer_binding_size: u64,
    pub max_compute_workgroup_storage_size: u32,
    pub max_compute_invocations_per_workgroup: u32,
}

/// An open device with the engine's pipelines.
pub struct Gpu {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    pub info: AdapterSummary,
    pub(crate) lost: Arc<AtomicBool>,
    pub(crate) lost_reason: Arc<std::sync::Mutex<String>>,
    pub(crate) kernels: crate::ops::Kernels,
    /// Held from a submission until its results are read back: two computations running at once
    /// (the page does this) must not interleave their validation error scopes, which are a stack.
    pub(crate) in_flight: futures_util::lock::Mutex<()>,
}

impl Gpu {
    /// `open` with the kernels compiled in (the CLI and the tests). Natively this uses any backend
    /// wgpu finds (set `WGPU_BACKEND=vulkan` and `VK_DRIVER_FILES` to pick lavapipe). The book
    /// does not call it: its download would carry every kernel (`open` with the fetched file).
    pub async fn new() -> Result<Gpu, GpuUnavailable> {
        Gpu::open(|| async { Ok(KernelSources::built_in()) }).await
    }

    /// Request an adapter and a device, and compile the kernels on it; in the browser, WebGPU.
    /// `kernels` is asked for only once a device is granted (the browser fetches them then).
    pub async fn open<F>(kernels: impl FnOnce() -> F) -> Result<Gpu, GpuUnavailable>
    where
        F: std::future::Future<Output = Result<KernelSources, String>>,
    {
        #[cfg(target_arch = "wasm32")]
        {
            let has_gpu = web_sys_has_gpu();
            if !has_gpu {
                return Err(GpuUnavailable::NoWebGpu);
            }
        }
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                ..Default::default()
            })
            .await
            .map_err(|e| GpuUnavailable::NoAdapter(e.to_string()))?;
        let info = adapter.get_info();
        let limits = adapter.limits();
        // The kernels bind up to 5 storage buffers; WebGPU guarantees 8.
        if limits.max_storage_buffers_per_shader_stage < 5 {
            return Err(GpuUnavailable::DeviceRefused(format!(
                "the adapter allows only {} storage buffers per shader stage",
                limits.max_storage_buffers_per_shader_stage
            )));
        }
        let required_limits = wgpu::Limits {
            max_buffer_size: limits.max_buffer_size,
            max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size,
            max_storage_buffers_per_shader_stage: limits
                .max_storage_buffers_per_shader_stage
                .min(8),
            ..wgpu::Limits::downlevel_defaults()
        };
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("glassbox"),
                required_limits,
                ..Default::default()
            })
            .await
            .map_err(|e| GpuUnavailable::DeviceRefused(e.to_string()))?;
        let lost = Arc::new(AtomicBool::new(false));
        let lost_reason = Arc::new(std::sync::Mutex::new(String::new()));
        {
            let (lost, reason) = (lost.clone(), lost_reason.clone());
            device.set_device_lost_callback(move |r, msg| {
                lost.store(true, Ordering::SeqCst);
                if let Ok(mut s) = reason.lock() {
                    *s = format!("{r:?}: {msg}");
                }
            });
        }
        let summary = AdapterSummary {
            name: if info.name.is_empty() {
                "unnamed adapter".into()
            } else {
                info.name.clone()
            },
            backend: format!("{:?}", info.backend),
            device_type: format!("{:?}", info.device_type),
            driver: format!("{} {}", info.driver, info.driver_info)
                .trim()
                .to_string(),
            max_buffer_size: limits.max_buffer_size,
            max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size as u64,
            max_compute_workgroup_storage_size: limits.max_compute_workgroup_storage_size,
            max_compute_invocations_per_workgroup: limits.max_compute_invocations_per_workgroup,
        };
        // Errors not caught by a scope must never panic the page: remember them instead (every
        // call checks its own scope, so a failed kernel still reports its error).
        device.on_uncaptured_error(Arc::new(|e: wgpu::Error| {
            #[cfg(not(target_arch = "wasm32"))]
            eprintln!("uncaptured GPU error: {e}");
            #[cfg(target_arch = "wasm32")]
            let _ = e;
        }));
        let sources = kernels().await.map_err(GpuUnavailable::Kernels)?;
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let kernels = crate::ops::Kernels::new(&device, &sources);
        if let Some(e) = scope.pop().await {
            return Err(GpuUnavailable::DeviceRefused(format!(
                "the engine's kernels were rejected: {e}"
            )));
        }
        let kernels = kernels.map_err(GpuUnavailable::Kernels)?;
        Ok(Gpu {
            device,
            queue,
            info: summary,
            lost,
            lost_reason,
            kernels,
            in_flight: futures_util::lock::Mutex::new(()),
        })
    }

    /// Destroy the device, as a driver reset would: the page's fallback path can be tried on purpose.
    pub fn simulate_device_loss(&self) {
        self.lost.store(true, Ordering::SeqCst);
        if let Ok(mut s) = self.lost_reason.lock() {
            *s = "destroyed on request (simulated loss)".into();
        }
        self.device.destroy();
    }

    /// Whether the device was lost; every later call fails with `GpuError::DeviceLost`.
    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// Why the device was lost, if it was.
    pub fn lost_reason(&self) -> Option<String> {
        self.is_lost().then(|| {
            self.lost_reason
                .lock()
                .map(|s| s.clone())
                .unwrap_or_default()
        })
    }

    pub(crate) fn check_alive(&self) -> Result<(), GpuError> {
        if self.is_lost() {
            let why = self
                .lost_reason
                .lock()
                .map(|s| s.clone())
                .unwrap_or_default();
            return Err(GpuError::DeviceLost(why));
        }
        Ok(())
    }

    pub(crate) fn storage(&self, label: &str, data: &[f32]) -> wgpu::Buffer {
        // wgpu refuses zero-sized bindings; an empty input gets one padding element.
        let bytes: &[u8] = if data.is_empty() {
            &[0u8; 4]
        } else {
            bytemuck::cast_slice(data)
        };
        self.device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: bytes,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            })
    }

    pub(crate) fn output(&self, label: &str, len: usize) -> wgpu::Buffer {
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: (len.max(1) * 4) as u64,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        })
    }

    pub(crate) fn uniform(&self, label: &str, words: &[u32]) -> wgpu::Buffer {
        self.device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: bytemuck::cast_slice(words),
                usage: wgpu::BufferUsages::UNIFORM,
            })
    }

    /// A buffer that stays on the device between calls (weights, activations): storage, copyable
    /// both ways, initialised with `data` (zeros when `data` is None).
    pub(crate) fn resident(&self, label: &str, len: usize, data: Option<&[f32]>) -> wgpu::Buffer {
        let usage = wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_SRC
            | wgpu::BufferUsages::COPY_DST;
        match data {
            Some(d) if !d.is_empty() => {
                self.device
                    .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                        label: Some(label),
                        contents: bytemuck::cast_slice(d),
                        usage,
                    })
            }
            _ => self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: (len.max(1) * 4) as u64,
                usage,
                mapped_at_creation: false,
            }),
        }
    }

    /// Submit `encoder` after adding a copy of `src` (len f32s) to a staging buffer, and read it back.
    pub(crate) async fn submit_and_read(
        &self,
        encoder: wgpu::CommandEncoder,
        src: &wgpu::Buffer,
        len: usize,
    ) -> Result<Vec<f32>, GpuError> {
        let mut out = self.submit_and_read_many(encoder, &[(src, len)]).await?;
        Ok(out.pop().unwrap_or_default())
    }

    /// Submit `encoder` after copying the first `len` f32s of each source into one staging buffer;
    /// read them all back with one mapping.
    pub(crate) async fn submit_and_read_many(
        &self,
        mut encoder: wgpu::CommandEncoder,
        srcs: &[(&wgpu::Buffer, usize)],
    ) -> Result<Vec<Vec<f32>>, GpuError> {
        let _one_at_a_time = self.in_flight.lock().await;
        self.check_alive()?;
        let total: usize = srcs.iter().map(|(_, l)| *l).sum();
        let size = (total.max(1) * 4) as u64;
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("staging"),
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut at = 0u64;
        for (src, len) in srcs {
            if *len > 0 {
                encoder.copy_buffer_to_buffer(src, 0, &staging, at, (*len * 4) as u64);
            }
            at += (*len * 4) as u64;
        }
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        self.queue.submit(Some(encoder.finish()));
        let (tx, rx) = futures_channel::oneshot::channel();
        staging.slice(..).map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        #[cfg(not(target_arch = "wasm32"))]
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| GpuError::Failed(e.to_string()))?;
        let mapped = rx.await;
        if let Some(e) = scope.pop().await {
            return Err(GpuError::Failed(e.to_string()));
        }
        self.check_alive()?;
        match mapped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(GpuError::Failed(format!("read-back: {e}"))),
            Err(_) => return Err(GpuError::Failed("read-back was cancelled".into())),
        }
        let out = {
            let view = staging
                .slice(..)
                .get_mapped_range()
                .map_err(|e| GpuError::Failed(format!("{e:?}")))?;
            let floats: &[f32] = bytemuck::cast_slice(&view);
            let mut at = 0;
            srcs.iter()
                .map(|(_, len)| {
                    let v = floats[at..at + len].to_vec();
                    at += len;
                    v
                })
                .collect()
        };
        staging.unmap();
        Ok(out)
    }
}

/// Whether this browser thread offers WebGPU at all (`navigator.gpu`), before any adapter is asked
/// for; natively, true (wgpu looks for a backend when `Gpu::new` asks).
pub fn webgpu_offered() -> bool {
    #[cfg(target_arch = "wasm32")]
    return web_sys_has_gpu();
    #[cfg(not(target_arch = "wasm32"))]
    true
}

#[cfg(target_arch = "wasm32")]
fn web_sys_has_gpu() -> bool {
    // `navigator.gpu` exists? (Requesting an adapter can still fail; that is handled after.)
    use wgpu::web_sys;
    let global = web_sys::js_sys::global();
    let nav = web_sys::js_sys::Reflect::get(&global, &"navigator".into()).ok();
    nav.and_then(|n| web_sys::js_sys::Reflect::get(&n, &"gpu".into()).ok())
        .map(|g| !g.is_undefined() && !g.is_null())
        .unwrap_or(false)
}
