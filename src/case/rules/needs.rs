//! What to ask the customer for, with the exact command they run. A blocking need means no
//! verdict is possible without it.

use super::super::findings::FindingId;
use super::super::model::{Need, ProbeEvidence, ProbeSite, State};
use super::super::principals::Principal;
use super::super::resolve::Resolved;
use super::Findings;
use crate::probe::ProbeOutcome;
use crate::proxy::RouteKind;

use crate::registry::keys::{CONNECTIONS, INTERNET_SETTINGS};

/// The documented comparison of one service account with the current user, stderr included.
pub fn compare_command(sid: &str) -> String {
    let short = sid.trim_start_matches("S-1-5-");
    format!(
        "reg compare \"HKCU\\{CONNECTIONS}\" \"HKU\\{sid}\\{CONNECTIONS}\" /v DefaultConnectionSettings > compare-15{short}.txt 2>&1"
    )
}

fn export_command(hive: &str, file: &str) -> String {
    format!("reg export \"{hive}\\{INTERNET_SETTINGS}\" {file} /y")
}

/// The collector script answers most needs in one run.
const COLLECTOR: &str = "collect-mdi-proxy.cmd";

fn add(out: &mut Vec<Need>, need: Need) {
    if !out
        .iter()
        .any(|n| n.what == need.what && n.principal == need.principal)
    {
        out.push(need);
    }
}

