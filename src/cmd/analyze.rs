//! `analyze PATH...`: uploads → cases → findings → report, in parallel, printed in input order.

use std::collections::BTreeMap;
use std::io::{self, BufWriter, Write};
use std::sync::mpsc;
use std::time::Duration;

use rayon::prelude::*;

use crate::case::model::{AnalysisReport, CaseReport, Severity};
use crate::case::{self, ResolveOptions};
use crate::cli::{AnalyzeArgs, Format, LimitArgs};
use crate::input::{self, CaseRoot, Limits};
use crate::pipeline::{self, PipelineOptions, ProbeOptions};
use crate::report::{self, RenderOptions};

use super::{Context, EXIT_FINDING, EXIT_INPUT, EXIT_USAGE};

/// Caps from the command line.
pub fn limits_from(args: &LimitArgs) -> Limits {
    let mib = 1024 * 1024;
    Limits {
        max_file: args.max_file_mib.saturating_mul(mib),
        max_entry: args.max_entry_mib.saturating_mul(mib),
        max_zip_depth: args.max_zip_depth,
        follow_links: args.follow_links,
        ..Limits::default()
    }
}

/// The endpoint host of `--endpoint HOST` or `--workspace NAME` (`NAME` + `sensorapi.atp.azure.com`).
pub fn endpoint_from(
    endpoint: Option<&str>,
    workspace: Option<&str>,
) -> Result<Option<String>, String> {
    let valid = |h: &str| {
        !h.is_empty()
            && h.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    };
    match (endpoint.map(str::trim), workspace.map(str::trim)) {
        (Some(_), Some(_)) => Err("give --endpoint or --workspace, not both".into()),
        (Some(h), None) => {
            let h = h
                .trim_start_matches("https://")
                .trim_end_matches('/')
                .to_ascii_lowercase();
            if valid(&h) {
                Ok(Some(h))
            } else {
                Err(format!("--endpoint: `{h}` is not a host name"))
            }
        }
        (None, Some(w)) => {
            let w = w.to_ascii_lowercase();
            if valid(&w) && !w.contains('.') {
                Ok(Some(format!("{w}sensorapi.atp.azure.com")))
            } else {
                Err(format!(
                    "--workspace: `{w}` is not a workspace name (give a host with --endpoint)"
                ))
            }
        }
        (None, None) => Ok(None),
    }
}

/// Reads a small file given on the command line, at most `cap` bytes.
fn read_capped(path: &std::path::Path, cap: u64) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    std::fs::File::open(path)?.take(cap).read_to_end(&mut out)?;
    Ok(out)
}

/// What the main thread needs of one analysed case: its rendered text (streaming formats),
/// its report (the JSON document), and the two facts the exit code depends on.
struct CaseOutcome {
    text: Option<String>,
    report: Option<CaseReport>,
    error_finding: bool,
    input_errors: Vec<(String, String)>,
}

