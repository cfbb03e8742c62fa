//! The kernel packer: `kernel-pack KERNELS OUT` writes the WGSL files of the folder KERNELS to
//! `OUT/kernels.txt` (glassbox_pack::kernels_file), the file a page fetches when it opens a WebGPU
//! device. Trunk runs it after its build (Trunk.toml's hook).

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, out] = args.as_slice() else {
        eprintln!("usage: kernel-pack KERNELS OUT (the WGSL folder and the build's folder)");
        std::process::exit(2);
    };
    let written = glassbox_pack::kernels_file(std::path::Path::new(dir)).and_then(|file| {
        let path = std::path::Path::new(out).join("kernels.txt");
        std::fs::write(&path, &file).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(file.len())
    });
    match written {
        Ok(bytes) => println!("kernel-pack: kernels.txt, {bytes} bytes"),
        Err(why) => {
            eprintln!("kernel-pack: {why}");
            std::process::exit(1);
        }
    }
}
