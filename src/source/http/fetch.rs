//! One fetch: request, retries, streaming to a temporary file, rename.

use std::hash::BuildHasher;
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use reqwest::header::{
    CONTENT_DISPOSITION, CONTENT_TYPE, ETAG, HeaderMap, HeaderValue, IF_MODIFIED_SINCE,
    IF_NONE_MATCH, LAST_MODIFIED, RETRY_AFTER,
};
use reqwest::{Client, Response, Url};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use tracing::{debug, info, warn};

use super::config::{HttpSource, NotFoundUntil, RetryPolicy, substitute};
use super::{
    Clock, FetchOutcome, HttpError, Sleeper, ValidatorCache, Validators, name, retryable_status,
};
use crate::source::archive::sha256_file;

/// Shown instead of a secret query value.
const REDACTED: &str = "***";

/// Query parameter names (compared case-insensitively, whole) that carry
/// credentials even when written into the URL template rather than read
/// from a secret. Whole names only: the public URL is also the validator
/// cache key, and hiding a date-bearing `keyword=` would merge dates.
const SENSITIVE_PARAMS: [&str; 18] = [
    "token",
    "access_token",
    "accesstoken",
    "auth",
    "authorization",
    "key",
    "api_key",
    "apikey",
    "app_key",
    "appkey",
    "secret",
    "client_secret",
    "app_secret",
    "sign",
    "sig",
    "signature",
    "password",
    "pwd",
];

/// Fetches `src`'s export for `date` into `dest_dir`.
///
/// On success the file is whole and in place: either just downloaded
/// ([`FetchOutcome::Downloaded`]) or, after a 304, the earlier download
/// still in `dest_dir` ([`FetchOutcome::Unchanged`]). Validators are sent
/// only when that earlier file is still there with the remembered hash, so a
/// 304 always points at a real, whole file. `clock` decides whether a
/// missing export is "not there yet"; `sleeper` waits between retries.
pub async fn fetch(
    src: &HttpSource,
    date: NaiveDate,
    dest_dir: &Path,
    cache: &dyn ValidatorCache,
    clock: &dyn Clock,
    sleeper: &dyn Sleeper,
) -> Result<FetchOutcome, HttpError> {
    install_crypto_provider();
    let (url, public) = urls(src, date)?;
    let headers = headers(src, date, &public)?;
    let client = Client::builder()
        .connect_timeout(src.connect_timeout)
        .timeout(src.timeout)
        .build()
        .map_err(|e| HttpError::Client {
            url: public.clone(),
            source: e.without_url(),
        })?;
    let remembered = cache.get(&public);
    // Whether the previous download is still in place, unaltered.
    let in_place = |v: &Validators| {
        !v.file_name.is_empty()
            && sha256_file(&dest_dir.join(&v.file_name)).is_ok_and(|h| h == v.sha256)
    };
    let prior = remembered
        .clone()
        .filter(|v| (v.etag.is_some() || v.last_modified.is_some()) && in_place(v));
    let job = Attempt {
        src,
        date,
        dest_dir,
        url,
        public: public.clone(),
        client,
        headers,
        prior,
        clock,
    };
    info!(url = %public, %date, conditional = job.prior.is_some(), "fetching");
    let mut attempt = 1;
    loop {
        match job.run(attempt).await {
            Ok(outcome) => {
                if let FetchOutcome::Downloaded {
                    path,
                    sha256,
                    etag,
                    last_modified,
                    ..
                } = &outcome
                {
                    let file_name = path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    // The server renamed the export (a timestamp in its
                    // name, say): the previous download must go, or the
                    // ingest would add both files' rows up as a split export.
                    if let Some(old) = &remembered
                        && old.file_name != file_name
                        && in_place(old)
                    {
                        let old_path = dest_dir.join(&old.file_name);
                        std::fs::remove_file(&old_path).map_err(|source| HttpError::Io {
                            path: old_path,
                            source,
                        })?;
                        info!(url = %public, replaced = %old.file_name, "previous download removed");
                    }
                    cache.put(
                        &public,
                        &Validators {
                            etag: etag.clone(),
                            last_modified: last_modified.clone(),
                            sha256: sha256.clone(),
                            file_name,
                        },
                    );
                }
                return Ok(outcome);
            }
            Err(Failure::Final(e)) => return Err(e),
            Err(Failure::Retry { error, retry_after }) => {
                if attempt >= src.retries.attempts {
                    return Err(error);
                }
                let mut delay = backoff(&src.retries, attempt);
                if let Some(wait) = retry_after {
                    if wait > src.retries.retry_after_max {
                        return Err(HttpError::RetryAfterTooLong {
                            url: public,
                            wait_secs: wait.as_secs(),
                            max_secs: src.retries.retry_after_max.as_secs(),
                        });
                    }
                    delay = delay.max(wait);
                }
                warn!(url = %public, attempt, delay_ms = delay.as_millis() as u64, error = %error, "retrying");
                sleeper.sleep(delay).await;
                attempt += 1;
            }
        }
    }
}

