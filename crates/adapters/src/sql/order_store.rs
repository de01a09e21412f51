use std::collections::{BTreeMap, HashMap};

use application::ports::{
    CustomerSummary, InsertError, ItemKey, OrderStore, PurchasedItem, StoreError,
};
use async_trait::async_trait;
use domain::{CustomerId, Fingerprint, LineItem, Money, Order, OrderId, OrderTimestamp};
use sea_orm::sea_query::{Expr, OnConflict, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, ExprTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, SqlErr, Statement, TransactionTrait, Value,
};

use super::entities::{customer_summaries, order_items, orders};
use super::errors::{corrupt, store_error};
use super::first_page_reads::FirstPageReads;
use super::item_rows::purchased_item;
use super::resilience::SqlResilience;

/// Rows per multi-row statement: under the bind-parameter limits of SQLite (32766) and MySQL
/// (65535) at seven columns a row, and large enough that a batch of 1000 orders of three items
/// is one statement per table.
const INSERT_CHUNK: usize = 4000;

/// The order store on SQLite or MySQL (`sea-orm`). Per-customer aggregates are updated in the
/// same transaction as the orders, so summaries never need a scan of the items.
#[derive(Debug, Clone)]
pub struct SqlOrderStore {
    db: DatabaseConnection,
    resilience: SqlResilience,
    /// On MySQL: concurrent first-page reads answered by one statement (none on SQLite, which
    /// has no round trip to save).
    first_pages: Option<FirstPageReads>,
}

impl SqlOrderStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self::with_resilience(db, SqlResilience::default())
    }

    /// With explicit deadlines and retries of lock conflicts.
    ///
    /// On MySQL, must be called inside a Tokio runtime to coalesce reads (see
    /// [`FirstPageReads`]); outside one, every read is a statement of its own.
    pub fn with_resilience(db: DatabaseConnection, resilience: SqlResilience) -> Self {
        let first_pages = match db.get_database_backend() {
            DbBackend::MySql => {
                // As many statements in flight as the pool has connections.
                let slots = db
                    .get_mysql_connection_pool()
                    .options()
                    .get_max_connections();
                FirstPageReads::start(db.clone(), resilience.operation_timeout, slots as usize)
            }
            _ => None,
        };
        Self {
            db,
            resilience,
            first_pages,
        }
    }

    /// One attempt of the batch insert, in one transaction: all or nothing.
    async fn insert_once(&self, orders: &[Order], received_at: i64) -> Result<(), InsertError> {
        let backend = self.db.get_database_backend();
        // In order id order: two writers (requests, write groups, replicas) that race on the
        // same new ids take their locks in the same order, so one waits for the other instead
        // of both deadlocking.
        let mut orders: Vec<&Order> = orders.iter().collect();
        orders.sort_by(|a, b| a.order_id().cmp(b.order_id()));
        // Dropping the transaction on any early return (or a timeout) rolls it back.
        let txn = self.db.begin().await.map_err(store_error)?;
        for chunk in orders.chunks(INSERT_CHUNK) {
            let inserted = txn
                .execute_raw(insert_heads(backend, chunk, received_at))
                .await;
            if let Err(err) = inserted {
                return Err(match err.sql_err() {
                    Some(SqlErr::UniqueConstraintViolation(_)) => InsertError::AlreadyStored,
                    _ => InsertError::Store(store_error(err)),
                });
            }
        }
        let items: Vec<(&Order, usize, &LineItem)> = orders
            .iter()
            .copied()
            .flat_map(|order| {
                order
                    .items()
                    .iter()
                    .enumerate()
                    .map(move |(position, item)| (order, position, item))
            })
            .collect();
        for chunk in items.chunks(INSERT_CHUNK) {
            txn.execute_raw(insert_items(backend, chunk))
                .await
                .map_err(store_error)?;
        }
        // Every customer's aggregate in one multi-row upsert per chunk (one round trip instead
        // of one per customer), rows in customer-id order.
        let deltas: Vec<_> = aggregate_deltas(&orders).into_iter().collect();
        let backend = self.db.get_database_backend();
        for chunk in deltas.chunks(INSERT_CHUNK) {
            let rows =
                chunk.iter().map(
                    |(customer, (count, cents))| customer_summaries::ActiveModel {
                        customer_id: Set((*customer).to_owned()),
                        item_count: Set(*count),
                        total_cents: Set(*cents),
                    },
                );
            customer_summaries::Entity::insert_many(rows)
                .on_conflict(
                    OnConflict::column(customer_summaries::Column::CustomerId)
                        .value(
                            customer_summaries::Column::ItemCount,
                            add_proposed(backend, "item_count"),
                        )
                        .value(
                            customer_summaries::Column::TotalCents,
                            add_proposed(backend, "total_cents"),
                        )
                        .to_owned(),
                )
                .exec_without_returning(&txn)
                .await
                .map_err(store_error)?;
        }
        txn.commit().await.map_err(store_error)?;
        Ok(())
    }
}

