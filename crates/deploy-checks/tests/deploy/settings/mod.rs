//! The cross-check: the settings that the deployment files give the service are ones the binary
//! really reads, with values it accepts, and the ports, probe paths, limits and timeouts around
//! it agree with each other, so that the manifests and the code cannot drift apart.
//!
//! Sources compared:
//! - the binary's configuration: the server crate's own clap definition (`server::cli::Cli`,
//!   what `order-manager --help` prints), whose value parsers check every value;
//! - the rendered output of every kustomization (ConfigMap, Secret template, Deployment, Job,
//!   Service, Ingress, NetworkPolicies, the custom resources), docker-compose.yml, the nginx
//!   configuration, the ingress controller settings, the Dockerfile, and the Prometheus scrape
//!   targets of the compose stack;
//! - the routes and listeners in the service's source (probe and metrics paths).

mod listeners;
mod proxy;
mod stores;
mod values;

use std::collections::BTreeMap;
use std::fs;
use std::net::SocketAddr;
use std::sync::OnceLock;

use clap::CommandFactory;
use deploy_checks::compose::{COMPOSE_FILE, COMPOSE_LOCAL_ENV};
use deploy_checks::deployed_env::{
    NAME_LABEL, RenderedObjects, ServiceEnv, find, rendered_kustomizations,
};
use deploy_checks::manifest::{documents, get};
use deploy_checks::repo_root;
use deploy_checks::tools::Venv;
use serde_yaml_ng::Value;
use server::cli::Cli;

/// Read by tracing-subscriber's `EnvFilter::try_from_default_env`, not by clap.
const RUST_LOG: &str = "RUST_LOG";

fn read(relative: &str) -> String {
    fs::read_to_string(repo_root().join(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// Every kustomization's output, parsed.
fn kustomizations() -> &'static [RenderedObjects] {
    static RENDERED: OnceLock<Vec<RenderedObjects>> = OnceLock::new();
    RENDERED.get_or_init(|| {
        let venv = Venv::locate().unwrap_or_else(|err| panic!("{err:#}"));
        rendered_kustomizations(&venv).unwrap_or_else(|err| panic!("{err:#}"))
    })
}

/// The kustomizations that deploy the service (not the ingress controller settings).
fn service_kustomizations() -> impl Iterator<Item = &'static RenderedObjects> {
    kustomizations()
        .iter()
        .filter(|(_, objects)| find(objects, "Deployment", NAME_LABEL).is_some())
}

fn compose() -> &'static Value {
    static COMPOSE: OnceLock<Value> = OnceLock::new();
    COMPOSE.get_or_init(|| {
        documents(&read(COMPOSE_FILE))
            .expect("docker-compose.yml parses")
            .into_iter()
            .next()
            .expect("docker-compose.yml is not empty")
    })
}

fn compose_service(name: &str) -> &'static Value {
    get(compose(), &["services", name]).unwrap_or_else(|| panic!("no compose service {name}"))
}

/// Every container of the service (`deployed_env::service_envs`), with docker-compose.yml
/// interpolated as the documented local profile (`--env-file deploy/compose.local.env`) does.
fn service_envs() -> Vec<ServiceEnv> {
    let envs = deploy_checks::deployed_env::service_envs(
        kustomizations(),
        compose(),
        &read(COMPOSE_LOCAL_ENV),
    )
    .unwrap_or_else(|err| panic!("{err:#}"));
    assert!(
        envs.len() >= 6,
        "expected the Deployment and Job of every kustomization and the compose services: {envs:?}"
    );
    envs
}

/// Every environment variable the binary's clap configuration reads, with its argument.
fn binary_settings() -> BTreeMap<String, clap::Arg> {
    fn collect(command: &clap::Command, into: &mut BTreeMap<String, clap::Arg>) {
        for arg in command.get_arguments() {
            if let Some(env) = arg.get_env() {
                into.insert(env.to_string_lossy().into_owned(), arg.clone());
            }
        }
        for subcommand in command.get_subcommands() {
            collect(subcommand, into);
        }
    }
    let mut settings = BTreeMap::new();
    collect(&Cli::command(), &mut settings);
    settings
}

/// The value the binary uses for `name` in `env`: the one set, or the clap default.
fn effective(env: &ServiceEnv, name: &str) -> String {
    if let Some(value) = env.vars.get(name) {
        return value.clone();
    }
    let settings = binary_settings();
    let arg = settings
        .get(name)
        .unwrap_or_else(|| panic!("{name} is not a setting"));
    arg.get_default_values()
        .first()
        .map(|value| value.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn port_of(bind: &str) -> u16 {
    bind.parse::<SocketAddr>()
        .unwrap_or_else(|e| panic!("`{bind}` is not an address:port: {e}"))
        .port()
}

/// `4m`, `512k`, `1g` or plain bytes, as nginx reads sizes.
fn nginx_size(size: &str) -> u64 {
    let size = size.trim().to_ascii_lowercase();
    let (digits, unit) = match size.chars().last() {
        Some('k') => (&size[..size.len() - 1], 1024),
        Some('m') => (&size[..size.len() - 1], 1024 * 1024),
        Some('g') => (&size[..size.len() - 1], 1024 * 1024 * 1024),
        _ => (size.as_str(), 1),
    };
    digits.parse::<u64>().expect("a size") * unit
}

/// The first whitespace-separated word after `prefix` in `text`, without a trailing `;`.
fn word_after<'a>(text: &'a str, prefix: &str) -> &'a str {
    let start = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| line.find(prefix).map(|at| &line[at + prefix.len()..]))
        .unwrap_or_else(|| panic!("`{prefix}` not found"));
    start
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .trim_end_matches(';')
}

fn annotation<'a>(object: &'a Value, key: &str) -> &'a str {
    get(object, &["metadata", "annotations"])
        .and_then(|annotations| annotations.get(key))
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("annotation {key} missing"))
}

fn as_u64(value: Option<&Value>) -> u64 {
    value
        .and_then(|value| value.as_u64().or_else(|| value.as_str()?.parse().ok()))
        .expect("a number")
}

fn service_env(origin_part: &str) -> ServiceEnv {
    service_envs()
        .into_iter()
        .find(|env| env.origin.contains(origin_part))
        .unwrap_or_else(|| panic!("no container from {origin_part}"))
}

/// Host and port of `scheme://user:password@host:port/path`.
fn url_host_port(url: &str) -> (String, Option<u16>) {
    let after_scheme = url.split_once("://").expect("a URL").1;
    let authority = after_scheme.split('/').next().unwrap_or_default();
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    match host_port.rsplit_once(':') {
        Some((host, port)) => (host.to_owned(), port.parse().ok()),
        None => (host_port.to_owned(), None),
    }
}

/// A list of CIDRs, parsed by the binary's own parser (`ORDER_MANAGER_TRUSTED_PROXIES`).
fn trusted_proxies(text: &str) -> http_api::TrustedProxies {
    text.parse()
        .unwrap_or_else(|e| panic!("`{text}` is not a list of CIDRs: {e}"))
}
