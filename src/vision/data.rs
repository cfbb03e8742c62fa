//! The image lab's data and committed weights, shared by the chapters that use them: downloaded once
//! per visit (with byte-level progress, unpacked by the browser's gzip decoder), and the network's test-set
//! predictions on WebGPU (one submission per 200 images, by the device worker that owns the GPU,
//! or by the page where there is none) or on the CPU: on the worker pool (jobs of 100 images), or on
//! the page's thread in ~20 ms slices where there is no pool.

use crate::engine::Engine;
use crate::tasks::{run_in_slices, Slice};
use crate::var::Var;
use crate::web;
use crate::workers::device::GPU_JOB_IMAGES;
use crate::workers::job::{logits_message, logits_of};
use crate::workers::pool::{self, Pool};
use glassbox_gpu::{Gpu, GpuError};
use glassbox_lab::assets::{self, Asset};
use glassbox_lab::vision::data::{self, FashionMnist, Split};
use glassbox_lab::vision::network::Network;
use glassbox_lab::vision::{nn, train};
use leptos::prelude::*;
use std::cell::RefCell;
use std::rc::Rc;

/// The data set and the committed (pretrained) weights.
pub struct Loaded {
    pub data: FashionMnist,
    pub pretrained: Network,
}

#[derive(Clone, Debug, PartialEq)]
pub enum LoadState {
    Idle,
    /// What is downloading, and the fraction done when the size is known.
    Loading(String, Option<f64>),
    Ready,
    Failed(String),
}

impl LoadState {
    /// What to tell the reader, if anything.
    pub fn message(&self) -> Option<String> {
        match self {
            LoadState::Loading(what, _) => Some(what.clone()),
            LoadState::Failed(e) => Some(e.clone()),
            _ => None,
        }
    }

    pub fn fraction(&self) -> f64 {
        match self {
            LoadState::Loading(_, Some(f)) => *f,
            LoadState::Ready => 1.0,
            _ => 0.0,
        }
    }
}

thread_local! {
    static LOADED: RefCell<Option<Rc<Loaded>>> = const { RefCell::new(None) };
    static NETWORK: RefCell<Option<Rc<Network>>> = const { RefCell::new(None) };
}

fn mb(bytes: usize) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// Download `url` (what it is: `what`), with its progress in `load`; checked against its SHA-256
/// when it is one of the book's `assets`.
pub(crate) async fn fetch_with_status(
    url: &'static str,
    what: &'static str,
    load: Var<LoadState>,
    asset: Option<Asset>,
) -> Result<Vec<u8>, String> {
    let progress = move |got, total: Option<usize>| {
        load.set(LoadState::Loading(
            match total {
                Some(t) => format!("Downloading {what}: {} of {}", mb(got), mb(t)),
                None => format!("Downloading {what}: {}", mb(got)),
            },
            total.map(|t| (got as f64 / t.max(1) as f64).min(1.0)),
        ))
    };
    match asset {
        Some(a) => web::fetch_asset(a, &progress).await,
        None => web::fetch_bytes_with_progress(url, &progress).await,
    }
}

/// One of the book's assets, checked, with its progress in `load`.
pub(crate) async fn fetch_checked(asset: Asset, load: Var<LoadState>) -> Result<Vec<u8>, String> {
    fetch_with_status(asset.file, asset.what, load, Some(asset)).await
}

/// The data for a page that needs it from the start: its loading state and, once there, the data.
#[derive(Clone, Copy)]
pub struct PageData {
    pub load: Var<LoadState>,
    pub lab: Var<Option<Rc<Loaded>>>,
}

impl PageData {
    /// Start loading (a page task: leaving the page cancels it).
    pub fn load_now() -> Self {
        let load = Var::new(LoadState::Idle);
        let lab = Var::new(None::<Rc<Loaded>>);
        crate::tasks::spawn_page_task(async move {
            if let Some(l) = ensure_loaded(load).await {
                lab.set(Some(l));
            }
        });
        PageData { load, lab }
    }
}

/// What is downloading, or why it failed, and the download's progress bar.
#[component]
pub fn LoadStatus(load: Var<LoadState>) -> impl IntoView {
    view! {
        <p class="status" role="status" aria-live="polite">{move || load.get().message().unwrap_or_default()}</p>
        <progress max="1" aria-label="Download progress" value=move || load.get().fraction()></progress>
    }
}