/// `column + <the value this row proposed>`: `VALUES(column)` on MySQL (still supported by
/// MySQL 8 and MariaDB), `excluded.column` on SQLite.
fn add_proposed(backend: DbBackend, column: &str) -> SimpleExpr {
    match backend {
        DbBackend::Sqlite | DbBackend::Postgres => {
            Expr::cust(format!("{column} + excluded.{column}"))
        }
        _ => Expr::cust(format!("{column} + VALUES({column})")),
    }
}

fn ts_to_db(ts: OrderTimestamp) -> i64 {
    // Timestamps are bounded to the year 2100 by the domain, far within i64.
    i64::try_from(ts.millis()).unwrap_or(i64::MAX)
}

/// `INSERT INTO table (columns) VALUES (?, ...), (?, ...)` for `rows` rows: written as text
/// with bound values, not through the ORM's per-cell expressions, which took about a third of
/// a bulk import's CPU. `?` is the placeholder of both MySQL and SQLite.
fn multi_row_insert(
    backend: DbBackend,
    table: &str,
    columns: &[&str],
    rows: usize,
    values: Vec<Value>,
) -> Statement {
    let row = format!("({})", vec!["?"; columns.len()].join(", "));
    let sql = format!(
        "INSERT INTO {table} ({}) VALUES {}",
        columns.join(", "),
        vec![row.as_str(); rows].join(", ")
    );
    Statement::from_sql_and_values(backend, sql, values)
}

/// The orders' rows (the `orders` entity's columns).
fn insert_heads(backend: DbBackend, orders: &[&Order], received_at: i64) -> Statement {
    let mut values = Vec::with_capacity(orders.len() * 7);
    for order in orders {
        values.extend([
            Value::from(order.order_id().as_str()),
            Value::from(order.customer_id().as_str()),
            Value::from(ts_to_db(order.timestamp())),
            Value::from(i32::try_from(order.items().len()).unwrap_or(i32::MAX)),
            Value::from(order.total().cents()),
            Value::from(order.fingerprint().to_hex()),
            Value::from(received_at),
        ]);
    }
    multi_row_insert(
        backend,
        "orders",
        &[
            "order_id",
            "customer_id",
            "order_ts",
            "item_count",
            "total_cents",
            "fingerprint",
            "received_at",
        ],
        orders.len(),
        values,
    )
}

/// The items' rows (the `order_items` entity's columns), each with its position in its order.
fn insert_items(backend: DbBackend, items: &[(&Order, usize, &LineItem)]) -> Statement {
    let mut values = Vec::with_capacity(items.len() * 6);
    for (order, position, item) in items {
        values.extend([
            Value::from(order.customer_id().as_str()),
            Value::from(ts_to_db(order.timestamp())),
            Value::from(order.order_id().as_str()),
            Value::from(i32::try_from(*position).unwrap_or(i32::MAX)),
            Value::from(item.item_id().as_str()),
            Value::from(item.cost().cents()),
        ]);
    }
    multi_row_insert(
        backend,
        "order_items",
        &[
            "customer_id",
            "order_ts",
            "order_id",
            "position",
            "item_id",
            "cost_cents",
        ],
        items.len(),
        values,
    )
}

/// Items and cents to add to each customer's aggregate, in customer-id order: every writer takes
/// the aggregate row locks in the same order, which rules out deadlocks between batches.
fn aggregate_deltas<'a>(orders: &[&'a Order]) -> BTreeMap<&'a str, (i64, i64)> {
    let mut deltas: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    for order in orders {
        let entry = deltas.entry(order.customer_id().as_str()).or_default();
        entry.0 += order.items().len() as i64;
        entry.1 += order.total().cents();
    }
    deltas
}

