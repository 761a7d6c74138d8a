//! Workbooks read back: sheet order, headers, values against the KPIs,
//! number and conditional formats, PII masks, text that looks like a
//! formula, continuation sheets, widths, charts, file names and the
//! temp-then-rename write.

#[path = "golden/fixture.rs"]
mod fixture;

use std::path::{Path, PathBuf};

use calamine::{Data, Reader, Xlsx, open_workbook};
use rust_decimal::prelude::ToPrimitive;
use storepulse::compute::kpi::KpiValue;
use storepulse::config::{Locale, Pii};
use storepulse::period::Period;
use storepulse::render::{
    Labels, Layouts, RenderError, load_labels, load_layouts, render_workbook, workbook_file_name,
};

fn setup() -> (fixture::Fixture, Layouts, Labels) {
    let t = fixture::templates();
    (
        fixture::fixture(),
        load_layouts(&t).unwrap(),
        load_labels(&t, Locale::ZhCn).unwrap(),
    )
}

fn open(path: &Path) -> Xlsx<std::io::BufReader<std::fs::File>> {
    open_workbook(path).unwrap()
}

fn rows(path: &Path, sheet: &str) -> Vec<Vec<Data>> {
    let mut wb = open(path);
    let r = wb.worksheet_range(sheet).unwrap();
    r.rows().map(|r| r.to_vec()).collect()
}

fn text(d: &Data) -> String {
    match d {
        Data::String(s) => s.clone(),
        Data::Empty => String::new(),
        other => format!("{other}"),
    }
}

/// A layout of the cover, the checks and the full member list.
fn member_list_layout() -> storepulse::render::Layout {
    let text = "[[sheets]]\nkind = \"cover\"\n[[sheets]]\nkind = \"checks\"\n[[sheets]]\nkind = \"member_list\"\n";
    storepulse::render::parse_layout(Path::new("members.toml"), "members", text).unwrap()
}

fn render(
    fx: &fixture::Fixture,
    layouts: &Layouts,
    labels: &Labels,
    layout: &str,
    pii: Pii,
    tiers: bool,
    dir: &Path,
) -> PathBuf {
    let team = fixture::team(layout, layout, pii, Locale::ZhCn);
    let data = fx.data(&team, tiers);
    render_workbook(layouts.get(layout).unwrap(), &data, labels, dir)
        .unwrap()
        .path
}

#[test]
fn ops_sheets_in_order_and_tier_sheets_left_out_of_a_daily_job() {
    let (fx, layouts, labels) = setup();
    let dir = tempfile::tempdir().unwrap();
    let team = fixture::team("ops", "运营", Pii::Full, Locale::ZhCn);
    let out = render_workbook(
        layouts.get("ops").unwrap(),
        &fx.data(&team, false),
        &labels,
        dir.path(),
    )
    .unwrap();
    assert_eq!(out.file_name, "运营_日报_2026-11-22.xlsx");
    assert_eq!(out.path, dir.path().join("运营_日报_2026-11-22.xlsx"));
    let expected = [
        "概览",
        "检查",
        "周度问题",
        "销售额拆解",
        "30天趋势",
        "流量来源",
        "流量类型",
        "推广计划",
        "商品表现",
        "待催付",
        "退款",
        "客服排行",
        "低库存",
        "断货",
        "90天滞销",
        "售罄率",
    ];
    assert_eq!(out.sheets, expected);
    assert_eq!(open(&out.path).sheet_names(), expected);
    // Nothing but the workbook is left in the folder: no temp file.
    let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(files.len(), 1);

    let checks = rows(&out.path, "检查");
    let header: Vec<String> = checks[0].iter().map(text).collect();
    assert_eq!(
        header,
        [
            "结果",
            "检查项",
            "观测值",
            "阈值",
            "基准",
            "说明",
            "样例（文件:行）"
        ]
    );
    // Worst first.
    assert_eq!(text(&checks[1][0]), "失败");
    assert_eq!(text(&checks[1][1]), "断货");
    assert_eq!(text(&checks[2][0]), "警告");
    assert_eq!(text(&checks[6][0]), "通过");
}

