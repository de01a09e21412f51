use clap::Parser;
use domain::Scope;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

pub use crate::shared::problem::assert_problem;
use server::cli::{Cli, ServeArgs};
use server::startup::Application;
use server::wiring::Stores;
use server::{admin, database};

pub const SAMPLE: &str = r#"[{"customerId":"01","orderId":"50","timestamp":"1637245070513","items":[{"itemId":"20201","costEur":2}]}]"#;

/// A running app on a free port with its own SQLite file, and an admin API key for it.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub api_key: String,
    pub metrics_address: String,
    pub settings: ServeArgs,
    _data: tempfile::TempDir,
}

/// Starts the app with extra command-line settings (e.g. lower limits).
pub async fn spawn_app_with(args: &[&str]) -> TestApp {
    let data = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        data.path().join("orders.db").display()
    );
    spawn_app_on(&url, data, args).await
}

/// Starts the app on the database at `url` (`data`: a directory that lives as long as the app).
pub async fn spawn_app_on(url: &str, data: tempfile::TempDir, args: &[&str]) -> TestApp {
    let mut argv = vec![
        "order-manager",
        "--bind",
        "127.0.0.1:0",
        "--database-url",
        url,
        "--workers",
        "2",
        "--metrics-bind",
        "127.0.0.1:0",
    ];
    argv.extend_from_slice(args);
    let cli = Cli::try_parse_from(argv).unwrap();
    let api_key = create_api_key(&cli.serve, &[Scope::Admin]).await;
    let settings = cli.serve.clone();
    let app = Application::build(cli.serve).await.unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    let metrics_address = format!("http://127.0.0.1:{}", app.metrics_port());
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: client_builder().build().unwrap(),
        api_key,
        metrics_address,
        settings,
        _data: data,
    }
}

/// Every HTTP client of the tests. This package's dev reqwest has `rustls-no-provider` for the
/// e2e target's HTTPS to nginx, and the features are the same for both test targets; without a
/// process-wide crypto provider reqwest would then panic when building even a plain-HTTP client.
pub fn client_builder() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Adds a user, as `order-manager user add` does.
pub async fn create_user(settings: &ServeArgs, username: &str, password: &str, scopes: &[Scope]) {
    let db = database::open(&settings.database).await.unwrap();
    Stores::new(&db, Default::default())
        .add_user(server::wiring::password_hasher().unwrap())
        .execute(username, password, scopes)
        .await
        .unwrap();
}

/// Revokes a key by its prefix, as `order-manager api-key revoke` does.
pub async fn revoke_api_key(settings: &ServeArgs, key: &str) {
    let db = database::open(&settings.database).await.unwrap();
    Stores::new(&db, Default::default())
        .revoke_api_key()
        .execute(&key[..12])
        .await
        .unwrap();
}

/// Creates an API key in the app's database, as `order-manager api-key create` does.
pub async fn create_api_key(settings: &ServeArgs, scopes: &[Scope]) -> String {
    let db = database::open(&settings.database).await.unwrap();
    database::prepare_schema(&db, &settings.database.url, true)
        .await
        .unwrap();
    let stores = Stores::new(&db, Default::default());
    let (key, _prefix) = admin::create_api_key(&stores, "tests", scopes)
        .await
        .unwrap();
    key
}

impl TestApp {
    pub async fn post_orders(&self, body: impl Into<reqwest::Body>) -> Response {
        self.client
            .post(format!("{}/orders", self.address))
            .header("content-type", "application/json")
            .header("x-api-key", &self.api_key)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_json(&self, body: &Value) -> Response {
        self.post_orders(body.to_string()).await
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(format!("{}{path}", self.address))
            .header("x-api-key", &self.api_key)
            .send()
            .await
            .unwrap()
    }

    /// The Prometheus text of the app's metrics listener.
    pub async fn metrics(&self) -> String {
        self.client
            .get(format!("{}/metrics", self.metrics_address))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    pub async fn summaries(&self) -> Value {
        let response = self.get("/customers/summaries").await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }
}

/// An order of `items` items costing `cost` each.
pub fn order(customer: &str, order_id: &str, items: usize, cost: &str) -> Value {
    let items: Vec<Value> = (0..items)
        .map(|n| json!({"itemId": format!("item-{n}"), "costEur": serde_json::from_str::<Value>(cost).unwrap()}))
        .collect();
    json!({"customerId": customer, "orderId": order_id, "timestamp": "1637245070513", "items": items})
}
