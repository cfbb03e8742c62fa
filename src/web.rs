//! Browser glue: yielding to the event loop, timing, downloads and the address bar.
//! Nothing here computes; every call that can fail in a browser returns quietly or an error value.

use glassbox_lab::assets::{self, Asset};
use leptos::prelude::window;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Wait `ms` milliseconds (0: just let the browser render and handle input).
pub async fn sleep(ms: i32) {
    if ms <= 0 {
        return yield_now().await;
    }
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        let _ = window().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = JsFuture::from(promise).await;
}

/// The page's message channel to itself, and the yields waiting for their message.
struct Yields {
    channel: web_sys::MessageChannel,
    waiting: std::cell::RefCell<std::collections::VecDeque<js_sys::Function>>,
    _on_message: Closure<dyn FnMut()>,
}

thread_local! {
    static YIELDS: Option<std::rc::Rc<Yields>> = {
        let channel = web_sys::MessageChannel::new().ok();
        channel.map(|channel| {
            std::rc::Rc::new_cyclic(|me: &std::rc::Weak<Yields>| {
                let me = me.clone();
                let on_message = Closure::<dyn FnMut()>::new(move || {
                    let next = me.upgrade().and_then(|y| y.waiting.borrow_mut().pop_front());
                    if let Some(resolve) = next {
                        let _ = resolve.call0(&JsValue::NULL);
                    }
                });
                channel.port1().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
                Yields { channel, waiting: Default::default(), _on_message: on_message }
            })
        })
    };
}

/// Give the browser a turn (input, drawing) and continue in a task of its own: a message to the
/// page itself, which, unlike a zero timeout, browsers do not hold back by 4 ms when such turns
/// follow one another. A zero timeout where the page has no message channel.
async fn yield_now() {
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        let posted = YIELDS.with(|y| {
            let y = y.as_ref()?;
            // The message arrives in a later task, so waiting after posting is in time.
            y.channel.port2().post_message(&JsValue::NULL).ok()?;
            y.waiting.borrow_mut().push_back(resolve.clone());
            Some(())
        });
        if posted.is_none() {
            let _ = window().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0);
        }
    });
    let _ = JsFuture::from(promise).await;
}

/// Milliseconds since page load (monotonic).
pub fn now_ms() -> f64 {
    window()
        .performance()
        .map(|p| p.now())
        .unwrap_or_else(js_sys::Date::now)
}

fn click_download(href: &str, filename: &str) -> Result<(), JsValue> {
    let doc = window().document().ok_or("no document")?;
    let a: web_sys::HtmlAnchorElement = doc.create_element("a")?.dyn_into()?;
    a.set_href(href);
    a.set_download(filename);
    a.click();
    Ok(())
}

/// Offer `text` as a file download.
pub fn download_text(filename: &str, mime: &str, text: &str) -> Result<(), JsValue> {
    let parts = js_sys::Array::of1(&JsValue::from_str(text));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type(mime);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)?;
    let r = click_download(&url, filename);
    let _ = web_sys::Url::revoke_object_url(&url);
    r
}

/// A canvas's 2D drawing context, if the browser gives one.
pub fn context_2d(
    canvas: &web_sys::HtmlCanvasElement,
) -> Option<web_sys::CanvasRenderingContext2d> {
    canvas.get_context("2d").ok().flatten()?.dyn_into().ok()
}

/// Offer a canvas as a PNG download.
pub fn download_canvas(canvas: &web_sys::HtmlCanvasElement, filename: &str) -> Result<(), JsValue> {
    let url = canvas.to_data_url_with_type("image/png")?;
    click_download(&url, filename)
}

thread_local! {
    /// Notified whenever the page publishes a new address.
    static ADDRESS: leptos::prelude::ArcTrigger = leptos::prelude::ArcTrigger::new();
    /// Page-wide URL parameters (e.g. `backend=cpu`) kept in every address a chapter publishes.
    static GLOBAL_PARAMS: std::cell::RefCell<Vec<(String, String)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Set (or with `None` remove) a page-wide URL parameter and update the address bar.
pub fn set_global_param(key: &str, value: Option<&str>) {
    GLOBAL_PARAMS.with(|g| {
        let mut g = g.borrow_mut();
        g.retain(|(k, _)| k != key);
        if let Some(v) = value {
            g.push((key.to_string(), v.to_string()));
        }
    });
    let mut loc = crate::url_state::Location::parse(&current_hash());
    loc.params.retain(|(k, _)| k != key);
    publish(&loc);
}

/// Make `params` the page-wide values of `keys` (any of `keys` not in `params` is dropped), without
/// touching the address bar.
pub fn keep_params(keys: &[&str], params: &[(String, String)]) {
    GLOBAL_PARAMS.with(|g| {
        let mut g = g.borrow_mut();
        g.retain(|(k, _)| !keys.contains(&k.as_str()));
        g.extend(params.iter().cloned());
    });
}

/// Show `loc` (plus the page-wide parameters) in the address bar.
pub fn publish(loc: &crate::url_state::Location) {
    let mut loc = loc.clone();
    GLOBAL_PARAMS.with(|g| {
        for (k, v) in g.borrow().iter() {
            if loc.get(k).is_none() {
                loc.params.push((k.clone(), v.clone()));
            }
        }
    });
    replace_hash(&loc.to_hash());
}

/// Replace the address bar's hash without adding a history entry or firing `hashchange`.
pub fn replace_hash(hash: &str) {
    if let Ok(history) = window().history() {
        let current = window().location().hash().unwrap_or_default();
        if current != hash {
            let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(hash));
            ADDRESS.with(|a| leptos::prelude::Notify::notify(a));
        }
    }
}

