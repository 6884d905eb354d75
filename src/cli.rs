//! Every command-line flag, defined once (clap derive).

use std::path::PathBuf;

pub use crate::report::ReportFormat;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// Offline triage of Defender for Identity (Azure ATP) sensor proxy uploads.
#[derive(Debug, Parser)]
#[command(name = "proxy-triage", version, about, long_about = None, after_help = MAIN_AFTER_HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// No progress bar and no warnings on stderr; why an input could not be read is still said.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Colour in table output (also disabled by the NO_COLOR environment variable).
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Worker threads for analyze (0, or not given: one per core).
    #[arg(long, global = true, value_name = "N")]
    pub threads: Option<usize>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyse customer uploads (files, folders, .zip archives, - for stdin) and report per case.
    Analyze(AnalyzeArgs),
    /// Print the structured content of one artifact, whatever its kind.
    Parse(ParseArgs),
    /// Decode one proxy blob given as hex (DefaultConnectionSettings, WinHttpSettings, ...).
    Decode(DecodeArgs),
    /// Probe the sensor endpoint from this machine (its ping URL with --endpoint/--workspace).
    Probe(ProbeArgs),
    /// Write the remediation files (fix.reg, backup.cmd, restore.cmd, README.txt) for a case.
    Fix(FixArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(CompletionsArgs),
    /// Print the man page (roff) on stdout.
    #[command(after_help = MAN_AFTER_HELP)]
    Man,
    /// Print the JSON Schema (draft 2020-12) of the `analyze --format json` document.
    #[command(after_help = SCHEMA_AFTER_HELP)]
    Schema,
    /// Write collect-mdi-proxy.cmd (and README.txt): the script the customer runs, elevated, on
    /// the domain controller to collect every piece of proxy evidence into one folder.
    CollectScript(CollectScriptArgs),
    /// Evaluate a PAC script (proxy.pac, wpad.dat) for one URL, offline, as the sensor would.
    Pac(PacArgs),
}

/// The verdicts `analyze --only` keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnlyVerdict {
    Healthy,
    Misconfigured,
    Inconclusive,
}

impl OnlyVerdict {
    /// Whether a case with this verdict is kept.
    pub fn keeps(self, v: crate::case::model::Verdict) -> bool {
        use crate::case::model::Verdict;
        matches!(
            (self, v),
            (OnlyVerdict::Healthy, Verdict::Healthy)
                | (OnlyVerdict::Misconfigured, Verdict::Misconfigured)
                | (OnlyVerdict::Inconclusive, Verdict::Inconclusive)
        )
    }
}

/// Exit codes and examples shown under `proxy-triage --help` (and in the man page).
const MAIN_AFTER_HELP: &str = "\
Exit codes (all commands):
  0  success (analyze: no error finding; probe: reachable; fix: written or dry run;
     pac: the script returned a string);
     also when stdout is closed early (| head)
  1  analyze: an error finding; probe: not reachable; fix: refused; pac: the script failed
  2  an input could not be read or was rejected (including a path that does not exist)
  3  usage error

Examples:
  proxy-triage analyze ticket-4711.zip
  proxy-triage parse compare-1519.txt --format table
  proxy-triage decode --workspace contoso 460000000900000001000000000000000000000000000000
  proxy-triage completions bash > /etc/bash_completion.d/proxy-triage
  proxy-triage man > proxy-triage.1";

const ANALYZE_AFTER_HELP: &str = "\
Examples:
  proxy-triage analyze ticket-4711.zip
  proxy-triage analyze upload/ --format markdown > ticket.md
  proxy-triage analyze hkcu.reg compare-1519.txt compare-1518.txt
  proxy-triage analyze --batch tickets/ --format jsonl
  proxy-triage analyze ticket-4711/ --pac wpad.dat --my-ip 10.20.1.5 --workspace contoso
  cat hkcu.reg | proxy-triage analyze -";

const PARSE_AFTER_HELP: &str = "\
Examples:
  proxy-triage parse hkcu-connections.reg
  proxy-triage parse compare-1519.txt --format table
  proxy-triage parse netsh-winhttp.txt | jq .winhttp";

