//! Whole-script evaluations: entry points, error kinds, every limit with a hostile script,
//! and the facts the answer depends on.

use std::time::{Duration, Instant};

use super::*;

const PING: &str = "https://contososensorapi.atp.azure.com/tri/sensor/api/ping";

fn eval_with(script: &str, url: &str, facts: &PacFacts) -> PacEvaluation {
    evaluate(
        script,
        &PacRequest::for_url(url),
        facts,
        &PacLimits::default(),
    )
}

fn eval(script: &str) -> PacEvaluation {
    eval_with(script, PING, &PacFacts::default())
}

fn kind(e: &PacEvaluation) -> Option<PacErrorKind> {
    e.error.as_ref().map(|e| e.kind)
}

fn line(e: &PacEvaluation) -> Option<u32> {
    e.error.as_ref().and_then(|e| e.line)
}

/// Evaluates a hostile script with the default limits and checks it ends in time.
fn hostile(script: &str) -> PacEvaluation {
    let t = Instant::now();
    let e = eval(script);
    assert!(
        t.elapsed() < Duration::from_millis(2500),
        "took {:?}: {script}",
        t.elapsed()
    );
    assert_eq!(e.route.kind, PacRouteKind::PacFailed, "{script}");
    assert_eq!(e.route.fallback, Some(Fallback::Direct));
    assert_eq!(e.result, None);
    e
}

#[test]
fn plain_script_returns_and_routes() {
    let e = eval("function FindProxyForURL(url, host) { return 'PROXY p.corp:8080; DIRECT'; }");
    assert_eq!(e.entry_point, Some(EntryPoint::FindProxyForURL));
    assert_eq!(e.result.as_deref(), Some("PROXY p.corp:8080; DIRECT"));
    assert_eq!(e.error, None);
    assert_eq!(e.route.kind, PacRouteKind::Proxy);
    assert_eq!(e.route.host.as_deref(), Some("p.corp"));
    assert_eq!(e.route.port, Some(8080));
    assert_eq!(e.route.then, vec!["DIRECT".to_string()]);
    assert!(e.depends_on.is_empty());
    assert!(e.returned());
}

#[test]
fn url_and_host_are_passed_as_given() {
    let e = eval("function FindProxyForURL(url, host) { return 'PROXY ' + host + ':1 ' + url; }");
    assert_eq!(
        e.result.as_deref(),
        Some("PROXY contososensorapi.atp.azure.com:1 https://contososensorapi.atp.azure.com/tri/sensor/api/ping")
    );
    let r = PacRequest {
        url: "https://x/".into(),
        host: "Other".into(),
    };
    let e = evaluate(
        "function FindProxyForURL(u, h) { return 'PROXY ' + h; }",
        &r,
        &PacFacts::default(),
        &PacLimits::default(),
    );
    assert_eq!(e.result.as_deref(), Some("PROXY Other"));
}

#[test]
fn ex_entry_point_is_preferred() {
    let s = "function FindProxyForURL(u, h) { return 'PROXY old:80'; }\n\
             function FindProxyForURLEx(u, h) { return 'PROXY ex:81'; }";
    let e = eval(s);
    assert_eq!(e.entry_point, Some(EntryPoint::FindProxyForURLEx));
    assert_eq!(e.route.host.as_deref(), Some("ex"));
    let e = eval("var FindProxyForURLEx = function(u, h) { return 'DIRECT'; };");
    assert_eq!(e.entry_point, Some(EntryPoint::FindProxyForURLEx));
    assert_eq!(e.route.kind, PacRouteKind::Direct);
}

#[test]
fn sloppy_mode_bom_crlf_and_trailing_comment() {
    let s = "\u{feff}// wpad\r\nfunction FindProxyForURL(url, host) {\r\n  p = 'PROXY p:3128';\r\n  return p;\r\n}\r\n// ends with a comment";
    let e = eval(s);
    assert_eq!(e.result.as_deref(), Some("PROXY p:3128"), "{:?}", e.error);
}

#[test]
fn syntax_error_has_its_line() {
    let e = eval("function FindProxyForURL(u, h) {\n  var x = ;\n  return 'DIRECT';\n}");
    assert_eq!(kind(&e), Some(PacErrorKind::Syntax));
    assert_eq!(line(&e), Some(2));
    assert_eq!(e.entry_point, None);
    let e = eval("function FindProxyForURL(u, h) {\n  return 'DIRECT';\n");
    assert_eq!(kind(&e), Some(PacErrorKind::Syntax));
}

