//! `order-manager import [FILE|-]`: orders from a JSON array, NDJSON or CSV file, streamed into
//! the database through the same submit use case as `POST /orders`.
//!
//! A reader thread parses the file and hands orders over a small bounded channel; the async
//! side cuts them into chunks (one transaction each) and imports them. Memory stays flat: at
//! most a channel and a chunk of orders are held, whatever the size of the file. Rejected
//! orders go to the rejects file with their line and field errors; everything else is stored,
//! and a second run after an interruption stores only what the first did not.

mod csv_orders;
mod json_array;
mod pipeline;
mod progress;

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use application::use_cases::{
    ImportOrders, ImportProblem, RejectedOrder, SourcedOrder, SubmitLimits, SubmitOrders,
};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::admin::stores;
use crate::cli::{FileFormat, ImportArgs, ServeArgs};
use pipeline::Pipeline;
use progress::Progress;

/// Items per chunk: one transaction. Large enough for multi-row statements to pay off, small
/// enough that a chunk (and its error list) costs little memory.
const MAX_ITEMS_PER_CHUNK: usize = 5_000;
/// Parsed orders per chunk at most, whatever their items: a file of few huge orders (long
/// ids, many unknown keys) still costs bounded memory.
const MAX_BYTES_PER_CHUNK: usize = 16 * 1024 * 1024;
/// The reader hands orders over in blocks of at most this many bytes (as parsed) or orders...
const BLOCK_BYTES: usize = 1024 * 1024;
const BLOCK_ORDERS: usize = 1024;
/// ...and runs at most this many blocks ahead of the database: enough to parse the next chunks
/// while the database writes one, a bounded amount of memory whatever the file.
const BLOCKS_AHEAD: usize = 4;
/// An order (a JSON element or an NDJSON line) larger than this is rejected without being held.
const MAX_ORDER_BYTES: usize = 4 * 1024 * 1024;

/// What the reader hands over.
#[derive(Debug)]
pub enum Entry {
    Order(SourcedOrder),
    /// A record that is not an order at all (invalid JSON, a CSV row of the wrong shape).
    Unreadable(RejectedOrder),
}

impl Entry {
    /// About the memory the parsed entry holds.
    fn weight(&self) -> usize {
        match self {
            Entry::Order(entry) => entry.order.approx_bytes(),
            Entry::Unreadable(rejected) => rejected
                .problems
                .iter()
                .map(|problem| problem.field.len() + problem.message.len())
                .sum(),
        }
    }
}

/// The counts of the final report.
#[derive(Debug, Default, Clone, Copy)]
pub struct Totals {
    pub read: u64,
    pub stored: u64,
    pub stored_items: u64,
    pub duplicates: u64,
    pub rejected: u64,
}

