//! The 503 reachability probe. STUB.
