//! Ports, probes and routes: the manifests, the image, compose, nginx and Prometheus agree
//! with the listeners of the service.

use std::collections::{BTreeMap, BTreeSet};

use deploy_checks::compose::COMPOSE_FILE;
use deploy_checks::deployed_env::COMPOSE_IMAGE;
use deploy_checks::dockerfile::{DOCKERFILE, instructions};
use deploy_checks::manifest::{get_map, get_seq, get_str, scalar_string};
use deploy_checks::nginx::NGINX_DIR;

use super::*;

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
