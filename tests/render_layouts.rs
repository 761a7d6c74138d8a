//! Layout and label files: the shipped ones load, and every kind of mistake
//! is reported at once with its file and key.

use std::path::Path;

use storepulse::config::Locale;
use storepulse::render::{
    Labels, SheetKind, load_labels, load_layouts, parse_labels, parse_layout,
};

fn templates() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("templates")
}

#[test]
fn shipped_layouts_cover_the_seven_teams() {
    let layouts = load_layouts(&templates()).unwrap();
    let names: Vec<&str> = layouts.names().collect();
    assert_eq!(
        names,
        [
            "crm",
            "design",
            "management",
            "marketing",
            "ops",
            "service",
            "warehouse"
        ]
    );
    for name in names {
        let l = layouts.get(name).unwrap();
        assert_eq!(l.sheets[0].kind, SheetKind::Cover, "{name}");
        assert_eq!(l.sheets[1].kind, SheetKind::Checks, "{name}");
    }
    let kinds = |n: &str| -> Vec<SheetKind> {
        layouts
            .get(n)
            .unwrap()
            .sheets
            .iter()
            .map(|s| s.kind)
            .collect()
    };
    assert_eq!(kinds("management"), [SheetKind::Cover, SheetKind::Checks]);
    assert_eq!(
        kinds("warehouse")[2..],
        [
            SheetKind::LowStock,
            SheetKind::StockOuts,
            SheetKind::ZeroSellers,
            SheetKind::SellThrough
        ]
    );
    assert!(kinds("crm").contains(&SheetKind::ActionLists));
    assert!(
        !kinds("crm").contains(&SheetKind::MemberList),
        "off by default"
    );
    assert!(kinds("service").contains(&SheetKind::UnpaidOrders));
}

#[test]
fn shipped_labels_load_in_both_locales() {
    let zh = load_labels(&templates(), Locale::ZhCn).unwrap();
    let en = load_labels(&templates(), Locale::En).unwrap();
    assert_eq!(zh.sheet(SheetKind::Checks), "检查");
    assert_eq!(en.sheet(SheetKind::Checks), "Checks");
    assert_eq!(zh.kpi("gross_sales"), "支付金额");
    assert_eq!(en.kpi("gross_sales"), "Gross sales");
    assert_eq!(
        zh.kpi("target_completion.gross_sales"),
        "目标完成率 · 支付金额"
    );
    assert_eq!(zh.segment("champions", Some("冠军客户")), "冠军客户");
    assert_eq!(en.segment("champions", Some("冠军客户")), "Champions");
    // Every column of every sheet kind has a label in both files.
    for kind in SheetKind::ALL {
        for col in kind.columns() {
            assert_ne!(zh.column(col), *col, "zh label for {col}");
            assert_ne!(en.column(col), *col, "en label for {col}");
        }
        assert_ne!(zh.sheet(kind), kind.as_str());
        assert_ne!(en.sheet(kind), kind.as_str());
    }
}

#[test]
fn labels_fall_back_to_the_catalogues() {
    let l = Labels::builtin(Locale::ZhCn);
    assert_eq!(l.kpi("aov"), "客单价");
    assert_eq!(l.check("row_count.orders", "x"), "行数 · orders");
    assert_eq!(l.column("visitors"), "访客数");
    assert_eq!(l.column("sku_id"), "sku_id");
}

