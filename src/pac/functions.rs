//! The PAC helper functions as Windows offers them (Netscape's set plus Microsoft's IPv6
//! extensions), in Rust, answering from the customer's facts only (never real DNS).
//!
//! Semantics follow the Netscape/Microsoft documentation and, where those are silent, the
//! behaviour Chromium's PAC library tests pin down (see `docs/pac.md`). Host comparisons are
//! case-sensitive, as in every peer implementation.

use std::cell::RefCell;
use std::net::{IpAddr, Ipv4Addr};
use std::rc::Rc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use rquickjs::function::Rest;
use rquickjs::{Ctx, Function, Value};

use super::limits::{MAX_ALERTS, MAX_ALERT_CHARS, MAX_HELPER_ARG_BYTES};
use super::{normalize_name, Dependency, FactUsed, PacFacts};

/// Most dependencies recorded (a script resolving a million names still ends bounded).
const MAX_DEPENDENCIES: usize = 64;
/// Longest name kept in a `dnsResolve:NAME` dependency.
const MAX_DEPENDENCY_NAME: usize = 253;

/// What the helpers know and what they noticed, shared by every helper of one evaluation.
#[derive(Debug)]
pub(crate) struct HelperState {
    pub facts: PacFacts,
    pub depends_on: Vec<Dependency>,
    /// Facts of the command line the helpers answered from.
    pub facts_used: Vec<FactUsed>,
    pub alerts: Vec<String>,
    /// Helpers stop long work (shExpMatch on huge strings) at this instant.
    pub deadline: Instant,
}

impl HelperState {
    pub fn new(facts: PacFacts, deadline: Instant) -> HelperState {
        HelperState {
            facts,
            depends_on: Vec::new(),
            facts_used: Vec::new(),
            alerts: Vec::new(),
            deadline,
        }
    }

    fn depend(&mut self, d: Dependency) {
        if self.depends_on.len() < MAX_DEPENDENCIES && !self.depends_on.contains(&d) {
            self.depends_on.push(d);
        }
    }

    fn used(&mut self, f: FactUsed) {
        if self.facts_used.len() < MAX_DEPENDENCIES && !self.facts_used.contains(&f) {
            self.facts_used.push(f);
        }
    }

    /// Every address of `name`: an IP literal is itself; otherwise the facts, and an unknown
    /// name is unresolvable (recorded as an assumption unless `--unresolvable` said so).
    pub fn resolve_all(&mut self, name: &str) -> Vec<IpAddr> {
        if let Some(ip) = ip_literal(name) {
            return vec![ip];
        }
        let key = normalize_name(name);
        if let Some(ips) = self.facts.resolve.get(&key) {
            let ips = ips.clone();
            self.used(FactUsed::Resolve(key, ips.clone()));
            return ips;
        }
        if self.facts.unresolvable.contains(&key) {
            self.used(FactUsed::Unresolvable(key));
        } else {
            let shown: String = key.chars().take(MAX_DEPENDENCY_NAME).collect();
            self.depend(Dependency::DnsResolve(shown));
        }
        Vec::new()
    }

    /// The first IPv4 address of `name` (what `dnsResolve` answers).
    pub fn resolve_v4(&mut self, name: &str) -> Option<Ipv4Addr> {
        self.resolve_all(name).into_iter().find_map(|ip| match ip {
            IpAddr::V4(v4) => Some(v4),
            IpAddr::V6(_) => None,
        })
    }

    /// `myIpAddress()`: the first IPv4 fact, else the first fact, else 127.0.0.1 (recorded).
    pub fn my_ip(&mut self) -> IpAddr {
        let facts = &self.facts.my_ips;
        match facts.iter().find(|ip| ip.is_ipv4()).or(facts.first()) {
            Some(ip) => {
                let ip = *ip;
                self.used(FactUsed::MyIpAddress(ip));
                ip
            }
            None => {
                self.depend(Dependency::MyIpAddress);
                IpAddr::V4(Ipv4Addr::LOCALHOST)
            }
        }
    }

    /// `myIpAddressEx()`: every fact, else 127.0.0.1 (recorded).
    pub fn my_ips(&mut self) -> Vec<IpAddr> {
        if self.facts.my_ips.is_empty() {
            self.depend(Dependency::MyIpAddress);
            return vec![IpAddr::V4(Ipv4Addr::LOCALHOST)];
        }
        let ips = self.facts.my_ips.clone();
        self.used(FactUsed::MyIpAddressEx(ips.clone()));
        ips
    }

    /// The clock (`--now`, else the wall clock, recorded).
    pub fn now(&mut self) -> Civil {
        let secs = match self.facts.now {
            Some(s) => {
                self.used(FactUsed::Clock(s));
                s
            }
            None => {
                self.depend(Dependency::Clock);
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
                    .unwrap_or(0)
            }
        };
        Civil::from_unix(secs)
    }

