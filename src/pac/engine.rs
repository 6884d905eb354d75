//! One evaluation in a fresh QuickJS runtime: memory, stack and time limits, sloppy mode,
//! the helpers of [`super::functions`], and the mapping of every failure to a [`PacError`].

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use rquickjs::context::EvalOptions;
use rquickjs::{Context, Ctx, Function, Runtime, Value};

use super::functions::{install, HelperState};
use super::limits::WORKER_STACK_BYTES;
use super::{
    parse_result, EntryPoint, PacError, PacErrorKind, PacEvaluation, PacFacts, PacLimits,
    PacRequest, PacRoute,
};

/// The file name QuickJS reports in stack traces (lines are then read back from them).
const SCRIPT_NAME: &str = "pac";

/// What one run inside the worker produced.
struct Outcome {
    entry_point: Option<EntryPoint>,
    result: Result<String, PacError>,
    noticed: Option<Noticed>,
}

/// What the helpers recorded during the run.
struct Noticed {
    depends_on: Vec<super::Dependency>,
    facts_used: Vec<super::FactUsed>,
    alerts: Vec<String>,
}

pub(super) fn evaluate(
    script: &str,
    req: &PacRequest,
    facts: &PacFacts,
    limits: &PacLimits,
) -> PacEvaluation {
    let start = Instant::now();
    let script = script.strip_prefix('\u{feff}').unwrap_or(script);
    let outcome = if script.len() > limits.max_script_bytes {
        Outcome {
            entry_point: None,
            result: Err(PacError {
                kind: PacErrorKind::LimitSize,
                message: format!(
                    "the script is {} bytes, over the {}-byte limit: not run (Windows rejects PAC files over 1 MB)",
                    script.len(),
                    limits.max_script_bytes
                ),
                line: None,
            }),
            noticed: None,
        }
    } else {
        // A budget too large to add is as good as an hour.
        let deadline = start
            .checked_add(limits.time)
            .unwrap_or(start + Duration::from_secs(3600));
        std::thread::scope(|scope| {
            let worker = std::thread::Builder::new()
                .name("pac-eval".into())
                .stack_size(WORKER_STACK_BYTES)
                .spawn_scoped(scope, || run(script, req, facts, limits, deadline));
            match worker.map(|h| h.join()) {
                Ok(Ok(outcome)) => outcome,
                Ok(Err(_)) => internal("the evaluation thread panicked"),
                Err(e) => internal(&format!("cannot start the evaluation thread: {e}")),
            }
        })
    };
    let (depends_on, facts_used, alerts) = outcome
        .noticed
        .map(|s| (s.depends_on, s.facts_used, s.alerts))
        .unwrap_or_default();
    let (result, error, route) = match outcome.result {
        Ok(r) => {
            let route = parse_result(&r);
            (Some(r), None, route)
        }
        Err(e) => {
            let route = PacRoute::failed(&e.message);
            (None, Some(e), route)
        }
    };
    PacEvaluation {
        entry_point: outcome.entry_point,
        result,
        error,
        route,
        depends_on,
        facts_used,
        alerts,
        elapsed: start.elapsed(),
    }
}

fn internal(message: &str) -> Outcome {
    Outcome {
        entry_point: None,
        result: Err(PacError {
            kind: PacErrorKind::Exception,
            message: message.to_string(),
            line: None,
        }),
        noticed: None,
    }
}

