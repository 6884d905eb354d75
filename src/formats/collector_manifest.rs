//! `manifest.json` written by the script of `proxy-triage collect-script`
//! (`collect-mdi-proxy.cmd`): which command wrote each file of a collection, as which
//! account, with which exit code and where its error output went. It lets `analyze` attribute
//! every file by the manifest instead of guessing, and tell an absent key (a not-found error)
//! from a step that could not look (access denied, tool missing).
//!
//! Shape (contract, `collect-script`):
//! ```json
//! { "collector": "proxy-triage collect-script", "version": "0.1.0", "computer": "DC01",
//!   "started": "Tue 12/01/2026 10:04:55.12", "endpoint": "contososensorapi.atp.azure.com",
//!   "items": [ { "file": "hku-s-1-5-19-internet-settings.reg", "command": "reg export ...",
//!                "principal": "local_service", "exit_code": 0, "stderr_file": null } ] }
//! ```

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::diag::Diagnostic;

/// The `collector` value the script writes; how the kind is recognised.
pub const COLLECTOR_NAME: &str = "proxy-triage collect-script";
/// Most items read from one manifest (the script writes about 30).
pub const MAX_ITEMS: usize = 1000;
/// Longest string kept from a manifest field (characters).
const MAX_FIELD: usize = 4096;

/// Whose settings a collected file shows. Names match `case::principals::Principal` keys
/// (this layer does not import `case`); `network_service` is reported, never judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ManifestPrincipal {
    CurrentUser,
    LocalSystem,
    LocalService,
    NetworkService,
    Machine,
    Winhttp,
    Sensor,
}

impl ManifestPrincipal {
    /// The JSON name (`local_service`).
    pub fn key(self) -> &'static str {
        match self {
            ManifestPrincipal::CurrentUser => "current_user",
            ManifestPrincipal::LocalSystem => "local_system",
            ManifestPrincipal::LocalService => "local_service",
            ManifestPrincipal::NetworkService => "network_service",
            ManifestPrincipal::Machine => "machine",
            ManifestPrincipal::Winhttp => "winhttp",
            ManifestPrincipal::Sensor => "sensor",
        }
    }

    /// Every principal, in report order.
    pub const ALL: [ManifestPrincipal; 7] = [
        ManifestPrincipal::CurrentUser,
        ManifestPrincipal::LocalSystem,
        ManifestPrincipal::LocalService,
        ManifestPrincipal::NetworkService,
        ManifestPrincipal::Machine,
        ManifestPrincipal::Winhttp,
        ManifestPrincipal::Sensor,
    ];

    fn from_key(s: &str) -> Option<ManifestPrincipal> {
        ManifestPrincipal::ALL
            .into_iter()
            .find(|p| p.key().eq_ignore_ascii_case(s))
    }
}

/// One step of the collection: the file it wrote and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    /// Path relative to the manifest's folder, as written (`logs\Microsoft.Tri.Sensor.log`).
    pub file: String,
    /// The command as the script recorded it.
    pub command: String,
    pub principal: Option<ManifestPrincipal>,
    /// The command's exit code (`%errorlevel%`); null when the manifest has none.
    pub exit_code: Option<i64>,
    /// The file holding the command's error output, relative to the folder; null when empty.
    pub stderr_file: Option<String>,
}

/// Why a step did not deliver its evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Failure {
    /// The key, value or file does not exist: itself evidence of absence.
    NotFound,
    /// The account running the script could not read it: says nothing about the value.
    AccessDenied,
    /// The tool is not on this machine (or is a stub): nothing was looked at.
    ToolMissing,
    /// Exit code 0 but nothing written: a stubbed tool, or a command with an empty answer
    /// (the script deletes empty files).
    NoOutput,
    /// Any other failure (timeouts, task creation refused, zip errors...).
    Other,
}

/// Whether a path named an item's output or its error output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Output,
    Stderr,
}

/// A parsed collector manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CollectorManifest {
    pub collector: String,
    pub version: Option<String>,
    pub computer: Option<String>,
    /// The local date and time the script started, as cmd printed it (locale format).
    pub started: Option<String>,
    /// The sensor API host the probes used (`<workspace>sensorapi.atp.azure.com`).
    pub endpoint: Option<String>,
    /// Whether the script ran elevated (always true in manifests it writes: it stops otherwise).
    pub elevated: Option<bool>,
    pub items: Vec<Item>,
}

