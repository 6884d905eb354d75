//! Hostile and broken uploads: every command that reads customer data holds (no panic, no
//! hang, bounded memory, nothing written, nothing raw on the terminal, no secret printed) and
//! says what it skipped. Every input is built here, at run time, in a temporary directory.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;

/// A `reg compare` capture whose not-found error makes LOCAL SYSTEM `proxy-missing`: it sits
/// next to each hostile input to show the rest of the case is still analysed.
const NOT_FOUND: &str = "C:\\Users\\admin>reg compare \"HKCU\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections\" \"HKU\\S-1-5-18\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections\" /v DefaultConnectionSettings 2>&1\r\nERROR: The system was unable to find the specified registry key or value.\r\n\r\nC:\\Users\\admin>\r\n";

const SYS_KEY: &str =
    "HKEY_USERS\\S-1-5-18\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections";
const CU_KEY: &str =
    "HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections";

struct Run {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.stdout)
            )
        })
    }
    fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

fn run<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out = Command::cargo_bin("proxy-triage")
        .unwrap()
        .args(args)
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "panic: {stderr}"
    );
    // A killed process (timeout) has no exit code.
    assert!(out.status.code().is_some(), "killed (hang?): {stderr}");
    Run {
        code: out.status.code(),
        stdout: out.stdout,
        stderr,
    }
}

fn analyze_json(paths: &[&Path], extra: &[&str]) -> (Run, Value) {
    let mut args: Vec<std::ffi::OsString> =
        vec!["analyze".into(), "--format".into(), "json".into()];
    args.extend(extra.iter().map(Into::into));
    args.extend(paths.iter().map(|p| p.as_os_str().to_owned()));
    let r = run(args);
    let v = r.json();
    (r, v)
}

fn finding_ids(report: &Value) -> Vec<String> {
    report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["findings"].as_array().unwrap().iter())
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect()
}

fn assert_proxy_missing(report: &Value) {
    let ids = finding_ids(report);
    assert!(
        ids.iter().any(|i| i == "proxy-missing"),
        "the valid capture next to the hostile input was not analysed: {ids:?}"
    );
}

/// The `inputs[]` record whose file ends with `suffix`.
fn input<'a>(report: &'a Value, suffix: &str) -> &'a Value {
    report["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["file"].as_str().unwrap().ends_with(suffix))
        .unwrap_or_else(|| panic!("no input ending with {suffix:?} in {:#}", report["inputs"]))
}

fn error_of(report: &Value, suffix: &str) -> String {
    input(report, suffix)["error"]
        .as_str()
        .unwrap_or_else(|| panic!("{suffix}: no error in {:#}", input(report, suffix)))
        .to_string()
}

fn diag_codes(parsed: &Value) -> Vec<String> {
    parsed["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap().to_string())
        .collect()
}

fn case_dir() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let case = tmp.path().join("case");
    std::fs::create_dir(&case).unwrap();
    std::fs::write(case.join("compare.txt"), NOT_FOUND).unwrap();
    (tmp, case)
}

