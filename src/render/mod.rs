//! The render stage: one workbook per team per run (SPEC §10), from a
//! layout in `templates/reports/` and labels in `templates/i18n/`, plus
//! member_tiers.csv.
//!
//! A workbook opens on the cover (KPIs against the previous period, a week
//! and a year earlier and the month's target), then the checks, then the
//! team's sheets. Sheets whose data the run does not have are left out.
//! Text from input files is always written as a string; PII is masked for
//! teams without `pii = "full"`; lists longer than a sheet continue on
//! numbered sheets; the file is written under a temporary name and renamed,
//! so a reader never sees half a workbook.

mod labels;
mod layout;
mod sheets;
mod table;
mod text;
pub mod tiers_csv;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use rust_xlsxwriter::{Chart, ChartLegendPosition, ChartType, Workbook, XlsxError};

use crate::check::{CheckResult, worst_level};
use crate::compute::kpi::{Comparisons, Decomposition, KpiSet, PeriodFacts};
use crate::compute::tiers::TierResult;
use crate::config::Team;
use crate::model::facts::{ProductFact, StockWindow};
use crate::period::Period;

pub use labels::{Labels, RawLabels, TEXT_KEYS, load_labels, parse_labels};
pub use layout::{
    Layout, LayoutError, Layouts, RawLayout, RawSheet, SheetKind, SheetSpec, build_layout,
    load_layouts, parse_layout,
};
pub use table::{DATE_FORMAT, EXCEL_MAX_ROWS, MONEY_FORMAT, RATIO_FORMAT};
pub use text::{csv_safe, display_width, mask_name, mask_phone, sanitize_file_component};

/// Everything a team's workbook is made from; the run computes it once and
/// every team's workbook borrows it.
pub struct ReportData<'a> {
    pub shop: &'a str,
    /// Job name (`daily-ops`) and display name (`日报`).
    pub job: &'a str,
    pub job_display: &'a str,
    pub period: Period,
    pub generated_at: DateTime<Utc>,
    pub team: &'a Team,
    /// A fail-level check and `on_fail = "send-flagged"`: red banner.
    pub flagged: bool,
    /// A fail-level check held delivery back; the workbook is still written
    /// to the run folder, with a banner saying so.
    pub held: bool,
    pub kpis: &'a KpiSet,
    pub comparisons: &'a Comparisons,
    pub decomposition: Option<&'a Decomposition>,
    pub checks: &'a [CheckResult],
    pub facts: &'a PeriodFacts,
    /// The previous period's facts, for product movers.
    pub previous_facts: Option<&'a PeriodFacts>,
    /// Daily KPI snapshots (the last 30 days feed the trend sheet).
    pub history: &'a BTreeMap<NaiveDate, KpiSet>,
    /// The stock window up to the period end (stock cover); without one
    /// the stock sheets read the period's own product rows.
    pub stock: Option<&'a StockWindow>,
    /// Units sold per SKU over those 7 days, from order lines.
    pub units_by_sku_7d: &'a HashMap<String, i64>,
    /// SKUs online with stock and no sale for 90 days (see
    /// [`crate::compute::kpi::zero_sellers`]).
    pub zero_sellers: &'a [ProductFact],
    pub tiers: Option<&'a TierResult>,
    /// Rows per sheet before a list continues on the next sheet; Excel's
    /// [`EXCEL_MAX_ROWS`] unless a test wants less.
    pub max_rows: u32,
}

/// A workbook written to the run folder.
#[derive(Debug, Clone)]
pub struct RenderedWorkbook {
    pub path: PathBuf,
    pub file_name: String,
    /// Sheet names in order, continuation sheets included.
    pub sheets: Vec<String>,
}

/// Why a workbook could not be written. Both are permanent for the run:
/// the same data and folder fail the same way.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("{file}: sheet {sheet:?}: {source}")]
    Xlsx {
        file: String,
        sheet: String,
        #[source]
        source: XlsxError,
    },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// `<team display name>_<job display name>_<period>.xlsx`, each part made
