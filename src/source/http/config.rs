//! `[datasets.<name>.http]`: the raw section as written and its build into
//! a resolved [`HttpSource`].
//!
//! Building checks everything a fetch would otherwise trip over hours later
//! in an unattended run: the URL template and its placeholders, header names
//! and values, and that every referenced secret (environment variable or
//! file) exists. All problems are reported at once, each with its key.
//! Secret values are read here and kept in [`Secret`], whose `Debug` never
//! shows them; no message built here contains one.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{NaiveDate, NaiveTime};
use chrono_tz::Tz;
use reqwest::Url;
use reqwest::header::{HeaderName, HeaderValue};
use serde::Deserialize;

use crate::config::ConfigErrors;
use crate::config::section::{deserialize, join};

/// The raw `[datasets.<name>.http]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttpSource {
    /// URL template with `{date}` / `{yyyymmdd}` placeholders.
    pub url: String,
    /// Header name → a string, or `{ value | value_env | value_file, prefix }`.
    #[serde(default)]
    pub headers: BTreeMap<String, toml::Value>,
    /// Query parameters appended to the URL, same value forms as headers.
    #[serde(default)]
    pub query: BTreeMap<String, toml::Value>,
    /// Shorthand for `Authorization = { value_env = ..., prefix = "Bearer " }`.
    pub token_env: Option<String>,
    pub connect_timeout_secs: Option<u64>,
    pub timeout_secs: Option<u64>,
    pub retries: Option<RawRetries>,
    /// `"HH:MM"` on the day after the data's date, or a number of hours
    /// after the end of that date.
    pub not_found_until: Option<toml::Value>,
    /// Name the download is saved under (placeholders allowed).
    pub file_name: Option<String>,
    /// Extension given to a name that has no known one (`csv`, `xlsx`, …).
    pub extension: Option<String>,
}

/// `[datasets.<name>.http.retries]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRetries {
    /// Total tries, the first included.
    pub attempts: Option<u32>,
    pub base_ms: Option<u64>,
    pub cap_ms: Option<u64>,
    /// A `Retry-After` longer than this ends the fetch (transient) instead of
    /// keeping the run waiting.
    pub retry_after_max_secs: Option<u64>,
}

/// One header or query value as configured.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawValue {
    value: Option<String>,
    value_env: Option<String>,
    value_file: Option<String>,
    prefix: Option<String>,
}

pub const DEFAULT_CONNECT_TIMEOUT_SECS: u64 = 10;
pub const DEFAULT_TIMEOUT_SECS: u64 = 120;
pub const DEFAULT_ATTEMPTS: u32 = 3;
pub const DEFAULT_BASE_MS: u64 = 1_000;
pub const DEFAULT_CAP_MS: u64 = 30_000;
pub const DEFAULT_RETRY_AFTER_MAX_SECS: u64 = 300;
/// Without `not_found_until`, a missing export counts as "not there yet"
/// for a whole day after its date ends.
pub const DEFAULT_NOT_FOUND_HOURS: u32 = 24;
/// `not_found_until` as hours may reach at most a week past the date.
const MAX_NOT_FOUND_HOURS: i64 = 24 * 7;

/// Extensions the parser knows; a name with one of these keeps it.
pub const KNOWN_EXTENSIONS: [&str; 5] = ["csv", "tsv", "txt", "xlsx", "xls"];

/// A secret value read from the environment or a file. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// A resolved header or query value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamValue {
    /// Written in the config; may hold date placeholders.
    Literal(String),
    /// Prefix (written in the config) followed by a secret.
    Secret { prefix: String, secret: Secret },
}

impl ParamValue {
    pub fn is_secret(&self) -> bool {
        matches!(self, ParamValue::Secret { .. })
    }

    pub(crate) fn render(&self, date: NaiveDate) -> String {
        match self {
            ParamValue::Literal(s) => substitute(s, date),
            ParamValue::Secret { prefix, secret } => format!("{prefix}{}", secret.expose()),
        }
    }
}

/// Backoff between tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub base: Duration,
    pub cap: Duration,
    pub retry_after_max: Duration,
}