#[test]
fn management_gets_cover_and_checks_only() {
    let (fx, layouts, labels) = setup();
    let dir = tempfile::tempdir().unwrap();
    let path = render(
        &fx,
        &layouts,
        &labels,
        "management",
        Pii::Masked,
        true,
        dir.path(),
    );
    assert_eq!(open(&path).sheet_names(), ["概览", "检查"]);
    let checks = rows(&path, "检查");
    assert_eq!(
        checks[0].iter().map(text).collect::<Vec<_>>(),
        ["结果", "检查项", "说明"]
    );
}

#[test]
fn cover_values_are_the_kpi_set() {
    let (fx, layouts, labels) = setup();
    let dir = tempfile::tempdir().unwrap();
    let path = render(&fx, &layouts, &labels, "ops", Pii::Full, false, dir.path());
    let cover = rows(&path, "概览");
    assert_eq!(text(&cover[0][0]), "拾光服饰旗舰店 · 日报 · 2026-11-22");
    assert_eq!(text(&cover[1][1]), "2026-11-23 08:30");
    assert!(text(&cover[4][0]).contains("未通过"), "flagged banner");
    let h = cover.iter().position(|r| text(&r[0]) == "指标").unwrap();
    let header: Vec<String> = cover[h].iter().map(text).collect();
    assert_eq!(
        header,
        [
            "指标",
            "本期",
            "上期",
            "环比",
            "上周同期",
            "去年同期",
            "月目标",
            "目标完成率",
            "时间进度达成"
        ]
    );
    let row = |label: &str| {
        cover
            .iter()
            .find(|r| text(&r[0]) == label)
            .unwrap_or_else(|| panic!("no row {label}"))
            .clone()
    };
    let f = |v: &KpiValue| v.as_decimal().unwrap().to_f64().unwrap();
    let mut seen = 0;
    for def in storepulse::compute::kpi::kpi_catalog() {
        let Some(v) = fx.kpis.get(def.id) else {
            continue;
        };
        let c = &fx.comparisons[def.id];
        if v.is_missing() && c.previous.as_ref().is_none_or(|p| p.is_missing()) {
            // Nothing to show either way (no unit costs in the fixture).
            assert!(cover.iter().all(|r| text(&r[0]) != def.zh), "{}", def.id);
            continue;
        }
        let r = row(def.zh);
        match v {
            KpiValue::Missing => assert_eq!(text(&r[1]), "—", "{}", def.id),
            v => assert_eq!(r[1], Data::Float(f(v)), "{}", def.id),
        }
        match c.change {
            Some(ch) => assert_eq!(r[3], Data::Float(ch.to_f64().unwrap()), "{}", def.id),
            None => assert_eq!(text(&r[3]), "—", "{}", def.id),
        }
        assert_eq!(
            r[2],
            Data::Float(f(c.previous.as_ref().unwrap())),
            "{}",
            def.id
        );
        seen += 1;
    }
    assert!(seen > 30, "{seen}");
    // Hand-computed: 199 + 88.50 + 300 paid; month-to-date target 30000.
    let sales = row("支付金额");
    assert_eq!(sales[1], Data::Float(587.5));
    assert_eq!(sales[6], Data::Float(30000.0));
    assert_eq!(
        sales[7],
        Data::Float(f(&fx.kpis["target_completion.gross_sales"]))
    );
}

