//! The shape of the chapters holds as the book grows: no Rust file under `src/chapters` over
//! `MAX_FILE_LINES` lines and no function in one over `MAX_FN_LINES` lines (a chapter is a folder of
//! small section components; see ARCHITECTURE.md).

use std::path::{Path, PathBuf};

const MAX_FILE_LINES: usize = 400;
const MAX_FN_LINES: usize = 200;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable folder") {
        let path = entry.expect("folder entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The source with comments, string and character literals blanked (newlines kept), so braces
/// inside them do not count.
fn code_only(src: &str) -> String {
    let c: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let keep_newlines = |s: &[char], out: &mut String| {
        out.extend(s.iter().map(|&ch| if ch == '\n' { '\n' } else { ' ' }));
    };
    while i < c.len() {
        let rest = &c[i..];
        if rest.starts_with(&['/', '/']) {
            let end = rest.iter().position(|&ch| ch == '\n').unwrap_or(rest.len());
            keep_newlines(&rest[..end], &mut out);
            i += end;
        } else if rest.starts_with(&['/', '*']) {
            let mut depth = 0;
            let mut j = 0;
            while j < rest.len() {
                if rest[j..].starts_with(&['/', '*']) {
                    depth += 1;
                    j += 2;
                } else if rest[j..].starts_with(&['*', '/']) {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            keep_newlines(&rest[..j.min(rest.len())], &mut out);
            i += j;
        } else if rest[0] == 'r' && (rest.get(1) == Some(&'"') || rest.get(1) == Some(&'#')) {
            // Raw string r"..." or r#"..."#.
            let hashes = rest[1..].iter().take_while(|&&ch| ch == '#').count();
            if rest.get(1 + hashes) != Some(&'"') {
                out.push(rest[0]);
                i += 1;
                continue;
            }
            let mut j = 2 + hashes;
            while j < rest.len() {
                if rest[j] == '"'
                    && rest[j + 1..]
                        .iter()
                        .take(hashes)
                        .filter(|&&h| h == '#')
                        .count()
                        == hashes
                {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            keep_newlines(&rest[..j.min(rest.len())], &mut out);
            i += j;
        } else if rest[0] == '"' {
            let mut j = 1;
            while j < rest.len() && rest[j] != '"' {
                j += if rest[j] == '\\' { 2 } else { 1 };
            }
            let end = (j + 1).min(rest.len());
            keep_newlines(&rest[..end], &mut out);
            i += end;
        } else if rest[0] == '\'' && rest.get(1) == Some(&'\\') {
            let end = rest[2..]
                .iter()
                .position(|&ch| ch == '\'')
                .map_or(rest.len(), |p| p + 3);
            keep_newlines(&rest[..end], &mut out);
            i += end;
        } else if rest[0] == '\'' && rest.get(2) == Some(&'\'') {
            keep_newlines(&rest[..3], &mut out);
            i += 3;
        } else {
            out.push(rest[0]);
            i += 1;
        }
    }
    out
}

/// (name, first line (1-based), length in lines) of every function with a body.
fn functions(src: &str) -> Vec<(String, usize, usize)> {
    let code = code_only(src);
    let lines: Vec<&str> = code.lines().collect();
    let mut found = Vec::new();
    for (start, line) in lines.iter().enumerate() {
        let Some(at) = find_fn_keyword(line) else {
            continue;
        };
        let name: String = line[at + 3..]
            .trim_start()
            .chars()
            .take_while(|ch| ch.is_alphanumeric() || *ch == '_')
            .collect();
        if name.is_empty() {
            continue;
        }
        // From the signature on: the body opens at the first '{' (a ';' first means no body) and
        // ends where the braces balance again.
        let mut depth = 0i64;
        let mut opened = false;
        'scan: for (k, l) in lines.iter().enumerate().skip(start) {
            let text = if k == start { &l[at..] } else { l };
            for ch in text.chars() {
                match ch {
                    ';' if !opened => break 'scan,
                    '{' => {
                        depth += 1;
                        opened = true;
                    }
                    '}' => {
                        depth -= 1;
                        if opened && depth == 0 {
                            found.push((name.clone(), start + 1, k - start + 1));
                            break 'scan;
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    found
}

/// Where the keyword `fn` starts a function item on this line (not `Fn(..)` or a word ending in fn).
fn find_fn_keyword(line: &str) -> Option<usize> {
    let bytes = line.as_bytes();
    let mut from = 0;
    while let Some(p) = line[from..].find("fn ") {
        let at = from + p;
        let before_ok =
            at == 0 || !(bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_');
        if before_ok {
            return Some(at);
        }
        from = at + 3;
    }
    None
}

/// Every breach of the limits in the files under `dir`, as readable lines.
fn breaches(dir: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(dir, &mut files);
    assert!(!files.is_empty(), "no Rust files under {}", dir.display());
    let mut out = Vec::new();
    for path in files {
        let src = std::fs::read_to_string(&path).expect("readable file");
        let n = src.lines().count();
        if n > MAX_FILE_LINES {
            out.push(format!(
                "{}: {n} lines (at most {MAX_FILE_LINES})",
                path.display()
            ));
        }
        for (name, line, len) in functions(&src) {
            if len > MAX_FN_LINES {
                out.push(format!(
                    "{}:{line}: fn {name} is {len} lines (at most {MAX_FN_LINES})",
                    path.display()
                ));
            }
        }
    }
    out
}

#[test]
fn chapters_are_folders_of_small_files_and_functions() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/chapters");
    let found = breaches(&dir);
    assert!(
        found.is_empty(),
        "split these into sections or smaller components:\n{}",
        found.join("\n")
    );
}

#[test]
fn function_lengths_are_measured_through_strings_comments_and_macros() {
    let src = r#"
pub fn short(x: u32) -> u32 {
    let s = "a } brace in a string";
    let c = '}';
    // a } in a comment
    x + 1
}

#[component]
fn Page() -> impl IntoView {
    view! {
        <p>{move || format!("{}", 1)}</p>
    }
}

fn no_body();
fn takes_closure(f: impl Fn(u32) -> u32) -> u32 { f(1) }
"#;
    let f = functions(src);
    let by_name = |n: &str| {
        f.iter()
            .find(|(name, ..)| name == n)
            .map(|&(_, s, l)| (s, l))
    };
    assert_eq!(by_name("short"), Some((2, 6)));
    assert_eq!(by_name("Page"), Some((10, 5)));
    assert_eq!(by_name("takes_closure"), Some((17, 1)));
    assert_eq!(by_name("no_body"), None);
}

#[test]
fn a_long_file_and_a_long_function_are_reported() {
    let dir = std::env::temp_dir().join(format!("glassbox-shape-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("chapter")).expect("temporary folder");
    let long_fn = format!(
        "fn long() {{\n{}}}\n",
        "    let _ = 1;\n".repeat(MAX_FN_LINES)
    );
    std::fs::write(dir.join("chapter/mod.rs"), &long_fn).expect("write");
    let many_lines = "// line\n".repeat(MAX_FILE_LINES + 1);
    std::fs::write(dir.join("big.rs"), many_lines).expect("write");
    std::fs::write(dir.join("ok.rs"), "fn fine() {}\n").expect("write");
    let found = breaches(&dir);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found.iter().any(|b| b.contains("fn long is 202 lines")),
        "{found:?}"
    );
    assert!(
        found.iter().any(|b| b.contains("big.rs: 401 lines")),
        "{found:?}"
    );
}

/// The files of src, other than `home` (the type's own file), that name Leptos's `leptos_type`
/// where it is not preceded by one of `allowed` (`Arc` for the page-wide `ArcRwSignal`s, say).
fn page_files_using(leptos_type: &str, home: &str, allowed: &[&str]) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    files
        .iter()
        .filter(|p| !p.ends_with(home))
        .filter(|p| {
            let code = code_only(&std::fs::read_to_string(p).expect("readable file"));
            code.match_indices(leptos_type)
                .any(|(i, _)| !allowed.iter().any(|a| code[..i].ends_with(a)))
        })
        .map(|p| p.display().to_string())
        .collect()
}

/// The page keeps its reactive values in `crate::var::Var` (src/var.rs): each value type given to
/// Leptos's `RwSignal` compiles the signal's code again (about 2 KB of wasm each). The workers'
/// few page-wide values, which no component owns, stay `ArcRwSignal`s.
#[test]
fn the_page_keeps_its_values_in_vars() {
    let users = page_files_using("RwSignal", "var.rs", &["Arc"]);
    assert!(
        users.is_empty(),
        "RwSignal used (use crate::var::Var): {users:?}"
    );
}

/// The page's memos are `crate::calc::Calc`s (src/calc.rs): each value type or closure given to
/// Leptos's `Memo` compiles the memo's code again.
#[test]
fn the_page_keeps_its_memos_in_calcs() {
    let users = page_files_using("Memo", "calc.rs", &["Arc", "Erased"]);
    assert!(
        users.is_empty(),
        "Memo used (use crate::calc::Calc): {users:?}"
    );
}
