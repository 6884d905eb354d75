//! Remediation files. STUB.