    fn alert(&mut self, msg: &str) {
        if self.alerts.len() < MAX_ALERTS {
            self.alerts
                .push(msg.chars().take(MAX_ALERT_CHARS).collect());
        }
    }
}

/// An IP address literal (IPv6 with or without brackets).
pub fn ip_literal(s: &str) -> Option<IpAddr> {
    let inner = s
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(s);
    inner.parse().ok()
}

/// `isPlainHostName(host)`: no dot, and not an IPv6 literal.
pub fn is_plain_host_name(host: &str) -> bool {
    !host.contains('.') && host.parse::<std::net::Ipv6Addr>().is_err()
}

/// `dnsDomainIs(host, domain)`: `host` ends with `domain` (case-sensitive).
pub fn dns_domain_is(host: &str, domain: &str) -> bool {
    host.ends_with(domain)
}

/// `localHostOrDomainIs(host, hostdom)`: equal, or `host` is unqualified and `hostdom` starts
/// with `host.`.
pub fn local_host_or_domain_is(host: &str, hostdom: &str) -> bool {
    host == hostdom
        || (!host.contains('.')
            && hostdom
                .strip_prefix(host)
                .is_some_and(|r| r.starts_with('.')))
}

/// `dnsDomainLevels(host)`: the number of dots.
pub fn dns_domain_levels(host: &str) -> usize {
    host.bytes().filter(|b| *b == b'.').count()
}

/// `shExpMatch(str, pattern)`: shell glob with `*` and `?` only (no character classes, as in
/// Chromium and pac-resolver), anchored, case-sensitive. Linear memory, O(n*m) time at worst;
/// gives up (false) at `deadline`.
pub fn sh_exp_match(s: &str, pattern: &str, deadline: Instant) -> bool {
    let text: Vec<char> = s.chars().collect();
    let pat: Vec<char> = pattern.chars().collect();
    let (mut t, mut p) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    let mut steps: u32 = 0;
    while t < text.len() {
        steps = steps.wrapping_add(1);
        if steps.is_multiple_of(16_384) && Instant::now() >= deadline {
            return false;
        }
        match pat.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(c) if *c == '?' || Some(c) == text.get(t) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pat.get(p..)
        .is_some_and(|rest| rest.iter().all(|c| *c == '*'))
}

/// `isInNet(addr, pattern, mask)` once `addr` is an IPv4 address; `None` when the pattern or
/// mask is not a dotted IPv4 address (the function then answers false).
pub fn in_net_v4(addr: Ipv4Addr, pattern: &str, mask: &str) -> Option<bool> {
    let pattern: Ipv4Addr = pattern.parse().ok()?;
    let mask: Ipv4Addr = mask.parse().ok()?;
    let m = u32::from(mask);
    Some(u32::from(addr) & m == u32::from(pattern) & m)
}

/// `isInNetEx(addr, "prefix/len")`: false when either is malformed or the families differ.
pub fn is_in_net_ex(addr: &str, prefix: &str) -> bool {
    let Ok(ip) = addr.parse::<IpAddr>() else {
        return false;
    };
    let Some((net, len)) = prefix.split_once('/') else {
        return false;
    };
    let (Ok(net), Ok(len)) = (net.parse::<IpAddr>(), len.parse::<u32>()) else {
        return false;
    };
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) if len <= 32 => {
            let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) if len <= 128 => {
            let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// `sortIpAddressList(list)`: IPv6 addresses first, then IPv4, each in ascending order,
/// stable, as written; `None` (JS false) when the list is empty or holds a non-address.
pub fn sort_ip_address_list(list: &str) -> Option<String> {
    let mut items: Vec<(IpAddr, &str)> = Vec::new();
    for raw in list.split(';') {
        let item = raw.trim();
        if item.is_empty() {
            continue;
        }
        items.push((item.parse().ok()?, item));
    }
    if items.is_empty() {
        return None;
    }
    items.sort_by_key(|(ip, _)| match ip {
        IpAddr::V6(v6) => (0u8, u128::from(*v6)),
        IpAddr::V4(v4) => (1u8, u128::from(u32::from(*v4))),
    });
    Some(items.iter().map(|(_, s)| *s).collect::<Vec<_>>().join(";"))
}

/// A calendar instant (UTC = local time here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    /// 1..=12
    pub month: u32,
    /// 1..=31
    pub day: u32,
    /// 0 = Sunday
    pub weekday: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's days_from_civil).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl Civil {
    /// Seconds since 1970 UTC to a calendar date (Hinnant's days-from-civil inverse).
    pub fn from_unix(secs: i64) -> Civil {
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        Civil {
            year,
            month: u32::try_from(month).unwrap_or(1),
            day: u32::try_from(day).unwrap_or(1),
            weekday: u32::try_from((days + 4).rem_euclid(7)).unwrap_or(0),
            hour: u32::try_from(sod / 3600).unwrap_or(0),
            minute: u32::try_from(sod % 3600 / 60).unwrap_or(0),
            second: u32::try_from(sod % 60).unwrap_or(0),
        }
    }
}

/// An argument of the date/time functions: a number, a name (`"MON"`, `"MAR"`, `"GMT"`), or
/// anything else.
#[derive(Debug, Clone, PartialEq)]
pub enum DateArg {
    Num(f64),
    Name(String),
    Other,
}

impl DateArg {
    fn number(&self) -> Option<i64> {
        match self {
            DateArg::Num(n) if n.is_finite() => Some(n.trunc() as i64),
            DateArg::Name(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        }
    }

    fn is_gmt(&self) -> bool {
        matches!(self, DateArg::Name(s) if s == "GMT")
    }
}

/// The arguments without a trailing `"GMT"` (UTC is local time here, so it changes nothing).
fn strip_gmt(args: &[DateArg]) -> &[DateArg] {
    match args.split_last() {
        Some((last, rest)) if last.is_gmt() => rest,
        _ => args,
    }
}

const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];

fn weekday_of(a: &DateArg) -> Option<u32> {
    let DateArg::Name(s) = a else { return None };
    WEEKDAYS
        .iter()
        .position(|w| w == s)
        .and_then(|i| u32::try_from(i).ok())
}

/// `weekdayRange(wd1 [, wd2] [, "GMT"])`: inclusive, wrapping (`"FRI", "MON"` = Fri..Mon).
pub fn weekday_range(args: &[DateArg], now: &Civil) -> bool {
    let args = strip_gmt(args);
    let (Some(a), rest) = (args.first(), args.get(1..).unwrap_or(&[])) else {
        return false;
    };
    let Some(wd1) = weekday_of(a) else {
        return false;
    };
    let wd2 = match rest {
        [] => wd1,
        [b] => match weekday_of(b) {
            Some(w) => w,
            None => return false,
        },
        _ => return false,
    };
    let wd = now.weekday;
    if wd1 <= wd2 {
        wd1 <= wd && wd <= wd2
    } else {
        wd >= wd1 || wd <= wd2
    }
}

/// One field of a `dateRange` argument list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DateField {
    Day(i64),
    Month(i64),
    Year(i64),
}

