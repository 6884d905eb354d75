//! The reports of `analyze` as people read them: table at 80/100/200 columns, markdown, csv,
//! summary; `--only`, `-o`, batch totals; the JSON Schema and its reference in docs/json.md.

use std::collections::BTreeSet;

use assert_cmd::Command;
use proxy_triage::case::FindingId;
use serde_json::Value;

fn bin() -> Command {
    let mut c = Command::cargo_bin("proxy-triage").expect("binary");
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c.env_remove("NO_COLOR");
    c
}

/// `analyze PATH --format FORMAT` at `COLUMNS` (stdout is a pipe, so COLUMNS decides).
fn render(path: &str, format: &str, columns: u16) -> String {
    let out = bin()
        .env("COLUMNS", columns.to_string())
        .args([
            "analyze", path, "--format", format, "--color", "never", "-q",
        ])
        .output()
        .expect("run");
    String::from_utf8(out.stdout).expect("utf8")
}

fn widest(text: &str) -> usize {
    text.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

const EXAMPLE: &str = "fixtures/uploads/contoso-dc01";
const CASES: [&str; 4] = [
    "fixtures/cases/sensor-proxy",
    "fixtures/cases/pac",
    "fixtures/cases/unattributed",
    "fixtures/logs/rotated",
];

/// The commands of "What we still need" (`needs[].command`), as the JSON gives them.
fn need_commands(path: &str) -> Vec<String> {
    let doc: Value = serde_json::from_str(&render(path, "json", 100)).expect("json");
    doc["cases"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["needs"].as_array().into_iter().flatten())
        .filter_map(|n| n["command"].as_str().map(str::to_string))
        .collect()
}

/// Prose never exceeds the width; a command line (six spaces, then exactly one need's
/// command) is the documented exception: it is never wrapped, so it copies whole.
#[test]
fn table_never_exceeds_the_width() {
    for path in std::iter::once(EXAMPLE)
        .chain(CASES)
        .chain(["fixtures/cases/log407"])
    {
        let commands: Vec<String> = need_commands(path)
            .iter()
            .map(|c| format!("      {c}"))
            .collect();
        for columns in [60u16, 80, 99, 100, 120, 200] {
            let text = render(path, "table", columns);
            let prose: String = text
                .lines()
                .filter(|l| !commands.iter().any(|c| c == l))
                .map(|l| format!("{l}\n"))
                .collect();
            assert!(
                widest(&prose) <= columns as usize,
                "{path} at {columns}: {} wide\n{text}",
                widest(&prose)
            );
        }
    }
}

/// Each command of "What we still need" is printed whole on a line of its own at every
/// width, so copying it into cmd.exe (or PowerShell) runs it as it is.
#[test]
fn need_commands_are_never_wrapped() {
    let commands = need_commands("fixtures/cases/log407");
    assert!(
        commands
            .iter()
            .any(|c| c.starts_with("reg compare \"HKCU\\")
                && c.contains("\"HKU\\S-1-5-19\\")
                && c.ends_with("/v DefaultConnectionSettings > compare-1519.txt 2>&1")),
        "{commands:?}"
    );
    for columns in [60u16, 80, 100, 120, 200] {
        let text = render("fixtures/cases/log407", "table", columns);
        for c in &commands {
            assert!(
                text.lines().any(|l| l == format!("      {c}")),
                "at {columns}: {c}\n{text}"
            );
        }
    }
    // Inline commands in the actions are not broken at their spaces either.
    let text = render(EXAMPLE, "table", 80);
    assert!(
        text.contains("`netsh winhttp import proxy source=ie`"),
        "{text}"
    );
}

#[test]
fn below_100_columns_the_table_is_stacked() {
    let narrow = render(EXAMPLE, "table", 80);
    assert!(!narrow.contains('┌'), "{narrow}");
    assert!(narrow.contains("\nAccounts\n"));
    assert!(narrow.contains("  LOCAL SERVICE (S-1-5-19): MISSING\n"));
    // file:line tokens are whole.
    // The 407 sits on the record's second line (4), not its first (3).
    assert!(narrow.contains("evidence: logs/Microsoft.Tri.Sensor-Errors.log:4\n"));
    let wide = render(EXAMPLE, "table", 100);
    assert!(wide.contains('┌'));
    assert!(wide.contains("logs/Microsoft.Tri.Sensor-Errors.log:4"));
}

#[test]
fn snapshot_example_table_80_100_200() {
    insta::assert_snapshot!("example_table_80", render(EXAMPLE, "table", 80));
    insta::assert_snapshot!("example_table_100", render(EXAMPLE, "table", 100));
    insta::assert_snapshot!("example_table_200", render(EXAMPLE, "table", 200));
}

#[test]
fn snapshot_cases_table_and_markdown() {
    for path in CASES {
        let name = path.rsplit('/').next().unwrap_or(path);
        insta::assert_snapshot!(format!("{name}_table_80"), render(path, "table", 80));
        insta::assert_snapshot!(format!("{name}_table_120"), render(path, "table", 120));
        insta::assert_snapshot!(format!("{name}_markdown"), render(path, "markdown", 100));
    }
}

#[test]
fn snapshot_example_markdown_csv_summary() {
    insta::assert_snapshot!("example_markdown", render(EXAMPLE, "markdown", 100));
    insta::assert_snapshot!("example_csv", render(EXAMPLE, "csv", 100));
    insta::assert_snapshot!("example_summary", render(EXAMPLE, "summary", 100));
}

#[test]
fn every_report_has_summary_endpoint_needs_and_ignored_inputs() {
    for format in ["table", "markdown"] {
        let text = render(EXAMPLE, format, 100);
        assert!(text.contains("MISCONFIGURED: Sensor log"), "{format}");
        assert!(
            text.contains("contoso-corpsensorapi.atp.azure.com (from the sensor logs)"),
            "{format}"
        );
        assert!(text.contains("What we still need"), "{format}");
        assert!(text.contains("SensorConfiguration.json"), "{format}");
        assert!(
            text.contains("customer-notes.txt (not recognised)"),
            "{format}"
        );
        assert!(text.contains("content not recognised"), "{format}");
        assert!(!text.contains("→ None"), "{format}");
        assert!(!text.contains("local_system"), "{format}");
        assert!(!text.contains("proxy_enabled"), "{format}");
    }
}

#[test]
fn one_action_per_remedy() {
    for format in ["table", "markdown"] {
        let text = render(EXAMPLE, format, 100);
        // proxy-missing and proxy-differs share the copy instruction: printed once.
        assert_eq!(
            text.matches("Give the sensor a proxy of its own").count(),
            1,
            "{format}\n{text}"
        );
    }
    let table = render(EXAMPLE, "table", 100);
    assert_eq!(table.matches("What to do: action 2").count(), 2);
}

#[test]
fn markdown_is_for_the_customer() {
    let md = render(EXAMPLE, "markdown", 100);
    assert!(!md.contains("proxy-triage fix"));
    assert!(!md.contains("analyze"));
    assert!(md.contains(concat!("proxy-triage ", env!("CARGO_PKG_VERSION"))));
    assert!(md.contains("LOCAL SERVICE (S-1-5-19)"));
    // Customer text escaped; the tool's own code spans kept.
    assert!(md.contains("\\<local\\>;\\*.contoso.com"));
    assert!(md.contains("`netsh winhttp import proxy source=ie`"));
    assert!(md.contains("*Assumed:* compare-1519.txt is taken to show LOCAL SERVICE"));
    // A log-only case says once which accounts nothing shows.
    let log_only = render(
        "fixtures/logs/Microsoft.Tri.Sensor-Errors.log",
        "markdown",
        100,
    );
    assert_eq!(log_only.matches("Nothing in the uploads shows:").count(), 1);
    assert!(!log_only.contains("| unknown |"), "{log_only}");
}

#[test]
fn summary_is_one_line_per_case() {
    let out = bin()
        .args([
            "analyze",
            "--batch",
            "fixtures/cases",
            "--format",
            "summary",
        ])
        .output()
        .expect("run");
    let text = String::from_utf8(out.stdout).expect("utf8");
    let entries = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/cases"))
        .expect("cases")
        .count();
    assert_eq!(text.lines().count(), entries);
    assert!(text
        .lines()
        .any(|l| l.starts_with("misconfigured differs  proxy-differs: ")));
    assert!(text
        .lines()
        .any(|l| l.starts_with("inconclusive  pac  needs the PAC script")));
    // Totals on stderr, not stdout.
    let err = String::from_utf8(out.stderr).expect("utf8");
    assert!(
        err.contains(&format!(
            "{entries} cases: 9 misconfigured, 17 inconclusive, 7 healthy; 0 unreadable inputs"
        )),
        "{err}"
    );
    assert!(!text.contains("cases:"));
}

#[test]
fn totals_are_quiet_with_q_and_absent_for_one_case() {
    let out = bin()
        .args([
            "analyze",
            "--batch",
            "fixtures/cases",
            "--format",
            "summary",
            "-q",
        ])
        .output()
        .expect("run");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("cases:"));
    let out = bin()
        .args(["analyze", EXAMPLE, "--format", "summary"])
        .output()
        .expect("run");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn only_keeps_the_verdict_asked_for() {
    let out = bin()
        .args([
            "analyze",
            "--batch",
            "fixtures/cases",
            "--format",
            "jsonl",
            "--only",
            "healthy",
            "-q",
        ])
        .output()
        .expect("run");
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .expect("utf8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 7);
    for l in &lines {
        assert_eq!(l["verdict"], "healthy");
        assert_eq!(l["schema_version"], 2);
    }
    // The exit code still follows every case, kept or not.
    assert_eq!(out.status.code(), Some(1));
    let out = bin()
        .args([
            "analyze",
            "--batch",
            "fixtures/cases",
            "--format",
            "json",
            "--only",
            "misconfigured",
            "-q",
        ])
        .output()
        .expect("run");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("json");
    let cases = doc["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 9);
    assert!(cases.iter().all(|c| c["verdict"] == "misconfigured"));
    // Only the kept cases' inputs.
    let kept: BTreeSet<&str> = cases.iter().filter_map(|c| c["case"].as_str()).collect();
    for i in doc["inputs"].as_array().expect("inputs") {
        assert!(kept.contains(i["case"].as_str().expect("case")));
    }
}

#[test]
fn output_file_gets_the_report() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("report.md");
    let out = bin()
        .args(["analyze", EXAMPLE, "--format", "markdown", "-o"])
        .arg(&file)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let text = std::fs::read_to_string(&file).expect("written");
    assert!(text.starts_with("### contoso-dc01: **misconfigured**"));
    // A table written to a file carries no colour, whatever --color says.
    let file = dir.path().join("report.txt");
    bin()
        .args(["analyze", EXAMPLE, "--color", "always", "-o"])
        .arg(&file)
        .assert()
        .code(1);
    assert!(!std::fs::read_to_string(&file)
        .expect("written")
        .contains('\u{1b}'));
    // A folder that cannot be written is an input/output error, exit 2.
    bin()
        .args(["analyze", EXAMPLE, "-o", "/nonexistent-dir/x.txt"])
        .assert()
        .code(2);
}

#[test]
fn csv_keeps_its_header_once_per_batch() {
    let out = bin()
        .args([
            "analyze",
            "--batch",
            "fixtures/cases",
            "--format",
            "csv",
            "-q",
        ])
        .output()
        .expect("run");
    let text = String::from_utf8(out.stdout).expect("utf8");
    assert!(text.starts_with("case,verdict,id,severity,principal,title,action,evidence\r\n"));
    assert_eq!(text.matches("case,verdict,id").count(), 1);
}

fn schema() -> Value {
    let out = bin().arg("schema").output().expect("run");
    assert_eq!(out.status.code(), Some(0));
    serde_json::from_slice(&out.stdout).expect("schema is json")
}

#[test]
fn schema_is_draft_2020_12() {
    let s = schema();
    assert_eq!(s["$schema"], "https://json-schema.org/draft/2020-12/schema");
    let ids: Vec<&str> = s["$defs"]["FindingId"]["enum"]
        .as_array()
        .expect("finding ids")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(ids.len(), FindingId::all().len());
}

/// Every fixture case, and the example, validate against the schema (json and each jsonl line).
#[test]
fn every_fixture_validates_against_the_schema() {
    let s = schema();
    let validator = jsonschema::draft202012::new(&s).expect("valid schema");
    let mut targets: Vec<String> = vec![EXAMPLE.into()];
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");
    for dir in [
        "cases",
        "uploads",
        "logs",
        "console",
        "reg",
        "config",
        "hives",
        "hives/cases",
    ] {
        let Ok(entries) = std::fs::read_dir(format!("{root}/{dir}")) else {
            continue;
        };
        for e in entries.flatten() {
            targets.push(format!(
                "fixtures/{dir}/{}",
                e.file_name().to_string_lossy()
            ));
        }
    }
    targets.sort();
    assert!(targets.len() > 30);
    for t in &targets {
        let out = bin()
            .args(["analyze", t, "--format", "json", "-q"])
            .output()
            .expect("run");
        let Ok(doc) = serde_json::from_slice::<Value>(&out.stdout) else {
            panic!("{t}: not json: {}", String::from_utf8_lossy(&out.stdout));
        };
        let errors: Vec<String> = validator
            .iter_errors(&doc)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{t}: {errors:#?}");
    }
    // The jsonl lines of a whole batch: each is a case with schema_version.
    let case_schema = {
        let mut c = s["$defs"]["CaseReport"].clone();
        c["$defs"] = s["$defs"].clone();
        c["$schema"] = s["$schema"].clone();
        c
    };
    let case_validator = jsonschema::draft202012::new(&case_schema).expect("case schema");
    let out = bin()
        .args([
            "analyze",
            "--batch",
            "fixtures/cases",
            "--format",
            "jsonl",
            "-q",
        ])
        .output()
        .expect("run");
    for line in String::from_utf8(out.stdout).expect("utf8").lines() {
        let v: Value = serde_json::from_str(line).expect("line");
        assert_eq!(v["schema_version"], 2);
        assert!(case_validator.is_valid(&v), "{line}");
    }
}

#[test]
fn docs_json_covers_every_id_and_top_level_property() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/json.md"))
        .expect("docs/json.md");
    for id in FindingId::all() {
        assert!(
            doc.contains(&format!("`{}`", id.as_str())),
            "{id} not in docs/json.md"
        );
    }
    let s = schema();
    let mut names: Vec<String> = Vec::new();
    for def in [
        "AnalysisReport",
        "CaseReport",
        "PrincipalReport",
        "Finding",
        "Need",
        "InputRecord",
        "Endpoint",
    ] {
        let props = if def == "AnalysisReport" {
            &s["properties"]
        } else {
            &s["$defs"][def]["properties"]
        };
        names.extend(props.as_object().expect(def).keys().cloned());
    }
    for n in names {
        assert!(
            doc.contains(&format!("`{n}`")),
            "property {n} not in docs/json.md"
        );
    }
    assert!(!doc.contains("../shared"));
}

/// A reader that stops early (`| head`): the run ends quietly with 0.
#[test]
fn closed_stdout_is_a_quiet_exit_0() {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_proxy-triage"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "analyze",
            "--batch",
            "fixtures/cases",
            "--format",
            "json",
            "-q",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut first = [0u8; 16];
    let mut stdout = child.stdout.take().expect("stdout");
    stdout.read_exact(&mut first).expect("read");
    // The document is far larger than a pipe's buffer: closing now breaks the pipe.
    drop(stdout);
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every input the JSON gives a kind is named by that kind in the human reports: hives,
/// console sessions and the MDI/MDE tools' outputs are not "not recognised".
#[test]
fn inputs_are_named_by_their_kind() {
    for path in ["fixtures/console", "fixtures/hives", EXAMPLE] {
        let doc: Value = serde_json::from_str(&render(path, "json", 100)).expect("json");
        let table = render(path, "table", 200);
        let markdown = render(path, "markdown", 200);
        for i in doc["inputs"].as_array().expect("inputs") {
            let file = i["file"].as_str().expect("file");
            let name = file.rsplit('/').next().unwrap_or(file);
            let unknown = i["kind"] == "unknown";
            for (format, text) in [("table", &table), ("markdown", &markdown)] {
                let line = text
                    .lines()
                    .find(|l| l.contains(&format!("{name} (")))
                    .unwrap_or_else(|| panic!("{format}: {file} not listed\n{text}"));
                assert_eq!(
                    line.contains("(not recognised)"),
                    unknown,
                    "{format}: {line} ({})",
                    i["kind"]
                );
            }
        }
    }
    let table = render("fixtures/console", "table", 200);
    assert!(
        table.contains("  session-ps.txt (console session)\n"),
        "{table}"
    );
    assert!(table.contains("  mdi-api-test-false.txt (Test-MDISensorApiConnection output)\n"));
    let table = render("fixtures/hives", "table", 200);
    assert!(table.contains("  kape/C/Windows/System32/config/SOFTWARE (registry hive)\n"));
}