/// Every need of a case, blocking ones first.
pub fn needs(r: &Resolved, probes: &[ProbeEvidence], findings: &Findings) -> Vec<Need> {
    let mut out = Vec::new();
    let user = r.state(Principal::CurrentUser);
    // A customer-side run shows that the direct route works.
    let direct_works = probes.iter().any(|p| {
        p.site == ProbeSite::Customer
            && p.route == "direct"
            && p.outcome == Some(ProbeOutcome::Reachable)
    });
    for p in r.route_principals() {
        let Some(a) = r.account(p) else { continue };
        if p == Principal::Sensor {
            continue;
        }
        let label = p.label();
        if a.state == State::Unknown {
            if a.identical_to_user {
                add(&mut out, Need {
                    principal: Some(Principal::CurrentUser),
                    blocking: true,
                    what: "the current user's Internet Settings".into(),
                    why: format!("reg compare says {label} is identical to the current user, whose setting is not in the uploads"),
                    command: Some(export_command("HKCU", "hkcu-internet-settings.reg")),
                });
            } else if !a.truncated.is_empty() {
                add(
                    &mut out,
                    Need {
                        principal: Some(p),
                        blocking: true,
                        what: format!("{label}'s DefaultConnectionSettings in full"),
                        why: "the only upload for this account shows the value cut".into(),
                        command: Some(query_command(p)),
                    },
                );
            } else if p == Principal::Machine {
                add(&mut out, Need {
                    principal: Some(p),
                    blocking: true,
                    what: "the machine-wide (HKLM) proxy settings".into(),
                    why: "ProxySettingsPerUser = 0: every account uses them, and they are not in the uploads".into(),
                    command: Some(export_command("HKLM", "hklm-internet-settings.reg")),
                });
            } else {
                let sid = p.sid().unwrap_or("S-1-5-18");
                let why = if p == Principal::LocalService {
                    "the sensor service (AATPSensor) runs as LOCAL SERVICE; nothing uploaded shows its proxy setting"
                } else {
                    "the sensor's updater (AATPSensorUpdater) runs as LOCAL SYSTEM; nothing uploaded shows its proxy setting"
                };
                add(
                    &mut out,
                    Need {
                        principal: Some(p),
                        blocking: true,
                        what: format!("{label}'s DefaultConnectionSettings"),
                        why: format!("{why} (or run {COLLECTOR}, which collects every account)"),
                        command: Some(compare_command(sid)),
                    },
                );
            }
            continue;
        }
        if !a.conflict.is_empty() && a.settings.is_none() && a.state != State::Missing {
            add(
                &mut out,
                Need {
                    principal: Some(p),
                    blocking: true,
                    what: format!("a fresh capture of {label}'s DefaultConnectionSettings"),
                    why: "the uploads disagree about this account".into(),
                    command: Some(query_command(p)),
                },
            );
        }
        // Missing while the user has a proxy: `proxy-missing` already says what to do.
        if findings.has_for(FindingId::ProxyMissing, p)
            || findings.has_for(FindingId::ProxyDiffers, p)
        {
            continue;
        }
        // A probe the collector ran as this account, on the customer's network.
        let probed_ok = r
            .captured_probes
            .iter()
            .any(|c| c.principal == Some(p) && c.reached_service())
            || r.direct_route_shown(p);
        let Some(route) = &a.route else { continue };
        match &route.kind {
            RouteKind::Proxy { .. } => {}
            RouteKind::Pac { url } => add(&mut out, Need {
                principal: Some(p),
                blocking: true,
                what: format!("the PAC script {url}"),
                why: format!("{label}'s route to {} is decided by that script", r.endpoint.host),
                command: Some(format!("curl.exe -s -o proxy.pac \"{url}\"")),
            }),
            RouteKind::AutoDetect => add(&mut out, Need {
                principal: Some(p),
                blocking: true,
                what: "the WPAD script (wpad.dat)".into(),
                why: format!("{label} uses automatic detection: the script found on the network decides its route"),
                command: Some("curl.exe -s -o wpad.dat http://wpad/wpad.dat".into()),
            }),
            RouteKind::Direct => {
                let machine_proxied = user == State::Configured;
                if direct_works || probed_ok || (user == State::Direct && !machine_proxied) {
                    continue;
                }
                let why = if user == State::Unknown {
                    format!("{label} goes direct to {}, and the uploads do not show whether the domain controller otherwise uses a proxy", r.endpoint.host)
                } else {
                    format!("{label} goes direct to {} while the machine otherwise uses a proxy; nothing shows that the direct route works", r.endpoint.host)
                };
                add(&mut out, Need {
                    principal: Some(p),
                    blocking: true,
                    what: format!("a reachability test of {} run as {label}", r.endpoint.ping_url()),
                    why,
                    command: Some(COLLECTOR.into()),
                });
                if user == State::Unknown {
                    add(&mut out, Need {
                        principal: Some(Principal::CurrentUser),
                        blocking: false,
                        what: "the current user's Internet Settings".into(),
                        why: "to know whether the domain controller uses a proxy at all".into(),
                        command: Some(export_command("HKCU", "hkcu-internet-settings.reg")),
                    });
                }
            }
        }
    }
    for (p, at) in &r.hive_logs_missing {
        let name = at.file.rsplit(['/', '\\', '!']).next().unwrap_or(&at.file);
        let whose = p.map_or_else(
            || "the account's".to_string(),
            |p| format!("{}'s", p.label()),
        );
        add(&mut out, Need {
            principal: *p,
            blocking: false,
            what: format!("{name}.LOG1 and {name}.LOG2, the transaction logs collected beside {}", at.file),
            why: format!("the hive is dirty: its newest writes are in those logs, so {whose} settings read from it may be out of date (or collect the hive again with reg save, which writes a clean copy)"),
            command: p.and_then(hive_save_command),
        });
    }
    if r.sensor_proxy.is_none() && !r.inputs.iter().any(|i| i.kind == "sensor-config") {
        add(&mut out, Need {
            principal: Some(Principal::Sensor),
            blocking: false,
            what: "SensorConfiguration.json".into(),
            why: "a sensor-level proxy there replaces the per-account settings".into(),
            command: Some("copy \"%ProgramFiles%\\Azure Advanced Threat Protection Sensor\\<version>\\SensorConfiguration.json\" .".into()),
        });
    }
    if r.state(Principal::Winhttp) == State::Unknown {
        add(
            &mut out,
            Need {
                principal: Some(Principal::Winhttp),
                blocking: false,
                what: "the WinHTTP proxy".into(),
                why: "sensors of version 3 and other WinHTTP clients use it".into(),
                command: Some("netsh winhttp show proxy > netsh-winhttp.txt 2>&1".into()),
            },
        );
    }
    if r.api_tests
        .iter()
        .any(|t| t.test.result == Some(false) && t.test.verbose.is_empty())
    {
        add(&mut out, Need {
            principal: None,
            blocking: false,
            what: "the reason behind Test-MDISensorApiConnection's False".into(),
            why: "False is printed for any answer but HTTP 200, the 503 of older workspaces (which means the route works) included".into(),
            command: Some("powershell -Command \"Test-MDISensorApiConnection -Verbose *> api-test.txt\"".into()),
        });
    }
    if r.log_groups.is_empty() && !r.inputs.iter().any(|i| i.kind == "sensor-log") {
        add(&mut out, Need {
            principal: None,
            blocking: false,
            what: "the sensor logs".into(),
            why: "they show what the sensor itself failed to reach".into(),
            command: Some("copy \"%ProgramFiles%\\Azure Advanced Threat Protection Sensor\\<version>\\Logs\\Microsoft.Tri.Sensor*.log\" .".into()),
        });
    }
    out.sort_by_key(|n| !n.blocking);
    out
}

/// `reg save` of the account's hive: a clean copy that needs no transaction logs.
fn hive_save_command(p: Principal) -> Option<String> {
    let (hive, file) = match p {
        Principal::LocalSystem => ("HKU\\S-1-5-18", "hku-s-1-5-18.hiv"),
        Principal::LocalService => ("HKU\\S-1-5-19", "hku-s-1-5-19.hiv"),
        Principal::NetworkService => ("HKU\\S-1-5-20", "hku-s-1-5-20.hiv"),
        Principal::CurrentUser => ("HKCU", "hkcu.hiv"),
        Principal::Machine => ("HKLM\\SOFTWARE", "hklm-software.hiv"),
        Principal::Winhttp | Principal::Sensor => return None,
    };
    Some(format!("reg save \"{hive}\" {file} /y"))
}

fn query_command(p: Principal) -> String {
    let hive = match p.sid() {
        Some(sid) => format!("HKU\\{sid}"),
        None if p == Principal::Machine => "HKLM".to_string(),
        None => "HKCU".to_string(),
    };
    let short = p.sid().map_or("hkcu".to_string(), |s| {
        s.trim_start_matches("S-1-5-").to_string()
    });
    format!(
        "reg query \"{hive}\\{CONNECTIONS}\" /v DefaultConnectionSettings > query-{short}.txt 2>&1"
    )
}
