//! The render step of a run: one workbook per team that gets a report from
//! the job, written into the (not yet committed) run folder.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::pipeline::Computed;
use super::{RunError, RunFolder};
use crate::config::{ConfigErrors, Locale};
use crate::render::{self, Labels, LayoutError, ReportData};

/// A workbook written for a team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workbook {
    pub team: String,
    /// The file name inside the run folder.
    pub file_name: String,
    /// Where it is now (inside the not yet committed folder).
    pub path: PathBuf,
}

fn layout_errors(errors: Vec<LayoutError>) -> RunError {
    let mut out = ConfigErrors::default();
    for e in errors {
        out.push(&e.file, e.key, e.message);
    }
    RunError::Config(out)
}

/// Renders every team's workbook into `folder`.
///
/// Workbooks are independent and their rendering (cell formatting and zip
/// compression) is CPU-bound, so they are rendered on as many threads as
/// there are cores; the result keeps the job's team order.
pub fn render_workbooks(run: &Computed<'_>, folder: &RunFolder) -> Result<Vec<Workbook>, RunError> {
    let config = run.config;
    let templates = &config.templates;
    let layouts = render::load_layouts(templates).map_err(layout_errors)?;
    let stock = run.stock;
    let zero_sellers: Vec<_> = crate::compute::kpi::zero_sellers(
        &stock.window,
        &stock.sold_in_window,
        stock.zero_seller_days,
        config.timezone,
    )
    .into_iter()
    .cloned()
    .collect();
    let mut labels: HashMap<Locale, Labels> = HashMap::new();
    let mut work = Vec::new();
    for (team_id, layout_name) in &run.job.teams {
        let Some(team) = config.teams.get(team_id) else {
            continue;
        };
        let layout = layouts.get(layout_name).ok_or_else(|| {
            RunError::Usage(format!(
                "team {team_id}: no report layout {layout_name:?} in {}",
                templates.join("reports").display()
            ))
        })?;
        if let std::collections::hash_map::Entry::Vacant(slot) = labels.entry(team.locale) {
            slot.insert(render::load_labels(templates, team.locale).map_err(layout_errors)?);
        }
        work.push((team_id, team, layout));
    }
    let render_one = |(team_id, team, layout): &(
        &String,
        &crate::config::Team,
        &render::Layout,
    )| {
        let data = ReportData {
            shop: &config.shop,
            job: &run.job.name,
            job_display: &run.job.display_name,
            period: run.period,
            generated_at: run.opts.now,
            team,
            flagged: run.outcome == super::Outcome::Flagged,
            held: run.outcome == super::Outcome::Held,
            kpis: run.kpis,
            comparisons: run.comparison,
            decomposition: run.decomposition,
            checks: run.checks,
            facts: run.facts,
            previous_facts: run.previous_facts,
            history: run.history,
            stock: Some(&stock.window),
            units_by_sku_7d: &stock.units_7d,
            zero_sellers: &zero_sellers,
            tiers: run.tiers,
            max_rows: render::EXCEL_MAX_ROWS,
        };
        let wb = render::render_workbook(layout, &data, &labels[&team.locale], folder.path())
            .map_err(|e| RunError::Render(e.to_string()))?;
        tracing::debug!(team = %team_id, file = %wb.file_name, sheets = wb.sheets.len(), "workbook written");
        Ok(Workbook {
            team: (*team_id).clone(),
            file_name: wb.file_name,
            path: wb.path,
        })
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(work.len());
    if threads <= 1 {
        return work.iter().map(render_one).collect();
    }
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, Result<Workbook, RunError>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = work.get(i) else { break };
                        mine.push((i, render_one(item)));
                    }
                    mine
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| match w.join() {
                Ok(results) => results,
                // A panic in a renderer is a bug; carry it to the caller's
                // thread rather than losing a workbook silently.
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, wb)| wb).collect()
}
