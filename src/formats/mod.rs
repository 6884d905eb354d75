//! One parser per kind of upload. Parsers return values plus diagnostics; they never print.

pub mod netsh;
pub mod pac_script;
pub mod powershell;
pub mod probe_capture;
pub mod reg_compare;
pub mod reg_export;
pub mod reg_query;
pub mod reg_skim;
pub mod reg_writer;
pub mod sensor_config;
pub mod sensor_log;
