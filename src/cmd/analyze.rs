//! `analyze PATH...`: uploads → cases → findings → report, in parallel, printed in input order.

use std::collections::BTreeMap;
use std::io::{self, BufWriter, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::case::model::{CaseReport, InputRecord, Severity, Verdict};
use crate::case::{self, ResolveOptions};
use crate::cli::{AnalyzeArgs, LimitArgs, ReportFormat};
use crate::input::{self, CaseRoot, Limits};
use crate::pipeline::{self, PipelineOptions, ProbeOptions};
use crate::report::{self, Render, RenderOptions, Totals};

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

/// Caps on binary hives from the command line (`--max-hive-mib`).
pub fn hive_limits_from(args: &LimitArgs) -> crate::formats::reg_hive::HiveLimits {
    crate::formats::reg_hive::HiveLimits {
        max_hive_bytes: args.max_hive_mib.saturating_mul(1024 * 1024),
        ..crate::formats::reg_hive::HiveLimits::default()
    }
}

/// Reads a small file given on the command line, at most `cap` bytes.
fn read_capped(path: &std::path::Path, cap: u64) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    std::fs::File::open(path)?.take(cap).read_to_end(&mut out)?;
    Ok(out)
}

/// What the main thread needs of one analysed case: its rendered text, its inputs (the JSON
/// document lists them at the end), its verdict (totals) and what the exit code depends on.
struct CaseOutcome {
    verdict: Verdict,
    /// The rendered case, or None when `--only` drops it.
    text: Option<String>,
    /// The case's inputs, for the end of the JSON document.
    inputs: Vec<InputRecord>,
    error_finding: bool,
    input_errors: Vec<(String, String)>,
}

/// The report's write buffer: a run of cases (about 6 KB each in JSON Lines) goes out in a
/// few writes instead of one per 8 KiB.
const REPORT_BUFFER: usize = 64 * 1024;

/// The report as it is printed: cases in input order, whichever worker finishes them.
struct Printer<'a> {
    out: Box<dyn Write + Send>,
    renderer: &'a dyn Render,
    progress: Option<&'a indicatif::ProgressBar>,
    /// The index of the run of cases to print next.
    next: usize,
    /// Runs finished before the ones ahead of them.
    pending: BTreeMap<usize, Vec<CaseOutcome>>,
    totals: Totals,
    error_finding: bool,
    printed: usize,
    all_inputs: Vec<InputRecord>,
    input_errors: Vec<(String, String)>,
    /// The first write that failed; nothing more is written after it.
    write_error: Option<io::Error>,
}

