//! Named, timed steps and the one-line summary printed at the end of `cargo xtask ci`.
//!
//! Why: CI logs are long; a last line that says which step failed and where the time went
//! saves scrolling through thousands of lines of compiler and test output.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

#[derive(Debug, Default)]
pub struct StepTimer {
    steps: Vec<StepRecord>,
}

#[derive(Debug)]
struct StepRecord {
    name: &'static str,
    duration: Duration,
    ok: bool,
}

impl StepTimer {
    /// Runs one step, announcing it first and recording how long it took and whether it passed.
    pub fn run<T>(&mut self, name: &'static str, step: impl FnOnce() -> Result<T>) -> Result<T> {
        eprintln!("xtask: ==> {name}");
        let started = Instant::now();
        let result = step().with_context(|| format!("step `{name}` failed"));
        self.steps.push(StepRecord {
            name,
            duration: started.elapsed(),
            ok: result.is_ok(),
        });
        result
    }

    /// `xtask ci: ok in 1m35.2s (fmt ok 0.4s, clippy ok 30.2s, ...)`.
    pub fn summary(&self, title: &str) -> String {
        let all_ok = self.steps.iter().all(|step| step.ok);
        let total: Duration = self.steps.iter().map(|step| step.duration).sum();
        let mut line = format!(
            "{title}: {} in {} (",
            if all_ok { "ok" } else { "FAILED" },
            format_duration(total)
        );
        for (index, step) in self.steps.iter().enumerate() {
            let separator = if index == 0 { "" } else { ", " };
            let outcome = if step.ok { "ok" } else { "FAILED" };
            let _ = write!(
                line,
                "{separator}{} {outcome} {}",
                step.name,
                format_duration(step.duration)
            );
        }
        line.push(')');
        line
    }
}

fn format_duration(duration: Duration) -> String {
    let seconds = duration.as_secs_f64();
    if seconds < 60.0 {
        format!("{seconds:.1}s")
    } else {
        let minutes = (seconds / 60.0).floor();
        format!("{minutes:.0}m{:04.1}s", seconds - minutes * 60.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_seconds_and_minutes() {
        assert_eq!(format_duration(Duration::from_millis(400)), "0.4s");
        assert_eq!(format_duration(Duration::from_millis(95_200)), "1m35.2s");
        assert_eq!(format_duration(Duration::from_millis(61_000)), "1m01.0s");
    }

    #[test]
    fn summary_names_the_failed_step() {
        let mut timer = StepTimer::default();
        let _ = timer.run("fmt", || Ok(()));
        let _ = timer.run("test", || -> Result<()> { anyhow::bail!("boom") });
        let summary = timer.summary("xtask ci");
        assert!(summary.starts_with("xtask ci: FAILED in "), "{summary}");
        assert!(summary.contains("fmt ok "), "{summary}");
        assert!(summary.contains("test FAILED "), "{summary}");
    }
}
