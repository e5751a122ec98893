//! The run's own log, `chaos.log` in the data directory: every start, answer, approval, cancel,
//! kill and restart, stamped with the seconds since the run began, so a finding can be followed
//! next to the server's log (`server.log`, whose lines carry the same references).

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

use crate::error::{Context, Result};

/// A log file shared by every thread of the run.
#[derive(Debug)]
pub(crate) struct Journal {
    started: Instant,
    file: Mutex<File>,
}

impl Journal {
    /// Creates (or empties) the log at `path`.
    pub(crate) fn create(path: &Path) -> Result<Self> {
        let file = File::create(path).context(|| format!("creating {}", path.display()))?;
        Ok(Self { started: Instant::now(), file: Mutex::new(file) })
    }

    /// The seconds since the run began.
    pub(crate) fn seconds(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Writes one line. A line that cannot be written is dropped: the log helps, the run
    /// decides.
    pub(crate) fn note(&self, line: impl std::fmt::Display) {
        let stamped = format!("[{:8.3}s] {line}\n", self.seconds());
        // A thread that panicked while writing left nothing half-done worth refusing for.
        let mut file = self.file.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let _ = file.write_all(stamped.as_bytes());
    }
}
