//! Sizes and durations of one run: the full one, or the `--quick` smoke test of the harness.

/// Sizes and durations of one run.
#[derive(Debug, Clone)]
pub struct Plan {
    pub quick: bool,
    /// The debug build was measured (`--dev-build`).
    pub debug_build: bool,
    /// Customers `c0..`; a power of ten, so that `c[0-9]{width}` names exactly them.
    pub customers: u64,
    /// Orders (of three items) in the small and the large store.
    pub small_orders: u64,
    pub large_orders: u64,
    /// Seconds per measured run.
    pub secs: f64,
    /// Clients of the ingest runs, rising.
    pub ingest_concurrency: Vec<usize>,
    pub batches: Vec<usize>,
    /// Clients of the read runs.
    pub read_concurrency: Vec<usize>,
    /// Turns of service and raw ceiling per read concurrency; each side keeps its best.
    pub read_rounds: usize,
    /// The service's pool, which the ceilings use as well.
    pub db_connections: u32,
}

impl Plan {
    /// The plan of a full run, or of a `quick` one; `debug_build` only marks the report.
    pub fn new(quick: bool, debug_build: bool) -> Self {
        if quick {
            Self {
                quick,
                debug_build,
                customers: 10_000,
                small_orders: 3_334,
                large_orders: 33_334,
                secs: 2.0,
                ingest_concurrency: vec![4, 32],
                batches: vec![1, 10, 100],
                read_concurrency: vec![32],
                read_rounds: 1,
                db_connections: 10,
            }
        } else {
            Self {
                quick,
                debug_build,
                customers: 100_000,
                small_orders: 3_334,
                large_orders: 333_334,
                secs: 8.0,
                ingest_concurrency: vec![1, 4, 16, 64],
                batches: vec![1, 10, 100],
                read_concurrency: vec![16, 64],
                read_rounds: 2,
                db_connections: 10,
            }
        }
    }

    /// Whether this run's figures are the ones to publish: full, on the release build.
    pub fn publishes(&self) -> bool {
        !self.quick && !self.debug_build
    }
}