/// The address bar's hash, as a reactive read: a caller re-runs when the page publishes a new one.
pub fn tracked_hash() -> String {
    ADDRESS.with(|a| leptos::prelude::Track::track(a));
    current_hash()
}

pub fn current_hash() -> String {
    window().location().hash().unwrap_or_default()
}

pub fn local_storage_get(key: &str) -> Option<String> {
    window()
        .local_storage()
        .ok()
        .flatten()?
        .get_item(key)
        .ok()
        .flatten()
}

pub fn local_storage_set(key: &str, value: &str) {
    if let Some(s) = window().local_storage().ok().flatten() {
        let _ = s.set_item(key, value);
    }
}

pub fn local_storage_remove(key: &str) {
    if let Some(s) = window().local_storage().ok().flatten() {
        let _ = s.remove_item(key);
    }
}

/// Scroll the page to its top.
pub fn scroll_to_top() {
    window().scroll_to_with_x_and_y(0.0, 0.0);
}

/// Session storage (kept until the tab is closed).
pub fn session_storage_get(key: &str) -> Option<String> {
    window()
        .session_storage()
        .ok()
        .flatten()?
        .get_item(key)
        .ok()
        .flatten()
}

pub fn session_storage_set(key: &str, value: &str) {
    if let Some(s) = window().session_storage().ok().flatten() {
        let _ = s.set_item(key, value);
    }
}

/// Whether a media query matches now (false if the browser cannot tell).
pub fn media_matches(query: &str) -> bool {
    window()
        .match_media(query)
        .ok()
        .flatten()
        .map(|m| m.matches())
        .unwrap_or(false)
}

/// Whether the system asks for a dark colour scheme.
pub fn system_prefers_dark() -> bool {
    media_matches("(prefers-color-scheme: dark)")
}

/// Set `data-theme` on <html> (the stylesheet reads it).
pub fn apply_theme_attribute(dark: bool) {
    if let Some(el) = window().document().and_then(|d| d.document_element()) {
        let _ = el.set_attribute("data-theme", if dark { "dark" } else { "light" });
    }
}

/// Fetch a file shipped beside index.html (a relative URL, so it works under any sub-path),
/// calling `progress(bytes so far, total bytes if the server said)` as chunks arrive.
pub async fn fetch_bytes_with_progress(
    url: &str,
    progress: &dyn Fn(usize, Option<usize>),
) -> Result<Vec<u8>, String> {
    fetch_chunks(url, progress, &mut |_| {}).await
}

/// `fetch_bytes_with_progress` of one of the book's assets, checked against its SHA-256 as the
/// chunks arrive (a damaged or cut download is an error that names the file).
pub async fn fetch_asset(
    asset: Asset,
    progress: &dyn Fn(usize, Option<usize>),
) -> Result<Vec<u8>, String> {
    let check = std::cell::RefCell::new(assets::Check::new(asset));
    let bytes = fetch_chunks(asset.file, progress, &mut |c| check.borrow_mut().update(c)).await?;
    check.into_inner().finish()?;
    Ok(bytes)
}

/// A small text file shipped beside index.html, revalidated with the server (or the service
/// worker, which answers from the build's cache): a file that changed with a new build is not
/// taken from the browser's HTTP cache.
pub async fn fetch_text_fresh(url: &str) -> Result<String, String> {
    let err = |e: JsValue| format!("{url}: {e:?}");
    let init = web_sys::RequestInit::new();
    init.set_cache(web_sys::RequestCache::NoCache);
    let resp = response(url, Some(&init)).await?;
    let text = JsFuture::from(resp.text().map_err(err)?)
        .await
        .map_err(err)?;
    text.as_string().ok_or_else(|| format!("{url}: not text"))
}

