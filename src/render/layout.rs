//! Report layouts: which sheets a team's workbook has, in which order, with
//! which columns. One TOML file per layout in `templates/reports/`, read
//! into raw serde structs (unknown keys are errors) and then checked as a
//! whole, so `validate` lists every unknown sheet kind, KPI id and column
//! at once, each with its file and key.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::compute::kpi::{kpi_catalog, kpi_kind};

/// The kinds of sheet a layout can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SheetKind {
    Cover,
    Checks,
    TrafficSources,
    TrafficTypes,
    AdsCampaigns,
    Products,
    LowStock,
    StockOuts,
    ZeroSellers,
    SellThrough,
    UnpaidOrders,
    Refunds,
    ServiceLeaderboard,
    Segments,
    MemberLevels,
    TierChanges,
    ActionLists,
    Birthdays,
    MemberList,
    WeeklyQuestions,
    Decomposition,
    Trend,
}

impl SheetKind {
    pub const ALL: [SheetKind; 22] = [
        SheetKind::Cover,
        SheetKind::Checks,
        SheetKind::TrafficSources,
        SheetKind::TrafficTypes,
        SheetKind::AdsCampaigns,
        SheetKind::Products,
        SheetKind::LowStock,
        SheetKind::StockOuts,
        SheetKind::ZeroSellers,
        SheetKind::SellThrough,
        SheetKind::UnpaidOrders,
        SheetKind::Refunds,
        SheetKind::ServiceLeaderboard,
        SheetKind::Segments,
        SheetKind::MemberLevels,
        SheetKind::TierChanges,
        SheetKind::ActionLists,
        SheetKind::Birthdays,
        SheetKind::MemberList,
        SheetKind::WeeklyQuestions,
        SheetKind::Decomposition,
        SheetKind::Trend,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SheetKind::Cover => "cover",
            SheetKind::Checks => "checks",
            SheetKind::TrafficSources => "traffic_sources",
            SheetKind::TrafficTypes => "traffic_types",
            SheetKind::AdsCampaigns => "ads_campaigns",
            SheetKind::Products => "products",
            SheetKind::LowStock => "low_stock",
            SheetKind::StockOuts => "stock_outs",
            SheetKind::ZeroSellers => "zero_sellers",
            SheetKind::SellThrough => "sell_through",
            SheetKind::UnpaidOrders => "unpaid_orders",
            SheetKind::Refunds => "refunds",
            SheetKind::ServiceLeaderboard => "service_leaderboard",
            SheetKind::Segments => "segments",
            SheetKind::MemberLevels => "member_levels",
            SheetKind::TierChanges => "tier_changes",
            SheetKind::ActionLists => "action_lists",
            SheetKind::Birthdays => "birthdays",
            SheetKind::MemberList => "member_list",
            SheetKind::WeeklyQuestions => "weekly_questions",
            SheetKind::Decomposition => "decomposition",
            SheetKind::Trend => "trend",
        }
    }

    pub fn parse(s: &str) -> Option<SheetKind> {
        SheetKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Every column the kind can show, in the default order. The trend
    /// sheet's columns after `date` are KPI ids, so any KPI id is accepted
    /// there as well.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            SheetKind::Cover => &[
                "kpi",
                "value",
                "previous",
                "change",
                "week_ago",
                "year_ago",
                "target",
                "target_completion",
                "target_pace",
                "kpi_id",
            ],
            SheetKind::Checks => &[
                "result",
                "check",
                "observed",
                "threshold",
                "baseline",
                "message",
                "samples",
                "check_id",
            ],
            SheetKind::TrafficSources => &[
                "source",
                "traffic_type",
                "visitors",
                "visitor_share",
                "page_views",
                "bounce_rate",
                "avg_stay_seconds",
                "cart_users",
                "order_buyers",
                "paying_buyers",
                "conversion_rate",
                "paid_amount",
                "uv_value",
                "new_followers",
            ],
            SheetKind::TrafficTypes => &[
                "traffic_type",
                "visitors",
                "visitor_share",
                "paying_buyers",
                "conversion_rate",
                "paid_amount",
                "uv_value",
            ],
            SheetKind::AdsCampaigns => &[
                "channel",
                "campaign",
                "spend",
                "impressions",
                "clicks",
                "ctr",
                "cpc",
                "cart_adds",
                "ad_orders",
                "revenue",
                "roi",
            ],
            SheetKind::Products => &[
                "sku_id",
                "title",
                "category",
                "status",
                "price",
                "visitors",
                "page_views",
                "bounce_rate",
                "cart_users",
                "cart_rate",
                "fav_users",
                "paid_buyers",
                "conversion_rate",
                "paid_units",
                "paid_amount",
                "paid_amount_prev",
                "paid_amount_change",
                "uv_value",
                "refund_amount",
                "stock",
            ],
            SheetKind::LowStock => &[
                "sku_id",
                "title",
                "category",
                "stock",
                "units_7d",
                "daily_units",
                "cover_days",
            ],
            SheetKind::StockOuts => &[
                "sku_id",
                "title",
                "category",
                "stock",
                "units_7d",
                "daily_units",
            ],
            SheetKind::ZeroSellers => &[
                "sku_id",
                "title",
                "category",
                "stock",
                "price",
                "unit_cost",
                "stock_cost",
                "listed_at",
            ],
            SheetKind::SellThrough => &[
                "sku_id",
                "title",
                "category",
                "paid_units",
                "stock",
                "sell_through_rate",
            ],
            SheetKind::UnpaidOrders => &[
                "order_id",
                "member",
                "phone",
                "created_at",
                "amount",
                "status",
            ],
            SheetKind::Refunds => &[
                "order_id",
                "member",
                "phone",
                "paid_at",
                "paid_amount",
                "refund_amount",
                "refund_share",
                "status",
            ],
            SheetKind::ServiceLeaderboard => &[
                "rank",
                "agent",
                "consultations",
                "converted_buyers",
                "consult_conversion_rate",
                "sales",
                "avg_response_seconds",
                "satisfaction",
            ],
            SheetKind::Segments => &["segment", "members", "member_share", "segment_id"],
            SheetKind::MemberLevels => &["group", "name", "members", "member_share"],
            SheetKind::TierChanges => &["level_prev", "level", "level_change", "members"],
            SheetKind::ActionLists => &[
                "list",
                "member",
                "segment",
                "level",
                "lifecycle",
                "recency_days",
                "frequency",
                "monetary",
                "last_purchase",
            ],
            SheetKind::Birthdays => &["member", "birthday", "on", "level", "segment"],
            SheetKind::MemberList => &[
                "member",
                "first_purchase",
                "last_purchase",
                "recency_days",
                "frequency",
                "monetary",
                "r_score",
                "f_score",
                "m_score",
                "segment",
                "level",
                "level_prev",
                "level_change",
                "class",
                "lifecycle",
                "cycle_days",
            ],
            SheetKind::WeeklyQuestions => &["question", "result", "answer"],
            SheetKind::Decomposition => &[
                "factor",
                "previous",
                "current",
                "change",
                "contribution",
                "share",
            ],
            SheetKind::Trend => &[
                "date",
                "gross_sales",
                "visitors",
                "conversion_rate",
                "paying_buyers",
                "aov",
            ],
        }
    }

    /// The columns a layout gets when it names none: all but the raw ids
    /// that only scripts want.
    pub fn default_columns(self) -> Vec<String> {
        self.columns()
            .iter()
            .filter(|c| !OPTIONAL_COLUMNS.contains(c))
            .map(|c| c.to_string())
            .collect()
    }

    fn accepts_column(self, col: &str) -> bool {
        self.columns().contains(&col) || (self == SheetKind::Trend && kpi_kind(col).is_some())
    }
}

