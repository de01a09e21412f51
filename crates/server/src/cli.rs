//! Command line and environment configuration. Every setting is a flag and an environment
//! variable (`ORDER_MANAGER_*`, plus the conventional `DATABASE_URL` and `RUST_LOG`).

use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Order manager for e-commerce: shops submit orders over a REST API; back offices read every
/// item a customer bought and a purchase summary of every customer.
#[derive(Debug, Parser)]
#[command(
    name = "order-manager",
    version,
    args_conflicts_with_subcommands = false
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API (the default when no command is given).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
}

/// Where the orders are kept.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// Database URL: `sqlite://PATH?mode=rwc` (embedded, the default) or `mysql://USER:PASSWORD@HOST:PORT/DB`.
    #[arg(
        long = "database-url",
        env = "DATABASE_URL",
        default_value = "sqlite://data/order-manager.db?mode=rwc",
        global = true
    )]
    pub url: String,

    /// Largest number of pooled database connections.
    #[arg(
        long = "db-max-connections",
        env = "ORDER_MANAGER_DB_MAX_CONNECTIONS",
        default_value_t = 10,
        global = true
    )]
    pub max_connections: u32,

    /// Seconds to wait for a database connection before answering 503.
    #[arg(
        long = "db-acquire-timeout-secs",
        env = "ORDER_MANAGER_DB_ACQUIRE_TIMEOUT_SECS",
        default_value_t = 5,
        global = true
    )]
    pub acquire_timeout_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// JSON lines when stdout is not a terminal, human-readable otherwise.
    Auto,
    Json,
    Pretty,
}

/// Settings of `serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(
        long,
        env = "ORDER_MANAGER_BIND",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub bind: SocketAddr,

    #[command(flatten)]
    pub database: DatabaseArgs,

    /// Apply pending migrations at start. Always done for SQLite; for MySQL the default is to
    /// refuse to start on an outdated schema (run `order-manager migrate` first).
    #[arg(long, env = "ORDER_MANAGER_MIGRATE", global = true)]
    pub migrate: bool,

    /// Most orders accepted in one request (more: 413, nothing stored).
    #[arg(
        long,
        env = "ORDER_MANAGER_MAX_ORDERS_PER_BATCH",
        default_value_t = 1000,
        global = true
    )]
    pub max_orders_per_batch: usize,

    /// Most items accepted in one order (more: 413, nothing stored).
    #[arg(
        long,
        env = "ORDER_MANAGER_MAX_ITEMS_PER_ORDER",
        default_value_t = 1000,
        global = true
    )]
    pub max_items_per_order: usize,

    /// Largest request body in bytes (more: 413).
    #[arg(
        long,
        env = "ORDER_MANAGER_MAX_BODY_BYTES",
        default_value_t = 4 * 1024 * 1024,
        global = true
    )]
    pub max_body_bytes: usize,

    /// HTTP worker threads (0: one per CPU core).
    #[arg(
        long,
        env = "ORDER_MANAGER_WORKERS",
        default_value_t = 0,
        global = true
    )]
    pub workers: usize,

    /// Seconds that in-flight requests get to finish after SIGTERM / Ctrl-C.
    #[arg(
        long,
        env = "ORDER_MANAGER_SHUTDOWN_TIMEOUT_SECS",
        default_value_t = 30,
        global = true
    )]
    pub shutdown_timeout_secs: u64,

    /// Log format.
    #[arg(
        long,
        env = "ORDER_MANAGER_LOG_FORMAT",
        value_enum,
        default_value_t = LogFormat::Auto,
        global = true
    )]
    pub log_format: LogFormat,
}
