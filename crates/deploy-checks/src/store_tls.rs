//! TLS to the data stores, as the manifests wire it. The Secret templates' URLs must ask for
//! verified TLS (`ssl-mode=VERIFY_IDENTITY` with `ssl-ca`, `rediss://` with `ssl_ca_certs`), and
//! in the base and every overlay the CA files they name must exist in the pods that read them:
//! mounted from a Secret's `ca.crt`, the one the PXC operator fills (`sslSecretName`) or the one
//! Redis serves its certificate from. The database must refuse plain connections, name the host
//! the service connects to in its certificate, and Redis must listen for TLS on the port the URL's
//! Service leads to. Any of these wrong, and the pods fail at start or fall back to plain text.

use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use serde_yaml_ng::Value;
use url::Url;

use crate::kubernetes::{overlays, render};
use crate::manifest::{documents, get, get_map, get_seq, get_str, scalar_string};
use crate::relative;
use crate::tools::Venv;

const BASE: &str = "deploy/k8s/base";

/// The Secret templates and the variables of theirs that must use TLS.
const RUNTIME_SECRET: &str = "order-manager-secrets";
const MIGRATE_SECRET: &str = "order-manager-migrate-secrets";
/// The workloads that read them.
const DEPLOYMENT: (&str, &str) = ("Deployment", "order-manager");
const MIGRATE_JOB: (&str, &str) = ("Job", "order-manager-migrate");

pub fn check(tools: &Venv, root: &Path) -> Result<()> {
    let base = documents(&render(tools, &root.join(BASE))?)?;
    let urls = StoreUrls::from_templates(&base)?;
    urls.check()?;
    let mut targets = vec![(BASE.to_owned(), base)];
    for overlay in overlays(root)? {
        let name = relative(&overlay, root).display().to_string();
        targets.push((name, documents(&render(tools, &overlay)?)?));
    }
    for (name, objects) in &targets {
        wiring(objects, &urls).map_err(|problem| anyhow!("{name}: {problem}"))?;
        eprintln!("deploy-checks: {name}: MySQL and Redis over verified TLS, CA files mounted");
    }
    Ok(())
}

/// The URLs of the Secret templates.
#[derive(Debug)]
struct StoreUrls {
    database: Url,
    migrate_database: Url,
    redis: Url,
}

impl StoreUrls {
    fn from_templates(objects: &[Value]) -> Result<Self> {
        let value = |secret: &str, key: &str| -> Result<Url> {
            let object = find(objects, "Secret", secret).map_err(|problem| anyhow!(problem))?;
            let text = get(object, &["stringData", key])
                .and_then(scalar_string)
                .with_context(|| format!("{secret} sets no {key}"))?;
            Url::parse(&text).with_context(|| format!("{secret}'s {key} is not a URL"))
        };
        Ok(Self {
            database: value(RUNTIME_SECRET, "DATABASE_URL")?,
            migrate_database: value(MIGRATE_SECRET, "DATABASE_URL")?,
            redis: value(RUNTIME_SECRET, "REDIS_URL")?,
        })
    }

    /// The URLs alone ask for verified TLS.
    fn check(&self) -> Result<()> {
        for (what, url) in [
            ("DATABASE_URL", &self.database),
            ("the migration's DATABASE_URL", &self.migrate_database),
        ] {
            if query(url, "ssl-mode").as_deref() != Some("VERIFY_IDENTITY") {
                bail!(
                    "{what} must verify the server's certificate and name \
                     (ssl-mode=VERIFY_IDENTITY); without it the driver encrypts only if offered \
                     and verifies nothing"
                );
            }
            if query(url, "ssl-ca").is_none() {
                bail!("{what} names no CA file (ssl-ca=/path/ca.crt)");
            }
        }
        if self.redis.scheme() != "rediss" {
            bail!(
                "REDIS_URL must use TLS (rediss://), not {}://",
                self.redis.scheme()
            );
        }
        if query(&self.redis, "ssl_ca_certs").is_none() {
            bail!("REDIS_URL names no CA file (?ssl_ca_certs=/path/ca.crt)");
        }
        Ok(())
    }
}

/// One rendering's wiring of the URLs.
fn wiring(objects: &[Value], urls: &StoreUrls) -> Result<(), String> {
    let deployment = find(objects, DEPLOYMENT.0, DEPLOYMENT.1)?;
    let job = find(objects, MIGRATE_JOB.0, MIGRATE_JOB.1)?;
    let mysql_ca = query(&urls.database, "ssl-ca").unwrap_or_default();
    let redis_ca = query(&urls.redis, "ssl_ca_certs").unwrap_or_default();
    let mysql_secret = mounted_ca_secret(deployment, &mysql_ca)?;
    let redis_secret = mounted_ca_secret(deployment, &redis_ca)?;
    let migrate_ca = query(&urls.migrate_database, "ssl-ca").unwrap_or_default();
    let migrate_secret = mounted_ca_secret(job, &migrate_ca)?;
    if migrate_secret != mysql_secret {
        return Err(format!(
            "the migration Job trusts the Secret {migrate_secret}, the API {mysql_secret}"
        ));
    }
    pxc(objects, &urls.database, &mysql_secret)?;
    redis(objects, &urls.redis, &redis_secret)
}