/// Until when a missing export is "not there yet" rather than missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotFoundUntil {
    /// This local time on the day after the data's date.
    NextDayAt(NaiveTime),
    /// This many hours after the data's date ends (local midnight).
    HoursAfter(u32),
}

/// A resolved HTTP source.
#[derive(Debug, Clone)]
pub struct HttpSource {
    /// `datasets.<name>.http`: named in messages so users know where to look.
    pub key: String,
    pub url: String,
    pub headers: Vec<(HeaderName, ParamValue)>,
    pub query: Vec<(String, ParamValue)>,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    pub retries: RetryPolicy,
    pub not_found_until: NotFoundUntil,
    pub file_name: Option<String>,
    pub extension: Option<String>,
    pub timezone: Tz,
}

/// Builds `[datasets.<name>.http]` (`table`, found at `key_prefix` in
/// `file`) with secrets looked up in the process environment. Relative
/// `value_file` paths are relative to `file`'s folder; local times are in
/// `timezone` (the shop's).
pub fn build(
    table: &toml::Table,
    file: &Path,
    key_prefix: &str,
    timezone: Tz,
) -> Result<HttpSource, ConfigErrors> {
    build_with_env(table, file, key_prefix, timezone, &|name| {
        std::env::var(name).ok()
    })
}

