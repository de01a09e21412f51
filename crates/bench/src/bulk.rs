//! The bulk import benchmark's two halves that are not the service: the file to import
//! (NDJSON, one order of three items a line) and the raw ceiling, the same orders written with
//! the service's statements in transactions of the import's chunk size, as many at once as
//! `order-manager import` has in flight, as it writes them.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, ensure};
use sqlx::Connection;
use sqlx::mysql::MySqlConnection;

use crate::data::{ITEMS_PER_ORDER, OrderRows, now_millis, numbered_order};
use crate::statements::{insert_orders_and_items, stored_fingerprints, upsert_summaries_at_once};

#[derive(Debug, clap::Args)]
pub struct ImportFileArgs {
    /// Orders to write (three items each).
    #[arg(long)]
    orders: u64,
    #[arg(long)]
    customers: u64,
    /// Prefix of the order ids, unique per file.
    #[arg(long)]
    prefix: String,
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct ImportCeilingArgs {
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    #[arg(long)]
    orders: u64,
    #[arg(long)]
    customers: u64,
    /// Prefix of the order ids, unique per run.
    #[arg(long)]
    prefix: String,
    /// Orders per transaction: the import's chunk.
    #[arg(long)]
    chunk_orders: u64,
    /// Transactions at once, each on its own connection: the import's pipeline.
    #[arg(long)]
    in_flight: usize,
}

pub fn write_file(args: &ImportFileArgs) -> Result<serde_json::Value> {
    let file =
        File::create(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    let mut out = BufWriter::new(file);
    for n in 0..args.orders {
        let order = numbered_order(&args.prefix, n, args.customers)?;
        let items: Vec<serde_json::Value> = order
            .items
            .iter()
            .map(|(item, cents)| {
                let cost = format!("{}.{:02}", cents / 100, cents % 100);
                Ok(serde_json::json!({
                    "itemId": item,
                    "costEur": serde_json::from_str::<serde_json::Value>(&cost)?,
                }))
            })
            .collect::<Result<_>>()?;
        let line = serde_json::json!({
            "customerId": order.customer_id,
            "orderId": order.order_id,
            "timestamp": order.timestamp_ms.to_string(),
            "items": items,
        });
        serde_json::to_writer(&mut out, &line)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    let bytes = std::fs::metadata(&args.out)?.len();
    Ok(serde_json::json!({
        "orders": args.orders,
        "items": args.orders * ITEMS_PER_ORDER as u64,
        "bytes": bytes,
    }))
}

pub async fn ceiling(args: &ImportCeilingArgs) -> Result<serde_json::Value> {
    let received_at = now_millis()?;
    // Built before the clock starts: the ceiling is the database's time alone.
    let all = (0..args.orders)
        .map(|n| numbered_order(&args.prefix, n, args.customers))
        .collect::<Result<Vec<_>>>()?;
    let chunk = usize::try_from(args.chunk_orders.max(1))?;
    let chunks: Arc<Vec<Vec<OrderRows>>> = Arc::new(all.chunks(chunk).map(<[_]>::to_vec).collect());
    let next = Arc::new(AtomicUsize::new(0));
    let mut connections = Vec::new();
    for _ in 0..args.in_flight.max(1) {
        connections.push(
            MySqlConnection::connect(&args.database_url)
                .await
                .context("cannot connect to the database")?,
        );
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for mut conn in connections {
        let (chunks, next) = (chunks.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            while let Some(orders) = chunks.get(next.fetch_add(1, Ordering::Relaxed)) {
                let known = stored_fingerprints(&mut conn, orders).await?;
                ensure!(known.is_empty(), "order ids of the run are not new");
                let mut txn = conn.begin().await?;
                insert_orders_and_items(&mut txn, orders, received_at).await?;
                upsert_summaries_at_once(&mut txn, orders).await?;
                txn.commit().await?;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let secs = started.elapsed().as_secs_f64();
    Ok(serde_json::json!({
        "orders": args.orders,
        "secs": secs,
        "orders_per_s": args.orders as f64 / secs,
        "items_per_s": (args.orders * ITEMS_PER_ORDER as u64) as f64 / secs,
    }))
}
