//! Command line and environment configuration. Every setting is a flag and an environment
//! variable (`ORDER_MANAGER_*`, plus the conventional `DATABASE_URL` and `RUST_LOG`).

use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand, ValueEnum};
use domain::Scope;

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
    /// Manage users (who log in with a password at POST /auth/login).
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API keys (sent as `X-API-Key: <key>`).
    #[command(subcommand, name = "api-key")]
    ApiKey(ApiKeyCommand),
    /// Import orders from a file (or `-` for standard input) straight into the database:
    /// streamed, resumable (run it again after an interruption), bad orders set aside.
    ///
    /// Same validation, limits and idempotency as POST /orders. Formats: a JSON array of
    /// orders (the POST /orders body), NDJSON (one order per line), or CSV with one row per
    /// item and the header `customerId,orderId,timestamp,itemId,costEur` (columns in any
    /// order). CSV rows with the same orderId form one order, wherever they are in the file;
    /// its items keep the order of their rows. Exit status: 0 when every order was stored or
    /// already stored, 2 when some were rejected (see the rejects file), 1 on any other error.
    Import(ImportArgs),
    /// Export every item or every customer summary as CSV or NDJSON, streamed in keyset pages.
    Export(ExportArgs),
}

/// A file format of `import` and `export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FileFormat {
    /// A JSON array of orders, as the body of POST /orders (import only).
    Json,
    /// One JSON object per line.
    Ndjson,
    /// Comma-separated values with a header row.
    Csv,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The file to read, or `-` for standard input.
    pub file: String,
    /// The format; by default from the file's extension (.json, .ndjson/.jsonl, .csv).
    #[arg(long, value_enum)]
    pub format: Option<FileFormat>,
    /// Where rejected orders are written (NDJSON: line, orderId, errors); by default
    /// FILE.rejects.ndjson next to the input (import-rejects.ndjson for standard input).
    #[arg(long)]
    pub rejects: Option<std::path::PathBuf>,
}

/// What `export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportWhat {
    /// Every purchased item: customerId, orderId, timestamp, itemId, costEur (the CSV import
    /// format), by customer then in purchase order.
    Items,
    /// Every customer summary: customerId, nbrOfPurchasedItems, totalAmountEur.
    Summaries,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    pub what: ExportWhat,
    #[arg(long, value_enum, default_value_t = FileFormat::Csv)]
    pub format: FileFormat,
    /// Only this customer's items.
    #[arg(long)]
    pub customer: Option<String>,
    /// The file to write (replaced only once the export is complete); standard output by default.
    #[arg(long)]
    pub output: Option<std::path::PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user; the password is read from standard input (at least 12 characters).
    Add {
        #[arg(long)]
        username: String,
        /// A scope: orders:write, customers:read or admin (repeat for several).
        #[arg(long = "scope", required = true, value_parser = parse_scope)]
        scopes: Vec<Scope>,
    },
    /// List users: name, scopes, creation, whether disabled. Never a password hash.
    List,
    /// Disable a user: no more logins, and every session of the user ends at once (on every
    /// replica, through REDIS_URL).
    Disable { username: String },
    /// Let a disabled user log in again.
    Enable { username: String },
    /// Change a user's password (read from standard input, at least 12 characters); every
    /// session of the user ends.
    Passwd { username: String },
    /// End every session of a user (its bearer tokens stop working).
    Sessions {
        #[command(subcommand)]
        command: SessionsCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum SessionsCommand {
    /// End every session of the user.
    Revoke { username: String },
}

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create a key; prints only the key on stdout (details on stderr), shown this once.
    Create {
        #[arg(long)]
        name: String,
        /// A scope: orders:write, customers:read or admin (repeat for several).
        #[arg(long = "scope", required = true, value_parser = parse_scope)]
        scopes: Vec<Scope>,
    },
    /// Revoke a key by its prefix (as shown by `list`); it stops working at once.
    Revoke { prefix: String },
    /// List keys: prefix, name, scopes, creation, last use, revocation. Never the keys.
    List,
}

fn parse_scope(name: &str) -> Result<Scope, String> {
    Scope::parse(name).map_err(|e| e.to_string())
}

/// Bearer tokens and the sessions behind them.
#[derive(Debug, Clone, Args)]
pub struct AuthArgs {
    /// Secret that signs bearer tokens (HS256), at least 32 bytes. Required with MySQL (every
    /// replica must share it); without it the embedded default makes a random one per start.
    #[arg(
        long,
        env = "ORDER_MANAGER_JWT_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub jwt_secret: Option<String>,

