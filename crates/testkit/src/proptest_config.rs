//! The proptest configuration every property test uses: a fixed seed, so that CI runs the same
//! cases every time (`PROPTEST_RNG_SEED=<n>` explores others), and a case count that
//! `PROPTEST_CASES=<n>` overrides.

use proptest::test_runner::{Config, FileFailurePersistence, RngSeed};

/// `cases` cases from seed `seed`, unless the environment chooses either. Failures are kept in
/// `regressions` (a path from the crate root) when given: integration tests run with the crate
/// root as their working directory, and proptest's default (a directory parallel to `src/`)
/// cannot place files for `tests/`. Without it, proptest's default applies.
pub fn config(cases: u32, seed: u64, regressions: Option<&'static str>) -> Config {
    let defaults = Config::default();
    let cases = if std::env::var_os("PROPTEST_CASES").is_some() {
        defaults.cases
    } else {
        cases
    };
    let rng_seed = match defaults.rng_seed {
        RngSeed::Random => RngSeed::Fixed(seed),
        chosen => chosen,
    };
    let mut config = Config {
        cases,
        rng_seed,
        ..defaults
    };
    if let Some(path) = regressions {
        config.failure_persistence = Some(Box::new(FileFailurePersistence::Direct(path)));
    }
    config
}
