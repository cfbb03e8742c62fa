//! The WGSL kernels as the engine compiles (and the browser downloads) them: comments, indentation
//! and blank lines removed, a third of their bytes; src/kernels keeps them as written. WGSL has no
//! string literals and these files no block comments, so `//` always starts a comment.

use std::{env, fs, path::Path};

fn main() {
    let out = Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("kernels");
    fs::create_dir_all(&out).expect("OUT_DIR is writable");
    println!("cargo:rerun-if-changed=src/kernels");
    for entry in fs::read_dir("src/kernels").expect("src/kernels") {
        let path = entry.expect("a kernel file").path();
        if path.extension().is_none_or(|e| e != "wgsl") {
            continue;
        }
        let text = fs::read_to_string(&path).expect("a WGSL file is text");
        assert!(!text.contains("/*"), "{}: a block comment", path.display());
        let mut lean = String::new();
        for line in text.lines() {
            let code = line.split("//").next().unwrap_or("").trim();
            if !code.is_empty() {
                lean.push_str(code);
                lean.push('\n');
            }
        }
        let name = path.file_name().expect("a file name");
        fs::write(out.join(name), lean).expect("OUT_DIR is writable");
    }
}
