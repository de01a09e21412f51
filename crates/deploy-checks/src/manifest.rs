//! Reading YAML documents (rendered Kubernetes manifests, docker-compose.yml) as values.

use anyhow::{Context, Result};
use serde::Deserialize;
use serde_yaml_ng::{Mapping, Value};

/// Every non-empty document of a YAML stream, with merge keys (`<<: *anchor`) applied.
pub fn documents(text: &str) -> Result<Vec<Value>> {
    let mut documents = Vec::new();
    for document in serde_yaml_ng::Deserializer::from_str(text) {
        let mut value = Value::deserialize(document).context("invalid YAML")?;
        apply_merges(&mut value).context("invalid YAML merge key")?;
        if !value.is_null() {
            documents.push(value);
        }
    }
    Ok(documents)
}

/// Applies `<<` merge keys everywhere, innermost first, so that a merged anchor that itself
/// merges another one is complete.
fn apply_merges(value: &mut Value) -> Result<()> {
    match value {
        Value::Mapping(mapping) => {
            for (_, child) in mapping.iter_mut() {
                apply_merges(child)?;
            }
        }
        Value::Sequence(sequence) => {
            for child in sequence.iter_mut() {
                apply_merges(child)?;
            }
        }
        Value::Tagged(tagged) => apply_merges(&mut tagged.value)?,
        _ => {}
    }
    value.apply_merge()?;
    Ok(())
}

/// The value at `path` (mapping keys; sequences are not indexed here).
pub fn get<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |value, key| value.get(key))
}

/// The string at `path`.
pub fn get_str<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    get(value, path).and_then(Value::as_str)
}

/// The sequence at `path`, empty when absent.
pub fn get_seq<'a>(value: &'a Value, path: &[&str]) -> &'a [Value] {
    get(value, path)
        .and_then(Value::as_sequence)
        .map_or(&[], Vec::as_slice)
}

/// The mapping at `path`.
pub fn get_map<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Mapping> {
    get(value, path).and_then(Value::as_mapping)
}

/// A scalar as the string a program would receive in its environment.
pub fn scalar_string(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// `kind` and `metadata.name` of a Kubernetes object.
pub fn kind_and_name(object: &Value) -> (&str, &str) {
    (
        get_str(object, &["kind"]).unwrap_or_default(),
        get_str(object, &["metadata", "name"]).unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_nested_merge_keys() {
        let docs = documents(
            "x-a: &a\n  one: 1\nx-b: &b\n  <<: *a\n  two: 2\nservice:\n  <<: *b\n  three: 3\n",
        )
        .unwrap();
        let service = get(&docs[0], &["service"]).unwrap();
        for key in ["one", "two", "three"] {
            assert!(service.get(key).is_some(), "{key} missing in {service:?}");
        }
    }

    #[test]
    fn skips_empty_documents() {
        let docs = documents("---\na: 1\n---\n---\nb: 2\n").unwrap();
        assert_eq!(docs.len(), 2);
    }
}