/// Columns shown only when a layout asks for them.
const OPTIONAL_COLUMNS: &[&str] = &["kpi_id", "check_id", "segment_id"];

/// One sheet of a layout, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct SheetSpec {
    pub kind: SheetKind,
    /// A sheet name overriding the locale's label for the kind.
    pub name: Option<String>,
    /// Columns in display order.
    pub columns: Vec<String>,
    /// Cover only: the KPI rows, in order. Empty means every KPI the run
    /// has a value or comparison for, in catalogue order.
    pub kpis: Vec<String>,
    /// At most this many rows (top N); `None` for all.
    pub limit: Option<usize>,
    /// Whether the sheet's native chart is drawn (kinds that have one).
    pub chart: bool,
}

/// A report layout: the sheets of one team's workbook.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// The file stem (`ops` for `templates/reports/ops.toml`).
    pub name: String,
    pub description: Option<String>,
    pub sheets: Vec<SheetSpec>,
}

/// Every layout found, by name.
#[derive(Debug, Clone, Default)]
pub struct Layouts {
    pub layouts: BTreeMap<String, Layout>,
}

impl Layouts {
    pub fn get(&self, name: &str) -> Option<&Layout> {
        self.layouts.get(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.layouts.keys().map(String::as_str)
    }
}

/// A problem in a layout or label file, naming the file and key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {key}: {message}", file.display())]
pub struct LayoutError {
    pub file: PathBuf,
    pub key: String,
    pub message: String,
}

impl LayoutError {
    pub(crate) fn new(file: &Path, key: impl Into<String>, message: impl Into<String>) -> Self {
        LayoutError {
            file: file.to_path_buf(),
            key: key.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLayout {
    pub description: Option<String>,
    #[serde(default)]
    pub sheets: Vec<RawSheet>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSheet {
    pub kind: String,
    pub name: Option<String>,
    pub columns: Option<Vec<String>>,
    pub kpis: Option<Vec<String>>,
    pub limit: Option<usize>,
    pub chart: Option<bool>,
}

/// Reads every `*.toml` of `<templates_dir>/reports/`.
pub fn load_layouts(templates_dir: &Path) -> Result<Layouts, Vec<LayoutError>> {
    let dir = templates_dir.join("reports");
    let entries = std::fs::read_dir(&dir).map_err(|e| {
        vec![LayoutError::new(
            &dir,
            "reports",
            format!("cannot read the layouts folder: {e}"),
        )]
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut layouts = BTreeMap::new();
    let mut errors = Vec::new();
    for file in files {
        let name = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) => {
                errors.push(LayoutError::new(&file, "", format!("cannot read: {e}")));
                continue;
            }
        };
        match parse_layout(&file, &name, &text) {
            Ok(l) => {
                layouts.insert(name, l);
            }
            Err(mut e) => errors.append(&mut e),
        }
    }
    if layouts.is_empty() && errors.is_empty() {
        errors.push(LayoutError::new(
            &dir,
            "reports",
            "no layout files (*.toml)",
        ));
    }
    if errors.is_empty() {
        Ok(Layouts { layouts })
    } else {
        Err(errors)
    }
}

/// Parses and checks one layout file's text.
pub fn parse_layout(file: &Path, name: &str, text: &str) -> Result<Layout, Vec<LayoutError>> {
    let raw: RawLayout = toml::from_str(text).map_err(|e| {
        let key = e.span().map(|s| key_at(text, s.start)).unwrap_or_default();
        vec![LayoutError::new(file, key, e.message().to_string())]
    })?;
    build_layout(file, name, raw)
}

/// The line of the text at a byte offset, as a hint at the key.
fn key_at(text: &str, offset: usize) -> String {
    let start = text[..offset.min(text.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let line = text[start..].lines().next().unwrap_or("");
    line.split('=').next().unwrap_or("").trim().to_string()
}

/// Resolves a raw layout, collecting every problem.
pub fn build_layout(file: &Path, name: &str, raw: RawLayout) -> Result<Layout, Vec<LayoutError>> {
    let mut errors = Vec::new();
    let mut sheets = Vec::new();
    if raw.sheets.is_empty() {
        errors.push(LayoutError::new(file, "sheets", "a layout needs sheets"));
    }
    for (i, s) in raw.sheets.iter().enumerate() {
        let key = |k: &str| format!("sheets[{i}].{k}");
        let Some(kind) = SheetKind::parse(&s.kind) else {
            errors.push(LayoutError::new(
                file,
                key("kind"),
                format!(
                    "unknown sheet kind {:?}; known: {}",
                    s.kind,
                    SheetKind::ALL.map(SheetKind::as_str).join(", ")
                ),
            ));
            continue;
        };
        let columns: Vec<String> = match &s.columns {
            Some(cols) => {
                let mut seen = BTreeSet::new();
                for c in cols {
                    if !kind.accepts_column(c) {
                        errors.push(LayoutError::new(
                            file,
                            key("columns"),
                            format!(
                                "unknown column {c:?} for a {} sheet; known: {}",
                                kind.as_str(),
                                kind.columns().join(", ")
                            ),
                        ));
                    } else if !seen.insert(c.as_str()) {
                        errors.push(LayoutError::new(
                            file,
                            key("columns"),
                            format!("column {c:?} listed twice"),
                        ));
                    }
                }
                if cols.is_empty() {
                    errors.push(LayoutError::new(file, key("columns"), "no columns"));
                }
                cols.clone()
            }
            None => kind.default_columns(),
        };
        if kind == SheetKind::Trend && columns.first().map(String::as_str) != Some("date") {
            errors.push(LayoutError::new(
                file,
                key("columns"),
                "a trend sheet's first column is \"date\"",
            ));
        }
        let kpis = s.kpis.clone().unwrap_or_default();
        if s.kpis.is_some() && kind != SheetKind::Cover {
            errors.push(LayoutError::new(
                file,
                key("kpis"),
                "only a cover sheet lists KPIs",
            ));
        }
        for id in &kpis {
            if kpi_kind(id).is_none() {
                errors.push(LayoutError::new(
                    file,
                    key("kpis"),
                    format!(
                        "unknown KPI id {id:?}; known: {} and target.<id>, target_completion.<id>, target_pace.<id>",
                        kpi_catalog().iter().map(|d| d.id).collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
        }
        if s.limit == Some(0) {
            errors.push(LayoutError::new(
                file,
                key("limit"),
                "limit must be at least 1",
            ));
        }
        if let Some(n) = &s.name
            && n.trim().is_empty()
        {
            errors.push(LayoutError::new(file, key("name"), "empty sheet name"));
        }
        sheets.push(SheetSpec {
            kind,
            name: s.name.clone(),
            columns,
            kpis,
            limit: s.limit,
            chart: s.chart.unwrap_or(true),
        });
    }
    // SPEC §10: every workbook opens on the cover, then the checks.
    let kinds: Vec<&str> = raw.sheets.iter().map(|s| s.kind.as_str()).collect();
    if kinds.first() != Some(&"cover") || kinds.get(1) != Some(&"checks") {
        errors.push(LayoutError::new(
            file,
            "sheets",
            "the first sheet must be kind = \"cover\" and the second kind = \"checks\"",
        ));
    }
    if errors.is_empty() {
        Ok(Layout {
            name: name.to_string(),
            description: raw.description,
            sheets,
        })
    } else {
        Err(errors)
    }
}