/// The PXC cluster issues its certificate into `secret`, for the host the service connects to,
/// and refuses plain connections.
fn pxc(objects: &[Value], url: &Url, secret: &str) -> Result<(), String> {
    let cluster = only(objects, "PerconaXtraDBCluster")?;
    if get(cluster, &["spec", "tls", "enabled"]).and_then(Value::as_bool) != Some(true) {
        return Err("the PerconaXtraDBCluster does not set spec.tls.enabled: true".to_owned());
    }
    let issued = get_str(cluster, &["spec", "pxc", "sslSecretName"]).unwrap_or_default();
    if issued != secret {
        return Err(format!(
            "the service trusts the CA of the Secret {secret}, but the PXC operator issues into \
             {issued:?} (spec.pxc.sslSecretName)"
        ));
    }
    let host = url.host_str().unwrap_or_default();
    let names: Vec<&str> = get_seq(cluster, &["spec", "tls", "SANs"])
        .iter()
        .filter_map(Value::as_str)
        .collect();
    if !names.contains(&host) {
        return Err(format!(
            "DATABASE_URL connects to {host}, which the PXC certificate does not name \
             (spec.tls.SANs: {names:?}): VERIFY_IDENTITY would refuse it"
        ));
    }
    let configuration = get_str(cluster, &["spec", "pxc", "configuration"]).unwrap_or_default();
    if !configuration
        .lines()
        .any(|line| line.trim().replace(['-', ' '], "_") == "require_secure_transport=ON")
    {
        return Err(
            "the PXC configuration does not refuse plain connections (require_secure_transport=ON)"
                .to_owned(),
        );
    }
    Ok(())
}

/// Redis listens for TLS, with the certificate of `secret`, on the port REDIS_URL's Service
/// leads to.
fn redis(objects: &[Value], url: &Url, secret: &str) -> Result<(), String> {
    let host = url.host_str().unwrap_or_default();
    let port = url.port().unwrap_or(6379);
    let service = find(objects, "Service", host)
        .map_err(|_| format!("REDIS_URL connects to {host}, a Service the manifests lack"))?;
    let target = get_seq(service, &["spec", "ports"])
        .iter()
        .find(|entry| get(entry, &["port"]).and_then(Value::as_u64) == Some(u64::from(port)))
        .and_then(|entry| get(entry, &["targetPort"]).or_else(|| get(entry, &["port"])))
        .and_then(scalar_string)
        .ok_or_else(|| format!("the Service {host} has no port {port}"))?;
    let failover = only(objects, "RedisFailover")?;
    let config: Vec<String> = get_seq(failover, &["spec", "redis", "customConfig"])
        .iter()
        .filter_map(Value::as_str)
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    if !config.contains(&format!("tls-port {target}")) {
        return Err(format!(
            "REDIS_URL leads to port {target} of the Redis pods, where Redis does not listen for \
             TLS (customConfig has no `tls-port {target}`)"
        ));
    }
    let mounted = get_seq(failover, &["spec", "redis", "extraVolumes"])
        .iter()
        .filter(|volume| get_str(volume, &["secret", "secretName"]) == Some(secret))
        .filter_map(|volume| get_str(volume, &["name"]))
        .find_map(|volume| {
            get_seq(failover, &["spec", "redis", "extraVolumeMounts"])
                .iter()
                .find(|mount| get_str(mount, &["name"]) == Some(volume))
                .and_then(|mount| get_str(mount, &["mountPath"]))
        })
        .ok_or_else(|| format!("Redis does not mount the Secret {secret} (extraVolumes)"))?;
    for (key, file) in [("tls-cert-file", "tls.crt"), ("tls-key-file", "tls.key")] {
        let expected = format!("{key} {}/{file}", mounted.trim_end_matches('/'));
        if !config.contains(&expected) {
            return Err(format!("Redis's customConfig lacks `{expected}`"));
        }
    }
    Ok(())
}

