//! Orders from CSV with one row per item. The rows of one order may be anywhere in the file, so
//! the file is read twice with flat memory: first every row is spilled to one of a number of
//! bucket files chosen by a hash of its orderId (so all rows of an order meet in one bucket),
//! then each bucket, small enough to hold, is grouped into orders. An order's items keep the
//! order of their rows; orders come out bucket by bucket, in the order of their first row.

use std::cell::{Cell, RefCell};
use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::{BufReader, BufWriter, Read};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use anyhow::{Context, Result, bail};
use application::raw_input::{RawItem, RawItems, RawOrder, RawOrderFields, RawValue};
use application::use_cases::{ImportProblem, RejectedOrder, SourcedOrder};

use super::{Counting, Entry, unreadable};

/// The columns, as the header names them (in any order).
pub const COLUMNS: [&str; 5] = ["customerId", "orderId", "timestamp", "itemId", "costEur"];

/// Bytes of input per bucket: what one bucket costs in memory when it is grouped.
const BUCKET_BYTES: u64 = 4 * 1024 * 1024;
const MAX_BUCKETS: u64 = 512;
/// Buckets for input of unknown size (standard input).
const UNKNOWN_SIZE_BUCKETS: u64 = 64;

/// Reads every row of `input` and calls `each` with every order (or unreadable row); stops
/// early when `each` returns false.
pub fn for_each_order(
    input: impl Read,
    size: Option<u64>,
    read_bytes: &Arc<AtomicU64>,
    mut each: impl FnMut(Entry) -> bool,
) -> Result<()> {
    let buckets = size.map_or(UNKNOWN_SIZE_BUCKETS, |size| {
        size.div_ceil(BUCKET_BYTES).clamp(1, MAX_BUCKETS)
    });
    let spill = tempfile::Builder::new()
        .prefix("order-manager-import-")
        .tempdir()
        .context("cannot create a directory for the import's bucket files")?;
    let paths: Vec<_> = (0..buckets)
        .map(|index| spill.path().join(format!("bucket-{index}.csv")))
        .collect();
    let mut writers = paths
        .iter()
        .map(|path| {
            File::create(path)
                .map(|file| csv::Writer::from_writer(BufWriter::new(file)))
                .with_context(|| format!("cannot create {}", path.display()))
        })
        .collect::<Result<Vec<_>>>()?;

    let lines = LineNumbers::default();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(lines.reader(input));
    let header = reader
        .headers()
        .context("cannot read the CSV header")?
        .clone();
    let columns = column_indexes(&header)?;
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            // Not valid UTF-8, say: the row is rejected, the others go on.
            Err(error) if !error.is_io_error() => {
                let line = error.position().map_or(0, |at| lines.line_at(at.byte()));
                if !each(unreadable(line, format!("unreadable CSV row: {error}"))) {
                    return Ok(());
                }
                continue;
            }
            Err(error) => return Err(error).context("cannot read the CSV file"),
        }
        let line = record.position().map_or(0, |at| lines.line_at(at.byte()));
        if record.len() != COLUMNS.len() {
            let message = format!(
                "a row must have {} fields ({}), this one has {}",
                COLUMNS.len(),
                COLUMNS.join(","),
                record.len()
            );
            if !each(unreadable(line, message)) {
                return Ok(());
            }
            continue;
        }
        let field = |column: usize| record.get(columns[column]).unwrap_or_default();
        let order_id = field(1);
        let mut hasher = DefaultHasher::new();
        order_id.hash(&mut hasher);
        let bucket = usize::try_from(hasher.finish() % buckets).unwrap_or(0);
        let line_text = line.to_string();
        writers[bucket]
            .write_record([
                line_text.as_str(),
                field(0),
                order_id,
                field(2),
                field(3),
                field(4),
            ])
            .context("cannot write an import bucket file")?;
    }
    for writer in &mut writers {
        writer
            .flush()
            .context("cannot write an import bucket file")?;
    }
    drop(writers);

    for path in &paths {
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let file = Counting::new(file, read_bytes.clone());
        for entry in group_bucket(BufReader::new(file))? {
            if !each(entry) {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// The line a record starts on. After a CRLF line the csv crate puts the next record at the
/// LF (its own line numbers then run one short), so a newline at or before a record's byte
/// offset is a line behind it. The newlines are counted as the reader passes them: only those
/// read ahead of the parser are held.
#[derive(Debug, Default, Clone)]
struct LineNumbers {
    /// Offsets of the newlines read but not yet passed by the parser.
    ahead: Rc<RefCell<VecDeque<u64>>>,
    passed: Rc<Cell<u64>>,
}

impl LineNumbers {
    fn reader<R: Read>(&self, inner: R) -> NewlineReader<R> {
        NewlineReader {
            inner,
            offset: 0,
            ahead: self.ahead.clone(),
        }
    }

    /// The 1-based line of `byte`; offsets must come in increasing order.
    fn line_at(&self, byte: u64) -> u64 {
        let mut ahead = self.ahead.borrow_mut();
        while ahead.front().is_some_and(|newline| *newline <= byte) {
            ahead.pop_front();
            self.passed.set(self.passed.get() + 1);
        }
        self.passed.get() + 1
    }
}

struct NewlineReader<R> {
    inner: R,
    offset: u64,
    ahead: Rc<RefCell<VecDeque<u64>>>,
}

impl<R: Read> Read for NewlineReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        let mut ahead = self.ahead.borrow_mut();
        for (index, byte) in buf[..read].iter().enumerate() {
            if *byte == b'\n' {
                ahead.push_back(self.offset + index as u64);
            }
        }
        self.offset += read as u64;
        Ok(read)
    }
}

/// The position of each of [`COLUMNS`] in the header.
fn column_indexes(header: &csv::StringRecord) -> Result<[usize; 5]> {
    let mut indexes = [usize::MAX; 5];
    for (position, name) in header.iter().enumerate() {
        let Some(column) = COLUMNS.iter().position(|known| *known == name.trim()) else {
            bail!(
                "unknown CSV column `{name}`: the header must name exactly {}",
                COLUMNS.join(",")
            );
        };
        if indexes[column] != usize::MAX {
            bail!("the CSV header names `{name}` twice");
        }
        indexes[column] = position;
    }
    if let Some(missing) = indexes.iter().position(|index| *index == usize::MAX) {
        bail!(
            "the CSV header lacks `{}`: it must name {}",
            COLUMNS[missing],
            COLUMNS.join(",")
        );
    }
    Ok(indexes)
}

/// One order being assembled from its rows.
struct Group {
    line: u64,
    customer_id: String,
    order_id: String,
    timestamp: String,
    items: Vec<RawItem>,
    problems: Vec<ImportProblem>,
}

/// The orders of one bucket, in the order of their first row.
fn group_bucket(input: impl Read) -> Result<Vec<Entry>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(input);
    let mut groups: Vec<Group> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    for row in reader.records() {
        let row = row.context("cannot read an import bucket file")?;
        let field = |index: usize| row.get(index).unwrap_or_default();
        let line: u64 = field(0).parse().unwrap_or(0);
        let (customer_id, order_id, timestamp) = (field(1), field(2), field(3));
        let item = RawItem::Object {
            item_id: raw_text(field(4)),
            cost_eur: if field(5).is_empty() {
                RawValue::Missing
            } else {
                RawValue::Number(field(5).into())
            },
            unknown_fields: Box::default(),
        };
        if let Some(&index) = by_id.get(order_id) {
            let group = &mut groups[index];
            for (name, first, this) in [
                ("customerId", &group.customer_id, customer_id),
                ("timestamp", &group.timestamp, timestamp),
            ] {
                if first != this {
                    let message = format!(
                        "the rows of this order disagree: line {} has `{first}`, line {line} has `{this}`",
                        group.line
                    );
                    group.problems.push(ImportProblem {
                        field: name.to_owned(),
                        message,
                    });
                }
            }
            group.items.push(item);
            continue;
        }
        by_id.insert(order_id.to_owned(), groups.len());
        groups.push(Group {
            line,
            customer_id: customer_id.to_owned(),
            order_id: order_id.to_owned(),
            timestamp: timestamp.to_owned(),
            items: vec![item],
            problems: Vec::new(),
        });
    }
    groups.sort_by_key(|group| group.line);
    Ok(groups
        .into_iter()
        .map(|group| {
            if !group.problems.is_empty() {
                return Entry::Unreadable(RejectedOrder {
                    line: group.line,
                    order_id: Some(group.order_id),
                    problems: group.problems,
                });
            }
            Entry::Order(SourcedOrder {
                line: group.line,
                order: RawOrder::Object(RawOrderFields {
                    customer_id: raw_text(&group.customer_id),
                    order_id: raw_text(&group.order_id),
                    timestamp: raw_text(&group.timestamp),
                    items: RawItems::List(group.items),
                    unknown_fields: Vec::new(),
                }),
            })
        })
        .collect())
}

/// An empty CSV field is a missing value ("is required"), not an empty id.
fn raw_text(text: &str) -> RawValue {
    if text.is_empty() {
        RawValue::Missing
    } else {
        RawValue::Text(text.into())
    }
}
