//! STUB: replaced by its owner.

use std::io::Read;

use serde::Serialize;

use crate::diag::Diagnostic;
use crate::text::TextReader;

#[derive(Debug, Clone, Default, Serialize)]
pub struct SensorLog {}

/// Scans a log as a stream.
pub fn parse<R: Read>(reader: TextReader<R>) -> (SensorLog, Vec<Diagnostic>) {
    let _ = reader;
    (SensorLog::default(), Vec::new())
}