#[test]
fn exceptions_have_their_line() {
    let e = eval("function FindProxyForURL(u, h) {\n\n  return undefinedThing.x;\n}");
    assert_eq!(kind(&e), Some(PacErrorKind::Exception));
    assert_eq!(line(&e), Some(3));
    assert!(e
        .error
        .as_ref()
        .is_some_and(|x| x.message.contains("ReferenceError")));
    assert_eq!(e.entry_point, Some(EntryPoint::FindProxyForURL));
    let e = eval("function FindProxyForURL(u, h) { throw 'no'; }");
    assert_eq!(kind(&e), Some(PacErrorKind::Exception));
    assert!(e.error.as_ref().is_some_and(|x| x.message.contains("no")));
    let e = eval("var a = 1;\nnull.x;\nfunction FindProxyForURL(u, h) { return 'DIRECT'; }");
    assert_eq!(kind(&e), Some(PacErrorKind::Exception));
    assert_eq!(line(&e), Some(2));
}

#[test]
fn missing_entry_point_and_bad_returns() {
    assert_eq!(kind(&eval("var x = 1;")), Some(PacErrorKind::NoEntryPoint));
    assert_eq!(
        kind(&eval("var FindProxyForURL = 'DIRECT';")),
        Some(PacErrorKind::NoEntryPoint)
    );
    for body in [
        "return 42;",
        "return null;",
        "",
        "return {};",
        "return ['DIRECT'];",
    ] {
        let e = eval(&format!("function FindProxyForURL(u, h) {{ {body} }}"));
        assert_eq!(kind(&e), Some(PacErrorKind::BadReturn), "{body}");
        assert_eq!(e.route.kind, PacRouteKind::PacFailed);
    }
}

#[test]
fn empty_string_goes_direct() {
    let e = eval("function FindProxyForURL(u, h) { return ''; }");
    assert_eq!(e.result.as_deref(), Some(""));
    assert_eq!(e.route.kind, PacRouteKind::Direct);
}

#[test]
fn limit_time_endless_loop_in_the_call_and_catch_cannot_stop_it() {
    let e = hostile("function FindProxyForURL(u, h) { while (true) {} }");
    assert_eq!(kind(&e), Some(PacErrorKind::LimitTime));
    let e = hostile(
        "function FindProxyForURL(u, h) { for (;;) { try { while (true) {} } catch (e) {} } }",
    );
    assert_eq!(kind(&e), Some(PacErrorKind::LimitTime));
}

#[test]
fn limit_time_at_load() {
    let e = hostile("while (1) {}\nfunction FindProxyForURL(u, h) { return 'DIRECT'; }");
    assert_eq!(kind(&e), Some(PacErrorKind::LimitTime));
    assert_eq!(e.entry_point, None);
}

#[test]
fn limit_time_catastrophic_regex() {
    let e = hostile(
        "function FindProxyForURL(u, h) { return /^(a+)+$/.test(Array(60).join('a') + '!') ? 'A' : 'B'; }",
    );
    assert_eq!(kind(&e), Some(PacErrorKind::LimitTime));
}

#[test]
fn limit_time_short_budget_is_honoured() {
    let limits = PacLimits {
        time: Duration::from_millis(100),
        ..PacLimits::default()
    };
    let t = Instant::now();
    let e = evaluate(
        "function FindProxyForURL(u, h) { while (true) { shExpMatch(u, '*x*'); } }",
        &PacRequest::for_url(PING),
        &PacFacts::default(),
        &limits,
    );
    assert_eq!(kind(&e), Some(PacErrorKind::LimitTime));
    assert!(
        t.elapsed() < Duration::from_millis(800),
        "{:?}",
        t.elapsed()
    );
}

#[test]
fn limit_memory_allocation_bombs() {
    let e = hostile(
        "function FindProxyForURL(u, h) { var a = []; while (true) { a.push(new Array(1 << 16).fill(7)); } }",
    );
    assert_eq!(kind(&e), Some(PacErrorKind::LimitMemory), "{:?}", e.error);
    let e = hostile("function FindProxyForURL(u, h) { var s = 'x'; while (true) { s = s + s; } }");
    assert_eq!(kind(&e), Some(PacErrorKind::LimitMemory), "{:?}", e.error);
    let e = hostile("function FindProxyForURL(u, h) { return 'x'.repeat(1 << 30); }");
    assert_eq!(kind(&e), Some(PacErrorKind::LimitMemory), "{:?}", e.error);
    let e = hostile(
        "var b = new ArrayBuffer(1 << 30);\nfunction FindProxyForURL(u, h) { return 'DIRECT'; }",
    );
    assert_eq!(kind(&e), Some(PacErrorKind::LimitMemory), "{:?}", e.error);
}

#[test]
fn limit_stack_deep_recursion() {
    let e = hostile(
        "function r(n) { return r(n + 1) + 1; }\nfunction FindProxyForURL(u, h) { return r(0); }",
    );
    assert_eq!(kind(&e), Some(PacErrorKind::LimitStack));
    assert_eq!(line(&e), Some(1));
    // The RangeError is catchable: a script that recovers still answers.
    let e = eval(
        "function r(n) { return r(n + 1); }\nfunction FindProxyForURL(u, h) { try { r(0); } catch (e) {} return 'DIRECT'; }",
    );
    assert_eq!(e.result.as_deref(), Some("DIRECT"));
}

