//! Builds the adapters, wires them into the use cases and the HTTP app, and runs the server.

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use adapters::sql::{DatabaseConnection, DatabaseSettings, SqlOrderStore, connect};
use anyhow::{Context, bail};
use application::ports::{OrderStore, SystemClock};
use application::use_cases::{ListCustomerItems, SubmitLimits, SubmitOrders, SummarizeCustomers};
use http_api::{ApiState, HttpLimits};
use migration::{Migrator, MigratorTrait};
use tracing_actix_web::TracingLogger;

use crate::cli::{DatabaseArgs, ServeArgs};

/// A server bound to its port, ready to run. Binding port 0 picks a free port (tests).
pub struct Application {
    port: u16,
    server: Server,
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
        let db = open_database(&settings.database).await?;
        prepare_schema(&db, &settings.database.url, settings.migrate).await?;
        let store: Arc<dyn OrderStore> = Arc::new(SqlOrderStore::new(db));
        let state = ApiState {
            submit_orders: SubmitOrders::new(
                store.clone(),
                Arc::new(SystemClock),
                SubmitLimits {
                    max_orders_per_batch: settings.max_orders_per_batch,
                    max_items_per_order: settings.max_items_per_order,
                },
            ),
            list_customer_items: ListCustomerItems::new(store.clone()),
            summarize_customers: SummarizeCustomers::new(store),
            limits: HttpLimits {
                max_body_bytes: settings.max_body_bytes,
            },
        };

        let listener = TcpListener::bind(settings.bind)
            .with_context(|| format!("cannot listen on {}", settings.bind))?;
        let port = listener.local_addr()?.port();
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
        Ok(Self {
            port,
            server: server.run(),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGTERM or Ctrl-C, then lets in-flight requests finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// `order-manager serve`.
pub async fn serve(settings: ServeArgs) -> anyhow::Result<()> {
    let app = Application::build(settings).await?;
    app.run_until_stopped().await?;
    tracing::info!("stopped");
    Ok(())
}

/// `order-manager migrate`.
pub async fn migrate(database: &DatabaseArgs) -> anyhow::Result<()> {
    let db = open_database(database).await?;
    Migrator::up(&db, None).await.context("migration failed")?;
    tracing::info!("schema is up to date");
    Ok(())
}

async fn open_database(database: &DatabaseArgs) -> anyhow::Result<DatabaseConnection> {
    create_sqlite_directory(&database.url)?;
    let settings = DatabaseSettings {
        url: database.url.clone(),
        max_connections: database.max_connections.max(1),
        acquire_timeout: Duration::from_secs(database.acquire_timeout_secs.max(1)),
    };
    connect(&settings)
        .await
        .with_context(|| format!("cannot open the database {}", redact(&database.url)))
}

/// The embedded default keeps its file under `./data/`; make sure the directory exists.
fn create_sqlite_directory(url: &str) -> anyhow::Result<()> {
    let Some(rest) = url.strip_prefix("sqlite://") else {
        return Ok(());
    };
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path.starts_with(':') {
        return Ok(());
    }
    if let Some(dir) = Path::new(path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
    }
    Ok(())
}

/// SQLite is private to this process and always migrated; a shared MySQL schema is migrated on
/// request only, and the server refuses to run on an outdated one.
async fn prepare_schema(db: &DatabaseConnection, url: &str, migrate: bool) -> anyhow::Result<()> {
    if migrate || url.starts_with("sqlite:") {
        return Migrator::up(db, None).await.context("migration failed");
    }
    let pending = Migrator::get_pending_migrations(db)
        .await
        .context("cannot read the migration state")?;
    if !pending.is_empty() {
        bail!(
            "the database schema is missing {} migration(s): run `order-manager migrate` \
             (or start with --migrate)",
            pending.len()
        );
    }
    Ok(())
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redacts_passwords_only() {
        assert_eq!(
            redact("mysql://u:secret@h:3306/db"),
            "mysql://u:***@h:3306/db"
        );
        assert_eq!(redact("mysql://u@h/db"), "mysql://u@h/db");
        assert_eq!(redact("sqlite://data/x.db"), "sqlite://data/x.db");
    }
}
