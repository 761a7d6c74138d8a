//! The parse stage over real export files of every supported format: GBK,
//! UTF-8 with BOM, UTF-16LE "Unicode text", semicolon CSV, an .xls made by
//! xlwt (committed) and an .xlsx written here with rust_xlsxwriter.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::{NaiveDate, TimeZone, Utc};
use rust_decimal::Decimal;
use storepulse::model::{Dataset, Record, Value};
use storepulse::parse::{
    DropReason, Format, ParseError, ParseOptions, ParseReport, parse_path, parse_reader,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/formats")
        .join(name)
}

fn parse(path: &Path, dataset: Dataset) -> (ParseReport, Vec<Record>) {
    let name = path.file_name().unwrap().to_str().unwrap();
    let opts = ParseOptions::new(dataset, name);
    let mut records = Vec::new();
    let report = parse_path(path, &opts, &mut |r| records.push(r)).unwrap();
    (report, records)
}

fn t(s: &str) -> Value {
    Value::Text(s.to_string())
}
fn d(s: &str) -> Value {
    Value::Decimal(Decimal::from_str(s).unwrap())
}
fn utc(y: i32, mo: u32, da: u32, h: u32, mi: u32, s: u32) -> Value {
    Value::DateTime(Utc.with_ymd_and_hms(y, mo, da, h, mi, s).unwrap())
}
fn date(y: i32, m: u32, d: u32) -> Value {
    Value::Date(NaiveDate::from_ymd_opt(y, m, d).unwrap())
}
const M: Value = Value::Missing;

#[test]
fn gbk_csv_with_protected_ids_summary_and_note() {
    let (report, records) = parse(&fixture("orders_gbk.csv"), Dataset::Orders);
    assert_eq!(report.encoding, "GB18030");
    assert_eq!(report.format, Format::Csv);
    assert_eq!(report.delimiter, Some(','));
    assert_eq!(report.header_row, 1);
    assert_eq!(report.unmapped_headers, vec!["备注".to_string()]);
    let paid = report
        .columns
        .iter()
        .find(|c| c.field == "paid_amount")
        .unwrap();
    assert_eq!(
        (paid.header.as_str(), paid.column),
        ("买家实际支付金额(元)", 5)
    );
    assert_eq!(report.records, 3);
    assert_eq!(report.dropped.get(&DropReason::Summary), Some(&1));
    assert_eq!(report.dropped.get(&DropReason::Note), Some(&1));
    assert!(report.invalid.is_empty(), "{:?}", report.invalid);
    assert_eq!(
        report.warnings,
        vec![
            "orders_gbk.csv: unknown order status \"被风吹走\" in 1 row(s) (first at line 4); kept as \"unknown\""
                .to_string()
        ]
    );

    // order_id, member_id, created_at, paid_at, status, paid_amount,
    // total_amount, refund_amount, item_qty, shop, phone
    assert_eq!(records[0].row, 2);
    assert_eq!(
        records[0].values,
        vec![
            t("3123456789012345678"),
            t("张三"),
            utc(2026, 11, 22, 2, 1, 2),
            utc(2026, 11, 22, 2, 2, 0),
            t("completed"),
            d("1234.50"),
            d("1300.00"),
            M,
            Value::Int(2),
            t("旗舰店"),
            t("13812341234"),
        ]
    );
    assert_eq!(
        records[1].values,
        vec![
            t("3123456789012345679"),
            t("李四"),
            utc(2026, 11, 22, 3, 30, 0),
            M,
            t("unpaid"),
            d("88"),
            d("88"),
            d("0"),
            Value::Int(1),
            t("旗舰店"),
            M,
        ]
    );
    assert_eq!(records[2].row, 4);
    assert_eq!(records[2].values[2], utc(2026, 11, 22, 4, 0, 0));
    assert_eq!(records[2].values[3], utc(2026, 11, 22, 4, 5, 0));
    assert_eq!(records[2].values[4], t("unknown"));
    assert_eq!(records[2].values[7], M);
    assert_eq!(records[2].values[10], t("13912345678"));
}

#[test]
fn utf8_bom_csv_with_canonical_headers_blank_and_placeholder_rows() {
    let (report, records) = parse(&fixture("orders_utf8_bom.csv"), Dataset::Orders);
    assert_eq!(report.encoding, "UTF-8-BOM");
    assert_eq!(report.columns[0].header, "order_id");
    assert_eq!(report.records, 3);
    assert_eq!(report.dropped.get(&DropReason::Blank), Some(&1));
    assert_eq!(report.dropped.get(&DropReason::Placeholder), Some(&1));
    let ids: Vec<_> = records.iter().map(|r| r.values[0].clone()).collect();
    assert_eq!(ids, vec![t("1001"), t("1002"), t("1003")]);
    let rows: Vec<_> = records.iter().map(|r| r.row).collect();
    assert_eq!(rows, vec![2, 3, 5]);
    assert_eq!(records[0].values[2], utc(2026, 11, 22, 2, 1, 2));
    assert_eq!(records[1].values[2], utc(2026, 11, 22, 15, 59, 59));
    assert_eq!(records[2].values[2], utc(2026, 11, 21, 16, 0, 0));
    assert_eq!(records[1].values[5], d("20"));
    assert_eq!(records[1].values[8], Value::Int(1000));
}

