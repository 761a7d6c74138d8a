//! HTTP-sourced datasets through the real binary: `run-job daily-ops`
//! with orders and traffic served by a scripted server on 127.0.0.1, the
//! sample configuration otherwise, and an empty inbox.
//!
//! The exports served are the sample's for 2026-11-22: its orders CSV holds
//! a header and 326 orders (checked against the file below), its traffic
//! workbook 13 rows (the shop total and 12 sources), all dated that day.

#[path = "support/http_server.rs"]
mod http_server;

use std::path::{Path, PathBuf};
use std::process::Command;

use http_server::{Reply, Server};

const TOKEN: &str = "tok-93be1c-secret";
const DAY: &str = "2026-11-22";
const ORDERS_PATH: &str = "/orders/20261122.csv";
const TRAFFIC_PATH: &str = "/traffic/2026-11-22.xlsx";
const ORDERS_ROWS: i64 = 326;
const TRAFFIC_ROWS: i64 = 13;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(repo().join("sample-data/inbox").join(DAY).join(name)).unwrap()
}

fn orders_csv() -> Vec<u8> {
    sample("ExportOrderList20261122.csv")
}

fn traffic_xlsx() -> Vec<u8> {
    sample("【生意参谋平台】流量来源_2026-11-22_2026-11-22.xlsx")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

struct Outcome {
    code: i32,
    stderr: String,
}

struct Setup {
    dir: tempfile::TempDir,
    server: Server,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::copy(repo().join("storepulse.toml"), root.join("storepulse.toml")).unwrap();
        copy_dir(&repo().join("jobs"), &root.join("jobs"));
        copy_dir(&repo().join("templates"), &root.join("templates"));
        std::fs::create_dir_all(root.join("sample-data")).unwrap();
        std::fs::copy(
            repo().join("sample-data/targets.csv"),
            root.join("sample-data/targets.csv"),
        )
        .unwrap();
        std::fs::create_dir_all(root.join("inbox")).unwrap();
        Setup {
            dir,
            server: Server::start(),
        }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Orders from `/orders/{yyyymmdd}.csv` with a bearer token, saved under
    /// the name the sample config's pattern expects.
    fn orders_http(&self) -> Vec<String> {
        vec![
            format!(
                "datasets.orders.http.url=\"http://127.0.0.1:{}/orders/{{yyyymmdd}}.csv\"",
                self.server.port()
            ),
            r#"datasets.orders.http.file_name="ExportOrderList{yyyymmdd}.csv""#.into(),
            r#"datasets.orders.http.token_env="ERP_TOKEN""#.into(),
            "datasets.orders.http.retries.base_ms=1".into(),
        ]
    }

    fn traffic_http(&self) -> Vec<String> {
        vec![
            format!(
                "datasets.traffic.http.url=\"http://127.0.0.1:{}/traffic/{{date}}.xlsx\"",
                self.server.port()
            ),
            r#"datasets.traffic.http.file_name="【生意参谋平台】流量来源_{date}_{date}.xlsx""#
                .into(),
            "datasets.traffic.http.retries.base_ms=1".into(),
        ]
    }

    fn run(&self, date: &str, sets: &[String]) -> Outcome {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_storepulse"));
        cmd.current_dir(self.root())
            .env("ERP_TOKEN", TOKEN)
            .env_remove("STOREPULSE_CONFIG")
            .env_remove("STOREPULSE_LOG")
            .args(["--config", "storepulse.toml", "--set", "inbox=inbox"]);
        for s in sets {
            cmd.args(["--set", s]);
        }
        cmd.args(["run-job", "daily-ops", "--date", date, "--no-send"]);
        let out = cmd.output().unwrap();
        Outcome {
            code: out.status.code().unwrap_or(-1),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.root().join("var/storepulse.db")).unwrap()
    }

    fn count(&self, sql: &str) -> i64 {
        self.db().query_row(sql, [], |r| r.get(0)).unwrap()
    }

    /// What the file registry holds; equal before and after a run that
    /// ingested nothing.
    fn registry(&self) -> Vec<(String, String, String, i64)> {
        let db = self.db();
        let mut stmt = db
            .prepare(
                "SELECT dataset, path, sha256, ingested_at FROM ingested_files ORDER BY dataset, path",
            )
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    fn last_run_status(&self) -> String {
        self.db()
            .query_row(
                "SELECT status FROM runs ORDER BY id DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .unwrap()
    }

    /// Every entry of the inbox's folder for `date`, hidden ones included.
    fn inbox_files(&self, date: &str) -> Vec<String> {
        let dir = self.root().join("inbox").join(date);
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn run_folder(&self, date: &str) -> PathBuf {
        self.root().join("var/out/daily-ops").join(date)
    }
}

#[test]
fn served_rows_match_the_sample_file() {
    // Header plus one line per order, no line breaks inside fields.
    let lines = orders_csv()
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    assert_eq!(lines as i64, ORDERS_ROWS + 1);
}

#[test]
fn fetched_exports_are_ingested_once_then_revalidated() {
    let s = Setup::new();
    s.server.route(
        ORDERS_PATH,
        vec![
            Reply::Status(500),
            Reply::Status(500),
            Reply::File {
                body: orders_csv(),
                etag: Some("\"o-1\"".into()),
            },
        ],
    );
    s.server.route(
        TRAFFIC_PATH,
        vec![Reply::File {
            body: traffic_xlsx(),
            etag: Some("\"t-1\"".into()),
        }],
    );
    let mut sets = [s.orders_http(), s.traffic_http()].concat();
    // An optional dataset the server does not have (404): left out.
    sets.extend([
        format!(
            "datasets.ads.http.url=\"http://127.0.0.1:{}/ads/{{yyyymmdd}}.csv\"",
            s.server.port()
        ),
        r#"datasets.ads.http.file_name="推广报表_{yyyymmdd}.csv""#.into(),
    ]);

    let first = s.run(DAY, &sets);
    assert_eq!(first.code, 0, "{}", first.stderr);
    // 500 twice, then the file.
    let orders_requests = s.server.requests(ORDERS_PATH);
    assert_eq!(orders_requests.len(), 3);
    assert!(
        orders_requests
            .iter()
            .all(|r| r.contains(&format!("authorization: bearer {TOKEN}"))),
        "{orders_requests:?}"
    );
    assert_eq!(s.count("SELECT count(*) FROM orders"), ORDERS_ROWS);
    assert_eq!(
        s.count("SELECT count(*) FROM orders WHERE day = '2026-11-22'"),
        ORDERS_ROWS
    );
    assert_eq!(s.count("SELECT count(*) FROM traffic"), TRAFFIC_ROWS);
    assert_eq!(s.server.requests("/ads/20261122.csv").len(), 1);
    assert_eq!(
        s.inbox_files(DAY),
        [
            "ExportOrderList20261122.csv",
            "【生意参谋平台】流量来源_2026-11-22_2026-11-22.xlsx"
        ]
    );
    assert_eq!(
        std::fs::read(
            s.root()
                .join("inbox")
                .join(DAY)
                .join("ExportOrderList20261122.csv")
        )
        .unwrap(),
        orders_csv()
    );
    assert!(s.run_folder(DAY).join("summary.json").is_file());
    let registry = s.registry();
    assert_eq!(registry.len(), 2, "{registry:?}");

    // The second run asks "changed since?", gets 304 and ingests nothing.
    let second = s.run(DAY, &sets);
    assert_eq!(second.code, 0, "{}", second.stderr);
    let orders_requests = s.server.requests(ORDERS_PATH);
    assert_eq!(orders_requests.len(), 4);
    assert!(
        orders_requests[3].contains("if-none-match: \"o-1\""),
        "{}",
        orders_requests[3]
    );
    let traffic_requests = s.server.requests(TRAFFIC_PATH);
    assert_eq!(traffic_requests.len(), 2);
    assert!(
        traffic_requests[1].contains("if-none-match: \"t-1\""),
        "{}",
        traffic_requests[1]
    );
    assert_eq!(s.registry(), registry);
    assert_eq!(s.count("SELECT count(*) FROM orders"), ORDERS_ROWS);
    assert_eq!(s.count("SELECT count(*) FROM traffic"), TRAFFIC_ROWS);
    assert_eq!(s.count("SELECT count(*) FROM http_validators"), 2);

    // The server in trouble: the day's earlier download is still in the
    // inbox, so the run goes on with it.
    s.server.route(ORDERS_PATH, vec![Reply::Status(503)]);
    let third = s.run(DAY, &sets);
    assert_eq!(third.code, 0, "{}", third.stderr);
    assert_eq!(s.server.requests(ORDERS_PATH).len(), 7);
    assert_eq!(s.registry(), registry);
    assert_eq!(s.count("SELECT count(*) FROM orders"), ORDERS_ROWS);
}

#[test]
fn denied_is_an_input_error_without_retry_or_token() {
    let s = Setup::new();
    s.server.route(ORDERS_PATH, vec![Reply::Status(401)]);
    s.server.route(
        TRAFFIC_PATH,
        vec![Reply::File {
            body: traffic_xlsx(),
            etag: None,
        }],
    );
    let sets = [s.orders_http(), s.traffic_http()].concat();
    let out = s.run(DAY, &sets);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert_eq!(s.server.requests(ORDERS_PATH).len(), 1);
    let url = format!("http://127.0.0.1:{}{ORDERS_PATH}", s.server.port());
    assert!(out.stderr.contains(&url), "{}", out.stderr);
    assert!(
        out.stderr.contains("access denied (HTTP 401)"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(TOKEN), "{}", out.stderr);
    assert_eq!(s.count("SELECT count(*) FROM orders"), 0);
    assert_eq!(s.last_run_status(), "failed");
    assert!(!s.run_folder(DAY).exists());
}

#[test]
fn a_broken_transfer_leaves_no_file_behind() {
    let s = Setup::new();
    s.server.route(
        ORDERS_PATH,
        vec![
            Reply::Half(orders_csv()),
            Reply::Half(orders_csv()),
            Reply::File {
                body: orders_csv(),
                etag: None,
            },
        ],
    );
    s.server.route(
        TRAFFIC_PATH,
        vec![Reply::File {
            body: traffic_xlsx(),
            etag: None,
        }],
    );
    let mut sets = [s.orders_http(), s.traffic_http()].concat();
    sets.push("datasets.orders.http.retries.attempts=2".into());

    let out = s.run(DAY, &sets);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr.contains("the body ended after"),
        "{}",
        out.stderr
    );
    assert_eq!(s.server.requests(ORDERS_PATH).len(), 2);
    // Neither the half file nor its `.part` is left for an ingest to find.
    assert!(s.inbox_files(DAY).is_empty(), "{:?}", s.inbox_files(DAY));
    assert_eq!(s.count("SELECT count(*) FROM orders"), 0);
    assert!(!s.run_folder(DAY).exists());

    let out = s.run(DAY, &sets);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(s.count("SELECT count(*) FROM orders"), ORDERS_ROWS);
}

/// The export of a day not over yet is "not published yet" until its
/// deadline (by default a day after the date ends), so this test uses
/// today's date in the shop's time zone and small exports of its own. It
/// also serves traffic as CSV under the default file name (`traffic.csv`).
#[test]
fn not_yet_fails_transiently_then_the_export_is_fetched() {
    let s = Setup::new();
    let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
    let date = today.format("%Y-%m-%d").to_string();
    let ymd = today.format("%Y%m%d").to_string();
    let orders = format!(
        "订单编号,买家会员名,买家实际支付金额,订单状态,订单创建时间,订单付款时间\n\
         =\"9000000000000000001\",alice,100.00,交易成功,{date} 00:10:00,{date} 00:11:00\n\
         =\"9000000000000000002\",bob,50.50,交易成功,{date} 00:20:00,{date} 00:25:00\n\
         =\"9000000000000000003\",carol,20.00,等待买家付款,{date} 00:30:00,\n"
    );
    let traffic = format!("统计日期,流量来源,访客数\n{date},汇总,120\n{date},手淘搜索,80\n");
    let orders_path = format!("/orders/{ymd}.csv");
    let traffic_path = format!("/traffic/{date}.csv");
    s.server.route(
        &orders_path,
        vec![
            Reply::Status(404),
            Reply::File {
                body: orders.into_bytes(),
                etag: None,
            },
        ],
    );
    s.server.route(
        &traffic_path,
        vec![Reply::File {
            body: traffic.into_bytes(),
            etag: None,
        }],
    );
    let mut sets = s.orders_http();
    sets.extend([
        format!(
            "datasets.traffic.http.url=\"http://127.0.0.1:{}/traffic/{{date}}.csv\"",
            s.server.port()
        ),
        r#"datasets.traffic.pattern="{date}/traffic.*""#.into(),
    ]);

    let out = s.run(&date, &sets);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("not published yet"), "{}", out.stderr);
    // No retry within the run: the scheduler tries again later.
    assert_eq!(s.server.requests(&orders_path).len(), 1);
    assert_eq!(s.last_run_status(), "failed");
    assert!(!s.run_folder(&date).exists());
    assert_eq!(s.count("SELECT count(*) FROM orders"), 0);

    let out = s.run(&date, &sets);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        s.inbox_files(&date),
        [
            format!("ExportOrderList{ymd}.csv"),
            "traffic.csv".to_string()
        ]
    );
    assert_eq!(s.count("SELECT count(*) FROM orders"), 3);
    assert_eq!(s.count("SELECT count(*) FROM traffic"), 2);
    assert!(s.run_folder(&date).join("summary.json").is_file());
}
