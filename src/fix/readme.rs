//! `README.txt` for the customer's admin: what the evidence showed per account, what the copy
//! does not fix, the sensor-level alternative, and a check that tests the service accounts.

use crate::proxy::EffectiveSettings;

use super::{
    marker_line, FixRequest, ServiceAccount, Shown, SourceRef, UserBlob, CONNECTIONS_SUBKEY,
    VALUE_NAME,
};

/// Finding ids that mean the proxy wants authentication (contract finding ids).
const AUTH_FINDINGS: [&str; 2] = ["proxy-auth-required", "license-invalid-proxy-suspected"];

/// What the README is written from.
pub(super) struct Context<'a> {
    pub req: &'a FixRequest,
    /// The current user's value the files copy.
    pub chosen: &'a UserBlob,
    /// The other uploads that disagreed about the current user.
    pub conflict: &'a [SourceRef],
    pub effective: EffectiveSettings,
}

/// Customer text made safe for an ASCII README: control characters escaped, common
/// typographic characters spelled in ASCII, anything else as `\u{...}`.
fn ascii(s: &str) -> String {
    let s = crate::text::escape_control(s);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            ' '..='~' => out.push(c),
            '\u{2026}' => out.push_str("..."),
            '\u{2013}' | '\u{2014}' => out.push('-'),
            '\u{2018}' | '\u{2019}' => out.push('\''),
            '\u{201C}' | '\u{201D}' => out.push('"'),
            '\u{2192}' => out.push_str("->"),
            _ => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        }
    }
    out
}

/// The effective settings in one line (proxy, bypass, PAC), passwords redacted.
fn summary(eff: &EffectiveSettings) -> String {
    let mut parts = Vec::new();
    if let Some(p) = eff.proxy_server.as_deref().filter(|_| eff.proxy_enabled) {
        parts.push(format!("proxy {}", crate::secrets::redact(p)));
        if let Some(b) = eff.bypass_list.as_deref().filter(|b| !b.is_empty()) {
            parts.push(format!("bypass {}", crate::secrets::redact(b)));
        }
    }
    if let Some(u) = eff.pac_url() {
        parts.push(format!("PAC script {}", crate::secrets::redact(u)));
    }
    if eff.auto_detect {
        parts.push("automatic detection on".to_string());
    }
    if parts.is_empty() {
        "no proxy".to_string()
    } else {
        ascii(&parts.join(", "))
    }
}

/// A plain DNS name (letters, digits, `.`, `-`), safe to put into a pasted command.
fn is_dns_name(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 253
        && h.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
}

/// `http://host:port` for `Set-MDISensorProxyConfiguration`, when the user's proxy is one
/// plain `host:port` (no per-scheme list, no credentials, nothing a shell would interpret);
/// else a placeholder.
fn sensor_proxy_url(eff: &EffectiveSettings) -> String {
    let plain = eff
        .proxy_server
        .as_deref()
        .filter(|_| eff.proxy_enabled)
        .map(str::trim)
        .filter(|p| {
            !p.is_empty()
                && p.len() <= 300
                && p.chars().all(|c| {
                    c.is_ascii_alphanumeric()
                        || matches!(c, '.' | '-' | ':' | '_' | '[' | ']' | '/')
                })
        });
    match plain {
        Some(p) if p.contains("://") => p.to_string(),
        Some(p) => format!("http://{p}"),
        None => "http://<proxy>:<port>".to_string(),
    }
}

