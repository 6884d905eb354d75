//! proxy-triage: offline triage of Defender for Identity (Azure ATP) sensor proxy uploads.
//!
//! Data flows one way:
//! `input` (files, folders, zips) → [`text`] (decoding, lines) → [`detect`] (kind) →
//! [`formats`] (one parser per kind) → [`registry`] + [`proxy`] (what the bytes mean) →
//! [`case`] (per-account evidence, rules, verdict) → [`report`] (renderers).
//! [`fix`] writes remediation files and [`probe`] talks to the network, only on request.
//! [`cmd`] holds the glue for each subcommand; `main.rs` only maps arguments to it.

// Customer data must never reach a panic: no unwrap/expect/panic/indexing outside tests.
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod artifact;
pub mod case;
pub mod cli;
pub mod cmd;
pub mod detect;
pub mod diag;
pub mod fix;
pub mod formats;
pub mod input;
pub mod own_files;
pub mod pac;
pub mod pipeline;
pub mod probe;
pub mod proxy;
pub mod read_full;
pub mod registry;
pub mod report;
pub mod scripts;
pub mod secrets;
pub mod text;

/// The documented processor endpoint the 503 test browses to.
pub const PROCESSOR_ENDPOINT_URL: &str = "https://triprd1wcuse1sensorapi.eastus.cloudapp.azure.com";
/// Host of the documented processor endpoint.
pub const PROCESSOR_ENDPOINT_HOST: &str = "triprd1wcuse1sensorapi.eastus.cloudapp.azure.com";
/// Schema version of every JSON document this crate writes.
pub const SCHEMA_VERSION: u32 = 2;
