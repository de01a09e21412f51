//! The proxies in front of the service: limits, trusted networks, and shutdown within the
//! grace periods.

use deploy_checks::compose::COMPOSE_FILE;
use deploy_checks::deployed_env::string_map;
use deploy_checks::manifest::{get_seq, get_str};
use deploy_checks::nginx::NGINX_DIR;

use super::*;

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

/// The shutdown delay and timeout the binary uses in `env`, in seconds.
fn shutdown_secs(env: &ServiceEnv) -> (u64, u64) {
    let secs = |name| effective(env, name).parse::<u64>().expect("secs");
    (
        secs("ORDER_MANAGER_SHUTDOWN_DELAY_SECS"),
        secs("ORDER_MANAGER_SHUTDOWN_TIMEOUT_SECS"),
    )
}

#[test]
fn shutdown_fits_in_the_grace_periods() {
    for (name, objects) in service_kustomizations() {
        let deployment = find(objects, "Deployment", NAME_LABEL).expect("the Deployment");
        let env = service_env(&format!("{name}: Deployment"));
        let (delay, timeout) = shutdown_secs(&env);
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
        let (delay, timeout) = shutdown_secs(&env);
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