#[test]
fn utf16le_unicode_text_with_preamble() {
    let (report, records) = parse(&fixture("traffic_utf16.txt"), Dataset::Traffic);
    assert_eq!(report.encoding, "UTF-16LE");
    assert_eq!(report.delimiter, Some('\t'));
    assert_eq!(report.header_row, 4);
    assert_eq!(report.records, 4);
    assert!(report.dropped.is_empty());
    // date, source, visitors, page_views, bounce_rate, avg_stay_seconds,
    // cart_users, order_buyers, paying_buyers, paid_amount, new_followers
    assert_eq!(
        records[0].values,
        vec![
            date(2026, 11, 22),
            t("汇总"),
            Value::Int(1200),
            Value::Int(3400),
            d("0.452"),
            d("35.5"),
            M,
            M,
            M,
            d("12345.60"),
            M
        ]
    );
    assert_eq!(records[1].values[1], t("手淘搜索"));
    assert_eq!(records[1].values[4], d("0.0325"));
    assert_eq!(records[2].values[4], M);
    assert_eq!(records[2].values[5], M);
    // An empty source is kept as empty text: it marks the shop-total row.
    assert_eq!(records[3].values[1], t(""));
    assert_eq!(records[3].row, 8);
}

#[test]
fn semicolon_csv_with_a_multiline_field() {
    let (report, records) = parse(&fixture("orders_semicolon.csv"), Dataset::Orders);
    assert_eq!(report.delimiter, Some(';'));
    assert_eq!(report.encoding, "UTF-8");
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].values[9], t("旗舰店\n二号"));
    assert_eq!(records[0].values[2], utc(2026, 11, 22, 0, 0, 0));
    assert_eq!(records[1].row, 4);
    assert_eq!(records[1].values[4], t("closed"));
}

#[test]
fn xls_from_xlwt_with_preamble_dates_and_percentages() {
    let (report, records) = parse(&fixture("products.xls"), Dataset::Products);
    assert_eq!(report.format, Format::Excel);
    assert_eq!(report.encoding, "xls");
    assert_eq!(report.sheet.as_deref(), Some("商品"));
    assert_eq!(report.header_row, 5);
    assert_eq!(report.records, 2);
    assert_eq!(report.dropped.get(&DropReason::Summary), Some(&1));
    assert!(report.invalid.is_empty(), "{:?}", report.invalid);
    let f = |n| Dataset::Products.field_index(n).unwrap();
    let r0 = &records[0];
    assert_eq!(r0.row, 6);
    assert_eq!(r0.values[f("date")], date(2026, 11, 22));
    assert_eq!(r0.values[f("sku_id")], t("600123456789"));
    assert_eq!(r0.values[f("status")], t("online"));
    assert_eq!(r0.values[f("price")], d("199.9"));
    assert_eq!(r0.values[f("stock")], Value::Int(35));
    assert_eq!(r0.values[f("paid_amount")], d("599.7"));
    assert_eq!(r0.values[f("bounce_rate")], d("0.4125"));
    let r1 = &records[1];
    assert_eq!(r1.values[f("date")], date(2026, 11, 22));
    assert_eq!(r1.values[f("sku_id")], t("600123456790"));
    assert_eq!(r1.values[f("status")], t("delisted"));
    assert_eq!(r1.values[f("price")], d("89.00"));
    assert_eq!(r1.values[f("stock")], M);
    assert_eq!(r1.values[f("bounce_rate")], d("0.0325"));
}

