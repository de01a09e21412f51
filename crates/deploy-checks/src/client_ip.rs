//! The real client IP through the production proxy chain. Behind a cloud load balancer,
//! ingress-nginx (`use-forwarded-headers`, `compute-full-forwarded-for`) believes the
//! balancer's `X-Forwarded-For` only from `proxy-real-ip-cidr`, and appends the balancer's own
//! address. The service then finds the client only if it trusts the controller pods *and*
//! `proxy-real-ip-cidr`; trusting the pods alone makes the balancer every client (one shared
//! rate-limit budget for everyone). So in every overlay, each network of the controller's
//! `proxy-real-ip-cidr` must lie within the service's `ORDER_MANAGER_TRUSTED_PROXIES`.

use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use ipnet::IpNet;

use crate::kubernetes::{overlays, render};
use crate::manifest::{documents, get_map, get_str, scalar_string};
use crate::relative;
use crate::tools::Venv;

pub fn check(tools: &Venv, root: &Path) -> Result<()> {
    for overlay in &overlays(root)? {
        let name = relative(overlay, root).display().to_string();
        let controller = overlay.join("ingress-nginx");
        if !controller.join("kustomization.yaml").is_file() {
            bail!(
                "{name} has no ingress-nginx/kustomization.yaml: every overlay sets its \
                 cluster's proxy-real-ip-cidr next to the networks the service trusts"
            );
        }
        let trusted = config_value(&render(tools, overlay)?, "ORDER_MANAGER_TRUSTED_PROXIES")
            .with_context(|| format!("{name}: the service's settings"))?;
        let real_ip = config_value(&render(tools, &controller)?, "proxy-real-ip-cidr")
            .with_context(|| format!("{name}/ingress-nginx: the controller's settings"))?;
        trusted_covers(&trusted, &real_ip).map_err(|problem| anyhow!("{name}: {problem}"))?;
        eprintln!(
            "deploy-checks: {name}: proxy-real-ip-cidr {real_ip} is within ORDER_MANAGER_TRUSTED_PROXIES {trusted}"
        );
    }
    Ok(())
}

/// The value of `key` in the one ConfigMap of `yaml` that has it.
fn config_value(yaml: &str, key: &str) -> Result<String> {
    let found: Vec<String> = documents(yaml)?
        .iter()
        .filter(|doc| get_str(doc, &["kind"]) == Some("ConfigMap"))
        .filter_map(|doc| get_map(doc, &["data"]))
        .filter_map(|data| data.get(key).and_then(scalar_string))
        .collect();
    match found.as_slice() {
        [value] => Ok(value.clone()),
        [] => bail!("no ConfigMap sets {key}"),
        _ => bail!("several ConfigMaps set {key}: {found:?}"),
    }
}

/// Whether every network of `real_ip_cidr` (comma-separated) lies within one of `trusted`
/// (comma-separated CIDRs or addresses, as the service reads them).
pub fn trusted_covers(trusted: &str, real_ip_cidr: &str) -> Result<(), String> {
    let trusted = networks(trusted)?;
    for network in networks(real_ip_cidr)? {
        if !trusted.iter().any(|outer| outer.contains(&network)) {
            return Err(format!(
                "the controller believes X-Forwarded-For from {network} (proxy-real-ip-cidr) and \
                 appends that hop's address, but the service does not trust {network}: every \
                 client would look like the load balancer. Add it to \
                 ORDER_MANAGER_TRUSTED_PROXIES."
            ));
        }
    }
    Ok(())
}

fn networks(list: &str) -> Result<Vec<IpNet>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            entry
                .parse::<IpNet>()
                .or_else(|_| entry.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| format!("`{entry}` is neither a CIDR nor an address"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_load_balancer_network_must_be_trusted_by_the_service() {
        // The pair the security review found: the pods trusted, the balancer not.
        assert!(trusted_covers("10.244.0.0/16", "10.0.0.0/16").is_err());
        assert!(trusted_covers("10.244.0.0/16,10.0.0.0/16", "10.0.0.0/16").is_ok());
        // Within a wider trusted network, or several, or single addresses.
        assert!(trusted_covers("10.0.0.0/8", "10.0.0.0/16, 10.1.2.3").is_ok());
        assert!(trusted_covers("10.244.0.0/16, 10.0.0.0/24", "10.0.0.0/16").is_err());
        assert!(trusted_covers("10.0.0.0/8", "not-a-cidr").is_err());
    }

    #[test]
    fn finds_the_one_config_map_value() {
        let yaml = "kind: ConfigMap\ndata:\n  a: \"1\"\n---\nkind: Service\ndata:\n  a: \"2\"\n";
        assert_eq!(config_value(yaml, "a").ok().as_deref(), Some("1"));
        assert!(config_value(yaml, "b").is_err());
        let twice = "kind: ConfigMap\ndata:\n  a: x\n---\nkind: ConfigMap\ndata:\n  a: y\n";
        assert!(config_value(twice, "a").is_err());
    }
}
