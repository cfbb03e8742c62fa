//! The build's checksummed text files, fetched by the page when it needs them rather than compiled
//! into its code. Each file opens with the line `glassbox-KIND SUM`, SUM the FNV-1a (64-bit, 16 hex
//! digits) of everything after that line, so a damaged, cut or foreign file is refused before it is
//! read: from h = 0xcbf29ce484222325, for each byte b, h = (h xor b) * 0x100000001b3 (mod 2^64).
//!
//! Two kinds: `prose` (a page's typeset passages, crates/math) and `kernels` (the WGSL kernels,
//! below: WebGPU's readers fetch them, the others never do).

use std::path::Path;

/// FNV-1a's starting value.
pub const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a, 64-bit (also the lab's checksum of its data and weights files).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    fnv1a64_update(FNV_START, bytes)
}

/// FNV-1a continued over more bytes: `fnv1a64_update(fnv1a64(a), b) == fnv1a64(a ++ b)`, so a
/// long buffer can be summed a piece at a time.
pub fn fnv1a64_update(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// `body` as a file of `kind`: the header line, then the body.
pub fn seal(kind: &str, body: &str) -> String {
    format!("glassbox-{kind} {:016x}\n{body}", fnv1a64(body.as_bytes()))
}

/// The body of a file of `kind`, once its header and checksum are checked.
pub fn open<'a>(kind: &str, file: &'a str) -> Result<&'a str, String> {
    let (head, body) = file.split_once('\n').ok_or("no header line")?;
    let sum = head
        .strip_prefix("glassbox-")
        .and_then(|h| h.strip_prefix(kind))
        .and_then(|h| h.strip_prefix(' '))
        .and_then(|h| u64::from_str_radix(h, 16).ok())
        .ok_or("not a file of this book")?;
    if fnv1a64(body.as_bytes()) != sum {
        return Err("the file is damaged (its checksum does not match)".into());
    }
    Ok(body)
}

/// A WGSL kernel as the engine compiles it: comments, indentation and blank lines removed (a third
/// of its bytes). WGSL has no string literals and a kernel here no block comment (refused), so `//`
/// always starts a comment.
pub fn lean_wgsl(source: &str) -> Result<String, String> {
    if source.contains("/*") {
        return Err("a block comment".into());
    }
    let mut lean = String::new();
    for line in source.lines() {
        let code = line.split("//").next().unwrap_or("").trim();
        if !code.is_empty() {
            lean.push_str(code);
            lean.push('\n');
        }
    }
    Ok(lean)
}

/// The kernels file: each `*.wgsl` of `dir`, in order of name, as a line `== NAME` and then its
/// lean source.
pub fn kernels_file(dir: &Path) -> Result<String, String> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.extension().is_some_and(|e| e == "wgsl") {
            names.push(path);
        }
    }
    names.sort();
    let mut body = String::new();
    for path in names {
        let source =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let lean = lean_wgsl(&source).map_err(|e| format!("{}: {e}", path.display()))?;
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        body.push_str(&format!("== {name}\n{lean}"));
    }
    Ok(seal("kernels", &body))
}

/// The kernels of a kernels file, as (file name, source), once it is checked.
pub fn kernels(file: &str) -> Result<Vec<(&str, &str)>, String> {
    let body = open("kernels", file)?;
    let mut out: Vec<(&str, &str)> = Vec::new();
    let mut rest = body.strip_prefix("== ").ok_or("no kernel at its start")?;
    while !rest.is_empty() {
        let (name, after) = rest.split_once('\n').ok_or("a kernel without a source")?;
        let (source, next) = match after.find("\n== ") {
            Some(i) => (&after[..=i], &after[i + 4..]),
            None => (after, ""),
        };
        out.push((name, source));
        rest = next;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_matches_its_published_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn a_sealed_file_opens_and_a_changed_one_does_not() {
        let file = seal("prose", "0000000000000001 <p>a</p>\n");
        assert!(file.starts_with("glassbox-prose "));
        assert_eq!(open("prose", &file), Ok("0000000000000001 <p>a</p>\n"));
        assert!(open("kernels", &file).is_err(), "another kind");
        let flipped = file.replace("<p>a", "<p>b");
        assert!(open("prose", &flipped).unwrap_err().contains("damaged"));
        let cut = &file[..file.len() - 3];
        assert!(open("prose", cut).is_err());
        assert!(open("prose", "<!doctype html>\n<html>").is_err());
        assert!(open("prose", "").is_err());
    }

    #[test]
    fn wgsl_loses_its_comments_and_indentation() {
        let src = "// a kernel\nfn main() {\n    let x = 1; // one\n\n}\n";
        assert_eq!(lean_wgsl(src).unwrap(), "fn main() {\nlet x = 1;\n}\n");
        assert!(lean_wgsl("/* no */").is_err());
    }

    #[test]
    fn the_kernels_file_lists_every_kernel_in_order() {
        let dir = std::env::temp_dir().join(format!("glassbox-pack-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("b.wgsl"), "fn b() {}\n// end\n").unwrap();
        std::fs::write(dir.join("a.wgsl"), "// a\nfn a() {\n}\n").unwrap();
        std::fs::write(dir.join("notes.txt"), "not a kernel").unwrap();
        let file = kernels_file(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            kernels(&file).unwrap(),
            vec![("a.wgsl", "fn a() {\n}\n"), ("b.wgsl", "fn b() {}\n")]
        );
        assert!(kernels(&seal("kernels", "fn a() {}\n")).is_err());
        assert!(kernels(&seal("kernels", "== a.wgsl")).is_err());
    }
}
