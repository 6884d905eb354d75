//! Diagnostics: what a parser noticed about an input, with its position.
//!
//! Parsers never print and never decide exit codes; they return values plus these.

use serde::Serialize;

/// How bad a diagnostic is. `Error` means some content was not (or would not be) taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    /// The lowercase name used in every output.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One remark about an input at a 1-based physical line and 1-based column (in characters).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub line: u64,
    pub column: u32,
    pub severity: Severity,
    /// Stable machine-readable identifier (`rejected-value`, `invalid-encoding`, ...).
    pub code: &'static str,
    pub message: String,
    /// Byte offset in the file, for binary formats (registry hives), where lines mean nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
}

impl Diagnostic {
    pub fn new(
        line: u64,
        column: u32,
        severity: Severity,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            line,
            column,
            severity,
            code,
            message: message.into(),
            offset: None,
        }
    }

    /// The same diagnostic located at a byte offset of a binary file.
    pub fn at_offset(mut self, offset: u64) -> Self {
        self.offset = Some(offset);
        self
    }

    pub fn error(line: u64, column: u32, code: &'static str, message: impl Into<String>) -> Self {
        Self::new(line, column, Severity::Error, code, message)
    }

    pub fn warning(line: u64, column: u32, code: &'static str, message: impl Into<String>) -> Self {
        Self::new(line, column, Severity::Warning, code, message)
    }

    pub fn info(line: u64, column: u32, code: &'static str, message: impl Into<String>) -> Self {
        Self::new(line, column, Severity::Info, code, message)
    }
}

/// A collector that keeps at most `cap` diagnostics and counts the rest, so a hostile
/// file with millions of bad lines cannot exhaust memory through its diagnostics.
#[derive(Debug, Clone)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
    cap: usize,
    dropped: u64,
}

/// Default number of diagnostics kept per input.
pub const DEFAULT_DIAGNOSTIC_CAP: usize = 1000;

impl Default for Diagnostics {
    fn default() -> Self {
        Self::with_cap(DEFAULT_DIAGNOSTIC_CAP)
    }
}

impl Diagnostics {
    pub fn with_cap(cap: usize) -> Self {
        Diagnostics {
            items: Vec::new(),
            cap,
            dropped: 0,
        }
    }

    pub fn push(&mut self, d: Diagnostic) {
        if self.items.len() < self.cap {
            self.items.push(d);
        } else {
            self.dropped += 1;
        }
    }

    pub fn extend(&mut self, ds: impl IntoIterator<Item = Diagnostic>) {
        for d in ds {
            self.push(d);
        }
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.severity == Severity::Error)
    }

    pub fn items(&self) -> &[Diagnostic] {
        &self.items
    }

    /// The kept diagnostics, plus a final note when some were dropped over the cap.
    pub fn into_vec(mut self) -> Vec<Diagnostic> {
        if self.dropped > 0 {
            let line = self.items.last().map_or(0, |d| d.line);
            self.items.push(Diagnostic::warning(
                line,
                1,
                "diagnostics-capped",
                format!(
                    "{} further diagnostics were not kept (limit {})",
                    self.dropped, self.cap
                ),
            ));
        }
        self.items
    }
}
