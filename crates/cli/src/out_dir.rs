//! `--out DIR`: the folder a command writes its figures (SVG) and their data (CSV) into. It is
//! created only once the command has run, so a refused input leaves nothing behind.

use std::path::{Path, PathBuf};

pub struct OutDir(PathBuf);

impl OutDir {
    /// The folder of `--out`, created with its parents; None when the option was not given.
    pub fn open(out: Option<&Path>) -> Result<Option<OutDir>, String> {
        match out {
            None => Ok(None),
            Some(d) => {
                std::fs::create_dir_all(d).map_err(|e| format!("--out {}: {e}", d.display()))?;
                Ok(Some(OutDir(d.to_path_buf())))
            }
        }
    }

    pub fn write(&self, name: &str, contents: &str) -> Result<(), String> {
        std::fs::write(self.0.join(name), contents).map_err(|e| format!("writing {name}: {e}"))
    }
}