#[test]
fn number_formats_read_back() {
    let (fx, layouts, labels) = setup();
    let dir = tempfile::tempdir().unwrap();
    let path = render(&fx, &layouts, &labels, "ops", Pii::Full, false, dir.path());
    let mut wb = open(&path);
    let cover = wb.worksheet_range("概览").unwrap();
    let styles = wb.worksheet_style("概览").unwrap();
    let find = |label: &str| cover.rows().position(|r| text(&r[0]) == label).unwrap() as u32;
    let fmt = |styles: &calamine::StyleRange, pos: (u32, u32)| {
        styles
            .get(pos)
            .and_then(|s| s.number_format.as_ref())
            .map(|n| n.format_code.clone())
            .unwrap_or_default()
    };
    assert_eq!(fmt(&styles, (find("支付金额"), 1)), "¥#,##0.00");
    assert_eq!(fmt(&styles, (find("支付转化率"), 1)), "0.00%");
    assert_eq!(fmt(&styles, (find("访客数"), 1)), "#,##0");
    let header = find("指标");
    let bold = styles
        .get((header, 0))
        .and_then(|s| s.font.as_ref())
        .is_some_and(|f| f.is_bold());
    assert!(bold, "header is bold");

    let trend = wb.worksheet_style("30天趋势").unwrap();
    assert_eq!(fmt(&trend, (1, 0)), "yyyy-mm-dd");
    assert_eq!(fmt(&trend, (1, 1)), "¥#,##0.00");
    let unpaid = wb.worksheet_style("待催付").unwrap();
    assert_eq!(fmt(&unpaid, (1, 3)), "yyyy-mm-dd hh:mm");
    assert_eq!(fmt(&unpaid, (1, 4)), "¥#,##0.00");
}

#[test]
fn pii_is_masked_for_masked_teams_only() {
    let (fx, layouts, labels) = setup();
    let dir = tempfile::tempdir().unwrap();
    let masked = tempfile::tempdir().unwrap();
    let full = render(
        &fx,
        &layouts,
        &labels,
        "service",
        Pii::Full,
        true,
        dir.path(),
    );
    let hidden = render(
        &fx,
        &layouts,
        &labels,
        "service",
        Pii::Masked,
        true,
        masked.path(),
    );
    let unpaid = rows(&full, "待催付");
    assert_eq!(text(&unpaid[1][1]), "赵六");
    assert_eq!(text(&unpaid[1][2]), "13700002222");
    let unpaid = rows(&hidden, "待催付");
    assert_eq!(text(&unpaid[1][0]), "2026-11-22-4");
    assert_eq!(text(&unpaid[1][1]), "赵*");
    assert_eq!(text(&unpaid[1][2]), "137****2222");
    let refunds = rows(&hidden, "退款");
    assert_eq!(text(&refunds[1][1]), "李*");
    assert_eq!(text(&refunds[1][2]), "139****1111");

    let crm = render(
        &fx,
        &layouts,
        &labels,
        "crm",
        Pii::Masked,
        true,
        masked.path(),
    );
    let team = fixture::team("crm", "会员名单", Pii::Masked, Locale::ZhCn);
    let list = render_workbook(
        &member_list_layout(),
        &fx.data(&team, true),
        &labels,
        masked.path(),
    )
    .unwrap()
    .path;
    for (path, sheet) in [(&crm, "行动名单"), (&crm, "会员生日"), (&list, "会员明细")] {
        let col = rows(path, sheet)[0]
            .iter()
            .position(|h| text(h) == "买家")
            .unwrap();
        assert!(rows(path, sheet).len() > 1, "{sheet} has rows");
        for r in rows(path, sheet).iter().skip(1) {
            let v = text(&r[col]);
            assert_eq!(v.chars().count(), 2, "{sheet}: {v}");
            assert!(v.ends_with('*'), "{sheet}: {v}");
        }
    }
    let birthdays = rows(&crm, "会员生日");
    assert_eq!(text(&birthdays[1][0]), "赵*");
}

#[test]
fn text_that_looks_like_a_formula_stays_text() {
    let (fx, layouts, labels) = setup();
    let dir = tempfile::tempdir().unwrap();
    let path = render(
        &fx,
        &layouts,
        &labels,
        "design",
        Pii::Masked,
        false,
        dir.path(),
    );
    let products = rows(&path, "商品表现");
    let r = products
        .iter()
        .position(|r| text(&r[0]) == "SKU-B")
        .unwrap();
    assert_eq!(products[r][1], Data::String(fixture::HYPERLINK.to_string()));
    let mut wb = open(&path);
    let formulas = wb.worksheet_formula("商品表现").unwrap();
    assert!(
        formulas.used_cells().all(|(_, _, f)| f.is_empty()),
        "no formulas in the sheet"
    );
    assert_eq!(
        formulas.get_value((r as u32, 1)).map_or("", |s| s.as_str()),
        ""
    );
}