/// A 生意参谋-style traffic workbook: five preamble rows, unit suffixes,
/// dates as date cells, a text `3.25%`, `-` cells and a 合计 row; a second
/// sheet holds orders with an id Excel already rounded.
fn write_workbook(path: &Path) {
    use rust_xlsxwriter::{Format as XFormat, Workbook};
    let mut wb = Workbook::new();
    let date_fmt = XFormat::new().set_num_format("yyyy-mm-dd");
    let pct = XFormat::new().set_num_format("0.00%");
    let ws = wb.add_worksheet();
    ws.set_name("流量").unwrap();
    ws.write_string(0, 0, "生意参谋").unwrap();
    ws.write_string(1, 0, "店铺：旗舰店").unwrap();
    ws.write_string(2, 0, "统计时间：2026-11-22").unwrap();
    ws.write_string(3, 0, "终端：全部").unwrap();
    let header = [
        "统计日期",
        "流量来源",
        "访客数",
        "浏览量",
        "跳失率（%）",
        "平均停留时长(秒)",
        "支付金额(元)",
    ];
    for (c, h) in header.iter().enumerate() {
        ws.write_string(5, c as u16, *h).unwrap();
    }
    let day = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
    ws.write_datetime_with_format(6, 0, day, &date_fmt).unwrap();
    ws.write_string(6, 1, "手淘搜索").unwrap();
    ws.write_number(6, 2, 800).unwrap();
    ws.write_number(6, 3, 2000).unwrap();
    ws.write_string(6, 4, "3.25%").unwrap();
    ws.write_number(6, 5, 40.5).unwrap();
    ws.write_number(6, 6, 9000.1).unwrap();
    ws.write_datetime_with_format(7, 0, day, &date_fmt).unwrap();
    ws.write_string(7, 1, "直通车").unwrap();
    ws.write_number(7, 2, 500).unwrap();
    ws.write_string(7, 3, "-").unwrap();
    ws.write_number_with_format(7, 4, 0.452, &pct).unwrap();
    ws.write_string(7, 5, "-").unwrap();
    ws.write_string(7, 6, "3,345.60").unwrap();
    ws.write_string(8, 0, "合计").unwrap();
    ws.write_number(8, 2, 1300).unwrap();

    let ws = wb.add_worksheet();
    ws.set_name("订单").unwrap();
    for (c, h) in [
        "订单编号",
        "买家会员名",
        "订单创建时间",
        "订单状态",
        "买家实际支付金额",
    ]
    .iter()
    .enumerate()
    {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    let at = day.and_hms_opt(10, 1, 2).unwrap();
    let dt_fmt = XFormat::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    ws.write_number(1, 0, 5.11860902499103e18).unwrap();
    ws.write_string(1, 1, "a").unwrap();
    ws.write_datetime_with_format(1, 2, at, &dt_fmt).unwrap();
    ws.write_string(1, 3, "交易成功").unwrap();
    ws.write_number(1, 4, 10).unwrap();
    ws.write_number(2, 0, 123456789012.0).unwrap();
    ws.write_string(2, 1, "b").unwrap();
    ws.write_datetime_with_format(2, 2, at, &dt_fmt).unwrap();
    ws.write_string(2, 3, "交易成功").unwrap();
    ws.write_number(2, 4, 0.1).unwrap();
    wb.save(path).unwrap();
}

#[test]
fn xlsx_with_preamble_summary_percent_and_dash_cells() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("traffic.xlsx");
    write_workbook(&path);
    let (report, records) = parse(&path, Dataset::Traffic);
    assert_eq!(report.format, Format::Excel);
    assert_eq!(report.encoding, "xlsx");
    assert_eq!(report.sheet.as_deref(), Some("流量"));
    assert_eq!(report.header_row, 6);
    assert_eq!(report.records, 2);
    assert_eq!(report.dropped.get(&DropReason::Summary), Some(&1));
    assert!(report.invalid.is_empty(), "{:?}", report.invalid);
    assert_eq!(
        records[0].values,
        vec![
            date(2026, 11, 22),
            t("手淘搜索"),
            Value::Int(800),
            Value::Int(2000),
            d("0.0325"),
            d("40.5"),
            M,
            M,
            M,
            d("9000.1"),
            M
        ]
    );
    assert_eq!(records[0].row, 7);
    assert_eq!(
        records[1].values,
        vec![
            date(2026, 11, 22),
            t("直通车"),
            Value::Int(500),
            M,
            d("0.452"),
            M,
            M,
            M,
            M,
            d("3345.60"),
            M
        ]
    );
}

#[test]
fn xlsx_named_sheet_and_ids_stored_as_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("book.xlsx");
    write_workbook(&path);
    let mut opts = ParseOptions::new(Dataset::Orders, "book.xlsx");
    opts.sheet = Some("订单".to_string());
    let mut records = Vec::new();
    let report = parse_path(&path, &opts, &mut |r| records.push(r)).unwrap();
    assert_eq!(report.records, 1);
    assert_eq!(records[0].values[0], t("123456789012"));
    assert_eq!(records[0].values[2], utc(2026, 11, 22, 2, 1, 2));
    assert_eq!(records[0].values[5], d("0.1"));
    assert_eq!(report.invalid.len(), 1);
    let iv = &report.invalid[0];
    assert_eq!(
        (iv.record, iv.row, iv.field, iv.row_rejected),
        (1, 2, "order_id", true)
    );
    assert_eq!(
        iv.to_string(),
        "book.xlsx: record 1 (sheet \"订单\" row 2, column \"订单编号\"): id stored as a number, digits lost \"5118609024991030000\""
    );

    opts.sheet = Some("不存在".to_string());
    let err = parse_path(&path, &opts, &mut |_| {}).unwrap_err();
    assert_eq!(
        err.to_string(),
        "book.xlsx: no sheet named \"不存在\" (the workbook has \"流量\", \"订单\")"
    );
}

