//! One parser per kind of upload. Parsers return values plus diagnostics; they never print.

pub mod collector_manifest;
pub mod console_session;
pub mod mde_analyzer;
pub mod mdi_tools;
pub mod netsh;
pub mod netsh_messages;
pub mod pac_script;
pub mod powershell;
pub mod probe_capture;
pub mod reg_compare;
pub mod reg_exe;
pub mod reg_export;
pub mod reg_hive;
pub mod reg_query;
pub mod reg_skim;
pub mod reg_writer;
pub mod sensor_config;
pub mod sensor_log;
