//! The training log: every line to stdout and to a file beside the weights.

use std::io::Write;
use std::path::Path;

/// Writes to stdout and to the log file.
pub struct Log {
    file: Option<std::fs::File>,
}

impl Log {
    pub fn new(path: Option<&Path>) -> std::io::Result<Self> {
        Ok(Log { file: path.map(std::fs::File::create).transpose()? })
    }
    /// Appends to an existing log (resumed training keeps the whole history in one file).
    pub fn append(path: &Path) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Log { file: Some(file) })
    }
    pub fn line(&mut self, text: &str) {
        println!("{text}");
        if let Some(f) = &mut self.file {
            let _ = writeln!(f, "{text}");
            let _ = f.flush();
        }
    }
}
