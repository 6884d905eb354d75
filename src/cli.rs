//! Every command-line flag, defined once (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Offline triage of Defender for Identity (Azure ATP) sensor proxy uploads.
#[derive(Debug, Parser)]
#[command(name = "proxy-triage", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// No progress bar, no diagnostics on stderr (results still go to stdout).
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Colour in table output (also disabled by the NO_COLOR environment variable).
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Worker threads (default: one per core).
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
    /// Re-run the documented 503 reachability probe from this machine.
    Probe(ProbeArgs),
    /// Write the remediation files (fix.reg, backup.cmd, restore.cmd, README.txt) for a case.
    Fix(FixArgs),
    /// Evaluate a PAC script (proxy.pac, wpad.dat) for one URL, offline, as the sensor would.
    Pac(PacArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Jsonl,
    Markdown,
    Csv,
}

/// Size and depth limits applied to everything read from customer data.
#[derive(Debug, Clone, Args)]
pub struct LimitArgs {
    /// Largest file read from disk or stdin, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 2048)]
    pub max_file_mib: u64,
    /// Largest archive entry inflated in memory, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 64)]
    pub max_entry_mib: u64,
    /// Deepest nesting of zip archives inside zip archives.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub max_zip_depth: u32,
    /// Follow symbolic links (with loop detection and the same caps).
    #[arg(long)]
    pub follow_links: bool,
}

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Files, folders or .zip archives; each is a case (a loose file is its own case). `-` reads stdin.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Treat each entry directly under DIR as a case of its own.
    #[arg(long, value_name = "DIR")]
    pub batch: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Also re-run the 503 probe once per distinct route (network traffic!).
    #[arg(long)]
    pub probe: bool,
    /// Extra trust root (PEM) for the probe.
    #[arg(long, value_name = "PEM")]
    pub ca_cert: Option<PathBuf>,
    /// Probe URL (default: the documented processor endpoint).
    #[arg(long, value_name = "URL")]
    pub probe_url: Option<String>,
    /// Probe timeout in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub timeout: u64,
    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(Debug, Args)]
pub struct ParseArgs {
    /// The artifact (`-` reads stdin).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Output format: json (default) or table.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    pub format: Format,
    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// The blob as hex (spaces, commas, `hex:` prefixes, `\` continuations allowed); `-` reads stdin.
    #[arg(value_name = "HEX", allow_hyphen_values = true)]
    pub hex: String,
    /// The registry value the blob came from (`WinHttpSettings` selects the WinHTTP layout).
    #[arg(long, value_name = "NAME")]
    pub value_name: Option<String>,
    /// Output format (default: table on a terminal, json otherwise).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// The URL to probe.
    #[arg(long, value_name = "URL", default_value = crate::PROCESSOR_ENDPOINT_URL)]
    pub url: String,
    /// Go through this proxy (`http://[user:password@]host:port`).
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,
    /// Extra trust root (PEM), for inspection proxies and tests.
    #[arg(long, value_name = "PEM")]
    pub ca_cert: Option<PathBuf>,
    /// Timeout in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub timeout: u64,
    /// Output format (default: table on a terminal, json otherwise).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

#[derive(Debug, Args)]
pub struct FixArgs {
    /// The case's uploads (files, folders, .zip archives).
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
    /// Where to write fix.reg, backup.cmd, restore.cmd and README.txt.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Output format of the summary.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Print what would be written, write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Overwrite existing files in DIR.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(Debug, Args)]
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
    /// Output format (default: table on a terminal, json otherwise).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Time budget per evaluation, script load included, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub pac_timeout_ms: u64,
    /// Largest script evaluated, in KiB (Windows rejects PAC files over 1 MB).
    #[arg(long, value_name = "KIB", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=65_536))]
    pub max_pac_kib: u64,
}
