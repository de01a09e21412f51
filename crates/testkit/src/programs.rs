//! Finding the programs the launchers start.

use std::env;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, anyhow, bail};

/// The first of `names` found on PATH, then in the system directories (a non-root PATH often
/// lacks /usr/sbin, where Debian puts mariadbd and nginx).
pub fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path_dirs: Vec<PathBuf> = env::var_os("PATH")
        .map(|path| env::split_paths(&path).collect())
        .unwrap_or_default();
    let system_dirs = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"].map(PathBuf::from);
    names.iter().find_map(|name| {
        path_dirs
            .iter()
            .chain(&system_dirs)
            .map(|dir| dir.join(name))
            .find(|candidate| is_executable(candidate))
    })
}

/// The first of `names`, or an error that says which Debian `package` brings it.
pub fn locate(names: &[&str], package: &str) -> Result<PathBuf> {
    find_program(names).ok_or_else(|| {
        anyhow!(
            "{} is not installed; `cargo xtask ci` installs it, or: sudo apt-get install {package}",
            names.join(" or ")
        )
    })
}

/// Whether `path` is a file someone may execute.
pub fn is_executable(path: &Path) -> bool {
    fs::metadata(path)
        .is_ok_and(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
}

/// Runs `command` to its end with no input; an error, with what it printed on stderr, when it
/// cannot start or exits with a failure. `what` names it in the error.
pub fn run_to_success(command: &mut Command, what: &str) -> Result<()> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("could not run {what}"))?;
    if !output.status.success() {
        bail!("{what} failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(())
}