const DECODE_AFTER_HELP: &str = "\
Accepted input: hex with spaces, commas, hex:/hex(3):/0x prefixes and \\ continuations (pasted
.reg and reg query lines included), or PowerShell's decimal byte lists: {70, 0, 0, 0...},
70, 0, 0, 0, or one number per line. A list is read as decimal only when it cannot be hex (a
token of 1 or 3 digits, or the {} form), so hex is never misread.

Examples:
  proxy-triage decode --workspace contoso 460000000900000001000000000000000000000000000000
  proxy-triage decode --endpoint contososensorapi.atp.azure.us \\
    \"70, 0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0\"
  proxy-triage decode - < reg-query-output.txt
  proxy-triage decode --value-name WinHttpSettings 1800000000000000010000000000000000000000";

const PROBE_AFTER_HELP: &str = "\
Examples:
  proxy-triage probe --workspace contoso
  proxy-triage probe --endpoint contososensorapi.atp.azure.com --proxy http://proxy:8080
  proxy-triage probe --workspace contoso --proxy http://user:pass@proxy:8080 --format json

Without --endpoint or --workspace the 2018 processor URL is probed (the old 503 test).";

const FIX_AFTER_HELP: &str = "\
Examples:
  proxy-triage fix ticket-4711/ --out fix/ --dry-run
  proxy-triage fix hkcu.reg compare-1519.txt --out fix/
  proxy-triage fix ticket-4711.zip --out fix/ --format json";

const PAC_AFTER_HELP: &str = "\
Examples:
  proxy-triage pac wpad.dat --url https://contoso-corpsensorapi.atp.azure.com/tri/sensor/api/ping
  proxy-triage pac proxy.pac --url https://contoso-corpsensorapi.atp.azure.com/ --my-ip 10.1.2.3 \\
    --resolve proxy.contoso.com=10.1.0.8 --format json";

const COLLECT_AFTER_HELP: &str = "\
Examples:
  proxy-triage collect-script --out collect/ --workspace contoso
  proxy-triage collect-script --out collect/ --endpoint contoso-corpsensorapi.atp.azure.com --format json

The customer runs collect-mdi-proxy.cmd [FOLDER] elevated on the domain controller and sends back
the folder (or its zip); `proxy-triage analyze` reads it as one case.";

const SCHEMA_AFTER_HELP: &str = "\
Examples:
  proxy-triage schema > analyze.schema.json
  proxy-triage analyze ticket/ --format json | check-jsonschema --schemafile analyze.schema.json -";

const MAN_AFTER_HELP: &str = "\
Examples:
  proxy-triage man > proxy-triage.1 && man ./proxy-triage.1
  proxy-triage man | gzip > /usr/local/share/man/man1/proxy-triage.1.gz";

const COMPLETIONS_AFTER_HELP: &str = "\
Examples:
  proxy-triage completions bash > ~/.local/share/bash-completion/completions/proxy-triage
  proxy-triage completions zsh > ~/.zfunc/_proxy-triage
  proxy-triage completions fish > ~/.config/fish/completions/proxy-triage.fish
  proxy-triage completions powershell >> $PROFILE";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// The formats `fix` can write its summary in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FixFormat {
    Table,
    Json,
}

/// Output formats of `parse`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ParseFormat {
    /// The contract's JSON document.
    Json,
    /// The same fields, one per row.
    Table,
}

/// Output formats of `decode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DecodeFormat {
    /// Fields in words, with the route of the endpoint.
    Table,
    /// The contract's JSON document (pretty).
    Json,
    /// The same JSON on one line.
    Jsonl,
}

/// Output formats of `probe`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProbeFormat {
    /// What answered and what it means.
    Table,
    /// The contract's JSON document (pretty).
    Json,
    /// The same JSON on one line.
    Jsonl,
}

/// Output formats of `pac`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PacFormat {
    /// The result, the route and the facts used.
    Table,
    /// The contract's JSON document (pretty).
    Json,
    /// The same JSON on one line.
    Jsonl,
}

