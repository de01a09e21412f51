//! The data stores: the ones deployed, reached as intended, their secrets kept out of the
//! manifests, and their pods admitting only the service and their operators.

use std::collections::{BTreeMap, BTreeSet};

use deploy_checks::deployed_env::{find_kind, string_map};
use deploy_checks::manifest::{get_seq, get_str, kind_and_name};

use super::*;

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