/// Runs on the worker thread: everything QuickJS is created, used and dropped here.
fn run(
    script: &str,
    req: &PacRequest,
    facts: &PacFacts,
    limits: &PacLimits,
    deadline: Instant,
) -> Outcome {
    let rt = match Runtime::new() {
        Ok(rt) => rt,
        Err(e) => return internal(&format!("cannot create the JavaScript runtime: {e}")),
    };
    rt.set_memory_limit(limits.memory_bytes);
    rt.set_max_stack_size(limits.stack_bytes);
    let interrupted = Rc::new(Cell::new(false));
    let flag = Rc::clone(&interrupted);
    rt.set_interrupt_handler(Some(Box::new(move || {
        let stop = Instant::now() >= deadline;
        if stop {
            flag.set(true);
        }
        stop
    })));
    let ctx = match Context::full(&rt) {
        Ok(c) => c,
        Err(e) => return internal(&format!("cannot create the JavaScript context: {e}")),
    };
    let state = Rc::new(RefCell::new(HelperState::new(facts.clone(), deadline)));
    let failure = Failure {
        interrupted: &interrupted,
        limits,
        rt: &rt,
    };
    let (entry_point, result) = ctx.with(|ctx| {
        if let Err(e) = install(&ctx, &state) {
            return (None, Err(failure.classify(&ctx, e, Stage::Load)));
        }
        let mut opts = EvalOptions::default();
        opts.strict = false;
        opts.global = true;
        opts.filename = Some(SCRIPT_NAME.into());
        if let Err(e) = ctx.eval_with_options::<(), _>(script, opts) {
            return (None, Err(failure.classify(&ctx, e, Stage::Load)));
        }
        let globals = ctx.globals();
        let pick = |ep: EntryPoint| -> Option<Function> {
            globals
                .get::<_, Value>(ep.name())
                .ok()
                .and_then(|v| v.into_function())
        };
        let Some((ep, f)) = [EntryPoint::FindProxyForURLEx, EntryPoint::FindProxyForURL]
            .into_iter()
            .find_map(|ep| pick(ep).map(|f| (ep, f)))
        else {
            return (
                None,
                Err(PacError {
                    kind: PacErrorKind::NoEntryPoint,
                    message: "the script defines no function FindProxyForURLEx or FindProxyForURL"
                        .into(),
                    line: None,
                }),
            );
        };
        let returned = f.call::<_, Value>((req.url.as_str(), req.host.as_str()));
        let result = match returned {
            Err(e) => Err(failure.classify(&ctx, e, Stage::Call(ep))),
            Ok(v) => read_result(&v, ep, limits),
        };
        (Some(ep), result)
    });
    // The helpers still hold the state until the runtime is dropped: take what they noticed.
    let noticed = state.try_borrow_mut().ok().map(|mut s| Noticed {
        depends_on: std::mem::take(&mut s.depends_on),
        facts_used: std::mem::take(&mut s.facts_used),
        alerts: std::mem::take(&mut s.alerts),
    });
    Outcome {
        entry_point,
        result,
        noticed,
    }
}

/// The returned value as a string, or a `bad-return` error.
fn read_result(v: &Value<'_>, ep: EntryPoint, limits: &PacLimits) -> Result<String, PacError> {
    let bad = |message: String| PacError {
        kind: PacErrorKind::BadReturn,
        message,
        line: None,
    };
    let Some(s) = v.as_string() else {
        return Err(bad(format!(
            "{} returned {} instead of a string",
            ep.name(),
            type_name(v)
        )));
    };
    match s.to_string() {
        Ok(s) if s.len() <= limits.max_result_bytes => Ok(s),
        Ok(s) => Err(bad(format!(
            "{} returned a string of {} bytes, over the {}-byte limit",
            ep.name(),
            s.len(),
            limits.max_result_bytes
        ))),
        Err(e) => Err(bad(format!(
            "{} returned an unreadable string: {e}",
            ep.name()
        ))),
    }
}

fn type_name(v: &Value<'_>) -> &'static str {
    if v.is_undefined() {
        "undefined"
    } else if v.is_null() {
        "null"
    } else if v.is_bool() {
        "a boolean"
    } else if v.is_number() {
        "a number"
    } else if v.is_function() {
        "a function"
    } else if v.is_array() {
        "an array"
    } else {
        "an object"
    }
}

#[derive(Debug, Clone, Copy)]
enum Stage {
    Load,
    Call(EntryPoint),
}

/// Turns an engine error into the contract's error kinds.
struct Failure<'a> {
    interrupted: &'a Cell<bool>,
    limits: &'a PacLimits,
    rt: &'a Runtime,
}

