//! The server's resident memory, sampled every 50 ms from /proc while the load runs; each
//! phase reads (and resets) the peak it saw.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

#[derive(Debug)]
pub struct RssSampler {
    peak_kib: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    pid: u32,
}

impl RssSampler {
    pub fn start(pid: u32) -> Self {
        let (peak_kib, stop) = (
            Arc::new(AtomicU64::new(0)),
            Arc::new(AtomicBool::new(false)),
        );
        let thread = {
            let (peak_kib, stop) = (peak_kib.clone(), stop.clone());
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if let Some(kib) = status_kib(pid, "VmRSS:") {
                        peak_kib.fetch_max(kib, Ordering::Relaxed);
                    }
                    thread::sleep(Duration::from_millis(50));
                }
            })
        };
        Self {
            peak_kib,
            stop,
            thread: Some(thread),
            pid,
        }
    }

    /// The highest RSS sampled since the last call, in MiB.
    pub fn take_peak_mib(&self) -> f64 {
        self.peak_kib.swap(0, Ordering::Relaxed) as f64 / 1024.0
    }

    /// The kernel's own high-water mark (VmHWM) of the process's whole life, in MiB.
    pub fn lifetime_peak_mib(&self) -> Option<f64> {
        status_kib(self.pid, "VmHWM:").map(|kib| kib as f64 / 1024.0)
    }
}

impl Drop for RssSampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}