/// [`build`] with the environment lookup given, so tests need not mutate
/// the process environment.
pub fn build_with_env(
    table: &toml::Table,
    file: &Path,
    key_prefix: &str,
    timezone: Tz,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<HttpSource, ConfigErrors> {
    let mut errors = ConfigErrors::default();
    let Some(raw) = deserialize::<RawHttpSource>(table, file, key_prefix, &mut errors) else {
        return Err(errors);
    };
    let key = |k: &str| join(key_prefix, k);
    let base_dir = file.parent().unwrap_or(Path::new("."));
    let mut resolver = Resolver {
        file,
        base_dir,
        env,
        errors: &mut errors,
    };

    if let Err(m) = check_url_template(&raw.url) {
        resolver.errors.push(file, key("url"), m);
    }

    let mut headers = Vec::new();
    for (name, value) in &raw.headers {
        let k = key(&format!("headers.{}", quote_key(name)));
        let header = HeaderName::from_bytes(name.as_bytes());
        if header.is_err() {
            resolver.errors.push(
                file,
                k.clone(),
                format!("{name:?} is not a valid header name"),
            );
        }
        if let Some(v) = resolver.value(value, &k) {
            if !sendable(&v) {
                resolver.errors.push(file, k.clone(), UNSENDABLE);
            } else if let Ok(h) = header {
                headers.push((h, v));
            }
        }
    }
    if let Some(var) = &raw.token_env {
        let k = key("token_env");
        if headers
            .iter()
            .any(|(h, _)| *h == reqwest::header::AUTHORIZATION)
        {
            resolver.errors.push(
                file,
                k.clone(),
                "token_env and headers.Authorization both set the Authorization header",
            );
        }
        if let Some(secret) = resolver.env_secret(var, &k) {
            let v = ParamValue::Secret {
                prefix: "Bearer ".into(),
                secret,
            };
            if sendable(&v) {
                headers.push((reqwest::header::AUTHORIZATION, v));
            } else {
                resolver.errors.push(file, k, UNSENDABLE);
            }
        }
    }

    let mut query = Vec::new();
    for (name, value) in &raw.query {
        let k = key(&format!("query.{}", quote_key(name)));
        if let Some(v) = resolver.value(value, &k) {
            query.push((name.clone(), v));
        }
    }

    let connect_timeout = positive_secs(
        &mut resolver,
        raw.connect_timeout_secs,
        DEFAULT_CONNECT_TIMEOUT_SECS,
        &key("connect_timeout_secs"),
    );
    let timeout = positive_secs(
        &mut resolver,
        raw.timeout_secs,
        DEFAULT_TIMEOUT_SECS,
        &key("timeout_secs"),
    );

    let r = raw.retries.as_ref();
    let attempts = r.and_then(|r| r.attempts).unwrap_or(DEFAULT_ATTEMPTS);
    if attempts == 0 {
        resolver.errors.push(
            file,
            key("retries.attempts"),
            "attempts counts the first try too and must be at least 1",
        );
    }
    let base_ms = r.and_then(|r| r.base_ms).unwrap_or(DEFAULT_BASE_MS);
    let cap_ms = r.and_then(|r| r.cap_ms).unwrap_or(DEFAULT_CAP_MS);
    if cap_ms < base_ms {
        resolver.errors.push(
            file,
            key("retries.cap_ms"),
            format!("cap_ms ({cap_ms}) is below base_ms ({base_ms})"),
        );
    }
    let retries = RetryPolicy {
        attempts: attempts.max(1),
        base: Duration::from_millis(base_ms),
        cap: Duration::from_millis(cap_ms.max(base_ms)),
        retry_after_max: Duration::from_secs(
            r.and_then(|r| r.retry_after_max_secs)
                .unwrap_or(DEFAULT_RETRY_AFTER_MAX_SECS),
        ),
    };

    let not_found_until = match &raw.not_found_until {
        None => NotFoundUntil::HoursAfter(DEFAULT_NOT_FOUND_HOURS),
        Some(v) => match parse_not_found_until(v) {
            Ok(n) => n,
            Err(m) => {
                resolver.errors.push(file, key("not_found_until"), m);
                NotFoundUntil::HoursAfter(DEFAULT_NOT_FOUND_HOURS)
            }
        },
    };

    if let Some(name) = &raw.file_name {
        let bad = check_template(name).err().or_else(|| {
            let n = substitute(name, sample_date());
            (super::name::sanitize(&n) != n).then(|| {
                format!(
                    "file_name {name:?} must be a plain file name (no folders, no leading dot, no control characters)"
                )
            })
        });
        if let Some(m) = bad {
            resolver.errors.push(file, key("file_name"), m);
        }
    }
    let extension = raw
        .extension
        .as_deref()
        .map(|e| e.trim_start_matches('.').to_ascii_lowercase());
    if let Some(e) = &extension
        && (e.is_empty() || !e.bytes().all(|b| b.is_ascii_alphanumeric()))
    {
        resolver.errors.push(
            file,
            key("extension"),
            format!("extension {e:?} must be letters and digits, e.g. \"csv\" or \"xlsx\""),
        );
    }

    errors.into_result(HttpSource {
        key: key_prefix.to_string(),
        url: raw.url,
        headers,
        query,
        connect_timeout,
        timeout,
        retries,
        not_found_until,
        file_name: raw.file_name,
        extension,
        timezone,
    })
}

/// Said of a header value that cannot go on the wire; never quotes it.
const UNSENDABLE: &str = "the value holds characters a header cannot carry (line breaks, control or non-ASCII characters)";

/// Whether a header value can go on the wire. Date placeholders only ever
/// add digits and dashes, so checking with any date tells.
fn sendable(v: &ParamValue) -> bool {
    HeaderValue::from_str(&v.render(sample_date())).is_ok()
}

struct Resolver<'a> {
    file: &'a Path,
    base_dir: &'a Path,
    env: &'a dyn Fn(&str) -> Option<String>,
    errors: &'a mut ConfigErrors,
}