/// The value kept in `cache`, or else `fetch`'s (kept on success). `load` ends Ready, or Failed
/// with `failure` and the reason ("The data could not be loaded: ..."). Shared by every asset a
/// page downloads once per visit.
pub(crate) async fn load_once<T: 'static>(
    cache: &'static std::thread::LocalKey<RefCell<Option<Rc<T>>>>,
    load: Var<LoadState>,
    failure: &str,
    fetch: impl std::future::Future<Output = Result<T, String>>,
) -> Option<Rc<T>> {
    if let Some(v) = cache.with(|c| c.borrow().clone()) {
        load.set(LoadState::Ready);
        return Some(v);
    }
    match fetch.await {
        Ok(v) => {
            let v = Rc::new(v);
            cache.with(|c| *c.borrow_mut() = Some(v.clone()));
            load.set(LoadState::Ready);
            Some(v)
        }
        Err(e) => {
            load.set(LoadState::Failed(format!("{failure}: {e}")));
            None
        }
    }
}

/// The data and weights, downloading them the first time (with byte-level progress).
pub async fn ensure_loaded(load: Var<LoadState>) -> Option<Rc<Loaded>> {
    let fetch = async move {
        let asset = fetch_checked(assets::IMAGES, load).await?;
        load.set(LoadState::Loading(
            "Checking and unpacking the images…".into(),
            None,
        ));
        // Decompressed by the browser, off the page's thread.
        let (stored, gz) = data::split_asset(&asset).map_err(|e| e.to_string())?;
        let payload = web::gunzip(gz, &|n| {
            load.set(LoadState::Loading(
                format!("Unpacking the images: {}", mb(n)),
                None,
            ))
        })
        .await?;
        // Summed a piece at a time: the payload is tens of megabytes.
        let mut sum = data::FNV_START;
        for piece in payload.chunks(1 << 22) {
            crate::tasks::breathe().await;
            sum = data::fnv1a64_update(sum, piece);
        }
        web::sleep(0).await;
        let data = data::decode_summed(stored, sum, &payload).map_err(|e| e.to_string())?;
        let pretrained = network(load).await?;
        Ok(Loaded {
            data,
            pretrained: (*pretrained).clone(),
        })
    };
    load_once(&LOADED, load, "The data could not be loaded", fetch).await
}

/// The committed weights, downloaded and kept the first time.
async fn network(load: Var<LoadState>) -> Result<Rc<Network>, String> {
    if let Some(n) = NETWORK.with(|c| c.borrow().clone()) {
        return Ok(n);
    }
    let w = fetch_checked(assets::NETWORK, load).await?;
    let n = Rc::new(Network::from_bytes(&w)?);
    NETWORK.with(|c| *c.borrow_mut() = Some(n.clone()));
    Ok(n)
}

/// The committed weights alone (the front page's pruning card), shared with `ensure_loaded`.
pub async fn ensure_network(load: Var<LoadState>) -> Option<Rc<Network>> {
    match network(load).await {
        Ok(n) => {
            load.set(LoadState::Ready);
            Some(n)
        }
        Err(e) => {
            load.set(LoadState::Failed(format!(
                "The trained weights could not be loaded: {e}"
            )));
            None
        }
    }
}

/// Classify the first `count` test images with `net`: on the GPU in batches (one submission each)
/// when the page uses WebGPU (by the device worker, or by the page where the device worker cannot
/// run), else on the CPU (the worker pool, or the page's thread in ~20 ms slices). A lost device
/// finishes on the CPU.
/// Returns (predictions, seconds of computation, where it ran), or None once `alive` turns false.
pub async fn classify(
    d: &FashionMnist,
    net: Network,
    count: usize,
    engine: Engine,
    progress: &dyn Fn(f64),
    alive: &dyn Fn() -> bool,
) -> Option<(Vec<u32>, f64, &'static str)> {
    classify_split(&d.test, net, count, engine, progress, alive).await
}

/// `classify` on any split (corrupted test images, for chapter 3).
pub async fn classify_split(
    test: &Split,
    mut net: Network,
    count: usize,
    engine: Engine,
    progress: &dyn Fn(f64),
    alive: &dyn Fn() -> bool,
) -> Option<(Vec<u32>, f64, &'static str)> {
    engine.settled().await;
    let k = net.classes();
    if engine.on_webgpu() {
        if let Some(device) = pool::device_pool() {
            let t = web::now_ms();
            let on = Jobs::Device;
            match logits_on_workers(&device, on, test, &net, count, progress, alive).await {
                Ok(None) => return None,
                Ok(Some(z)) => {
                    let secs = (web::now_ms() - t) / 1000.0;
                    return Some((nn::argmax_rows(&z, k), secs, "WebGPU"));
                }
                Err(why) => engine.report_device_worker(&why),
            }
        }
    }
    if let Some(gpu) = engine.page_gpu().await {
        let t0 = web::now_ms();
        match logits_on_page_gpu(&gpu, test, &net, count, progress, alive).await {
            Ok(None) => return None,
            Ok(Some(z)) => {
                let secs = (web::now_ms() - t0) / 1000.0;
                return Some((nn::argmax_rows(&z, k), secs, "WebGPU"));
            }
            Err(e) => engine.report(&e),
        }
    }
    if let Some(pool) = pool::pool() {
        let t = web::now_ms();
        match logits_on_workers(&pool, Jobs::Cpu, test, &net, count, progress, alive).await {
            Ok(None) => return None,
            Ok(Some(z)) => {
                let secs = (web::now_ms() - t) / 1000.0;
                return Some((nn::argmax_rows(&z, k), secs, "CPU"));
            }
            // The pool's notice says so; the page's thread finishes the work.
            Err(_) => {}
        }
    }
    let (z, secs) = logits_on_page(test, &mut net, count, progress, alive).await?;
    Some((nn::argmax_rows(&z, k), secs, "CPU"))
}

