//! Case assembly: evidence per account, rules, findings, verdict. STUB.
