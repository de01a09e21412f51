//! The load generators and the chart's font, found or installed: wrk and fonts-dejavu-core
//! from Debian, oha built from crates.io into `target/tools` (inside the clone, nothing cached
//! elsewhere; about four minutes the first time). oha 1.16 does not build without its default
//! TLS feature, so it is built as published.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::cargo::{cargo, run_inherited, workspace_root};

pub const FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
const OHA_VERSION: &str = "1.16.0";

#[derive(Debug)]
pub struct Tools {
    pub oha: PathBuf,
}

pub fn ensure() -> Result<Tools> {
    let mut packages = Vec::new();
    if !on_path("wrk") {
        packages.push("wrk");
    }
    if !Path::new(FONT).is_file() {
        packages.push("fonts-dejavu-core");
    }
    if !packages.is_empty() {
        apt_install(&packages)?;
    }
    let root = workspace_root().join("target").join("tools");
    let oha = root.join("bin").join("oha");
    if !oha.is_file() {
        eprintln!(
            "xtask: bench: building oha {OHA_VERSION} into {}",
            root.display()
        );
        run_inherited(
            cargo([
                "install",
                "--locked",
                "--quiet",
                "--version",
                OHA_VERSION,
                "--root",
            ])
            .arg(&root)
            .arg("oha"),
        )?;
    }
    Ok(Tools { oha })
}

fn on_path(program: &str) -> bool {
    Command::new(program).arg("--version").output().is_ok()
}

fn apt_install(packages: &[&str]) -> Result<()> {
    eprintln!("xtask: bench: installing {}", packages.join(" "));
    if !nix::unistd::geteuid().is_root() {
        bail!(
            "missing: {} (sudo apt-get install {})",
            packages.join(", "),
            packages.join(" ")
        );
    }
    let update = Command::new("apt-get").args(["update", "-qq"]).status();
    if !update.is_ok_and(|status| status.success()) {
        bail!("apt-get update failed");
    }
    let status = Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .context("could not run apt-get")?;
    if !status.success() {
        bail!("apt-get install {} failed", packages.join(" "));
    }
    Ok(())
}