/// The logits of the first `count` images of `test` under `net`, on the page's own GPU in
/// submissions of `GPU_JOB_IMAGES` (what the device worker's jobs compute). Ok(None) once `alive`
/// turns false.
pub async fn logits_on_page_gpu(
    gpu: &Gpu,
    test: &Split,
    net: &Network,
    count: usize,
    progress: &dyn Fn(f64),
    alive: &dyn Fn() -> bool,
) -> Result<Option<Vec<f32>>, GpuError> {
    let g = gpu.upload(net)?;
    let mut z = Vec::with_capacity(count * net.classes());
    let mut done = 0;
    while done < count {
        if !alive() {
            return Ok(None);
        }
        let end = (done + GPU_JOB_IMAGES).min(count);
        let idx: Vec<usize> = (done..end).collect();
        let (x, _) = train::batch(test, &idx, None);
        z.extend(g.logits(gpu, &x, idx.len()).await?);
        done = end;
        progress(done as f64 / count as f64);
    }
    Ok(Some(z))
}

/// Test images per worker job (a multiple of `train::EVAL_BATCH`; about 0.1-0.2 s of work).
const JOB_IMAGES: usize = 100;

/// Which logits jobs a pool answers.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Jobs {
    /// On the CPU (the compute pool), `JOB_IMAGES` per job.
    Cpu,
    /// On the device worker's GPU, one submission of `GPU_JOB_IMAGES` per job.
    Device,
}

/// The logits of the first `count` images of `test` under `net`, computed by a worker pool.
/// Ok(None) once `alive` turns false; Err when the pool was given up.
pub async fn logits_on_workers(
    pool: &Pool,
    on: Jobs,
    test: &Split,
    net: &Network,
    count: usize,
    progress: &dyn Fn(f64),
    alive: &dyn Fn() -> bool,
) -> Result<Option<Vec<f32>>, String> {
    let classes = net.classes();
    let net = net.to_bytes();
    let per_job = match on {
        Jobs::Cpu => JOB_IMAGES,
        Jobs::Device => GPU_JOB_IMAGES,
    };
    let jobs = count.div_ceil(per_job);
    let px = data::SIDE * data::SIDE;
    let message = |j: usize| {
        let (a, b) = (j * per_job, ((j + 1) * per_job).min(count));
        logits_message(on == Jobs::Device, &net, &test.images[a * px..b * px])
    };
    let done = |d: usize| progress(d as f64 / jobs as f64);
    let Some(answers) = pool.run(jobs, &message, &done, alive).await? else {
        return Ok(None);
    };
    let mut z = Vec::with_capacity(count * classes);
    for a in &answers {
        z.extend(logits_of(a)?);
    }
    Ok(Some(z))
}

/// The same logits computed on the page's thread in ~20 ms slices, with the seconds of computation
/// (the slices' sum); None once `alive` turns false.
pub async fn logits_on_page(
    test: &Split,
    net: &mut Network,
    count: usize,
    progress: &dyn Fn(f64),
    alive: &dyn Fn() -> bool,
) -> Option<(Vec<f32>, f64)> {
    let mut z: Vec<f32> = Vec::with_capacity(count * net.classes());
    let mut done = 0;
    let mut busy = 0.0f64;
    run_in_slices(
        &mut |deadline| {
            let t = web::now_ms();
            while done < count && web::now_ms() < deadline {
                let end = (done + train::EVAL_BATCH).min(count);
                z.extend(train::logits(net, test, done..end));
                done = end;
            }
            busy += web::now_ms() - t;
            progress(done as f64 / count as f64);
            if done >= count {
                Slice::Idle
            } else {
                Slice::Continue
            }
        },
        alive,
    )
    .await;
    (done >= count).then_some((z, busy / 1000.0))
}

/// Share of `preds` (for the first test images) that match the labels.
pub fn accuracy_of(test: &glassbox_lab::vision::data::Split, preds: &[u32]) -> f64 {
    preds
        .iter()
        .enumerate()
        .filter(|&(i, &y)| test.labels[i] as u32 == y)
        .count() as f64
        / preds.len().max(1) as f64
}

/// Bits as mebibytes, for sizes.
pub fn mib(bits: u64) -> String {
    format!("{:.3} MiB", bits as f64 / 8.0 / 1_048_576.0)
}