impl CollectorManifest {
    /// The item that wrote `path` (relative to the manifest's folder; `\` and `/` alike,
    /// case-insensitive, a leading `./` ignored), as its output or as its error output.
    pub fn lookup(&self, path: &str) -> Option<(&Item, Role)> {
        let want = normalize(path);
        self.items.iter().find_map(|item| {
            if normalize(&item.file) == want {
                Some((item, Role::Output))
            } else if item.stderr_file.as_deref().map(normalize).as_deref() == Some(&want) {
                Some((item, Role::Stderr))
            } else {
                None
            }
        })
    }

    /// The item that wrote `path` (output or error output); see [`CollectorManifest::lookup`].
    pub fn item_for(&self, path: &str) -> Option<&Item> {
        self.lookup(path).map(|(item, _)| item)
    }
}

/// `a\B/./c` -> `a/b/c`: the form paths are compared in (Windows names are case-insensitive).
fn normalize(path: &str) -> String {
    path.replace('\\', "/")
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect::<Vec<_>>()
        .join("/")
        .to_lowercase()
}

impl Item {
    /// Classifies this step: `None` when it succeeded, else what kind of failure it was, from
    /// the exit code and the text of its error output (`stderr_text`: the content of
    /// [`Item::stderr_file`], read by the caller; Windows' and Wine's messages are known).
    /// A known error message counts even with exit code 0 (Wine's cmd does not set one for a
    /// missing program).
    pub fn failure(&self, stderr_text: Option<&str>) -> Option<Failure> {
        self.failure_with_output(stderr_text, true)
    }

    /// As [`Item::failure`], also told whether the item's `file` is present in the collection:
    /// a step that "succeeded" without writing anything is [`Failure::NoOutput`].
    pub fn failure_with_output(
        &self,
        stderr_text: Option<&str>,
        output_present: bool,
    ) -> Option<Failure> {
        let text = stderr_text.unwrap_or("").to_lowercase();
        let by_text = classify_text(&text);
        match (self.exit_code, by_text) {
            (Some(9009), _) => Some(Failure::ToolMissing),
            (_, Some(f)) => Some(f),
            (Some(0), None) | (None, None) if !output_present => Some(Failure::NoOutput),
            (Some(0), None) | (None, None) => None,
            (Some(_), None) => Some(Failure::Other),
        }
    }
}

/// Messages (lowercased) that say what went wrong.
fn classify_text(lower: &str) -> Option<Failure> {
    const TOOL_MISSING: [&str; 3] = [
        // Windows: 'x' is not recognized as an internal or external command, ...
        "is not recognized as an internal or external command",
        // Wine: Can't recognize 'x' as an internal or external command, or batch script.
        "can't recognize",
        "module is not installed",
    ];
    const ACCESS_DENIED: [&str; 4] = [
        "access is denied",
        "access denied",
        "zugriff verweigert",
        "acces refuse",
    ];
    const NOT_FOUND: [&str; 8] = [
        // Windows reg: ERROR: The system was unable to find the specified registry key or value.
        "unable to find the specified registry key",
        // copy / type: The system cannot find the file (path) specified.
        "cannot find the file specified",
        "cannot find the path specified",
        // Wine copy, and the script's own note for a missing log.
        "file not found",
        "path not found",
        "could not find file",
        "registrierungsschl",
        "trouv\u{e9} la cl\u{e9}",
    ];
    if TOOL_MISSING.iter().any(|m| lower.contains(m)) {
        Some(Failure::ToolMissing)
    } else if ACCESS_DENIED.iter().any(|m| lower.contains(m)) {
        Some(Failure::AccessDenied)
    } else if NOT_FOUND.iter().any(|m| lower.contains(m))
        || crate::detect::mentions_not_found(lower)
    {
        Some(Failure::NotFound)
    } else {
        None
    }
}

