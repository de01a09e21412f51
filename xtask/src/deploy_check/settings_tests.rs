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

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::OnceLock;

use clap::{CommandFactory, Parser};
use serde_yaml_ng::Value;
use server::cli::Cli;

use super::compose::{COMPOSE_FILE, COMPOSE_LOCAL_ENV};
use super::dockerfile::{DOCKERFILE, instructions};
use super::kubernetes::{Rendered, render_all};
use super::manifest::{documents, get, get_map, get_seq, get_str, kind_and_name, scalar_string};
use super::nginx::NGINX_DIR;
use crate::cargo::workspace_root;

/// The image name docker-compose.yml builds the service as.
const COMPOSE_IMAGE: &str = "order-manager:local";
/// The label of every object of the service (not of its database or Redis).
const NAME_LABEL: &str = "order-manager";
/// Read by tracing-subscriber's `EnvFilter::try_from_default_env`, not by clap.
const RUST_LOG: &str = "RUST_LOG";

fn root() -> &'static Path {
    static ROOT: OnceLock<std::path::PathBuf> = OnceLock::new();
    ROOT.get_or_init(workspace_root)
}

fn read(relative: &str) -> String {
    fs::read_to_string(root().join(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// Every kustomization's output, parsed.
fn kustomizations() -> &'static [(String, Vec<Value>)] {
    static RENDERED: OnceLock<Vec<(String, Vec<Value>)>> = OnceLock::new();
    RENDERED.get_or_init(|| {
        let tools = super::Tools::ensure().expect("the deployment check tools");
        render_all(&tools, root())
            .expect("kubectl kustomize renders every kustomization")
            .into_iter()
            .map(|Rendered { name, yaml }| {
                let objects = documents(&yaml).expect("rendered YAML parses");
                (name, objects)
            })
            .collect()
    })
}

/// The kustomizations that deploy the service (not the ingress controller settings).
fn service_kustomizations() -> impl Iterator<Item = &'static (String, Vec<Value>)> {
    kustomizations()
        .iter()
        .filter(|(_, objects)| find(objects, "Deployment", NAME_LABEL).is_some())
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> Option<&'a Value> {
    objects
        .iter()
        .find(|object| kind_and_name(object) == (kind, name))
}

fn find_kind<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects
        .iter()
        .filter(|object| kind_and_name(object).0 == kind)
        .collect()
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

/// The environment and arguments one container of the service gets.
#[derive(Debug)]
struct ServiceEnv {
    origin: String,
    vars: BTreeMap<String, String>,
    args: Vec<String>,
}

/// A `${NAME:-default}` / `${NAME-default}` / `${NAME}` / `${NAME:?message}` interpolation as
/// docker compose does it with the documented local profile (`--env-file
/// deploy/compose.local.env`) and nothing else set.
fn interpolate(text: &str) -> String {
    let profile = std::fs::read_to_string(crate::cargo::workspace_root().join(COMPOSE_LOCAL_ENV))
        .expect("the compose local profile");
    let profile: BTreeMap<&str, &str> = profile
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .collect();
    let mut result = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        result.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').expect("closed ${...}");
        let expression = &after[..end];
        let name_end = expression
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(expression.len());
        let (name, operator) = expression.split_at(name_end);
        let value = match profile.get(name) {
            Some(value) => (*value).to_owned(),
            None if operator.starts_with(":?") || operator.starts_with('?') => {
                panic!("{name} is required by {COMPOSE_FILE} but not in {COMPOSE_LOCAL_ENV}")
            }
            None => operator
                .strip_prefix(":-")
                .or_else(|| operator.strip_prefix('-'))
                .unwrap_or("")
                .to_owned(),
        };
        result.push_str(&value);
        rest = &after[end + 1..];
    }
    result.push_str(rest);
    result
}

