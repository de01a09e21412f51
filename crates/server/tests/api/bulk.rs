//! `order-manager import` and `export`, run as a user would: files in every format, the rejects
//! file, CSV's edge cases, and an import killed half-way and run again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::binary::{BINARY, create_database};

/// A store: an SQLite file in its own directory.
struct Store {
    dir: tempfile::TempDir,
    url: String,
}

impl Store {
    fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("orders.db").display()
        );
        Self { dir, url }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn run(&self, args: &[&str]) -> Output {
        run(&self.url, args)
    }

    /// `import FILE` (more args allowed); returns the exit code and the report line.
    fn import(&self, args: &[&str]) -> (i32, String) {
        let output = self.run(&[&["import"], args].concat());
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let report = stderr
            .lines()
            .find(|line| line.starts_with("import of "))
            .unwrap_or_else(|| panic!("no report: {stderr}"))
            .to_owned();
        (output.status.code().unwrap_or(-1), report)
    }

    fn export(&self, args: &[&str]) -> String {
        let output = self.run(&[&["export"], args].concat());
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }
}

fn run(url: &str, args: &[&str]) -> Output {
    Command::new(BINARY)
        .args(args)
        .args(["--log-format", "json"])
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// `count` orders of a few customers, with 1-4 items of exact amounts, deterministic.
fn orders(count: usize) -> Vec<Value> {
    let mut seed: u64 = 20_261_203;
    let mut next = |modulo: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % modulo
    };
    (0..count)
        .map(|index| {
            let items: Vec<Value> = (0..1 + next(4))
                .map(|_| {
                    let cents = next(100_000);
                    json!({
                        "itemId": format!("sku-{}", next(50)),
                        "costEur": serde_json::Number::from_string_unchecked(
                            format!("{}.{:02}", cents / 100, cents % 100)
                        ),
                    })
                })
                .collect();
            json!({
                "customerId": format!("c{:03}", next(40)),
                "orderId": format!("o{index}"),
                "timestamp": (1_637_245_070_513 + index as u64).to_string(),
                "items": items,
            })
        })
        .collect()
}

fn ndjson(orders: &[Value]) -> String {
    orders.iter().map(|order| format!("{order}\n")).collect()
}

/// What the summaries must be: per customer, the number of items and the total in cents.
fn expected_summaries(orders: &[Value]) -> BTreeMap<String, (u64, i64)> {
    let mut sums = BTreeMap::new();
    for order in orders {
        let entry = sums
            .entry(order["customerId"].as_str().unwrap().to_owned())
            .or_insert((0, 0));
        for item in order["items"].as_array().unwrap() {
            entry.0 += 1;
            entry.1 += cents(&item["costEur"].to_string());
        }
    }
    sums
}

fn cents(amount: &str) -> i64 {
    let (whole, fraction) = amount.split_once('.').unwrap_or((amount, ""));
    whole.parse::<i64>().unwrap() * 100 + format!("{fraction:0<2}").parse::<i64>().unwrap()
}

fn summaries(store: &Store) -> BTreeMap<String, (u64, i64)> {
    store
        .export(&["summaries", "--format", "ndjson"])
        .lines()
        .map(|line| {
            let summary: Value = serde_json::from_str(line).unwrap();
            (
                summary["customerId"].as_str().unwrap().to_owned(),
                (
                    summary["nbrOfPurchasedItems"].as_u64().unwrap(),
                    cents(&summary["totalAmountEur"].to_string()),
                ),
            )
        })
        .collect()
}