fn summary(row: customer_summaries::Model) -> Result<CustomerSummary, StoreError> {
    Ok(CustomerSummary {
        customer_id: CustomerId::parse(row.customer_id)
            .map_err(|_| corrupt("customer_summaries.customer_id"))?,
        purchased_items: u64::try_from(row.item_count)
            .map_err(|_| corrupt("customer_summaries.item_count"))?,
        total: Money::from_cents(row.total_cents)
            .ok_or_else(|| corrupt("customer_summaries.total_cents"))?,
    })
}

#[async_trait]
impl OrderStore for SqlOrderStore {
    async fn stored_fingerprints(
        &self,
        ids: &[OrderId],
    ) -> Result<HashMap<OrderId, Fingerprint>, StoreError> {
        let lookup = async {
            let mut found = HashMap::new();
            for chunk in ids.chunks(INSERT_CHUNK) {
                let rows: Vec<(String, String)> = orders::Entity::find()
                    .select_only()
                    .column(orders::Column::OrderId)
                    .column(orders::Column::Fingerprint)
                    .filter(orders::Column::OrderId.is_in(chunk.iter().map(|id| id.as_str())))
                    .into_tuple()
                    .all(&self.db)
                    .await
                    .map_err(store_error)?;
                for (id, hex) in rows {
                    let id = OrderId::parse(id).map_err(|_| corrupt("orders.order_id"))?;
                    let fingerprint =
                        Fingerprint::from_hex(&hex).ok_or_else(|| corrupt("orders.fingerprint"))?;
                    found.insert(id, fingerprint);
                }
            }
            Ok(found)
        };
        self.resilience.bounded("stored_fingerprints", lookup).await
    }

    async fn insert_new(&self, orders: &[Order], received_at_ms: u64) -> Result<(), InsertError> {
        if orders.is_empty() {
            return Ok(());
        }
        let received_at = i64::try_from(received_at_ms).unwrap_or(i64::MAX);
        // A lock conflict rolls the whole transaction back; it is run again from the start.
        self.resilience
            .retry_transaction("insert_orders", || self.insert_once(orders, received_at))
            .await
    }

    async fn customer_items(
        &self,
        customer: &CustomerId,
        after: Option<ItemKey>,
        limit: usize,
    ) -> Result<Vec<PurchasedItem>, StoreError> {
        use order_items::Column;
        if let (None, Some(first_pages)) = (&after, &self.first_pages) {
            let read = first_pages.read(customer.clone(), limit);
            return self.resilience.bounded("customer_items", read).await;
        }
        let mut query =
            order_items::Entity::find().filter(Column::CustomerId.eq(customer.as_str()));
        if let Some(key) = after {
            let ts = ts_to_db(key.timestamp);
            let order_id = key.order_id.as_str();
            let position = i64::from(key.position);
            query = query.filter(
                Condition::any()
                    .add(Column::OrderTs.gt(ts))
                    .add(Column::OrderTs.eq(ts).and(Column::OrderId.gt(order_id)))
                    .add(
                        Column::OrderTs
                            .eq(ts)
                            .and(Column::OrderId.eq(order_id))
                            .and(Column::Position.gt(position)),
                    ),
            );
        }
        let rows = query
            .order_by_asc(Column::OrderTs)
            .order_by_asc(Column::OrderId)
            .order_by_asc(Column::Position)
            .limit(limit as u64)
            .all(&self.db);
        self.resilience
            .bounded("customer_items", async { rows.await.map_err(store_error) })
            .await?
            .into_iter()
            .map(purchased_item)
            .collect()
    }

    async fn customer_exists(&self, customer: &CustomerId) -> Result<bool, StoreError> {
        let found =
            customer_summaries::Entity::find_by_id(customer.as_str().to_owned()).one(&self.db);
        let found = self
            .resilience
            .bounded("customer_exists", async {
                found.await.map_err(store_error)
            })
            .await?;
        Ok(found.is_some())
    }

    async fn customer_summaries(
        &self,
        after: Option<CustomerId>,
        limit: usize,
    ) -> Result<Vec<CustomerSummary>, StoreError> {
        use customer_summaries::Column;
        let mut query = customer_summaries::Entity::find();
        if let Some(after) = after {
            query = query.filter(Column::CustomerId.gt(after.as_str()));
        }
        let rows = query
            .order_by_asc(Column::CustomerId)
            .limit(limit as u64)
            .all(&self.db);
        self.resilience
            .bounded("customer_summaries", async {
                rows.await.map_err(store_error)
            })
            .await?
            .into_iter()
            .map(summary)
            .collect()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.resilience
            .bounded("ping", async { self.db.ping().await.map_err(store_error) })
            .await
    }
}
