use super::*;
use crate::case::evidence::{CompareVerdict, Fact, Observation};
use crate::case::model::Verdict;
use crate::case::principals::Attribution;
use crate::case::resolve::{resolve, Assembled, ResolveOptions};
use crate::formats::sensor_log::EventKind;

/// A 0x46 DefaultConnectionSettings blob with a 32-byte zero trailer.
fn blob(counter: u32, flags: u32, proxy: &str, bypass: &str, pac: &str) -> Vec<u8> {
    let mut b = Vec::new();
    for v in [0x46u32, counter, flags] {
        b.extend(v.to_le_bytes());
    }
    for s in [proxy, bypass, pac] {
        b.extend((s.len() as u32).to_le_bytes());
        b.extend(s.as_bytes());
    }
    b.extend([0u8; 32]);
    b
}

fn obs(p: Option<Principal>, fact: Fact, file: &str, line: u64) -> Observation {
    let user = (p == Some(Principal::CurrentUser)).then(|| "HKEY_CURRENT_USER".to_string());
    Observation {
        principal: p,
        user,
        fact,
        at: EvidenceRef::new(file, line),
        attribution: Attribution::Content,
    }
}

fn run(observations: Vec<Observation>) -> CaseReport {
    let resolved = resolve(
        Assembled {
            name: "t".into(),
            inputs: vec![],
            observations,
            manifest: None,
        },
        &ResolveOptions::default(),
    );
    judge(&resolved, &[])
}

fn ids(r: &CaseReport) -> Vec<(String, Option<&'static str>)> {
    r.findings
        .iter()
        .map(|f| (f.id.as_str().to_string(), f.principal.map(|p| p.key())))
        .collect()
}

fn cu_proxy() -> Observation {
    obs(
        Some(Principal::CurrentUser),
        Fact::ConnectionBlob {
            bytes: blob(9, 3, "proxy.contoso.com:8080", "<local>", ""),
        },
        "hkcu.reg",
        5,
    )
}

#[test]
fn missing_local_system_is_an_error() {
    let r = run(vec![
        cu_proxy(),
        obs(
            Some(Principal::LocalSystem),
            Fact::Missing { assumed: false },
            "cmp18.txt",
            3,
        ),
    ]);
    assert_eq!(r.verdict, Verdict::Misconfigured);
    assert_eq!(ids(&r)[0], ("proxy-missing".into(), Some("local_system")));
    assert_eq!(r.principals[&Principal::LocalSystem].state, State::Missing);
    assert_eq!(
        r.findings[0].evidence[0],
        EvidenceRef::new("cmp18.txt", 3).attributed(Attribution::Content)
    );
}

#[test]
fn counter_only_difference_is_equivalent_and_healthy() {
    let r = run(vec![
        cu_proxy(),
        obs(
            Some(Principal::LocalSystem),
            Fact::ConnectionBlob {
                bytes: blob(2, 3, "proxy.contoso.com:8080", "<local>", ""),
            },
            "ls.reg",
            9,
        ),
        obs(
            Some(Principal::LocalService),
            Fact::ConnectionBlob {
                bytes: blob(9, 3, "proxy.contoso.com:8080", "<local>", ""),
            },
            "lsvc.reg",
            9,
        ),
    ]);
    assert_eq!(r.verdict, Verdict::Healthy);
    assert_eq!(
        ids(&r),
        vec![
            ("proxy-equivalent".into(), Some("local_system")),
            ("proxy-matches".into(), Some("local_service"))
        ]
    );
}

#[test]
fn untouched_default_differs_from_a_proxy() {
    let r = run(vec![
        cu_proxy(),
        obs(
            Some(Principal::LocalSystem),
            Fact::ConnectionBlob {
                bytes: blob(1, 9, "", "", ""),
            },
            "ls.reg",
            9,
        ),
    ]);
    assert_eq!(
        ids(&r),
        vec![("proxy-differs".into(), Some("local_system"))]
    );
    assert_eq!(r.principals[&Principal::LocalSystem].state, State::Direct);
    // Said in words, never with JSON field names.
    assert!(r.findings[0].title.contains("whether a proxy is used"));
    assert!(!r.findings[0].title.contains("proxy_enabled"));
}