#[test]
fn every_format_round_trips_and_an_items_export_reimported_gives_the_same_summaries() {
    let orders = orders(1_200);
    let expected = expected_summaries(&orders);

    let from_json = Store::sqlite();
    let file = from_json.path("orders.json");
    std::fs::write(&file, serde_json::to_string_pretty(&orders).unwrap()).unwrap();
    let (code, report) = from_json.import(&[file.to_str().unwrap()]);
    assert_eq!(code, 0, "{report}");
    assert!(report.contains("read 1200 orders: stored 1200"), "{report}");
    assert_eq!(summaries(&from_json), expected);

    let from_ndjson = Store::sqlite();
    let file = from_ndjson.path("orders.jsonl");
    std::fs::write(&file, ndjson(&orders)).unwrap();
    assert_eq!(from_ndjson.import(&[file.to_str().unwrap()]).0, 0);
    assert_eq!(summaries(&from_ndjson), expected);

    // Items exported as CSV are the CSV import format; into an empty store they give the same
    // summaries.
    let csv = from_json.export(&["items", "--format", "csv"]);
    assert!(csv.starts_with("customerId,orderId,timestamp,itemId,costEur\n"));
    let from_csv = Store::sqlite();
    let exported = from_csv.path("items.csv");
    std::fs::write(&exported, &csv).unwrap();
    assert_eq!(from_csv.import(&[exported.to_str().unwrap()]).0, 0);
    assert_eq!(summaries(&from_csv), expected);
    // And the items themselves, in the same order, whichever store they come from.
    assert_eq!(from_csv.export(&["items"]), csv);
    let by_ndjson = from_ndjson.export(&["items", "--format", "ndjson"]);
    assert_eq!(by_ndjson.lines().count(), csv.lines().count() - 1);
    let first: Value = serde_json::from_str(by_ndjson.lines().next().unwrap()).unwrap();
    let first_row: Vec<&str> = csv.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(first["customerId"], first_row[0]);
    assert_eq!(first["costEur"].to_string(), first_row[4]);

    // One customer, to a file.
    let one = from_json.path("one.csv");
    from_json.export(&[
        "items",
        "--customer",
        "c001",
        "--output",
        one.to_str().unwrap(),
    ]);
    let rows = std::fs::read_to_string(&one).unwrap();
    assert_eq!(rows.lines().count() as u64 - 1, expected["c001"].0);
    assert!(rows.lines().skip(1).all(|row| row.starts_with("c001,")));

    // Everything again: all duplicates, nothing stored twice.
    let file = from_json.path("orders.json");
    let (code, report) = from_json.import(&[file.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(
        report.contains("stored 0 (0 items), duplicates 1200"),
        "{report}"
    );
    assert_eq!(summaries(&from_json), expected);
}

#[test]
fn bad_orders_go_to_the_rejects_file_with_their_line_and_errors_and_the_rest_is_stored() {
    let store = Store::sqlite();
    let file = store.path("mixed.ndjson");
    let rejects = store.path("bad.ndjson");
    std::fs::write(
        &file,
        [
            r#"{"customerId":"01","orderId":"1","timestamp":"1637245070513","items":[{"itemId":"a","costEur":2}]}"#,
            r#"{"customerId":"01","orderId":"2","timestamp":"1637245070513","items":[{"itemId":"a","costEur":-1}]}"#,
            "",
            r#"{"customerId":"01","orderId":"3" "#,
            r#"{"customerId":"01","orderId":"1","timestamp":"1637245070513","items":[{"itemId":"a","costEur":3}]}"#,
            r#"{"customerId":"01","orderId":"4","timestamp":"1637245070513","items":[],"x":1}"#,
            r#"{"customerId":"01","orderId":"5","orderId":"6","timestamp":"1637245070513","items":[{"itemId":"a","costEur":1}]}"#,
            r#"{"customerId":"02","orderId":"7","timestamp":1637245070514,"items":[{"itemId":"b","costEur":0.5}]}"#,
        ]
        .join("\n"),
    )
    .unwrap();
    let (code, report) = store.import(&[
        file.to_str().unwrap(),
        "--rejects",
        rejects.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "some orders were rejected: {report}");
    assert!(
        report.contains("read 7 orders: stored 2 (2 items), duplicates 0, rejected 5"),
        "{report}"
    );
    let found: Vec<(u64, Value, Vec<String>)> = std::fs::read_to_string(&rejects)
        .unwrap()
        .lines()
        .map(|line| {
            let rejected: Value = serde_json::from_str(line).unwrap();
            let fields = rejected["errors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|error| error["field"].as_str().unwrap().to_owned())
                .collect();
            (
                rejected["line"].as_u64().unwrap(),
                rejected["orderId"].clone(),
                fields,
            )
        })
        .collect();
    let mut found = found;
    found.sort_by_key(|(line, _, _)| *line);
    assert_eq!(
        found,
        [
            (2, json!("2"), vec!["items[0].costEur".to_owned()]),
            (4, Value::Null, vec![String::new()]),
            (5, json!("1"), vec!["orderId".to_owned()]),
            (6, json!("4"), vec!["x".to_owned()]),
            (7, Value::Null, vec![String::new()]),
        ]
    );
    let text = std::fs::read_to_string(&rejects).unwrap();
    assert!(text.contains("duplicate key `orderId`"), "{text}");
    assert!(
        text.contains("already stored with different content"),
        "{text}"
    );

    // Run again: the same rejects, the stored ones now duplicates.
    let (code, report) = store.import(&[
        file.to_str().unwrap(),
        "--rejects",
        rejects.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(
        report.contains("stored 0 (0 items), duplicates 2, rejected 5"),
        "{report}"
    );
}

#[test]
fn csv_takes_quotes_commas_newlines_a_bom_crlf_and_scattered_rows() {
    let store = Store::sqlite();
    let file = store.path("edge.csv");
    // Columns in another order; a BOM; CRLF; the rows of order `7,"q"` apart; an id with a
    // newline (a control character: refused, and the line of its first row is reported); a
    // row with a field too few; rows of one order that disagree on the customer.
    let text = "\u{feff}orderId,customerId,timestamp,itemId,costEur\r\n\
                \"7,\"\"q\"\"\",\"c 1\",1637245070600,a,1.5\r\n\
                8,c2,1637245070601,b,2\r\n\
                \"7,\"\"q\"\"\",\"c 1\",1637245070600,\"x,y\",3\r\n\
                9,c2,1637245070602,\"new\nline\",1\r\n\
                10,c2,1637245070603,b\r\n\
                11,c3,1637245070604,b,1\r\n\
                11,c4,1637245070604,b,1\r\n";
    std::fs::write(&file, text).unwrap();
    let (code, report) = store.import(&[file.to_str().unwrap()]);
    assert_eq!(code, 2, "{report}");
    assert!(report.contains("stored 2 (3 items)"), "{report}");
    let rejects = std::fs::read_to_string(store.path("edge.csv.rejects.ndjson")).unwrap();
    let mut lines: Vec<(u64, String)> = rejects
        .lines()
        .map(|line| {
            let rejected: Value = serde_json::from_str(line).unwrap();
            (
                rejected["line"].as_u64().unwrap(),
                rejected["errors"][0]["field"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            (5, "items[0].itemId".to_owned()),
            (7, String::new()),
            (8, "customerId".to_owned()),
        ]
    );
    let exported = store.export(&["items"]);
    assert_eq!(
        exported,
        "customerId,orderId,timestamp,itemId,costEur\n\
         c 1,\"7,\"\"q\"\"\",1637245070600,a,1.5\n\
         c 1,\"7,\"\"q\"\"\",1637245070600,\"x,y\",3\n\
         c2,8,1637245070601,b,2\n"
    );
}

#[test]
fn unknown_formats_and_headers_are_clear_errors() {
    let store = Store::sqlite();
    let file = store.path("orders.txt");
    std::fs::write(&file, "[]").unwrap();
    let output = store.run(&["import", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--format"));

    let file = store.path("orders.csv");
    std::fs::write(&file, "customerId,orderId,timestamp,itemId,price\n").unwrap();
    let output = store.run(&["import", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown CSV column `price`"));

    let output = store.run(&["export", "items", "--customer", "nobody"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("nobody"));
}

/// Killed half-way on MariaDB, then run again: every order stored exactly once.
#[tokio::test]
async fn an_import_killed_half_way_and_run_again_stores_everything_exactly_once() {
    use sea_orm::{ConnectionTrait, Database, Statement};

    let server_url = testkit::stores::mysql_server_url();
    let name = format!("om_import_{}", uuid::Uuid::new_v4().simple());
    create_database(&server_url, &name).await;
    let url = testkit::stores::database_url(&server_url, &name);
    assert!(run(&url, &["migrate"]).status.success());

    let orders = orders(30_000);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("orders.ndjson");
    std::fs::write(&file, ndjson(&orders)).unwrap();

    let db = Database::connect(&url).await.unwrap();
    let stored = || async {
        let row = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT COUNT(*) AS n FROM orders",
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<i64>("", "n").unwrap()
    };

    let mut first = Command::new(BINARY)
        .args(["import", file.to_str().unwrap()])
        .env("DATABASE_URL", &url)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while stored().await == 0 {
        assert!(Instant::now() < deadline, "the import stored nothing");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill().unwrap();
    first.wait().unwrap();
    let after_kill = stored().await;
    assert!(
        after_kill > 0 && after_kill < 30_000,
        "killed half-way: {after_kill} of 30000 stored"
    );

    let second = run(&url, &["import", file.to_str().unwrap()]);
    let report = String::from_utf8_lossy(&second.stderr);
    assert!(second.status.success(), "{report}");
    let stored_again = 30_000 - after_kill;
    assert!(
        report.contains(&format!("stored {stored_again} ("))
            && report.contains(&format!("duplicates {after_kill},")),
        "{report}"
    );
    assert_eq!(stored().await, 30_000);
    let store = Store {
        dir: tempfile::tempdir().unwrap(),
        url: url.clone(),
    };
    assert_eq!(summaries(&store), expected_summaries(&orders));
    assert!(!Path::new(&format!("{}.rejects.ndjson", file.display())).exists());
}
