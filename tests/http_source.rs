//! The HTTP source against a real HTTP/1.1 server on 127.0.0.1.
//!
//! Each test starts a small scripted server: connection n gets reply n of
//! the script, then the listener closes, so a client asking more often than
//! scripted gets "connection refused" and every server stops by itself.
//! Retries wait through an injected sleeper that only records the delay.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use sha2::{Digest, Sha256};
use storepulse::source::http::{
    Clock, FetchOutcome, HttpError, HttpSource, MemoryValidatorCache, Sleeper, ValidatorCache,
    build_with_env, fetch,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const TOKEN: &str = "tok-7f3a9c-secret";
const QUERY_SECRET: &str = "qs-55e1-secret";

enum Reply {
    /// A whole response; `length` false sends no Content-Length and ends
    /// the body by closing the connection.
    Full {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: Vec<u8>,
        length: bool,
    },
    /// Announces the whole body, sends half of it, closes.
    Half(Vec<u8>),
    /// Reads the request and never answers.
    Silent,
}

fn ok(body: &[u8]) -> Reply {
    Reply::Full {
        status: 200,
        headers: vec![],
        body: body.to_vec(),
        length: true,
    }
}

fn status(code: u16) -> Reply {
    Reply::Full {
        status: code,
        headers: vec![],
        body: format!("status {code}").into_bytes(),
        length: true,
    }
}

fn with_headers(code: u16, headers: Vec<(&'static str, String)>, body: &[u8]) -> Reply {
    Reply::Full {
        status: code,
        headers,
        body: body.to_vec(),
        length: true,
    }
}

struct Server {
    port: u16,
    /// Request heads in arrival order.
    requests: Arc<Mutex<Vec<String>>>,
}

impl Server {
    async fn start(script: Vec<Reply>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        tokio::spawn(async move {
            let serve = async {
                for reply in script {
                    let (sock, _) = listener.accept().await.unwrap();
                    let seen = seen.clone();
                    tokio::spawn(async move { answer(sock, reply, seen).await });
                }
            };
            // Bounded: a test that hangs must not keep the server alive.
            let _ = tokio::time::timeout(Duration::from_secs(20), serve).await;
        });
        Server { port, requests }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

async fn answer(mut sock: TcpStream, reply: Reply, seen: Arc<Mutex<Vec<String>>>) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match sock.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    seen.lock()
        .unwrap()
        .push(String::from_utf8_lossy(&head).to_lowercase());
    match reply {
        Reply::Full {
            status,
            headers,
            body,
            length,
        } => {
            let mut out = format!("HTTP/1.1 {status} X\r\nConnection: close\r\n");
            if length {
                out += &format!("Content-Length: {}\r\n", body.len());
            }
            for (k, v) in headers {
                out += &format!("{k}: {v}\r\n");
            }
            out += "\r\n";
            let _ = sock.write_all(out.as_bytes()).await;
            let _ = sock.write_all(&body).await;
        }
        Reply::Half(body) => {
            let out = format!(
                "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            let _ = sock.write_all(out.as_bytes()).await;
            let _ = sock.write_all(&body[..body.len() / 2]).await;
            let _ = sock.flush().await;
        }
        Reply::Silent => tokio::time::sleep(Duration::from_secs(5)).await,
    }
    let _ = sock.shutdown().await;
}

#[derive(Default)]
struct RecordingSleeper(Mutex<Vec<Duration>>);

impl RecordingSleeper {
    fn delays(&self) -> Vec<Duration> {
        self.0.lock().unwrap().clone()
    }
}

impl Sleeper for RecordingSleeper {
    fn sleep(
        &self,
        d: Duration,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        self.0.lock().unwrap().push(d);
        Box::pin(async {})
    }
}

struct FixedClock(DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

fn date() -> NaiveDate {
    "2026-11-22".parse().unwrap()
}

/// 2026-11-23 08:00 in Shanghai: before a 09:30 deadline.
fn before_deadline() -> FixedClock {
    FixedClock("2026-11-23T00:00:00Z".parse().unwrap())
}

/// 2026-11-23 10:00 in Shanghai: after it.
fn after_deadline() -> FixedClock {
    FixedClock("2026-11-23T02:00:00Z".parse().unwrap())
}

struct Fixture {
    dir: tempfile::TempDir,
    cache: MemoryValidatorCache,
    sleeper: RecordingSleeper,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("erp.token"), format!("{TOKEN}\n")).unwrap();
        Fixture {
            dir,
            cache: MemoryValidatorCache::new(),
            sleeper: RecordingSleeper::default(),
        }
    }

    fn dest(&self) -> std::path::PathBuf {
        self.dir.path().join("inbox").join("2026-11-22")
    }

    /// A source for `url` with the test's token and short timings; keys in
    /// `extra` replace the defaults.
    fn source(&self, url: &str, extra: &str) -> HttpSource {
        let text = format!(
            r#"
url = "{url}"
headers = {{ Authorization = {{ value_file = "erp.token", prefix = "Bearer " }} }}
query = {{ access_token = {{ value_env = "ERP_QUERY_TOKEN" }} }}
timeout_secs = 1
connect_timeout_secs = 1
not_found_until = "09:30"
retries = {{ attempts = 3, base_ms = 10, cap_ms = 40 }}
"#
        );
        let mut table: toml::Table = toml::from_str(&text).unwrap();
        table.extend(toml::from_str::<toml::Table>(extra).unwrap());
        let env = |k: &str| (k == "ERP_QUERY_TOKEN").then(|| QUERY_SECRET.to_string());
        build_with_env(
            &table,
            &self.dir.path().join("storepulse.toml"),
            "datasets.orders.http",
            chrono_tz::Asia::Shanghai,
            &env,
        )
        .unwrap()
    }

    async fn fetch_with(
        &self,
        src: &HttpSource,
        clock: &FixedClock,
    ) -> Result<FetchOutcome, HttpError> {
        fetch(src, date(), &self.dest(), &self.cache, clock, &self.sleeper).await
    }

    /// Every entry of the destination folder, hidden ones included, with
    /// its content: only whole files may be there.
    fn dest_files(&self) -> Vec<(String, Vec<u8>)> {
        let Ok(rd) = std::fs::read_dir(self.dest()) else {
            return vec![];
        };
        let mut out: Vec<_> = rd
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().to_string_lossy().into_owned(),
                    std::fs::read(e.path()).unwrap(),
                )
            })
            .collect();
        out.sort();
        out
    }
}