#[test]
fn direct_current_user_never_raises_missing() {
    let r = run(vec![
        obs(
            Some(Principal::CurrentUser),
            Fact::ConnectionBlob {
                bytes: blob(1, 1, "", "", ""),
            },
            "hkcu.reg",
            5,
        ),
        obs(
            Some(Principal::LocalSystem),
            Fact::Missing { assumed: false },
            "cmp.txt",
            1,
        ),
    ]);
    assert!(ids(&r).iter().all(|(id, _)| id != "proxy-missing"));
    // LOCAL SERVICE was never shown: no verdict without it.
    assert_eq!(r.verdict, Verdict::Inconclusive);
    let need = r.needs.iter().find(|n| n.blocking).unwrap();
    assert_eq!(need.principal, Some(Principal::LocalService));
    assert!(need.command.as_deref().unwrap().contains("HKU\\S-1-5-19"));
}

#[test]
fn unknown_current_user_and_missing_system_follow_the_procedure() {
    let r = run(vec![obs(
        Some(Principal::LocalSystem),
        Fact::Missing { assumed: false },
        "cmp.txt",
        1,
    )]);
    assert_eq!(
        ids(&r),
        vec![("proxy-missing".into(), Some("local_system"))]
    );
}

#[test]
fn machine_wide_policy_replaces_per_user_comparison() {
    let r = run(vec![
        cu_proxy(),
        obs(
            Some(Principal::LocalSystem),
            Fact::Missing { assumed: false },
            "cmp.txt",
            1,
        ),
        obs(
            Some(Principal::Machine),
            Fact::PerUserPolicy(0),
            "hklm.reg",
            7,
        ),
    ]);
    let ids = ids(&r);
    assert!(ids.contains(&("machine-wide-policy".into(), Some("machine"))));
    assert!(!ids
        .iter()
        .any(|(i, _)| i == "proxy-missing" || i == "proxy-differs"));
}

#[test]
fn bypassed_endpoint_and_https_not_proxied() {
    let r = run(vec![
        obs(
            Some(Principal::LocalSystem),
            Fact::ConnectionBlob {
                bytes: blob(1, 3, "proxy:8080", "*.azure.com;<local>", ""),
            },
            "ls.reg",
            4,
        ),
        obs(
            Some(Principal::LocalService),
            Fact::ConnectionBlob {
                bytes: blob(1, 3, "http=proxy:8080;ftp=proxy:21", "", ""),
            },
            "lsvc.reg",
            4,
        ),
    ]);
    let ids = ids(&r);
    assert!(ids.contains(&("endpoint-bypassed".into(), Some("local_system"))));
    assert!(ids.contains(&("https-not-proxied".into(), Some("local_service"))));
    // The sensor goes direct and nothing shows that works: never healthy.
    assert_eq!(r.verdict, Verdict::Inconclusive);
    assert!(r
        .needs
        .iter()
        .any(|n| n.blocking && n.principal == Some(Principal::LocalService)));
}

#[test]
fn route_of_a_missing_account_is_judged_after_the_fix() {
    let r = run(vec![
        obs(
            Some(Principal::CurrentUser),
            Fact::ConnectionBlob {
                bytes: blob(1, 3, "proxy:8080", "*.atp.azure.com", ""),
            },
            "hkcu.reg",
            4,
        ),
        obs(
            Some(Principal::LocalService),
            Fact::Missing { assumed: false },
            "1519.txt",
            1,
        ),
    ]);
    let f = r
        .findings
        .iter()
        .find(|f| f.id == FindingId::EndpointBypassed)
        .expect("bypass finding");
    assert_eq!(f.principal, Some(Principal::LocalService));
    assert!(f.title.contains("after the documented copy"));
}

#[test]
fn conflicting_files_keep_the_worst_reading() {
    let r = run(vec![
        cu_proxy(),
        obs(
            Some(Principal::LocalSystem),
            Fact::ConnectionBlob {
                bytes: blob(9, 3, "proxy.contoso.com:8080", "<local>", ""),
            },
            "old.reg",
            4,
        ),
        obs(
            Some(Principal::LocalSystem),
            Fact::Missing { assumed: false },
            "new.txt",
            2,
        ),
    ]);
    let ids = ids(&r);
    assert!(ids.contains(&("proxy-missing".into(), Some("local_system"))));
    assert!(ids.contains(&("evidence-conflict".into(), Some("local_system"))));
    assert!(!ids.iter().any(|(i, _)| i == "proxy-matches"));
    assert_eq!(r.verdict, Verdict::Misconfigured);
}