#[test]
fn long_lists_continue_on_numbered_sheets() {
    let (fx, layouts, labels) = setup();
    let dir = tempfile::tempdir().unwrap();
    let team = fixture::team("crm", "会员", Pii::Full, Locale::ZhCn);
    let mut data = fx.data(&team, true);
    data.max_rows = 4;
    let _ = &layouts;
    let out = render_workbook(&member_list_layout(), &data, &labels, dir.path()).unwrap();
    let members: Vec<&String> = out
        .sheets
        .iter()
        .filter(|s| s.starts_with("会员明细"))
        .collect();
    assert_eq!(members, ["会员明细", "会员明细 (2)", "会员明细 (3)"]);
    let mut ids = Vec::new();
    for s in &members {
        let r = rows(&out.path, s);
        assert_eq!(text(&r[0][0]), "买家", "{s} starts with the header");
        assert!(r.len() <= 4, "{s}: {} rows", r.len());
        ids.extend(r.iter().skip(1).map(|r| text(&r[0])));
    }
    let expected: Vec<String> = fx.tiers.rows().map(|m| m.member_id.to_string()).collect();
    assert_eq!(ids, expected, "every member once, in order");
    // The cover's title block does not count against the data rows of later sheets.
    let cover = rows(&out.path, "概览");
    assert!(cover.len() <= 4 + 6);
    assert!(out.sheets.contains(&"概览 (2)".to_string()));
}

#[test]
fn widths_and_conditional_formats_read_back_with_openpyxl() {
    let (fx, layouts, labels) = setup();
    let dir = tempfile::tempdir().unwrap();
    let path = render(&fx, &layouts, &labels, "ops", Pii::Full, false, dir.path());
    let script = r#"
import json, sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
out = {}
for ws in wb.worksheets:
    cfs = []
    for rng in ws.conditional_formatting:
        for rule in rng.rules:
            cfs.append({"range": str(rng.sqref), "type": rule.type,
                        "formula": list(rule.formula or []),
                        "icons": rule.iconSet.iconSet if rule.iconSet is not None else None})
    widths = {k: v.width for k, v in ws.column_dimensions.items()}
    out[ws.title] = {"cf": cfs, "widths": widths, "freeze": ws.freeze_panes,
                     "filter": ws.auto_filter.ref}
print(json.dumps(out, ensure_ascii=False))
"#;
    let py = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&path)
        .output()
        .expect("python3 (run scripts/test-deps.sh)");
    assert!(
        py.status.success(),
        "openpyxl failed (run scripts/test-deps.sh): {}",
        String::from_utf8_lossy(&py.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&py.stdout).unwrap();

    // Checks: fail rows red and warn rows amber, by formula on the level column.
    let cf = v["检查"]["cf"].as_array().unwrap();
    let formulas: Vec<String> = cf
        .iter()
        .flat_map(|c| c["formula"].as_array().unwrap().clone())
        .map(|f| f.as_str().unwrap().to_string())
        .collect();
    assert!(
        formulas.contains(&"$A2=\"失败\"".to_string()),
        "{formulas:?}"
    );
    assert!(
        formulas.contains(&"$A2=\"警告\"".to_string()),
        "{formulas:?}"
    );
    assert_eq!(v["检查"]["freeze"], "A2");
    assert_eq!(v["检查"]["filter"], "A1:G7");

    // Cover: arrows on the change column.
    let cover_cf = v["概览"]["cf"].as_array().unwrap();
    assert!(
        cover_cf.iter().any(|c| c["type"] == "iconSet"
            && c["icons"] == "3Arrows"
            && c["range"].as_str().unwrap().starts_with('D')),
        "{cover_cf:?}"
    );
    assert_eq!(v["概览"]["freeze"], "A8");

    // Widths count a wide character as two: "羊毛大衣 加厚款 冬季新品" is
    // 4·2 + 1 + 3·2 + 1 + 4·2 = 24 columns, plus 2 of padding. (Excel adds
    // its own fraction for the cell margin.)
    let zero = &v["90天滞销"]["widths"];
    let title_width = zero["B"].as_f64().unwrap();
    assert_eq!(
        storepulse::render::display_width("羊毛大衣 加厚款 冬季新品"),
        24
    );
    assert!((26.0..27.0).contains(&title_width), "{title_width}");
    // "商品ID" is 6 wide, longer than "SKU-C": 8 with padding.
    let sku_width = zero["A"].as_f64().unwrap();
    assert!((8.0..9.0).contains(&sku_width), "{sku_width}");
}

