//! A bounded, CI-friendly fuzzer of the `POST /orders` body path: strict JSON parsing
//! ([`super::parse`]), the DTO mapping and the application's batch validation, on inputs mutated
//! from a corpus of valid and hostile bodies. Nothing may panic; valid generated batches must be
//! accepted whole with exact totals.
//!
//! Time budget: `ORDER_MANAGER_FUZZ_SECS` (default 3 s; CI may raise it to about a minute).
//! The seed is printed, and `ORDER_MANAGER_FUZZ_SEED` replays a run.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic: that is how they fail

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use application::ports::{MockClock, MockOrderStore};
use application::use_cases::{SubmitLimits, SubmitOrders};

use super::parse;
use crate::dto::orders::batch_from_json;

/// xorshift64*: small, deterministic, good enough to drive mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const CORPUS: &[&str] = &[
    r#"[{"customerId":"01","orderId":"50","timestamp":"1637245070513","items":[{"itemId":"20201","costEur":2}]}]"#,
    r#"{"customerId":"01","orderId":"51","timestamp":1637245070513,"items":[{"itemId":"a","costEur":0},{"itemId":"a","costEur":12.3}]}"#,
    r#"[{"customerId":"c","orderId":"o","timestamp":"1","items":[{"itemId":"i","costEur":999999.99}]},{"customerId":"c","orderId":"o","timestamp":"1","items":[{"itemId":"i","costEur":999999.99}]}]"#,
    r#"[{"customerId":"01","orderId":"x","timestamp":"1637245070513","items":[{"itemId":"a","costEur":1e400}]}]"#,
    r#"[{"customerId":"\u0000","orderId":"\ud800","timestamp":"-0","items":[{"itemId":"a","costEur":-0}]}]"#,
    r#"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"#,
    r#"{"a":1,"a":2}"#,
    r#"[{"customerId":"01","orderId":"x","timestamp":"1637245070513","items":[{"itemId":"a","costEur":"2"}]}]"#,
];

/// Bytes that make mutations interesting for a JSON parser.
const TOKENS: &[&[u8]] = &[
    b"[",
    b"]",
    b"{",
    b"}",
    b"\"",
    b",",
    b":",
    b"0",
    b"9",
    b"-",
    b"e",
    b"E",
    b".",
    b"\\",
    b"\\u",
    b"\xff",
    b"\x00",
    b"null",
    b"true",
    b"1e400",
    b"NaN",
    b"\"costEur\"",
    b"\"items\"",
    b" ",
];

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(6) {
            0 if !out.is_empty() => {
                let at = at.min(out.len() - 1);
                out[at] = rng.next() as u8;
            }
            1 => {
                let token = TOKENS[rng.below(TOKENS.len())];
                out.splice(at..at, token.iter().copied());
            }
            2 if !out.is_empty() => {
                let end = (at + 1 + rng.below(16)).min(out.len());
                out.drain(at.min(end)..end);
            }
            3 if !out.is_empty() => {
                let start = rng.below(out.len());
                let end = (start + 1 + rng.below(32)).min(out.len());
                let copy: Vec<u8> = out[start..end].to_vec();
                out.splice(at..at, copy);
            }
            4 => {
                let other = CORPUS[rng.below(CORPUS.len())].as_bytes();
                let start = rng.below(other.len());
                out.truncate(at);
                out.extend_from_slice(&other[start..]);
            }
            _ => out.truncate(at),
        }
    }
    out
}

/// The use case on a store that holds nothing and records what it is asked to insert.
fn use_case(inserted: Arc<Mutex<Vec<i64>>>) -> SubmitOrders {
    let mut store = MockOrderStore::new();
    store
        .expect_stored_fingerprints()
        .returning(|_| Ok(HashMap::new()));
    store.expect_insert_new().returning(move |orders, _| {
        inserted
            .lock()
            .unwrap()
            .extend(orders.iter().map(|o| o.total().cents()));
        Ok(())
    });
    let mut clock = MockClock::new();
    clock
        .expect_now_millis()
        .return_const(1_700_000_000_000_u64);
    SubmitOrders::new(Arc::new(store), Arc::new(clock), SubmitLimits::default())
}

