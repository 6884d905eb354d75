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
}

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
pub struct AnalyzeArgs {
    /// Files, folders or .zip archives. Each folder or archive is a case; all loose files together
    /// are one case. `-` reads stdin.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Treat each entry directly under DIR as a case of its own.
    #[arg(long, value_name = "DIR")]
    pub batch: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Also probe the endpoint from this machine (network traffic!). Without
    /// --on-customer-network only the direct route is probed and the result never changes a verdict.
    #[arg(long)]
    pub probe: bool,
    /// With --probe: this machine sits on the customer's network, so probe each distinct route of
    /// the case and count the results as the customer's evidence.
    #[arg(long, requires = "probe")]
    pub on_customer_network: bool,
    /// The sensor endpoint host to judge (and probe), e.g. contoso-corpsensorapi.atp.azure.com.
    #[arg(long, value_name = "HOST", conflicts_with = "workspace")]
    pub endpoint: Option<String>,
    /// The workspace name: the endpoint is NAME + sensorapi.atp.azure.com.
    #[arg(long, value_name = "NAME")]
    pub workspace: Option<String>,
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
    #[arg(long, value_enum, default_value_t = FixFormat::Table)]
    pub format: FixFormat,
    /// Print every file's content instead of writing it.
    #[arg(long)]
    pub dry_run: bool,
    /// When uploads disagree about the current user's value: the upload to copy (a path as
    /// given, `archive.zip!entry` inside an archive).
    #[arg(long = "use", value_name = "FILE")]
    pub use_file: Option<PathBuf>,
    /// The sensor endpoint host the README's check browses to (default: from the uploads).
    #[arg(long, value_name = "HOST", conflicts_with = "workspace")]
    pub endpoint: Option<String>,
    /// The workspace name: the endpoint is NAME + `sensorapi.atp.azure.com`.
    #[arg(long, value_name = "NAME")]
    pub workspace: Option<String>,
    /// Overwrite existing files in DIR.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub limits: LimitArgs,
}