fn sha_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

fn gbk_csv() -> Vec<u8> {
    let text = "订单编号,买家会员名,订单状态,买家实际支付金额\r\n\
                1001,张三,交易成功,128.50\r\n\
                1002,李四,买家已付款,66.00\r\n";
    let (bytes, _, unmappable) = encoding_rs::GBK.encode(text);
    assert!(!unmappable);
    // GBK, not UTF-8: the bytes must survive untouched.
    assert!(std::str::from_utf8(&bytes).is_err());
    bytes.into_owned()
}

fn xlsx() -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "统计日期").unwrap();
    ws.write_string(0, 1, "访客数").unwrap();
    ws.write_string(1, 0, "2026-11-22").unwrap();
    ws.write_number(1, 1, 1234.0).unwrap();
    wb.save_to_buffer().unwrap()
}

fn assert_secret_free(text: &str) {
    assert!(!text.contains(TOKEN), "token leaked: {text}");
    assert!(!text.contains(QUERY_SECRET), "query secret leaked: {text}");
}

#[tokio::test]
async fn downloads_a_gbk_csv_whole_with_credentials() {
    let csv = gbk_csv();
    let server = Server::start(vec![ok(&csv)]).await;
    let f = Fixture::new();
    let src = f.source(&server.url("/export/{yyyymmdd}/orders.csv"), "");
    let out = f.fetch_with(&src, &before_deadline()).await.unwrap();
    let path = f.dest().join("orders.csv");
    assert_eq!(
        out,
        FetchOutcome::Downloaded {
            path: path.clone(),
            sha256: sha_hex(&csv),
            size: csv.len() as u64,
            etag: None,
            last_modified: None,
        }
    );
    assert_eq!(
        storepulse::source::archive::sha256_file(&path).unwrap(),
        sha_hex(&csv)
    );
    assert_eq!(f.dest_files(), vec![("orders.csv".to_string(), csv)]);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    assert!(
        reqs[0].starts_with(&format!(
            "get /export/20261122/orders.csv?access_token={} http/1.1",
            QUERY_SECRET.to_lowercase()
        )),
        "{}",
        reqs[0]
    );
    assert!(
        reqs[0].contains(&format!("authorization: bearer {}", TOKEN.to_lowercase())),
        "{}",
        reqs[0]
    );
    // No validators were remembered, so none were sent.
    assert!(!reqs[0].contains("if-none-match"));
}