fn date_field(a: &DateArg) -> Option<DateField> {
    if let DateArg::Name(s) = a {
        if let Some(i) = MONTHS.iter().position(|m| m == s) {
            return i64::try_from(i).ok().map(|m| DateField::Month(m + 1));
        }
    }
    match a.number()? {
        d @ 1..=31 => Some(DateField::Day(d)),
        y if y >= 32 => Some(DateField::Year(y)),
        _ => None,
    }
}

fn same_shape(a: &[DateField], b: &[DateField]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| std::mem::discriminant(x) == std::mem::discriminant(y))
}

/// (year, month, day) restricted to the fields present, for comparison.
fn key(fields: &[DateField], year: i64, month: i64, day: i64) -> [i64; 3] {
    let has = |f: fn(&DateField) -> bool| fields.iter().any(f);
    [
        if has(|f| matches!(f, DateField::Year(_))) {
            year
        } else {
            0
        },
        if has(|f| matches!(f, DateField::Month(_))) {
            month
        } else {
            0
        },
        if has(|f| matches!(f, DateField::Day(_))) {
            day
        } else {
            0
        },
    ]
}

fn fields_key(fields: &[DateField]) -> [i64; 3] {
    let mut k = [0; 3];
    for f in fields {
        match f {
            DateField::Year(y) => k[0] = *y,
            DateField::Month(m) => k[1] = *m,
            DateField::Day(d) => k[2] = *d,
        }
    }
    k
}

/// `dateRange(...)`: the Netscape forms. Two halves of the same shape are an inclusive range
/// (wrapping over the year end when no year is given); any other list must match today.
pub fn date_range(args: &[DateArg], now: &Civil) -> bool {
    let args = strip_gmt(args);
    if args.is_empty() || args.len() > 6 {
        return false;
    }
    let Some(fields) = args.iter().map(date_field).collect::<Option<Vec<_>>>() else {
        return false;
    };
    let today = |f: &[DateField]| key(f, now.year, i64::from(now.month), i64::from(now.day));
    let half = fields.len() / 2;
    let (first, second) = fields.split_at(half);
    if fields.len() % 2 == 0 && same_shape(first, second) {
        let (start, end, t) = (fields_key(first), fields_key(second), today(first));
        let has_year = first.iter().any(|f| matches!(f, DateField::Year(_)));
        if start <= end || has_year {
            start <= t && t <= end
        } else {
            t >= start || t <= end
        }
    } else {
        fields_key(&fields) == today(&fields)
    }
}

