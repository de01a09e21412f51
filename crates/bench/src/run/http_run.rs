//! What one HTTP load run measured, whichever generator ran it.

use serde_json::Value;

/// What one HTTP load run measured.
#[derive(Debug, Clone)]
pub struct HttpRun {
    pub requests: u64,
    pub secs: f64,
    pub per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p99_9_ms: f64,
    pub max_ms: f64,
}

impl HttpRun {
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "requests": self.requests,
            "secs": round(self.secs),
            "requests_per_s": round(self.per_s),
            "p50_ms": round(self.p50_ms),
            "p99_ms": round(self.p99_ms),
            "p99_9_ms": round(self.p99_9_ms),
            "max_ms": round(self.max_ms),
        })
    }
}

pub fn round(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}