/// Output formats of `collect-script`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CollectFormat {
    /// What was written, in words.
    Table,
    /// The same as one JSON document.
    Json,
}

/// The sensor endpoint judged or probed: `--endpoint HOST` or `--workspace NAME`.
#[derive(Debug, Clone, Default, Args)]
pub struct EndpointArgs {
    /// The sensor endpoint host (e.g. contoso-corpsensorapi.atp.azure.com; other clouds too).
    #[arg(long, value_name = "HOST", value_parser = parse_endpoint, conflicts_with = "workspace")]
    pub endpoint: Option<String>,
    /// The workspace name: the endpoint is NAME + sensorapi.atp.azure.com.
    #[arg(long, value_name = "NAME", value_parser = parse_workspace)]
    pub workspace: Option<String>,
}

impl EndpointArgs {
    /// The endpoint host the flags name (lower-case), or `None` when neither was given.
    pub fn host(&self) -> Option<String> {
        match (&self.endpoint, &self.workspace) {
            (Some(host), _) => Some(host.clone()),
            (None, Some(name)) => crate::proxy::endpoint::host_for_workspace(name).ok(),
            (None, None) => None,
        }
    }
}

/// `--endpoint`: a host name or a URL, stored as the lower-case host.
fn parse_endpoint(s: &str) -> Result<String, String> {
    crate::proxy::endpoint::host_from_endpoint(s).map_err(|e| e.to_string())
}

/// `--workspace`: checked here (so a bad name is a usage error), stored as given.
fn parse_workspace(s: &str) -> Result<String, String> {
    crate::proxy::endpoint::host_for_workspace(s)
        .map(|_| s.trim().to_string())
        .map_err(|e| e.to_string())
}

/// `--timeout`: whole seconds from 1 to the probe's longest budget, so a bad value is a usage
/// error that says the range (not a duration in nanoseconds).
fn timeout_secs() -> clap::builder::RangedU64ValueParser<u64> {
    clap::value_parser!(u64).range(1..=crate::probe::MAX_TIMEOUT.as_secs())
}

/// `completions SHELL`.
#[derive(Debug, Args)]
#[command(after_help = COMPLETIONS_AFTER_HELP)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Size and depth limits applied to everything read from customer data.
#[derive(Debug, Clone, Args)]
pub struct LimitArgs {
    /// Largest file read from disk or stdin, in MiB (at least 1).
    #[arg(long, value_name = "MIB", default_value_t = 2048, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_file_mib: u64,
    /// Largest archive entry inflated in memory, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 64)]
    pub max_entry_mib: u64,
    /// Largest binary registry hive (or transaction log) read, in MiB; log replay may not grow
    /// a hive past it either.
    #[arg(long, value_name = "MIB", default_value_t = 1024)]
    pub max_hive_mib: u64,
    /// Deepest nesting of zip archives inside zip archives.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub max_zip_depth: u32,
    /// Follow symbolic links (with loop detection and the same caps).
    #[arg(long)]
    pub follow_links: bool,
}