/// The URL a fetch of `date` shows in logs, errors and the validator cache:
/// secret query values replaced by `***`.
pub fn public_url(src: &HttpSource, date: NaiveDate) -> String {
    match urls(src, date) {
        Ok((_, public)) => public,
        Err(_) => substitute(&src.url, date),
    }
}

enum Failure {
    /// Worth another try, after `retry_after` if the server said so.
    Retry {
        error: HttpError,
        retry_after: Option<Duration>,
    },
    Final(HttpError),
}

struct Attempt<'a> {
    src: &'a HttpSource,
    date: NaiveDate,
    dest_dir: &'a Path,
    url: Url,
    public: String,
    client: Client,
    headers: HeaderMap,
    prior: Option<Validators>,
    clock: &'a dyn Clock,
}

impl Attempt<'_> {
    async fn run(&self, attempt: u32) -> Result<FetchOutcome, Failure> {
        let mut req = self
            .client
            .get(self.url.clone())
            .headers(self.headers.clone());
        if let Some(v) = &self.prior {
            if let Some(etag) = v
                .etag
                .as_deref()
                .and_then(|e| HeaderValue::from_str(e).ok())
            {
                req = req.header(IF_NONE_MATCH, etag);
            }
            if let Some(lm) = v
                .last_modified
                .as_deref()
                .and_then(|e| HeaderValue::from_str(e).ok())
            {
                req = req.header(IF_MODIFIED_SINCE, lm);
            }
        }
        let resp = req
            .send()
            .await
            .map_err(|e| self.transport_error(e, attempt))?;
        let status = resp.status().as_u16();
        debug!(url = %self.public, attempt, status, "response");
        match status {
            304 => match &self.prior {
                Some(v) => Ok(FetchOutcome::Unchanged {
                    path: self.dest_dir.join(&v.file_name),
                    sha256: v.sha256.clone(),
                }),
                // Not asked for: a confused server or proxy.
                None => Err(Failure::Final(self.status_error(status, attempt))),
            },
            200..=299 => self.download(resp, attempt).await,
            401 | 403 => Err(Failure::Final(HttpError::Denied {
                url: self.public.clone(),
                status,
                key: self.src.key.clone(),
            })),
            404 | 410 => Err(Failure::Final(self.missing(Some(status)))),
            s if retryable_status(s) => Err(Failure::Retry {
                error: self.status_error(status, attempt),
                retry_after: resp
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| parse_retry_after(v, self.clock.now())),
            }),
            _ => Err(Failure::Final(self.status_error(status, attempt))),
        }
    }

    async fn download(&self, mut resp: Response, attempt: u32) -> Result<FetchOutcome, Failure> {
        let configured = self
            .src
            .file_name
            .as_deref()
            .map(|n| substitute(n, self.date));
        let name = name::choose(
            configured.as_deref(),
            resp.headers().get(CONTENT_DISPOSITION),
            resp.headers().get(CONTENT_TYPE),
            &self.url,
            self.src.extension.as_deref(),
        );
        let header_text = |h| {
            resp.headers()
                .get(h)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .map(str::to_string)
        };
        let etag = header_text(ETAG);
        let last_modified = header_text(LAST_MODIFIED);
        let expected = resp.content_length();

        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Failure::Final(HttpError::Io { path, source })
        };
        tokio::fs::create_dir_all(self.dest_dir)
            .await
            .map_err(io(self.dest_dir))?;
        let dest = self.dest_dir.join(&name);
        let tmp = TempFile(Some(self.dest_dir.join(format!(".{name}.part"))));
        let tmp_path = tmp.path().to_path_buf();
        let mut file = tokio::fs::File::create(&tmp_path)
            .await
            .map_err(io(&tmp_path))?;
        let mut hasher = Sha256::new();
        let mut size: u64 = 0;
        loop {
            match resp.chunk().await {
                Ok(Some(bytes)) => {
                    hasher.update(&bytes);
                    file.write_all(&bytes).await.map_err(io(&tmp_path))?;
                    size += bytes.len() as u64;
                }
                Ok(None) => break,
                Err(e) => {
                    let error = match expected {
                        Some(exp) if size < exp && !e.is_timeout() => {
                            self.short(size, exp, attempt)
                        }
                        _ => self.transport_error(e, attempt).into_error(),
                    };
                    return Err(Failure::Retry {
                        error,
                        retry_after: None,
                    });
                }
            }
        }
        if let Some(exp) = expected
            && size != exp
        {
            return Err(Failure::Retry {
                error: self.short(size, exp, attempt),
                retry_after: None,
            });
        }
        if size == 0 {
            return Err(Failure::Final(self.missing(None)));
        }
        file.flush().await.map_err(io(&tmp_path))?;
        file.sync_all().await.map_err(io(&tmp_path))?;
        drop(file);
        tokio::fs::rename(&tmp_path, &dest)
            .await
            .map_err(io(&dest))?;
        tmp.keep();
        let sha256 = hex::encode(hasher.finalize());
        info!(url = %self.public, file = %dest.display(), size, %sha256, "downloaded");
        Ok(FetchOutcome::Downloaded {
            path: dest,
            sha256,
            size,
            etag,
            last_modified,
        })
    }

    /// 404 (`status`) or an empty body (`None`): "not yet" before the
    /// deadline, missing after it.
    fn missing(&self, status: Option<u16>) -> HttpError {
        let deadline = deadline(self.src.not_found_until, self.src.timezone, self.date);
        let shown = deadline.format("%Y-%m-%d %H:%M %Z").to_string();
        let url = self.public.clone();
        if self.clock.now() < deadline.with_timezone(&Utc) {
            let reason = match status {
                Some(s) => format!("HTTP {s}"),
                None => "empty body".into(),
            };
            return HttpError::NotYet {
                url,
                reason,
                deadline: shown,
            };
        }
        match status {
            Some(status) => HttpError::NotFound {
                url,
                status,
                deadline: shown,
            },
            None => HttpError::Empty {
                url,
                deadline: shown,
            },
        }
    }

    fn status_error(&self, status: u16, attempts: u32) -> HttpError {
        HttpError::Status {
            url: self.public.clone(),
            status,
            attempts,
        }
    }

    fn short(&self, got: u64, expected: u64, attempts: u32) -> HttpError {
        HttpError::ShortBody {
            url: self.public.clone(),
            got,
            expected,
            attempts,
        }
    }

    /// Every transport failure is worth retrying. The URL is stripped from
    /// reqwest's error: it may hold secret query values.
    fn transport_error(&self, e: reqwest::Error, attempts: u32) -> Failure {
        let url = self.public.clone();
        // A connect timeout is a connection failure; only a timeout once
        // connected is "no complete answer in time".
        let error = if e.is_connect() {
            HttpError::Connect {
                url,
                attempts,
                source: e.without_url(),
            }
        } else if e.is_timeout() {
            HttpError::Timeout {
                url,
                secs: self.src.timeout.as_secs(),
                attempts,
            }
        } else {
            HttpError::Transfer {
                url,
                attempts,
                source: e.without_url(),
            }
        };
        Failure::Retry {
            error,
            retry_after: None,
        }
    }
}

