//! The probes' answers.

use std::collections::BTreeMap;

use serde::Serialize;

/// `GET /healthz`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"status":"ok"}))]
pub(crate) struct Health {
    #[schema(value_type = String, pattern = "^ok$")]
    pub status: &'static str,
}

/// `GET /readyz`: every dependency checked, and `up`.
// `checks` before `status`: the order the answer always had (JSON objects were sorted).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"status":"ready","checks":{"database":"up"}}))]
pub(crate) struct Readiness {
    #[schema(value_type = BTreeMap<String, String>)]
    pub checks: BTreeMap<&'static str, &'static str>,
    #[schema(value_type = String, pattern = "^ready$")]
    pub status: &'static str,
}
