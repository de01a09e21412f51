//! Bulk seeding straight into the tables (the service would take minutes for a million items):
//! rows built exactly as the service builds them, aggregates included, 1000 orders a
//! transaction, a few connections in parallel.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::{Context, Result};
use sqlx::MySqlPool;
use sqlx::mysql::MySqlPoolOptions;

use crate::data::seeded_order;
use crate::statements::{insert_orders_and_items, is_lock_conflict, upsert_summaries_at_once};

const ORDERS_PER_TRANSACTION: u64 = 1000;

#[derive(Debug, clap::Args)]
pub struct SeedArgs {
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    /// Customers the orders are spread over, in turn.
    #[arg(long)]
    customers: u64,
    /// First order number to write (`s<number>`), so that a store can be grown in steps.
    #[arg(long, default_value_t = 0)]
    from_order: u64,
    /// One past the last order number.
    #[arg(long)]
    to_order: u64,
    #[arg(long, default_value_t = 4)]
    connections: u32,
}

pub async fn run(args: &SeedArgs) -> Result<serde_json::Value> {
    let pool = MySqlPoolOptions::new()
        .max_connections(args.connections)
        .connect(&args.database_url)
        .await
        .context("cannot connect to the database")?;
    let started = Instant::now();
    let next_chunk = Arc::new(AtomicU64::new(args.from_order));
    let mut tasks = Vec::new();
    for _ in 0..args.connections {
        let (pool, next_chunk) = (pool.clone(), next_chunk.clone());
        let (customers, end) = (args.customers, args.to_order);
        tasks.push(tokio::spawn(async move {
            loop {
                let from = next_chunk.fetch_add(ORDERS_PER_TRANSACTION, Ordering::Relaxed);
                if from >= end {
                    return Ok::<_, anyhow::Error>(());
                }
                let to = (from + ORDERS_PER_TRANSACTION).min(end);
                let orders = (from..to)
                    .map(|n| seeded_order(n, customers))
                    .collect::<Result<Vec<_>>>()?;
                write_with_retries(&pool, &orders).await?;
            }
        }));
    }
    for task in tasks {
        task.await??;
    }
    let orders = args.to_order.saturating_sub(args.from_order);
    Ok(serde_json::json!({
        "orders": orders,
        "items": orders * crate::data::ITEMS_PER_ORDER as u64,
        "secs": started.elapsed().as_secs_f64(),
    }))
}

async fn write_with_retries(pool: &MySqlPool, orders: &[crate::data::OrderRows]) -> Result<()> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let result = async {
            let mut txn = pool.begin().await?;
            insert_orders_and_items(&mut txn, orders, 0).await?;
            upsert_summaries_at_once(&mut txn, orders).await?;
            txn.commit().await
        }
        .await;
        match result {
            Ok(()) => return Ok(()),
            Err(err) if is_lock_conflict(&err) && attempt < 10 => continue,
            Err(err) => return Err(err).context("seeding failed"),
        }
    }
}