#[test]
fn limit_result_length() {
    let e = hostile("function FindProxyForURL(u, h) { return 'PROXY a:1;'.repeat(100000); }");
    assert_eq!(kind(&e), Some(PacErrorKind::BadReturn));
}

#[test]
fn limit_script_size() {
    let big = format!(
        "var pad = '{}';\nfunction FindProxyForURL(u, h) {{ return 'DIRECT'; }}",
        "x".repeat(2 * 1024 * 1024)
    );
    let e = hostile(&big);
    assert_eq!(kind(&e), Some(PacErrorKind::LimitSize));
}

#[test]
fn no_host_access_from_the_sandbox() {
    // Neither quickjs-libc's std/os modules nor module loading exist in the runtime.
    let e = eval(
        "function FindProxyForURL(u, h) { return [typeof std, typeof os, typeof require, typeof process, typeof fetch].join(','); }",
    );
    assert_eq!(
        e.result.as_deref(),
        Some("undefined,undefined,undefined,undefined,undefined")
    );
}

#[test]
fn facts_answer_and_defaults_are_recorded() {
    let s = "function FindProxyForURL(u, h) {\n\
               if (isInNet(myIpAddress(), '10.1.0.0', '255.255.0.0')) return 'PROXY dc-proxy:8080';\n\
               if (isResolvable('intranet.corp')) return 'PROXY in:80';\n\
               return 'DIRECT'; }";
    let e = eval(s);
    assert_eq!(e.result.as_deref(), Some("DIRECT"));
    assert_eq!(
        e.depends_on,
        vec![
            Dependency::MyIpAddress,
            Dependency::DnsResolve("intranet.corp".into())
        ]
    );
    let mut facts = PacFacts {
        my_ips: vec!["10.1.2.3".parse().unwrap()],
        ..PacFacts::default()
    };
    let e = eval_with(s, PING, &facts);
    assert_eq!(e.result.as_deref(), Some("PROXY dc-proxy:8080"));
    assert!(e.depends_on.is_empty());
    facts.my_ips = vec!["192.168.1.5".parse().unwrap()];
    facts.add_unresolvable("intranet.corp");
    let e = eval_with(s, PING, &facts);
    assert_eq!(e.result.as_deref(), Some("DIRECT"));
    assert!(e.depends_on.is_empty());
    facts.add_resolve("INTRANET.corp", ["10.9.9.9".parse().unwrap()]);
    facts.unresolvable.clear();
    assert_eq!(
        eval_with(s, PING, &facts).result.as_deref(),
        Some("PROXY in:80")
    );
}

#[test]
fn dns_helpers_from_script() {
    let mut facts = PacFacts::default();
    facts.add_resolve(
        "proxy.corp",
        ["fd00::1".parse().unwrap(), "10.0.0.1".parse().unwrap()],
    );
    let s = "function FindProxyForURL(u, h) { return [dnsResolve('proxy.corp'), dnsResolveEx('proxy.corp'), \
             dnsResolve('nowhere.corp'), dnsResolveEx('nowhere.corp'), isResolvableEx('proxy.corp'), \
             dnsResolve('10.2.3.4'), myIpAddressEx(), getClientVersion(), typeof alert('hi')].join('|'); }";
    let e = eval_with(s, PING, &facts);
    assert_eq!(
        e.result.as_deref(),
        Some("10.0.0.1|fd00::1;10.0.0.1|||true|10.2.3.4|127.0.0.1|1.0|undefined")
    );
    assert_eq!(e.alerts, vec!["hi".to_string()]);
    assert_eq!(
        e.depends_on,
        vec![
            Dependency::DnsResolve("nowhere.corp".into()),
            Dependency::MyIpAddress
        ]
    );
}

#[test]
fn clock_is_a_fact_or_a_dependency() {
    let s = "function FindProxyForURL(u, h) { return weekdayRange('MON', 'FRI') ? 'PROXY work:80' : 'DIRECT'; }";
    let e = eval(s);
    assert_eq!(e.depends_on, vec![Dependency::Clock]);
    let sat = PacFacts {
        now: Some(1_236_397_000), // 2009-03-07, a Saturday
        ..PacFacts::default()
    };
    let e = eval_with(s, PING, &sat);
    assert_eq!(e.result.as_deref(), Some("DIRECT"));
    assert!(e.depends_on.is_empty());
}