#[test]
fn every_layout_mistake_is_reported_with_its_key() {
    let text = r#"
[[sheets]]
kind = "checks"

[[sheets]]
kind = "cover"
kpis = ["gross_sales", "gross_salez", "target_completion.visitors", "target.nope"]

[[sheets]]
kind = "pie_chart"

[[sheets]]
kind = "products"
columns = ["sku_id", "colour", "sku_id"]

[[sheets]]
kind = "trend"
columns = ["visitors", "date"]

[[sheets]]
kind = "refunds"
kpis = ["gross_sales"]
limit = 0
"#;
    let errs = parse_layout(Path::new("bad.toml"), "bad", text).unwrap_err();
    let got: Vec<(String, String)> = errs
        .iter()
        .map(|e| (e.key.clone(), e.message.clone()))
        .collect();
    let has = |key: &str, needle: &str| {
        assert!(
            got.iter().any(|(k, m)| k == key && m.contains(needle)),
            "no error {key}: {needle} in {got:#?}"
        )
    };
    has("sheets[1].kpis", "\"gross_salez\"");
    has("sheets[1].kpis", "\"target.nope\"");
    has("sheets[2].kind", "unknown sheet kind \"pie_chart\"");
    has("sheets[3].columns", "unknown column \"colour\"");
    has("sheets[3].columns", "listed twice");
    has("sheets[4].columns", "first column is \"date\"");
    has("sheets[5].kpis", "only a cover");
    has("sheets[5].limit", "at least 1");
    has("sheets", "first sheet must be kind = \"cover\"");
    assert_eq!(errs.len(), 9, "{got:#?}");
    assert!(errs.iter().all(|e| e.file == Path::new("bad.toml")));
    assert!(
        errs[0]
            .to_string()
            .starts_with("bad.toml: sheets[1].kpis: ")
    );
}

#[test]
fn unknown_keys_in_a_layout_are_errors() {
    let text = "[[sheets]]\nkind = \"cover\"\ncolour = \"red\"\n";
    let errs = parse_layout(Path::new("x.toml"), "x", text).unwrap_err();
    assert_eq!(errs.len(), 1);
    assert!(errs[0].message.contains("colour"), "{}", errs[0].message);
    assert_eq!(errs[0].key, "colour");
}

#[test]
fn a_trend_sheet_takes_any_kpi_column() {
    let text = "[[sheets]]\nkind = \"cover\"\n[[sheets]]\nkind = \"checks\"\n[[sheets]]\nkind = \"trend\"\ncolumns = [\"date\", \"roi\", \"net_sales\"]\n";
    let l = parse_layout(Path::new("t.toml"), "t", text).unwrap();
    assert_eq!(l.sheets[2].columns, ["date", "roi", "net_sales"]);
    assert_eq!(l.name, "t");
}

#[test]
fn a_folder_of_layouts_reports_every_file() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    std::fs::create_dir(&reports).unwrap();
    std::fs::write(reports.join("a.toml"), "[[sheets]]\nkind = \"nope\"\n").unwrap();
    std::fs::write(reports.join("b.toml"), "sheets = 3\n").unwrap();
    std::fs::write(reports.join("notes.txt"), "ignored").unwrap();
    let errs = load_layouts(dir.path()).unwrap_err();
    let files: Vec<String> = errs
        .iter()
        .map(|e| e.file.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(files.contains(&"a.toml".to_string()), "{errs:?}");
    assert!(files.contains(&"b.toml".to_string()), "{errs:?}");
    assert!(load_layouts(&dir.path().join("missing")).is_err());
}

#[test]
fn label_files_are_checked_too() {
    let text = r#"
[sheets]
cover = "总览"
pie = "饼"
checks = ""

[columns]
visitors = "UV"
colour = "颜色"

[kpis]
gross_salez = "x"

[levels]
fatal = "致命"
"#;
    let errs = parse_labels(Path::new("zh-CN.toml"), Locale::ZhCn, text).unwrap_err();
    let keys: Vec<&str> = errs.iter().map(|e| e.key.as_str()).collect();
    for k in [
        "sheets.pie",
        "sheets.checks",
        "columns.colour",
        "kpis.gross_salez",
        "levels.fatal",
    ] {
        assert!(keys.contains(&k), "{k} missing from {keys:?}");
    }
    assert_eq!(errs.len(), 5, "{keys:?}");
    let unknown_section = parse_labels(Path::new("en.toml"), Locale::En, "[colours]\na = \"b\"\n");
    assert!(unknown_section.is_err());
    let ok = parse_labels(
        Path::new("zh-CN.toml"),
        Locale::ZhCn,
        "[sheets]\ncover = \"总览\"\n[kpis]\ngross_sales = \"GMV\"\n",
    )
    .unwrap();
    assert_eq!(ok.sheet(SheetKind::Cover), "总览");
    assert_eq!(ok.kpi("gross_sales"), "GMV");
    assert_eq!(ok.kpi("visitors"), "访客数");
}