/// The Secret whose `ca.crt` the pod template of `workload` mounts at `path` (read-only, ca.crt
/// alone: the pods need no key).
fn mounted_ca_secret(workload: &Value, path: &str) -> Result<String, String> {
    let (dir, file) = path
        .rsplit_once('/')
        .ok_or_else(|| format!("the CA file {path} is not an absolute path"))?;
    let spec = get(workload, &["spec", "template", "spec"]).ok_or("a workload without a pod")?;
    let volume = get_seq(spec, &["containers"])
        .iter()
        .flat_map(|container| get_seq(container, &["volumeMounts"]))
        .find(|mount| get_str(mount, &["mountPath"]).map(|p| p.trim_end_matches('/')) == Some(dir))
        .and_then(|mount| get_str(mount, &["name"]))
        .ok_or_else(|| {
            format!("nothing is mounted at {dir}, where the CA file {path} should be")
        })?;
    let source = get_seq(spec, &["volumes"])
        .iter()
        .find(|entry| get_str(entry, &["name"]) == Some(volume))
        .and_then(|entry| get_map(entry, &["secret"]))
        .ok_or_else(|| format!("the volume {volume} at {dir} is not a Secret"))?;
    let secret = source
        .get("secretName")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("the volume {volume} names no Secret"))?;
    let items = source
        .get("items")
        .and_then(Value::as_sequence)
        .ok_or_else(|| format!("the volume {volume} mounts all of {secret}: list ca.crt alone"))?;
    let maps_ca = items
        .iter()
        .all(|item| get_str(item, &["key"]) == Some("ca.crt"))
        && items
            .iter()
            .any(|item| get_str(item, &["path"]) == Some(file));
    if !maps_ca {
        return Err(format!(
            "the volume {volume} must mount the key ca.crt of {secret} alone, as {file}"
        ));
    }
    Ok(secret.to_owned())
}

fn query(url: &Url, key: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> Result<&'a Value, String> {
    objects
        .iter()
        .find(|object| {
            get_str(object, &["kind"]) == Some(kind)
                && get_str(object, &["metadata", "name"]) == Some(name)
        })
        .ok_or_else(|| format!("no {kind} {name}"))
}

fn only<'a>(objects: &'a [Value], kind: &str) -> Result<&'a Value, String> {
    let mut found = objects
        .iter()
        .filter(|object| get_str(object, &["kind"]) == Some(kind));
    match (found.next(), found.next()) {
        (Some(object), None) => Ok(object),
        (None, _) => Err(format!("no {kind}")),
        (Some(_), Some(_)) => Err(format!("more than one {kind}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Vec<Value> {
        let root = crate::repo_root();
        let dir = root.join(BASE);
        let mut text = String::new();
        for file in [
            "secret.template.yaml",
            "deployment.yaml",
            "migrate-job.yaml",
            "percona-xtradb-cluster.yaml",
            "redis-failover.yaml",
            "redis-tls.yaml",
        ] {
            text.push_str(&std::fs::read_to_string(dir.join(file)).unwrap_or_default());
            text.push_str("\n---\n");
        }
        documents(&text).unwrap_or_else(|err| panic!("{err:#}"))
    }

    fn edited(edit: impl Fn(&str) -> String) -> (Vec<Value>, Result<(), String>) {
        let objects: Vec<Value> = base()
            .into_iter()
            .map(|object| {
                let yaml = serde_yaml_ng::to_string(&object).unwrap_or_default();
                serde_yaml_ng::from_str(&edit(&yaml)).unwrap_or_else(|err| panic!("{err}"))
            })
            .collect();
        let result = StoreUrls::from_templates(&objects)
            .map_err(|err| format!("{err:#}"))
            .and_then(|urls| {
                urls.check().map_err(|err| format!("{err:#}"))?;
                wiring(&objects, &urls)
            });
        (objects, result)
    }

    #[test]
    fn the_shipped_base_is_wired() {
        let (_, result) = edited(str::to_owned);
        assert_eq!(result, Ok(()));
    }

    #[test]
    fn each_broken_link_is_named() {
        for (from, to, expected) in [
            (
                "ssl-mode=VERIFY_IDENTITY",
                "ssl-mode=PREFERRED",
                "VERIFY_IDENTITY",
            ),
            ("rediss://", "redis://", "rediss://"),
            ("tls-port 6380", "tls-port 6390", "tls-port 6380"),
            ("enabled: true", "enabled: false", "spec.tls.enabled"),
            (
                "require_secure_transport=ON",
                "max_connections=501",
                "require_secure_transport",
            ),
            (
                "- order-manager-db-haproxy\n",
                "- elsewhere\n",
                "does not name",
            ),
            (
                "mountPath: /etc/order-manager/tls/redis",
                "mountPath: /etc/x",
                "nothing is mounted",
            ),
            (
                "sslSecretName: order-manager-db-ssl",
                "sslSecretName: other",
                "issues into",
            ),
        ] {
            let (_, result) = edited(|yaml| yaml.replace(from, to));
            let problem = result.err().unwrap_or_default();
            assert!(problem.contains(expected), "{from} -> {to}: {problem:?}");
        }
    }
}