#[test]
fn current_user_alone_is_inconclusive() {
    let r = run(vec![cu_proxy()]);
    assert_eq!(r.verdict, Verdict::Inconclusive);
}

#[test]
fn compare_verdict_without_content() {
    let diff = run(vec![obs(
        Some(Principal::LocalSystem),
        Fact::CompareVerdict(CompareVerdict::Different),
        "c.txt",
        4,
    )]);
    assert_eq!(
        ids(&diff),
        vec![("proxy-differs".into(), Some("local_system"))]
    );
    let same = run(vec![
        cu_proxy(),
        obs(
            Some(Principal::LocalSystem),
            Fact::CompareVerdict(CompareVerdict::Identical),
            "c.txt",
            4,
        ),
    ]);
    assert_eq!(
        ids(&same),
        vec![("proxy-matches".into(), Some("local_system"))]
    );
    assert_eq!(
        same.principals[&Principal::LocalSystem].state,
        State::Configured
    );
}

#[test]
fn pac_only_except_untouched_service_default() {
    let r = run(vec![
        obs(
            Some(Principal::CurrentUser),
            Fact::ConnectionBlob {
                bytes: blob(1, 5, "", "", "http://wpad/proxy.pac"),
            },
            "hkcu.reg",
            4,
        ),
        obs(
            Some(Principal::LocalSystem),
            Fact::ConnectionBlob {
                bytes: blob(1, 9, "", "", ""),
            },
            "ls.reg",
            4,
        ),
    ]);
    let pac: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.id == FindingId::PacOnly)
        .map(|f| f.principal)
        .collect();
    assert_eq!(pac, vec![Some(Principal::CurrentUser)]);
}

#[test]
fn empty_and_truncated_captures_are_warnings_and_inconclusive() {
    let r = run(vec![
        obs(None, Fact::CaptureEmpty, "empty.txt", 0),
        obs(
            Some(Principal::CurrentUser),
            Fact::TruncatedBlob,
            "ps.txt",
            3,
        ),
    ]);
    assert_eq!(
        ids(&r),
        vec![
            ("capture-empty".into(), None),
            ("capture-truncated".into(), None)
        ]
    );
    assert_eq!(r.verdict, Verdict::Inconclusive);
}

#[test]
fn winhttp_direct_while_wininet_proxies() {
    let r = run(vec![
        cu_proxy(),
        obs(
            Some(Principal::LocalSystem),
            Fact::ConnectionBlob {
                bytes: blob(9, 3, "proxy.contoso.com:8080", "<local>", ""),
            },
            "ls.reg",
            4,
        ),
        obs(
            None,
            Fact::WinHttpText {
                direct: true,
                proxy: None,
                bypass: None,
            },
            "netsh.txt",
            4,
        ),
    ]);
    assert!(ids(&r).contains(&("winhttp-mismatch".into(), Some("winhttp"))));
}

#[test]
fn log_events_are_errors_except_dc_communication() {
    let r = run(vec![
        obs(
            None,
            Fact::LogEvents {
                kind: EventKind::ProxyAuthRequired,
                count: 1,
                excerpt: "407".into(),
                first_seen: None,
                last_seen: None,
                last_line: 12,
            },
            "s.log",
            12,
        ),
        obs(
            None,
            Fact::LogEvents {
                kind: EventKind::DcCommunicationFailure,
                count: 1,
                excerpt: "dc".into(),
                first_seen: None,
                last_seen: None,
                last_line: 40,
            },
            "s.log",
            40,
        ),
    ]);
    assert_eq!(
        r.findings[0].id,
        FindingId::Log(EventKind::ProxyAuthRequired)
    );
    assert_eq!(r.findings[0].severity, Severity::Error);
    assert_eq!(r.findings[1].severity, Severity::Info);
    assert_eq!(r.verdict, Verdict::Misconfigured);
}

