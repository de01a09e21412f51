//! `cargo xtask dev --seed N`: sample orders that look like a small shop's, so the read
//! endpoints and the docs page have something to show.
//!
//! The orders are a pure function of their number: the same `--seed` twice sends the same
//! orders, which the service then counts as duplicates. That is why this generator is a fixed
//! hash and not a seeded library RNG, whose sequence may change with the library's version:
//! then the same order ids would come back with other content, and be refused as conflicts.

use std::fs;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

/// Monday 2026-01-05 09:00 UTC, in epoch milliseconds: the first sample order.
const FIRST_ORDER_MS: u64 = 1_767_603_600_000;
/// On average an order every 40 minutes, with jitter, so that pages of items span days.
const MEAN_GAP_MS: u64 = 40 * 60 * 1000;
/// Distinct products in the catalog the samples buy from.
const PRODUCTS: u64 = 240;
/// Shelf prices in cents; a product always costs the same.
const PRICES: [u64; 12] = [
    299, 499, 799, 999, 1250, 1499, 1999, 2490, 3999, 5900, 8990, 12900,
];

/// The id of the `n`-th customer (0-based), as a shop's system might number them.
pub fn customer_id(n: u64) -> String {
    format!("CUST-{:05}", n + 1)
}

/// How many customers `orders` sample orders come from: about three orders each.
pub fn customers(orders: u64) -> u64 {
    orders.div_ceil(3).max(1)
}

/// The `n`-th sample order (0-based) of a seed of `orders` orders.
pub fn order(n: u64, orders: u64) -> Value {
    let hash = mix(n);
    let customers = customers(orders);
    let items = 1 + hash % 4 + u64::from(hash.is_multiple_of(17)) * 5;
    let timestamp = FIRST_ORDER_MS + n * MEAN_GAP_MS + (hash >> 8) % MEAN_GAP_MS;
    let items: Vec<Value> = (0..items)
        .map(|k| {
            let product = mix(n.wrapping_mul(31).wrapping_add(k)) % PRODUCTS;
            json!({
                "itemId": format!("SKU-{}", 10_001 + product),
                "costEur": euros(price_cents(product)),
            })
        })
        .collect();
    json!({
        "customerId": customer_id(mix(n ^ 0x5eed) % customers),
        "orderId": format!("ORD-{:06}", n + 1),
        "timestamp": timestamp.to_string(),
        "items": items,
    })
}

/// Writes `orders` sample orders as NDJSON and imports them with the binary's `import`, the same
/// validation and store path as `POST /orders`; returns its counts (`stored 100 (309 items),
/// duplicates 0, rejected 0`).
pub fn seed(dir: &Path, binary: &Path, database_url: &str, orders: u64) -> Result<String> {
    let path = dir.join(format!("sample-orders-{orders}.ndjson"));
    write(&path, orders)?;
    let output = Command::new(binary)
        .arg("import")
        .arg(&path)
        .args(["--format", "ndjson"])
        .env("DATABASE_URL", database_url)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("could not run {}", binary.display()))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        bail!(
            "importing the sample orders failed ({}):\n{stderr}",
            output.status
        );
    }
    // "import of FILE: read N orders: stored ..., rejected R in T s (...)"
    let summary = stderr
        .lines()
        .rfind(|line| line.starts_with("import of"))
        .and_then(|line| line.split_once(" orders: "))
        .map(|(_, counts)| counts.split(" in ").next().unwrap_or(counts))
        .unwrap_or("imported")
        .to_owned();
    fs::remove_file(&path).ok();
    Ok(summary)
}

fn write(path: &Path, orders: u64) -> Result<()> {
    let file =
        fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut out = BufWriter::new(file);
    for n in 0..orders {
        serde_json::to_writer(&mut out, &order(n, orders))?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

fn price_cents(product: u64) -> u64 {
    let index = usize::try_from(mix(product ^ 0xca7a_1065) % PRICES.len() as u64).unwrap_or(0);
    PRICES[index]
}

/// Cents as the JSON number of euros the API takes (`1999` -> `19.99`).
fn euros(cents: u64) -> Value {
    // Two decimals print exactly: serde_json writes the shortest form that reads back the same.
    serde_json::Number::from_f64(cents as f64 / 100.0).map_or(Value::Null, Value::Number)
}

/// SplitMix64's finaliser: a fixed, well-spread hash of `n`.
fn mix(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_are_a_pure_function_of_their_number() {
        // Pinned: a change here would make the next `--seed` conflict with the stored samples.
        assert_eq!(order(0, 100).to_string(), order(0, 100).to_string(),);
        let first = order(0, 100);
        assert_eq!(first["orderId"], "ORD-000001");
        assert_eq!(mix(0), 0xe220_a839_7b1d_cdaf);
    }

    #[test]
    fn orders_are_valid_and_spread_over_the_customers() {
        let orders = 300;
        let mut seen = std::collections::BTreeSet::new();
        for n in 0..orders {
            let order = order(n, orders);
            seen.insert(order["customerId"].as_str().unwrap().to_owned());
            let items = order["items"].as_array().unwrap();
            assert!((1..=9).contains(&items.len()), "{order}");
            for item in items {
                let cost = item["costEur"].as_f64().unwrap();
                assert!(cost > 0.0 && cost < 200.0, "{order}");
                // At most two decimals, as the API requires.
                assert!(
                    item["costEur"]
                        .to_string()
                        .split('.')
                        .nth(1)
                        .is_none_or(|d| d.len() <= 2)
                );
            }
            let ms: u64 = order["timestamp"].as_str().unwrap().parse().unwrap();
            assert!(ms >= FIRST_ORDER_MS);
        }
        // About three orders per customer: most customers have some.
        assert!(seen.len() as u64 > customers(orders) / 2, "{}", seen.len());
    }
}
