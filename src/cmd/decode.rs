//! `decode HEX`: one proxy blob (WinINet or WinHTTP) from hex to its fields, the contract's
//! JSON or a table for support engineers (flags in words, strings, the sensor's route).
//!
//! Exit codes: 0 decoded (also a blob cut after its header: its decoded fields are shown and
//! stderr says what is wrong), 2 input rejected (bad hex, unreadable stdin, or a blob shorter
//! than its 12-byte header: `truncated_header`, route unknown), 3 usage.

use std::io::{self, Read};

use comfy_table::{presets::UTF8_FULL_CONDENSED, ContentArrangement, Table};
use serde::Serialize;

use crate::cli::{DecodeArgs, DecodeFormat};
use crate::proxy::endpoint::PLACEHOLDER_HOST;
use crate::proxy::hex::{parse_pasted, Notation};
use crate::proxy::route::{route, Route};
use crate::proxy::winhttp::WinHttpSettings;
use crate::proxy::wininet::{
    autodiscovery_flags_in_words, display_bytes, flags_in_words, ConnectionSettings, Field,
    TrailerField, VERSION_IE5, VERSION_IE7,
};
use crate::proxy::{BlobError, ProxyValue, RawString};
use crate::text::escape_control;

use super::{write_stdout, Context, EXIT_INPUT};

/// Largest hex text read from stdin (a blob is at most a few KiB).
const MAX_STDIN: u64 = 16 * 1024 * 1024;

/// The route of one endpoint under the decoded settings (an extra JSON field).
#[derive(Debug, Serialize)]
struct EndpointRoute {
    url: String,
    #[serde(flatten)]
    route: RouteOrUnknown,
}

/// A route, or `unknown` when the blob ended before its flags (nothing to judge).
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum RouteOrUnknown {
    Known(Route),
    Unknown { kind: &'static str, reason: String },
}

impl RouteOrUnknown {
    fn summary(&self) -> String {
        match self {
            RouteOrUnknown::Known(r) => r.summary(),
            RouteOrUnknown::Unknown { .. } => "unknown".into(),
        }
    }

    fn reason(&self) -> &str {
        match self {
            RouteOrUnknown::Known(r) => &r.reason,
            RouteOrUnknown::Unknown { reason, .. } => reason,
        }
    }
}

/// The endpoint whose route is shown (the contract's "endpoint judged").
#[derive(Debug, Serialize)]
struct Endpoint {
    host: String,
    source: EndpointSource,
}

/// Where the endpoint host came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
enum EndpointSource {
    /// `--endpoint` or `--workspace`.
    Flag,
    /// Neither: the placeholder host.
    Default,
}

/// How the input was written (extra JSON fields).
#[derive(Debug, Serialize)]
struct InputInfo {
    notation: Notation,
    /// PowerShell printed only the beginning of the list (`{70, 0, 0, 0...}`).
    shortened: bool,
}

/// The decode JSON: `schema_version`, the contract's fields, then `endpoint`, `input`, `routes`.
#[derive(Debug, Serialize)]
struct DecodeOutput<'a> {
    schema_version: u32,
    #[serde(flatten)]
    value: &'a ProxyValue,
    endpoint: Endpoint,
    input: InputInfo,
    routes: Vec<EndpointRoute>,
}

pub fn run(ctx: &Context, args: &DecodeArgs) -> u8 {
    let text = if args.hex == "-" {
        let mut s = String::new();
        match io::stdin().lock().take(MAX_STDIN).read_to_string(&mut s) {
            Ok(_) => s,
            Err(e) => {
                ctx.error(&format!("decode: cannot read stdin: {e}"));
                return EXIT_INPUT;
            }
        }
    } else {
        args.hex.clone()
    };
    let pasted = match parse_pasted(&text) {
        Ok(p) => p,
        Err(e) => {
            ctx.error(&format!("decode: {e}"));
            return EXIT_INPUT;
        }
    };
    let value = ProxyValue::decode(&pasted.bytes, args.value_name.as_deref());
    let truncated_header = value.error() == Some(BlobError::TruncatedHeader);
    let settings = value.effective();
    let (host, source) = match args.endpoint.host() {
        Some(h) => (h, EndpointSource::Flag),
        None => (PLACEHOLDER_HOST.to_string(), EndpointSource::Default),
    };
    let routes: Vec<EndpointRoute> = [
        format!("https://{host}"),
        crate::PROCESSOR_ENDPOINT_URL.to_string(),
    ]
    .into_iter()
    .map(|url| EndpointRoute {
        route: if truncated_header {
            RouteOrUnknown::Unknown {
                kind: "unknown",
                reason: format!(
                    "the blob has {} bytes, fewer than its 12-byte header: its flags are not known",
                    pasted.bytes.len()
                ),
            }
        } else {
            RouteOrUnknown::Known(route(&settings, &url))
        },
        url,
    })
    .collect();
    let out = DecodeOutput {
        schema_version: crate::SCHEMA_VERSION,
        value: &value,
        endpoint: Endpoint { host, source },
        input: InputInfo {
            notation: pasted.notation,
            shortened: pasted.shortened,
        },
        routes,
    };
    let format = ctx.pick_format(args.format, DecodeFormat::Table, DecodeFormat::Json);
    let rendered = match format {
        DecodeFormat::Json => serde_json::to_string_pretty(&out).map(|s| s + "\n"),
        DecodeFormat::Jsonl => serde_json::to_string(&out).map(|s| s + "\n"),
        DecodeFormat::Table => Ok(table(&out)),
    };
    let rendered = match rendered {
        Ok(r) => r,
        Err(e) => {
            ctx.error(&format!("decode: {e}"));
            return EXIT_INPUT;
        }
    };
    if let Err(e) = write_stdout(rendered.as_bytes()) {
        return ctx.stdout_failed(&e);
    }
    // The table says it in its Endpoint row; JSON readers get it on stderr too.
    if out.endpoint.source == EndpointSource::Default && format != DecodeFormat::Table {
        ctx.warn(&format!(
            "decode: {PLACEHOLDER_HOST} is a placeholder: give --workspace NAME or --endpoint HOST \
             to judge the customer's sensor endpoint"
        ));
    }
    if pasted.shortened {
        ctx.error(
            "decode: PowerShell printed only the beginning of this list ({...}); ask for \
             `reg query` of the value, or the PowerShell command with \
             `| Select-Object -ExpandProperty DefaultConnectionSettings`",
        );
    }
    report_malformed(ctx, &value);
    if truncated_header {
        EXIT_INPUT
    } else {
        0
    }
}