#[test]
fn log_findings_cite_the_first_and_last_record_over_every_log() {
    let logs = |file: &str, count, first: (&str, u64), last: (&str, u64), excerpt: &str| {
        obs(
            None,
            Fact::LogEvents {
                kind: EventKind::ProxyAuthRequired,
                count,
                excerpt: excerpt.into(),
                first_seen: Some(first.0.into()),
                last_seen: Some(last.0.into()),
                last_line: last.1,
            },
            file,
            first.1,
        )
    };
    // The newer log comes first in upload order: the times decide which is first and last.
    let r = run(vec![
        logs(
            "Sensor-Errors.log",
            2,
            ("2024-03-06 08:00:30.1230", 4),
            ("2024-03-06 08:01:01.2340", 10),
            "newer",
        ),
        logs(
            "Sensor-Errors-Archived-00000.log",
            1,
            ("2024-03-05 23:59:10.4410", 4),
            ("2024-03-05 23:59:10.4410", 4),
            "older",
        ),
    ]);
    let f = &r.findings[0];
    assert_eq!(f.id, FindingId::Log(EventKind::ProxyAuthRequired));
    assert_eq!(
        f.title,
        "Sensor log: the proxy demands authentication (407) (3 records, first 2024-03-05 23:59:10.4410, last 2024-03-06 08:01:01.2340)"
    );
    assert_eq!(f.excerpt.as_deref(), Some("older"));
    let cited: Vec<(&str, Option<u64>)> = f
        .evidence
        .iter()
        .map(|e| (e.file.as_str(), e.line))
        .collect();
    assert_eq!(
        cited,
        vec![
            ("Sensor-Errors-Archived-00000.log", Some(4)),
            ("Sensor-Errors.log", Some(10))
        ]
    );
}

#[cfg(test)]
mod user_tests {
    use super::*;
    use crate::case::evidence::{Fact, Observation};
    use crate::case::principals::Attribution;
    use crate::case::resolve::{resolve, Assembled, ResolveOptions};

    fn blob(flags: u32, proxy: &str) -> Vec<u8> {
        let mut b = Vec::new();
        for v in [0x46u32, 1, flags] {
            b.extend(v.to_le_bytes());
        }
        for s in [proxy, "", ""] {
            b.extend((s.len() as u32).to_le_bytes());
            b.extend(s.as_bytes());
        }
        b
    }

    #[test]
    fn the_user_hive_with_a_proxy_is_the_reference_and_all_are_reported() {
        let o = |user: &str, b: Vec<u8>, line| Observation {
            principal: Some(Principal::CurrentUser),
            user: Some(user.to_string()),
            fact: Fact::ConnectionBlob { bytes: b },
            at: EvidenceRef::new("users.reg", line),
            attribution: Attribution::Content,
        };
        let resolved = resolve(
            Assembled {
                name: "t".into(),
                inputs: vec![],
                manifest: None,
                observations: vec![
                    o("HKEY_CURRENT_USER", blob(1, ""), 3),
                    o("S-1-5-21-1-2-3-1104", blob(3, "proxy:8080"), 9),
                ],
            },
            &ResolveOptions::default(),
        );
        let r = judge(&resolved, &[]);
        let cu = &r.principals[&Principal::CurrentUser];
        assert_eq!(cu.reference.as_deref(), Some("S-1-5-21-1-2-3-1104"));
        assert_eq!(cu.state, State::Configured);
        assert_eq!(cu.users.len(), 2);
        assert_eq!(cu.users[0].state, State::Direct);
        assert_eq!(resolved.reference_blob.map(|b| b.1.line), Some(Some(9)));
    }
}

#[cfg(test)]
mod v2_tests {
    use super::*;
    use crate::case::evidence::{Fact, Observation};
    use crate::case::model::{EndpointSource, ProbeSite, Verdict};
    use crate::case::principals::Attribution;
    use crate::case::resolve::{resolve, Assembled, ResolveOptions};
    use crate::probe::ProbeOutcome;

    fn blob(counter: u32, flags: u32, proxy: &str, bypass: &str) -> Vec<u8> {
        let mut b = Vec::new();
        for v in [0x46u32, counter, flags] {
            b.extend(v.to_le_bytes());
        }
        for s in [proxy, bypass, ""] {
            b.extend((s.len() as u32).to_le_bytes());
            b.extend(s.as_bytes());
        }
        b.extend([0u8; 32]);
        b
    }

    fn obs(p: Option<Principal>, fact: Fact, file: &str, line: u64) -> Observation {
        Observation {
            principal: p,
            user: (p == Some(Principal::CurrentUser)).then(|| "HKEY_CURRENT_USER".to_string()),
            fact,
            at: EvidenceRef::new(file, line),
            attribution: Attribution::Content,
        }
    }

