//! `glassbox gpu selftest`: every WGSL kernel on the native adapter against its CPU reference.

use crate::Failure;
use clap::Subcommand;
use glassbox_gpu::Gpu;
use serde_json::json;

#[derive(Subcommand)]
pub enum Command {
    /// Every kernel on the GPU against its CPU reference; exit status 1 when any fails.
    Selftest,
}

/// The adapter wgpu finds natively (see the program's notes on lavapipe).
pub fn open() -> Result<Gpu, String> {
    pollster::block_on(Gpu::new()).map_err(|e| format!("no GPU: {e}"))
}

impl Command {
    pub fn run(self) -> Result<serde_json::Value, Failure> {
        match self {
            Command::Selftest => selftest(),
        }
    }
}

fn selftest() -> Result<serde_json::Value, Failure> {
    let gpu = open()?;
    let results =
        pollster::block_on(glassbox_gpu::selftest::run(&gpu)).map_err(|e| e.to_string())?;
    let all_ok = results.iter().all(|r| r.ok);
    let kernels: Vec<serde_json::Value> = results
        .iter()
        .map(|r| json!({"name": r.name, "max_abs_err": r.max_abs_err, "max_rel_err": r.max_rel_err, "tolerance": r.tolerance, "ok": r.ok}))
        .collect();
    let out = json!({
        "adapter": format!("{} ({}, {})", gpu.info.name, gpu.info.backend, gpu.info.device_type),
        "kernels": kernels,
    });
    if all_ok {
        Ok(out)
    } else {
        println!("{out}");
        Err("a kernel does not match its CPU reference".into())
    }
}
