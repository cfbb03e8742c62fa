//! The text packer: `prose-pack SRC OUT` writes each page's `prose!` passages, typeset, to
//! `OUT/prose-NAME.txt` (typeset.rs's `text_file`), the file that page loads. Trunk runs it after
//! its build (Trunk.toml's hook). The passages are found in the sources the way the compiler reads
//! them, so every key the page asks for is in its file; a passage the macro would refuse fails here
//! too, naming its file.

#[path = "../typeset.rs"]
#[allow(dead_code)]
mod typeset;

use std::collections::BTreeMap;
use std::path::Path;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [src, out] = args.as_slice() else {
        eprintln!("usage: prose-pack SRC OUT (the page's sources and the build's folder)");
        std::process::exit(2);
    };
    match pack(Path::new(src), Path::new(out)) {
        Ok(summary) => println!("prose-pack: {summary}"),
        Err(why) => {
            eprintln!("prose-pack: {why}");
            std::process::exit(1);
        }
    }
}

fn pack(src: &Path, out: &Path) -> Result<String, String> {
    let mut files = Vec::new();
    rust_files(src, &mut files)?;
    let mut pages: BTreeMap<String, BTreeMap<u64, String>> = BTreeMap::new();
    for file in &files {
        let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let found =
            typeset::find_passages(&text).map_err(|e| format!("{}: {e}", file.display()))?;
        if found.is_empty() {
            continue;
        }
        let name = file.to_string_lossy();
        let page = typeset::page_of(&name)?;
        for source in found {
            let html = typeset::prose_html(&source).map_err(|e| format!("{name}: {e}"))?;
            // A passage is one line of its page's file.
            if html.contains(['\n', '\r']) {
                return Err(format!(
                    "{name}: a passage's HTML keeps a line break: {html:?}"
                ));
            }
            pages
                .entry(page.clone())
                .or_default()
                .insert(typeset::key(&source), html);
        }
    }
    let mut summary = Vec::new();
    for (page, passages) in &pages {
        let passages: Vec<(u64, String)> = passages.iter().map(|(k, h)| (*k, h.clone())).collect();
        let text = typeset::text_file(&passages);
        let path = out.join(typeset::file_name(page));
        std::fs::write(&path, &text).map_err(|e| format!("{}: {e}", path.display()))?;
        summary.push(format!("{page} {}", passages.len()));
    }
    Ok(format!(
        "{} pages of passages ({})",
        pages.len(),
        summary.join(", ")
    ))
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            rust_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}