    fn proxy_blob(p: Option<Principal>, file: &str) -> Observation {
        obs(
            p,
            Fact::ConnectionBlob {
                bytes: blob(7, 3, "proxy.contoso.com:8080", "<local>"),
            },
            file,
            4,
        )
    }

    fn judge_with(obs: Vec<Observation>, probes: &[ProbeEvidence]) -> CaseReport {
        let r = resolve(
            Assembled {
                name: "t".into(),
                inputs: vec![],
                manifest: None,
                observations: obs,
            },
            &ResolveOptions::default(),
        );
        judge(&r, probes)
    }

    #[test]
    fn never_healthy_without_local_service() {
        let r = judge_with(
            vec![
                proxy_blob(Some(Principal::CurrentUser), "hkcu.reg"),
                proxy_blob(Some(Principal::LocalSystem), "cmp18.txt"),
            ],
            &[],
        );
        assert_eq!(r.verdict, Verdict::Inconclusive);
        let n = r.needs.iter().find(|n| n.blocking).unwrap();
        assert_eq!(n.principal, Some(Principal::LocalService));
        assert_eq!(
            n.command.as_deref(),
            Some("reg compare \"HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections\" \"HKU\\S-1-5-19\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections\" /v DefaultConnectionSettings > compare-1519.txt 2>&1")
        );
    }

    #[test]
    fn healthy_when_both_service_accounts_use_the_proxy() {
        let r = judge_with(
            vec![
                proxy_blob(Some(Principal::CurrentUser), "hkcu.reg"),
                proxy_blob(Some(Principal::LocalSystem), "ls.reg"),
                proxy_blob(Some(Principal::LocalService), "lsvc.reg"),
            ],
            &[],
        );
        assert_eq!(r.verdict, Verdict::Healthy);
        assert!(r.needs.iter().all(|n| !n.blocking));
        assert!(r.summary.starts_with("HEALTHY"));
    }

    #[test]
    fn a_captured_probe_of_the_current_user_does_not_show_the_service_accounts() {
        let r = resolve(
            Assembled {
                name: "t".into(),
                inputs: vec![],
                manifest: None,
                observations: vec![obs(
                    None,
                    Fact::ProbeCaptured {
                        status: Some(503),
                        text: "503".into(),
                        url: None,
                    },
                    "iwr.txt",
                    3,
                )],
            },
            &ResolveOptions::default(),
        );
        let r = judge(&r, &[]);
        assert_eq!(r.verdict, Verdict::Inconclusive);
        assert!(r.findings.iter().any(|f| f.id == FindingId::ProbeOk));
    }

    /// Current workspaces answer the ping URL with 200: that is the service reached, while a
    /// 200 from some other site says nothing about it.
    #[test]
    fn a_captured_200_from_the_ping_url_is_the_service_reached() {
        let captured = |url: &str| {
            judge_with(
                vec![obs(
                    None,
                    Fact::ProbeCaptured {
                        status: Some(200),
                        text: "StatusCode        : 200".into(),
                        url: Some(url.into()),
                    },
                    "iwr.txt",
                    7,
                )],
                &[],
            )
        };
        let ping = captured("https://contososensorapi.atp.azure.com/tri/sensor/api/ping");
        assert!(ping.findings.iter().any(|f| f.id == FindingId::ProbeOk));
        assert!(!ping.findings.iter().any(|f| f.id == FindingId::ProbeFailed));
        let other = captured("https://www.bing.com/");
        assert!(!other.findings.iter().any(|f| f.id == FindingId::ProbeOk));
    }

    #[test]
    fn a_captured_407_is_reported_as_captured_not_direct() {
        let r = judge_with(
            vec![obs(
                None,
                Fact::ProbeCaptured {
                    status: Some(407),
                    text: "407".into(),
                    url: None,
                },
                "iwr.txt",
                3,
            )],
            &[],
        );
        let f = r
            .findings
            .iter()
            .find(|f| f.id == FindingId::ProbeFailed)
            .unwrap();
        assert!(f.title.contains("as captured"));
        assert!(!f.title.contains("direct"));
        assert!(f.action.contains("ProxyCredential"));
    }

