//! Shared parts of the delivery tests: a real SMTP server (tests/smtp/server.py
//! on 127.0.0.1) as a child process, throwaway certificates from the openssl
//! CLI, the Python parser for delivered messages, and sample report data.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{TimeZone, Utc};
use rusqlite::Connection;
use storepulse::deliver::{
    Addressing, Attachment, Backoff, CheckLevel, ComposeOptions, Direction, EmailCheck,
    EmailContext, EmailTemplates, Kpi, OUTBOX_SQL, RetryPolicy, Sleeper,
};

pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn templates() -> EmailTemplates {
    EmailTemplates::load(&manifest_dir().join("templates/email")).expect("shipped templates load")
}

/// Fails the test loudly when the Python side is not installed.
pub fn require_python_deps() {
    let out = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .output()
        .expect("python3 must be installed for the SMTP tests");
    assert!(
        out.status.success(),
        "aiosmtpd is missing: run scripts/test-deps.sh first\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub struct Certs {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl CLI must be installed (scripts/test-deps.sh)");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A throwaway CA and a server certificate for 127.0.0.1 / localhost.
pub fn make_certs(dir: &Path) -> Certs {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=storepulse test CA",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    );
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
    Certs {
        ca: dir.join("ca.pem"),
        cert: dir.join("server.pem"),
        key: dir.join("server.key"),
    }
}

/// tests/smtp/server.py running as a child; killed on drop.
pub struct SmtpServer {
    child: Child,
    pub port: u16,
    pub spool: PathBuf,
}

impl SmtpServer {
    /// Starts the server in `mode` (port 0 = any free one) and waits for its
    /// READY line.
    pub fn start(mode: &str, port: u16, spool: &Path, extra: &[String]) -> SmtpServer {
        require_python_deps();
        let mut child = Command::new("python3")
            .arg(manifest_dir().join("tests/smtp/server.py"))
            .args(["--mode", mode, "--port", &port.to_string(), "--spool"])
            .arg(spool)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tests/smtp/server.py");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let Some(port) = line
            .trim()
            .strip_prefix("READY ")
            .and_then(|p| p.parse().ok())
        else {
            let mut err = String::new();
            let _ = child.kill();
            let _ = child.stderr.take().unwrap().read_to_string(&mut err);
            panic!("test SMTP server did not start ({mode}): {line}\n{err}");
        };
        SmtpServer {
            child,
            port,
            spool: spool.to_path_buf(),
        }
    }

    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Messages saved so far.
    pub fn delivered(&self) -> usize {
        count_delivered(&self.spool)
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn count_delivered(spool: &Path) -> usize {
    std::fs::read_dir(spool)
        .map(|d| {
            d.filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "eml"))
            })
            .count()
        })
        .unwrap_or(0)
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Every delivered message as tests/smtp/check.py parses it.
pub fn parse_spool(spool: &Path, out: &Path) -> Vec<serde_json::Value> {
    let output = Command::new("python3")
        .arg(manifest_dir().join("tests/smtp/check.py"))
        .arg(spool)
        .arg(out)
        .output()
        .expect("run tests/smtp/check.py");
    assert!(
        output.status.success(),
        "check.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice::<serde_json::Value>(&output.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// A temp-file SQLite store with the outbox table.
pub fn store() -> (tempfile::TempDir, Connection) {
    let dir = tempfile::tempdir().unwrap();
    let conn = Connection::open(dir.path().join("state.sqlite")).unwrap();
    conn.execute_batch(OUTBOX_SQL).unwrap();
    (dir, conn)
}

/// A workbook-like payload: a real zip container with deterministic bytes.
pub fn workbook_bytes(n: usize) -> Vec<u8> {
    let mut bytes = b"PK\x03\x04".to_vec();
    let mut x: u32 = 2463534242;
    while bytes.len() < n {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        bytes.push((x & 0xff) as u8);
    }
    bytes
}

pub fn sample_context(team: &str, team_name: &str, attachment: Option<Attachment>) -> EmailContext {
    EmailContext {
        shop: "云朵旗舰店".into(),
        job: "daily-ops".into(),
        job_name: "日报".into(),
        period: "2026-11-22".into(),
        team: team.into(),
        team_name: team_name.into(),
        locale: "zh-CN".into(),
        kpis: vec![
            Kpi {
                label: "销售额".into(),
                value_text: "¥128,450.00".into(),
                change_text: "+5.2%".into(),
                direction: Direction::Up,
            },
            Kpi {
                label: "转化率".into(),
                value_text: "3.10%".into(),
                change_text: "-0.4pp".into(),
                direction: Direction::Down,
            },
        ],
        checks: vec![
            EmailCheck {
                level: CheckLevel::Pass,
                title: "订单文件存在".into(),
                message: "orders.csv 已收到".into(),
            },
            EmailCheck {
                level: CheckLevel::Warn,
                title: "退款率偏高".into(),
                message: "退款率 8.1%，高于上限 5.0%".into(),
            },
        ],
        flagged: false,
        notes: vec![],
        attachment,
        run_folder: Some("/srv/storepulse/out/daily-ops/2026-11-22".into()),
    }
}

pub fn addressing(to: &[&str], cc: &[&str]) -> Addressing {
    Addressing {
        from: "storepulse 报表 <reports@shop.example.com>"
            .parse()
            .unwrap(),
        to: to.iter().map(|s| s.to_string()).collect(),
        cc: cc.iter().map(|s| s.to_string()).collect(),
    }
}

pub fn options() -> ComposeOptions {
    ComposeOptions {
        now: Utc.with_ymd_and_hms(2026, 11, 23, 0, 30, 0).unwrap(),
        max_attachment_bytes: 20_000_000,
    }
}

/// A sleeper that records each requested delay and returns at once.
#[derive(Default)]
pub struct RecordingSleeper {
    pub delays: Mutex<Vec<Duration>>,
}

impl Sleeper for RecordingSleeper {
    fn sleep(
        &self,
        delay: Duration,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        self.delays.lock().unwrap().push(delay);
        Box::pin(async {})
    }
}

/// `attempts` tries, base 2 s, cap 60 s, no jitter, no real waiting.
pub fn recorded_backoff(attempts: u32) -> (Backoff, Arc<RecordingSleeper>) {
    let sleeper = Arc::new(RecordingSleeper::default());
    let backoff = Backoff::with(
        RetryPolicy {
            attempts,
            base: Duration::from_secs(2),
            cap: Duration::from_secs(60),
        },
        sleeper.clone(),
        || 0.0,
    );
    (backoff, sleeper)
}

/// Parses one composed message with tests/smtp/check.py, as a client would.
pub fn parse_eml(eml: &[u8]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    std::fs::create_dir_all(&spool).unwrap();
    std::fs::write(spool.join("0001.eml"), eml).unwrap();
    std::fs::write(spool.join("0001.json"), "{}").unwrap();
    let mut parsed = parse_spool(&spool, &dir.path().join("out"));
    let mut msg = parsed.remove(0);
    // Attachment bytes are read back before the temp dir goes.
    if let Some(atts) = msg["attachments"].as_array_mut() {
        for att in atts {
            let bytes = std::fs::read(att["path"].as_str().unwrap()).unwrap();
            att["bytes_hex"] = serde_json::Value::String(hex::encode(bytes));
        }
    }
    msg
}