#[test]
fn a_workbook_named_csv_is_read_as_a_workbook() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("traffic.xlsx");
    write_workbook(&path);
    let bytes = std::fs::read(&path).unwrap();
    let opts = ParseOptions::new(Dataset::Traffic, "traffic.csv");
    let report = parse_reader(&bytes[..], "csv", &opts, &mut |_| {}).unwrap();
    assert_eq!(report.format, Format::Excel);
    assert_eq!(
        report.warnings,
        vec![
            "traffic.csv: named .csv but the content is an Excel workbook; read as a workbook"
                .to_string()
        ]
    );
}

#[test]
fn user_aliases_from_config_match_headers() {
    let csv = "单号,客户,时间,状态,实收\n9,a,2026-11-22 10:00:00,paid,1\n";
    let mut opts = ParseOptions::new(Dataset::Orders, "custom.csv");
    for (f, a) in [
        ("order_id", "单号"),
        ("member_id", "客户"),
        ("created_at", "时间"),
        ("status", "状态"),
        ("paid_amount", "实收(元)"),
    ] {
        opts.extra_aliases
            .insert(f.to_string(), vec![a.to_string()]);
    }
    let mut records = Vec::new();
    let report = parse_reader(csv.as_bytes(), "csv", &opts, &mut |r| records.push(r)).unwrap();
    assert_eq!(report.records, 1);
    assert_eq!(records[0].values[5], d("1"));
}

#[test]
fn a_wrong_dataset_has_no_header_row() {
    let path = fixture("traffic_utf16.txt");
    let opts = ParseOptions::new(Dataset::Orders, "traffic_utf16.txt");
    let err = parse_path(&path, &opts, &mut |_| {}).unwrap_err();
    match &err {
        ParseError::NoHeader {
            needed, missing, ..
        } => {
            assert_eq!(*needed, 3);
            assert_eq!(missing.len(), 5);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        err.to_string().starts_with(
            "traffic_utf16.txt: no header row in the first 10 rows: a header needs at least 3 of the required columns order_id, member_id, created_at, status, paid_amount; the best candidate (line 1) lacks order_id (订单编号 / 订单号 / 主订单编号), "
        ),
        "{err}"
    );
}

#[test]
fn a_large_file_streams_and_counts() {
    // 300 KB of rows, beyond the sniffing window, parsed as a stream.
    let mut csv = String::from("order_id,member_id,created_at,status,paid_amount\n");
    for i in 0..6000 {
        csv.push_str(&format!(
            "{},m{},2026-11-22 10:00:00,paid,{}.50\n",
            100000 + i,
            i % 97,
            i
        ));
    }
    assert!(csv.len() > 256 * 1024);
    let opts = ParseOptions::new(Dataset::Orders, "big.csv");
    let mut n = 0u64;
    let mut last = None;
    let report = parse_reader(csv.as_bytes(), "csv", &opts, &mut |r| {
        n += 1;
        last = Some(r);
    })
    .unwrap();
    assert_eq!((report.records, n), (6000, 6000));
    let last = last.unwrap();
    assert_eq!(last.row, 6001);
    assert_eq!(last.values[0], t("105999"));
    assert_eq!(last.values[5], d("5999.50"));
}

#[test]
fn utf16be_with_bom_and_pipe_delimited_text() {
    let text = "会员ID|会员等级|积分\r\n\"m1\"|金卡|1,200\r\nm2||\r\n";
    let mut bytes = vec![0xFE, 0xFF];
    for u in text.encode_utf16() {
        bytes.extend_from_slice(&u.to_be_bytes());
    }
    let opts = ParseOptions::new(Dataset::Members, "members.txt");
    let mut records = Vec::new();
    let report = parse_reader(&bytes[..], "txt", &opts, &mut |r| records.push(r)).unwrap();
    assert_eq!(report.encoding, "UTF-16BE");
    assert_eq!(report.delimiter, Some('|'));
    let f = |n| Dataset::Members.field_index(n).unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].values[f("member_id")], t("m1"));
    assert_eq!(records[0].values[f("level")], t("金卡"));
    assert_eq!(records[0].values[f("points")], Value::Int(1200));
    assert_eq!(records[1].row, 3);
    assert_eq!(records[1].values[f("level")], M);
}