    #[test]
    fn a_probe_from_here_never_changes_the_verdict() {
        let run = ProbeEvidence {
            route: "direct".into(),
            principals: vec![Principal::CurrentUser],
            url: "https://x/".into(),
            proxy: None,
            status: None,
            outcome: Some(ProbeOutcome::Failed),
            error: Some("connection refused".into()),
            not_probed: None,
            elapsed_ms: Some(1),
            site: ProbeSite::Here,
        };
        let r = judge_with(vec![obs(None, Fact::CaptureEmpty, "empty.txt", 0)], &[run]);
        assert_eq!(r.verdict, Verdict::Inconclusive);
        let f = r
            .findings
            .iter()
            .find(|f| f.id == FindingId::ProbeHereFailed)
            .unwrap();
        assert_eq!(f.severity, Severity::Warning);
        assert_eq!(f.evidence[0], EvidenceRef::probe_here("direct"));
    }

    #[test]
    fn the_sensor_level_proxy_replaces_the_registry_copy() {
        let r = judge_with(
            vec![
                proxy_blob(Some(Principal::CurrentUser), "hkcu.reg"),
                obs(
                    Some(Principal::LocalService),
                    Fact::Missing { assumed: false },
                    "cmp19.txt",
                    1,
                ),
                obs(
                    Some(Principal::Sensor),
                    Fact::SensorProxy {
                        url: "http://proxy.contoso.com:8080".into(),
                        user: None,
                        password_set: false,
                    },
                    "SensorConfiguration.json",
                    0,
                ),
            ],
            &[],
        );
        assert!(!r
            .findings
            .iter()
            .any(|f| matches!(f.id, FindingId::ProxyMissing | FindingId::ProxyDiffers)));
        assert!(!r
            .findings
            .iter()
            .any(|f| f.action.contains("copy the current user")));
        assert_eq!(r.verdict, Verdict::Healthy);
    }

    #[test]
    fn other_clouds_are_judged_against_their_own_host() {
        let bypass_us = |host: &str| {
            judge_with(
                vec![
                    obs(
                        None,
                        Fact::SensorEndpoint { host: host.into() },
                        "SensorConfiguration.json",
                        0,
                    ),
                    obs(
                        Some(Principal::LocalService),
                        Fact::ConnectionBlob {
                            bytes: blob(1, 3, "proxy:8080", "*.atp.azure.us;<local>"),
                        },
                        "lsvc.reg",
                        4,
                    ),
                ],
                &[],
            )
        };
        let gov = bypass_us("contososensorapi.atp.azure.us");
        assert_eq!(gov.endpoint.source, EndpointSource::SensorConfig);
        assert!(gov
            .findings
            .iter()
            .any(|f| f.id == FindingId::EndpointBypassed));
        let com = bypass_us("contososensorapi.atp.azure.com");
        assert!(!com
            .findings
            .iter()
            .any(|f| f.id == FindingId::EndpointBypassed));
    }

    #[test]
    fn two_current_user_exports_that_disagree_are_a_conflict() {
        let r = judge_with(
            vec![
                proxy_blob(Some(Principal::CurrentUser), "old/hkcu.reg"),
                obs(
                    Some(Principal::CurrentUser),
                    Fact::ConnectionBlob {
                        bytes: blob(9, 3, "newproxy.contoso.com:3128", "<local>"),
                    },
                    "new/hkcu.reg",
                    4,
                ),
            ],
            &[],
        );
        let f = r
            .findings
            .iter()
            .find(|f| f.id == FindingId::EvidenceConflict)
            .unwrap();
        assert_eq!(f.principal, Some(Principal::CurrentUser));
        let files: Vec<&str> = f.evidence.iter().map(|e| e.file.as_str()).collect();
        assert_eq!(files, ["new/hkcu.reg", "old/hkcu.reg"]);
    }

    #[test]
    fn netsh_direct_against_a_winhttp_value_with_a_proxy_is_a_conflict() {
        let mut wh = Vec::new();
        for v in [0x18u32, 1, 3] {
            wh.extend(v.to_le_bytes());
        }
        for s in ["proxy:8080", ""] {
            wh.extend((s.len() as u32).to_le_bytes());
            wh.extend(s.as_bytes());
        }
        let r = judge_with(
            vec![
                obs(
                    Some(Principal::Winhttp),
                    Fact::WinHttpBlob { bytes: wh },
                    "export.reg",
                    4,
                ),
                obs(
                    None,
                    Fact::WinHttpText {
                        direct: true,
                        proxy: None,
                        bypass: None,
                    },
                    "netsh.txt",
                    4,
                ),
            ],
            &[],
        );
        let f = r
            .findings
            .iter()
            .find(|f| f.id == FindingId::EvidenceConflict)
            .unwrap();
        assert_eq!(f.principal, Some(Principal::Winhttp));
        // The worst reading stands: a proxy shown anywhere is not settled as direct.
        assert_eq!(r.principals[&Principal::Winhttp].state, State::Configured);
    }

