//! The sample generator is deterministic and writes the shapes the readers
//! expect: the same seed gives identical bytes, GBK order lists decode with
//! the documented headers, and the 生意参谋 traffic total agrees with the
//! orders paid that day.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use calamine::{Data, Reader, Xlsx, open_workbook};
use rust_decimal::Decimal;

fn generate(out: &Path, seed: &str, start: &str, end: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_storepulse-gen"))
        .args(["sample", "--out"])
        .arg(out)
        .args(["--seed", seed, "--start", start, "--end", end])
        .output()
        .expect("run storepulse-gen")
}

fn files(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.strip_prefix(root).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

#[test]
fn same_seed_same_bytes_and_other_seed_differs() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let c = tempfile::tempdir().unwrap();
    for d in [&a, &b] {
        let o = generate(d.path(), "20261122", "2026-11-10", "2026-11-12");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let o = generate(c.path(), "7", "2026-11-10", "2026-11-12");
    assert!(o.status.success());
    let fa = files(a.path());
    let fb = files(b.path());
    // 3 days × 7 datasets, plus targets.csv and traffic_types.csv.
    assert_eq!(fa.len(), 23, "{:?}", fa.keys().collect::<Vec<_>>());
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
    for (k, v) in &fa {
        assert!(fb[k] == *v, "{} differs between runs", k.display());
    }
    let order_file = Path::new("inbox/2026-11-11/ExportOrderList20261111.csv");
    assert_ne!(files(c.path())[order_file], fa[order_file]);
}

#[test]
fn orders_are_gbk_with_platform_headers_and_traffic_reconciles() {
    let d = tempfile::tempdir().unwrap();
    let o = generate(d.path(), "20261122", "2026-11-20", "2026-11-22");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let day = d.path().join("inbox/2026-11-21");
    let raw = std::fs::read(day.join("ExportOrderList20261121.csv")).unwrap();
    assert!(
        std::str::from_utf8(&raw).is_err(),
        "orders must be GBK, not UTF-8"
    );
    let (text, _, bad) = encoding_rs::GBK.decode(&raw);
    assert!(!bad);
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        headers,
        [
            "订单编号",
            "买家会员名",
            "买家实际支付金额",
            "订单状态",
            "订单创建时间",
            "订单付款时间",
            "退款金额",
            "宝贝总数量",
            "总金额",
            "店铺名称",
            "联系手机"
        ]
    );
    let mut rows = 0;
    let mut paid_on_21 = Decimal::ZERO;
    for rec in rdr.records() {
        let rec = rec.unwrap();
        rows += 1;
        let id = &rec[0];
        assert!(id.starts_with("=\"") && id.ends_with('"'), "{id}");
        let digits = &id[2..id.len() - 1];
        assert!(
            (16..=19).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()),
            "{id}"
        );
        assert!(rec[4].starts_with("2026-11-21 "));
        assert_eq!(rec[10].len(), 11);
        if rec[5].starts_with("2026-11-21") {
            paid_on_21 += rec[2].parse::<Decimal>().unwrap();
        }
    }
    assert!(rows > 200, "only {rows} orders");
    // Orders created the day before and paid after midnight count too.
    let prev = std::fs::read(
        d.path()
            .join("inbox/2026-11-20/ExportOrderList20261120.csv"),
    )
    .unwrap();
    let (prev, _, _) = encoding_rs::GBK.decode(&prev);
    for rec in csv::Reader::from_reader(prev.as_bytes()).records() {
        let rec = rec.unwrap();
        if rec[5].starts_with("2026-11-21") {
            paid_on_21 += rec[2].parse::<Decimal>().unwrap();
        }
    }

    let mut wb: Xlsx<_> =
        open_workbook(day.join("【生意参谋平台】流量来源_2026-11-21_2026-11-21.xlsx")).unwrap();
    let range = wb.worksheet_range_at(0).unwrap().unwrap();
    let header_row = range
        .rows()
        .position(|r| r.first() == Some(&Data::String("统计日期".into())))
        .unwrap();
    assert!((3..=5).contains(&header_row), "header at row {header_row}");
    let total = range
        .rows()
        .find(|r| r.get(1) == Some(&Data::String("全店".into())))
        .unwrap();
    let amount = match &total[9] {
        Data::Float(f) => Decimal::try_from(*f).unwrap().round_dp(2),
        other => panic!("支付金额 {other:?}"),
    };
    let diff = (amount - paid_on_21).abs() / paid_on_21;
    assert!(
        diff <= Decimal::new(5, 3),
        "traffic {amount} vs orders {paid_on_21}"
    );
}

#[test]
fn first_day_members_hold_the_history_and_service_is_utf16() {
    let d = tempfile::tempdir().unwrap();
    let o = generate(d.path(), "1", "2026-09-01", "2026-09-01");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let day = d.path().join("inbox/2026-09-01");
    let members = std::fs::read(day.join("会员列表_20260901.csv")).unwrap();
    assert!(members.starts_with(b"\xEF\xBB\xBF"));
    let text = std::str::from_utf8(&members[3..]).unwrap();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(&rdr.headers().unwrap()[0], "会员ID");
    let before = rdr
        .records()
        .filter(|r| r.as_ref().unwrap()[1] < *"2026-09-01")
        .count();
    assert_eq!(before, 6000, "members who joined before the window");
    let service = std::fs::read(day.join("客服绩效_20260901.txt")).unwrap();
    assert_eq!(&service[..2], &[0xFF, 0xFE]);
    let units: Vec<u16> = service[2..]
        .chunks(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let text = String::from_utf16(&units).unwrap();
    assert!(text.starts_with("日期\t客服昵称\t咨询人数"));
}

#[test]
fn start_after_end_is_a_usage_error() {
    let d = tempfile::tempdir().unwrap();
    let o = generate(d.path(), "1", "2026-09-02", "2026-09-01");
    assert_eq!(o.status.code(), Some(2));
    assert!(!d.path().join("inbox").exists());
}