/// Tells stderr when the blob is malformed (the output still shows what was decoded).
fn report_malformed(ctx: &Context, value: &ProxyValue) {
    let (error, field) = match value {
        ProxyValue::WinInet(s) => (s.error, s.error_field.map(Field::name)),
        ProxyValue::WinHttp(s) => (s.error, s.error_field.map(|f| f.name())),
    };
    if let Some(e) = error {
        let msg = format!(
            "decode: the blob is malformed ({e} at {}); the fields before it are shown",
            field.unwrap_or("?")
        );
        // Shorter than its header is a rejected input (exit 2): said even with -q.
        if e == BlobError::TruncatedHeader {
            ctx.error(&msg);
        } else {
            ctx.warn(&msg);
        }
    }
}

fn table(out: &DecodeOutput<'_>) -> String {
    let mut rows: Vec<(String, String)> = Vec::new();
    match out.value {
        ProxyValue::WinInet(s) => wininet_rows(s, &mut rows),
        ProxyValue::WinHttp(s) => winhttp_rows(s, &mut rows),
    }
    let endpoint = if out.endpoint.source == EndpointSource::Default {
        format!(
            "{} (a placeholder: give --workspace NAME or --endpoint HOST)",
            out.endpoint.host
        )
    } else {
        out.endpoint.host.clone()
    };
    rows.push(("Endpoint".to_string(), endpoint));
    if out.input.notation == Notation::Decimal {
        let how = if out.input.shortened {
            "PowerShell decimal byte list, shortened by PowerShell ({...}): only its beginning"
        } else {
            "PowerShell decimal byte list"
        };
        rows.push(("Input".to_string(), how.to_string()));
    }
    for (r, name) in out
        .routes
        .iter()
        .zip(["Route (sensor)", "Route (2018 processor)"])
    {
        rows.push((
            name.to_string(),
            format!("{}: {}\n{}", r.url, r.route.summary(), r.route.reason()),
        ));
    }
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(vec!["Field", "Value"]);
    if t.width().is_none() {
        t.set_width(super::piped_table_width());
    }
    for (k, v) in rows {
        let v: Vec<String> = v.lines().map(|l| escape_control(l).into_owned()).collect();
        t.add_row(vec![k, v.join("\n")]);
    }
    format!("{t}\n")
}

fn shown(s: &RawString, enabled: Option<bool>) -> String {
    let body = if s.is_empty() {
        "(empty)".to_string()
    } else {
        display_bytes(s.bytes())
    };
    match enabled {
        Some(false) if !s.is_empty() => format!("{body}  (stored, not enabled)"),
        _ => body,
    }
}

