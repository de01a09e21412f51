//! Builds the adapters, wires them into the use cases and the HTTP app, and runs the server.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use application::use_cases::auth::ApiKeyUsage;
use tracing_actix_web::TracingLogger;

use crate::admin::bootstrap_admin;
use crate::cli::ServeArgs;
use crate::database;
use crate::wiring::{Stores, wire};

/// How often API key usage (`last_used_at`) is written: one batch, not one write a request.
const USAGE_FLUSH_INTERVAL: Duration = Duration::from_secs(30);

/// A server bound to its port, ready to run. Binding port 0 picks a free port (tests).
pub struct Application {
    port: u16,
    server: Server,
    api_key_usage: Arc<ApiKeyUsage>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Application {
    pub async fn build(settings: ServeArgs) -> anyhow::Result<Self> {
        let db = database::open(&settings.database).await?;
        database::prepare_schema(&db, &settings.database.url, settings.migrate).await?;
        let stores = Stores::new(&db);
        let wired = wire(&settings, &stores)?;
        if database::is_sqlite(&settings.database.url) {
            bootstrap_admin(&stores, settings.bind).await?;
        }

        let listener = TcpListener::bind(settings.bind)
            .with_context(|| format!("cannot listen on {}", settings.bind))?;
        let port = listener.local_addr()?.port();
        let state = wired.api;
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(TracingLogger::default())
                .configure(http_api::configure(state.clone()))
                .default_service(web::to(http_api::not_found))
        })
        .shutdown_timeout(settings.shutdown_timeout_secs)
        .listen(listener)?;
        if settings.workers > 0 {
            server = server.workers(settings.workers);
        }
        tracing::info!(address = %settings.bind.ip(), port, "listening");

        let usage = wired.api_key_usage.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(USAGE_FLUSH_INTERVAL);
            loop {
                every.tick().await;
                if let Err(err) = usage.flush().await {
                    tracing::warn!(error = %err, "could not record API key usage; will retry");
                }
            }
        });
        Ok(Self {
            port,
            server: server.run(),
            api_key_usage: wired.api_key_usage,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGTERM or Ctrl-C, lets in-flight requests finish, then records the last
    /// API key usage.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        if let Err(err) = self.api_key_usage.flush().await {
            tracing::warn!(error = %err, "could not record the last API key usage");
        }
        served
    }
}

/// `order-manager serve`.
pub async fn serve(settings: ServeArgs) -> anyhow::Result<()> {
    let app = Application::build(settings).await?;
    app.run_until_stopped().await?;
    tracing::info!("stopped");
    Ok(())
}
