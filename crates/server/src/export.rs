//! `order-manager export items|summaries`: the store as CSV or NDJSON, read in keyset pages
//! (flat memory), amounts in their shortest exact form. A file is written beside its target
//! and renamed into place only once complete, so a failed export never leaves half a file.

use std::io::{BufWriter, Write};
use std::str::FromStr;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use application::use_cases::ExportOrders;
use domain::{CustomerId, Money};
use serde::Serialize;
use serde_json::Number;

use crate::admin::stores;
use crate::cli::{ExportArgs, ExportWhat, FileFormat, ServeArgs};

/// Rows read per statement.
const PAGE_SIZE: usize = 5_000;

pub async fn run(settings: &ServeArgs, args: ExportArgs) -> Result<()> {
    let started = Instant::now();
    if args.format == FileFormat::Json {
        bail!("export writes --format csv or ndjson (one record per line, streamed)");
    }
    let customer = match (&args.customer, args.what) {
        (Some(_), ExportWhat::Summaries) => bail!("--customer applies to `export items` only"),
        (Some(id), ExportWhat::Items) => {
            Some(CustomerId::parse(id.as_str()).map_err(|e| anyhow::anyhow!("--customer: {e}"))?)
        }
        (None, _) => None,
    };
    let stores = stores(settings).await?;
    let export = ExportOrders::new(stores.orders.clone(), PAGE_SIZE);

    let (sink, file): (Box<dyn Write>, _) = match &args.output {
        None => (Box::new(std::io::stdout().lock()), None),
        Some(path) => {
            let dir = path
                .parent()
                .filter(|dir| !dir.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            let temporary = tempfile::NamedTempFile::new_in(dir)
                .with_context(|| format!("cannot create a file in {}", dir.display()))?;
            let handle = temporary.reopen().context("cannot open the export file")?;
            (Box::new(handle), Some((temporary, path.clone())))
        }
    };
    let mut rows = Rows::new(args.format, BufWriter::with_capacity(256 * 1024, sink));
    let count = match args.what {
        ExportWhat::Items => {
            rows.header(&["customerId", "orderId", "timestamp", "itemId", "costEur"])?;
            let mut items = export.items(customer).await?;
            let mut count = 0u64;
            while let Some(page) = items.next_page().await? {
                for item in page {
                    rows.write(
                        &[
                            item.customer_id.as_str(),
                            item.key.order_id.as_str(),
                            &item.key.timestamp.millis().to_string(),
                            item.item_id.as_str(),
                            &item.cost.to_decimal_string(),
                        ],
                        || {
                            Ok(serde_json::to_vec(&ItemRecord {
                                customer_id: item.customer_id.as_str(),
                                order_id: item.key.order_id.as_str(),
                                timestamp: item.key.timestamp.millis().to_string(),
                                item_id: item.item_id.as_str(),
                                cost_eur: amount(item.cost)?,
                            })?)
                        },
                    )?;
                    count += 1;
                }
            }
            count
        }
        ExportWhat::Summaries => {
            rows.header(&["customerId", "nbrOfPurchasedItems", "totalAmountEur"])?;
            let mut summaries = export.summaries();
            let mut count = 0u64;
            while let Some(page) = summaries.next_page().await? {
                for summary in page {
                    rows.write(
                        &[
                            summary.customer_id.as_str(),
                            &summary.purchased_items.to_string(),
                            &summary.total.to_decimal_string(),
                        ],
                        || {
                            Ok(serde_json::to_vec(&SummaryRecord {
                                customer_id: summary.customer_id.as_str(),
                                nbr_of_purchased_items: summary.purchased_items,
                                total_amount_eur: amount(summary.total)?,
                            })?)
                        },
                    )?;
                    count += 1;
                }
            }
            count
        }
    };
    rows.finish()?;
    if let Some((temporary, path)) = file {
        temporary
            .persist(&path)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "exported {count} {} in {secs:.1} s ({:.0} rows/s)",
        match args.what {
            ExportWhat::Items => "items",
            ExportWhat::Summaries => "summaries",
        },
        count as f64 / secs.max(0.001)
    );
    Ok(())
}

/// An item as an NDJSON line, in the field order of the API.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ItemRecord<'a> {
    customer_id: &'a str,
    order_id: &'a str,
    timestamp: String,
    item_id: &'a str,
    cost_eur: Number,
}

/// A summary as an NDJSON line, as `GET /customers/summaries` writes it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SummaryRecord<'a> {
    customer_id: &'a str,
    nbr_of_purchased_items: u64,
    total_amount_eur: Number,
}

/// An amount as a JSON number written exactly (`18.5`, `2`).
fn amount(money: Money) -> Result<Number> {
    Number::from_str(&money.to_decimal_string()).context("an amount is not a JSON number")
}

/// Rows in CSV (through the csv crate: any id is quoted as it needs) or NDJSON.
enum Rows<W: Write> {
    Csv(Box<csv::Writer<W>>),
    Ndjson(W),
}

impl<W: Write> Rows<W> {
    fn new(format: FileFormat, out: W) -> Self {
        match format {
            FileFormat::Csv => Self::Csv(Box::new(csv::Writer::from_writer(out))),
            FileFormat::Json | FileFormat::Ndjson => Self::Ndjson(out),
        }
    }

    fn header(&mut self, names: &[&str]) -> Result<()> {
        if let Self::Csv(writer) = self {
            writer
                .write_record(names)
                .context("cannot write the export")?;
        }
        Ok(())
    }

    fn write(&mut self, fields: &[&str], json: impl FnOnce() -> Result<Vec<u8>>) -> Result<()> {
        match self {
            Self::Csv(writer) => writer
                .write_record(fields)
                .context("cannot write the export"),
            Self::Ndjson(out) => {
                let mut line = json()?;
                line.push(b'\n');
                out.write_all(&line).context("cannot write the export")
            }
        }
    }

    fn finish(self) -> Result<()> {
        match self {
            Self::Csv(mut writer) => writer.flush(),
            Self::Ndjson(mut out) => out.flush(),
        }
        .context("cannot write the export")
    }
}