impl Failure<'_> {
    fn classify(&self, ctx: &Ctx<'_>, err: rquickjs::Error, stage: Stage) -> PacError {
        let exc = match err {
            rquickjs::Error::Exception => ctx.catch(),
            rquickjs::Error::Allocation => return self.memory("allocation failed".into()),
            other => {
                return PacError {
                    kind: PacErrorKind::Exception,
                    message: other.to_string(),
                    line: None,
                }
            }
        };
        if self.interrupted.get() {
            return PacError {
                kind: PacErrorKind::LimitTime,
                message: format!(
                    "stopped after {} (time limit{}): an endless loop or a runaway regular expression",
                    ms(self.limits.time),
                    if matches!(stage, Stage::Load) { ", while loading the script" } else { "" }
                ),
                line: None,
            };
        }
        let (name, message, stack) = describe(&exc);
        let line = stack.as_deref().and_then(line_from_stack);
        let lower = message.to_ascii_lowercase();
        let kind = if exc.is_null() || exc.is_undefined() {
            // QuickJS throws null when an allocation fails under the memory limit.
            let used = usize::try_from(self.rt.memory_usage().malloc_size).unwrap_or(0);
            if used.saturating_mul(2) >= self.limits.memory_bytes {
                return self.memory("out of memory".into());
            }
            PacErrorKind::Exception
        } else if lower.contains("out of memory")
            || lower.contains("invalid string length")
            || lower.contains("string too long")
            || lower.contains("invalid array length")
        {
            return self.memory(message);
        } else if lower.contains("maximum call stack size exceeded")
            || lower.contains("stack overflow")
        {
            PacErrorKind::LimitStack
        } else if name.as_deref() == Some("SyntaxError") && matches!(stage, Stage::Load) {
            PacErrorKind::Syntax
        } else {
            PacErrorKind::Exception
        };
        let shown = match (&name, kind) {
            (_, PacErrorKind::LimitStack) => format!(
                "{message} (stack limit {} KiB): runaway recursion",
                self.limits.stack_bytes / 1024
            ),
            (Some(n), _) if !message.is_empty() => format!("{n}: {message}"),
            (Some(n), _) => n.clone(),
            (None, _) => message,
        };
        let where_ = match stage {
            Stage::Load => "while loading the script",
            Stage::Call(EntryPoint::FindProxyForURL) => "in FindProxyForURL",
            Stage::Call(EntryPoint::FindProxyForURLEx) => "in FindProxyForURLEx",
        };
        PacError {
            kind,
            message: format!("{shown} ({where_})"),
            line,
        }
    }

    fn memory(&self, what: String) -> PacError {
        PacError {
            kind: PacErrorKind::LimitMemory,
            message: format!(
                "{what} (memory limit {} MiB): an allocation bomb",
                self.limits.memory_bytes / (1024 * 1024)
            ),
            line: None,
        }
    }
}

fn ms(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}

/// Name, message and stack of a thrown value (an Error object or anything else).
fn describe(exc: &Value<'_>) -> (Option<String>, String, Option<String>) {
    if let Some(e) = exc.as_exception() {
        let name = e.get::<_, Option<String>>("name").ok().flatten();
        let message = e.message().unwrap_or_default();
        return (name, cap(message), e.stack());
    }
    if let Some(o) = exc.as_object() {
        let name = o.get::<_, Option<String>>("name").ok().flatten();
        let message = o
            .get::<_, Option<String>>("message")
            .ok()
            .flatten()
            .unwrap_or_else(|| "an object was thrown".into());
        return (name, cap(message), None);
    }
    if let Some(s) = exc.as_string().and_then(|s| s.to_string().ok()) {
        return (None, cap(format!("uncaught exception: {s}")), None);
    }
    if let Some(n) = exc.as_number() {
        return (None, format!("uncaught exception: {n}"), None);
    }
    (
        None,
        format!("uncaught exception: {}", type_name(exc)),
        None,
    )
}

/// Thrown messages are customer text: keep them short.
fn cap(s: String) -> String {
    const MAX: usize = 500;
    if s.len() <= MAX {
        return s;
    }
    let mut out: String = s.chars().take(MAX).collect();
    out.push('…');
    out
}

/// The first `pac:LINE` position in a QuickJS stack trace (`at f (pac:7:12)`, `at pac:3:1`).
fn line_from_stack(stack: &str) -> Option<u32> {
    let marker = format!("{SCRIPT_NAME}:");
    stack.lines().find_map(|l| {
        let i = l.find(&marker)?;
        let before = l.get(..i)?;
        if !(before.ends_with('(') || before.ends_with(' ')) {
            return None;
        }
        let digits: String = l
            .get(i + marker.len()..)?
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok().filter(|n| *n > 0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_lines() {
        assert_eq!(
            line_from_stack("    at f (pac:7:12)\n    at <eval> (pac:9:1)\n"),
            Some(7)
        );
        assert_eq!(line_from_stack("    at pac:3:1\n"), Some(3));
        assert_eq!(line_from_stack("    at native\n"), None);
        assert_eq!(line_from_stack("    at xpac:3:1\n"), None);
    }
}
