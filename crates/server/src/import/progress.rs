//! The import's progress: a bar on a terminal (bytes read, orders/s, ETA from the file size),
//! otherwise a log line every few seconds.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use super::{Totals, on_terminal};

const LOG_EVERY: Duration = Duration::from_secs(5);

#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
    total_bytes: Option<u64>,
    read_bytes: Arc<AtomicU64>,
    started: Instant,
    last_line: Instant,
}

impl Progress {
    pub fn new(total_bytes: Option<u64>, read_bytes: Arc<AtomicU64>) -> Self {
        let bar = on_terminal().then(|| {
            let bar = match total_bytes {
                Some(total) => ProgressBar::new(total),
                None => ProgressBar::new_spinner(),
            };
            let template = if total_bytes.is_some() {
                "{bar:30} {bytes}/{total_bytes} {msg} ETA {eta}"
            } else {
                "{spinner} {bytes} {msg}"
            };
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style);
            }
            bar
        });
        let now = Instant::now();
        Self {
            bar,
            total_bytes,
            read_bytes,
            started: now,
            last_line: now,
        }
    }

    pub fn update(&mut self, totals: &Totals) {
        let read = self.read_bytes.load(Ordering::Relaxed);
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        let rate = (totals.stored + totals.duplicates) as f64 / secs;
        let summary = format!(
            "{} orders read, {} stored, {} duplicates, {} rejected, {rate:.0} orders/s",
            totals.read, totals.stored, totals.duplicates, totals.rejected
        );
        if let Some(bar) = &self.bar {
            bar.set_position(read);
            bar.set_message(summary);
        } else if self.last_line.elapsed() >= LOG_EVERY {
            self.last_line = Instant::now();
            let percent = self
                .total_bytes
                .filter(|total| *total > 0)
                .map(|total| format!("{:.0}% of the input, ", read as f64 * 100.0 / total as f64))
                .unwrap_or_default();
            tracing::info!("import: {percent}{summary}");
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