/// `timeRange(h)`, `(h1, h2)`, `(h1, m1, h2, m2)`, `(h1, m1, s1, h2, m2, s2)` [, "GMT"]:
/// inclusive (an end without seconds runs to :59), wrapping over midnight.
pub fn time_range(args: &[DateArg], now: &Civil) -> bool {
    let args = strip_gmt(args);
    let Some(n) = args.iter().map(DateArg::number).collect::<Option<Vec<_>>>() else {
        return false;
    };
    let t = i64::from(now.hour * 3600 + now.minute * 60 + now.second);
    // Script-supplied numbers can be huge: saturate rather than overflow.
    let s = |h: i64, m: i64, sec: i64| {
        h.saturating_mul(3600)
            .saturating_add(m.saturating_mul(60))
            .saturating_add(sec)
    };
    let (start, end) = match n.as_slice() {
        [h] => return i64::from(now.hour) == *h,
        [h1, h2] => (s(*h1, 0, 0), s(*h2, 59, 59)),
        [h1, m1, h2, m2] => (s(*h1, *m1, 0), s(*h2, *m2, 59)),
        [h1, m1, s1, h2, m2, s2] => (s(*h1, *m1, *s1), s(*h2, *m2, *s2)),
        _ => return false,
    };
    if start <= end {
        start <= t && t <= end
    } else {
        t >= start || t <= end
    }
}

// ---------------------------------------------------------------------------------------
// Binding into QuickJS
// ---------------------------------------------------------------------------------------

type Shared = Rc<RefCell<HelperState>>;

/// A string argument (numbers are converted as JS prints them); `None` for a missing,
/// non-string or over-long argument.
fn str_arg(args: &Rest<Value<'_>>, i: usize) -> Option<String> {
    let v = args.0.get(i)?;
    if let Some(s) = v.as_string() {
        let s = s.to_string().ok()?;
        return (s.len() <= MAX_HELPER_ARG_BYTES).then_some(s);
    }
    let n = v.as_number()?;
    Some(if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    })
}

fn date_args(args: &Rest<Value<'_>>) -> Vec<DateArg> {
    args.0
        .iter()
        .take(8)
        .map(|v| {
            if let Some(n) = v.as_number() {
                DateArg::Num(n)
            } else if let Some(s) = v.as_string().and_then(|s| s.to_string().ok()) {
                DateArg::Name(s.chars().take(16).collect())
            } else {
                DateArg::Other
            }
        })
        .collect()
}

fn js_str<'js>(ctx: &Ctx<'js>, s: &str) -> rquickjs::Result<Value<'js>> {
    Ok(rquickjs::String::from_str(ctx.clone(), s)?.into_value())
}

fn join(ips: &[IpAddr]) -> String {
    ips.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(";")
}

