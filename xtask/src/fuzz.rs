//! `cargo xtask fuzz [--secs N]`: runs the cargo-fuzz target `orders_body` (fuzz/, the body path
//! of `POST /orders`) for a bounded time over the corpus committed in
//! `fuzz/corpus/orders_body/`. Also a step of `cargo xtask ci` (60 s).
//!
//! - cargo-fuzz is installed into `<target>/tools` (`cargo install --locked`, a pinned version)
//!   when missing: nothing is cached outside the clone, and no machine needs it beforehand.
//! - It runs on the **stable** toolchain: cargo-fuzz's instrumentation flags (`-Cpasses=
//!   sancov-module`, `-Cllvm-args=-sanitizer-coverage-*`) are stable, and the only nightly
//!   requirement, AddressSanitizer's `-Zsanitizer`, is turned off with `--sanitizer none`
//!   (safe Rust has no memory errors for it to find; panics and broken promises are what the
//!   target checks). `RUSTC_BOOTSTRAP=1` covers any `-Z` flag cargo-fuzz still passes.
//! - New corpus entries go to a scratch directory under `<target>/fuzz/`, never into the
//!   repository, so CI leaves the tree clean; `cargo fuzz cmin` is how the committed corpus is
//!   refreshed by hand (see fuzz/README.md).
//! - Any crash fails the step with the path of the crashing input. Copying that file into
//!   `fuzz/corpus/orders_body/` keeps it as a regression test: `cargo test -p order-manager-http`
//!   replays every corpus file without the fuzzer.
//!
//! `<target>` is `CARGO_TARGET_DIR` when set, else `target/` in the clone.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::cargo::{cargo, cargo_install, path_with, run_inherited, workspace_root};

/// The cargo-fuzz release installed; pinned so that every machine fuzzes the same way.
const CARGO_FUZZ_VERSION: &str = "0.13.1";
/// The one target, in fuzz/fuzz_targets/.
const TARGET: &str = "orders_body";

/// `cargo xtask fuzz` options.
#[derive(Debug, clap::Args)]
pub struct FuzzArgs {
    /// How long to fuzz, in seconds (after building).
    #[arg(long, default_value_t = 60)]
    secs: u64,
}

pub fn run(args: &FuzzArgs) -> Result<()> {
    run_for(Duration::from_secs(args.secs))
}

/// Installs cargo-fuzz if needed, builds the target and fuzzes it for `duration`.
pub fn run_for(duration: Duration) -> Result<()> {
    let root = workspace_root();
    let target = target_dir(&root);
    let tools = target.join("tools");
    install_cargo_fuzz(&tools)?;

    let committed = root.join("fuzz/corpus").join(TARGET);
    let scratch = target.join("fuzz/corpus").join(TARGET);
    let artifacts = root.join("fuzz/artifacts").join(TARGET);
    for dir in [&scratch, &artifacts] {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let before = files_in(&artifacts)?;

    let mut fuzz = cargo(["fuzz", "run", TARGET, "--sanitizer", "none", "--target-dir"]);
    fuzz.arg(target.join("fuzz/build"))
        // libFuzzer writes new entries into the first corpus directory only.
        .arg(&scratch)
        .arg(&committed)
        .arg("--")
        .arg(format!("-max_total_time={}", duration.as_secs().max(1)))
        .arg("-timeout=10")
        .arg("-rss_limit_mb=2048")
        .arg("-print_final_stats=1")
        .env("PATH", path_with(&tools.join("bin"))?)
        .env("RUSTC_BOOTSTRAP", "1");
    let outcome = run_inherited(&mut fuzz);

    let found: Vec<PathBuf> = files_in(&artifacts)?.difference(&before).cloned().collect();
    match (outcome, found.as_slice()) {
        (Ok(()), []) => Ok(()),
        (outcome, found) => {
            for path in found {
                eprintln!("xtask: fuzz: crashing input: {}", path.display());
            }
            if !found.is_empty() {
                eprintln!(
                    "xtask: fuzz: copy it into {} to keep it as a regression test \
                     (`cargo test -p order-manager-http` replays that directory)",
                    committed.display()
                );
            }
            outcome.and_then(|()| bail!("the fuzzer saved {} crashing input(s)", found.len()))
        }
    }
}

fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    }
}

fn install_cargo_fuzz(tools: &Path) -> Result<()> {
    let binary = tools.join("bin/cargo-fuzz");
    if binary.is_file() {
        return Ok(());
    }
    eprintln!(
        "xtask: installing cargo-fuzz {CARGO_FUZZ_VERSION} into {}",
        tools.display()
    );
    cargo_install("cargo-fuzz", CARGO_FUZZ_VERSION, tools)
}

fn files_in(dir: &Path) -> Result<BTreeSet<PathBuf>> {
    std::fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .map(|entry| Ok(entry?.path()))
        .collect()
}
