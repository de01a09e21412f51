//! The datasources that Grafana's provisioning creates, which the dashboards must name.

use std::collections::BTreeMap;

use anyhow::{Result, anyhow, bail};

use super::alerts::key_value;

/// A datasource that Grafana's provisioning creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Datasource {
    pub(super) uid: String,
    pub(super) kind: String,
}

/// The datasources of a Grafana provisioning file: the `uid` and `type` of each item of the
/// top-level `datasources:` list.
///
/// A reader for the block style this project writes (one `- ` item after another, keys two
/// columns deeper), not a YAML parser: deeper keys (`jsonData`) are ignored, and an item
/// without both keys is an error rather than a guess.
pub(super) fn provisioned_datasources(yaml: &str) -> Result<Vec<Datasource>> {
    let mut lines = yaml
        .lines()
        .skip_while(|line| line.trim_end() != "datasources:");
    if lines.next().is_none() {
        bail!("no top-level `datasources:` list");
    }
    let mut items: Vec<BTreeMap<String, String>> = Vec::new();
    let mut item_indent = None;
    for line in lines {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        if indent == 0 {
            break; // the next top-level key
        }
        let item_indent = *item_indent.get_or_insert(indent);
        let entry = if indent == item_indent {
            let Some(first_key) = trimmed.strip_prefix("- ") else {
                bail!("expected a list item (`- `) at: {line}");
            };
            items.push(BTreeMap::new());
            first_key
        } else if indent == item_indent + 2 {
            trimmed
        } else {
            continue;
        };
        if let (Some(item), Some((key, value))) = (items.last_mut(), key_value(entry)) {
            item.insert(key.to_owned(), value.to_owned());
        }
    }
    if items.is_empty() {
        bail!("the `datasources:` list is empty");
    }
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| match (item.get("uid"), item.get("type")) {
            (Some(uid), Some(kind)) if !uid.is_empty() && !kind.is_empty() => Ok(Datasource {
                uid: uid.clone(),
                kind: kind.clone(),
            }),
            _ => Err(anyhow!(
                "datasource #{} ({}) needs both `uid` and `type`: dashboards refer to it by uid",
                index + 1,
                item.get("name").map_or("unnamed", String::as_str)
            )),
        })
        .collect()
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub(in crate::observability) fn provisioned() -> Vec<Datasource> {
        vec![
            Datasource {
                uid: "prometheus".to_owned(),
                kind: "prometheus".to_owned(),
            },
            Datasource {
                uid: "loki".to_owned(),
                kind: "loki".to_owned(),
            },
        ]
    }

    #[test]
    fn reads_the_provisioned_datasources() {
        let yaml = "\
# comment
apiVersion: 1

datasources:
  - name: Prometheus
    type: prometheus
    uid: prometheus   # fixed, for the dashboards
    jsonData:
      uid: not-this-one
      derivedFields:
        - name: x
          uid: nor-this-one
  - name: \"Loki\"
    uid: 'loki'
    type: loki
deleteDatasources: []
";
        assert_eq!(provisioned_datasources(yaml).unwrap(), provisioned());
    }

    #[test]
    fn a_datasource_without_uid_is_an_error() {
        let yaml = "datasources:\n  - name: Prometheus\n    type: prometheus\n";
        let err = provisioned_datasources(yaml).unwrap_err().to_string();
        assert!(err.contains("Prometheus"), "{err}");
        assert!(provisioned_datasources("apiVersion: 1\n").is_err());
    }
}
