//! Captures that say nothing: empty, cut, or about an account nobody can tell.

use super::super::findings::FindingId;
use super::super::model::ProbeEvidence;
use super::super::resolve::Resolved;
use super::Findings;

/// `capture-empty`, `capture-truncated`, `capture-unattributed`.
pub fn empty_truncated_unattributed(r: &Resolved, _: &[ProbeEvidence], f: &mut Findings) {
    if !r.empty.is_empty() {
        f.add(
            FindingId::CaptureEmpty,
            None,
            format!(
                "{} upload(s) are empty: typical of `reg compare … > file` when the error went to stderr",
                r.empty.len()
            ),
            "Ask for the capture again with 2>&1 at the end of the command".into(),
            r.empty.clone(),
        );
    }
    let mut truncated: Vec<_> = r
        .accounts
        .values()
        .flat_map(|a| a.truncated.iter().cloned())
        .collect();
    truncated.extend(r.truncated_unattributed.iter().cloned());
    if !truncated.is_empty() {
        f.add(
            FindingId::CaptureTruncated,
            None,
            "A proxy value is shown cut (for example PowerShell printed {70, 0, 0, 0...}): its content is unknown".into(),
            "Ask for the value with reg query or reg export (see What we still need)".into(),
            truncated,
        );
    }
    if !r.unattributed.is_empty() {
        f.add(
            FindingId::CaptureUnattributed,
            None,
            "A capture does not say which account it is about (no command, no key path, no account in its file name): it is not used".into(),
            "Ask the customer which command produced it, or for a capture with the command echoed".into(),
            r.unattributed.clone(),
        );
    }
}