    #[test]
    fn findings_are_ordered_by_severity_then_cause() {
        use crate::formats::sensor_log::EventKind;
        let log = |k, line| {
            obs(
                None,
                Fact::LogEvents {
                    kind: k,
                    count: 1,
                    excerpt: "m".into(),
                    first_seen: None,
                    last_seen: None,
                    last_line: line,
                },
                "s.log",
                line,
            )
        };
        let r = judge_with(
            vec![
                log(EventKind::ConnectFailed, 1),
                log(EventKind::SslInspectionSuspected, 9),
                proxy_blob(Some(Principal::CurrentUser), "hkcu.reg"),
                obs(
                    Some(Principal::LocalSystem),
                    Fact::Missing { assumed: false },
                    "c.txt",
                    1,
                ),
            ],
            &[],
        );
        let order: Vec<FindingId> = r.findings.iter().map(|f| f.id).collect();
        assert_eq!(
            order[..3],
            [
                FindingId::Log(EventKind::SslInspectionSuspected),
                FindingId::Log(EventKind::ConnectFailed),
                FindingId::ProxyMissing
            ]
        );
    }
}

/// Observations of an upload given as text, through the real parser and evidence adapter.
fn observed(name: &str, text: &str) -> Vec<Observation> {
    let a = crate::artifact::parse_bytes(name, text.as_bytes(), crate::artifact::Scope::Full);
    crate::case::evidence::observations(&a)
}

const ANALYZER: &str = "Connectivity output, running as System:\r\n\
Testing URL : https://contoso-corpsensorapi.atp.azure.com/tri/sensor/api/ping\r\n\
1 - Default proxy: Succeeded (200)\r\n\
2 - Proxy auto discovery (WPAD): Failed (12180)\r\n\
3 - Proxy disabled: Failed (12029)\r\n\
\r\n\
########################### PROXY SETTINGS ################################\r\n\
Proxy setting in DEFAULT user level were detected\r\n\
The detected proxy settings in the default user path (.DEFAULT) are :  proxy.contoso.com:8080\r\n\
ProxyEnable is set to :  1\r\n\
Proxy setting in current user level were detected\r\n\
The detected proxy settings in current user path (HKCU) are :  proxy.contoso.com:8080\r\n\
ProxyEnable is set to :  1\r\n";

#[test]
fn analyzer_proxy_settings_are_local_system_and_current_user_plain_values() {
    // Run through PsExec from an administrator's session: HKCU is the administrator's.
    let text = ANALYZER.replace("running as System", "using psexec -s");
    let o = observed("MDEClientAnalyzer.txt", &text);
    let plain: Vec<_> = o
        .iter()
        .filter_map(|o| match &o.fact {
            Fact::Plain { name, .. } => Some((o.principal, name.as_str(), o.at.line)),
            _ => None,
        })
        .collect();
    assert_eq!(
        plain,
        [
            (Some(Principal::LocalSystem), "ProxyServer", Some(9)),
            (Some(Principal::LocalSystem), "ProxyEnable", Some(9)),
            (Some(Principal::CurrentUser), "ProxyServer", Some(12)),
            (Some(Principal::CurrentUser), "ProxyEnable", Some(12)),
        ]
    );
    assert!(o
        .iter()
        .any(|o| matches!(&o.fact, Fact::AnalyzerUrl { test, run_as }
        if test.line == 2 && run_as.as_deref() == Some("psexec"))
            && o.principal == Some(Principal::LocalSystem)));
}

#[test]
fn analyzer_run_as_system_shows_local_system_in_its_hkcu_lines() {
    let o = observed("MDEClientAnalyzer.txt", ANALYZER);
    let hkcu: Vec<_> = o
        .iter()
        .filter(|o| o.at.line == Some(12))
        .map(|o| (o.principal, o.user.clone()))
        .collect();
    assert_eq!(
        hkcu,
        [
            (Some(Principal::LocalSystem), None),
            (Some(Principal::LocalSystem), None)
        ]
    );
}

