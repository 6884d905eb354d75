//! The bounds a PAC evaluation runs within; defaults documented in `docs/pac.md`.

use std::time::Duration;

/// Largest script evaluated by default (Windows rejects PAC files over 1 MB).
pub const DEFAULT_MAX_SCRIPT_BYTES: usize = 1024 * 1024;
/// Wall-clock budget per evaluation, load included.
pub const DEFAULT_TIME: Duration = Duration::from_secs(1);
/// QuickJS heap limit.
pub const DEFAULT_MEMORY_BYTES: usize = 32 * 1024 * 1024;
/// QuickJS stack limit (the worker thread's native stack is larger, see [`WORKER_STACK_BYTES`]).
pub const DEFAULT_STACK_BYTES: usize = 256 * 1024;
/// Longest result string accepted.
pub const DEFAULT_MAX_RESULT_BYTES: usize = 4096;
/// Native stack of the worker thread that runs QuickJS (well above the QuickJS limit, so the
/// engine's own check fires first).
pub const WORKER_STACK_BYTES: usize = 8 * 1024 * 1024;
/// Longest string argument a helper function looks at; longer ones answer false/null.
pub const MAX_HELPER_ARG_BYTES: usize = 64 * 1024;
/// `alert()` messages kept per evaluation.
pub const MAX_ALERTS: usize = 100;
/// Characters kept per `alert()` message.
pub const MAX_ALERT_CHARS: usize = 200;

/// Limits of one evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacLimits {
    /// Scripts larger than this (in UTF-8 bytes) are not run (`limit-size`).
    pub max_script_bytes: usize,
    /// Time budget, script load included (`limit-time`).
    pub time: Duration,
    /// QuickJS heap (`limit-memory`).
    pub memory_bytes: usize,
    /// QuickJS stack (`limit-stack`).
    pub stack_bytes: usize,
    /// Longest result string (`bad-return` beyond).
    pub max_result_bytes: usize,
}

impl Default for PacLimits {
    fn default() -> Self {
        PacLimits {
            max_script_bytes: DEFAULT_MAX_SCRIPT_BYTES,
            time: DEFAULT_TIME,
            memory_bytes: DEFAULT_MEMORY_BYTES,
            stack_bytes: DEFAULT_STACK_BYTES,
            max_result_bytes: DEFAULT_MAX_RESULT_BYTES,
        }
    }
}
