use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether this replica is shutting down. Set on SIGTERM, before the listener closes, so that
/// `/readyz` turns 503 at once and the load balancer stops sending new requests.
#[derive(Debug, Clone, Default)]
pub struct Lifecycle {
    draining: Arc<AtomicBool>,
}

impl Lifecycle {
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }
}
