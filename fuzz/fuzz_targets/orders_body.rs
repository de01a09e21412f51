//! `POST /orders` body path on arbitrary bytes: strict JSON parse (duplicate keys refused,
//! size limit), DTO mapping, the submit use case's validation and idempotency, and the mapping
//! to problem+json. Nothing may panic, and the answer must keep the contract's promises (see
//! `http_api::fuzzing::BodyOutcome::broken_promises`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let outcome = http_api::fuzzing::submit_body(body);
    let broken = outcome.broken_promises();
    assert!(
        broken.is_empty(),
        "{broken:?} for {:?}",
        String::from_utf8_lossy(body)
    );
});