#[tokio::test]
async fn downloads_an_xlsx_under_the_servers_name_without_a_length() {
    let book = xlsx();
    let server = Server::start(vec![Reply::Full {
        status: 200,
        headers: vec![(
            "Content-Disposition",
            "attachment; filename*=UTF-8''%E5%95%86%E5%93%81_2026-11-22.xlsx".into(),
        )],
        body: book.clone(),
        length: false,
    }])
    .await;
    let f = Fixture::new();
    let src = f.source(&server.url("/api/export?day={date}"), "");
    let out = f.fetch_with(&src, &before_deadline()).await.unwrap();
    let FetchOutcome::Downloaded {
        path, sha256, size, ..
    } = out
    else {
        panic!("{out:?}");
    };
    assert_eq!(path, f.dest().join("商品_2026-11-22.xlsx"));
    assert_eq!(sha256, sha_hex(&book));
    assert_eq!(size, book.len() as u64);
    // The zip signature: a real workbook, byte for byte.
    assert_eq!(&book[..2], b"PK");
    assert_eq!(
        f.dest_files(),
        vec![("商品_2026-11-22.xlsx".to_string(), book)]
    );
}

#[tokio::test]
async fn server_errors_are_retried_until_success() {
    let csv = gbk_csv();
    let server = Server::start(vec![status(500), status(503), ok(&csv)]).await;
    let f = Fixture::new();
    let src = f.source(&server.url("/orders.csv"), "");
    let out = f.fetch_with(&src, &before_deadline()).await.unwrap();
    assert!(matches!(out, FetchOutcome::Downloaded { .. }), "{out:?}");
    assert_eq!(server.requests().len(), 3);
    // Two waits, each within the configured backoff (base 10 ms, cap 40 ms).
    let delays = f.sleeper.delays();
    assert_eq!(delays.len(), 2, "{delays:?}");
    assert!(
        delays[0] >= Duration::from_millis(5) && delays[0] <= Duration::from_millis(10),
        "{delays:?}"
    );
    assert!(
        delays[1] >= Duration::from_millis(10) && delays[1] <= Duration::from_millis(20),
        "{delays:?}"
    );
    assert_eq!(f.dest_files(), vec![("orders.csv".to_string(), csv)]);
}