/// Every container of the service: the Deployment's and the Job's in every kustomization
/// (ConfigMaps and Secrets resolved where the kustomization renders them), and every compose
/// service running the service's image.
fn service_envs() -> Vec<ServiceEnv> {
    let mut envs = Vec::new();
    for (name, objects) in kustomizations() {
        for kind in ["Deployment", "Job"] {
            for workload in find_kind(objects, kind) {
                if get_str(workload, &["metadata", "labels", "app.kubernetes.io/name"])
                    != Some(NAME_LABEL)
                {
                    continue;
                }
                for container in get_seq(workload, &["spec", "template", "spec", "containers"]) {
                    let mut vars = BTreeMap::new();
                    for source in get_seq(container, &["envFrom"]) {
                        if let Some(config_map) = get_str(source, &["configMapRef", "name"]) {
                            let object = find(objects, "ConfigMap", config_map).unwrap_or_else(|| {
                                panic!("{name}: {kind} refers to the missing ConfigMap {config_map}")
                            });
                            vars.extend(string_map(get(object, &["data"])));
                        }
                        if let Some(secret) = get_str(source, &["secretRef", "name"])
                            && let Some(object) = find(objects, "Secret", secret)
                        {
                            vars.extend(string_map(get(object, &["stringData"])));
                        }
                    }
                    for entry in get_seq(container, &["env"]) {
                        let key = get_str(entry, &["name"]).expect("env entries have names");
                        let value = get(entry, &["value"]).and_then(scalar_string);
                        vars.insert(key.to_owned(), value.unwrap_or_default());
                    }
                    envs.push(ServiceEnv {
                        origin: format!("{name}: {kind} {}", kind_and_name(workload).1),
                        vars,
                        args: get_seq(container, &["args"])
                            .iter()
                            .filter_map(scalar_string)
                            .collect(),
                    });
                }
            }
        }
    }
    let services = get_map(compose(), &["services"]).expect("compose services");
    for (name, service) in services {
        if get_str(service, &["image"]) != Some(COMPOSE_IMAGE) {
            continue;
        }
        let vars = match get(service, &["environment"]) {
            Some(Value::Sequence(list)) => list
                .iter()
                .filter_map(Value::as_str)
                .map(|entry| {
                    let (key, value) = entry.split_once('=').unwrap_or((entry, ""));
                    (key.to_owned(), interpolate(value))
                })
                .collect(),
            other => string_map(other)
                .into_iter()
                .map(|(key, value)| (key, interpolate(&value)))
                .collect(),
        };
        envs.push(ServiceEnv {
            origin: format!(
                "{COMPOSE_FILE}: service {}",
                name.as_str().unwrap_or_default()
            ),
            vars,
            args: get_seq(service, &["command"])
                .iter()
                .filter_map(scalar_string)
                .collect(),
        });
    }
    assert!(
        envs.len() >= 6,
        "expected the Deployment and Job of every kustomization and the compose services: {envs:?}"
    );
    envs
}

