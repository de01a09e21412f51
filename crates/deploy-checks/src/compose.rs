//! docker-compose.yml: the Compose Specification schema, and the references it cannot check.
//!
//! No Docker engine here, and no `docker compose` plugin: the official JSON schema (vendored as
//! `deploy/schemas/compose-spec.json`, taken from check-jsonschema's vendored copy of the
//! compose-spec repository) checks the structure; this module checks what `docker compose
//! config` would also refuse: depends_on naming an unknown service, a condition its target
//! cannot meet, named volumes and networks that are not declared.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde_yaml_ng::Value;

use crate::command::{describe_output, output};
use crate::manifest::{documents, get, get_map, get_seq, get_str};
use crate::tools::Venv;

pub const COMPOSE_FILE: &str = "docker-compose.yml";
pub const COMPOSE_SCHEMA: &str = "deploy/schemas/compose-spec.json";
/// The documented local-only profile: `docker compose --env-file deploy/compose.local.env`.
pub const COMPOSE_LOCAL_ENV: &str = "deploy/compose.local.env";

pub fn check(tools: &Venv, root: &Path) -> Result<()> {
    let file = root.join(COMPOSE_FILE);
    validate_schema(tools, &root.join(COMPOSE_SCHEMA), &file)?;
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let services = check_references(&text)?;
    let secrets = check_required_secrets(&text)?;
    let profile_file = root.join(COMPOSE_LOCAL_ENV);
    let profile = std::fs::read_to_string(&profile_file)
        .with_context(|| format!("cannot read {}", profile_file.display()))?;
    let missing: Vec<&String> = secrets
        .iter()
        .filter(|name| {
            !profile
                .lines()
                .any(|line| line.starts_with(&format!("{name}=")))
        })
        .collect();
    if !missing.is_empty() {
        bail!("{COMPOSE_LOCAL_ENV} does not set {missing:?}, which {COMPOSE_FILE} requires");
    }
    eprintln!(
        "deploy-checks: {COMPOSE_FILE}: valid against {COMPOSE_SCHEMA}; {services} services, every \
         reference resolves; {} secret references, all required (`${{VAR:?...}}`) and set by \
         the local profile {COMPOSE_LOCAL_ENV}",
        secrets.len()
    );
    Ok(())
}

/// Whether a variable holds a secret, by its name.
fn is_secret(name: &str) -> bool {
    ["PASSWORD", "SECRET", "TOKEN", "PRIVATE_KEY"]
        .iter()
        .any(|word| name.contains(word))
}

/// Fails when a secret has a default (`${NAME:-value}`, `${NAME-value}`) or may be empty
/// (`${NAME}`): the stack must refuse to start without it (`${NAME:?message}`), so that a
/// forgotten `.env` never runs with a password written in this file. Returns the names of the
/// secrets, once per reference.
pub fn check_required_secrets(text: &str) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let mut secrets = Vec::new();
    for (line_number, line) in text.lines().enumerate() {
        let line = line.split(" #").next().unwrap_or(line);
        if line.trim_start().starts_with('#') {
            continue;
        }
        for reference in line.split("${").skip(1) {
            let Some(body) = reference.split('}').next() else {
                continue;
            };
            let name_end = body
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(body.len());
            let (name, rest) = body.split_at(name_end);
            if !is_secret(name) {
                continue;
            }
            secrets.push(name.to_owned());
            if !rest.starts_with(":?") {
                problems.push(format!(
                    "line {}: ${{{body}}}: a secret must be required, as ${{{name}:?...}}",
                    line_number + 1
                ));
            }
        }
    }
    if !problems.is_empty() {
        bail!("{COMPOSE_FILE}:\n  {}", problems.join("\n  "));
    }
    Ok(secrets)
}

/// check-jsonschema with the vendored schema (a local file: nothing is downloaded).
pub fn validate_schema(tools: &Venv, schema: &Path, file: &Path) -> Result<()> {
    let validated = output(
        tools
            .command("check-jsonschema")
            .arg("--schemafile")
            .arg(schema)
            .arg(file),
    )?;
    if !validated.status.success() {
        bail!(
            "{} does not match the Compose Specification:\n{}",
            file.display(),
            describe_output(&validated)
        );
    }
    Ok(())
}