impl Resolver<'_> {
    fn value(&mut self, value: &toml::Value, key: &str) -> Option<ParamValue> {
        let table = match value {
            toml::Value::String(s) => {
                return match check_template(s) {
                    Ok(()) => Some(ParamValue::Literal(s.clone())),
                    Err(m) => {
                        self.errors.push(self.file, key, m);
                        None
                    }
                };
            }
            toml::Value::Table(t) => t,
            _ => {
                self.errors.push(
                    self.file,
                    key,
                    "expected a string or a table { value | value_env | value_file, prefix }",
                );
                return None;
            }
        };
        let before = self.errors.len();
        let raw: RawValue = deserialize(table, self.file, key, self.errors)?;
        // A misspelt key was reported already; "set exactly one" would only
        // repeat it.
        if self.errors.len() > before {
            return None;
        }
        let given = [
            raw.value.is_some(),
            raw.value_env.is_some(),
            raw.value_file.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            self.errors.push(
                self.file,
                key,
                "set exactly one of value, value_env and value_file",
            );
            return None;
        }
        let prefix = raw.prefix.unwrap_or_default();
        if let Some(v) = raw.value {
            let text = format!("{prefix}{v}");
            return match check_template(&text) {
                Ok(()) => Some(ParamValue::Literal(text)),
                Err(m) => {
                    self.errors.push(self.file, join(key, "value"), m);
                    None
                }
            };
        }
        let secret = if let Some(var) = raw.value_env {
            self.env_secret(&var, &join(key, "value_env"))
        } else if let Some(path) = raw.value_file {
            self.file_secret(&path, &join(key, "value_file"))
        } else {
            None
        }?;
        Some(ParamValue::Secret { prefix, secret })
    }

    fn env_secret(&mut self, var: &str, key: &str) -> Option<Secret> {
        match (self.env)(var) {
            Some(v) if !v.trim().is_empty() => Some(Secret(v.trim().to_string())),
            Some(_) => {
                self.errors.push(
                    self.file,
                    key,
                    format!("environment variable {var} is empty"),
                );
                None
            }
            None => {
                self.errors.push(
                    self.file,
                    key,
                    format!("environment variable {var} is not set"),
                );
                None
            }
        }
    }

    fn file_secret(&mut self, path: &str, key: &str) -> Option<Secret> {
        let full: PathBuf = self.base_dir.join(path);
        match std::fs::read_to_string(&full) {
            // Secret files usually end in a newline the server must not see.
            Ok(v) if !v.trim().is_empty() => Some(Secret(v.trim().to_string())),
            Ok(_) => {
                self.errors.push(
                    self.file,
                    key,
                    format!("secret file {} is empty", full.display()),
                );
                None
            }
            Err(e) => {
                self.errors.push(
                    self.file,
                    key,
                    format!("secret file {} cannot be read: {e}", full.display()),
                );
                None
            }
        }
    }
}

fn positive_secs(r: &mut Resolver<'_>, v: Option<u64>, default: u64, key: &str) -> Duration {
    match v {
        Some(0) => {
            r.errors.push(r.file, key, "must be at least 1 second");
            Duration::from_secs(default)
        }
        Some(s) => Duration::from_secs(s),
        None => Duration::from_secs(default),
    }
}

fn parse_not_found_until(v: &toml::Value) -> Result<NotFoundUntil, String> {
    match v {
        toml::Value::String(s) => NaiveTime::parse_from_str(s.trim(), "%H:%M")
            .map(NotFoundUntil::NextDayAt)
            .map_err(|_| {
                format!("{s:?} is not a time; write \"HH:MM\" (local) or a number of hours")
            }),
        toml::Value::Integer(h) if (0..=MAX_NOT_FOUND_HOURS).contains(h) => {
            // In range by the guard above.
            Ok(NotFoundUntil::HoursAfter(*h as u32))
        }
        toml::Value::Integer(h) => Err(format!("{h} hours is outside 0..={MAX_NOT_FOUND_HOURS}")),
        _ => Err("write \"HH:MM\" (local time on the next day) or a number of hours".into()),
    }
}

/// A date used to check templates: any real date will do.
fn sample_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 31).unwrap_or_default()
}

/// Replaces `{date}` and `{yyyymmdd}`.
pub(crate) fn substitute(template: &str, date: NaiveDate) -> String {
    template
        .replace("{date}", &date.format("%Y-%m-%d").to_string())
        .replace("{yyyymmdd}", &date.format("%Y%m%d").to_string())
}

