//! The OpenAPI document and the docs page: public, served by the binary itself (no CDN), and
//! the document is the checked-in `docs/openapi.json`.

use reqwest::StatusCode;
use reqwest::redirect::Policy;

use crate::helpers::{spawn_app, spawn_app_with};

const CHECKED_IN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");

#[tokio::test]
async fn the_served_document_is_the_checked_in_one() {
    let app = spawn_app().await;
    // Public: no credentials.
    let response = app
        .client
        .get(format!("{}/openapi.json", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    let served = response.text().await.unwrap();
    let checked_in = std::fs::read_to_string(CHECKED_IN).unwrap_or_default();
    assert!(
        served == checked_in,
        "docs/openapi.json is not the document the server serves at GET /openapi.json.\n\
         Regenerate it with `cargo xtask openapi`, review the diff and commit it."
    );
    let document: serde_json::Value = serde_json::from_str(&served).unwrap();
    assert_eq!(document["openapi"], "3.1.0");
}

#[tokio::test]
async fn the_docs_page_and_its_assets_are_served_without_credentials() {
    let app = spawn_app().await;
    let client = crate::helpers::client_builder()
        .redirect(Policy::none())
        .build()
        .unwrap();
    let redirect = client
        .get(format!("{}/docs", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(redirect.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(redirect.headers()["location"], "/docs/");

    let page = client
        .get(format!("{}/docs/", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        !html.contains("https://"),
        "the page loads nothing from elsewhere"
    );
    for asset in [
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
        "swagger-initializer.js",
    ] {
        assert!(html.contains(asset), "{asset} is referenced");
        let response = client
            .get(format!("{}/docs/{asset}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{asset}");
        let body = response.text().await.unwrap();
        assert!(!body.is_empty(), "{asset}");
        if asset == "swagger-initializer.js" {
            assert!(
                body.contains("/openapi.json"),
                "the page reads our document"
            );
        }
    }
}

/// `--docs false` (the production overlay's ORDER_MANAGER_DOCS=false): neither the page nor the
/// document is served; the API is.
#[tokio::test]
async fn docs_can_be_turned_off() {
    let app = spawn_app_with(&["--docs", "false"]).await;
    for path in ["/openapi.json", "/docs", "/docs/"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), reqwest::StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(
        app.get("/customers/summaries").await.status(),
        reqwest::StatusCode::OK
    );
}