impl Printer<'_> {
    /// Takes run `i` and prints every run that is now next in order.
    fn deliver(&mut self, i: usize, run: Vec<CaseOutcome>) {
        self.pending.insert(i, run);
        while let Some(run) = self.pending.remove(&self.next) {
            for r in run {
                self.print(r);
            }
            self.next += 1;
        }
        // Without a bar a run is flushed whole (one write per run); with one, each case is.
        if self.write_error.is_none() && self.progress.is_none() {
            if let Err(e) = self.out.flush() {
                self.write_error = Some(e);
            }
        }
        if let Some(bar) = self.progress {
            bar.set_position(self.totals.cases() as u64);
            bar.set_message(format!(
                "{} misconfigured, {} inconclusive, {} healthy",
                self.totals.misconfigured, self.totals.inconclusive, self.totals.healthy
            ));
        }
    }

    fn print(&mut self, r: CaseOutcome) {
        self.totals.add(r.verdict, r.input_errors.len());
        if let (Some(text), None) = (&r.text, &self.write_error) {
            let sep = if self.printed > 0 {
                self.renderer.separator()
            } else {
                ""
            };
            self.printed += 1;
            let out = &mut self.out;
            let flush_now = self.progress.is_some();
            let mut write = || {
                out.write_all(sep.as_bytes())
                    .and_then(|_| out.write_all(text.as_bytes()))
                    .and_then(|_| if flush_now { out.flush() } else { Ok(()) })
            };
            // The bar steps aside while a case is printed, so nothing interleaves.
            let written = match self.progress {
                Some(bar) => bar.suspend(write),
                None => write(),
            };
            if let Err(e) = written {
                self.write_error = Some(e);
            }
        }
        self.error_finding |= r.error_finding;
        self.input_errors.extend(r.input_errors);
        self.all_inputs.extend(r.inputs);
    }
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
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(ctx.threads.unwrap_or(0))
        .build();
    if let Ok(pool) = &pool {
        // Several cases: the shared automata are built on the workers while this thread
        // lists the batch, and the cases queue behind the build. One case (loose files of
        // one command line included) builds only what it uses, when it uses it.
        if args.batch.is_some() || roots.len() > 1 {
            pool.spawn(crate::pipeline::warm_up);
        }
    }
    if let Some(dir) = &args.batch {
        match input::batch_entries(dir) {
            Ok(entries) => roots.extend(entries),
            Err(e) => {
                ctx.error(&format!("--batch {}: {e}", input::display_name(dir)));
                return EXIT_INPUT;
            }
        }
    }
    if roots.is_empty() {
        return EXIT_INPUT;
    }
    let endpoint = args.endpoint.host();
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
    let pac_limits = args.pac_limits.limits();
    let pac_script = match &args.pac {
        Some(path) => match crate::pac::read_script_file(path, &pac_limits) {
            Ok(s) => Some(s),
            Err(e) => {
                ctx.error(&format!("--pac {e}"));
                return EXIT_INPUT;
            }
        },
        None => None,
    };
    let pool = match pool {
        Ok(p) => p,
        Err(e) => {
            ctx.warn(&format!("--threads: {e}"));
            return EXIT_USAGE;
        }
    };

    let probe_url = args.probe_url.clone().or_else(|| {
        endpoint
            .as_deref()
            .map(|h| format!("https://{h}/tri/sensor/api/ping"))
    });
    let options = PipelineOptions {
        analyze: case::AnalyzeOptions {
            limits,
            hive: hive_limits_from(&args.limits),
        },
        resolve: ResolveOptions {
            endpoint,
            pac: case::PacOptions {
                script: pac_script,
                facts: args.pac_facts.facts(),
                limits: pac_limits,
            },
        },
        probe: args.probe.then(|| ProbeOptions {
            url: probe_url,
            on_customer_network: args.on_customer_network,
            ca_cert: ca_cert.clone(),
            timeout: Duration::from_secs(args.timeout.max(1)),
        }),
    };
    let analyze_one = |root: &CaseRoot| -> CaseReport { pipeline::analyze_case(root, &options).0 };

    // The report goes to stdout or to `-o FILE`; widths and colours follow where it goes.
    let (mut out, to_terminal): (Box<dyn Write + Send>, bool) = match &args.output {
        Some(path) => match std::fs::File::create(path) {
            Ok(f) => (Box::new(BufWriter::with_capacity(REPORT_BUFFER, f)), false),
            Err(e) => {
                ctx.error(&format!("-o {}: {e}", input::display_name(path)));
                return EXIT_INPUT;
            }
        },
        None => (
            Box::new(BufWriter::with_capacity(REPORT_BUFFER, io::stdout())),
            ctx.stdout_is_terminal,
        ),
    };
    let render = RenderOptions {
        color: ctx.color && args.output.is_none(),
        width: Some(report_width(to_terminal)),
    };
    let renderer = report::renderer(args.format, render);
    let renderer = renderer.as_ref();
    let only = args.only;
    let keeps_inputs = matches!(args.format, ReportFormat::Json);
    // Each worker analyses and renders its case; the main thread only orders and writes.
    let run_one = |root: &CaseRoot| -> CaseOutcome {
        let report = analyze_one(root);
        let kept = only.is_none_or(|o| o.keeps(report.verdict));
        CaseOutcome {
            verdict: report.verdict,
            error_finding: report.worst() == Some(Severity::Error),
            input_errors: report
                .inputs
                .iter()
                .filter_map(|i| i.error.as_ref().map(|e| (i.file.clone(), e.clone())))
                .collect(),
            text: kept.then(|| renderer.case(&report)),
            inputs: if kept && keeps_inputs {
                report.inputs
            } else {
                Vec::new()
            },
        }
    };

    // Progress only when both stderr and the report are on a terminal, so nothing is left
    // behind in a pipe: a bar over cases with rate and counts, or a spinner for one case.
    let progress = if !ctx.stderr_is_terminal || !to_terminal || ctx.quiet {
        None
    } else if roots.len() > 1 {
        let bar = indicatif::ProgressBar::new(roots.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:30} {pos}/{len} cases {per_sec} {elapsed}/{eta} {msg}",
            )
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

    let started = Instant::now();
    // Cases go to workers in small runs; the worker that finishes the run next in input order
    // prints it (and any later runs already waiting), so no printing thread competes with the
    // workers for the cores, and finished text does not pile up waiting for one.
    let threads = pool.current_num_threads().max(1);
    let run_len = (roots.len() / (threads * 16)).clamp(1, 16);
    let begin_error = out.write_all(renderer.begin().as_bytes()).err();
    let printer = std::sync::Mutex::new(Printer {
        out,
        renderer,
        progress: progress.as_ref(),
        next: 0,
        pending: BTreeMap::new(),
        totals: Totals::default(),
        error_finding: false,
        printed: 0,
        all_inputs: Vec::new(),
        input_errors: Vec::new(),
        write_error: begin_error,
    });
    // Each worker takes the next run in input order, so the runs waiting for an earlier one
    // are at most one per worker (split in halves, the second half of the batch would wait
    // in memory for the whole first half).
    let ticket = AtomicUsize::new(0);
    pool.broadcast(|_| loop {
        let i = ticket.fetch_add(1, Ordering::Relaxed);
        let start = i.saturating_mul(run_len);
        let Some(run) = roots.get(start..start.saturating_add(run_len).min(roots.len())) else {
            break;
        };
        if run.is_empty() {
            break;
        }
        let outcomes = run.iter().map(&run_one).collect();
        // A worker that panicked while printing leaves the state as it was: go on.
        let mut p = printer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        p.deliver(i, outcomes);
    });
    let Printer {
        mut out,
        totals,
        error_finding,
        all_inputs,
        input_errors,
        mut write_error,
        ..
    } = printer
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    if write_error.is_none() {
        write_error = out.write_all(renderer.end(&all_inputs).as_bytes()).err();
    }
    if let Err(e) = out.flush() {
        write_error.get_or_insert(e);
    }
    drop(out);
    if let Some(e) = write_error {
        if e.kind() == io::ErrorKind::BrokenPipe {
            return 0;
        }
        ctx.error(&format!("writing the report: {e}"));
        return EXIT_INPUT;
    }
    for (file, err) in &input_errors {
        ctx.error(&format!("{file}: {err}"));
    }
    if totals.cases() > 1 && !ctx.quiet {
        eprintln!(
            "proxy-triage: {} ({:.1} s)",
            totals.line(),
            started.elapsed().as_secs_f64()
        );
    }
    if !input_errors.is_empty() || !missing.is_empty() {
        EXIT_INPUT
    } else if error_finding {
        EXIT_FINDING
    } else {
        0
    }
}

/// The width tables are laid out for: the terminal's when the report goes to one, else
/// `COLUMNS`, else 100.
fn report_width(to_terminal: bool) -> u16 {
    let terminal = if to_terminal {
        comfy_table::Table::new().width()
    } else {
        None
    };
    terminal
        .or_else(|| {
            std::env::var("COLUMNS")
                .ok()
                .and_then(|c| c.trim().parse::<u16>().ok())
                .filter(|w| *w > 0)
        })
        .unwrap_or(report::table::DEFAULT_WIDTH)
}