/// The README text (LF line ends; the caller converts to CRLF).
pub(super) fn readme(cx: &Context<'_>) -> String {
    let req = cx.req;
    let case = ascii(&req.case);
    let source = ascii(&cx.chosen.source.to_string());
    // The host goes into commands the admin pastes: only a plain DNS name is used.
    let known_host = req.endpoint_host.as_deref().filter(|h| is_dns_name(h));
    let host = known_host
        .map(str::to_string)
        .unwrap_or_else(|| "<workspace>sensorapi.atp.azure.com".to_string());
    let ping = format!("https://{host}/tri/sensor/api/ping");
    let mut s = format!("[{}]\n\n", marker_line("", "README.txt").trim_start());
    let title = format!("Proxy fix for the Microsoft Defender for Identity sensor - case {case}");
    let underline = "=".repeat(title.len());
    s.push_str(&format!(
        "{title}\n{underline}\n\n\
         The sensor service (AATPSensor) runs as LOCAL SERVICE (S-1-5-19) and its updater\n\
         (AATPSensorUpdater) as LOCAL SYSTEM (S-1-5-18). Both must reach {host}:443.\n\
         These files do the documented (\"legacy\") registry step: they copy the current user's\n\
         {VALUE_NAME} to BOTH service accounts, whatever each one holds today:\n\n  \
           HKU\\S-1-5-18\\{CONNECTIONS_SUBKEY}\n  \
           HKU\\S-1-5-19\\{CONNECTIONS_SUBKEY}\n\n\
         The value copied is the one in {source}: {}.\n\
         fix.reg sets these two values and nothing else; it deletes nothing.\n",
        summary(&cx.effective)
    ));
    if known_host.is_none() {
        s.push_str(
            "(<workspace> stands for your workspace name, shown on the About page of the\n\
             Identities settings in the Microsoft Defender portal.)\n",
        );
    }

    s.push_str("\nWhat the uploads showed\n-----------------------\n\n");
    for account in ServiceAccount::BOTH {
        let (shown, evidence) = req.shown(account);
        let what = match shown {
            Shown::NotUploaded => format!("nothing was uploaded for {}", account.name()),
            other => other.describe().to_string(),
        };
        s.push_str(&format!(
            "  {} ({}), {}:\n    {what}.\n",
            account.name(),
            account.sid(),
            account.service()
        ));
        if !evidence.is_empty() {
            let list: Vec<String> = evidence.iter().map(|e| ascii(&e.to_string())).collect();
            s.push_str(&format!("    Evidence: {}\n", list.join(", ")));
        }
        if shown == Shown::NotUploaded {
            s.push_str("    fix.reg sets it anyway, as the documented procedure does.\n");
        }
    }
    if !cx.conflict.is_empty() {
        let others: Vec<String> = cx.conflict.iter().map(|e| ascii(&e.to_string())).collect();
        s.push_str(&format!(
            "\n  The uploads DISAGREE about the current user's value: {source} (used here)\n  \
             vs {}. Make sure the value used is the one in effect today before importing.\n",
            others.join(", ")
        ));
    }

    s.push_str("\nWhat this copy does not fix\n---------------------------\n\n");
    if req.other_errors.is_empty() {
        s.push_str("  The uploads show no other error. If the sensor still cannot connect after the\n  copy, the check below tells whether the proxy path works for LOCAL SERVICE.\n");
    } else {
        s.push_str("  The uploads also show these errors; each needs its own action:\n\n");
        for e in &req.other_errors {
            s.push_str(&format!(
                "  - {} ({})\n    Action: {}\n",
                ascii(&e.title),
                ascii(&e.id),
                ascii(&e.action)
            ));
        }
    }

    // A proxy that wants a login is not satisfied by the copy: say so where it matters.
    if let Some(auth) = req
        .other_errors
        .iter()
        .find(|e| AUTH_FINDINGS.contains(&e.id.as_str()))
    {
        s.push_str(&format!(
            "\n  Note: {} means the proxy asks the sensor for a login. The copy alone will\n  \
             not make the sensor connect: use the sensor-level proxy below with credentials,\n  \
             or exempt *.atp.azure.com from authentication on the proxy.\n",
            ascii(&auth.id)
        ));
    }

    let proxy_url = sensor_proxy_url(&cx.effective);
    s.push_str(&format!(
        "\nThe recommended alternative: a proxy for the sensor itself\n\
         ----------------------------------------------------------\n\n\
         Microsoft now documents a sensor-level proxy first and calls the registry copy a legacy\n\
         method. Both sensor services then use that proxy, whatever the accounts' settings:\n\n  \
           Set-MDISensorProxyConfiguration -ProxyUrl '{proxy_url}'\n  \
           (module DefenderForIdentity; add -ProxyCredential $cred when the proxy needs a login)\n\n\
         or, when installing the sensor, the installer switch ProxyUrl=\"{proxy_url}\"\n\
         (with ProxyUserName and ProxyUserPassword for an authenticating proxy).\n\
         Prefer it when the proxy demands authentication (a 407 in the sensor log), when other\n\
         programs running as LOCAL SYSTEM or LOCAL SERVICE must keep their own settings, or when\n\
         the account values keep being reset (a GPO or another tool rewrites them). Use one\n\
         method, and change it later with the method you used.\n"
    ));

    s.push_str(
        "\nSteps (on the domain controller)\n\
         --------------------------------\n\n\
         1. Open an elevated command prompt (right-click Command Prompt, Run as administrator)\n   \
            and change to the folder that holds these files, for example:\n       \
              cd /d \"C:\\Users\\admin\\Downloads\\fix (1)\"\n\n\
         2. Back up:  backup.cmd\n   \
            It changes nothing. It writes backup-<stamp>-<n>-S-1-5-18.reg / -S-1-5-19.reg (or\n   \
            .absent when the value does not exist yet; a .hex file keeps the value for the\n   \
            restore check) in this folder, and records the first backup in first-backup.txt.\n   \
            Do not go on unless it ends with \"Backup done\".\n\n\
         3. Import:   reg import fix.reg\n\n\
         4. Restart both sensor services so they read the new setting:\n       \
              net stop AATPSensorUpdater\n       \
              net stop AATPSensor\n       \
              net start AATPSensor\n       \
              net start AATPSensorUpdater\n\n\
         5. Check the route as LOCAL SERVICE, the account the sensor runs as (below).\n\n\
         To undo: run restore.cmd from an elevated prompt in this folder, then restart the\n\
         services again. It restores the backup named in first-backup.txt (the state before\n\
         the first import, even if backup.cmd ran again later); restore.cmd <ID> restores another\n\
         set. A value that did not exist before is deleted. It stops with FAILED and a non-zero\n\
         exit code when a reg command fails.\n",
    );

    s.push_str(&format!(
        "\nCheck 1: the sensor endpoint as LOCAL SERVICE\n\
         ---------------------------------------------\n\n\
         A browser as the current user tests the wrong account. Test {ping}\n\
         as LOCAL SERVICE. A good answer is HTTP 200 with a sensor version number (older\n\
         workspaces may answer 503 \"The service is unavailable\", which also means the route\n\
         works); a certificate error means SSL inspection or missing root certificates.\n\n"
    ));
    if req.collector_available {
        s.push_str(
            "  Easiest: run collect-mdi-proxy.cmd (from `proxy-triage collect-script`) elevated; it\n  \
             runs this probe as LOCAL SERVICE and LOCAL SYSTEM and puts the answers in its zip.\n\n  \
             Without it, a scheduled task does the same:\n\n",
        );
    } else {
        s.push_str("  A scheduled task runs the probe as LOCAL SERVICE (elevated prompt):\n\n");
    }
    s.push_str(&format!(
        "    schtasks /create /f /tn MDI-ping /ru \"NT AUTHORITY\\LOCALSERVICE\" /sc once /st 00:00 /tr \"powershell -NoProfile -Command &{{try{{(Invoke-WebRequest -UseBasicParsing {ping}).StatusCode}}catch{{$_.Exception.Message}}}}|Out-File $env:TEMP\\mdi-ping.txt\"\n    \
           schtasks /run /tn MDI-ping\n    \
           (wait half a minute)\n    \
           type C:\\Windows\\ServiceProfiles\\LocalService\\AppData\\Local\\Temp\\mdi-ping.txt\n    \
           schtasks /delete /tn MDI-ping /f\n\n  \
         The file holds 200 (or a 503 message from an older workspace) when the route works.\n"
    ));

    s.push_str(&format!(
        "\nCheck 2: the values, ignoring the change counter\n\
         ------------------------------------------------\n\n\
         Bytes 4-7 of {VALUE_NAME} are a change counter: Windows adds one each time the\n\
         settings are saved, so the copy can differ there while every setting is the same.\n\
         \"reg compare\" counts it and then prints \"Different\"; do not rely on it. Instead run\n\n    \
           reg query \"HKCU\\{CONNECTIONS_SUBKEY}\" /v {VALUE_NAME}\n    \
           reg query \"HKU\\S-1-5-18\\{CONNECTIONS_SUBKEY}\" /v {VALUE_NAME}\n    \
           reg query \"HKU\\S-1-5-19\\{CONNECTIONS_SUBKEY}\" /v {VALUE_NAME}\n\n\
         The hex strings must be equal except characters 9 to 16 (bytes 4-7). Or export the\n\
         three keys (reg export ... file.reg) and send them back: `proxy-triage analyze`\n\
         compares them with the counter ignored.\n"
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customer_text_becomes_ascii() {
        assert_eq!(ascii("a\u{2026} \u{2014} \u{e9}"), "a... - \\u{e9}");
        assert!(ascii("x\u{1b}[31m").is_ascii());
    }

    #[test]
    fn sensor_proxy_url_only_for_a_plain_proxy() {
        let mut eff = EffectiveSettings::from_sensor_proxy_url("http://p:1");
        eff.proxy_enabled = true;
        eff.proxy_server = Some("proxy.contoso.com:8080".into());
        assert_eq!(sensor_proxy_url(&eff), "http://proxy.contoso.com:8080");
        eff.proxy_server = Some("http=a:1;https=b:2".into());
        assert_eq!(sensor_proxy_url(&eff), "http://<proxy>:<port>");
        eff.proxy_server = Some("user:pw@proxy:8080".into());
        assert_eq!(sensor_proxy_url(&eff), "http://<proxy>:<port>");
        eff.proxy_server = Some("p:1' ; calc".into());
        assert_eq!(sensor_proxy_url(&eff), "http://<proxy>:<port>");
        eff.proxy_server = Some("http://[::1]:3128".into());
        assert_eq!(sensor_proxy_url(&eff), "http://[::1]:3128");
    }

    #[test]
    fn only_a_plain_endpoint_name_goes_into_the_commands() {
        assert!(is_dns_name("contoso-corpsensorapi.atp.azure.com"));
        assert!(!is_dns_name("x\" & del C:\\ & \"y"));
        assert!(!is_dns_name(""));
    }
}