#[derive(Debug, Args)]
#[command(after_help = ANALYZE_AFTER_HELP)]
pub struct AnalyzeArgs {
    /// Files, folders or .zip archives. Each folder or archive is a case; all loose files together
    /// are one case. `-` reads stdin.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Treat each entry directly under DIR as a case of its own.
    #[arg(long, value_name = "DIR")]
    pub batch: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
    /// Keep only the cases with this verdict.
    #[arg(long, value_enum, value_name = "VERDICT")]
    pub only: Option<OnlyVerdict>,
    /// Write the report to FILE instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also probe the endpoint from this machine (network traffic!). Without
    /// --on-customer-network only the direct route is probed and the result never changes a verdict.
    #[arg(long)]
    pub probe: bool,
    /// With --probe: this machine sits on the customer's network, so probe each distinct route of
    /// the case and count the results as the customer's evidence.
    #[arg(long, requires = "probe")]
    pub on_customer_network: bool,
    /// The sensor endpoint judged (and probed).
    #[command(flatten)]
    pub endpoint: EndpointArgs,
    /// Extra trust root (PEM) for the probe.
    #[arg(long, value_name = "PEM")]
    pub ca_cert: Option<PathBuf>,
    /// Probe URL (default: the documented processor endpoint).
    #[arg(long, value_name = "URL")]
    pub probe_url: Option<String>,
    /// Probe timeout in seconds (1 to 600).
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = timeout_secs())]
    pub timeout: u64,
    #[command(flatten)]
    pub limits: LimitArgs,
    /// The PAC script (proxy.pac, wpad.dat) of every account that uses one whose own script is
    /// not among the uploads; evaluated for the endpoint with the facts below.
    #[arg(long, value_name = "FILE", help_heading = "PAC evaluation")]
    pub pac: Option<PathBuf>,
    // Last: their help heading also applies to the arguments that follow them.
    #[command(flatten)]
    pub pac_facts: PacFactArgs,
    #[command(flatten)]
    pub pac_limits: PacLimitArgs,
}

#[derive(Debug, Args)]
#[command(after_help = PARSE_AFTER_HELP)]
pub struct ParseArgs {
    /// The artifact (`-` reads stdin).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ParseFormat::Json)]
    pub format: ParseFormat,
    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(Debug, Args)]
#[command(after_help = DECODE_AFTER_HELP)]
pub struct DecodeArgs {
    /// The blob as hex (spaces, commas, `hex:` prefixes, `\` continuations allowed) or as
    /// PowerShell's decimal byte list; `-` reads stdin.
    #[arg(value_name = "HEX", allow_hyphen_values = true)]
    pub hex: String,
    /// The registry value the blob came from (`WinHttpSettings` selects the WinHTTP layout).
    #[arg(long, value_name = "NAME")]
    pub value_name: Option<String>,
    /// Output format (default: table on a terminal, json otherwise).
    #[arg(long, value_enum)]
    pub format: Option<DecodeFormat>,
    /// The endpoint whose route is shown (default: a placeholder host).
    #[command(flatten)]
    pub endpoint: EndpointArgs,
}

#[derive(Debug, Args)]
#[command(after_help = PROBE_AFTER_HELP)]
pub struct ProbeArgs {
    /// The URL to probe (default: https://HOST/tri/sensor/api/ping with --endpoint or
    /// --workspace, else the 2018 processor URL).
    #[arg(long, value_name = "URL", conflicts_with_all = ["endpoint", "workspace"])]
    pub url: Option<String>,
    /// The endpoint to probe.
    #[command(flatten)]
    pub endpoint: EndpointArgs,
    /// Go through this proxy (`http://[user:password@]host:port`).
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,
    /// Extra trust root (PEM), for inspection proxies and tests.
    #[arg(long, value_name = "PEM")]
    pub ca_cert: Option<PathBuf>,
    /// Timeout in seconds (1 to 600).
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = timeout_secs())]
    pub timeout: u64,
    /// Output format (default: table on a terminal, json otherwise).
    #[arg(long, value_enum)]
    pub format: Option<ProbeFormat>,
}

