//! The database's own ceilings: the service's statements sent by a small program, with the same
//! number of connections and concurrent clients as the HTTP load, and no service code at all.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rand::SeedableRng;
use rand::rngs::StdRng;
use sqlx::MySqlPool;
use sqlx::mysql::MySqlPoolOptions;

use crate::data::{ITEMS_PER_ORDER, OrderRows, customer_id, random_order};
use crate::statements::{
    customer_items, insert_orders_and_items, is_lock_conflict, stored_fingerprints,
    upsert_summaries_at_once,
};

#[derive(Debug, clap::Args)]
pub struct CeilingArgs {
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    /// The service's pool size (ORDER_MANAGER_DB_MAX_CONNECTIONS).
    #[arg(long)]
    connections: u32,
    /// Concurrent clients (the load generator's connections).
    #[arg(long)]
    concurrency: usize,
    #[arg(long)]
    secs: f64,
    /// Customers `c0..` that exist in the store.
    #[arg(long)]
    customers: u64,
}

#[derive(Debug, clap::Args)]
pub struct IngestCeilingArgs {
    #[command(flatten)]
    common: CeilingArgs,
    /// Orders per transaction, as per request for the service.
    #[arg(long)]
    batch: usize,
    /// Prefix of the order ids, unique per run.
    #[arg(long)]
    run: String,
}

/// The service's pool policy (`adapters::sql::PING_IF_IDLE_FOR`): a connection is pinged
/// before use only after it sat idle this long, never while in steady use.
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);

async fn pool(args: &CeilingArgs) -> Result<MySqlPool> {
    MySqlPoolOptions::new()
        .max_connections(args.connections)
        .min_connections(args.connections)
        .test_before_acquire(false)
        .before_acquire(|connection, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_IF_IDLE_FOR {
                    sqlx::Connection::ping(connection).await?;
                }
                Ok(true)
            })
        })
        .acquire_timeout(Duration::from_secs(30))
        .connect(&args.database_url)
        .await
        .context("cannot connect to the database")
}

pub async fn ingest(args: &IngestCeilingArgs) -> Result<serde_json::Value> {
    let pool = pool(&args.common).await?;
    let deadline = Instant::now() + Duration::from_secs_f64(args.common.secs);
    let (orders, conflicts) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for task in 0..args.common.concurrency {
        let (pool, orders, conflicts) = (pool.clone(), orders.clone(), conflicts.clone());
        let (run, batch, customers) = (args.run.clone(), args.batch, args.common.customers);
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(task as u64);
            let mut counter = 0;
            while Instant::now() < deadline {
                let rows = (0..batch)
                    .map(|_| {
                        counter += 1;
                        random_order(&mut rng, &run, task, counter, customers)
                    })
                    .collect::<Result<Vec<_>>>()?;
                conflicts.fetch_add(submit(&pool, &rows).await?, Ordering::Relaxed);
                orders.fetch_add(batch as u64, Ordering::Relaxed);
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let secs = started.elapsed().as_secs_f64();
    let orders = orders.load(Ordering::Relaxed);
    Ok(serde_json::json!({
        "orders": orders,
        "secs": secs,
        "orders_per_s": orders as f64 / secs,
        "items_per_s": (orders * ITEMS_PER_ORDER as u64) as f64 / secs,
        "transactions_per_s": orders as f64 / args.batch as f64 / secs,
        "lock_conflicts_retried": conflicts.load(Ordering::Relaxed),
    }))
}

/// One batch as the service writes it: the idempotency look-up, then one transaction, run again
/// on a lock conflict. Returns the number of retries.
async fn submit(pool: &MySqlPool, rows: &[OrderRows]) -> Result<u64> {
    let mut retries = 0;
    let known = stored_fingerprints(&mut *pool.acquire().await?, rows).await?;
    anyhow::ensure!(known.is_empty(), "order ids of the run are not new");
    let received_at = crate::data::now_millis()?;
    loop {
        let result = async {
            let mut txn = pool.begin().await?;
            insert_orders_and_items(&mut txn, rows, received_at).await?;
            upsert_summaries_at_once(&mut txn, rows).await?;
            txn.commit().await
        }
        .await;
        match result {
            Ok(()) => return Ok(retries),
            Err(err) if is_lock_conflict(&err) && retries < 10 => retries += 1,
            Err(err) => return Err(err.into()),
        }
    }
}

pub async fn read(args: &CeilingArgs) -> Result<serde_json::Value> {
    let pool = pool(args).await?;
    let deadline = Instant::now() + Duration::from_secs_f64(args.secs);
    let (queries, rows) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for task in 0..args.concurrency {
        let (pool, queries, rows) = (pool.clone(), queries.clone(), rows.clone());
        let customers = args.customers;
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(task as u64);
            while Instant::now() < deadline {
                let customer =
                    customer_id(rand::Rng::random_range(&mut rng, 0..customers), customers);
                let found = customer_items(&mut *pool.acquire().await?, &customer).await?;
                anyhow::ensure!(!found.is_empty(), "customer {customer} has no items");
                rows.fetch_add(found.len() as u64, Ordering::Relaxed);
                queries.fetch_add(1, Ordering::Relaxed);
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let secs = started.elapsed().as_secs_f64();
    let queries = queries.load(Ordering::Relaxed);
    Ok(serde_json::json!({
        "queries": queries,
        "secs": secs,
        "queries_per_s": queries as f64 / secs,
        "rows_per_query": rows.load(Ordering::Relaxed) as f64 / queries.max(1) as f64,
    }))
}