/// True when a JSON text is a collector manifest (its `collector` member names us). Cheap:
/// looks at the start of the text only.
pub fn looks_like_manifest(sample: &str) -> bool {
    let body = sample.trim_start_matches('\u{feff}').trim_start();
    if !body.starts_with('{') {
        return false;
    }
    let head = body.get(..body.len().min(4096)).unwrap_or(body);
    head.contains("\"collector\"") && head.contains(COLLECTOR_NAME)
}

/// Parses the decoded text of a manifest. Unknown members are ignored; an item without a
/// `file` is reported and skipped; a principal name not in the contract becomes null.
pub fn parse(text: &str, file_name: &str) -> (CollectorManifest, Vec<Diagnostic>) {
    let _ = file_name;
    let body = text.trim_start_matches('\u{feff}');
    let mut diagnostics = Vec::new();
    let root: Value = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(e) => {
            diagnostics.push(Diagnostic::error(
                e.line() as u64,
                u32::try_from(e.column()).unwrap_or(u32::MAX),
                "invalid-json",
                format!("expected the collector's manifest.json: {e}"),
            ));
            return (CollectorManifest::default(), diagnostics);
        }
    };
    let Some(obj) = root.as_object() else {
        diagnostics.push(Diagnostic::error(
            1,
            1,
            "invalid-manifest",
            "expected a JSON object with \"collector\" and \"items\", found another JSON value",
        ));
        return (CollectorManifest::default(), diagnostics);
    };
    let text_of = |v: Option<&Value>| v.and_then(Value::as_str).map(cap);
    let mut manifest = CollectorManifest {
        collector: text_of(obj.get("collector")).unwrap_or_default(),
        version: text_of(obj.get("version")),
        computer: text_of(obj.get("computer")),
        started: text_of(obj.get("started")),
        endpoint: text_of(obj.get("endpoint")).filter(|e| !e.is_empty()),
        elevated: obj.get("elevated").and_then(Value::as_bool),
        items: Vec::new(),
    };
    let items = match obj.get("items") {
        Some(Value::Array(a)) => a.as_slice(),
        _ => {
            diagnostics.push(Diagnostic::error(
                1,
                1,
                "invalid-manifest",
                "expected an \"items\" array, found none",
            ));
            &[]
        }
    };
    if items.len() > MAX_ITEMS {
        diagnostics.push(Diagnostic::warning(
            1,
            1,
            "items-capped",
            format!(
                "{} items; only the first {MAX_ITEMS} were read",
                items.len()
            ),
        ));
    }
    for (i, v) in items.iter().take(MAX_ITEMS).enumerate() {
        let Some(file) = text_of(v.get("file")).filter(|f| !f.is_empty()) else {
            diagnostics.push(Diagnostic::warning(
                1,
                1,
                "invalid-item",
                format!(
                    "item {}: expected a \"file\" string, found none; skipped",
                    i + 1
                ),
            ));
            continue;
        };
        let principal = match v.get("principal") {
            Some(Value::String(s)) => {
                let p = ManifestPrincipal::from_key(s);
                if p.is_none() {
                    diagnostics.push(Diagnostic::warning(
                        1,
                        1,
                        "unknown-principal",
                        format!(
                            "item {} ({}): principal {:?} is not one of the contract's names; taken as null",
                            i + 1,
                            crate::text::escape_control(&file),
                            crate::text::escape_control(&cap(s))
                        ),
                    ));
                }
                p
            }
            _ => None,
        };
        manifest.items.push(Item {
            command: text_of(v.get("command")).unwrap_or_default(),
            principal,
            exit_code: v.get("exit_code").and_then(Value::as_i64),
            stderr_file: text_of(v.get("stderr_file")).filter(|s| !s.is_empty()),
            file,
        });
    }
    (manifest, diagnostics)
}