pub async fn run(settings: &ServeArgs, args: ImportArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let format = match args.format {
        Some(format) => format,
        None => format_of(&args.file)?,
    };
    let (input, size): (Box<dyn Read + Send>, Option<u64>) = if args.file == "-" {
        (Box::new(std::io::stdin()), None)
    } else {
        let file = File::open(&args.file).with_context(|| format!("cannot open {}", args.file))?;
        let size = file.metadata().ok().map(|metadata| metadata.len());
        (Box::new(file), size)
    };
    let rejects_path = args.rejects.clone().unwrap_or_else(|| {
        if args.file == "-" {
            PathBuf::from("import-rejects.ndjson")
        } else {
            PathBuf::from(format!("{}.rejects.ndjson", args.file))
        }
    });

    let stores = stores(settings).await?;
    let import = ImportOrders::new(SubmitOrders::new(
        stores.orders.clone(),
        stores.clock.clone(),
        SubmitLimits {
            max_orders_per_batch: settings.max_orders_per_batch,
            max_items_per_order: settings.max_items_per_order,
            ..SubmitLimits::default()
        },
    ));
    let mut rejects = RejectsFile::create(rejects_path)?;

    let read_bytes = Arc::new(AtomicU64::new(0));
    // CSV is read twice: the file, then its bucket files.
    let total_bytes = size.map(|size| match format {
        FileFormat::Csv => size * 2,
        FileFormat::Json | FileFormat::Ndjson => size,
    });
    let mut progress = Progress::new(total_bytes, read_bytes.clone());
    let (sender, mut receiver) = mpsc::channel::<Vec<Entry>>(BLOCKS_AHEAD);
    let counter = read_bytes.clone();
    let reader = tokio::task::spawn_blocking(move || {
        let input = Counting::new(input, counter.clone());
        let (mut block, mut block_bytes) = (Vec::new(), 0);
        read_entries(format, input, size, &counter, |entry| {
            block_bytes += entry.weight();
            block.push(entry);
            if block.len() < BLOCK_ORDERS && block_bytes < BLOCK_BYTES {
                return true;
            }
            block_bytes = 0;
            sender.blocking_send(std::mem::take(&mut block)).is_ok()
        })?;
        if !block.is_empty() {
            // The receiver is gone only when the import already failed.
            sender.blocking_send(block).ok();
        }
        anyhow::Ok(())
    });

    let mut chunker = import.chunker(MAX_ITEMS_PER_CHUNK, MAX_BYTES_PER_CHUNK);
    let mut pipeline = Pipeline::new(import);
    let mut totals = Totals::default();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let stored = async {
        loop {
            let block = tokio::select! {
                block = receiver.recv() => block,
                _ = tick.tick() => {
                    progress.update(&totals);
                    continue;
                }
            };
            let Some(block) = block else { break };
            for entry in block {
                totals.read += 1;
                match entry {
                    Entry::Order(order) => {
                        if let Some(chunk) = chunker.push(order) {
                            pipeline.submit(chunk, &mut totals, &mut rejects).await?;
                            progress.update(&totals);
                        }
                    }
                    Entry::Unreadable(rejected) => {
                        totals.rejected += 1;
                        rejects.write(&rejected)?;
                    }
                }
            }
        }
        // What was read before any reading error is valid and stored all the same.
        if let Some(chunk) = chunker.finish() {
            pipeline.submit(chunk, &mut totals, &mut rejects).await?;
        }
        anyhow::Ok(())
    }
    .await;
    // Whatever happened, what is in flight is waited for and counted.
    let stored = stored.and(pipeline.finish(&mut totals, &mut rejects).await);
    progress.finish();
    // The counts so far, whatever happened: an operator sees how far it got.
    report(&args.file, &totals, started.elapsed());
    let rejects_path = rejects.finish();
    stored?;
    // The reader stops on its own once the channel is closed.
    reader
        .await
        .map_err(|error| anyhow!("the import's reader failed: {error}"))??;
    let rejects_path = rejects_path?;
    Ok(match rejects_path {
        Some(path) => {
            eprintln!(
                "{} rejected order(s) with their errors: {}",
                totals.rejected,
                path.display()
            );
            ExitCode::from(2)
        }
        None => ExitCode::SUCCESS,
    })
}

fn report(file: &str, totals: &Totals, elapsed: Duration) {
    let secs = elapsed.as_secs_f64();
    let rate = (totals.stored + totals.duplicates) as f64 / secs.max(0.001);
    eprintln!(
        "import of {file}: read {} orders: stored {} ({} items), duplicates {}, rejected {} in {secs:.1} s ({rate:.0} orders/s)",
        totals.read, totals.stored, totals.stored_items, totals.duplicates, totals.rejected
    );
}

fn format_of(file: &str) -> Result<FileFormat> {
    let extension = Path::new(file)
        .extension()
        .and_then(|extension| extension.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("json") => Ok(FileFormat::Json),
        Some("ndjson" | "jsonl") => Ok(FileFormat::Ndjson),
        Some("csv") => Ok(FileFormat::Csv),
        _ => Err(anyhow!(
            "cannot tell the format of `{file}` from its name: add --format json, ndjson or csv"
        )),
    }
}

/// Parses `input` in `format`, calling `each` with every entry until it returns false.
fn read_entries(
    format: FileFormat,
    input: impl Read,
    size: Option<u64>,
    read_bytes: &Arc<AtomicU64>,
    mut each: impl FnMut(Entry) -> bool,
) -> Result<()> {
    match format {
        FileFormat::Json => json_array::for_each_element(
            BufReader::with_capacity(256 * 1024, input),
            MAX_ORDER_BYTES,
            |element| each(parsed_element(element)),
        ),
        FileFormat::Ndjson => for_each_line(BufReader::with_capacity(256 * 1024, input), each),
        FileFormat::Csv => csv_orders::for_each_order(input, size, read_bytes, each),
    }
}

fn parsed_element(element: json_array::Element<'_>) -> Entry {
    match element {
        json_array::Element::Bytes { line, json } => parsed(line, json),
        json_array::Element::TooLarge { line } => unreadable(line, too_large()),
    }
}

