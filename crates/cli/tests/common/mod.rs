//! Running the `glassbox` binary from the integration tests.
#![allow(dead_code)]

use std::process::Command;

pub fn glassbox(args: &[&str]) -> (i32, serde_json::Value, String) {
    run_in(args, None)
}

/// `glassbox` with `args`, in `dir` when given: what it printed, as printed.
pub fn output(args: &[&str], dir: Option<&str>) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_glassbox"));
    cmd.args(args);
    if let Some(d) = dir {
        cmd.current_dir(d);
    }
    cmd.output().expect("runs")
}

/// `glassbox` with `args`, in `dir` when given: (exit status, the JSON it printed, stderr).
pub fn run_in(args: &[&str], dir: Option<&str>) -> (i32, serde_json::Value, String) {
    let out = output(args, dir);
    let json = if out.status.success() {
        serde_json::from_slice(&out.stdout).expect("one JSON object")
    } else {
        serde_json::Value::Null
    };
    (
        out.status.code().unwrap_or(-1),
        json,
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}