#[derive(Debug, Args)]
#[command(after_help = FIX_AFTER_HELP)]
pub struct FixArgs {
    /// The case's uploads (files, folders, .zip archives).
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
    /// Where to write fix.reg, backup.cmd, restore.cmd and README.txt.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Output format of the summary.
    #[arg(long, value_enum, default_value_t = FixFormat::Table)]
    pub format: FixFormat,
    /// Print every file's content instead of writing it.
    #[arg(long)]
    pub dry_run: bool,
    /// When uploads disagree about the current user's value: the upload to copy (a path as
    /// given, `archive.zip!entry` inside an archive).
    #[arg(long = "use", value_name = "FILE")]
    pub use_file: Option<PathBuf>,
    /// The sensor endpoint the README's check browses to (default: from the uploads).
    #[command(flatten)]
    pub endpoint: EndpointArgs,
    /// Overwrite existing files in DIR.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(Debug, Args)]
#[command(after_help = COLLECT_AFTER_HELP)]
pub struct CollectScriptArgs {
    /// Where to write collect-mdi-proxy.cmd and README.txt.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The sensor endpoint the probes test (default: read from the sensor's configuration).
    #[command(flatten)]
    pub endpoint: EndpointArgs,
    /// Output format of the summary.
    #[arg(long, value_enum, default_value_t = CollectFormat::Table)]
    pub format: CollectFormat,
    /// Overwrite existing files in DIR.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
#[command(after_help = PAC_AFTER_HELP)]
pub struct PacArgs {
    /// The PAC script (`proxy.pac`, `wpad.dat`; `-` reads stdin).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The URL to evaluate, passed to the script exactly as given (full URL, path included).
    #[arg(long, value_name = "URL")]
    pub url: String,
    /// The host argument (default: the URL's host, lower-cased as .NET gives it).
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
    /// Output format (default: table on a terminal, json otherwise).
    #[arg(long, value_enum)]
    pub format: Option<PacFormat>,
    // Last: their help heading also applies to the arguments that follow them.
    #[command(flatten)]
    pub facts: PacFactArgs,
    #[command(flatten)]
    pub limits: PacLimitArgs,
}

/// The customer's facts a PAC script is evaluated with (never real DNS), shared by `pac` and
/// `analyze`.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "PAC evaluation")]
pub struct PacFactArgs {
    /// The machine's address; the first IPv4 answers myIpAddress(), all answer myIpAddressEx()
    /// (default 127.0.0.1, and the report says so).
    #[arg(long = "my-ip", value_name = "IP")]
    pub my_ip: Vec<std::net::IpAddr>,
    /// Name resolution for the script (never real DNS); names not given are unresolvable.
    #[arg(long, value_name = "NAME=IP[,IP...]", value_parser = crate::pac::parse_resolve_fact)]
    pub resolve: Vec<(String, Vec<std::net::IpAddr>)>,
    /// A name known not to resolve (then not reported as an assumption).
    #[arg(long, value_name = "NAME")]
    pub unresolvable: Vec<String>,
    /// The clock for weekdayRange/dateRange/timeRange (local time = UTC; default: now).
    #[arg(long, value_name = "RFC3339", value_parser = crate::pac::parse_rfc3339)]
    pub now: Option<i64>,
}

impl PacFactArgs {
    /// The facts as the evaluator takes them.
    pub fn facts(&self) -> crate::pac::PacFacts {
        let mut facts = crate::pac::PacFacts {
            my_ips: self.my_ip.clone(),
            now: self.now,
            ..crate::pac::PacFacts::default()
        };
        for (n, ips) in &self.resolve {
            facts.add_resolve(n, ips.iter().copied());
        }
        for n in &self.unresolvable {
            facts.add_unresolvable(n);
        }
        facts
    }
}

/// The bounds of one PAC evaluation, shared by `pac` and `analyze`.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "PAC evaluation")]
pub struct PacLimitArgs {
    /// Time budget per evaluation, script load included, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub pac_timeout_ms: u64,
    /// Largest script evaluated, in KiB (Windows rejects PAC files over 1 MB).
    #[arg(long, value_name = "KIB", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=65_536))]
    pub max_pac_kib: u64,
}

impl Default for PacLimitArgs {
    fn default() -> Self {
        PacLimitArgs {
            pac_timeout_ms: 1000,
            max_pac_kib: 1024,
        }
    }
}

impl PacLimitArgs {
    /// The limits as the evaluator takes them (the other bounds keep their defaults).
    pub fn limits(&self) -> crate::pac::PacLimits {
        crate::pac::PacLimits {
            max_script_bytes: usize::try_from(self.max_pac_kib.saturating_mul(1024))
                .unwrap_or(usize::MAX),
            time: std::time::Duration::from_millis(self.pac_timeout_ms),
            ..crate::pac::PacLimits::default()
        }
    }
}