fn cap(s: &str) -> String {
    s.chars().take(MAX_FIELD).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{
  "collector": "proxy-triage collect-script",
  "version": "0.1.0",
  "computer": "DC01",
  "started": "Tue 12/01/2026 10:04:55.12",
  "endpoint": "contososensorapi.atp.azure.com",
  "elevated": true,
  "items": [
 {"file": "hku-s-1-5-19-internet-settings.reg", "command": "reg export \"HKU\\S-1-5-19\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\" hku-s-1-5-19-internet-settings.reg /y", "principal": "local_service", "exit_code": 1, "stderr_file": "hku-s-1-5-19-internet-settings.reg.stderr.txt"}
,{"file": "logs\\Microsoft.Tri.Sensor.log", "command": "copy", "principal": "local_service", "exit_code": 0, "stderr_file": null}
,{"file": "netsh-winhttp-show-proxy.txt", "command": "netsh winhttp show proxy", "principal": "winhttp", "exit_code": 9009, "stderr_file": "netsh-winhttp-show-proxy.stderr.txt"}
,{"file": "x.txt", "command": "x", "principal": "somebody", "exit_code": 0, "stderr_file": null}
,{"command": "no file"}
  ]
}
"#;

    #[test]
    fn parses_the_contract_fields() {
        assert!(looks_like_manifest(SAMPLE));
        let (m, d) = parse(SAMPLE, "manifest.json");
        assert_eq!(m.collector, COLLECTOR_NAME);
        assert_eq!(m.computer.as_deref(), Some("DC01"));
        assert_eq!(
            m.endpoint.as_deref(),
            Some("contososensorapi.atp.azure.com")
        );
        assert_eq!(m.items.len(), 4);
        assert_eq!(m.items[0].principal, Some(ManifestPrincipal::LocalService));
        assert_eq!(m.items[0].exit_code, Some(1));
        assert_eq!(m.items[3].principal, None);
        let codes: Vec<_> = d.iter().map(|d| d.code).collect();
        assert_eq!(codes, ["unknown-principal", "invalid-item"]);
    }

    #[test]
    fn item_for_handles_separators_case_and_stderr() {
        let (m, _) = parse(SAMPLE, "manifest.json");
        let log = m.item_for("logs/microsoft.tri.sensor.log").unwrap();
        assert_eq!(log.principal, Some(ManifestPrincipal::LocalService));
        assert!(m.item_for("./logs\\Microsoft.Tri.Sensor.log").is_some());
        let (item, role) = m
            .lookup("hku-s-1-5-19-internet-settings.reg.stderr.txt")
            .unwrap();
        assert_eq!(role, Role::Stderr);
        assert_eq!(item.file, "hku-s-1-5-19-internet-settings.reg");
        assert!(m.item_for("other.reg").is_none());
    }

    #[test]
    fn failures_are_classified_from_code_and_text() {
        let (m, _) = parse(SAMPLE, "manifest.json");
        let reg = &m.items[0];
        let win = "ERROR: The system was unable to find the specified registry key or value.\r\n";
        assert_eq!(reg.failure(Some(win)), Some(Failure::NotFound));
        let wine = "reg: Unable to find the specified registry key\r\n";
        assert_eq!(reg.failure(Some(wine)), Some(Failure::NotFound));
        assert_eq!(
            reg.failure(Some("ERROR: Access is denied.\r\n")),
            Some(Failure::AccessDenied)
        );
        assert_eq!(reg.failure(None), Some(Failure::Other));
        assert_eq!(m.items[2].failure(None), Some(Failure::ToolMissing));
        let ok = &m.items[1];
        assert_eq!(ok.failure(None), None);
        assert_eq!(ok.failure_with_output(None, false), Some(Failure::NoOutput));
        // Wine sets no exit code for a missing program: the message decides.
        let wine_missing = "Can't recognize 'bitsadmin /util /getieproxy LOCALSYSTEM' as an internal or external command, or batch script.";
        assert_eq!(ok.failure(Some(wine_missing)), Some(Failure::ToolMissing));
        let de = "FEHLER: Das System konnte den angegebenen Registrierungsschlüssel bzw. Wert nicht finden.";
        assert_eq!(reg.failure(Some(de)), Some(Failure::NotFound));
    }

    #[test]
    fn rejects_non_manifests() {
        assert!(!looks_like_manifest("{\"SensorProxyConfiguration\": null}"));
        assert!(!looks_like_manifest("reg compare \"HKCU\\x\" \"HKU\\y\""));
        let (_, d) = parse("[1,2]", "manifest.json");
        assert_eq!(d[0].code, "invalid-manifest");
        let (_, d) = parse("{\"collector\": ", "manifest.json");
        assert_eq!(d[0].code, "invalid-json");
    }
}
