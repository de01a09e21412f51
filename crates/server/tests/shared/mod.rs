//! Helpers both test targets of the server (`api` and `e2e`) use, included by each with
//! `#[path]`: the built binary's launcher and admin commands, the TCP proxy that cuts a
//! dependency, the RFC 9457 problem check.
// Each target uses only part of them.
#![allow(dead_code)]

pub mod built_binary;
pub mod problem;
pub mod tcp_proxy;