    /// Key id (`kid`) of the signing secret, so that keys can be rotated.
    #[arg(
        long,
        env = "ORDER_MANAGER_JWT_KEY_ID",
        default_value = "k1",
        global = true
    )]
    pub jwt_key_id: String,

    /// Earlier keys still accepted for verification during a rotation: `kid=secret,kid=secret`.
    #[arg(
        long,
        env = "ORDER_MANAGER_JWT_PREVIOUS_KEYS",
        hide_env_values = true,
        global = true
    )]
    pub jwt_previous_keys: Option<String>,

    /// `iss` of issued tokens, checked on every request.
    #[arg(
        long,
        env = "ORDER_MANAGER_JWT_ISSUER",
        default_value = "order-manager",
        global = true
    )]
    pub jwt_issuer: String,

    /// `aud` of issued tokens, checked on every request.
    #[arg(
        long,
        env = "ORDER_MANAGER_JWT_AUDIENCE",
        default_value = "order-manager-api",
        global = true
    )]
    pub jwt_audience: String,

    /// Lifetime of a bearer token and its session, in seconds.
    #[arg(
        long,
        env = "ORDER_MANAGER_TOKEN_TTL_SECS",
        default_value_t = 3600,
        global = true
    )]
    pub token_ttl_secs: u64,

    /// Redis for sessions shared by every replica (`redis://host:6379`); without it sessions
    /// live in this process's memory.
    // A URL may hold a password: `--help` never shows the environment's value.
    #[arg(long, env = "REDIS_URL", hide_env_values = true, global = true)]
    pub redis_url: Option<String>,

    /// Milliseconds a Redis call may take before the request is answered 503.
    #[arg(
        long,
        env = "ORDER_MANAGER_REDIS_TIMEOUT_MS",
        default_value_t = 500,
        value_parser = clap::value_parser!(u64).range(1..),
        global = true
    )]
    pub redis_timeout_ms: u64,

    /// Seconds this process remembers a valid API key instead of reading it from the database
    /// on every request (0: read every time). A key revoked elsewhere (`api-key revoke`,
    /// another replica) keeps working here for at most this long.
    #[arg(
        long,
        env = "ORDER_MANAGER_API_KEY_CACHE_SECS",
        default_value_t = 5,
        global = true
    )]
    pub api_key_cache_secs: u64,
}

/// Where the orders are kept.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// Database URL: `sqlite://PATH?mode=rwc` (embedded, the default) or `mysql://USER:PASSWORD@HOST:PORT/DB`.
    #[arg(
        long = "database-url",
        env = "DATABASE_URL",
        default_value = "sqlite://data/order-manager.db?mode=rwc",
        hide_env_values = true,
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

    /// Milliseconds one database operation may take, retries of lock conflicts included, before
    /// it is abandoned (a transaction is rolled back) and the request is answered 503.
    #[arg(
        long = "db-operation-timeout-ms",
        env = "ORDER_MANAGER_DB_OPERATION_TIMEOUT_MS",
        default_value_t = 10_000,
        value_parser = clap::value_parser!(u64).range(1..),
        global = true
    )]
    pub operation_timeout_ms: u64,

    /// Attempts of a write transaction on deadlock, lock wait timeout or Galera certification
    /// failure (the first one included), with jittered exponential backoff between them.
    #[arg(
        long = "db-transaction-attempts",
        env = "ORDER_MANAGER_DB_TRANSACTION_ATTEMPTS",
        default_value_t = 5,
        value_parser = clap::value_parser!(u32).range(1..=20),
        global = true
    )]
    pub transaction_attempts: u32,
}

/// Rate limits per client IP (GCRA: a sustained rate, and a burst allowed at once), shared by
/// every replica through Redis when `REDIS_URL` is set.
#[derive(Debug, Clone, Args)]
pub struct RateLimitArgs {
    /// Proxies whose `X-Forwarded-For` names the client: comma-separated CIDRs or addresses
    /// (e.g. the ingress pods' network). Empty: the TCP peer is the client.
    #[arg(
        long,
        env = "ORDER_MANAGER_TRUSTED_PROXIES",
        default_value = "",
        value_parser = parse_trusted_proxies,
        global = true
    )]
    pub trusted_proxies: http_api::TrustedProxies,

    /// Sustained requests per second per client IP (IPv6: per /64).
    #[arg(
        long,
        env = "ORDER_MANAGER_RATE_LIMIT_RPS",
        default_value_t = 100,
        value_parser = clap::value_parser!(u32).range(1..),
        global = true
    )]
    pub rate_limit_rps: u32,

    /// Requests per client IP allowed at once, above the sustained rate.
    #[arg(
        long,
        env = "ORDER_MANAGER_RATE_LIMIT_BURST",
        default_value_t = 200,
        value_parser = clap::value_parser!(u32).range(1..),
        global = true
    )]
    pub rate_limit_burst: u32,

    /// Login attempts per minute per client IP; that many may come at once.
    #[arg(
        long,
        env = "ORDER_MANAGER_LOGIN_RATE_PER_MINUTE_IP",
        default_value_t = 10,
        value_parser = clap::value_parser!(u32).range(1..),
        global = true
    )]
    pub login_rate_per_minute_ip: u32,

    /// Login attempts per minute on one username from one client network (IPv4 /24, IPv6 /48);
    /// that many may come at once, more are refused (429).
    #[arg(
        long,
        env = "ORDER_MANAGER_LOGIN_RATE_PER_MINUTE_USER",
        default_value_t = 5,
        value_parser = clap::value_parser!(u32).range(1..),
        global = true
    )]
    pub login_rate_per_minute_user: u32,

    /// Login attempts per minute on one username from anywhere; beyond it attempts are delayed
    /// (at most a few seconds, then 429), so a spray from many networks is slowed to this rate
    /// while the owner still gets in.
    #[arg(
        long,
        env = "ORDER_MANAGER_LOGIN_RATE_PER_MINUTE_USER_ALL",
        default_value_t = 30,
        value_parser = clap::value_parser!(u32).range(1..),
        global = true
    )]
    pub login_rate_per_minute_user_all: u32,
}

