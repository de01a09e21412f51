//! What the scenarios of the end-to-end suite share: the HTTP client, the users and logins.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::shared::built_binary::{BINARY, Running};

/// The user the scenarios on one or two replicas add and log in as.
pub const USERNAME: &str = "replica-admin";
const PASSWORD: &str = "a long enough test password";

/// Every HTTP client of the suite. The cluster scenarios speak HTTPS to nginx through reqwest
/// built with `rustls-no-provider` (ring, STACK.md), so the process needs ring installed as its
/// crypto provider before the first client is built, even a plain-HTTP one.
pub fn client_builder() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}

/// A client that gives up on a hung server instead of hanging the test.
pub fn client() -> reqwest::Client {
    client_builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// `order-manager user add`, the password on standard input as a script would pipe it.
pub fn user_add(dir: &Path, env: &[(&str, &str)]) {
    user_command(
        dir,
        env,
        &["add", "--username", USERNAME, "--scope", "admin"],
        Some(PASSWORD),
    );
}

/// `order-manager user ...` in `dir`, as an operator runs it (`stdin`: one line, then EOF);
/// returns stdout, and fails the test on a failed command.
pub fn user_command(
    dir: &Path,
    env: &[(&str, &str)],
    args: &[&str],
    stdin: Option<&str>,
) -> String {
    let mut command = Command::new(BINARY);
    command
        .current_dir(dir)
        .arg("user")
        .args(args)
        .env_remove("DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().unwrap();
    {
        let mut pipe = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            writeln!(pipe, "{text}").unwrap();
        }
    } // closed here: the command reads one line, then EOF
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "user {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// `POST {base}/auth/login` with a username and password.
pub async fn send_login(
    client: &reqwest::Client,
    base: &str,
    username: &str,
    password: &str,
) -> reqwest::Result<Response> {
    client
        .post(format!("{base}/auth/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
}

/// A login of [`USERNAME`] on `server`.
pub async fn login(client: &reqwest::Client, server: &Running) -> Response {
    login_with(client, server, PASSWORD).await
}

/// A login of [`USERNAME`] with `password`.
pub async fn login_with(client: &reqwest::Client, server: &Running, password: &str) -> Response {
    send_login(client, &server.base(), USERNAME, password)
        .await
        .unwrap()
}

/// Logs in and returns the bearer token.
pub async fn token(client: &reqwest::Client, server: &Running) -> String {
    let response = login(client, server).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], json!("Bearer"), "{body}");
    assert!(body["expires_in"].as_u64().is_some_and(|s| s > 0), "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}
