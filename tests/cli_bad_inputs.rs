//! The bad-input corpus through `run-job`: each bad file stands in for the
//! 2026-11-22 orders export of an inbox that otherwise holds the sample's
//! 2026-11-21 and 2026-11-22 files, over a state that already holds the good
//! export of that day. A file that cannot be read stops the run with exit 3,
//! names file, position and reason, writes no run folder and leaves the store
//! as it was; a file with a bad row loses that row, and the checks of
//! summary.json say where it was.

mod support;

use std::sync::OnceLock;

use serde_json::Value;
use support::{
    Output, Workspace, check, csv_records, csv_text, orders_file, read_gbk, repo, write_gbk,
};

const DAYS: [&str; 2] = ["2026-11-21", "2026-11-22"];
const ORDERS_FILE: &str = "2026-11-22/ExportOrderList20261122";

/// The state after a good run over the two days.
fn good_state() -> &'static [u8] {
    static STATE: OnceLock<Vec<u8>> = OnceLock::new();
    STATE.get_or_init(|| {
        let ws = Workspace::with_inbox_copy(&DAYS);
        ws.prepare_state(&["run-job", "daily-ops", "--date", "2026-11-22"])
    })
}

fn bad(name: &str) -> Vec<u8> {
    std::fs::read(repo().join("tests/fixtures/bad").join(name)).unwrap()
}

/// A workspace over the good state whose 2026-11-22 orders export is
/// `bytes`, saved with extension `ext`.
fn with_orders(bytes: &[u8], ext: &str) -> Workspace {
    let ws = Workspace::with_inbox_copy(&DAYS);
    ws.use_state_bytes(good_state());
    std::fs::remove_file(orders_file(&ws.inbox, "2026-11-22")).unwrap();
    std::fs::write(ws.inbox.join(format!("{ORDERS_FILE}.{ext}")), bytes).unwrap();
    ws
}

fn run(ws: &Workspace, sets: &[&str]) -> Output {
    ws.run_with(sets, &["run-job", "daily-ops", "--date", "2026-11-22"])
}

/// The file is refused: exit 3, stderr names it and says why, nothing in
/// the run folders, every table and the file registry as before.
fn assert_refused(bytes: &[u8], ext: &str, reason: &[&str]) {
    let ws = with_orders(bytes, ext);
    let counts = ws.counts();
    let registered = ws.registered();
    let out = run(&ws, &[]);
    out.expect_code(3)
        .stderr_has(&[&format!("{ORDERS_FILE}.{ext}")])
        .stderr_has(reason);
    assert_eq!(ws.out_files(), Vec::<String>::new());
    assert_eq!(ws.counts(), counts, "the store changed");
    assert_eq!(ws.registered(), registered, "the file registry changed");
}

#[test]
fn an_empty_file_is_refused() {
    assert_refused(&bad("empty.csv"), "csv", &["the file is empty"]);
}

#[test]
fn binary_garbage_named_csv_is_refused() {
    assert_refused(&bad("garbage.csv"), "csv", &["binary content"]);
}

#[test]
fn bytes_in_no_known_encoding_are_refused_with_their_line() {
    assert_refused(
        &bad("undecodable.csv"),
        "csv",
        &["neither UTF-8 nor GB18030", "line 2, byte 77"],
    );
}

#[test]
fn a_missing_required_column_is_refused_naming_it() {
    assert_refused(
        &bad("missing_column.csv"),
        "csv",
        &["header row (line 1)", "paid_amount", "买家实际支付金额"],
    );
}

#[test]
fn a_traffic_file_saved_as_orders_is_refused() {
    assert_refused(
        &bad("traffic_no_total.csv"),
        "csv",
        &["no header row in the first 10 rows", "order_id"],
    );
}

#[test]
fn a_file_for_the_wrong_date_is_refused_and_keeps_the_day() {
    let other = std::fs::read(orders_file(&support::sample_inbox(), "2026-11-20")).unwrap();
    assert_refused(
        &other,
        "csv",
        &[
            "wrong date",
            "dated outside 2026-11-22",
            "line 2",
            "2026-11-20",
        ],
    );
}

/// Runs a file that is read with rows lost or flagged, and returns the
/// outcome with its summary; the exit code follows the summary's status.
fn accepted(ws: &Workspace, sets: &[&str]) -> (Output, Value) {
    let out = run(ws, sets);
    out.no_panic();
    let s = ws.summary("daily-ops", "2026-11-22");
    let expected = if s["status"] == "held" { 1 } else { 0 };
    out.expect_code(expected);
    (out, s)
}

fn orders_rows(ws: &Workspace) -> i64 {
    ws.orders_per_day().get("2026-11-22").copied().unwrap_or(0)
}

