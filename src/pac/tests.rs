//! Evaluations of whole scripts: entry points, errors, limits, facts.

use std::time::{Duration, Instant};

use super::*;

const ENDPOINT: &str = "contososensorapi.atp.azure.com";

fn req(url: &str) -> PacRequest {
    PacRequest::for_url(url)
}

fn eval(script: &str) -> PacEvaluation {
    evaluate(
        script,
        &req(&format!("https://{ENDPOINT}/tri/sensor/api/ping")),
        &PacFacts::default(),
        &PacLimits::default(),
    )
}

fn kind(e: &PacEvaluation) -> Option<PacErrorKind> {
    e.error.as_ref().map(|e| e.kind)
}

#[test]
fn explore() {
    for s in [
        "function FindProxyForURL(u, h) { return 'PROXY p:8080; DIRECT'; }",
        "function FindProxyForURL(u, h) {\n  var x = ;\n}",
        "function FindProxyForURL(u, h) {\n  return foo.bar;\n}",
        "function FindProxyForURL(u, h) {\n\n  throw new Error('boom');\n}",
        "function FindProxyForURL(u, h) { throw 'x'; }",
        "function FindProxyForURL(u, h) { return 42; }",
        "x = 1;",
        "function FindProxyForURL(u, h) { while(true){} }",
        "function FindProxyForURL(u, h) { var a=[]; while(true){a.push('xxxxxxxxxxxxxxxxxx'+a.length)} }",
        "function FindProxyForURL(u, h) { return 'x'.repeat(1<<30); }",
        "function FindProxyForURL(u, h) { var s='x'; while(true){s=s+s} }",
        "function r(n){return r(n+1)+1} function FindProxyForURL(u, h) { return r(0); }",
        "function FindProxyForURL(u, h) { return /^(a+)+$/.test('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!') ? 'A' : 'B'; }",
        "function FindProxyForURL(u, h) { return 'x'.repeat(100000); }",
    ] {
        let t = Instant::now();
        let e = eval(s);
        eprintln!("{:?} {:?} {:?} {:?}\n  -> {}", t.elapsed(), e.entry_point, e.result.as_deref().map(|r| r.len()), e.error, e.route.summary());
    }
}