fn parsed(line: u64, json: &[u8]) -> Entry {
    match http_api::order_from_json(json) {
        Ok(order) => Entry::Order(SourcedOrder { line, order }),
        Err(message) => unreadable(line, message),
    }
}

fn too_large() -> String {
    format!("an order larger than {MAX_ORDER_BYTES} bytes")
}

/// A record that is no order, with the reason.
fn unreadable(line: u64, message: String) -> Entry {
    Entry::Unreadable(RejectedOrder {
        line,
        order_id: None,
        problems: vec![ImportProblem {
            field: String::new(),
            message,
        }],
    })
}

/// NDJSON: one order per line; blank lines are skipped. A line longer than the limit is
/// rejected and skipped without being held.
fn for_each_line(mut input: impl BufRead, mut each: impl FnMut(Entry) -> bool) -> Result<()> {
    let mut line = Vec::new();
    let mut number = 0u64;
    loop {
        number += 1;
        line.clear();
        let limit = u64::try_from(MAX_ORDER_BYTES).unwrap_or(u64::MAX) + 1;
        let read = (&mut input)
            .take(limit)
            .read_until(b'\n', &mut line)
            .context("cannot read the NDJSON file")?;
        if read == 0 {
            return Ok(());
        }
        let entry = if line.len() > MAX_ORDER_BYTES {
            // Skip the rest of the line.
            let mut rest = Vec::new();
            loop {
                rest.clear();
                let more = (&mut input)
                    .take(64 * 1024)
                    .read_until(b'\n', &mut rest)
                    .context("cannot read the NDJSON file")?;
                if more == 0 || rest.ends_with(b"\n") {
                    break;
                }
            }
            Some(unreadable(number, too_large()))
        } else {
            let text = if number == 1 {
                line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&line)
            } else {
                &line
            };
            (!text.iter().all(u8::is_ascii_whitespace)).then(|| parsed(number, text))
        };
        if let Some(entry) = entry
            && !each(entry)
        {
            return Ok(());
        }
    }
}

/// A reader that counts the bytes read through it, for the progress bar.
pub(crate) struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R> Counting<R> {
    pub(crate) fn new(inner: R, count: Arc<AtomicU64>) -> Self {
        Self { inner, count }
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.count.fetch_add(read as u64, Ordering::Relaxed);
        Ok(read)
    }
}

/// The rejects file: one JSON object per rejected order, rewritten by every run and removed
/// when nothing was rejected.
struct RejectsFile {
    path: PathBuf,
    out: BufWriter<File>,
    written: u64,
}

impl RejectsFile {
    fn create(path: PathBuf) -> Result<Self> {
        let file = File::create(&path)
            .with_context(|| format!("cannot create the rejects file {}", path.display()))?;
        Ok(Self {
            path,
            out: BufWriter::new(file),
            written: 0,
        })
    }

    fn write(&mut self, rejected: &RejectedOrder) -> Result<()> {
        let record = RejectRecord {
            line: rejected.line,
            order_id: rejected.order_id.as_deref(),
            errors: rejected
                .problems
                .iter()
                .map(|problem| RejectError {
                    field: &problem.field,
                    message: &problem.message,
                })
                .collect(),
        };
        let mut text = serde_json::to_vec(&record)?;
        text.push(b'\n');
        self.out
            .write_all(&text)
            .with_context(|| format!("cannot write the rejects file {}", self.path.display()))?;
        self.written += 1;
        Ok(())
    }

    /// The path, when something was rejected.
    fn finish(mut self) -> Result<Option<PathBuf>> {
        self.out
            .flush()
            .with_context(|| format!("cannot write the rejects file {}", self.path.display()))?;
        if self.written == 0 {
            std::fs::remove_file(&self.path).ok();
            return Ok(None);
        }
        Ok(Some(self.path))
    }
}

/// A line of the rejects file: the same `field` / `message` pairs as the API's `errors`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RejectRecord<'a> {
    line: u64,
    order_id: Option<&'a str>,
    errors: Vec<RejectError<'a>>,
}

#[derive(Serialize)]
struct RejectError<'a> {
    field: &'a str,
    message: &'a str,
}

/// Whether progress is drawn as a bar (a terminal) or logged as lines.
fn on_terminal() -> bool {
    std::io::stderr().is_terminal()
}
