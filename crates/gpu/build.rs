//! The WGSL kernels as the engine compiles them, in the kernels file (glassbox_pack::kernels_file:
//! comments and indentation removed, checksummed) that native builds compile in and the browser
//! fetches (Trunk's hook writes the same file beside index.html; its header line, with the
//! checksum, is compiled in so that only this build's file is taken); src/kernels keeps them as
//! written.

use std::{env, fs, path::Path};

fn main() {
    println!("cargo:rerun-if-changed=src/kernels");
    let file =
        glassbox_pack::kernels_file(Path::new("src/kernels")).unwrap_or_else(|e| panic!("{e}"));
    // The file's header (its checksum) in the code: the book takes only this build's kernels.
    let head = file.lines().next().unwrap_or_default();
    println!("cargo:rustc-env=GLASSBOX_KERNELS_HEAD={head}");
    let out = Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("kernels.txt");
    fs::write(out, file).expect("OUT_DIR is writable");
}