/// safe as a file name (`运营_日报_2026-11-22.xlsx`).
pub fn workbook_file_name(team_display: &str, job_display: &str, period: &Period) -> String {
    format!(
        "{}_{}_{}.xlsx",
        sanitize_file_component(team_display),
        sanitize_file_component(job_display),
        sanitize_file_component(&period.to_string())
    )
}

/// Writes one team's workbook into `out_dir`.
pub fn render_workbook(
    layout: &Layout,
    data: &ReportData,
    labels: &Labels,
    out_dir: &Path,
) -> Result<RenderedWorkbook, RenderError> {
    let file_name = workbook_file_name(&data.team.name, data.job_display, &data.period);
    let xerr = |sheet: &str| {
        let file = file_name.clone();
        let sheet = sheet.to_string();
        move |source| RenderError::Xlsx {
            file,
            sheet,
            source,
        }
    };
    let mut wb = Workbook::new();
    let fmts = table::Formats::new();
    let mut names: Vec<String> = Vec::new();
    let missing = labels.text("missing");
    for spec in &layout.sheets {
        let ctx = sheets::Ctx { data, labels, spec };
        let Some(built) = sheets::build(&ctx) else {
            tracing::debug!(layout = %layout.name, sheet = spec.kind.as_str(), "no data; sheet left out");
            continue;
        };
        let name = spec.name.clone().unwrap_or_else(|| labels.sheet(spec.kind));
        let tspec = table::TableSpec {
            name: name.clone(),
            headers: built.columns.iter().map(|c| labels.column(c)).collect(),
            preamble: if spec.kind == SheetKind::Cover {
                cover_preamble(data, labels)
            } else {
                Vec::new()
            },
            constant_memory: matches!(spec.kind, SheetKind::MemberList | SheetKind::ActionLists),
            max_rows: data.max_rows,
            missing: &missing,
            level_labels: sheets::level_labels(labels),
        };
        let placed = match built.rows {
            sheets::Rows::List(rows) => {
                table::write_table(&mut wb, &fmts, &tspec, &mut names, rows)
            }
            sheets::Rows::Stream(rows) => {
                table::write_table(&mut wb, &fmts, &tspec, &mut names, rows)
            }
        }
        .map_err(xerr(&name))?;
        if spec.chart
            && let Some(first) = placed.first()
        {
            add_charts(&mut wb, spec.kind, &built.columns, first, labels).map_err(xerr(&name))?;
        }
    }
    if let Some(i) = names.iter().position(|_| true) {
        // The cover is the active, first-shown sheet.
        wb.worksheet_from_index(i)
            .map_err(xerr(&names[i]))?
            .set_active(true);
    }
    let path = out_dir.join(&file_name);
    let tmp = out_dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    if let Err(source) = wb.save(&tmp) {
        let _ = std::fs::remove_file(&tmp);
        return Err(RenderError::Xlsx {
            file: file_name,
            sheet: String::new(),
            source,
        });
    }
    std::fs::rename(&tmp, &path).map_err(|source| {
        let _ = std::fs::remove_file(&tmp);
        RenderError::Io {
            path: path.clone(),
            source,
        }
    })?;
    tracing::info!(file = %path.display(), sheets = names.len(), "workbook written");
    Ok(RenderedWorkbook {
        path,
        file_name,
        sheets: names,
    })
}

fn cover_preamble(data: &ReportData, labels: &Labels) -> Vec<table::Preamble> {
    use table::Preamble;
    let tz = data.facts.tz;
    let worst = worst_level(data.checks);
    let mut out = vec![
        Preamble::Title(format!(
            "{} · {} · {}",
            data.shop, data.job_display, data.period
        )),
        Preamble::Pair(
            labels.text("generated_at"),
            data.generated_at
                .with_timezone(&tz)
                .format("%Y-%m-%d %H:%M")
                .to_string(),
        ),
        Preamble::Pair(labels.text("team"), data.team.name.clone()),
        Preamble::Pair(
            labels.text("period"),
            format!(
                "{} ~ {}",
                data.period.start.format("%Y-%m-%d"),
                data.period.last_day().format("%Y-%m-%d")
            ),
        ),
    ];
    if data.held {
        out.push(Preamble::Banner {
            text: labels.text("held"),
            bad: true,
        });
    } else if data.flagged {
        out.push(Preamble::Banner {
            text: labels.text("flagged"),
            bad: true,
        });
    } else {
        out.push(Preamble::Pair(labels.text("status"), labels.level(worst)));
    }
    out.push(Preamble::Blank);
    out
}