#[test]
fn analyzer_success_only_through_winhttp_proxy_is_no_proof_of_the_direct_route() {
    // The analyzer reached the sensor only through WinHTTP's proxy, not direct: it says so,
    // and LOCAL SYSTEM's direct route is not taken as shown.
    let mut o = observed(
        "MDEClientAnalyzer.txt",
        ANALYZER.split("\r\n\r\n").next().unwrap_or(""),
    );
    o.push(cu_proxy());
    o.push(obs(
        Some(Principal::LocalSystem),
        Fact::ConnectionBlob {
            bytes: blob(1, 9, "", "", ""),
        },
        "ls.reg",
        4,
    ));
    let r = run(o);
    assert!(ids(&r).contains(&("mde-sensor-url-ok".into(), Some("local_system"))));
    let f = r
        .findings
        .iter()
        .find(|f| f.id == FindingId::MdeSensorUrlOk)
        .unwrap();
    assert!(
        f.title.contains("only through WinHTTP's proxy"),
        "{}",
        f.title
    );
    let resolved = resolve(
        Assembled {
            name: "t".into(),
            inputs: vec![],
            observations: observed("a.txt", ANALYZER),
            manifest: None,
        },
        &ResolveOptions::default(),
    );
    assert!(!resolved.direct_route_shown(Principal::LocalSystem));
    assert!(!resolved.direct_route_shown(Principal::LocalService));
}

#[test]
fn api_test_true_names_the_sensor_proxy_it_used_and_changes_nothing() {
    let mut o = observed(
        "api.txt",
        "PS C:\\> Test-MDISensorApiConnection\r\nTrue\r\n",
    );
    o.push(obs(
        Some(Principal::Sensor),
        Fact::SensorProxy {
            url: "http://proxy.contoso.com:8080".into(),
            user: None,
            password_set: false,
        },
        "SensorConfiguration.json",
        0,
    ));
    let r = run(o);
    let f = r
        .findings
        .iter()
        .find(|f| f.id == FindingId::MdiApiTestTrue)
        .unwrap();
    assert_eq!(f.principal, Some(Principal::Sensor));
    assert!(f.title.contains("sensor's own proxy"), "{}", f.title);
    assert_eq!(f.evidence[0].line, Some(2));
}

#[test]
fn api_test_false_with_verbose_shows_the_reason_and_asks_nothing_more() {
    let o = observed(
        "api.txt",
        "PS C:\\> Test-MDISensorApiConnection -Verbose\r\nVERBOSE: The remote server returned an error: (503) Server Unavailable.\r\nFalse\r\n",
    );
    let r = run(o);
    let f = r
        .findings
        .iter()
        .find(|f| f.id == FindingId::MdiApiTestFalse)
        .unwrap();
    assert_eq!(f.severity, Severity::Warning);
    assert!(f.excerpt.as_deref().is_some_and(|e| e.contains("(503)")));
    assert!(!r
        .needs
        .iter()
        .any(|n| n.what.contains("Test-MDISensorApiConnection")));
}

#[test]
fn readiness_in_a_gcc_high_case_wants_the_global_root_ca() {
    let json = r#"{"DomainControllers":[{"FQDN":"DC1.contoso.us","SensorVersion":"2.250.18972.0","Details":{"RootCertificatesDetails":[{"Thumbprint":"DF3C24F9BFD666761B268073FE06D1CC8D4F82A4"}]}},{"FQDN":"DC2.contoso.us","Details":{}}]}"#;
    let o = observed("mdi-contoso.us.json", json);
    let resolved = resolve(
        Assembled {
            name: "t".into(),
            inputs: vec![],
            observations: o,
            manifest: None,
        },
        &ResolveOptions {
            endpoint: Some("contososensorapi.atp.azure.us".into()),
            ..ResolveOptions::default()
        },
    );
    let r = judge(&resolved, &[]);
    let missing: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.id == FindingId::RootCertMissing)
        .collect();
    // DC1 has G2 only, which GCC High does not use; DC2's report has no list: not judged.
    assert_eq!(missing.len(), 1);
    assert!(
        missing[0].title.contains("DC1.contoso.us")
            && missing[0].title.contains("DigiCert Global Root CA")
    );
    assert_eq!(r.verdict, Verdict::Misconfigured);
}
