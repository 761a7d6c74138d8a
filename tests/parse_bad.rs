//! The bad-input corpus under tests/fixtures/bad: every file either parses
//! with the exact invalid values expected or fails with the exact error,
//! and none panics.

use std::path::{Path, PathBuf};

use storepulse::model::{Dataset, Record, Value};
use storepulse::parse::{
    Format, InvalidValue, Location, ParseError, ParseOptions, ParseReport, parse_path, parse_reader,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/bad")
        .join(name)
}

fn run(name: &str, dataset: Dataset) -> Result<(ParseReport, Vec<Record>), ParseError> {
    let opts = ParseOptions::new(dataset, name);
    let mut records = Vec::new();
    let report = parse_path(&fixture(name), &opts, &mut |r| records.push(r))?;
    Ok((report, records))
}

fn ok(name: &str, dataset: Dataset) -> (ParseReport, Vec<Record>) {
    run(name, dataset).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn err(name: &str, dataset: Dataset) -> ParseError {
    match run(name, dataset) {
        Ok((report, _)) => panic!("{name}: parsed: {report:?}"),
        Err(e) => e,
    }
}

fn id(r: &Record) -> &str {
    r.values[0].as_text().unwrap()
}

#[test]
fn empty_file() {
    let e = err("empty.csv", Dataset::Orders);
    assert!(matches!(e, ParseError::Empty { .. }), "{e:?}");
    assert_eq!(e.to_string(), "empty.csv: the file is empty");
    // Whitespace only is empty too.
    let opts = ParseOptions::new(Dataset::Orders, "blank.csv");
    let e = parse_reader(&b" \r\n\r\n"[..], "csv", &opts, &mut |_| {}).unwrap_err();
    assert_eq!(e.to_string(), "blank.csv: the file is empty");
}

#[test]
fn header_only_parses_to_nothing() {
    let (report, records) = ok("header_only.csv", Dataset::Orders);
    assert!(records.is_empty());
    assert_eq!(report.records, 0);
    assert_eq!(report.header_row, 1);
    assert_eq!(
        report.warnings,
        vec!["header_only.csv: no data rows below the header".to_string()]
    );
}

#[test]
fn truncated_mid_row_rejects_that_row() {
    let (report, records) = ok("truncated.csv", Dataset::Orders);
    assert_eq!(records.len(), 1);
    assert_eq!(id(&records[0]), "1001");
    assert_eq!(report.rows_rejected, 1);
    assert_eq!(
        report.invalid,
        vec![InvalidValue {
            file: "truncated.csv".into(),
            sheet: None,
            record: 2,
            row: 3,
            column: "订单创建时间".into(),
            field: "created_at",
            value: "2026-11-22 11:".into(),
            reason: "truncated row: the file ends mid-row (3 of 6 fields)".into(),
            row_rejected: true,
        }]
    );
    assert_eq!(
        report.invalid[0].to_string(),
        "truncated.csv: record 2 (line 3, column \"订单创建时间\"): truncated row: the file ends mid-row (3 of 6 fields) \"2026-11-22 11:\""
    );
}

#[test]
fn truncated_inside_a_quote_rejects_that_row() {
    let (report, records) = ok("truncated_quote.csv", Dataset::Orders);
    assert_eq!(records.len(), 1);
    assert_eq!(report.rows_rejected, 1);
    assert_eq!(report.invalid.len(), 1);
    assert_eq!(
        report.invalid[0].to_string(),
        "truncated_quote.csv: record 2 (line 3, column \"买家实际支付金额\"): truncated row: unterminated quote at end of file \"2\""
    );
    assert!(report.invalid[0].row_rejected);
}

#[test]
fn undecodable_bytes_are_refused() {
    let e = err("undecodable.csv", Dataset::Orders);
    assert!(matches!(e, ParseError::Encoding { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "undecodable.csv: not readable text: neither UTF-8 nor GB18030 (invalid byte sequence at line 2, byte 77)"
    );
}

#[test]
fn binary_garbage_named_csv_is_refused() {
    let e = err("garbage.csv", Dataset::Orders);
    assert!(matches!(e, ParseError::Binary { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "garbage.csv: binary content, not a text table or an Excel workbook"
    );
}

#[test]
fn garbage_behind_a_workbook_signature_is_an_excel_error() {
    let mut bytes = b"PK\x03\x04".to_vec();
    bytes.extend(std::iter::repeat_n(0xA5u8, 300));
    let opts = ParseOptions::new(Dataset::Orders, "broken.xlsx");
    let e = parse_reader(&bytes[..], "xlsx", &opts, &mut |_| {}).unwrap_err();
    assert!(matches!(e, ParseError::Excel { .. }), "{e:?}");
    assert!(
        e.to_string()
            .starts_with("broken.xlsx: cannot read the workbook: "),
        "{e}"
    );
    let mut bytes = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    bytes.extend(std::iter::repeat_n(0u8, 600));
    let opts = ParseOptions::new(Dataset::Orders, "broken.xls");
    let e = parse_reader(&bytes[..], "xls", &opts, &mut |_| {}).unwrap_err();
    assert!(matches!(e, ParseError::Excel { .. }), "{e:?}");
}

#[test]
fn an_xlsx_that_is_really_a_csv_is_read_as_csv() {
    let (report, records) = ok("really_csv.xlsx", Dataset::Orders);
    assert_eq!(report.format, Format::Csv);
    assert_eq!(report.encoding, "UTF-8");
    assert_eq!(records.len(), 1);
    assert_eq!(
        report.warnings,
        vec![
            "really_csv.xlsx: named .xlsx but the content is text, not a workbook; read as CSV"
                .to_string()
        ]
    );
}

#[test]
fn a_missing_required_column_names_field_and_header_row() {
    let e = err("missing_column.csv", Dataset::Orders);
    match &e {
        ParseError::MissingColumns {
            location, missing, ..
        } => {
            assert_eq!(*location, Location::Line(1));
            assert_eq!(missing.len(), 1);
            assert_eq!(missing[0].field, "paid_amount");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        e.to_string(),
        "missing_column.csv: header row (line 1) has no column for required field(s) paid_amount (买家实际支付金额 / 买家实付金额 / 实付金额 / 应付金额)"
    );
}

#[test]
fn duplicated_order_ids_are_left_to_the_checks() {
    let (report, records) = ok("duplicate_ids.csv", Dataset::Orders);
    assert_eq!(report.records, 2);
    assert!(report.invalid.is_empty());
    assert_eq!((id(&records[0]), id(&records[1])), ("1001", "1001"));
}

#[test]
fn an_order_id_in_scientific_notation_rejects_the_row() {
    let (report, records) = ok("scientific_id.csv", Dataset::Orders);
    assert_eq!(records.len(), 1);
    assert_eq!(id(&records[0]), "1002");
    assert_eq!(report.invalid_total, 1);
    let iv = &report.invalid[0];
    assert_eq!(
        (iv.record, iv.row, iv.field, iv.row_rejected),
        (1, 2, "order_id", true)
    );
    assert_eq!(
        iv.to_string(),
        "scientific_id.csv: record 1 (line 2, column \"订单编号\"): id in scientific notation, digits lost \"5.11860902499103E+18\""
    );
}

#[test]
fn a_badly_grouped_amount_is_reported_like_the_spec_example() {
    let (report, records) = ok("orders.csv", Dataset::Orders);
    assert_eq!(records.len(), 40);
    // Record 7 spans two lines, so line numbers run one ahead from there.
    assert_eq!(records[6].row, 8);
    assert_eq!(records[6].values[1], Value::Text("b\n7".into()));
    assert_eq!(records[7].row, 10);
    assert_eq!(report.invalid.len(), 1);
    assert_eq!(
        report.invalid[0].to_string(),
        "orders.csv: record 41 (line 43, column \"买家实际支付金额\"): invalid amount \"1,2.3\""
    );
    assert!(report.invalid[0].row_rejected);
}

#[test]
fn an_impossible_date_rejects_a_required_field_and_blanks_an_optional_one() {
    let (report, records) = ok("bad_date.csv", Dataset::Orders);
    assert_eq!(records.len(), 1);
    assert_eq!(id(&records[0]), "1002");
    assert_eq!(records[0].values[3], Value::Missing);
    let shown: Vec<_> = report
        .invalid
        .iter()
        .map(|iv| (iv.to_string(), iv.row_rejected))
        .collect();
    assert_eq!(
        shown,
        vec![
            (
                "bad_date.csv: record 1 (line 2, column \"订单创建时间\"): invalid date-time \"2026-13-45\"".to_string(),
                true
            ),
            (
                "bad_date.csv: record 2 (line 3, column \"订单付款时间\"): invalid date-time \"2026-13-45 10:00:00\"".to_string(),
                false
            ),
        ]
    );
    assert_eq!(report.rows_rejected, 1);
}

#[test]
fn traffic_without_a_total_row_parses() {
    let (report, records) = ok("traffic_no_total.csv", Dataset::Traffic);
    assert_eq!(report.records, 2);
    let sources: Vec<_> = records.iter().map(|r| r.values[1].clone()).collect();
    assert_eq!(
        sources,
        vec![Value::Text("手淘搜索".into()), Value::Text("直通车".into())]
    );
}

#[test]
fn a_required_value_spelled_missing_rejects_the_row() {
    let csv = "订单编号,买家会员名,订单创建时间,订单状态,买家实际支付金额\n1,a,2026-11-22 10:00:00,paid,无\n2,b,2026-11-22 10:00:00,paid,5\n";
    let opts = ParseOptions::new(Dataset::Orders, "o.csv");
    let mut records = Vec::new();
    let report = parse_reader(csv.as_bytes(), "csv", &opts, &mut |r| records.push(r)).unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(
        report.invalid[0].to_string(),
        "o.csv: record 1 (line 2, column \"买家实际支付金额\"): missing required value \"无\""
    );
}

#[test]
fn mixed_encodings_after_the_sniffing_window_fail_cleanly() {
    let mut bytes = b"order_id,member_id,created_at,status,paid_amount\n".to_vec();
    while bytes.len() < 300 * 1024 {
        bytes.extend_from_slice(b"1,a,2026-11-22 10:00:00,paid,5\n");
    }
    let at = bytes.len();
    bytes.extend_from_slice(b"2,\xd5\xc5\xc8\xfd,2026-11-22 10:00:00,paid,5\n");
    let opts = ParseOptions::new(Dataset::Orders, "mixed.csv");
    let e = parse_reader(&bytes[..], "csv", &opts, &mut |_| {}).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "mixed.csv: the record starting at byte {at} is not valid UTF-8, though the file starts as UTF-8 (mixed encodings?)"
        )
    );
}

#[test]
fn an_html_page_saved_as_xls_is_named_as_such() {
    let opts = ParseOptions::new(Dataset::Orders, "export.xls");
    let e = parse_reader(
        &b"<html><body><table><tr><td>x</td></tr></table></body></html>"[..],
        "xls",
        &opts,
        &mut |_| {},
    )
    .unwrap_err();
    assert!(matches!(e, ParseError::Html { .. }), "{e:?}");
}

#[test]
fn text_already_mangled_into_replacement_characters_is_refused() {
    let csv = "\u{fffd}\u{fffd}\u{fffd}\u{fffd},\u{fffd}\u{fffd}\u{fffd}\n1,2\n";
    let opts = ParseOptions::new(Dataset::Orders, "mangled.csv");
    let e = parse_reader(csv.as_bytes(), "csv", &opts, &mut |_| {}).unwrap_err();
    assert!(matches!(e, ParseError::Encoding { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "mangled.csv: the text is full of replacement characters (\u{fffd}): it was decoded with the wrong encoding before it was saved; export it again from the platform"
    );
}

#[test]
fn short_rows_inside_the_file_read_absent_cells_as_empty() {
    // Excel's CSV export drops trailing empty cells on some rows.
    let csv = "订单编号,买家会员名,订单创建时间,订单状态,买家实际支付金额,退款金额,店铺名称\n1,a,2026-11-22 10:00:00,paid,5\n2,b,2026-11-22 10:00:00,paid\n3,c,2026-11-22 10:00:00,paid,7,1,旗舰店\n";
    let opts = ParseOptions::new(Dataset::Orders, "short.csv");
    let mut records = Vec::new();
    let report = parse_reader(csv.as_bytes(), "csv", &opts, &mut |r| records.push(r)).unwrap();
    let ids: Vec<_> = records.iter().map(|r| id(r).to_string()).collect();
    assert_eq!(ids, vec!["1", "3"]);
    assert_eq!(records[0].values[7], Value::Missing);
    assert_eq!(
        report.invalid[0].to_string(),
        "short.csv: record 2 (line 3, column \"买家实际支付金额\"): missing required value"
    );
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048), ext in "(csv|xlsx|xls|txt)") {
            let opts = ParseOptions::new(Dataset::Orders, "fuzz");
            let _ = parse_reader(&bytes[..], &ext, &opts, &mut |_| {});
        }

        #[test]
        fn csv_like_text(
            cells in proptest::collection::vec("[0-9a-z,;\"\\t\\r\\n ¥%=.\\-合计注：]{0,12}", 0..60),
        ) {
            let mut text = String::from("订单编号,买家会员名,订单创建时间,订单状态,买家实际支付金额\n");
            for c in &cells {
                text.push_str(c);
            }
            let opts = ParseOptions::new(Dataset::Orders, "fuzz.csv");
            let mut n = 0u64;
            if let Ok(report) = parse_reader(text.as_bytes(), "csv", &opts, &mut |_| n += 1) {
                prop_assert_eq!(report.records, n);
            }
        }
    }
}

#[test]
fn a_cut_off_summary_row_is_still_a_summary_and_a_quote_swallowing_the_end_is_caught() {
    let opts = ParseOptions::new(Dataset::Orders, "cut.csv");
    let head = "订单编号,买家会员名,订单创建时间,订单状态,买家实际支付金额\n1,a,2026-11-22 10:00:00,paid,5\n";
    let report = parse_reader(
        format!("{head}合计,,").as_bytes(),
        "csv",
        &opts,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(report.records, 1);
    assert_eq!(report.rows_rejected, 0);
    assert_eq!(
        report.dropped.get(&storepulse::parse::DropReason::Summary),
        Some(&1)
    );

    // The open quote runs to the end, newline included.
    let text = format!("{head}2,b,2026-11-22 10:00:00,paid,\"5\n");
    let report = parse_reader(text.as_bytes(), "csv", &opts, &mut |_| {}).unwrap();
    assert_eq!(report.records, 1);
    assert_eq!(
        report.invalid[0].to_string(),
        "cut.csv: record 2 (line 3, column \"买家实际支付金额\"): truncated row: unterminated quote at end of file \"5\\n\""
    );
}