impl Failure {
    fn into_error(self) -> HttpError {
        match self {
            Failure::Retry { error, .. } | Failure::Final(error) => error,
        }
    }
}

/// A `.part` file removed when dropped unless kept: errors, and a fetch
/// cancelled mid-body (run timeout, shutdown), leave no partial file behind.
struct TempFile(Option<PathBuf>);

impl TempFile {
    fn path(&self) -> &Path {
        self.0.as_deref().unwrap_or(Path::new(""))
    }

    fn keep(mut self) {
        self.0 = None;
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// rustls needs a process-wide crypto provider; reqwest is built without
/// one so the whole program agrees on ring.
fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // An error means another part of the program installed one first,
        // which serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// The request URL (with secrets) and its public form.
fn urls(src: &HttpSource, date: NaiveDate) -> Result<(Url, String), HttpError> {
    let text = substitute(&src.url, date);
    let mut url = Url::parse(&text).map_err(|e| HttpError::Config {
        url: text.clone(),
        message: format!("not a valid URL: {e}"),
    })?;
    if !src.query.is_empty() {
        let mut pairs = url.query_pairs_mut();
        for (k, v) in &src.query {
            pairs.append_pair(k, &v.render(date));
        }
    }
    let secret_names: Vec<&str> = src
        .query
        .iter()
        .filter(|(_, v)| v.is_secret())
        .map(|(k, _)| k.as_str())
        .collect();
    let mut public = url.clone();
    let _ = public.set_password(None);
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let lower = k.to_ascii_lowercase();
            let hide =
                secret_names.contains(&k.as_ref()) || SENSITIVE_PARAMS.contains(&lower.as_str());
            let v = if hide {
                REDACTED.into()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    if !pairs.is_empty() {
        public.query_pairs_mut().clear().extend_pairs(pairs);
    }
    Ok((url, public.to_string()))
}

fn headers(src: &HttpSource, date: NaiveDate, public: &str) -> Result<HeaderMap, HttpError> {
    let mut map = HeaderMap::new();
    for (name, value) in &src.headers {
        let mut v = HeaderValue::from_str(&value.render(date)).map_err(|_| HttpError::Config {
            url: public.to_string(),
            message: format!(
                "header {name} cannot be sent: its value holds characters a header cannot carry"
            ),
        })?;
        // Keeps it out of HTTP/2 header compression tables and Debug output.
        v.set_sensitive(value.is_secret());
        map.append(name.clone(), v);
    }
    Ok(map)
}

/// When a missing export for `date` stops being "not there yet".
pub(crate) fn deadline(until: NotFoundUntil, tz: Tz, date: NaiveDate) -> DateTime<Tz> {
    let next = date.succ_opt().unwrap_or(date);
    let local = match until {
        NotFoundUntil::NextDayAt(t) => next.and_time(t),
        NotFoundUntil::HoursAfter(h) => {
            next.and_time(NaiveTime::MIN) + chrono::Duration::hours(i64::from(h))
        }
    };
    // A local time skipped by a DST change has no instant; reading it as UTC
    // moves it by at most an hour, harmless for a deadline.
    tz.from_local_datetime(&local)
        .earliest()
        .unwrap_or_else(|| tz.from_utc_datetime(&local))
}

/// `Retry-After`: delay seconds or an HTTP-date.
pub(crate) fn parse_retry_after(v: &str, now: DateTime<Utc>) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(v).ok()?.with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

/// Capped exponential backoff with "equal jitter": at least half the step,
/// so retries never bunch up at zero, plus a random share of the other half
/// so many runs hitting one server spread out.
pub(crate) fn backoff(p: &RetryPolicy, attempt: u32) -> Duration {
    let step = p
        .base
        .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
        .min(p.cap);
    let half = step / 2;
    let spread = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
    let random = std::collections::hash_map::RandomState::new().hash_one(attempt);
    half + Duration::from_millis(random % spread.saturating_add(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::http::{ParamValue, build_with_env};

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn deadlines_are_local_and_on_the_next_day() {
        let sh = chrono_tz::Asia::Shanghai;
        let t = NaiveTime::from_hms_opt(9, 30, 0).unwrap();
        let dl = deadline(NotFoundUntil::NextDayAt(t), sh, d("2026-11-22"));
        assert_eq!(dl.to_rfc3339(), "2026-11-23T09:30:00+08:00");
        let dl = deadline(NotFoundUntil::HoursAfter(30), sh, d("2026-11-30"));
        assert_eq!(dl.to_rfc3339(), "2026-12-02T06:00:00+08:00");
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        let now: DateTime<Utc> = "2015-10-21T07:27:00Z".parse().unwrap();
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn backoff_grows_is_capped_and_never_below_half() {
        let p = RetryPolicy {
            attempts: 10,
            base: Duration::from_millis(100),
            cap: Duration::from_millis(1000),
            retry_after_max: Duration::from_secs(1),
        };
        for _ in 0..50 {
            let b1 = backoff(&p, 1);
            assert!(b1 >= Duration::from_millis(50) && b1 <= Duration::from_millis(100));
            let b3 = backoff(&p, 3);
            assert!(b3 >= Duration::from_millis(200) && b3 <= Duration::from_millis(400));
            let b9 = backoff(&p, 9);
            assert!(b9 >= Duration::from_millis(500) && b9 <= Duration::from_millis(1000));
        }
        assert!(backoff(&p, u32::MAX) <= Duration::from_millis(1000));
    }

    #[test]
    fn secret_query_values_are_redacted() {
        let t: toml::Table = toml::from_str(
            r#"
url = "https://h/export?keyword={date}&app_key=abc"
query = { sig = { value_env = "SIG" }, shop = "s1" }
"#,
        )
        .unwrap();
        let env = |n: &str| (n == "SIG").then(|| "zz-secret".to_string());
        let src = build_with_env(
            &t,
            Path::new("c.toml"),
            "datasets.orders.http",
            chrono_tz::UTC,
            &env,
        )
        .unwrap();
        assert!(matches!(src.query[1].1, ParamValue::Secret { .. }));
        let (url, public) = urls(&src, d("2026-11-22")).unwrap();
        assert_eq!(
            url.as_str(),
            "https://h/export?keyword=2026-11-22&app_key=abc&shop=s1&sig=zz-secret"
        );
        assert_eq!(
            public,
            "https://h/export?keyword=2026-11-22&app_key=***&shop=s1&sig=***"
        );
        assert_eq!(public_url(&src, d("2026-11-22")), public);
    }
}