/// Checks the cross-references of a compose file; returns the number of services.
pub fn check_references(text: &str) -> Result<usize> {
    let compose = documents(text)?
        .into_iter()
        .next()
        .context("the compose file is empty")?;
    let services = get_map(&compose, &["services"]).context("no services")?;
    let service_names: BTreeSet<&str> = services.keys().filter_map(Value::as_str).collect();
    let declared = |section: &str| -> BTreeSet<String> {
        get_map(&compose, &[section])
            .map(|map| {
                map.keys()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let volumes = declared("volumes");
    let mut networks = declared("networks");
    networks.insert("default".to_owned());

    let mut problems = Vec::new();
    for (name, service) in services {
        let name = name.as_str().unwrap_or_default();
        if let Some(depends_on) = get(service, &["depends_on"]) {
            let targets: Vec<(String, String)> = match depends_on {
                Value::Sequence(list) => list
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|target| (target.to_owned(), "service_started".to_owned()))
                    .collect(),
                Value::Mapping(map) => map
                    .iter()
                    .map(|(target, settings)| {
                        (
                            target.as_str().unwrap_or_default().to_owned(),
                            get_str(settings, &["condition"])
                                .unwrap_or("service_started")
                                .to_owned(),
                        )
                    })
                    .collect(),
                _ => Vec::new(),
            };
            for (target, condition) in targets {
                let Some(target_service) = services.get(target.as_str()) else {
                    problems.push(format!("{name} depends on the unknown service `{target}`"));
                    continue;
                };
                match condition.as_str() {
                    "service_healthy"
                        if get(target_service, &["healthcheck", "test"]).is_none() =>
                    {
                        problems.push(format!(
                            "{name} waits for `{target}` to be healthy, which has no healthcheck"
                        ));
                    }
                    "service_completed_successfully"
                        if get_str(target_service, &["restart"]).is_some_and(|r| r != "no") =>
                    {
                        problems.push(format!(
                            "{name} waits for `{target}` to complete, which is restarted"
                        ));
                    }
                    _ => {}
                }
            }
        }
        for mount in get_seq(service, &["volumes"]) {
            let source = mount
                .as_str()
                .and_then(|short| short.split(':').next())
                .or_else(|| get_str(mount, &["source"]));
            if let Some(source) = source
                && !source.starts_with(['.', '/', '~', '$'])
                && !volumes.contains(source)
            {
                problems.push(format!("{name} mounts the undeclared volume `{source}`"));
            }
        }
        let service_networks: Vec<&str> = match get(service, &["networks"]) {
            Some(Value::Sequence(list)) => list.iter().filter_map(Value::as_str).collect(),
            Some(Value::Mapping(map)) => map.keys().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        for network in service_networks {
            if !networks.contains(network) {
                problems.push(format!("{name} joins the undeclared network `{network}`"));
            }
        }
    }
    if !problems.is_empty() {
        bail!("{COMPOSE_FILE}: {}", problems.join("; "));
    }
    Ok(service_names.len())
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::repo_root as workspace_root;

    const VALID: &str = "services:
  db:
    image: percona/percona-server:8.0
    healthcheck:
      test: [\"CMD\", \"true\"]
    volumes:
      - data:/var/lib/mysql
  app:
    image: app:1
    depends_on:
      db:
        condition: service_healthy
volumes:
  data:
";

    fn schema_check(text: &str) -> Result<()> {
        let tools = Venv::locate()?;
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("docker-compose.yml");
        fs::write(&file, text)?;
        validate_schema(&tools, &workspace_root().join(COMPOSE_SCHEMA), &file)
    }

    #[test]
    fn a_valid_file_passes_both_checks() {
        schema_check(VALID).unwrap();
        assert_eq!(check_references(VALID).unwrap(), 2);
    }

    #[test]
    fn the_schema_rejects_an_unknown_service_key() {
        let broken = VALID.replace("    image: app:1\n", "    image: app:1\n    replicaz: 2\n");
        let err = schema_check(&broken).unwrap_err();
        assert!(format!("{err:#}").contains("replicaz"), "{err:#}");
    }

    #[test]
    fn the_schema_rejects_a_wrong_type() {
        let broken = VALID.replace(
            "      - data:/var/lib/mysql\n",
            "      data: /var/lib/mysql\n",
        );
        schema_check(&broken).unwrap_err();
    }

    #[test]
    fn a_secret_with_a_default_or_none_required_fails() {
        for text in [
            "x: mysql://u:${DB_PASSWORD:-local}@db/x\n",
            "x: ${JWT_SECRET-local}\n",
            "x: ${JWT_SECRET}\n",
        ] {
            assert!(check_required_secrets(text).is_err(), "{text}");
        }
        let required = "x: mysql://u:${DB_PASSWORD:?set it}@db/x\ny: ${RUST_LOG:-info}\n# ${OLD_PASSWORD:-x}\n";
        assert_eq!(check_required_secrets(required).unwrap(), ["DB_PASSWORD"]);
    }

    #[test]
    fn an_unknown_dependency_fails() {
        let broken = VALID.replace(
            "      db:\n        condition",
            "      dbb:\n        condition",
        );
        let err = check_references(&broken).unwrap_err();
        assert!(format!("{err:#}").contains("dbb"), "{err:#}");
    }

    #[test]
    fn waiting_for_health_without_a_healthcheck_fails() {
        let broken = VALID.replace("    healthcheck:\n      test: [\"CMD\", \"true\"]\n", "");
        let err = check_references(&broken).unwrap_err();
        assert!(format!("{err:#}").contains("no healthcheck"), "{err:#}");
    }

    #[test]
    fn an_undeclared_volume_fails() {
        let broken = VALID.replace("volumes:\n  data:\n", "");
        let err = check_references(&broken).unwrap_err();
        assert!(format!("{err:#}").contains("`data`"), "{err:#}");
    }
}