pub fn run(ctx: &Context, args: &AnalyzeArgs) -> u8 {
    if args.paths.is_empty() && args.batch.is_none() {
        ctx.warn("analyze: give at least one PATH or --batch DIR (see --help)");
        return EXIT_USAGE;
    }
    let limits = limits_from(&args.limits);
    // Case roots only: each case is expanded (walked, archives inflated) by its worker and
    // dropped once judged, so memory follows the threads, not the number of tickets.
    let (mut roots, missing) = input::case_roots(&args.paths);
    for m in &missing {
        ctx.error(&format!("{}: {}", m.name, m.reason));
    }
    if let Some(dir) = &args.batch {
        match input::batch_entries(dir) {
            Ok(entries) => roots.extend(entries.into_iter().map(CaseRoot::Path)),
            Err(e) => {
                ctx.error(&format!("--batch {}: {e}", input::display_name(dir)));
                return EXIT_INPUT;
            }
        }
    }
    if roots.is_empty() {
        return EXIT_INPUT;
    }
    let endpoint = match endpoint_from(args.endpoint.as_deref(), args.workspace.as_deref()) {
        Ok(e) => e,
        Err(msg) => {
            ctx.error(&msg);
            return EXIT_USAGE;
        }
    };
    let ca_cert = match &args.ca_cert {
        Some(p) => match read_capped(p, 1024 * 1024) {
            Ok(b) => Some(b),
            Err(e) => {
                ctx.warn(&format!("--ca-cert {}: {e}", input::display_name(p)));
                return EXIT_USAGE;
            }
        },
        None => None,
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(ctx.threads.unwrap_or(0))
        .build();
    let pool = match pool {
        Ok(p) => p,
        Err(e) => {
            ctx.warn(&format!("--threads: {e}"));
            return EXIT_USAGE;
        }
    };

    // Progress on a terminal only: a bar over cases, or a spinner while one big case runs.
    let progress = if !ctx.stderr_is_terminal || ctx.quiet {
        None
    } else if roots.len() > 1 {
        let bar = indicatif::ProgressBar::new(roots.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} cases {elapsed}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Some(bar)
    } else {
        let spinner = indicatif::ProgressBar::new_spinner();
        spinner.set_message(format!(
            "analysing {}",
            roots.first().map(input::root_name).unwrap_or_default()
        ));
        spinner.enable_steady_tick(Duration::from_millis(120));
        Some(spinner)
    };

    let probe_url = args.probe_url.clone().or_else(|| {
        endpoint
            .as_deref()
            .map(|h| format!("https://{h}/tri/sensor/api/ping"))
    });
    let options = PipelineOptions {
        analyze: case::AnalyzeOptions { limits },
        resolve: ResolveOptions { endpoint },
        probe: args.probe.then(|| ProbeOptions {
            url: probe_url,
            on_customer_network: args.on_customer_network,
            ca_cert: ca_cert.clone(),
            timeout: Duration::from_secs(args.timeout.max(1)),
        }),
    };
    let analyze_one = |root: &CaseRoot| -> CaseReport { pipeline::analyze_case(root, &options).0 };

    let render = RenderOptions {
        color: ctx.color,
        width: if ctx.stdout_is_terminal {
            None
        } else {
            Some(120)
        },
    };
    let streaming = !matches!(args.format, Format::Json);
    let format = args.format;
    // Each worker analyses and renders its case; the main thread only orders and writes.
    let run_one = |root: &CaseRoot| -> CaseOutcome {
        let report = analyze_one(root);
        let text = match format {
            Format::Json => None,
            Format::Jsonl => Some(
                serde_json::to_string(&report).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
                    + "\n",
            ),
            Format::Markdown => Some(report::markdown::render_case(&report)),
            Format::Csv => Some(report::csv::render_case(&report)),
            Format::Table => Some(report::table::render_case(&report, &render)),
        };
        CaseOutcome {
            error_finding: report.worst() == Some(Severity::Error),
            input_errors: report
                .inputs
                .iter()
                .filter_map(|i| i.error.as_ref().map(|e| (i.file.clone(), e.clone())))
                .collect(),
            text,
            // Only the one JSON document needs every report at the end.
            report: (!streaming).then_some(report),
        }
    };
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut reports: Vec<CaseReport> = Vec::new();
    let mut error_finding = false;
    let mut input_errors: Vec<(String, String)> = Vec::new();
    let (tx, rx) = mpsc::channel::<(usize, Vec<CaseOutcome>)>();
    // Cases go to workers in small runs, so the printing thread is woken once per run rather
    // than per case (thousands of wake-ups dominated batch time); small jobs still stream
    // case by case.
    let threads = pool.current_num_threads().max(1);
    let run_len = (roots.len() / (threads * 16)).clamp(1, 16);
    let mut write_error: Option<io::Error> = None;
    if matches!(args.format, Format::Csv) {
        if let Err(e) = out.write_all(report::csv::HEADER.as_bytes()) {
            write_error = Some(e);
        }
    }
    std::thread::scope(|scope| {
        let inputs_ref = &roots;
        let run_ref = &run_one;
        scope.spawn(move || {
            pool.install(|| {
                inputs_ref
                    .par_chunks(run_len)
                    .enumerate()
                    .for_each_with(tx, |tx, (i, run)| {
                        let _ = tx.send((i, run.iter().map(run_ref).collect()));
                    });
            });
        });
        // Reorder: print case i only once cases 0..i are printed.
        let mut pending: BTreeMap<usize, Vec<CaseOutcome>> = BTreeMap::new();
        let mut next = 0usize;
        for (i, run) in rx {
            if let Some(bar) = &progress {
                bar.inc(run.len() as u64);
            }
            pending.insert(i, run);
            while let Some(run) = pending.remove(&next) {
                for r in run {
                    if let (Some(text), None) = (&r.text, &write_error) {
                        // The bar steps aside while a case is printed, so nothing interleaves.
                        let written = match &progress {
                            Some(bar) => bar.suspend(|| {
                                out.write_all(text.as_bytes()).and_then(|_| out.flush())
                            }),
                            None => out.write_all(text.as_bytes()),
                        };
                        if let Err(e) = written {
                            write_error = Some(e);
                        }
                    }
                    error_finding |= r.error_finding;
                    input_errors.extend(r.input_errors);
                    reports.extend(r.report);
                }
                if let Err(e) = out.flush() {
                    write_error.get_or_insert(e);
                }
                next += 1;
            }
        }
    });
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    if !streaming {
        let all_inputs: Vec<_> = reports
            .iter()
            .flat_map(|r| r.inputs.iter().cloned())
            .collect();
        let doc = AnalysisReport {
            schema_version: crate::SCHEMA_VERSION,
            cases: reports,
            inputs: all_inputs,
        };
        let written = serde_json::to_writer_pretty(&mut out, &doc)
            .map_err(io::Error::other)
            .and_then(|_| out.write_all(b"\n"));
        if let Err(e) = written {
            write_error = Some(e);
        }
    }
    if let Err(e) = out.flush() {
        write_error.get_or_insert(e);
    }
    if let Some(e) = write_error {
        if e.kind() != io::ErrorKind::BrokenPipe {
            ctx.warn(&format!("writing the report: {e}"));
        }
        return EXIT_INPUT;
    }
    for (file, err) in &input_errors {
        ctx.error(&format!("{file}: {err}"));
    }
    if !input_errors.is_empty() || !missing.is_empty() {
        EXIT_INPUT
    } else if error_finding {
        EXIT_FINDING
    } else {
        0
    }
}