fn parse_trusted_proxies(list: &str) -> Result<http_api::TrustedProxies, String> {
    list.parse()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// JSON lines when stdout is not a terminal, human-readable otherwise.
    Auto,
    Json,
    Pretty,
}

/// How concurrent `POST /orders` share transactions: submissions that arrive while every writer
/// is busy are written together, one lookup and one commit per group, each answered as alone.
#[derive(Debug, Clone, Args)]
pub struct WriteGroupArgs {
    /// Groups of submissions written at the same time, each in one transaction [default: the
    /// pool's connections, ORDER_MANAGER_DB_MAX_CONNECTIONS].
    #[arg(long, env = "ORDER_MANAGER_WRITE_CONCURRENCY", global = true)]
    pub write_concurrency: Option<usize>,

    /// Most submissions one transaction carries (1: every request in a transaction of its own).
    #[arg(
        long,
        env = "ORDER_MANAGER_WRITE_GROUP_MAX_REQUESTS",
        default_value_t = 64,
        global = true
    )]
    pub write_group_max_requests: usize,

    /// Most orders one transaction carries; a larger request is written alone.
    #[arg(
        long,
        env = "ORDER_MANAGER_WRITE_GROUP_MAX_ORDERS",
        default_value_t = 1000,
        global = true
    )]
    pub write_group_max_orders: usize,

    /// Most items one transaction carries; a larger request is written alone.
    #[arg(
        long,
        env = "ORDER_MANAGER_WRITE_GROUP_MAX_ITEMS",
        default_value_t = 10_000,
        global = true
    )]
    pub write_group_max_items: usize,

    /// Submissions waiting for a writer at most; beyond, 503 with Retry-After at once.
    #[arg(
        long,
        env = "ORDER_MANAGER_WRITE_QUEUE",
        default_value_t = 1024,
        global = true
    )]
    pub write_queue: usize,
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

    #[command(flatten)]
    pub auth: AuthArgs,

    #[command(flatten)]
    pub rate_limit: RateLimitArgs,

    #[command(flatten)]
    pub write_groups: WriteGroupArgs,

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

    /// Milliseconds a valid `POST /orders` may take in all: the wait for a writer, the lookups
    /// and the write with its retries. Past it the request is answered 503 with Retry-After
    /// (a write that commits later anyway is a duplicate on the client's retry). Below the
    /// shutdown timeout, so that a draining replica answers every submission it holds.
    #[arg(
        long,
        env = "ORDER_MANAGER_SUBMIT_TIMEOUT_MS",
        default_value_t = 20_000,
        value_parser = clap::value_parser!(u64).range(1..),
        global = true
    )]
    pub submit_timeout_ms: u64,

    /// Serve the docs page (`/docs`) and the OpenAPI document (`/openapi.json`); `false` answers
    /// 404 for both (the production overlay turns them off).
    #[arg(
        long,
        env = "ORDER_MANAGER_DOCS",
        default_value_t = true,
        action = clap::ArgAction::Set,
        global = true
    )]
    pub docs: bool,

    /// Largest request body in bytes (more: 413).
    #[arg(
        long,
        env = "ORDER_MANAGER_MAX_BODY_BYTES",
        default_value_t = 4 * 1024 * 1024,
        global = true
    )]
    pub max_body_bytes: usize,

    /// Request-body bytes held at once by all requests together: each reserves its declared
    /// size until it is answered; beyond this a request is answered 503 with Retry-After before
    /// its body is read. At least --max-body-bytes.
    #[arg(
        long,
        env = "ORDER_MANAGER_MAX_INFLIGHT_BODY_BYTES",
        default_value_t = 64 * 1024 * 1024,
        global = true
    )]
    pub max_inflight_body_bytes: usize,

    /// HTTP worker threads (0: one per CPU core).
    #[arg(
        long,
        env = "ORDER_MANAGER_WORKERS",
        default_value_t = 0,
        global = true
    )]
    pub workers: usize,

    /// Address of the Prometheus metrics listener (`GET /metrics`); keep it off the ingress.
    #[arg(
        long,
        env = "ORDER_MANAGER_METRICS_BIND",
        default_value = "127.0.0.1:9464",
        global = true
    )]
    pub metrics_bind: SocketAddr,

    /// Seconds between SIGTERM (when /readyz turns 503) and closing the listener, so that load
    /// balancers stop sending traffic first. Ctrl-C skips it.
    #[arg(
        long,
        env = "ORDER_MANAGER_SHUTDOWN_DELAY_SECS",
        default_value_t = 5,
        global = true
    )]
    pub shutdown_delay_secs: u64,

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
