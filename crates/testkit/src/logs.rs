//! The log files the launched servers write: opened for appending (a restarted server adds to
//! its log), and read back in part when a server fails.

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use anyhow::{Context, Result};

/// Lines of a server's log shown when it fails.
const TAIL_LINES: usize = 40;

/// `path` opened for appending, created if missing.
pub fn append(path: &Path) -> Result<File> {
    File::options()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("could not open {}", path.display()))
}

/// The length of the log at `path` now (0 if missing): where a new attempt's part starts.
pub fn length(path: &Path) -> u64 {
    fs::metadata(path).map_or(0, |metadata| metadata.len())
}

/// What was appended to the log at `path` after it was `start` bytes long.
pub fn since(path: &Path, start: u64) -> String {
    let mut text = String::new();
    if let Ok(mut file) = File::open(path)
        && file.seek(SeekFrom::Start(start)).is_ok()
    {
        let mut bytes = Vec::new();
        if file.read_to_end(&mut bytes).is_ok() {
            text = String::from_utf8_lossy(&bytes).into_owned();
        }
    }
    text
}

/// The last lines of the log at `path`, where a server says why it failed.
pub fn tail(path: &Path) -> String {
    match fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n")
        }
        Err(err) => format!("(could not read it: {err})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_reads_only_the_new_part() {
        let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("tempdir: {err}"));
        let log = dir.path().join("redis.log");
        fs::write(&log, "old line\nnew line\n").unwrap_or_else(|err| panic!("write: {err}"));
        assert_eq!(since(&log, 9), "new line\n");
        assert_eq!(since(&log, 1000), "");
        assert_eq!(since(&dir.path().join("missing"), 0), "");
    }
}
