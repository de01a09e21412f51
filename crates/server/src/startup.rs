//! Builds the adapters, wires them into the use cases and the HTTP app, and runs the server
//! until a deliberate, graceful shutdown.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use adapters::sql::DatabaseConnection;
use anyhow::Context;
use application::use_cases::auth::ApiKeyUsage;
use http_api::Lifecycle;

use crate::admin::bootstrap_admin;
use crate::cli::ServeArgs;
use crate::database;
use crate::wiring::{Stores, wire};

/// How often API key usage (`last_used_at`) is written: one batch, not one write a request.
const USAGE_FLUSH_INTERVAL: Duration = Duration::from_secs(30);

/// A server bound to its ports, ready to run. Binding port 0 picks a free port (tests).
pub struct Application {
    port: u16,
    metrics_port: u16,
    server: Server,
    metrics_server: Server,
    api_key_usage: Arc<ApiKeyUsage>,
    db: DatabaseConnection,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .field("metrics_port", &self.metrics_port)
            .finish_non_exhaustive()
    }
}

impl Application {
    pub async fn build(settings: ServeArgs) -> anyhow::Result<Self> {
        let metrics = crate::metrics::recorder()?;
        let db = database::open(&settings.database).await?;
        database::prepare_schema(&db, &settings.database.url, settings.migrate).await?;
        let stores = Stores::new(&db, database::resilience(&settings.database)).with_api_key_cache(
            std::time::Duration::from_secs(settings.auth.api_key_cache_secs),
        );
        let wired = wire(&settings, &stores)?;

        let listener = TcpListener::bind(settings.bind)
            .with_context(|| format!("cannot listen on {}", settings.bind))?;
        let port = listener.local_addr()?.port();
        if database::is_sqlite(&settings.database.url) {
            bootstrap_admin(&stores, listener.local_addr()?).await?;
        }
        let lifecycle = wired.api.lifecycle.clone();
        let state = wired.api;
        let mut server = HttpServer::new(move || {
            App::new()
                .configure(http_api::configure(state.clone()))
                .default_service(web::to(http_api::not_found))
                // Before authentication (inside the routes), after the request id.
                .wrap(from_fn(http_api::rate_limit))
                // Registered last, so it runs first: every request gets its id and its log line.
                .wrap(from_fn(http_api::observe))
        })
        // Shutdown is ours (see `drain_on_signal`): readiness first, then the listener.
        .disable_signals()
        .shutdown_timeout(settings.shutdown_timeout_secs)
        // A client that trickles its request head is cut off (408), and one that never closes
        // its connection after the answer does not keep it.
        .client_request_timeout(std::time::Duration::from_secs(5))
        .client_disconnect_timeout(std::time::Duration::from_secs(2))
        .listen(listener)?;
        if settings.workers > 0 {
            server = server.workers(settings.workers);
        }
        let server = server.run();
        let (metrics_server, metrics_port) = crate::metrics::serve(
            settings.metrics_bind,
            metrics,
            db.clone(),
            settings.database.max_connections,
        )?;
        tracing::info!(address = %settings.bind.ip(), port, metrics_port, "listening");

        tokio::spawn(drain_on_signal(
            lifecycle,
            server.handle(),
            Duration::from_secs(settings.shutdown_delay_secs),
        ));
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
            metrics_port,
            server,
            metrics_server,
            api_key_usage: wired.api_key_usage,
            db,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn metrics_port(&self) -> u16 {
        self.metrics_port
    }

    /// Serves until SIGTERM or Ctrl-C and the graceful stop that follows; then records the last
    /// API key usage, stops the metrics listener and closes the database pool.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let metrics = self.metrics_server.handle();
        let metrics_task = tokio::spawn(self.metrics_server);
        let served = self.server.await;
        if let Err(err) = self.api_key_usage.flush().await {
            tracing::warn!(error = %err, "could not record the last API key usage");
        }
        metrics.stop(true).await;
        let _ = metrics_task.await;
        if let Err(err) = self.db.close().await {
            tracing::warn!(error = %err, "closing the database pool failed");
        }
        served
    }
}

/// SIGTERM: `/readyz` answers 503 at once; after `delay` (for load balancers to notice) the
/// listener closes and in-flight requests get the shutdown timeout to finish. Ctrl-C (a person
/// at a terminal) skips the delay.
async fn drain_on_signal(lifecycle: Lifecycle, server: ServerHandle, delay: Duration) {
    let terminated = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    {
        Ok(mut sigterm) => {
            tokio::select! {
                _ = sigterm.recv() => true,
                _ = tokio::signal::ctrl_c() => false,
            }
        }
        Err(err) => {
            tracing::warn!(error = %err, "cannot watch SIGTERM; only Ctrl-C stops the server");
            let _ = tokio::signal::ctrl_c().await;
            false
        }
    };
    lifecycle.start_draining();
    if terminated && !delay.is_zero() {
        tracing::info!(delay_secs = delay.as_secs(), "SIGTERM: not ready; draining");
        tokio::time::sleep(delay).await;
    }
    tracing::info!("closing the listener; finishing in-flight requests");
    server.stop(true).await;
}

/// `order-manager serve`.
pub async fn serve(settings: ServeArgs) -> anyhow::Result<()> {
    let app = Application::build(settings).await?;
    app.run_until_stopped().await?;
    tracing::info!("stopped");
    Ok(())
}