/// Deterministic pseudo-random bytes (xorshift64*).
fn random_bytes(n: usize, mut seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        seed ^= seed >> 12;
        seed ^= seed << 25;
        seed ^= seed >> 27;
        out.extend_from_slice(&seed.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(n);
    out
}

/// A WinINet DefaultConnectionSettings blob (IE7 layout) with the given proxy string.
fn blob(flags: u32, proxy: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    for v in [0x46u32, 7, flags, proxy.len() as u32] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.extend_from_slice(proxy);
    b.extend_from_slice(&0u32.to_le_bytes()); // bypass
    b.extend_from_slice(&0u32.to_le_bytes()); // PAC URL
    b.extend_from_slice(&[0u8; 32]);
    b
}

fn reg_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// A regedit 5 export (UTF-8, which reg.exe also imports) setting the blob for each key.
fn reg_export(keys: &[(&str, &[u8])]) -> String {
    let mut s = String::from("Windows Registry Editor Version 5.00\r\n");
    for (k, b) in keys {
        s.push_str(&format!(
            "\r\n[{k}]\r\n\"DefaultConnectionSettings\"=hex:{}\r\n",
            reg_hex(b)
        ));
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Bytes: random data, truncated UTF-16, NUL floods, a 50 MB line, a million-line hex value,
// a blob whose length field is 0xFFFFFFFF.

#[test]
fn random_bytes_truncated_utf16_and_nul_floods_are_diagnosed() {
    let (_tmp, case) = case_dir();
    std::fs::write(
        case.join("random.bin"),
        random_bytes(1 << 20, 0x9E37_79B9_7F4A_7C15),
    )
    .unwrap();
    std::fs::write(case.join("nul.bin"), vec![0u8; 4 << 20]).unwrap();
    // A UTF-16LE export cut in the middle of a character (odd length).
    let mut utf16 = vec![0xFF, 0xFE];
    for u in reg_export(&[(CU_KEY, &blob(9, b""))]).encode_utf16() {
        utf16.extend_from_slice(&u.to_le_bytes());
    }
    utf16.push(b'A');
    std::fs::write(case.join("odd.reg"), &utf16).unwrap();

    let (r, report) = analyze_json(&[&case], &[]);
    assert_proxy_missing(&report);
    assert_eq!(
        r.code,
        Some(1),
        "an error finding, every input read: {}",
        r.stderr
    );
    assert_eq!(input(&report, "random.bin")["kind"], "unknown");
    for f in ["random.bin", "nul.bin"] {
        let d = &input(&report, f)["diagnostics"];
        assert_eq!(d.as_array().map(Vec::len), Some(1), "{f}: {d}");
        assert_eq!(d[0]["code"], "not-understood");
    }
    assert_eq!(input(&report, "odd.reg")["kind"], "reg-export");
    assert_eq!(input(&report, "odd.reg")["encoding"], "utf-16le");

    let p = run(["parse".as_ref(), case.join("random.bin").as_os_str()]);
    assert_eq!(p.code, Some(0));
    assert_eq!(diag_codes(&p.json()), ["not-understood"]);
    let p = run(["parse".as_ref(), case.join("nul.bin").as_os_str()]);
    let v = p.json();
    assert_eq!(diag_codes(&v), ["not-understood"]);
    assert!(v["diagnostics"][0]["message"]
        .as_str()
        .unwrap()
        .starts_with("only NUL bytes"));
    let p = run(["parse".as_ref(), case.join("odd.reg").as_os_str()]);
    let v = p.json();
    assert_eq!(p.code, Some(0));
    // The value before the cut is intact; the lone trailing byte is reported on line 5.
    assert_eq!(v["keys"][0]["values"][0]["data_hex"], hex(&blob(9, b"")));
    let bad = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "invalid-encoding")
        .expect("invalid-encoding diagnostic");
    assert_eq!(bad["line"], 5);
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn a_50_mb_single_line_is_cut_and_reported() {
    let (_tmp, case) = case_dir();
    let mut f = std::fs::File::create(case.join("long.txt")).unwrap();
    f.write_all(NOT_FOUND.as_bytes()).unwrap();
    let line = vec![b'X'; 1 << 20];
    for _ in 0..50 {
        f.write_all(&line).unwrap();
    }
    f.write_all(b"\r\n").unwrap();
    drop(f);

    let p = run(["parse".as_ref(), case.join("long.txt").as_os_str()]);
    assert_eq!(p.code, Some(0), "{}", p.stderr);
    let v = p.json();
    assert_eq!(v["kind"], "reg-compare");
    assert_eq!(v["error_kind"], "not_found");
    let cut = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "line-too-long")
        .expect("line-too-long");
    assert_eq!(cut["line"], 5);
    // Messages quote at most a short excerpt of the line.
    assert!(p.stdout.len() < 64 * 1024, "{} bytes", p.stdout.len());

    let (r, report) = analyze_json(&[&case], &[]);
    assert_proxy_missing(&report);
    assert_eq!(r.code, Some(1));
    assert_eq!(input(&report, "long.txt")["kind"], "reg-compare");
}

#[test]
fn a_hex_value_continued_over_a_million_lines_parses_in_bounded_time() {
    let (_tmp, case) = case_dir();
    let mut s = String::from(
        "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_CURRENT_USER\\Software\\Big]\r\n\"Big\"=hex:46,00,00,00,\\\r\n",
    );
    s.reserve(16 << 20);
    for _ in 0..1_000_000 {
        s.push_str("  00,00,00,00,\\\r\n");
    }
    s.push_str("  01\r\n\"After\"=dword:00000007\r\n");
    std::fs::write(case.join("big.reg"), &s).unwrap();

    let p = run(["parse".as_ref(), case.join("big.reg").as_os_str()]);
    assert_eq!(p.code, Some(0), "{}", p.stderr);
    let v = p.json();
    let values = v["keys"][0]["values"].as_array().unwrap();
    let big = values[0]["data_hex"].as_str().unwrap();
    assert_eq!(big.len(), 2 * (4 + 4_000_000 + 1));
    assert!(big.starts_with("46000000") && big.ends_with("0001"));
    assert_eq!(values[1]["name"], "After");
    assert_eq!(values[1]["line"], 1_000_006);

    let (_, report) = analyze_json(&[&case], &[]);
    assert_proxy_missing(&report);
}

#[test]
fn a_blob_whose_length_field_is_ffffffff_is_malformed_not_fatal() {
    let mut b = Vec::new();
    for v in [0x46u32, 1, 3, 0xFFFF_FFFF] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.extend_from_slice(b"abc");
    let d = run(["decode", &hex(&b), "--format", "json"]);
    assert_eq!(d.code, Some(0));
    let v = d.json();
    assert_eq!(v["error"], "length_overrun");
    assert_eq!(v["error_field"], "proxy_server");
    assert_eq!(v["flags"], 3);
    assert!(d.stderr.contains("malformed"), "{}", d.stderr);
    let t = run(["decode", &hex(&b), "--format", "table"]);
    assert_eq!(t.code, Some(0));
    assert!(t.stdout_text().contains("length_overrun"));

    // The same blob for the current user in an export, beside the valid capture.
    let (_tmp, case) = case_dir();
    std::fs::write(case.join("bad.reg"), reg_export(&[(CU_KEY, &b)])).unwrap();
    let p = run(["parse".as_ref(), case.join("bad.reg").as_os_str()]);
    assert_eq!(p.code, Some(0));
    assert_eq!(p.json()["keys"][0]["values"][0]["data_hex"], hex(&b));
    let (r, report) = analyze_json(&[&case], &[]);
    assert_proxy_missing(&report);
    assert_eq!(r.code, Some(1));
    assert_eq!(
        report["cases"][0]["principals"]["current_user"]["state"],
        "unknown"
    );
    assert!(finding_ids(&report).contains(&"capture-truncated".to_string()));
}

// ---------------------------------------------------------------------------------------------
// Archives.

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (n, d) in entries {
        w.start_file(*n, opts).unwrap();
        w.write_all(d).unwrap();
    }
    w.finish().unwrap().into_inner()
}

#[test]
fn a_zip_bomb_entry_stops_at_the_cap() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("bomb.zip");
    let mut w = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1))
        .large_file(true);
    w.start_file("compare.txt", opts).unwrap();
    w.write_all(NOT_FOUND.as_bytes()).unwrap();
    w.start_file("zeros.bin", opts).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..200 {
        w.write_all(&zeros).unwrap();
    }
    w.finish().unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() < 4 << 20);

    let (r, report) = analyze_json(&[&path], &["--max-entry-mib", "1"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert_proxy_missing(&report);
    let e = error_of(&report, "bomb.zip!zeros.bin");
    assert!(
        e.contains("1 MiB") && e.contains("zip bomb") && e.contains("--max-entry-mib"),
        "{e}"
    );
    assert!(r.stderr.contains("zeros.bin"), "{}", r.stderr);
}

#[test]
fn traversal_and_absolute_entry_names_are_only_displayed_escaped() {
    let tmp = tempfile::tempdir().unwrap();
    let inner = tmp.path().join("a").join("b");
    std::fs::create_dir_all(&inner).unwrap();
    let z = zip_of(&[
        ("../../x", NOT_FOUND.as_bytes()),
        ("/abs/x", b"hello"),
        ("evil\x1b]0;title\x07.txt", b"hello"),
    ]);
    let path = inner.join("up.zip");
    std::fs::write(&path, z).unwrap();
    let before = list_tree(tmp.path());

    let (r, report) = analyze_json(&[&path], &[]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert_proxy_missing(&report);
    assert_eq!(input(&report, "up.zip!../../x")["kind"], "reg-compare");
    assert_eq!(input(&report, "up.zip!/abs/x")["kind"], "unknown");
    input(&report, "up.zip!evil\\u{1b}]0;title\\u{7}.txt");
    // Nothing was written anywhere near the archive (nor at /abs).
    assert_eq!(list_tree(tmp.path()), before);
    assert!(!Path::new("/abs/x").exists());

    let t = run([
        "analyze".as_ref(),
        "--color".as_ref(),
        "never".as_ref(),
        path.as_os_str(),
    ]);
    assert!(!t.stdout.contains(&0x1b), "{}", t.stdout_text());
}

fn list_tree(root: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walkdir_list(root);
    out.sort();
    out
}

fn walkdir_list(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(root) {
        for e in rd.flatten() {
            let p = e.path();
            out.push(p.clone());
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                out.extend(walkdir_list(&p));
            }
        }
    }
    out
}

#[test]
fn nested_truncated_and_encrypted_archives_are_skipped_with_a_reason() {
    let (_tmp, case) = case_dir();
    // Six levels of zips in zips (the default cap is 3).
    let mut nested = zip_of(&[("leaf.txt", NOT_FOUND.as_bytes())]);
    for i in 0..5 {
        nested = zip_of(&[(&format!("n{i}.zip"), &nested)]);
    }
    std::fs::write(case.join("deep.zip"), &nested).unwrap();
    // A truncated archive.
    let whole = zip_of(&[("a.txt", &random_bytes(4096, 7))]);
    std::fs::write(case.join("cut.zip"), &whole[..whole.len() / 2]).unwrap();
    // An encrypted entry (general purpose flag bit 0) beside a readable one.
    std::fs::write(case.join("locked.zip"), encrypted_zip()).unwrap();

    let (r, report) = analyze_json(&[&case], &[]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert_proxy_missing(&report);
    let e = error_of(&report, "deep.zip!n4.zip!n3.zip!n2.zip");
    assert!(e.contains("nested deeper than 3"), "{e}");
    let e = error_of(&report, "cut.zip");
    assert!(e.contains("unreadable zip"), "{e}");
    let e = error_of(&report, "locked.zip!secret.txt");
    assert!(e.contains("encrypted"), "{e}");
    assert_eq!(
        input(&report, "locked.zip!plain.txt")["kind"],
        "reg-compare"
    );

    // Deeper nesting is read when the user raises the cap.
    let (_, report) = analyze_json(&[&case.join("deep.zip")], &["--max-zip-depth", "6"]);
    assert_eq!(input(&report, "leaf.txt")["kind"], "reg-compare");
}

/// A stored-entry zip whose first entry has the "encrypted" flag (bit 0) set in both headers.
fn encrypted_zip() -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    w.start_file("secret.txt", opts).unwrap();
    w.write_all(b"ZipCrypto would be here").unwrap();
    w.start_file("plain.txt", opts).unwrap();
    w.write_all(NOT_FOUND.as_bytes()).unwrap();
    let mut z = w.finish().unwrap().into_inner();
    // Local header: flags at offset 6. Central directory entry: flags at offset 8.
    assert_eq!(&z[..4], b"PK\x03\x04");
    z[6] |= 1;
    let cd = z
        .windows(4)
        .position(|w| w == b"PK\x01\x02")
        .expect("central directory");
    z[cd + 8] |= 1;
    z
}

// ---------------------------------------------------------------------------------------------
// Folders.

#[cfg(unix)]
#[test]
fn special_files_links_and_odd_names_are_skipped_without_hanging() {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::{symlink, PermissionsExt};

    let (tmp, case) = case_dir();
    let outside = tmp.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("far.txt"), NOT_FOUND).unwrap();
    symlink("/dev/zero", case.join("zero")).unwrap();
    symlink(&outside, case.join("out")).unwrap();
    symlink("self", case.join("self")).unwrap();
    std::fs::create_dir(case.join("sub")).unwrap();
    symlink("..", case.join("sub").join("up")).unwrap();
    let fifo = case.join("fifo");
    let st = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(st.success());
    let _sock = std::os::unix::net::UnixListener::bind(case.join("sock")).unwrap();
    let locked = case.join("locked.txt");
    std::fs::write(&locked, NOT_FOUND).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    let root_reads_anyway = std::fs::read(&locked).is_ok();
    let bad = case.join(std::ffi::OsStr::from_bytes(b"bad\xff.txt"));
    std::fs::write(&bad, NOT_FOUND).unwrap();

    let (r, report) = analyze_json(&[&case], &[]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert_proxy_missing(&report);
    for link in ["zero", "out", "self", "up"] {
        assert!(
            error_of(&report, link).contains("symbolic link not followed"),
            "{link}"
        );
    }
    assert!(error_of(&report, "fifo").contains("a FIFO"));
    assert!(error_of(&report, "sock").contains("a socket"));
    if root_reads_anyway {
        eprintln!("running as root: a mode-000 file is still readable; not asserting its error");
    } else {
        assert!(error_of(&report, "locked.txt").contains("cannot read"));
    }
    // The non-UTF-8 name is read, and shown with the odd byte escaped (not as U+FFFD).
    assert_eq!(input(&report, "bad\\xff.txt")["kind"], "reg-compare");
    assert!(r.stderr.contains("zero: symbolic link not followed"));

    // With --follow-links: the device is refused, the loops are detected, the outside folder
    // is read.
    let (r, report) = analyze_json(&[&case], &["--follow-links"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(error_of(&report, "zero").contains("a device"));
    assert!(
        error_of(&report, "up").contains("loop"),
        "{}",
        error_of(&report, "up")
    );
    assert!(
        error_of(&report, "self").contains("loop"),
        "{}",
        error_of(&report, "self")
    );
    assert_eq!(input(&report, "out/far.txt")["kind"], "reg-compare");

    // A link given on the command line is the user's choice, but a device is still refused.
    let (r, report) = analyze_json(&[&case.join("zero")], &[]);
    assert_eq!(r.code, Some(2));
    assert!(error_of(&report, "zero").contains("a device"));
    for p in [case.join("zero"), fifo.clone(), case.join("sock")] {
        let r = run(["parse".as_ref(), p.as_os_str()]);
        assert_eq!(r.code, Some(2), "{p:?}");
        assert!(r.stderr.contains("not a regular file"), "{}", r.stderr);
    }
}

// ---------------------------------------------------------------------------------------------
// Terminal safety.

const OSC: &str = "\x1b]0;title\x07";
const SGR: &str = "\x1b[31m";

#[test]
fn customer_text_never_reaches_the_terminal_raw() {
    let (_tmp, case) = case_dir();
    let evil_proxy = format!("evil{OSC}{SGR}proxy:8080");
    let other = b"proxy.contoso.com:8080";
    std::fs::write(
        case.join("sys.reg"),
        reg_export(&[
            (CU_KEY, &blob(3, evil_proxy.as_bytes())),
            (&format!("{SYS_KEY}{SGR}\\x"), &blob(3, other)),
        ]),
    )
    .unwrap();
    std::fs::write(case.join(format!("cap{SGR}{OSC}.txt")), NOT_FOUND).unwrap();
    let log = format!(
        "2024-03-06 11:42:39.6370 Error [WebClient] Proxy authentication required 407 {OSC}{SGR}\r\n"
    );
    std::fs::write(case.join("Microsoft.Tri.Sensor.log"), log).unwrap();

    for fmt in ["table", "markdown", "csv"] {
        let r = run([
            "analyze".as_ref(),
            "--format".as_ref(),
            fmt.as_ref(),
            "--color".as_ref(),
            "never".as_ref(),
            case.as_os_str(),
        ]);
        assert_eq!(r.code, Some(1), "{fmt}: {}", r.stderr);
        assert!(
            !r.stdout.contains(&0x1b),
            "{fmt}: raw ESC\n{}",
            r.stdout_text()
        );
        assert!(
            r.stdout_text().contains("\\u{1b}"),
            "{fmt}: {}",
            r.stdout_text()
        );
        assert!(!r.stderr.contains('\x1b'), "{fmt}: stderr {}", r.stderr);
    }
    let r = run([
        "analyze".as_ref(),
        "--color".as_ref(),
        "always".as_ref(),
        case.as_os_str(),
    ]);
    let out = r.stdout_text();
    assert!(out.contains("\x1b[0m"), "colours are on");
    assert!(!out.contains(OSC) && !out.contains("\x1b]"), "{out}");
    assert!(!out.contains(&format!("evil{SGR}")) && !out.contains(&format!("cap{SGR}")));
    assert!(out.contains("\\u{1b}]0;title\\u{7}"), "{out}");
    // Every ESC the tool writes itself starts an SGR sequence.
    for (i, _) in out.match_indices('\x1b') {
        let rest = &out[i + 1..];
        let end = rest.find('m').expect("SGR ends with m");
        assert!(
            rest.starts_with('[') && rest[1..end].chars().all(|c| c.is_ascii_digit() || c == ';'),
            "not an SGR: {:?}",
            &rest[..end.min(20)]
        );
    }
    // JSON escapes it as JSON does.
    for fmt in ["json", "jsonl"] {
        let r = run([
            "analyze".as_ref(),
            "--format".as_ref(),
            fmt.as_ref(),
            case.as_os_str(),
        ]);
        assert!(!r.stdout.contains(&0x1b), "{fmt}");
        assert!(r.stdout_text().contains("\\u001b"), "{fmt}");
    }
    // parse --format table of each file, and the log's message.
    for f in ["sys.reg", "Microsoft.Tri.Sensor.log"] {
        let r = run([
            "parse".as_ref(),
            case.join(f).as_os_str(),
            "--format".as_ref(),
            "table".as_ref(),
        ]);
        assert_eq!(r.code, Some(0), "{f}");
        assert!(!r.stdout.contains(&0x1b), "{f}: {}", r.stdout_text());
    }
    let r = run([
        "decode",
        &hex(&blob(3, evil_proxy.as_bytes())),
        "--format",
        "table",
    ]);
    assert!(!r.stdout.contains(&0x1b), "{}", r.stdout_text());
}

// ---------------------------------------------------------------------------------------------
// Secrets.

const PASSWORD: &str = "S3cret!";
const ENCRYPTED: &str = "RU5DUllQVEVELVBBU1NXT1JELUJZVEVT";

#[test]
fn passwords_are_redacted_in_every_output() {
    let tmp = tempfile::tempdir().unwrap();
    let case = tmp.path().join("case");
    std::fs::create_dir(&case).unwrap();
    let proxy = format!("http://alice:{PASSWORD}@proxy:8080");
    let b = blob(3, proxy.as_bytes());
    std::fs::write(
        case.join("export.reg"),
        reg_export(&[(CU_KEY, &b), (SYS_KEY, &b)]),
    )
    .unwrap();
    std::fs::write(
        case.join("netsh.txt"),
        format!("C:\\>netsh winhttp show proxy\r\n\r\nCurrent WinHTTP proxy settings:\r\n\r\n    Proxy Server(s) :  {proxy}\r\n    Bypass List     :  (none)\r\n\r\n"),
    )
    .unwrap();
    let cfg = serde_json::json!({
        "$type": "SensorConfiguration",
        "SensorProxyConfiguration": {
            "$type": "SensorProxyConfiguration",
            "Url": proxy,
            "UserName": "CONTOSO\\alice",
            "EncryptedUserPasswordData": {
                "$type": "EncryptedData",
                "EncryptedBytes": ENCRYPTED,
                "CertificateThumbprint": "B6DED748E000B5A62D3F4C45058E1DCF64BB55B9",
                "SecretVersion": null
            }
        }
    });
    std::fs::write(
        case.join("SensorConfiguration.json"),
        serde_json::to_string_pretty(&cfg).unwrap(),
    )
    .unwrap();

    let leaks = |what: &str, r: &Run| {
        let out = r.stdout_text();
        assert!(!out.is_empty(), "{what}: no output ({})", r.stderr);
        for secret in [PASSWORD, ENCRYPTED] {
            assert!(!out.contains(secret), "{what}: {secret} in\n{out}");
            assert!(!r.stderr.contains(secret), "{what}: {secret} in stderr");
        }
    };
    for fmt in ["table", "markdown", "json", "jsonl", "csv"] {
        let r = run([
            "analyze".as_ref(),
            "--format".as_ref(),
            fmt.as_ref(),
            case.as_os_str(),
        ]);
        leaks(&format!("analyze {fmt}"), &r);
    }
    let r = run([
        "analyze".as_ref(),
        "--format".as_ref(),
        "json".as_ref(),
        case.as_os_str(),
    ]);
    // The whole userinfo is hidden; the proxy host stays for the engineer.
    assert!(r.stdout_text().contains("***@proxy:8080"), "host kept");
    assert!(!r.stdout_text().contains("alice:"), "user hidden");
    for f in ["export.reg", "netsh.txt", "SensorConfiguration.json"] {
        for fmt in ["json", "table"] {
            let r = run([
                "parse".as_ref(),
                case.join(f).as_os_str(),
                "--format".as_ref(),
                fmt.as_ref(),
            ]);
            assert_eq!(r.code, Some(0), "{f}");
            leaks(&format!("parse {f} {fmt}"), &r);
        }
    }
    for fmt in ["json", "jsonl", "table"] {
        let r = run(["decode", &hex(&b), "--format", fmt]);
        assert_eq!(r.code, Some(0));
        leaks(&format!("decode {fmt}"), &r);
        assert!(r.stdout_text().contains("***@proxy:8080"), "{fmt}");
        assert!(!r.stdout_text().contains("alice:"), "{fmt}");
    }
}

#[test]
fn credentials_in_log_lines_and_pasted_commands_are_redacted() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("Microsoft.Tri.Sensor-Errors.log"),
        "2024-03-06 11:42:39.6370 Error CommunicationWebClient Failed via http://bob:Hunter2pw@proxy:8080 407 (Proxy Authentication Required)\r\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("curl.txt"),
        "C:\\> curl -x http://bob:Hunter2pw@proxy:8080 https://triprd1wcuse1sensorapi.eastus.cloudapp.azure.com\r\ncurl: (56) CONNECT tunnel failed, response 407\r\n",
    )
    .expect("write");
    for fmt in ["json", "table", "markdown", "csv"] {
        let out = assert_cmd::Command::cargo_bin("proxy-triage")
            .expect("binary")
            .args(["analyze", "--format", fmt, "--color", "never"])
            .arg(dir.path())
            .output()
            .expect("run");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(!text.contains("Hunter2pw"), "{fmt}: {text}");
    }
    // A plain ProxyServer string with credentials, in an export and in `reg query` output.
    let reg = "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings]\r\n\"ProxyServer\"=\"http://bob:Hunter2pw@proxy:8080\"\r\n\"ProxyEnable\"=dword:00000001\r\n";
    let mut utf16 = vec![0xFF, 0xFE];
    for u in reg.encode_utf16() {
        utf16.extend(u.to_le_bytes());
    }
    std::fs::write(dir.path().join("settings.reg"), utf16).expect("write");
    std::fs::write(
        dir.path().join("query.txt"),
        "\r\nHKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\r\n    ProxyServer    REG_SZ    http://bob:Hunter2pw@proxy:8080\r\n\r\n",
    )
    .expect("write");
    let secret_hex: String = "Hunter2pw"
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .map(|b| format!("{b:02x}"))
        .collect();
    for f in ["settings.reg", "query.txt"] {
        let out = assert_cmd::Command::cargo_bin("proxy-triage")
            .expect("binary")
            .arg("parse")
            .arg(dir.path().join(f))
            .output()
            .expect("run");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            !text.contains("Hunter2pw") && !text.contains(&secret_hex),
            "{f}: {text}"
        );
        assert!(text.contains("\"redacted\":true"), "{f}: {text}");
        assert!(text.contains("http://***@proxy:8080"), "{f}: {text}");
    }
    for f in ["Microsoft.Tri.Sensor-Errors.log", "curl.txt"] {
        let out = assert_cmd::Command::cargo_bin("proxy-triage")
            .expect("binary")
            .arg("parse")
            .arg(dir.path().join(f))
            .output()
            .expect("run");
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("Hunter2pw"),
            "{f}"
        );
    }
}