#[test]
fn charts_are_native() {
    let (fx, layouts, labels) = setup();
    let dir = tempfile::tempdir().unwrap();
    let charts = |path: &Path| {
        let f = std::fs::File::open(path).unwrap();
        let zip = zip::ZipArchive::new(f).unwrap();
        zip.file_names()
            .filter(|n| n.as_ref().is_ok_and(|n| n.starts_with("xl/charts/chart")))
            .count()
    };
    let ops = render(&fx, &layouts, &labels, "ops", Pii::Full, true, dir.path());
    // Trend (sales/visitors, conversion), traffic mix, segment sizes.
    assert_eq!(charts(&ops), 4);
    let mgmt = render(
        &fx,
        &layouts,
        &labels,
        "management",
        Pii::Full,
        true,
        dir.path(),
    );
    assert_eq!(charts(&mgmt), 0);
}

#[test]
fn a_held_report_says_so() {
    let (fx, layouts, labels) = setup();
    let dir = tempfile::tempdir().unwrap();
    let team = fixture::team("ops", "运营", Pii::Full, Locale::ZhCn);
    let mut data = fx.data(&team, false);
    data.flagged = false;
    data.held = true;
    let out = render_workbook(
        layouts.get("management").unwrap(),
        &data,
        &labels,
        dir.path(),
    )
    .unwrap();
    let cover = rows(&out.path, "概览");
    assert!(text(&cover[4][0]).contains("暂停发送"), "{:?}", cover[4]);
    data.held = false;
    let out = render_workbook(
        layouts.get("management").unwrap(),
        &data,
        &labels,
        dir.path(),
    )
    .unwrap();
    let cover = rows(&out.path, "概览");
    assert_eq!(text(&cover[4][0]), "检查结果");
    assert_eq!(text(&cover[4][1]), "失败");
}

#[test]
fn sheets_without_data_are_left_out() {
    let (mut fx, layouts, labels) = setup();
    fx.facts.ads.clear();
    fx.facts.service.clear();
    fx.facts.traffic.retain(|t| t.source.is_none());
    let dir = tempfile::tempdir().unwrap();
    let path = render(
        &fx,
        &layouts,
        &labels,
        "marketing",
        Pii::Full,
        false,
        dir.path(),
    );
    assert_eq!(open(&path).sheet_names(), ["概览", "检查", "30天趋势"]);
    // An empty list the run does have keeps its sheet, header only.
    fx.facts.unpaid_created.clear();
    let path = render(
        &fx,
        &layouts,
        &labels,
        "service",
        Pii::Full,
        false,
        dir.path(),
    );
    assert_eq!(
        open(&path).sheet_names(),
        ["概览", "检查", "待催付", "退款"]
    );
    assert_eq!(rows(&path, "待催付").len(), 1);
}

#[test]
fn english_labels() {
    let (fx, layouts, _) = setup();
    let labels = load_labels(&fixture::templates(), Locale::En).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let team = fixture::team("service", "Service", Pii::Masked, Locale::En);
    let out = render_workbook(
        layouts.get("service").unwrap(),
        &fx.data(&team, false),
        &labels,
        dir.path(),
    )
    .unwrap();
    assert_eq!(out.file_name, "Service_日报_2026-11-22.xlsx");
    assert_eq!(
        out.sheets,
        [
            "Summary",
            "Checks",
            "Unpaid orders",
            "Refunds",
            "Service leaderboard"
        ]
    );
    let cover = rows(&out.path, "Summary");
    assert!(cover.iter().any(|r| text(&r[0]) == "Gross sales"));
    let checks = rows(&out.path, "Checks");
    assert_eq!(text(&checks[1][0]), "fail");
    assert_eq!(text(&checks[1][1]), "Stock-outs");
}