/// Checks that every `{…}` in `s` is a known placeholder.
pub(crate) fn check_template(s: &str) -> Result<(), String> {
    let mut rest = s;
    while let Some(open) = rest.find(['{', '}']) {
        if rest[open..].starts_with('}') {
            return Err(format!("{s:?} has a '}}' without a '{{'"));
        }
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            return Err(format!("{s:?} has a '{{' without a '}}'"));
        };
        let name = &after[..close];
        if name != "date" && name != "yyyymmdd" {
            return Err(format!(
                "unknown placeholder {{{name}}} in {s:?} (known: {{date}}, {{yyyymmdd}})"
            ));
        }
        rest = &after[close + 1..];
    }
    Ok(())
}

fn check_url_template(url: &str) -> Result<(), String> {
    check_template(url)?;
    let u = Url::parse(&substitute(url, sample_date()))
        .map_err(|e| format!("{url:?} is not a valid URL: {e}"))?;
    if u.scheme() != "http" && u.scheme() != "https" {
        return Err(format!("{url:?} must be an http:// or https:// URL"));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err(format!("{url:?} has no host"));
    }
    if u.password().is_some() {
        return Err(
            "the URL holds a password; put credentials in headers with value_env or value_file"
                .into(),
        );
    }
    Ok(())
}