/// Defines every helper as a global function of `ctx`.
pub(crate) fn install<'js>(ctx: &Ctx<'js>, state: &Shared) -> rquickjs::Result<()> {
    let g = ctx.globals();
    macro_rules! def {
        ($name:literal, |$c:ident, $st:ident, $a:ident| $body:expr) => {{
            let shared = Rc::clone(state);
            let f = Function::new(
                ctx.clone(),
                move |$c: Ctx<'js>, $a: Rest<Value<'js>>| -> rquickjs::Result<Value<'js>> {
                    let mut guard = shared.borrow_mut();
                    let $st: &mut HelperState = &mut guard;
                    $body
                },
            )?
            .with_name($name)?;
            g.set($name, f)?;
        }};
    }
    let t = |c: &Ctx<'js>, b: bool| Ok(Value::new_bool(c.clone(), b));
    def!("isPlainHostName", |c, _s, a| t(
        &c,
        str_arg(&a, 0).is_some_and(|h| is_plain_host_name(&h))
    ));
    def!("dnsDomainIs", |c, _s, a| t(
        &c,
        match (str_arg(&a, 0), str_arg(&a, 1)) {
            (Some(h), Some(d)) => dns_domain_is(&h, &d),
            _ => false,
        }
    ));
    def!("localHostOrDomainIs", |c, _s, a| t(
        &c,
        match (str_arg(&a, 0), str_arg(&a, 1)) {
            (Some(h), Some(d)) => local_host_or_domain_is(&h, &d),
            _ => false,
        }
    ));
    def!("dnsDomainLevels", |c, _s, a| {
        let n = str_arg(&a, 0).map_or(0, |h| dns_domain_levels(&h));
        Ok(Value::new_int(c, i32::try_from(n).unwrap_or(i32::MAX)))
    });
    def!("shExpMatch", |c, s, a| {
        let deadline = s.deadline;
        t(
            &c,
            match (str_arg(&a, 0), str_arg(&a, 1)) {
                (Some(x), Some(p)) => sh_exp_match(&x, &p, deadline),
                _ => false,
            },
        )
    });
    def!("isResolvable", |c, s, a| {
        let ok = str_arg(&a, 0).is_some_and(|h| s.resolve_v4(&h).is_some());
        t(&c, ok)
    });
    def!("isResolvableEx", |c, s, a| {
        let ok = str_arg(&a, 0).is_some_and(|h| !s.resolve_all(&h).is_empty());
        t(&c, ok)
    });
    def!(
        "dnsResolve",
        |c, s, a| match str_arg(&a, 0).and_then(|h| s.resolve_v4(&h)) {
            Some(ip) => js_str(&c, &ip.to_string()),
            None => Ok(Value::new_null(c)),
        }
    );
    def!("dnsResolveEx", |c, s, a| {
        let ips = str_arg(&a, 0)
            .map(|h| s.resolve_all(&h))
            .unwrap_or_default();
        js_str(&c, &join(&ips))
    });
    def!("myIpAddress", |c, s, _a| js_str(&c, &s.my_ip().to_string()));
    def!("myIpAddressEx", |c, s, _a| js_str(&c, &join(&s.my_ips())));
    def!("isInNet", |c, s, a| {
        let ok = match (str_arg(&a, 0), str_arg(&a, 1), str_arg(&a, 2)) {
            (Some(h), Some(p), Some(m)) => {
                let valid = p.parse::<Ipv4Addr>().is_ok() && m.parse::<Ipv4Addr>().is_ok();
                let addr = match h.parse::<Ipv4Addr>() {
                    Ok(ip) => Some(ip),
                    Err(_) if valid => s.resolve_v4(&h),
                    Err(_) => None,
                };
                addr.and_then(|ip| in_net_v4(ip, &p, &m)).unwrap_or(false)
            }
            _ => false,
        };
        t(&c, ok)
    });
    def!(
        "isInNetEx",
        |c, _s, a| match (str_arg(&a, 0), str_arg(&a, 1)) {
            (Some(ip), Some(p)) => t(&c, is_in_net_ex(&ip, &p)),
            _ => Ok(Value::new_null(c)),
        }
    );
    def!("sortIpAddressList", |c, _s, a| match str_arg(&a, 0) {
        Some(l) => match sort_ip_address_list(&l) {
            Some(sorted) => js_str(&c, &sorted),
            None => t(&c, false),
        },
        None => Ok(Value::new_null(c)),
    });
    def!("getClientVersion", |c, _s, _a| js_str(&c, "1.0"));
    def!("weekdayRange", |c, s, a| {
        let now = s.now();
        t(&c, weekday_range(&date_args(&a), &now))
    });
    def!("dateRange", |c, s, a| {
        let now = s.now();
        t(&c, date_range(&date_args(&a), &now))
    });
    def!("timeRange", |c, s, a| {
        let now = s.now();
        t(&c, time_range(&date_args(&a), &now))
    });
    def!("alert", |c, s, a| {
        if let Some(m) = str_arg(&a, 0) {
            s.alert(&m);
        }
        Ok(Value::new_undefined(c))
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn far() -> Instant {
        Instant::now() + Duration::from_secs(60)
    }

    /// 2009-03-03 (a Tuesday) at 03:34:01 UTC, the instant of Chromium's PAC library tests.
    const TUE_2009_03_03: i64 = 1_236_051_241;

    fn at(secs: i64) -> Civil {
        Civil::from_unix(secs)
    }

    fn n(v: f64) -> DateArg {
        DateArg::Num(v)
    }
    fn s(v: &str) -> DateArg {
        DateArg::Name(v.into())
    }

    #[test]
    fn civil_dates() {
        let c = at(TUE_2009_03_03);
        assert_eq!((c.year, c.month, c.day, c.weekday), (2009, 3, 3, 2));
        assert_eq!((c.hour, c.minute, c.second), (3, 34, 1));
        assert_eq!(at(0).weekday, 4);
        let leap = at(951_782_400); // 2000-02-29
        assert_eq!((leap.year, leap.month, leap.day), (2000, 2, 29));
        let before = at(-1);
        assert_eq!(
            (before.year, before.month, before.day, before.hour),
            (1969, 12, 31, 23)
        );
    }

    #[test]
    fn dns_domain_is_cases() {
        assert!(dns_domain_is("google.com", ".com"));
        assert!(dns_domain_is("google.co.uk", ".co.uk"));
        assert!(!dns_domain_is("google.com", ".co.uk"));
        assert!(!dns_domain_is("www.adobe.com", ".ad"));
        // Case-sensitive, like every peer implementation.
        assert!(!dns_domain_is("WS.ATP.AZURE.COM", ".atp.azure.com"));
    }

    #[test]
    fn dns_domain_levels_cases() {
        assert_eq!(dns_domain_levels("www"), 0);
        assert_eq!(dns_domain_levels("www.google.com"), 2);
        assert_eq!(dns_domain_levels("192.168.1.1"), 3);
    }

    #[test]
    fn in_net_cases() {
        let ip = |s: &str| s.parse::<Ipv4Addr>().ok();
        assert_eq!(
            ip("192.89.132.25").and_then(|a| in_net_v4(a, "192.89.132.25", "255.255.255.255")),
            Some(true)
        );
        assert_eq!(
            ip("193.89.132.25").and_then(|a| in_net_v4(a, "192.89.132.25", "255.255.255.255")),
            Some(false)
        );
        assert_eq!(
            ip("192.89.132.25").and_then(|a| in_net_v4(a, "192.89.0.0", "255.255.0.0")),
            Some(true)
        );
        assert_eq!(
            ip("193.89.132.25").and_then(|a| in_net_v4(a, "192.89.0.0", "255.255.0.0")),
            Some(false)
        );
        assert_eq!(
            ip("10.0.0.1").and_then(|a| in_net_v4(a, "10.0.0", "255.0.0.0")),
            None
        );
    }

    #[test]
    fn plain_host_names() {
        assert!(is_plain_host_name("google"));
        assert!(!is_plain_host_name("google.com"));
        assert!(!is_plain_host_name("192.168.1.1"));
        assert!(!is_plain_host_name("."));
        assert!(!is_plain_host_name(".:"));
        assert!(!is_plain_host_name("::1"));
        assert!(is_plain_host_name("foopy::1"));
        assert!(is_plain_host_name("foo:112"));
        assert!(is_plain_host_name(":"));
        assert!(is_plain_host_name("[:]"));
        assert!(is_plain_host_name("[::1]"));
    }

    #[test]
    fn local_host_or_domain() {
        assert!(local_host_or_domain_is("www.google.com", "www.google.com"));
        assert!(local_host_or_domain_is("www", "www.google.com"));
        assert!(!local_host_or_domain_is(
            "maps.google.com",
            "www.google.com"
        ));
        assert!(!local_host_or_domain_is("ww", "www.google.com"));
    }

    #[test]
    fn sh_exp_match_cases() {
        assert!(sh_exp_match("foo.jpg", "*.jpg", far()));
        assert!(sh_exp_match("foo5.jpg", "*o?.jpg", far()));
        assert!(!sh_exp_match("foo.jpg", ".jpg", far()));
        assert!(!sh_exp_match("foo.jpg", "foo", far()));
        assert!(sh_exp_match("", "*", far()));
        assert!(sh_exp_match("a.b", "a.b", far()));
        assert!(!sh_exp_match("axb", "a.b", far()));
        // The classic sensor trap: a URL pattern without the scheme's slashes.
        assert!(sh_exp_match(
            "https://x.atp.azure.com/tri/sensor/api/ping",
            "*.atp.azure.com/*",
            far()
        ));
        assert!(!sh_exp_match(
            "https://x.atp.azure.com/tri/sensor/api/ping",
            "*.atp.azure.com",
            far()
        ));
        // Stays fast on a pattern that makes backtracking regex engines explode.
        let long = "a".repeat(5000);
        let pat = "*a".repeat(200) + "b";
        assert!(!sh_exp_match(&long, &pat, far()));
    }

    #[test]
    fn sh_exp_match_gives_up_at_the_deadline() {
        let long = "a".repeat(60_000);
        let pat = "*a".repeat(30_000) + "b";
        let start = Instant::now();
        assert!(!sh_exp_match(
            &long,
            &pat,
            Instant::now() + Duration::from_millis(50)
        ));
        assert!(start.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn sort_ip_address_list_cases() {
        let f = |s: &str| sort_ip_address_list(s);
        assert_eq!(f("::2;::3;::1").as_deref(), Some("::1;::2;::3"));
        assert_eq!(
            f("157.59.139.22;2001:4898:28:3:201:2ff:feea:fc14;fe80::5efe:157:9d3b:8b16").as_deref(),
            Some("2001:4898:28:3:201:2ff:feea:fc14;fe80::5efe:157:9d3b:8b16;157.59.139.22")
        );
        assert_eq!(f("127.0.0.1").as_deref(), Some("127.0.0.1"));
        assert_eq!(
            f("192.168.1.1;0:0::1").as_deref(),
            Some("0:0::1;192.168.1.1")
        );
        assert_eq!(f("0::1;::1;0:0::1").as_deref(), Some("0::1;::1;0:0::1"));
        assert_eq!(f(";127.0.0.1;").as_deref(), Some("127.0.0.1"));
        assert_eq!(
            f("127.0.0.1;\t127.0.0.2;\t 127.0.0.0").as_deref(),
            Some("127.0.0.0;127.0.0.1;127.0.0.2")
        );
        for bad in [
            "",
            " ",
            ";",
            ";;",
            " ;  ; ",
            "256.0.0.1",
            "192.168.1.1;0:0:0:1;127.0.0.1",
        ] {
            assert_eq!(f(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn is_in_net_ex_cases() {
        assert!(is_in_net_ex("198.95.249.79", "198.95.249.79/32"));
        assert!(is_in_net_ex("198.95.115.10", "198.95.0.0/16"));
        assert!(is_in_net_ex("198.95.1.1", "198.95.3.3/16"));
        assert!(is_in_net_ex("0:0:0:0:0:0:7f00:1", "0:0:0:0:0:0:7f00:1/32"));
        assert!(is_in_net_ex(
            "3ffe:8311:ffff:abcd:1234:dead:beef:101",
            "3ffe:8311:ffff::/48"
        ));
        assert!(!is_in_net_ex("127.0.0.1", "0:0:0:0:0:0:7f00:1/16"));
        assert!(!is_in_net_ex("192.168.24.3", "fe80:0:0:0:0:0:c0a8:1803/32"));
        assert!(!is_in_net_ex("198.95.249.78", "198.95.249.79/32"));
        assert!(!is_in_net_ex("198.96.115.10", "198.95.0.0/16"));
        assert!(!is_in_net_ex(
            "3fff:8311:ffff:abcd:1234:dead:beef:101",
            "3ffe:8311:ffff::/48"
        ));
        assert!(!is_in_net_ex("256.0.0.1", "198.95.249.79"));
        assert!(!is_in_net_ex("127.0.0.1 ", "127.0.0.1/32"));
        assert!(!is_in_net_ex("198.95.115.10", "198.95.0.0/34"));
        assert!(!is_in_net_ex("127.0.0.1", "127.0.0.1"));
        assert!(is_in_net_ex("10.1.2.3", "0.0.0.0/0"));
    }

    #[test]
    fn weekday_range_cases() {
        let now = at(TUE_2009_03_03);
        let w = |a: &[DateArg]| weekday_range(a, &now);
        assert!(w(&[s("MON"), s("FRI")]));
        assert!(w(&[s("TUE"), s("FRI")]));
        assert!(w(&[s("TUE"), s("TUE")]));
        assert!(w(&[s("TUE")]));
        assert!(!w(&[s("WED"), s("FRI")]));
        assert!(!w(&[s("SUN"), s("MON")]));
        assert!(!w(&[s("SAT")]));
        assert!(!w(&[s("FRI"), s("MON")]));
        assert!(w(&[s("SAT"), s("TUE")]));
        assert!(w(&[s("MON"), s("FRI"), s("GMT")]));
        assert!(w(&[s("TUE"), s("GMT")]));
        assert!(!w(&[s("SAT"), s("GMT")]));
        assert!(!w(&[]));
        assert!(!w(&[s("tue")]));
    }

    #[test]
    fn date_range_cases() {
        let mar3_2009 = at(TUE_2009_03_03);
        let d = |a: &[DateArg]| date_range(a, &mar3_2009);
        assert!(d(&[n(3.0)]));
        assert!(!d(&[n(1.0)]));
        assert!(d(&[n(3.0), s("GMT")]));
        assert!(d(&[n(1.0), n(4.0)]));
        assert!(!d(&[n(4.0), n(20.0)]));
        assert!(d(&[n(3.0), s("MAR")]));
        assert!(!d(&[n(2.0), s("MAR")]));
        assert!(!d(&[n(3.0), s("JAN")]));
        assert!(d(&[n(3.0), s("MAR"), n(2009.0)]));
        assert!(!d(&[n(4.0), s("MAR"), n(2009.0)]));
        assert!(!d(&[n(3.0), s("FEB"), n(2009.0)]));
        assert!(d(&[s("JAN"), s("MAR")]));
        assert!(d(&[s("MAR"), s("APR")]));
        assert!(!d(&[s("MAY"), s("SEP")]));
        assert!(d(&[s("NOV"), s("MAR")]));
        assert!(d(&[n(1.0), s("JAN"), n(3.0), s("MAR")]));
        assert!(d(&[n(3.0), s("MAR"), n(4.0), s("SEP")]));
        assert!(!d(&[n(4.0), s("MAR"), n(4.0), s("SEP")]));
        assert!(d(&[s("FEB"), n(2009.0), s("MAR"), n(2009.0)]));
        assert!(d(&[
            n(1.0),
            s("JAN"),
            n(2009.0),
            n(3.0),
            s("MAR"),
            n(2009.0)
        ]));
        assert!(d(&[
            n(3.0),
            s("MAR"),
            n(2009.0),
            n(4.0),
            s("SEP"),
            n(2009.0)
        ]));
        assert!(d(&[
            n(3.0),
            s("JAN"),
            n(2009.0),
            n(4.0),
            s("FEB"),
            n(2010.0)
        ]));
        assert!(!d(&[
            n(4.0),
            s("MAR"),
            n(2009.0),
            n(4.0),
            s("SEP"),
            n(2009.0)
        ]));
        assert!(d(&[n(2009.0)]));
        assert!(d(&[n(2008.0), n(2010.0)]));
        assert!(!d(&[]));
        assert!(!d(&[s("XYZ")]));
        let mar3_2014 = at(1_393_817_641);
        assert!(date_range(&[n(3.0), s("MAR")], &mar3_2014));
        assert!(!date_range(&[n(3.0), s("MAR"), n(2009.0)], &mar3_2014));
        let apr3_2009 = at(TUE_2009_03_03 + 31 * 86_400);
        assert!(date_range(
            &[s("FEB"), n(2009.0), s("MAR"), n(2010.0)],
            &apr3_2009
        ));
        assert!(!date_range(
            &[s("FEB"), n(2009.0), s("MAR"), n(2009.0)],
            &apr3_2009
        ));
    }

    #[test]
    fn time_range_cases() {
        let now = at(TUE_2009_03_03); // 03:34:01
        let r = |a: &[f64]| time_range(&a.iter().map(|v| n(*v)).collect::<Vec<_>>(), &now);
        assert!(r(&[3.0]));
        assert!(!r(&[2.0]));
        assert!(r(&[2.0, 3.0]));
        assert!(r(&[2.0, 4.0]));
        assert!(r(&[3.0, 5.0]));
        assert!(!r(&[1.0, 2.0]));
        assert!(!r(&[11.0, 12.0]));
        assert!(r(&[1.0, 0.0, 3.0, 34.0]));
        assert!(r(&[1.0, 0.0, 3.0, 35.0]));
        assert!(r(&[3.0, 34.0, 5.0, 0.0]));
        assert!(!r(&[1.0, 0.0, 3.0, 0.0]));
        assert!(!r(&[11.0, 0.0, 16.0, 0.0]));
        assert!(r(&[22.0, 4.0]));
        assert!(!r(&[1.0, 2.0, 3.0]));
        let at14 = at(TUE_2009_03_03 + 13); // 03:34:14
        let r = |a: &[f64]| time_range(&a.iter().map(|v| n(*v)).collect::<Vec<_>>(), &at14);
        assert!(r(&[1.0, 0.0, 0.0, 3.0, 34.0, 14.0]));
        assert!(!r(&[1.0, 0.0, 0.0, 3.0, 34.0, 0.0]));
        assert!(r(&[1.0, 0.0, 0.0, 3.0, 35.0, 0.0]));
        assert!(r(&[3.0, 34.0, 0.0, 5.0, 0.0, 0.0]));
        assert!(!r(&[1.0, 0.0, 0.0, 3.0, 0.0, 0.0]));
        assert!(!r(&[11.0, 0.0, 0.0, 16.0, 0.0, 0.0]));
        assert!(time_range(&[s("3"), s("GMT")], &at14));
        // Absurd numbers answer, never overflow.
        let _ = time_range(&[n(1e300), n(-1e300), n(9e18), n(1.0)], &at14);
        assert!(!date_range(&[n(1e300), n(-1e300)], &at14));
    }

    #[test]
    fn resolution_records_only_unsupplied_names() {
        let mut facts = PacFacts::default();
        facts.add_resolve("Proxy.Corp.", ["10.0.0.8".parse().unwrap()]);
        facts.add_resolve("v6only.corp", ["fd00::8".parse().unwrap()]);
        facts.add_unresolvable("gone.corp");
        let mut st = HelperState::new(facts, far());
        assert_eq!(st.resolve_v4("proxy.corp"), "10.0.0.8".parse().ok());
        assert_eq!(st.resolve_v4("v6only.corp"), None);
        assert_eq!(st.resolve_all("v6only.corp").len(), 1);
        assert_eq!(st.resolve_v4("gone.corp"), None);
        assert_eq!(st.resolve_v4("10.1.1.1"), "10.1.1.1".parse().ok());
        assert_eq!(st.resolve_v4("unknown.corp"), None);
        assert_eq!(st.resolve_v4("unknown.corp"), None);
        assert_eq!(
            st.depends_on,
            vec![Dependency::DnsResolve("unknown.corp".into())]
        );
        assert_eq!(st.my_ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert!(st.depends_on.contains(&Dependency::MyIpAddress));
    }
}
