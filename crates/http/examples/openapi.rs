//! Prints the OpenAPI document that the server serves at `GET /openapi.json`.
//!
//! `cargo xtask openapi` writes it to `docs/openapi.json`, the checked-in copy.

fn main() {
    print!("{}", http_api::openapi_json());
}