fn col_of(columns: &[String], id: &str) -> Option<u16> {
    columns.iter().position(|c| c == id).map(|i| i as u16)
}

/// The native charts: the 30-day trend (sales with visitors on a second
/// axis, and conversion), the traffic-type mix and the segment sizes.
fn add_charts(
    wb: &mut Workbook,
    kind: SheetKind,
    columns: &[String],
    at: &table::Placed,
    labels: &Labels,
) -> Result<(), XlsxError> {
    if at.rows == 0 {
        return Ok(());
    }
    let sheet = at.sheet.as_str();
    let (r0, r1) = (at.header_row + 1, at.header_row + at.rows);
    let anchor_col = at.columns + 1;
    let series = |chart: &mut Chart, cat: u16, val: u16, secondary: bool| {
        let s = chart
            .add_series()
            .set_categories((sheet, r0, cat, r1, cat))
            .set_values((sheet, r0, val, r1, val))
            .set_name((sheet, at.header_row, val));
        if secondary {
            s.set_secondary_axis(true);
        }
    };
    let mut charts: Vec<Chart> = Vec::new();
    match kind {
        SheetKind::Trend => {
            let Some(date) = col_of(columns, "date") else {
                return Ok(());
            };
            let sales = col_of(columns, "gross_sales");
            let visitors = col_of(columns, "visitors");
            if sales.is_some() || visitors.is_some() {
                let mut c = Chart::new(ChartType::Line);
                c.title().set_name(&labels.text("trend_sales_visitors"));
                if let Some(s) = sales {
                    series(&mut c, date, s, false);
                    c.y_axis().set_num_format("¥#,##0");
                }
                if let Some(v) = visitors {
                    series(&mut c, date, v, sales.is_some());
                }
                c.x_axis().set_num_format("mm-dd");
                c.legend().set_position(ChartLegendPosition::Bottom);
                charts.push(c);
            }
            if let Some(conv) = col_of(columns, "conversion_rate") {
                let mut c = Chart::new(ChartType::Line);
                c.title().set_name(&labels.text("trend_conversion"));
                series(&mut c, date, conv, false);
                c.y_axis().set_num_format("0.0%");
                c.x_axis().set_num_format("mm-dd");
                c.legend().set_hidden();
                charts.push(c);
            }
        }
        SheetKind::TrafficTypes => {
            if let (Some(ty), Some(v)) =
                (col_of(columns, "traffic_type"), col_of(columns, "visitors"))
            {
                let mut c = Chart::new(ChartType::Pie);
                c.title().set_name(&labels.text("traffic_mix"));
                c.add_series()
                    .set_categories((sheet, r0, ty, r1, ty))
                    .set_values((sheet, r0, v, r1, v))
                    .set_data_label(
                        rust_xlsxwriter::ChartDataLabel::new()
                            .show_percentage()
                            .show_category_name(),
                    );
                charts.push(c);
            }
        }
        SheetKind::Segments => {
            if let (Some(seg), Some(n)) = (col_of(columns, "segment"), col_of(columns, "members")) {
                let mut c = Chart::new(ChartType::Column);
                c.title().set_name(&labels.text("segment_sizes"));
                c.add_series()
                    .set_categories((sheet, r0, seg, r1, seg))
                    .set_values((sheet, r0, n, r1, n))
                    .set_data_label(rust_xlsxwriter::ChartDataLabel::new().show_value());
                c.y_axis().set_num_format("#,##0");
                c.legend().set_hidden();
                charts.push(c);
            }
        }
        _ => {}
    }
    let ws = wb.worksheet_from_name(sheet)?;
    let mut row = at.header_row;
    for c in charts.iter_mut() {
        c.set_width(640).set_height(300);
        ws.insert_chart(row, anchor_col, c)?;
        row += 16;
    }
    Ok(())
}