#[test]
fn file_names_are_safe() {
    let day = Period::day(fixture::day("2026-11-22"));
    assert_eq!(
        workbook_file_name("运营", "日报", &day),
        "运营_日报_2026-11-22.xlsx"
    );
    let week: Period = "2026-W47".parse().unwrap();
    assert_eq!(
        workbook_file_name("推广", "周报", &week),
        "推广_周报_2026-W47.xlsx"
    );
    let month: Period = "2026-11".parse().unwrap();
    assert_eq!(
        workbook_file_name("../会员", "会员/月报", &month),
        "_会员_会员_月报_2026-11.xlsx"
    );
}

#[test]
fn a_folder_that_cannot_be_written_is_an_error_and_leaves_nothing() {
    let (fx, layouts, labels) = setup();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let team = fixture::team("ops", "运营", Pii::Full, Locale::ZhCn);
    let err = render_workbook(
        layouts.get("management").unwrap(),
        &fx.data(&team, false),
        &labels,
        &missing,
    )
    .unwrap_err();
    assert!(
        matches!(err, RenderError::Xlsx { .. } | RenderError::Io { .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("运营_日报_2026-11-22.xlsx"),
        "{err}"
    );
    assert!(!missing.exists());
}

#[test]
fn zero_sellers_helper_matches_the_monthly_rule() {
    let fx = fixture::fixture();
    let ids: Vec<&str> = fx.zero_sellers.iter().map(|p| p.sku_id.as_str()).collect();
    // C: online, stock 100, no sales; A and B sold; D is delisted.
    assert_eq!(ids, ["SKU-C"]);
    let mut recent = fx.recent_products.clone();
    for p in recent.iter_mut().filter(|p| p.sku_id == "SKU-C") {
        p.listed_at = Some("2026-11-01T00:00:00Z".parse().unwrap());
    }
    let window =
        storepulse::model::facts::StockWindow::from_rows(&recent, fixture::day("2026-11-22"));
    let none = storepulse::compute::kpi::zero_sellers(
        &window,
        &fx.units_by_sku_7d.keys().cloned().collect(),
        90,
        chrono_tz::Asia::Shanghai,
    );
    assert!(
        none.is_empty(),
        "listed inside the window: too new to judge"
    );
}

#[test]
fn a_weekly_cover_has_no_week_ago_column_and_custom_names_are_made_safe() {
    let (fx, _, labels) = setup();
    let dir = tempfile::tempdir().unwrap();
    let team = fixture::team("ops", "运营", Pii::Full, Locale::ZhCn);
    let mut data = fx.data(&team, false);
    data.period = "2026-W47".parse().unwrap();
    data.job_display = "周报";
    let text_layout = "[[sheets]]\nkind = \"cover\"\nname = \"本周/概览\"\n[[sheets]]\nkind = \"checks\"\nname = \"检查:[全部]\"\n";
    let layout = storepulse::render::parse_layout(Path::new("w.toml"), "w", text_layout).unwrap();
    let out = render_workbook(&layout, &data, &labels, dir.path()).unwrap();
    assert_eq!(out.file_name, "运营_周报_2026-W47.xlsx");
    assert_eq!(out.sheets, ["本周_概览", "检查__全部_"]);
    let cover = rows(&out.path, "本周_概览");
    let h = cover.iter().position(|r| text(&r[0]) == "指标").unwrap();
    let header: Vec<String> = cover[h].iter().map(text).collect();
    assert!(!header.contains(&"上周同期".to_string()), "{header:?}");
    assert!(header.contains(&"去年同期".to_string()), "{header:?}");
    assert_eq!(text(&cover[3][1]), "2026-11-16 ~ 2026-11-22");
}