#[tokio::test]
async fn server_errors_past_the_attempts_are_a_transient_error() {
    let server = Server::start(vec![status(500), status(502), status(500)]).await;
    let f = Fixture::new();
    let src = f.source(&server.url("/orders.csv"), "");
    let err = f.fetch_with(&src, &before_deadline()).await.unwrap_err();
    assert!(
        matches!(
            err,
            HttpError::Status {
                status: 500,
                attempts: 3,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_transient());
    assert_eq!(server.requests().len(), 3);
    assert_eq!(f.sleeper.delays().len(), 2);
    assert_eq!(f.dest_files(), vec![]);
}

#[tokio::test]
async fn rate_limits_honour_retry_after_seconds_and_dates() {
    let csv = gbk_csv();
    let clock = before_deadline();
    let in_two_minutes = (clock.0 + chrono::Duration::seconds(120))
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let server = Server::start(vec![
        with_headers(429, vec![("Retry-After", "3".into())], b"slow down"),
        with_headers(503, vec![("Retry-After", in_two_minutes)], b"busy"),
        ok(&csv),
    ])
    .await;
    let f = Fixture::new();
    let src = f.source(&server.url("/orders.csv"), "");
    let out = f.fetch_with(&src, &clock).await.unwrap();
    assert!(matches!(out, FetchOutcome::Downloaded { .. }), "{out:?}");
    let delays = f.sleeper.delays();
    assert_eq!(delays.len(), 2, "{delays:?}");
    assert!(delays[0] >= Duration::from_secs(3), "{delays:?}");
    assert!(delays[1] >= Duration::from_secs(120), "{delays:?}");
    assert_eq!(f.dest_files(), vec![("orders.csv".to_string(), csv)]);
}

#[tokio::test]
async fn an_overlong_retry_after_ends_the_fetch_as_transient() {
    let server = Server::start(vec![with_headers(
        429,
        vec![("Retry-After", "3600".into())],
        b"",
    )])
    .await;
    let f = Fixture::new();
    let src = f.source(&server.url("/orders.csv"), "");
    let err = f.fetch_with(&src, &before_deadline()).await.unwrap_err();
    assert!(
        matches!(
            err,
            HttpError::RetryAfterTooLong {
                wait_secs: 3600,
                max_secs: 300,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_transient());
    assert!(f.sleeper.delays().is_empty());
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_dropped_connection_leaves_no_file_and_the_retry_completes() {
    let csv = gbk_csv();
    let server = Server::start(vec![Reply::Half(csv.clone()), ok(&csv)]).await;
    let f = Fixture::new();
    let src = f.source(&server.url("/orders.csv"), "");
    let out = f.fetch_with(&src, &before_deadline()).await.unwrap();
    assert_eq!(out.path(), f.dest().join("orders.csv"));
    assert_eq!(server.requests().len(), 2);
    assert_eq!(f.dest_files(), vec![("orders.csv".to_string(), csv)]);
}

#[tokio::test]
async fn a_dropped_connection_without_retries_is_a_transient_error_and_no_file() {
    let csv = gbk_csv();
    let server = Server::start(vec![Reply::Half(csv.clone())]).await;
    let f = Fixture::new();
    let src = f.source(&server.url("/orders.csv"), "retries = { attempts = 1 }");
    let err = f.fetch_with(&src, &before_deadline()).await.unwrap_err();
    let half = (csv.len() / 2) as u64;
    assert!(
        matches!(err, HttpError::ShortBody { got, expected, attempts: 1, .. }
            if got == half && expected == csv.len() as u64),
        "{err:?}"
    );
    assert!(err.is_transient());
    // Not even the hidden .part file is left.
    assert_eq!(f.dest_files(), vec![]);
}

#[tokio::test]
async fn a_silent_server_times_out_within_the_bound() {
    let server = Server::start(vec![Reply::Silent, Reply::Silent]).await;
    let f = Fixture::new();
    let src = f.source(
        &server.url("/orders.csv"),
        "retries = { attempts = 2, base_ms = 1, cap_ms = 1 }",
    );
    let err = f.fetch_with(&src, &before_deadline()).await.unwrap_err();
    assert!(
        matches!(
            err,
            HttpError::Timeout {
                secs: 1,
                attempts: 2,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_transient());
    assert_eq!(server.requests().len(), 2);
    assert_eq!(f.dest_files(), vec![]);
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_transient() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let f = Fixture::new();
    let src = f.source(&format!("http://127.0.0.1:{port}/orders.csv"), "");
    let err = f.fetch_with(&src, &before_deadline()).await.unwrap_err();
    assert!(
        matches!(err, HttpError::Connect { attempts: 3, .. }),
        "{err:?}"
    );
    assert!(err.is_transient());
    assert_secret_free(&format!("{err} {err:?}"));
    assert_eq!(f.sleeper.delays().len(), 2);
}

#[tokio::test]
async fn the_second_fetch_sends_the_etag_back_and_gets_304() {
    let csv = gbk_csv();
    let lm = "Sun, 22 Nov 2026 23:00:00 GMT";
    let server = Server::start(vec![
        with_headers(
            200,
            vec![("ETag", "\"v1\"".into()), ("Last-Modified", lm.into())],
            &csv,
        ),
        with_headers(304, vec![("ETag", "\"v1\"".into())], b""),
        // After the file is removed from the folder: asked for whole again.
        ok(&csv),
    ])
    .await;
    let f = Fixture::new();
    let src = f.source(&server.url("/orders.csv"), "");
    let first = f.fetch_with(&src, &before_deadline()).await.unwrap();
    let FetchOutcome::Downloaded {
        etag,
        last_modified,
        ..
    } = &first
    else {
        panic!("{first:?}");
    };
    assert_eq!(etag.as_deref(), Some("\"v1\""));
    assert_eq!(last_modified.as_deref(), Some(lm));
    // The cache is keyed by the URL without secrets.
    let key = storepulse::source::http::public_url(&src, date());
    assert!(key.ends_with("/orders.csv?access_token=***"), "{key}");
    assert_eq!(f.cache.get(&key).unwrap().sha256, sha_hex(&csv));

    let second = f.fetch_with(&src, &before_deadline()).await.unwrap();
    assert_eq!(
        second,
        FetchOutcome::Unchanged {
            path: f.dest().join("orders.csv"),
            sha256: sha_hex(&csv),
        }
    );
    let reqs = server.requests();
    assert!(reqs[1].contains("if-none-match: \"v1\""), "{}", reqs[1]);
    assert!(
        reqs[1].contains(&format!("if-modified-since: {}", lm.to_lowercase())),
        "{}",
        reqs[1]
    );
    assert_eq!(
        f.dest_files(),
        vec![("orders.csv".to_string(), csv.clone())]
    );

    // A 304 must always point at a real file: without it, no validators.
    std::fs::remove_file(f.dest().join("orders.csv")).unwrap();
    let third = f.fetch_with(&src, &before_deadline()).await.unwrap();
    assert!(
        matches!(third, FetchOutcome::Downloaded { .. }),
        "{third:?}"
    );
    assert!(!server.requests()[2].contains("if-none-match"));
    assert_eq!(f.dest_files(), vec![("orders.csv".to_string(), csv)]);
}

#[tokio::test]
async fn a_bad_token_is_a_clear_permanent_error_without_retry() {
    let server = Server::start(vec![status(401), status(401), status(401)]).await;
    let f = Fixture::new();
    let src = f.source(&server.url("/export/{date}/orders.csv"), "");
    let err = f.fetch_with(&src, &before_deadline()).await.unwrap_err();
    assert!(
        matches!(err, HttpError::Denied { status: 401, .. }),
        "{err:?}"
    );
    assert!(!err.is_transient());
    let text = err.to_string();
    assert_eq!(
        text,
        format!(
            "http://127.0.0.1:{}/export/2026-11-22/orders.csv?access_token=***: access denied \
             (HTTP 401); check the credentials configured in [datasets.orders.http] \
             (token_env / headers)",
            server.port
        )
    );
    assert_secret_free(&format!("{err} {err:?} {src:?}"));
    assert_eq!(server.requests().len(), 1);
    assert!(f.sleeper.delays().is_empty());
    assert_eq!(f.dest_files(), vec![]);
}

#[tokio::test]
async fn a_403_is_denied_too_and_other_4xx_are_not_retried() {
    let server = Server::start(vec![status(403), status(400)]).await;
    let f = Fixture::new();
    let src = f.source(&server.url("/orders.csv"), "");
    let err = f.fetch_with(&src, &before_deadline()).await.unwrap_err();
    assert!(
        matches!(err, HttpError::Denied { status: 403, .. }),
        "{err:?}"
    );
    let err = f.fetch_with(&src, &before_deadline()).await.unwrap_err();
    assert!(
        matches!(
            err,
            HttpError::Status {
                status: 400,
                attempts: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!err.is_transient());
    assert_eq!(server.requests().len(), 2);
    assert!(f.sleeper.delays().is_empty());
}

#[tokio::test]
async fn not_found_before_the_deadline_is_not_yet_then_the_file_arrives() {
    let csv = gbk_csv();
    let server = Server::start(vec![status(404), ok(&csv)]).await;
    let f = Fixture::new();
    let src = f.source(&server.url("/orders.csv"), "");
    let err = f.fetch_with(&src, &before_deadline()).await.unwrap_err();
    assert!(matches!(err, HttpError::NotYet { .. }), "{err:?}");
    assert!(err.is_transient());
    assert!(
        err.to_string()
            .contains("missing after 2026-11-23 09:30 CST"),
        "{err}"
    );
    // "Not yet" is for the run to retry later, not for this fetch.
    assert_eq!(server.requests().len(), 1);
    assert!(f.sleeper.delays().is_empty());
    assert_eq!(f.dest_files(), vec![]);

    let out = f.fetch_with(&src, &before_deadline()).await.unwrap();
    assert!(matches!(out, FetchOutcome::Downloaded { .. }), "{out:?}");
    assert_eq!(f.dest_files(), vec![("orders.csv".to_string(), csv)]);
}

#[tokio::test]
async fn not_found_after_the_deadline_is_permanent() {
    let server = Server::start(vec![status(404)]).await;
    let f = Fixture::new();
    let src = f.source(&server.url("/orders.csv"), "");
    let err = f.fetch_with(&src, &after_deadline()).await.unwrap_err();
    assert!(
        matches!(err, HttpError::NotFound { status: 404, .. }),
        "{err:?}"
    );
    assert!(!err.is_transient());
}

#[tokio::test]
async fn an_empty_body_is_not_yet_then_empty_after_the_deadline() {
    let server = Server::start(vec![ok(b""), ok(b"")]).await;
    let f = Fixture::new();
    let src = f.source(&server.url("/orders.csv"), "");
    let err = f.fetch_with(&src, &before_deadline()).await.unwrap_err();
    assert!(
        matches!(&err, HttpError::NotYet { reason, .. } if reason == "empty body"),
        "{err:?}"
    );
    assert_eq!(f.dest_files(), vec![]);
    let err = f.fetch_with(&src, &after_deadline()).await.unwrap_err();
    assert!(matches!(err, HttpError::Empty { .. }), "{err:?}");
    assert!(!err.is_transient());
    assert_eq!(f.dest_files(), vec![]);
}

#[tokio::test]
async fn a_changed_export_replaces_the_file_whole() {
    let old = gbk_csv();
    let mut new = old.clone();
    new.extend_from_slice(b"1003,x,y,1.00\r\n");
    let server = Server::start(vec![
        with_headers(200, vec![("ETag", "\"a\"".into())], &old),
        with_headers(200, vec![("ETag", "\"b\"".into())], &new),
    ])
    .await;
    let f = Fixture::new();
    let src = f.source(
        &server.url("/orders.csv"),
        "file_name = \"orders_{yyyymmdd}.csv\"",
    );
    f.fetch_with(&src, &before_deadline()).await.unwrap();
    let out = f.fetch_with(&src, &before_deadline()).await.unwrap();
    assert_eq!(
        out,
        FetchOutcome::Downloaded {
            path: f.dest().join("orders_20261122.csv"),
            sha256: sha_hex(&new),
            size: new.len() as u64,
            etag: Some("\"b\"".into()),
            last_modified: None,
        }
    );
    assert!(server.requests()[1].contains("if-none-match: \"a\""));
    assert_eq!(
        f.dest_files(),
        vec![("orders_20261122.csv".to_string(), new)]
    );
}

#[test]
fn secret_files_resolve_relative_to_the_config_folder() {
    // A missing secret is a config problem found by `validate`, not at fetch.
    let dir = tempfile::tempdir().unwrap();
    let table: toml::Table = toml::from_str(
        "url = \"https://h/{date}\"\nheaders = { X-Key = { value_file = \"secrets/k\" } }",
    )
    .unwrap();
    let file = dir.path().join("storepulse.toml");
    let tz = chrono_tz::Asia::Shanghai;
    let err = build_with_env(&table, &file, "datasets.traffic.http", tz, &|_| None).unwrap_err();
    assert_eq!(
        err.0[0].key,
        "datasets.traffic.http.headers.X-Key.value_file"
    );
    std::fs::create_dir(dir.path().join("secrets")).unwrap();
    std::fs::write(dir.path().join("secrets/k"), "v").unwrap();
    assert!(build_with_env(&table, &file, "datasets.traffic.http", tz, &|_| None).is_ok());
}

#[tokio::test]
async fn a_configured_stem_gets_the_served_extension_so_the_inbox_pattern_matches() {
    let book = xlsx();
    let server = Server::start(vec![with_headers(
        200,
        vec![(
            "Content-Type",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".into(),
        )],
        &book,
    )])
    .await;
    let f = Fixture::new();
    let src = f.source(
        &server.url("/api/traffic?day={date}"),
        "file_name = \"traffic\"",
    );
    let out = f.fetch_with(&src, &before_deadline()).await.unwrap();
    assert_eq!(out.path(), f.dest().join("traffic.xlsx"));
    // The inbox's default pattern for the dataset picks the file up.
    let pattern = storepulse::source::pattern::DatePattern::new("{date}/traffic.*").unwrap();
    assert_eq!(
        pattern.date_of(std::path::Path::new("2026-11-22/traffic.xlsx")),
        Some(date())
    );
    assert_eq!(f.dest_files(), vec![("traffic.xlsx".to_string(), book)]);
}

#[test]
fn a_fetch_can_run_on_a_spawned_task() {
    fn assert_send<T: Send>(_: &T) {}
    let f = Fixture::new();
    let src = f.source("http://127.0.0.1:9/x.csv", "");
    let clock = before_deadline();
    let dest = f.dest();
    let fut = fetch(&src, date(), &dest, &f.cache, &clock, &f.sleeper);
    assert_send(&fut);
}

#[tokio::test]
async fn a_renamed_export_replaces_the_previous_download() {
    let old = gbk_csv();
    let mut new = old.clone();
    new.extend_from_slice(b"1003,x,y,1.00\r\n");
    let named = |n: &str| {
        vec![(
            "Content-Disposition",
            format!("attachment; filename=\"{n}\""),
        )]
    };
    let server = Server::start(vec![
        with_headers(200, named("orders_0830.csv"), &old),
        with_headers(200, named("orders_0915.csv"), &new),
    ])
    .await;
    let f = Fixture::new();
    let src = f.source(&server.url("/orders"), "");
    // A file the fetch did not write is not the fetch's to remove.
    std::fs::create_dir_all(f.dest()).unwrap();
    std::fs::write(f.dest().join("notes.txt"), b"mine").unwrap();
    f.fetch_with(&src, &before_deadline()).await.unwrap();
    let out = f.fetch_with(&src, &before_deadline()).await.unwrap();
    assert_eq!(out.path(), f.dest().join("orders_0915.csv"));
    assert_eq!(
        f.dest_files(),
        vec![
            ("notes.txt".to_string(), b"mine".to_vec()),
            ("orders_0915.csv".to_string(), new)
        ]
    );
}
