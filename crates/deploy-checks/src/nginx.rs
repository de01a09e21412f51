//! `nginx -t` on deploy/nginx/, in both of its uses.
//!
//! The shared file `order-manager.conf` includes `upstream.conf` and `tls.conf` by relative
//! path, which nginx resolves against the directory of the main file. Two checks:
//! - as docker-compose runs it: a copy of the directory with `upstream.conf` and `tls.conf`
//!   replaced by local ones (the compose host names do not resolve here, and the certificate
//!   is made by the compose stack);
//! - as a local nginx uses it: a scratch main file that includes the shared file by absolute
//!   path, with its own `upstream.conf` and `tls.conf` beside it.
//!
//! nginx and openssl come from the xtask preflight (`cargo xtask deploy-check` installs them).

use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use testkit::ca::TestCa;

use crate::command::{describe_output, output};
use crate::tools::{INSTALL_DEPLOY_TOOLS, system_program};

pub const NGINX_DIR: &str = "deploy/nginx";
/// The site configuration that terminates TLS.
const SITE: &str = "order-manager.conf";

/// Mozilla's "intermediate" TLS settings for nginx (guideline 5.7), less the DHE suites that
/// need a dhparam file: the directive and its exact value.
const INTERMEDIATE_TLS: [(&str, &str); 5] = [
    ("ssl_protocols", "TLSv1.2 TLSv1.3"),
    ("ssl_ecdh_curve", "X25519:prime256v1:secp384r1"),
    (
        "ssl_ciphers",
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:\
         ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305",
    ),
    ("ssl_prefer_server_ciphers", "off"),
    ("ssl_session_tickets", "off"),
];

/// Fails unless `conf` sets each directive of [`INTERMEDIATE_TLS`] once, to its value.
fn check_tls_policy(conf: &str) -> Result<()> {
    let mut problems = Vec::new();
    for (directive, expected) in INTERMEDIATE_TLS {
        let values: Vec<&str> = conf
            .lines()
            .map(|line| line.split('#').next().unwrap_or_default().trim())
            .filter_map(|line| line.strip_prefix(directive))
            .filter(|rest| rest.starts_with(char::is_whitespace))
            .map(|rest| rest.trim().trim_end_matches(';').trim())
            .collect();
        if values != [expected] {
            problems.push(format!(
                "{directive} must be `{expected}` once, found {values:?}"
            ));
        }
    }
    if !problems.is_empty() {
        bail!(
            "{NGINX_DIR}/{SITE} is not Mozilla's intermediate TLS configuration:\n  {}",
            problems.join("\n  ")
        );
    }
    Ok(())
}

pub fn check(root: &Path) -> Result<()> {
    let site = root.join(NGINX_DIR).join(SITE);
    let conf = std::fs::read_to_string(&site)
        .with_context(|| format!("cannot read {}", site.display()))?;
    check_tls_policy(&conf)?;
    let nginx = system_program("nginx", "nginx", INSTALL_DEPLOY_TOOLS)?;
    let scratch = tempfile::Builder::new()
        .prefix("deploy-checks-nginx-")
        .tempdir()
        .context("cannot create a temporary directory")?;
    // nginx -t loads the certificate and key, so they must be real: the test kit's CA makes them.
    let ca = TestCa::make(scratch.path()).context("nginx -t needs a test certificate")?;
    let certificate = ca.server_certificate();
    let key = ca.server_key();
    let upstream = "server 127.0.0.1:18080;\nserver 127.0.0.1:18081;\n";
    let tls = format!(
        "listen 127.0.0.1:18443 ssl;\nssl_certificate {};\nssl_certificate_key {};\n",
        certificate.display(),
        key.display()
    );

    // As docker-compose runs it.
    let compose_dir = scratch.path().join("compose");
    fs::create_dir(&compose_dir).context("cannot create a temporary directory")?;
    let source = root.join(NGINX_DIR);
    for entry in
        fs::read_dir(&source).with_context(|| format!("cannot list {}", source.display()))?
    {
        let path = entry.context("cannot list deploy/nginx")?.path();
        if let Some(name) = path.file_name() {
            fs::copy(&path, compose_dir.join(name))
                .with_context(|| format!("cannot copy {}", path.display()))?;
        }
    }
    fs::write(compose_dir.join("upstream.conf"), upstream).context("cannot write upstream.conf")?;
    fs::write(compose_dir.join("tls.conf"), &tls).context("cannot write tls.conf")?;
    test_config(&nginx, &compose_dir.join("nginx.conf"))
        .context("deploy/nginx/nginx.conf (as docker-compose uses it)")?;

    // As a local nginx includes it.
    let local_dir = scratch.path().join("local");
    fs::create_dir(&local_dir).context("cannot create a temporary directory")?;
    let main = format!(
        "pid {pid};\nerror_log stderr;\nevents {{}}\nhttp {{\n    client_body_temp_path {tmp}/body;\n    \
         proxy_temp_path {tmp}/proxy;\n    include {shared};\n}}\n",
        pid = local_dir.join("nginx.pid").display(),
        tmp = local_dir.display(),
        shared = source.join(SITE).display(),
    );
    fs::write(local_dir.join("nginx.conf"), main).context("cannot write nginx.conf")?;
    fs::write(local_dir.join("upstream.conf"), upstream).context("cannot write upstream.conf")?;
    fs::write(local_dir.join("tls.conf"), &tls).context("cannot write tls.conf")?;
    test_config(&nginx, &local_dir.join("nginx.conf"))
        .context("deploy/nginx/order-manager.conf (included by a local nginx)")?;

    eprintln!(
        "deploy-checks: nginx -t: {NGINX_DIR} valid, as docker-compose and as a local nginx use it"
    );
    Ok(())
}

/// `nginx -t` with its error log on stderr (not the packaged default path).
fn test_config(nginx: &Path, main: &Path) -> Result<()> {
    let tested = output(
        Command::new(nginx)
            .args(["-q", "-t", "-e", "stderr", "-c"])
            .arg(main),
    )?;
    if !tested.status.success() {
        bail!("nginx -t failed:\n{}", describe_output(&tested));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_site_has_the_intermediate_tls_settings() {
        let site = crate::repo_root().join(NGINX_DIR).join(SITE);
        check_tls_policy(&std::fs::read_to_string(site).unwrap()).unwrap();
    }

    #[test]
    fn old_protocols_other_ciphers_or_a_repeated_directive_fail() {
        let good: String = INTERMEDIATE_TLS
            .iter()
            .map(|(directive, value)| format!("    {directive} {value};\n"))
            .collect();
        check_tls_policy(&good).unwrap();
        for (from, to) in [
            ("TLSv1.2 TLSv1.3", "TLSv1 TLSv1.1 TLSv1.2 TLSv1.3"),
            ("ECDHE-ECDSA-AES128-GCM-SHA256:", "AES128-SHA:"),
            (
                "ssl_prefer_server_ciphers off",
                "ssl_prefer_server_ciphers on",
            ),
        ] {
            let bad = good.replace(from, to);
            assert_ne!(bad, good);
            assert!(check_tls_policy(&bad).is_err(), "{bad}");
        }
        let repeated = format!("{good}    ssl_protocols TLSv1 TLSv1.2;\n");
        assert!(check_tls_policy(&repeated).is_err());
        let missing = good.replace("    ssl_session_tickets off;\n", "");
        assert!(check_tls_policy(&missing).is_err());
    }
}
