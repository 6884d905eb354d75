//! Scripts the customer runs on Windows, generated here: shared batch-writing helpers
//! ([`cmd`]) and the evidence collector ([`collect`]).

pub mod cmd;
pub mod collect;