/// Header and query names may hold characters a dotted key cannot.
fn quote_key(k: &str) -> String {
    if !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        k.to_string()
    } else {
        format!("{k:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tz() -> Tz {
        chrono_tz::Asia::Shanghai
    }

    fn env(name: &str) -> Option<String> {
        match name {
            "ERP_TOKEN" => Some("s3cr3t-token\n".into()),
            "EMPTY" => Some(" ".into()),
            _ => None,
        }
    }

    fn build_str(text: &str, dir: &Path) -> Result<HttpSource, ConfigErrors> {
        let t: toml::Table = toml::from_str(text).unwrap();
        build_with_env(
            &t,
            &dir.join("storepulse.toml"),
            "datasets.orders.http",
            tz(),
            &env,
        )
    }

    fn keys(e: &ConfigErrors) -> Vec<&str> {
        e.iter().map(|e| e.key.as_str()).collect()
    }

    #[test]
    fn defaults_and_secrets_resolve() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("shop.key"), "k-123\n").unwrap();
        let s = build_str(
            r#"
url = "https://erp.example.com/export/{yyyymmdd}.csv"
token_env = "ERP_TOKEN"
headers = { "X-Shop" = { value_file = "shop.key" }, "X-Day" = "{date}" }
"#,
            dir.path(),
        )
        .unwrap();
        assert_eq!(s.connect_timeout, Duration::from_secs(10));
        assert_eq!(s.timeout, Duration::from_secs(120));
        assert_eq!(s.retries.attempts, 3);
        assert_eq!(s.retries.base, Duration::from_millis(1000));
        assert_eq!(s.retries.cap, Duration::from_millis(30_000));
        assert_eq!(s.not_found_until, NotFoundUntil::HoursAfter(24));
        let d = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let rendered: Vec<_> = s
            .headers
            .iter()
            .map(|(h, v)| (h.as_str().to_string(), v.render(d)))
            .collect();
        assert!(rendered.contains(&("authorization".into(), "Bearer s3cr3t-token".into())));
        assert!(rendered.contains(&("x-shop".into(), "k-123".into())));
        assert!(rendered.contains(&("x-day".into(), "2026-11-22".into())));
        // Debug output is what ends up in logs by accident.
        let dbg = format!("{s:?}");
        assert!(!dbg.contains("s3cr3t") && !dbg.contains("k-123"), "{dbg}");
    }

    #[test]
    fn every_problem_is_reported_with_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let e = build_str(
            r#"
url = "https://erp.example.com/{day}.csv"
token_env = "MISSING_TOKEN"
connect_timeout_secs = 0
not_found_until = "25:99"
file_name = "../x.csv"
extension = "c.sv"
bogus = 1
headers = { "X-A" = { value_env = "EMPTY" }, "X-B" = { value_file = "nope.key" }, "X-C" = { value = "a", value_env = "ERP_TOKEN" }, "bad header" = "x", "X-D" = { valu = "x" } }
query = { sig = { value_env = "NOPE" } }
retries = { attempts = 0, base_ms = 500, cap_ms = 100 }
"#,
            dir.path(),
        )
        .unwrap_err();
        let mut k = keys(&e);
        k.sort();
        assert_eq!(
            k,
            [
                "datasets.orders.http.bogus",
                "datasets.orders.http.connect_timeout_secs",
                "datasets.orders.http.extension",
                "datasets.orders.http.file_name",
                "datasets.orders.http.headers.\"bad header\"",
                "datasets.orders.http.headers.X-A.value_env",
                "datasets.orders.http.headers.X-B.value_file",
                "datasets.orders.http.headers.X-C",
                "datasets.orders.http.headers.X-D.valu",
                "datasets.orders.http.not_found_until",
                "datasets.orders.http.query.sig.value_env",
                "datasets.orders.http.retries.attempts",
                "datasets.orders.http.retries.cap_ms",
                "datasets.orders.http.token_env",
                "datasets.orders.http.url",
            ],
            "{e}"
        );
        let text = e.to_string();
        assert!(text.contains("unknown placeholder {day}"), "{text}");
        assert!(text.contains("MISSING_TOKEN is not set"), "{text}");
        assert!(text.contains("EMPTY is empty"), "{text}");
        assert!(text.contains("nope.key cannot be read"), "{text}");
    }

    #[test]
    fn secret_values_never_reach_messages() {
        let dir = tempfile::tempdir().unwrap();
        // A secret with a line break cannot be a header; the message must say
        // so without quoting it.
        std::fs::write(dir.path().join("t.key"), "line1\nline2").unwrap();
        let e = build_str(
            r#"
url = "https://erp.example.com/x"
headers = { "X-T" = { value_file = "t.key" } }
token_env = "ERP_TOKEN"
"#,
            dir.path(),
        )
        .unwrap_err();
        assert_eq!(keys(&e), ["datasets.orders.http.headers.X-T"]);
        let text = e.to_string();
        assert!(
            !text.contains("line1") && !text.contains("s3cr3t"),
            "{text}"
        );
    }

    #[test]
    fn urls_and_deadlines_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        for (url, msg) in [
            ("ftp://h/{date}", "http:// or https://"),
            ("https://u:pw@h/{date}", "password"),
            ("not a url", "not a valid URL"),
            ("https://h/{date", "without a '}'"),
            ("https://h/date}", "without a '{'"),
        ] {
            let e = build_str(&format!("url = {url:?}"), dir.path()).unwrap_err();
            assert_eq!(keys(&e), ["datasets.orders.http.url"]);
            assert!(e.to_string().contains(msg), "{url}: {e}");
            assert!(!e.to_string().contains("pw@"), "{e}");
        }
        let s = build_str(
            "url = \"https://h/{date}\"\nnot_found_until = \"09:30\"",
            dir.path(),
        )
        .unwrap();
        assert_eq!(
            s.not_found_until,
            NotFoundUntil::NextDayAt(NaiveTime::from_hms_opt(9, 30, 0).unwrap())
        );
        let s = build_str(
            "url = \"https://h/{date}\"\nnot_found_until = 6",
            dir.path(),
        )
        .unwrap();
        assert_eq!(s.not_found_until, NotFoundUntil::HoursAfter(6));
        for bad in ["-1", "1000", "1.5", "\"9h\""] {
            let e = build_str(
                &format!("url = \"https://h/{{date}}\"\nnot_found_until = {bad}"),
                dir.path(),
            )
            .unwrap_err();
            assert_eq!(keys(&e), ["datasets.orders.http.not_found_until"], "{bad}");
        }
    }

    #[test]
    fn token_env_and_authorization_header_conflict() {
        let dir = tempfile::tempdir().unwrap();
        let e = build_str(
            r#"
url = "https://h/{date}"
token_env = "ERP_TOKEN"
headers = { Authorization = { value_env = "ERP_TOKEN", prefix = "Token " } }
"#,
            dir.path(),
        )
        .unwrap_err();
        assert_eq!(keys(&e), ["datasets.orders.http.token_env"]);
    }
}
