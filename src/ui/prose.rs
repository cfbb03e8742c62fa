//! The book's prose, loaded a page at a time. `prose!` (crates/math) checks a passage when the book
//! compiles and leaves only its place, `(page, key)`; the build writes each page's passages,
//! typeset, to `prose-PAGE.txt` (crates/math's prose-pack). The first look at a page's text starts
//! its download; the route waits until it is here (`ready`), so a page opens with its text in place.
//! The file's first line carries the FNV-1a of the rest, so a damaged file is a notice (`failure`),
//! and the page's figures and controls work without it.

use leptos::prelude::*;
use std::cell::RefCell;
use std::rc::Rc;

/// A passage's place: its page (a chapter module's name) and its key (the FNV-1a of its source).
pub type Place = (&'static str, u64);

enum Text {
    Loading,
    /// The passages in ascending order of key.
    Ready(Rc<Vec<(u64, String)>>),
    Failed(String),
}

thread_local! {
    /// The pages whose text was asked for (a dozen at most: a list, not a map, is less code).
    static PAGES: RefCell<Vec<(&'static str, Text)>> = const { RefCell::new(Vec::new()) };
    /// Notified when a page's text arrives or fails.
    static ARRIVED: ArcTrigger = ArcTrigger::new();
}

/// The page's text file's state, its download started on first asking (tracked).
fn with_text<R>(page: &'static str, f: impl FnOnce(&Text) -> R) -> R {
    ARRIVED.with(|t| t.track());
    let started = PAGES.with(|p| {
        let mut pages = p.borrow_mut();
        let fresh = !pages.iter().any(|(name, _)| *name == page);
        if fresh {
            pages.push((page, Text::Loading));
        }
        fresh
    });
    if started {
        leptos::task::spawn_local(async move {
            let file = format!("prose-{page}.txt");
            let text = match crate::web::fetch_text_fresh(&file).await {
                Ok(body) => match parse(&body) {
                    Ok(passages) => Text::Ready(Rc::new(passages)),
                    Err(why) => Text::Failed(format!("{file}: {why}")),
                },
                Err(why) => Text::Failed(why),
            };
            PAGES.with(|p| {
                if let Some(slot) = p.borrow_mut().iter_mut().find(|(name, _)| *name == page) {
                    slot.1 = text;
                }
            });
            // What waits for the text (the route's page) is built in a task of its own.
            crate::web::sleep(0).await;
            ARRIVED.with(|t| t.notify());
        });
    }
    PAGES.with(|p| {
        let pages = p.borrow();
        let text = pages.iter().find(|(name, _)| *name == page).map(|(_, t)| t);
        f(text.unwrap_or(&Text::Loading))
    })
}

/// Whether `page`'s text has arrived or failed (tracked; the first call starts its download).
pub fn ready(page: &'static str) -> bool {
    with_text(page, |t| !matches!(t, Text::Loading))
}

/// Why `page`'s text could not be loaded, if it could not (tracked).
pub fn failure(page: &'static str) -> Option<String> {
    with_text(page, |t| match t {
        Text::Failed(why) => Some(why.clone()),
        _ => None,
    })
}

/// A page's text file (glassbox_pack's `prose` kind): after its checked header, a line per
/// passage, `<key, 16 hex digits> <HTML>`, in ascending order of key.
fn parse(file: &str) -> Result<Vec<(u64, String)>, String> {
    let body = glassbox_pack::open("prose", file)?;
    let mut passages: Vec<(u64, String)> = Vec::new();
    for line in body.lines() {
        let (key, html) = line
            .split_once(' ')
            .and_then(|(k, html)| Some((u64::from_str_radix(k, 16).ok()?, html)))
            .ok_or("a line without a passage key")?;
        if passages.last().is_some_and(|(last, _)| *last >= key) {
            return Err("its passages are out of order".into());
        }
        passages.push((key, html.to_string()));
    }
    Ok(passages)
}

/// A passage of static prose: `<Prose html=prose!(r"<p>...</p>")/>`, its paragraphs in one element
/// that lays out as if they stood in its place (`display: contents`). Until the page's text
/// arrives it is empty; a passage missing from a file that did arrive (a file from another build)
/// says so in its place.
#[component]
pub fn Prose(html: Place) -> impl IntoView {
    let (page, key) = html;
    let passage = move || {
        with_text(page, |t| match t {
            Text::Ready(passages) => Some(
                passages
                    .binary_search_by_key(&key, |(k, _)| *k)
                    .map(|i| passages[i].1.clone())
                    .map_err(|_| ()),
            ),
            _ => None,
        })
    };
    move || match passage() {
        Some(Ok(html)) => view! { <div class="prose" inner_html=html></div> }.into_any(),
        Some(Err(())) => view! { <p class="notice warning">{missing(page)}</p> }.into_any(),
        None => ().into_any(),
    }
}

fn missing(page: &str) -> String {
    format!(
        "A passage of this page is missing from prose-{page}.txt, which may be from another build \
         of the book: reload the page."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(body: &str) -> String {
        glassbox_pack::seal("prose", body)
    }

    #[test]
    fn a_text_file_is_read_and_checked() {
        let body = "0000000000000001 <p>a b</p>\n00000000000000ff <p>c</p>\n";
        let passages = parse(&file(body)).unwrap();
        assert_eq!(
            passages,
            [(1, "<p>a b</p>".into()), (0xff, "<p>c</p>".into())]
        );
        let swapped = "00000000000000ff <p>c</p>\n0000000000000001 <p>a b</p>\n";
        assert!(parse(&file(swapped)).unwrap_err().contains("order"));
        let damaged = file(body).replace("a b", "a c");
        assert!(parse(&damaged).unwrap_err().contains("damaged"));
        assert!(parse("<!DOCTYPE html>\n<p>").is_err());
        assert!(parse(&file("zz <p>a</p>\n")).is_err());
    }
}
