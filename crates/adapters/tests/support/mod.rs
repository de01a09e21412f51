//! What several test crates of the adapters share: the two databases every SQL store contract
//! runs on. (Redis servers of a test's own and free ports come from testkit.)

// Each test crate uses only some of these.
#![allow(dead_code)]

pub mod databases;