#[test]
fn serialises_to_the_contract_shape() {
    let e = eval("function FindProxyForURL(u, h) { return myIpAddress() == '127.0.0.1' ? 'PROXY p:8080; DIRECT' : 'DIRECT'; }");
    let v = serde_json::to_value(&e).unwrap();
    assert_eq!(v["entry_point"], "FindProxyForURL");
    assert_eq!(v["result"], "PROXY p:8080; DIRECT");
    assert!(v["error"].is_null());
    assert_eq!(v["route"]["kind"], "proxy");
    assert_eq!(v["route"]["host"], "p");
    assert_eq!(v["route"]["port"], 8080);
    assert_eq!(v["route"]["then"], serde_json::json!(["DIRECT"]));
    assert!(v["route"]["fallback"].is_null());
    assert_eq!(v["depends_on"], serde_json::json!(["myIpAddress"]));
    assert!(v["elapsed_ms"].is_u64());
    let f = eval("function FindProxyForURL(u, h) {\n  x.y;\n}");
    let v = serde_json::to_value(&f).unwrap();
    assert_eq!(v["error"]["kind"], "exception");
    assert_eq!(v["error"]["line"], 2);
    assert_eq!(v["route"]["kind"], "pac-failed");
    assert_eq!(v["route"]["fallback"], "direct");
    assert!(v["result"].is_null());
}

#[test]
fn endpoint_evaluation_flags_path_dependent_scripts() {
    let s = "function FindProxyForURL(url, host) { return shExpMatch(url, '*/tri/sensor/*') ? 'PROXY s:3128' : 'PROXY p:8080'; }";
    let e = evaluate_endpoint(
        s,
        "contososensorapi.atp.azure.com",
        &PacFacts::default(),
        &PacLimits::default(),
    );
    assert_eq!(e.ping.route.host.as_deref(), Some("s"));
    assert_eq!(e.root.route.host.as_deref(), Some("p"));
    assert!(e.routes_differ);
    let s = "function FindProxyForURL(url, host) { return dnsDomainIs(host, '.atp.azure.com') ? 'DIRECT' : 'PROXY p:8080'; }";
    let e = evaluate_endpoint(
        s,
        "contososensorapi.atp.azure.com",
        &PacFacts::default(),
        &PacLimits::default(),
    );
    assert_eq!(e.ping.route.kind, PacRouteKind::Direct);
    assert!(!e.routes_differ);
}

#[test]
fn evaluations_are_independent() {
    // A fresh runtime per evaluation: globals set by one call are gone in the next.
    let s = "function FindProxyForURL(u, h) { if (typeof seen != 'undefined') return 'PROXY dirty:1'; seen = 1; return 'DIRECT'; }";
    assert_eq!(eval(s).result.as_deref(), Some("DIRECT"));
    assert_eq!(eval(s).result.as_deref(), Some("DIRECT"));
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    fn quick() -> PacLimits {
        PacLimits {
            time: Duration::from_millis(150),
            ..PacLimits::default()
        }
    }

    /// Fragments that make random scripts reach the engine's interesting paths.
    const TOKENS: [&str; 24] = [
        "function FindProxyForURL(url, host) {",
        "function FindProxyForURLEx(url, host) {",
        "}",
        "return ",
        "\"PROXY p:8080; DIRECT\"",
        "while (true) {",
        "for (;;) {",
        "try {",
        "} catch (e) {",
        "shExpMatch(url, '*.x*')",
        "dnsResolve(host)",
        "isInNet(myIpAddress(), '10.0.0.0', '255.0.0.0')",
        "dateRange(1, 'JAN', 'DEC')",
        "timeRange(0, 23)",
        "sortIpAddressList('::1;1.2.3.4')",
        "'x'.repeat(1 << 20)",
        "new Array(1e6).fill(0)",
        "/(a+)+$/.test('aaaaaaaaaaaaaaaaaaaaaaaa!')",
        "(function f() { return f(); })()",
        "throw null;",
        "if (",
        ")",
        ";",
        "\n",
    ];

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_bytes_never_panic_or_hang(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let script = String::from_utf8_lossy(&bytes);
            let t = Instant::now();
            let e = evaluate(&script, &PacRequest::for_url(PING), &PacFacts::default(), &quick());
            prop_assert!(t.elapsed() < Duration::from_secs(2));
            prop_assert_eq!(e.result.is_some(), e.error.is_none());
        }

        #[test]
        fn token_soup_never_panics_or_hangs(idx in proptest::collection::vec(0usize..TOKENS.len(), 0..40)) {
            let script: String = idx.iter().filter_map(|i| TOKENS.get(*i)).copied().collect();
            let t = Instant::now();
            let e = evaluate(&script, &PacRequest::for_url(PING), &PacFacts::default(), &quick());
            prop_assert!(t.elapsed() < Duration::from_secs(2), "{:?} for {}", t.elapsed(), script);
            if e.error.is_some() {
                prop_assert_eq!(e.route.kind, PacRouteKind::PacFailed);
            }
        }
    }
}
