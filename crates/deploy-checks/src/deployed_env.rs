//! What the deployment files give the service: the environment and arguments of each of its
//! containers, in every kustomization and in docker-compose.yml. The settings cross-check
//! (`tests/deploy/settings/`) compares them with the binary's own configuration.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use serde_yaml_ng::Value;

use crate::compose::{COMPOSE_FILE, COMPOSE_LOCAL_ENV};
use crate::kubernetes::{Rendered, render_all};
use crate::manifest::{documents, get, get_map, get_seq, get_str, kind_and_name, scalar_string};
use crate::repo_root;
use crate::tools::Venv;

/// The image name docker-compose.yml builds the service as.
pub const COMPOSE_IMAGE: &str = "order-manager:local";
/// The label of every object of the service (not of its database or Redis).
pub const NAME_LABEL: &str = "order-manager";

/// A kustomization's name (`deploy/k8s/base`) and its rendered objects.
pub type RenderedObjects = (String, Vec<Value>);

/// Every kustomization's output, parsed.
pub fn rendered_kustomizations(venv: &Venv) -> Result<Vec<RenderedObjects>> {
    render_all(venv, &repo_root())?
        .into_iter()
        .map(|Rendered { name, yaml }| {
            let objects = documents(&yaml).with_context(|| format!("{name}: rendered YAML"))?;
            Ok((name, objects))
        })
        .collect()
}

/// The environment and arguments one container of the service gets.
#[derive(Debug)]
pub struct ServiceEnv {
    /// Where it comes from: `deploy/k8s/base: Deployment order-manager`,
    /// `docker-compose.yml: service order-manager-1`.
    pub origin: String,
    pub vars: BTreeMap<String, String>,
    pub args: Vec<String>,
}

/// Every container of the service: the Deployment's and the Job's in every kustomization
/// (ConfigMaps and Secrets resolved where the kustomization renders them), and every compose
/// service running the service's image, interpolated with the local `profile` (an env file).
pub fn service_envs(
    kustomizations: &[RenderedObjects],
    compose: &Value,
    profile: &str,
) -> Result<Vec<ServiceEnv>> {
    let mut envs = Vec::new();
    for (name, objects) in kustomizations {
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
                            let Some(object) = find(objects, "ConfigMap", config_map) else {
                                bail!(
                                    "{name}: {kind} refers to the missing ConfigMap {config_map}"
                                );
                            };
                            vars.extend(string_map(get(object, &["data"])));
                        }
                        if let Some(secret) = get_str(source, &["secretRef", "name"])
                            && let Some(object) = find(objects, "Secret", secret)
                        {
                            vars.extend(string_map(get(object, &["stringData"])));
                        }
                    }
                    for entry in get_seq(container, &["env"]) {
                        let key = get_str(entry, &["name"])
                            .with_context(|| format!("{name}: an env entry without a name"))?;
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
    let services = get_map(compose, &["services"]).context("compose services")?;
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
                    Ok((key.to_owned(), interpolate(value, profile)?))
                })
                .collect::<Result<_>>()?,
            other => string_map(other)
                .into_iter()
                .map(|(key, value)| Ok((key, interpolate(&value, profile)?)))
                .collect::<Result<_>>()?,
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
    Ok(envs)
}

/// A `${NAME:-default}` / `${NAME-default}` / `${NAME}` / `${NAME:?message}` interpolation as
/// docker compose does it with the env file `profile` and nothing else set.
pub fn interpolate(text: &str, profile: &str) -> Result<String> {
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
        let end = after
            .find('}')
            .with_context(|| format!("an unclosed ${{...}} in `{text}`"))?;
        let expression = &after[..end];
        let name_end = expression
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(expression.len());
        let (name, operator) = expression.split_at(name_end);
        let value = match profile.get(name) {
            Some(value) => (*value).to_owned(),
            None if operator.starts_with(":?") || operator.starts_with('?') => {
                bail!("{name} is required by {COMPOSE_FILE} but not in {COMPOSE_LOCAL_ENV}")
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
    Ok(result)
}

/// A mapping of scalars as strings (a ConfigMap's `data`, a Secret's `stringData`); empty
/// when absent.
pub fn string_map(value: Option<&Value>) -> BTreeMap<String, String> {
    value
        .and_then(Value::as_mapping)
        .map(|map| {
            map.iter()
                .filter_map(|(key, value)| Some((key.as_str()?.to_owned(), scalar_string(value)?)))
                .collect()
        })
        .unwrap_or_default()
}

/// The object of `kind` named `name`.
pub fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> Option<&'a Value> {
    objects
        .iter()
        .find(|object| kind_and_name(object) == (kind, name))
}

/// Every object of `kind`.
pub fn find_kind<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects
        .iter()
        .filter(|object| kind_and_name(object).0 == kind)
        .collect()
}