/// `fetch(url)` (with `init`, if any) to a successful response, or an error naming the file. The
/// thread's own `fetch`, so a worker (which has no window) fetches too.
async fn response(
    url: &str,
    init: Option<&web_sys::RequestInit>,
) -> Result<web_sys::Response, String> {
    let err = |e: JsValue| format!("{url}: {e:?}");
    let global = js_sys::global();
    let fetch: js_sys::Function = js_sys::Reflect::get(&global, &"fetch".into())
        .map_err(err)?
        .dyn_into()
        .map_err(|_| format!("{url}: this thread cannot fetch"))?;
    let init = init.map_or(JsValue::UNDEFINED, JsValue::from);
    let promise: js_sys::Promise = fetch
        .call2(&global, &url.into(), &init)
        .map_err(err)?
        .dyn_into()
        .map_err(|_| format!("{url}: fetch gave no promise"))?;
    let resp: web_sys::Response = JsFuture::from(promise)
        .await
        .map_err(err)?
        .dyn_into()
        .map_err(|_| format!("{url}: not a response"))?;
    if !resp.ok() {
        return Err(format!("{url}: HTTP {}", resp.status()));
    }
    Ok(resp)
}

async fn fetch_chunks(
    url: &str,
    progress: &dyn Fn(usize, Option<usize>),
    on_chunk: &mut dyn FnMut(&[u8]),
) -> Result<Vec<u8>, String> {
    let err = |e: JsValue| format!("{url}: {e:?}");
    let resp = response(url, None).await?;
    let total = resp
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.parse::<usize>().ok());
    let Some(body) = resp.body() else {
        let buf = JsFuture::from(resp.array_buffer().map_err(err)?)
            .await
            .map_err(err)?;
        let out = js_sys::Uint8Array::new(&buf).to_vec();
        on_chunk(&out);
        return Ok(out);
    };
    read_stream(&body, total, progress, on_chunk)
        .await
        .map_err(|e| format!("{url}: {e}"))
}

/// Bytes given to `on_chunk` at a time (a SHA-256 of this many takes a few milliseconds).
const CHECK_PIECE: usize = 1 << 18;

/// Read `body` to its end (`total` bytes, if known), calling `progress` and `on_chunk` as chunks
/// arrive.
async fn read_stream(
    body: &web_sys::ReadableStream,
    total: Option<usize>,
    progress: &dyn Fn(usize, Option<usize>),
    on_chunk: &mut dyn FnMut(&[u8]),
) -> Result<Vec<u8>, String> {
    let err = |e: JsValue| format!("{e:?}");
    let reader: web_sys::ReadableStreamDefaultReader = body
        .get_reader()
        .dyn_into()
        .map_err(|_| "the stream cannot be read".to_string())?;
    let mut out = Vec::with_capacity(total.unwrap_or(0));
    progress(0, total);
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(err)?;
        let done = js_sys::Reflect::get(&chunk, &"done".into())
            .map(|d| d.is_truthy())
            .unwrap_or(true);
        if done {
            break;
        }
        let value = js_sys::Reflect::get(&chunk, &"value".into()).map_err(err)?;
        let start = out.len();
        out.extend(js_sys::Uint8Array::new(&value).to_vec());
        // A chunk can be the whole file (a local or cached one): it is checked in pieces, with
        // turns between, rather than in one task of tens of milliseconds.
        let mut at = start;
        while at < out.len() {
            let end = (at + CHECK_PIECE).min(out.len());
            on_chunk(&out[at..end]);
            at = end;
            // A stream with chunks ready (the browser's decoder) answers each read in a
            // microtask: go back to the browser now and then, or the whole read is one long task.
            crate::tasks::breathe().await;
        }
        progress(out.len(), total);
    }
    Ok(out)
}

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// The browser's gzip decoder, a transform stream (a readable and a writable side).
    type DecompressionStream;
    #[wasm_bindgen(constructor, catch)]
    fn new(format: &str) -> Result<DecompressionStream, JsValue>;
}

/// Decompress a gzip stream with the browser's own decoder (off the page's thread), calling
/// `progress(bytes out so far)` as pieces arrive.
pub async fn gunzip(gz: &[u8], progress: &dyn Fn(usize)) -> Result<Vec<u8>, String> {
    let decoder = DecompressionStream::new("gzip")
        .map_err(|_| "this browser cannot unpack gzip (no DecompressionStream)".to_string())?;
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(gz));
    let blob = web_sys::Blob::new_with_u8_array_sequence(&parts).map_err(|e| format!("{e:?}"))?;
    let out = blob
        .stream()
        .pipe_through(decoder.unchecked_ref::<web_sys::ReadableWritablePair>());
    read_stream(&out, None, &|n, _| progress(n), &mut |_| {})
        .await
        .map_err(|e| format!("gzip: {e}"))
}