/// An invalid-values sample at `row` of the orders file naming `column`.
fn assert_sample(s: &Value, id: &str, row: u64, detail: &[&str]) {
    let c = check(s, id);
    let samples = c["samples"].as_array().unwrap();
    let found = samples.iter().find(|x| x["row"] == row).unwrap_or_else(|| {
        panic!("{id}: no sample at row {row}: {c}");
    });
    assert!(
        found["file"].as_str().unwrap().starts_with(ORDERS_FILE),
        "{found}"
    );
    for d in detail {
        assert!(found["detail"].as_str().unwrap().contains(d), "{found}");
    }
}

/// A corpus file with one bad row: (fixture, rows kept, the line of the
/// rejected row, the column the check names, what stderr says, whether the
/// run is held).
type RowCase = (
    &'static str,
    i64,
    u64,
    &'static str,
    &'static [&'static str],
    bool,
);

#[test]
fn corpus_files_with_bad_rows_lose_those_rows_and_say_where() {
    let cases: [RowCase; 5] = [
        (
            "bad_date.csv",
            1,
            2,
            "订单创建时间",
            &["record 1 (line 2, column \"订单创建时间\"): invalid date-time \"2026-13-45\""],
            // 1 of 2 rows rejected is above the 5 % fail level.
            true,
        ),
        (
            "scientific_id.csv",
            1,
            2,
            "订单编号",
            &["column \"订单编号\"): id in scientific notation"],
            true,
        ),
        (
            "truncated.csv",
            1,
            3,
            "订单创建时间",
            &["record 2 (line 3", "truncated row"],
            true,
        ),
        ("truncated_quote.csv", 1, 3, "", &["record 2 (line 3"], true),
        (
            "orders.csv",
            40,
            43,
            "买家实际支付金额",
            &["record 41 (line 43, column \"买家实际支付金额\"): invalid amount \"1,2.3\""],
            false,
        ),
    ];
    for (name, kept, row, column, stderr, held) in cases {
        let ws = with_orders(&bad(name), "csv");
        // These small files also look like partial exports next to the
        // real previous day; the row-count check is off so that what is
        // asserted is the invalid-values check alone.
        let (out, s) = accepted(&ws, &["jobs.daily-ops.checks.row_count.enabled=false"]);
        out.stderr_has(&[ORDERS_FILE, "invalid values"])
            .stderr_has(stderr);
        assert_eq!(orders_rows(&ws), kept, "{name}");
        assert_eq!(s["status"] == "held", held, "{name}: {}", s["status"]);
        let level = if held { "fail" } else { "warn" };
        assert_eq!(check(&s, "invalid_values.orders")["level"], level, "{name}");
        assert_sample(&s, "invalid_values.orders", row, &[column]);
        let input = s["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["dataset"] == "orders")
            .unwrap();
        assert_eq!(input["rows"], kept, "{name}");
        assert_eq!(input["rejected"], 1, "{name}");
    }
}

#[test]
fn duplicated_order_ids_keep_the_later_row_and_warn() {
    let ws = with_orders(&bad("duplicate_ids.csv"), "csv");
    let (_, s) = accepted(&ws, &[]);
    assert_eq!(orders_rows(&ws), 1);
    let c = check(&s, "duplicate_keys.orders");
    assert_eq!(c["level"], "warn", "{c}");
    assert_eq!(c["samples"][0]["row"], 3, "{c}");
    assert!(c["samples"][0]["detail"].as_str().unwrap().contains("1001"));
}

#[test]
fn a_header_only_export_holds_the_run() {
    let ws = with_orders(&bad("header_only.csv"), "csv");
    let (out, s) = accepted(&ws, &[]);
    out.stderr_has(&["no data rows below the header"]);
    assert_eq!(s["status"], "held");
    assert_eq!(check(&s, "not_empty.orders")["level"], "fail");
    assert_eq!(orders_rows(&ws), 0);
}

#[test]
fn an_xlsx_that_is_really_a_csv_is_read_as_one() {
    // The whole real export under an .xlsx name: every order is read.
    let real = std::fs::read(orders_file(&support::sample_inbox(), "2026-11-22")).unwrap();
    let ws = with_orders(&real, "xlsx");
    let before = ws.counts();
    let (out, s) = accepted(
        &ws,
        &["datasets.orders.pattern={date}/ExportOrderList{yyyymmdd}*"],
    );
    out.stderr_has(&["re-export changed"]);
    let inputs: Vec<&Value> = s["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["dataset"] == "orders")
        .collect();
    // The .csv it replaced is gone from the inputs and the registry.
    assert_eq!(inputs.len(), 1, "{inputs:?}");
    let input = inputs[0];
    assert_eq!(input["file"], format!("{ORDERS_FILE}.xlsx"));
    assert!(
        !ws.registered()
            .contains_key(&format!("orders:{ORDERS_FILE}.csv"))
    );
    assert_eq!(input["rows"], 326);
    assert_eq!(orders_rows(&ws), 326);
    assert_eq!(ws.counts()["orders"], before["orders"]);
    // And the corpus's small one.
    let ws = with_orders(&bad("really_csv.xlsx"), "xlsx");
    accepted(
        &ws,
        &["datasets.orders.pattern={date}/ExportOrderList{yyyymmdd}*"],
    );
    assert_eq!(orders_rows(&ws), 1);
}

#[test]
fn traffic_without_a_total_row_sums_its_sources_and_warns() {
    let ws = Workspace::with_inbox_copy(&DAYS);
    ws.use_state_bytes(good_state());
    let day = ws.inbox.join("2026-11-22");
    std::fs::remove_file(day.join("【生意参谋平台】流量来源_2026-11-22_2026-11-22.xlsx")).unwrap();
    std::fs::write(
        day.join("【生意参谋平台】流量来源_2026-11-22_2026-11-22.csv"),
        bad("traffic_no_total.csv"),
    )
    .unwrap();
    let (out, s) = accepted(
        &ws,
        &["datasets.traffic.pattern={date}/【生意参谋平台】流量来源_{date}_{date}*"],
    );
    out.stderr_has(&["without a shop-total row"]);
    // 手淘搜索 800 + 直通车 500.
    assert_eq!(s["kpis"]["visitors"], 1300);
    assert_eq!(check(&s, "traffic_total_row.traffic")["level"], "warn");
}

/// The real 2026-11-22 export with one record changed by `edit` (records
/// counted from 1 below the header), written back as GBK.
fn sample_with(edit: impl FnOnce(&mut Vec<csv::StringRecord>)) -> Vec<u8> {
    let text = read_gbk(&orders_file(&support::sample_inbox(), "2026-11-22"));
    let mut recs = csv_records(&text);
    edit(&mut recs);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("o.csv");
    write_gbk(&p, &csv_text(&recs));
    std::fs::read(&p).unwrap()
}

fn set(rec: &mut csv::StringRecord, col: usize, value: &str) {
    let mut cells: Vec<String> = rec.iter().map(str::to_string).collect();
    cells[col] = value.to_string();
    *rec = csv::StringRecord::from(cells);
}

fn col(recs: &[csv::StringRecord], name: &str) -> usize {
    recs[0].iter().position(|h| h == name).unwrap()
}

#[test]
fn one_bad_row_in_a_real_export_is_dropped_with_a_warning() {
    // (column, bad value, record, reason)
    let cases = [
        (
            "买家实际支付金额",
            "1,2.3",
            10usize,
            "invalid amount \"1,2.3\"",
        ),
        (
            "订单编号",
            "5.11860902499103E+18",
            20,
            "id in scientific notation",
        ),
        (
            "订单创建时间",
            "2026-13-45 10:00:00",
            30,
            "invalid date-time",
        ),
    ];
    for (column, value, record, reason) in cases {
        let bytes = sample_with(|recs| {
            let c = col(recs, column);
            set(&mut recs[record], c, value);
        });
        let ws = with_orders(&bytes, "csv");
        let (out, s) = accepted(&ws, &[]);
        out.stderr_has(&[
            &format!(
                "{ORDERS_FILE}.csv: record {record} (line {}, column \"{column}\")",
                record + 1
            ),
            reason,
        ]);
        assert_eq!(s["status"], "warn", "{column}");
        assert_eq!(orders_rows(&ws), 325, "{column}");
        assert_eq!(check(&s, "invalid_values.orders")["level"], "warn");
        assert_sample(&s, "invalid_values.orders", record as u64 + 1, &[column]);
    }
}

#[test]
fn line_numbers_in_a_crlf_export_are_the_editor_lines() {
    // Past the header window too: record 15 of a CRLF file is on line 16.
    let bytes = sample_with(|recs| {
        let c = col(recs, "买家实际支付金额");
        set(&mut recs[15], c, "1,2.3");
    });
    let text = encoding_rs::GB18030.decode(&bytes).0.replace('\n', "\r\n");
    let ws = with_orders(&encoding_rs::GB18030.encode(&text).0, "csv");
    let (out, s) = accepted(&ws, &[]);
    out.stderr_has(&["record 15 (line 16, column \"买家实际支付金额\"): invalid amount \"1,2.3\""]);
    assert_eq!(orders_rows(&ws), 325);
    assert_sample(&s, "invalid_values.orders", 16, &["买家实际支付金额"]);
}

#[test]
fn a_real_export_cut_off_mid_row_loses_only_that_row() {
    let path = orders_file(&support::sample_inbox(), "2026-11-22");
    let bytes = std::fs::read(&path).unwrap();
    // Cut inside the last record's created_at ("2026-11-22 23:").
    let last_line = bytes[..bytes.len() - 1]
        .iter()
        .rposition(|&b| b == b'\n')
        .unwrap()
        + 1;
    let created = bytes[last_line..]
        .windows(11)
        .position(|w| w == b"2026-11-22 ")
        .unwrap();
    let cut = last_line + created + 14;
    let ws = with_orders(&bytes[..cut], "csv");
    let (out, s) = accepted(&ws, &[]);
    out.stderr_has(&["record 326 (line 327", "truncated row"]);
    assert_eq!(orders_rows(&ws), 325);
    assert_sample(&s, "invalid_values.orders", 327, &[]);
}

#[test]
fn a_repeated_order_in_a_real_export_is_stored_once_and_warned() {
    let bytes = sample_with(|recs| {
        let again = recs[5].clone();
        recs.push(again);
    });
    let ws = with_orders(&bytes, "csv");
    let (_, s) = accepted(&ws, &[]);
    assert_eq!(s["status"], "warn");
    assert_eq!(orders_rows(&ws), 326);
    let c = check(&s, "duplicate_keys.orders");
    assert_eq!(c["level"], "warn");
    assert_eq!(c["samples"][0]["row"], 328, "{c}");
}

#[test]
fn a_bad_re_export_of_an_earlier_day_is_skipped_and_keeps_that_day() {
    let ws = Workspace::with_inbox_copy(&DAYS);
    ws.use_state_bytes(good_state());
    std::fs::write(orders_file(&ws.inbox, "2026-11-21"), bad("garbage.csv")).unwrap();
    let counts = ws.counts();
    let registered = ws.registered();
    let (out, s) = accepted(&ws, &[]);
    out.stderr_has(&[
        "2026-11-21/ExportOrderList20261121.csv",
        "binary content",
        "tried again next run",
    ]);
    assert_ne!(s["status"], "held");
    assert_eq!(ws.counts(), counts);
    assert_eq!(ws.registered(), registered);
}

#[test]
fn the_same_export_downloaded_twice_is_read_once_and_left_alone_after() {
    let ws = Workspace::with_inbox_copy(&DAYS);
    let orders = orders_file(&ws.inbox, "2026-11-22");
    std::fs::copy(
        &orders,
        orders.with_file_name("ExportOrderList20261122 (1).csv"),
    )
    .unwrap();
    let first = run(&ws, &[]);
    first.expect_code(0).stderr_has(&["read once"]);
    let counts = ws.counts();
    assert_eq!(ws.orders_per_day()["2026-11-22"], 326);
    let again = run(&ws, &[]);
    again.expect_code(0);
    assert!(!again.stderr.contains("re-export"), "{}", again.stderr);
    assert!(!again.stderr.contains("read once"), "{}", again.stderr);
    assert_eq!(ws.counts(), counts);
    let s = ws.summary("daily-ops", "2026-11-22");
    let orders_inputs = s["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["dataset"] == "orders")
        .count();
    assert_eq!(orders_inputs, 1, "{}", s["inputs"]);
}

/// A full disk under stdout and stderr (`/dev/full`) loses the messages,
/// not the process: the exit code still tells the outcome, no panic.
#[test]
fn output_streams_that_cannot_be_written_do_not_panic() {
    let ws = Workspace::new();
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap()
    };
    let run = |args: &[&str]| {
        std::process::Command::new(support::bin())
            .current_dir(ws.path())
            .arg("--config")
            .arg(ws.path().join("storepulse.toml"))
            .arg("--set")
            .arg(format!(
                "targets.file={}",
                support::repo().join("sample-data/targets.csv").display()
            ))
            .arg("--set")
            .arg(format!("inbox={}", support::sample_inbox().display()))
            .args(args)
            .env_remove("STOREPULSE_CONFIG")
            .env_remove("STOREPULSE_LOG")
            .stdout(full())
            .stderr(full())
            .status()
            .unwrap()
            .code()
    };
    // An error printed with its causes: usage error, exit 2.
    assert_eq!(
        run(&["run-job", "no-such-job", "--date", "2026-11-22"]),
        Some(2)
    );
    // Tables printed on stdout.
    assert_eq!(run(&["schedule", "daily-ops", "--count", "3"]), Some(0));
    assert_eq!(run(&["list-jobs"]), Some(0));
    assert_eq!(run(&["validate"]), Some(0));
    // A whole run, logging as it goes and printing its summary.
    let code = run(&["run-job", "daily-ops", "--date", "2026-11-22", "--no-send"]);
    assert!(matches!(code, Some(0 | 1)), "exit {code:?}");
    assert!(ws.summary("daily-ops", "2026-11-22")["kpis"].is_object());
}