fn string_map(value: Option<&Value>) -> BTreeMap<String, String> {
    value
        .and_then(Value::as_mapping)
        .map(|map| {
            map.iter()
                .filter_map(|(key, value)| Some((key.as_str()?.to_owned(), scalar_string(value)?)))
                .collect()
        })
        .unwrap_or_default()
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

#[test]
fn every_setting_in_the_manifests_is_one_the_binary_reads() {
    let settings = binary_settings();
    assert!(settings.contains_key("ORDER_MANAGER_BIND"), "{settings:?}");
    let mut unknown = Vec::new();
    for env in service_envs() {
        for name in env.vars.keys() {
            if name != RUST_LOG && !settings.contains_key(name) {
                unknown.push(format!("{}: {name}", env.origin));
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "settings the binary does not read (see `order-manager --help`): {unknown:#?}"
    );
}

#[test]
fn every_value_in_the_manifests_is_accepted_by_the_binary() {
    let settings = binary_settings();
    for env in service_envs() {
        // The arguments the container runs with, plus every setting as its flag: clap's own
        // value parsers (addresses, numbers and their ranges, CIDR lists, enums) judge them.
        let mut argv = vec!["order-manager".to_owned()];
        argv.extend(env.args.iter().cloned());
        for (name, value) in &env.vars {
            if name == RUST_LOG {
                continue;
            }
            let Some(arg) = settings.get(name) else {
                continue; // reported by the test above
            };
            let long = arg.get_long().expect("every setting has a long flag");
            if arg.get_action().takes_values() {
                argv.push(format!("--{long}={value}"));
            } else if !matches!(value.as_str(), "" | "0" | "false" | "no" | "off") {
                argv.push(format!("--{long}"));
            }
        }
        if let Err(err) = Cli::try_parse_from(&argv) {
            panic!("{}: the binary refuses {argv:?}:\n{err}", env.origin);
        }
    }
}

#[test]
fn rust_log_is_read_by_the_binary_and_every_value_is_a_valid_filter() {
    assert_eq!(tracing_subscriber::EnvFilter::DEFAULT_ENV, RUST_LOG);
    let telemetry = read("crates/server/src/telemetry.rs");
    assert!(
        telemetry.contains("EnvFilter::try_from_default_env()"),
        "the server no longer reads RUST_LOG through EnvFilter::try_from_default_env"
    );
    for env in service_envs() {
        if let Some(filter) = env.vars.get(RUST_LOG) {
            tracing_subscriber::EnvFilter::try_new(filter)
                .unwrap_or_else(|e| panic!("{}: RUST_LOG={filter}: {e}", env.origin));
        }
    }
}

#[test]
fn the_probe_and_metrics_paths_are_routes_of_the_service() {
    let routes = read("crates/http/src/routes/mod.rs");
    for path in ["/healthz", "/readyz"] {
        assert!(
            routes.contains(&format!("web::resource(\"{path}\")")),
            "{path} is no longer a route of the service"
        );
    }
    let metrics = read("crates/server/src/metrics.rs");
    assert!(metrics.contains(".route(\"/metrics\""), "/metrics moved");
}

#[test]
fn ports_and_probes_match_the_listeners() {
    for (name, objects) in service_kustomizations() {
        let deployment = find(objects, "Deployment", NAME_LABEL).expect("the Deployment");
        let env = service_env(&format!("{name}: Deployment"));
        let http = port_of(&effective(&env, "ORDER_MANAGER_BIND"));
        let metrics = port_of(&effective(&env, "ORDER_MANAGER_METRICS_BIND"));
        assert_ne!(http, metrics, "{name}: the API and metrics share a port");

        let containers = get_seq(deployment, &["spec", "template", "spec", "containers"]);
        let container = &containers[0];
        let ports: BTreeMap<String, u64> = get_seq(container, &["ports"])
            .iter()
            .map(|port| {
                (
                    get_str(port, &["name"]).expect("named ports").to_owned(),
                    as_u64(get(port, &["containerPort"])),
                )
            })
            .collect();
        assert_eq!(
            ports.get("http"),
            Some(&u64::from(http)),
            "{name}: container port http"
        );
        assert_eq!(
            ports.get("metrics"),
            Some(&u64::from(metrics)),
            "{name}: container port metrics"
        );
        let resolve = |port: &Value| -> u64 {
            match port {
                Value::String(named) => *ports
                    .get(named)
                    .unwrap_or_else(|| panic!("{name}: no port {named}")),
                other => as_u64(Some(other)),
            }
        };
        for (probe, path) in [
            ("startupProbe", "/healthz"),
            ("livenessProbe", "/healthz"),
            ("readinessProbe", "/readyz"),
        ] {
            assert_eq!(
                get_str(container, &[probe, "httpGet", "path"]),
                Some(path),
                "{name}: {probe}"
            );
            let port = get(container, &[probe, "httpGet", "port"]).expect("probe port");
            assert_eq!(resolve(port), u64::from(http), "{name}: {probe} port");
        }

        let service = find(objects, "Service", NAME_LABEL).expect("the Service");
        let service_ports: BTreeMap<&str, (u64, u64)> = get_seq(service, &["spec", "ports"])
            .iter()
            .map(|port| {
                (
                    get_str(port, &["name"]).expect("named service ports"),
                    (
                        as_u64(get(port, &["port"])),
                        resolve(get(port, &["targetPort"]).expect("targetPort")),
                    ),
                )
            })
            .collect();
        assert_eq!(
            service_ports.get("http"),
            Some(&(u64::from(http), u64::from(http))),
            "{name}: Service http"
        );
        assert_eq!(
            service_ports.get("metrics"),
            Some(&(u64::from(metrics), u64::from(metrics))),
            "{name}: Service metrics"
        );

        // The Ingress routes to the API port only, never to the metrics.
        let ingress = find(objects, "Ingress", NAME_LABEL).expect("the Ingress");
        for rule in get_seq(ingress, &["spec", "rules"]) {
            for path in get_seq(rule, &["http", "paths"]) {
                let backend = get(path, &["backend", "service"]).expect("a service backend");
                assert_eq!(get_str(backend, &["name"]), Some(NAME_LABEL));
                let port = get(backend, &["port"]).expect("backend port");
                let target = get_str(port, &["name"]).map_or_else(
                    || as_u64(get(port, &["number"])),
                    |named| service_ports.get(named).expect("a Service port").0,
                );
                assert_eq!(
                    target,
                    u64::from(http),
                    "{name}: the Ingress must reach the API port"
                );
            }
        }

        // The NetworkPolicy admits the ingress controller to the API and Prometheus to metrics.
        let policy =
            find(objects, "NetworkPolicy", "order-manager-ingress").expect("ingress policy");
        let admitted: BTreeMap<String, u64> = get_seq(policy, &["spec", "ingress"])
            .iter()
            .map(|rule| {
                let namespace = get_seq(rule, &["from"])
                    .iter()
                    .find_map(|peer| {
                        get_str(
                            peer,
                            &[
                                "namespaceSelector",
                                "matchLabels",
                                "kubernetes.io/metadata.name",
                            ],
                        )
                    })
                    .expect("peers by namespace")
                    .to_owned();
                let ports = get_seq(rule, &["ports"]);
                assert_eq!(ports.len(), 1, "{name}: one port per peer");
                (namespace, as_u64(get(&ports[0], &["port"])))
            })
            .collect();
        assert_eq!(
            admitted,
            BTreeMap::from([
                ("ingress-nginx".to_owned(), u64::from(http)),
                ("monitoring".to_owned(), u64::from(metrics))
            ]),
            "{name}: NetworkPolicy ingress"
        );
    }
}

#[test]
fn the_image_matches_the_manifests() {
    let instructions = instructions(&read(DOCKERFILE));
    let last = |keyword: &str| {
        instructions
            .iter()
            .rfind(|instruction| instruction.keyword == keyword)
            .unwrap_or_else(|| panic!("no {keyword}"))
            .arguments
            .clone()
    };
    let exposed: BTreeSet<u16> = last("EXPOSE")
        .split_whitespace()
        .map(|port| port.trim_end_matches("/tcp").parse().expect("a port"))
        .collect();
    let env = last("ENV");
    let image_bind = word_after(&env, "ORDER_MANAGER_BIND=");
    let image_metrics = word_after(&env, "ORDER_MANAGER_METRICS_BIND=");
    assert_eq!(
        exposed,
        BTreeSet::from([port_of(image_bind), port_of(image_metrics)])
    );
    for env in service_envs() {
        assert_eq!(
            port_of(&effective(&env, "ORDER_MANAGER_BIND")),
            port_of(image_bind),
            "{}",
            env.origin
        );
        assert_eq!(
            port_of(&effective(&env, "ORDER_MANAGER_METRICS_BIND")),
            port_of(image_metrics),
            "{}",
            env.origin
        );
    }
    // The image's probe: the compiled healthcheck, on the liveness path.
    assert!(
        last("HEALTHCHECK").contains("\"/healthz\""),
        "{}",
        last("HEALTHCHECK")
    );
    let probe = read("deploy/healthcheck/healthcheck.rs");
    assert!(
        probe.contains("\"ORDER_MANAGER_BIND\""),
        "the probe finds the port as the server does"
    );
    assert!(binary_settings().contains_key("ORDER_MANAGER_BIND"));
}

#[test]
fn compose_matches_the_listeners() {
    let env = service_env(&format!("{COMPOSE_FILE}: service order-manager-1"));
    let http = port_of(&effective(&env, "ORDER_MANAGER_BIND"));
    let metrics = port_of(&effective(&env, "ORDER_MANAGER_METRICS_BIND"));
    let replicas: BTreeSet<String> = get_map(compose(), &["services"])
        .expect("services")
        .iter()
        .filter(|(_, service)| get_str(service, &["image"]) == Some(COMPOSE_IMAGE))
        .filter(|(_, service)| get(service, &["healthcheck"]).is_some())
        .map(|(name, _)| name.as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(replicas.len(), 2, "two replicas: {replicas:?}");
    for replica in &replicas {
        let test: Vec<String> = get_seq(compose_service(replica), &["healthcheck", "test"])
            .iter()
            .filter_map(scalar_string)
            .collect();
        assert_eq!(
            test,
            ["CMD", "/usr/local/bin/healthcheck", "/readyz"],
            "{replica}"
        );
    }
    // nginx sends to every replica, on the API port.
    let upstream: BTreeSet<String> = read(&format!("{NGINX_DIR}/upstream.conf"))
        .lines()
        .map(str::trim)
        .filter_map(|line| line.strip_prefix("server "))
        .map(|server| {
            let address = server
                .trim_end_matches(';')
                .split_whitespace()
                .next()
                .unwrap_or_default();
            let (host, port) = address.rsplit_once(':').expect("host:port");
            assert_eq!(
                port.parse::<u16>().ok(),
                Some(http),
                "nginx upstream {address}"
            );
            host.to_owned()
        })
        .collect();
    assert_eq!(
        upstream, replicas,
        "nginx's upstream.conf lists exactly the replicas"
    );
    // Prometheus (deploy/observability) scrapes every replica on the metrics port.
    let prometheus = read("deploy/observability/prometheus/prometheus.yml");
    let prometheus = documents(&prometheus).expect("prometheus.yml")[0].clone();
    let job = get_seq(&prometheus, &["scrape_configs"])
        .iter()
        .find(|job| get_str(job, &["job_name"]) == Some("order-manager"))
        .expect("the order-manager scrape job")
        .clone();
    let targets: BTreeSet<String> = get_seq(&job, &["static_configs"])
        .iter()
        .flat_map(|config| {
            get_seq(config, &["targets"])
                .iter()
                .filter_map(scalar_string)
        })
        .map(|target| {
            let (host, port) = target.rsplit_once(':').expect("host:port");
            assert_eq!(
                port.parse::<u16>().ok(),
                Some(metrics),
                "scrape target {target}"
            );
            host.to_owned()
        })
        .collect();
    assert_eq!(targets, replicas, "Prometheus scrapes exactly the replicas");
    // The data stores are services of the stack.
    for (variable, service, port) in [
        ("DATABASE_URL", "mysql", 3306),
        ("REDIS_URL", "redis", 6379),
    ] {
        let url = effective(&env, variable);
        let (host, url_port) = url_host_port(&url);
        assert_eq!(
            (host.as_str(), url_port),
            (service, Some(port)),
            "{variable}={url}"
        );
        assert!(get(compose(), &["services", service]).is_some());
    }
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

#[test]
fn the_proxy_limits_match_the_ingress_and_the_service() {
    let nginx = read(&format!("{NGINX_DIR}/order-manager.conf"));
    let nginx_body = nginx_size(word_after(&nginx, "client_max_body_size "));
    let nginx_rate: u64 = word_after(&nginx, "rate=")
        .trim_end_matches("r/s")
        .parse()
        .expect("rate");
    let nginx_burst: u64 = word_after(&nginx, "burst=").parse().expect("burst");
    let nginx_connections: u64 = word_after(&nginx, "limit_conn order_manager_conn ")
        .parse()
        .expect("conn");
    assert_eq!(word_after(&nginx, "limit_req_status "), "429");
    assert_eq!(word_after(&nginx, "limit_conn_status "), "429");
    assert!(
        nginx.contains("X-Forwarded-For $proxy_add_x_forwarded_for"),
        "nginx appends the client address"
    );

    for (name, objects) in service_kustomizations() {
        let ingress = find(objects, "Ingress", NAME_LABEL).expect("the Ingress");
        let body = nginx_size(annotation(
            ingress,
            "nginx.ingress.kubernetes.io/proxy-body-size",
        ));
        let rps: u64 = annotation(ingress, "nginx.ingress.kubernetes.io/limit-rps")
            .parse()
            .expect("rps");
        let multiplier: u64 = annotation(
            ingress,
            "nginx.ingress.kubernetes.io/limit-burst-multiplier",
        )
        .parse()
        .expect("multiplier");
        let connections: u64 = annotation(ingress, "nginx.ingress.kubernetes.io/limit-connections")
            .parse()
            .expect("conn");
        let env = service_env(&format!("{name}: Deployment"));
        let service_body: u64 = effective(&env, "ORDER_MANAGER_MAX_BODY_BYTES")
            .parse()
            .expect("bytes");
        assert_eq!(
            body, service_body,
            "{name}: Ingress proxy-body-size vs ORDER_MANAGER_MAX_BODY_BYTES"
        );
        assert_eq!(
            nginx_body, service_body,
            "{name}: nginx client_max_body_size"
        );
        assert_eq!(
            (nginx_rate, nginx_burst, nginx_connections),
            (rps, rps * multiplier, connections),
            "{name}: nginx limits vs Ingress"
        );
        assert!(get(ingress, &["spec", "tls"]).is_some(), "{name}: TLS");
        assert_eq!(
            annotation(ingress, "nginx.ingress.kubernetes.io/ssl-redirect"),
            "true"
        );
        assert!(annotation(ingress, "cert-manager.io/cluster-issuer").starts_with("letsencrypt"));
    }
    for env in service_envs() {
        let bytes: u64 = effective(&env, "ORDER_MANAGER_MAX_BODY_BYTES")
            .parse()
            .expect("bytes");
        assert_eq!(bytes, nginx_body, "{}", env.origin);
    }

    // The controller settings that make the annotations answer 429 and find the client.
    let (_, controller) = kustomizations()
        .iter()
        .find(|(name, _)| name.ends_with("ingress-nginx"))
        .expect("the ingress-nginx kustomization");
    let config =
        find(controller, "ConfigMap", "ingress-nginx-controller").expect("controller ConfigMap");
    let data = string_map(get(config, &["data"]));
    for (key, expected) in [
        ("limit-req-status-code", "429"),
        ("limit-conn-status-code", "429"),
        ("use-forwarded-headers", "true"),
        ("compute-full-forwarded-for", "true"),
    ] {
        assert_eq!(
            data.get(key).map(String::as_str),
            Some(expected),
            "controller {key}"
        );
    }
    let real_ip = data.get("proxy-real-ip-cidr").expect("proxy-real-ip-cidr");
    assert!(
        !real_ip.contains("0.0.0.0/0"),
        "trusting every source lets clients pick their address"
    );
    trusted_proxies(real_ip);
    assert!(
        nginx_size(&data["proxy-body-size"]) >= nginx_body,
        "the controller's own body limit"
    );
}

/// A list of CIDRs, parsed by the binary's own parser (`ORDER_MANAGER_TRUSTED_PROXIES`).
fn trusted_proxies(text: &str) -> http_api::TrustedProxies {
    text.parse()
        .unwrap_or_else(|e| panic!("`{text}` is not a list of CIDRs: {e}"))
}

#[test]
fn shutdown_fits_in_the_grace_periods() {
    for (name, objects) in service_kustomizations() {
        let deployment = find(objects, "Deployment", NAME_LABEL).expect("the Deployment");
        let env = service_env(&format!("{name}: Deployment"));
        let delay: u64 = effective(&env, "ORDER_MANAGER_SHUTDOWN_DELAY_SECS")
            .parse()
            .expect("secs");
        let timeout: u64 = effective(&env, "ORDER_MANAGER_SHUTDOWN_TIMEOUT_SECS")
            .parse()
            .expect("secs");
        let grace = as_u64(get(
            deployment,
            &["spec", "template", "spec", "terminationGracePeriodSeconds"],
        ));
        let container = &get_seq(deployment, &["spec", "template", "spec", "containers"])[0];
        let pre_stop = as_u64(get(
            container,
            &["lifecycle", "preStop", "sleep", "seconds"],
        ));
        assert!(
            grace > pre_stop + delay + timeout,
            "{name}: terminationGracePeriodSeconds {grace} must exceed preStop {pre_stop} + shutdown \
             delay {delay} + shutdown timeout {timeout}"
        );
        assert!(
            delay > 0 || pre_stop > 0,
            "{name}: the pod must leave the endpoints before closing"
        );
    }
    for replica in ["order-manager-1", "order-manager-2"] {
        let env = service_env(&format!("{COMPOSE_FILE}: service {replica}"));
        let delay: u64 = effective(&env, "ORDER_MANAGER_SHUTDOWN_DELAY_SECS")
            .parse()
            .expect("secs");
        let timeout: u64 = effective(&env, "ORDER_MANAGER_SHUTDOWN_TIMEOUT_SECS")
            .parse()
            .expect("secs");
        let grace =
            get_str(compose_service(replica), &["stop_grace_period"]).expect("stop_grace_period");
        let grace: u64 = grace.trim_end_matches('s').parse().expect("seconds");
        assert!(
            grace > delay + timeout,
            "{replica}: stop_grace_period {grace}s"
        );
    }
}

#[test]
fn trusted_proxies_name_the_proxy() {
    for env in service_envs() {
        let proxies = effective(&env, "ORDER_MANAGER_TRUSTED_PROXIES");
        assert!(
            !proxies.trim().is_empty(),
            "{}: X-Forwarded-For would be ignored behind the proxy",
            env.origin
        );
        let parsed = trusted_proxies(&proxies);
        if env.origin.starts_with(COMPOSE_FILE) {
            let nginx_ip = get_str(
                compose_service("nginx"),
                &["networks", "default", "ipv4_address"],
            )
            .expect("nginx has a fixed address");
            assert!(
                parsed.contains(nginx_ip.parse().expect("an IP")),
                "{}: {proxies} must contain nginx's {nginx_ip}",
                env.origin
            );
            assert!(
                !parsed.contains("172.28.0.20".parse().expect("an IP")),
                "only nginx is trusted"
            );
        }
    }
}

#[test]
fn the_data_stores_are_the_ones_deployed() {
    let (_, base) = kustomizations()
        .iter()
        .find(|(name, _)| name.ends_with("/base"))
        .expect("the base");
    let secret = find(base, "Secret", "order-manager-secrets").expect("the Secret template");
    let secrets = string_map(get(secret, &["stringData"]));

    let pxc = find_kind(base, "PerconaXtraDBCluster");
    assert_eq!(pxc.len(), 1, "one PerconaXtraDBCluster");
    let pxc = pxc[0];
    let cluster = kind_and_name(pxc).1;
    assert_eq!(
        as_u64(get(pxc, &["spec", "pxc", "size"])),
        3,
        "three PXC nodes"
    );
    assert_eq!(
        get(pxc, &["spec", "haproxy", "enabled"]),
        Some(&Value::Bool(true)),
        "HAProxy"
    );
    assert_ne!(
        get(pxc, &["spec", "proxysql", "enabled"]),
        Some(&Value::Bool(true))
    );
    assert!(
        !get_seq(pxc, &["spec", "backup", "schedule"]).is_empty(),
        "scheduled backups"
    );
    let (host, port) = url_host_port(&secrets["DATABASE_URL"]);
    assert_eq!(
        (host.as_str(), port),
        (format!("{cluster}-haproxy").as_str(), Some(3306)),
        "DATABASE_URL goes through the single-writer HAProxy service"
    );
    assert!(secrets["DATABASE_URL"].starts_with("mysql://"));

    let redis = find_kind(base, "RedisFailover");
    assert_eq!(redis.len(), 1, "one RedisFailover");
    let redis = redis[0];
    let redis_name = kind_and_name(redis).1;
    // The master's TLS port, through a Service of the same selector as the operator's rfrm-
    // (deploy_check::store_tls follows the URL to Redis's `tls-port`).
    let (host, port) = url_host_port(&secrets["REDIS_URL"]);
    assert_eq!(
        (host.as_str(), port),
        (format!("{redis_name}-tls").as_str(), Some(6380)),
        "REDIS_URL: the master's TLS service"
    );
    let tls_service = find(base, "Service", &host).expect("the Redis TLS Service");
    assert_eq!(
        get_str(tls_service, &["spec", "selector", "redisfailovers-role"]),
        Some("master"),
        "the TLS Service follows the master"
    );
    let auth = get_str(redis, &["spec", "auth", "secretPath"]).expect("Redis auth");
    assert!(
        find(base, "Secret", auth).is_some(),
        "the Redis auth Secret template"
    );

    // Egress: exactly the database's HAProxy, Redis's TLS port, and DNS.
    for (name, objects) in service_kustomizations() {
        let policy = find(objects, "NetworkPolicy", "order-manager-egress").expect("egress policy");
        assert_eq!(
            get_seq(policy, &["spec", "policyTypes"]),
            [Value::from("Egress")]
        );
        let mut allowed = BTreeSet::new();
        for rule in get_seq(policy, &["spec", "egress"]) {
            let peer = &get_seq(rule, &["to"])[0];
            let labels = string_map(get(peer, &["podSelector", "matchLabels"]));
            for port in get_seq(rule, &["ports"]) {
                allowed.insert((
                    labels.clone().into_iter().collect::<Vec<_>>(),
                    get_str(port, &["protocol"]).unwrap_or("TCP").to_owned(),
                    as_u64(get(port, &["port"])),
                ));
            }
        }
        let has = |label: (&str, &str), protocol: &str, port: u64| {
            allowed.iter().any(|(labels, p, n)| {
                labels.contains(&(label.0.to_owned(), label.1.to_owned()))
                    && p == protocol
                    && *n == port
            })
        };
        assert!(
            has(("app.kubernetes.io/instance", cluster), "TCP", 3306),
            "{name}: egress to the database"
        );
        assert!(
            has(("app.kubernetes.io/component", "haproxy"), "TCP", 3306),
            "{name}: to HAProxy only"
        );
        assert!(
            has(("app.kubernetes.io/name", redis_name), "TCP", 6380),
            "{name}: egress to Redis over TLS"
        );
        for plain in [6379, 26379] {
            assert!(
                !has(("app.kubernetes.io/name", redis_name), "TCP", plain),
                "{name}: no egress to Redis's plain port {plain}"
            );
        }
        assert!(
            has(("k8s-app", "kube-dns"), "UDP", 53),
            "{name}: DNS over UDP"
        );
        assert!(
            has(("k8s-app", "kube-dns"), "TCP", 53),
            "{name}: DNS over TCP"
        );
        assert_eq!(allowed.len(), 4, "{name}: nothing else: {allowed:?}");
    }
}

#[test]
fn secrets_are_templates_and_overlays_leave_them_out() {
    let settings = binary_settings();
    for (name, objects) in kustomizations() {
        let secrets = find_kind(objects, "Secret");
        if name.ends_with("/base") {
            for secret in secrets {
                for (key, value) in string_map(get(secret, &["stringData"])) {
                    // A placeholder, or a setting that is no secret itself (the key id).
                    let not_secret = settings
                        .get(&key)
                        .is_some_and(|arg| !arg.is_hide_env_values_set())
                        && !key.ends_with("_URL");
                    assert!(
                        value.is_empty() || value.contains("REPLACE") || not_secret,
                        "{name}: {key} looks like a real secret"
                    );
                }
                assert!(
                    get(secret, &["data"]).is_none(),
                    "{name}: only readable placeholders"
                );
            }
            let secret = find(objects, "Secret", "order-manager-secrets").expect("template");
            let jwt =
                get_str(secret, &["stringData", "ORDER_MANAGER_JWT_SECRET"]).expect("JWT secret");
            assert!(
                jwt.len() < 32,
                "the placeholder must be too short for the binary to start with it"
            );
        } else {
            assert!(
                secrets.is_empty(),
                "{name} must not apply Secrets: they are created out of band"
            );
        }
    }
    // Nothing secret in a ConfigMap.
    for (name, objects) in kustomizations() {
        for config_map in find_kind(objects, "ConfigMap") {
            for key in string_map(get(config_map, &["data"])).keys() {
                if let Some(arg) = settings.get(key) {
                    assert!(
                        !arg.is_hide_env_values_set(),
                        "{name}: {key} is a secret, not a ConfigMap setting"
                    );
                }
                assert!(
                    key != "DATABASE_URL" && key != "REDIS_URL",
                    "{name}: {key} holds a password"
                );
            }
        }
    }
}

/// The pods of PXC, its HAProxy and Redis: a NetworkPolicy selects each (so every other
/// connection is denied), and the service's pods are admitted to HAProxy and Redis only.
#[test]
fn the_data_stores_admit_only_the_service_their_own_pods_and_their_operators() {
    let mut checked = 0;
    for (name, objects) in service_kustomizations() {
        checked += 1;
        let policies = find_kind(objects, "NetworkPolicy");
        // The ingress peers a policy admits for pods with these labels, and on which ports.
        let admitted = |selected: &[(&str, &str)]| -> Vec<(BTreeMap<String, String>, Vec<u64>)> {
            let policy = policies
                .iter()
                .find(|policy| {
                    let labels = string_map(get(policy, &["spec", "podSelector", "matchLabels"]));
                    selected
                        .iter()
                        .all(|(k, v)| labels.get(*k).map(String::as_str) == Some(*v))
                        && labels.len() == selected.len()
                })
                .unwrap_or_else(|| panic!("{name}: no NetworkPolicy selects {selected:?}"));
            assert!(
                get_seq(policy, &["spec", "policyTypes"])
                    .iter()
                    .any(|t| t.as_str() == Some("Ingress")),
                "{name}: {selected:?} must deny ingress by default"
            );
            get_seq(policy, &["spec", "ingress"])
                .iter()
                .flat_map(|rule| {
                    let ports: Vec<u64> = get_seq(rule, &["ports"])
                        .iter()
                        .map(|port| as_u64(get(port, &["port"])))
                        .collect();
                    get_seq(rule, &["from"])
                        .iter()
                        .map(|peer| {
                            (
                                string_map(get(peer, &["podSelector", "matchLabels"])),
                                ports.clone(),
                            )
                        })
                        .collect::<Vec<_>>()
                })
                .collect()
        };
        let service = |labels: &BTreeMap<String, String>| {
            labels.get("app.kubernetes.io/name").map(String::as_str) == Some("order-manager")
        };
        let operator = |labels: &BTreeMap<String, String>| {
            labels.get("app.kubernetes.io/name").map(String::as_str)
                == Some("percona-xtradb-cluster-operator")
                || labels.get("app").map(String::as_str) == Some("redisoperator")
        };
        let pxc = admitted(&[
            ("app.kubernetes.io/instance", "order-manager-db"),
            ("app.kubernetes.io/component", "pxc"),
        ]);
        let haproxy = admitted(&[
            ("app.kubernetes.io/instance", "order-manager-db"),
            ("app.kubernetes.io/component", "haproxy"),
        ]);
        let redis = admitted(&[
            ("app.kubernetes.io/name", "order-manager-redis"),
            ("app.kubernetes.io/part-of", "redis-failover"),
        ]);
        assert!(
            !pxc.iter().any(|(labels, _)| service(labels)),
            "{name}: the service reaches the PXC nodes only through HAProxy"
        );
        assert!(
            haproxy
                .iter()
                .any(|(labels, ports)| service(labels) && ports == &[3306]),
            "{name}: the service reaches HAProxy on 3306"
        );
        assert!(
            redis
                .iter()
                .filter(|(labels, _)| service(labels))
                .all(|(_, ports)| ports == &[6380])
                && redis.iter().any(|(labels, _)| service(labels)),
            "{name}: the service reaches Redis on its TLS port only"
        );
        for (store, peers) in [("pxc", &pxc), ("haproxy", &haproxy), ("redis", &redis)] {
            for (labels, _) in peers {
                let own = labels.get("app.kubernetes.io/instance").map(String::as_str)
                    == Some("order-manager-db")
                    || labels.get("app.kubernetes.io/name").map(String::as_str)
                        == Some("order-manager-redis");
                assert!(
                    !labels.is_empty() && (service(labels) || operator(labels) || own),
                    "{name}: {store} admits an unexpected peer {labels:?}"
                );
            }
        }
    }
    assert_eq!(checked, 3, "the base and both overlays");
}