/// The whole body path; a panic anywhere fails the run with the input shown.
fn run(runtime: &tokio::runtime::Runtime, submit: &SubmitOrders, body: &[u8]) {
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
        let Ok(value) = parse(body) else { return };
        let Ok(batch) = batch_from_json(value) else {
            return;
        };
        let _ = runtime.block_on(submit.execute(batch));
    }));
    if outcome.is_err() {
        panic!(
            "the body path panicked on {:?}",
            String::from_utf8_lossy(body)
        );
    }
}

fn budget() -> Duration {
    std::env::var("ORDER_MANAGER_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(3))
}

fn seed() -> u64 {
    std::env::var("ORDER_MANAGER_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
                | 1
        })
}

#[test]
fn mutated_bodies_never_panic() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let submit = use_case(Arc::new(Mutex::new(Vec::new())));
    let seed = seed();
    eprintln!("fuzz: seed {seed} (ORDER_MANAGER_FUZZ_SEED replays it)");
    let mut rng = Rng(seed);
    let deadline = Instant::now() + budget();
    let mut runs = 0u64;
    for seed_body in CORPUS {
        run(&runtime, &submit, seed_body.as_bytes());
    }
    while Instant::now() < deadline {
        let base = CORPUS[rng.below(CORPUS.len())].as_bytes();
        let mut input = mutate(&mut rng, base);
        // Stack a few generations now and then, to wander further from the corpus.
        for _ in 0..rng.below(3) {
            input = mutate(&mut rng, &input);
        }
        run(&runtime, &submit, &input);
        runs += 1;
    }
    eprintln!("fuzz: {runs} mutated bodies, no panic");
}

#[test]
fn generated_valid_batches_are_accepted_whole_with_exact_totals() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut rng = Rng(seed());
    let deadline = Instant::now() + budget() / 2;
    let mut batches = 0;
    while Instant::now() < deadline || batches < 50 {
        let inserted = Arc::new(Mutex::new(Vec::new()));
        let submit = use_case(inserted.clone());
        let orders = 1 + rng.below(20);
        let mut expected = Vec::new();
        let mut body = Vec::new();
        for n in 0..orders {
            let items = 1 + rng.below(10);
            let mut total = 0i64;
            let mut entries = Vec::new();
            for i in 0..items {
                let cents = (rng.next() % 100_000_000) as i64;
                total += cents;
                let cost = match rng.below(3) {
                    0 => format!("{}.{:02}", cents / 100, cents % 100),
                    1 if cents % 100 == 0 => format!("{}", cents / 100),
                    _ => format!("{}e-2", cents),
                };
                entries.push(format!(r#"{{"itemId":"i{i}","costEur":{cost}}}"#));
            }
            expected.push(total);
            let timestamp = 1_600_000_000_000_u64 + rng.next() % 100_000_000_000;
            let timestamp = if rng.below(2) == 0 {
                format!("\"{timestamp}\"")
            } else {
                timestamp.to_string()
            };
            body.push(format!(
                r#"{{"customerId":"c{}","orderId":"b{batches}-{n}","timestamp":{timestamp},"items":[{}]}}"#,
                rng.below(5),
                entries.join(",")
            ));
        }
        let body = format!("[{}]", body.join(","));
        let value = parse(body.as_bytes()).unwrap_or_else(|p| panic!("{body}: {p:?}"));
        let batch = batch_from_json(value).unwrap();
        let report = runtime
            .block_on(submit.execute(batch))
            .unwrap_or_else(|e| panic!("{body}: {e:?}"));
        assert_eq!(report.accepted, orders, "{body}");
        assert_eq!(*inserted.lock().unwrap(), expected, "{body}");
        batches += 1;
    }
    eprintln!("fuzz: {batches} generated valid batches round-tripped");
}
