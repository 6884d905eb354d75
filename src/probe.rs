//! The 503 reachability probe. STUB (replaced by the probe branch).

use std::time::Duration;

use serde::Serialize;

/// What to probe.
#[derive(Debug, Clone)]
pub struct ProbeRequest {
    pub url: String,
    pub proxy: Option<String>,
    pub ca_cert_pem: Option<Vec<u8>>,
    pub timeout: Duration,
}

/// The answer.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeResult {
    pub url: String,
    pub proxy: Option<String>,
    pub status: Option<u16>,
    pub outcome: String,
    pub error: Option<String>,
}

impl ProbeResult {
    pub fn outcome_name(&self) -> &str {
        &self.outcome
    }
}

pub fn probe(req: &ProbeRequest) -> ProbeResult {
    ProbeResult {
        url: req.url.clone(),
        proxy: None,
        status: None,
        outcome: "failed".into(),
        error: Some("not implemented".into()),
    }
}