fn wininet_rows(s: &ConnectionSettings, rows: &mut Vec<(String, String)>) {
    let mut push = |k: &str, v: String| rows.push((k.to_string(), v));
    push(
        "Value kind",
        "WinINet connection settings (DefaultConnectionSettings layout)".into(),
    );
    push("Length", format!("{} bytes", s.length()));
    if s.decoded(Field::Version) {
        let what = match s.version {
            VERSION_IE7 => "IE7+ layout",
            VERSION_IE5 => "IE5/IE6 layout",
            v if v < VERSION_IE5 => "unknown tag below 0x3C: .NET ignores the blob",
            _ => "unknown tag, decoded with the 0x46 layout",
        };
        push("Version", format!("0x{:02X} ({what})", s.version));
    }
    if s.decoded(Field::Counter) {
        push(
            "Counter",
            format!("{} (change counter, never part of the settings)", s.counter),
        );
    }
    if s.decoded(Field::Flags) {
        push(
            "Flags",
            format!("0x{:02X}: {}", s.flags, flags_in_words(s.flags)),
        );
    }
    if s.decoded(Field::ProxyServer) {
        push(
            "Proxy server",
            crate::proxy::redact(&shown(&s.proxy_server, Some(s.proxy_enabled()))).into_owned(),
        );
    }
    if s.decoded(Field::BypassList) {
        push(
            "Bypass list",
            shown(&s.bypass_list, Some(s.proxy_enabled())),
        );
    }
    if s.decoded(Field::AutoConfigUrl) {
        push(
            "PAC URL",
            shown(&s.auto_config_url, Some(s.auto_config_url_enabled())),
        );
    }
    if let Some(t) = &s.trailer {
        let d = |f: TrailerField| t.error_field.is_none_or(|e| f < e);
        if d(TrailerField::AutodiscoveryFlags) {
            push(
                "Autodiscovery flags",
                format!(
                    "0x{:X}: {}",
                    t.autodiscovery_flags,
                    autodiscovery_flags_in_words(t.autodiscovery_flags)
                ),
            );
        }
        if d(TrailerField::LastKnownGoodAutoConfigUrl) {
            push(
                "Last known good PAC URL",
                shown(&t.last_known_good_auto_config_url, None),
            );
        }
        if d(TrailerField::LastDetectTime) {
            push(
                "Last detection",
                t.last_detect_time_iso().unwrap_or_else(|| "never".into()),
            );
        }
        if d(TrailerField::DetectedIpv4) {
            let ips: Vec<String> = t.detected_ipv4.iter().map(|a| a.to_string()).collect();
            push(
                "Detected IPv4",
                if ips.is_empty() {
                    "(none)".into()
                } else {
                    ips.join(", ")
                },
            );
        }
        if d(TrailerField::AutoConfigSecondaryUrl) {
            push(
                "Secondary PAC URL",
                shown(&t.auto_config_secondary_url, None),
            );
        }
        if d(TrailerField::AutoConfigReloadDelayMins) {
            push(
                "PAC reload delay",
                format!("{} min", t.auto_config_reload_delay_mins),
            );
        }
        if let Some(keys) = &t.network_keys {
            let list: Vec<String> = keys
                .iter()
                .map(|k| match (k.address(), k.scope_id()) {
                    (Some(a), Some(sc)) => format!("{a} (scope {sc})"),
                    (Some(a), None) => a.to_string(),
                    (None, _) => format!("family {}", k.family()),
                })
                .collect();
            push(
                "Network keys",
                if list.is_empty() {
                    "(none)".into()
                } else {
                    list.join("\n")
                },
            );
        }
        if !t.extra.is_empty() {
            push("Extra bytes", format!("{}", t.extra.len()));
        }
        if let (Some(e), Some(f)) = (t.error, t.error_field) {
            push("Trailer error", format!("{e} at {} (not fatal)", f.name()));
        }
    } else if s.error.is_none() {
        push("Trailer", "(none)".into());
    }
    if let (Some(e), Some(f)) = (s.error, s.error_field) {
        push(
            "ERROR",
            format!("{e} at {}: fields from there on are missing", f.name()),
        );
    }
    for w in s.warnings() {
        push("Warning", w.message);
    }
}

fn winhttp_rows(s: &WinHttpSettings, rows: &mut Vec<(String, String)>) {
    use crate::proxy::winhttp::WinHttpField as F;
    let mut push = |k: &str, v: String| rows.push((k.to_string(), v));
    push(
        "Value kind",
        "WinHTTP default proxy (WinHttpSettings)".into(),
    );
    push("Length", format!("{} bytes", s.length()));
    if s.decoded(F::Version) {
        push("Version", format!("0x{:02X}", s.version));
    }
    if s.decoded(F::Counter) {
        push("Counter", s.counter.to_string());
    }
    if s.decoded(F::Flags) {
        let words = match (s.direct(), s.proxy_enabled()) {
            (_, true) => "named proxy",
            (true, false) => "direct access (no proxy server)",
            (false, false) => "none",
        };
        push("Flags", format!("0x{:02X}: {words}", s.flags));
    }
    if s.decoded(F::ProxyServer) {
        push(
            "Proxy server",
            crate::proxy::redact(&shown(&s.proxy_server, Some(s.proxy_enabled()))).into_owned(),
        );
    }
    if s.decoded(F::BypassList) {
        push(
            "Bypass list",
            shown(&s.bypass_list, Some(s.proxy_enabled())),
        );
    }
    if let (Some(e), Some(f)) = (s.error, s.error_field) {
        push(
            "ERROR",
            format!("{e} at {}: fields from there on are missing", f.name()),
        );
    }
    for w in s.warnings() {
        push("Warning", w.message);
    }
}
