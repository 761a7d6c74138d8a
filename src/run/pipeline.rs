//! The stages of one run, in order. Each step is a small function so the
//! flow reads top to bottom in [`run_job`].

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{Days, NaiveDate};
use tokio_util::sync::CancellationToken;
use tracing::{info, info_span, warn};

use super::ingest::{self, FileReport, IngestOutcome};
use super::summary::{InputJson, Summary};
use super::{Outcome, RunError, RunFolder, RunOptions, facts};
use crate::check::{
    self, CheckInputs, CheckResult, CheckSet, ChecksConfig, DatasetInput, DuplicateKey, InvalidRow,
    Level, RawChecks,
};
use crate::compute::kpi::{
    KpiSet, PeriodFacts, compare, comparisons_to_json, compute_kpis, decompose, kpis_to_json,
    month_to_date_targets,
};
use crate::config::{Config, Job};
use crate::model::Dataset;
use crate::model::facts::StockWindow;
use crate::period::{Period, PeriodKind};
use crate::store::{RowsVersion, Store};

/// What a finished run produced.
#[derive(Debug)]
pub struct JobRun {
    pub job: String,
    pub period: Period,
    pub outcome: Outcome,
    pub folder: PathBuf,
    pub summary: Summary,
}

impl JobRun {
    pub fn exit_code(&self) -> u8 {
        self.outcome.exit_code()
    }
}

/// Runs `job` for `period`, recording the attempt in the ledger.
pub async fn run_job(
    config: &Config,
    job: &Job,
    period: Period,
    opts: &RunOptions,
    cancel: &CancellationToken,
) -> Result<JobRun, RunError> {
    let span = info_span!("run", job = %job.name, period = %period);
    let _enter = span.enter();
    let mut store = open_store(config)?;
    let period_id = period.to_string();
    let attempt = store.next_attempt(&job.name, &period_id)?;
    let run_id = store.begin_run(&job.name, &period_id, attempt, opts.now)?;
    info!(attempt, "run started");
    // The run's commits append to the WAL (up to a bound); one checkpoint
    // after the ingest copies them into the database beside the later
    // stages (see `store::checkpoint`).
    let deferred = !opts.skip_ingest && store.defer_checkpoints().is_ok();
    let result = run_stages(config, job, period, opts, cancel, &mut store).await;
    if deferred && let Err(e) = store.resume_checkpoints() {
        warn!(error = %e, "automatic checkpoints not resumed");
    }
    let (status, error) = match &result {
        Ok(run) => (ledger_status(run.outcome), None),
        Err(RunError::Interrupted) => ("interrupted", Some("interrupted".to_string())),
        Err(e) => ("failed", Some(error_chain(e))),
    };
    store.finish_run(run_id, status, error.as_deref(), chrono::Utc::now())?;
    match &result {
        Ok(run) => {
            info!(status = run.outcome.as_str(), folder = %run.folder.display(), "run finished")
        }
        Err(e) => warn!(error = %error_chain(e), "run failed"),
    }
    result
}

fn ledger_status(o: Outcome) -> &'static str {
    match o {
        Outcome::Success => "success",
        Outcome::Warn => "warn",
        Outcome::Held | Outcome::Flagged => "held",
    }
}

/// The error and its causes on one line, for the ledger.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut last = text.clone();
    let mut cur = e.source();
    while let Some(s) = cur {
        let next = s.to_string();
        // Skip a cause the message already quotes.
        if !last.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        last = next;
        cur = s.source();
    }
    text
}

/// Opens the state file, creating its folder on first use.
pub fn open_store(config: &Config) -> Result<Store, RunError> {
    if let Some(dir) = config.state.parent() {
        std::fs::create_dir_all(dir).map_err(|source| RunError::Output {
            path: dir.display().to_string(),
            source,
        })?;
    }
    Ok(Store::open(&config.state)?)
}

fn check_cancel(cancel: &CancellationToken) -> Result<(), RunError> {
    if cancel.is_cancelled() {
        Err(RunError::Interrupted)
    } else {
        Ok(())
    }
}

/// Logs how long each stage of a run took (`-vv`), so a slow run shows
/// where its time went without a profiler.
struct Stopwatch(std::time::Instant);

impl Stopwatch {
    fn start() -> Stopwatch {
        Stopwatch(std::time::Instant::now())
    }

    fn lap(&mut self, stage: &'static str) {
        let now = std::time::Instant::now();
        let ms = now.duration_since(self.0).as_millis() as u64;
        tracing::debug!(stage, ms, "stage done");
        self.0 = now;
    }
}

async fn run_stages(
    config: &Config,
    job: &Job,
    period: Period,
    opts: &RunOptions,
    cancel: &CancellationToken,
    store: &mut Store,
) -> Result<JobRun, RunError> {
    let mut watch = Stopwatch::start();
    let ingested = if opts.skip_ingest {
        IngestOutcome::default()
    } else {
        super::fetch::fetch_http(config, job, period, opts.now, store, cancel).await?;
        watch.lap("fetch");
        // Ingest everything new up to the period end; problems with files of
        // the period itself stop the run, older ones are reported and skipped.
        ingest::ingest_inbox(config, store, period.last_day(), period.start, cancel)?
    };
    watch.lap("ingest");
    // Dropped, so waited for, when the stages end.
    let _checkpoint = if ingested.files.is_empty() {
        None
    } else {
        store.checkpoint_in_background()
    };
    check_cancel(cancel)?;
    let inputs = dataset_inputs(store, job, period, &ingested)?;
    require_inputs(config, job, period, &inputs)?;

    // Product rows of the period and the one before, read once for the
    // facts of both, when that is a day or a week of them; a month's are
    // read when needed rather than held twice.
    let shared_from = match period.kind() {
        PeriodKind::Month => period.end,
        _ => period.previous().start,
    };
    // Read before any row: snapshots computed from rows read after a
    // concurrent ingest changed them are not stored (see `RowsVersion`).
    let seen = store.rows_version()?;
    // The member tiers (seconds of reading every purchase for a large
    // shop) are evaluated on their own connections beside the facts and
    // comparisons, which use this one; they are stored once both are done.
    let (loaded, tier_result) = std::thread::scope(|s| {
        let span = tracing::Span::current();
        let tiers = job.tiers.then(|| {
            s.spawn(move || span.in_scope(|| super::tiers::evaluate_period(config, period)))
        });
        let loaded = load_and_compare(config, period, shared_from, seen, store);
        let tiers = tiers.map(|h| {
            h.join()
                .unwrap_or_else(|_| Err(RunError::Render("member tiers panicked".into())))
        });
        (loaded, tiers)
    });
    let Loaded {
        facts,
        kpis,
        comparisons,
        comparison,
        decomposition,
    } = loaded?;
    watch.lap("facts, comparisons and tiers");
    let tier_result = tier_result.transpose()?;
    if let Some(t) = &tier_result {
        super::tiers::record(store, &job.name, period, t)?;
    }
    watch.lap("tier levels stored");
    check_cancel(cancel)?;

    let history = history_snapshots(store, config, period, (&facts, &kpis), seen)?;
    // Day and week jobs report month-to-date target completion, summed from
    // the daily snapshots; a month job's own totals already carry them.
    let mut kpis = kpis;
    if period.kind() != PeriodKind::Month {
        kpis.extend(month_to_date_targets(
            &history,
            period.last_day(),
            &facts.targets,
        ));
    }
    let (checks, stock) = run_checks(
        config,
        job,
        period,
        store,
        CheckData {
            facts: &facts,
            kpis: &kpis,
            inputs: &inputs,
            history: &history,
            previous_facts: comparisons.previous_facts.as_ref(),
            tiers: tier_result.as_ref(),
        },
    )?;
    watch.lap("history and checks");
    let worst = check::worst_level(&checks);
    let outcome = match worst {
        Level::Pass => Outcome::Success,
        Level::Warn => Outcome::Warn,
        Level::Fail | Level::Error => match job.on_fail {
            crate::config::OnFail::Hold => Outcome::Held,
            crate::config::OnFail::SendFlagged => Outcome::Flagged,
        },
    };
    check_cancel(cancel)?;

    let mut summary = Summary {
        job: job.name.clone(),
        period: period.into(),
        status: outcome.as_str().to_string(),
        generated_at: opts.now,
        inputs: summary_inputs(&inputs_reports(store, job, period)?),
        kpis: kpis_to_json(&kpis),
        comparisons: comparisons_to_json(&comparison),
        decomposition: decomposition
            .as_ref()
            .map_or(serde_json::Value::Null, |d| d.to_json()),
        checks: serde_json::to_value(&checks).unwrap_or_default(),
        tiers: tier_result
            .as_ref()
            .map(|t| serde_json::to_value(&t.summary).unwrap_or_default()),
        deliveries: Vec::new(),
    };
    let computed = Computed {
        config,
        job,
        period,
        opts,
        outcome,
        facts: &facts,
        previous_facts: comparisons.previous_facts.as_ref(),
        kpis: &kpis,
        comparison: &comparison,
        decomposition: decomposition.as_ref(),
        checks: &checks,
        history: &history,
        tiers: tier_result.as_ref(),
        stock: &stock,
    };

    // Everything is written into a temporary folder first; the outbox
    // holds each message before the folder is committed, and sending
    // happens only after, so a crash at any point loses nothing and sends
    // nothing twice.
    let final_dir = opts
        .out
        .clone()
        .unwrap_or_else(|| config.out.join(&job.name).join(period.to_string()));
    let folder = RunFolder::create(&final_dir)?;
    // member_tiers.csv (millions of rows for a large shop) is written on
    // its own thread beside the workbooks, whose threads rarely keep every
    // core busy to the end.
    let (workbooks, csv) = std::thread::scope(|s| {
        let csv = tier_result
            .as_ref()
            .map(|t| s.spawn(|| super::tiers::write_csv(folder.path(), t)));
        let workbooks = super::report::render_workbooks(&computed, &folder);
        let csv = csv.map(|h| {
            h.join().unwrap_or_else(|_| {
                Err(RunError::Render("member_tiers.csv writer panicked".into()))
            })
        });
        (workbooks, csv)
    });
    let workbooks = workbooks?;
    csv.transpose()?;
    watch.lap("workbooks and member_tiers.csv");
    check_cancel(cancel)?;
    let prepared = super::deliver::prepare(&computed, store, &folder, &workbooks)?;
    summary.deliveries = prepared.deliveries();
    write_summary(folder.path(), &summary)?;
    let path = folder.commit()?;
    watch.lap("outbox and commit");
    let deliveries = super::deliver::send(&computed, store, prepared, cancel).await?;
    if deliveries != summary.deliveries {
        summary.deliveries = deliveries;
        write_summary(&path, &summary)?;
    }
    Ok(JobRun {
        job: job.name.clone(),
        period,
        outcome,
        folder: path,
        summary,
    })
}

/// The period's facts and KPIs and what they are compared with.
struct Loaded {
    facts: PeriodFacts,
    kpis: KpiSet,
    comparisons: ComparisonSets,
    comparison: crate::compute::kpi::Comparisons,
    decomposition: Option<crate::compute::kpi::Decomposition>,
}

/// Loads the period's facts, computes its KPIs (storing a week's or a
/// month's snapshot) and compares them with the periods before.
/// `shared_from` is the first day of the product rows read once for both
/// the period and its comparison.
fn load_and_compare(
    config: &Config,
    period: Period,
    shared_from: NaiveDate,
    seen: RowsVersion,
    store: &mut Store,
) -> Result<Loaded, RunError> {
    let mut products = facts::ProductRows::load(store, shared_from, period.end)?;
    let facts = facts::load_with(store, config, period, Some(&products))?;
    let kpis = if period.kind() == PeriodKind::Month {
        // A month's rows are not shared with the month before (see
        // `shared_from`): the previous month's product rows, which the
        // comparison reads, load on a second connection while the KPIs
        // are computed here.
        let previous = period.previous();
        let (kpis, before) = std::thread::scope(|s| {
            let before = super::reader::spawn(
                s,
                &config.state,
                "previous month's product rows",
                move |reader| facts::ProductRows::load(reader, previous.start, previous.end),
            );
            (compute_kpis(&facts), before.join())
        });
        products = before?;
        kpis
    } else {
        compute_kpis(&facts)
    };
    if period.kind() != PeriodKind::Day {
        facts::keep_period_snapshot(store, period, &kpis, seen)?;
    }
    let comparisons = comparison_sets(store, config, period, products, seen)?;
    let comparison = compare(
        &kpis,
        comparisons.previous.as_ref(),
        comparisons.week_ago.as_ref(),
        comparisons.year_ago.as_ref(),
    );
    let decomposition = comparisons
        .previous
        .as_ref()
        .and_then(|p| decompose(&kpis, p));
    Ok(Loaded {
        facts,
        kpis,
        comparisons,
        comparison,
        decomposition,
    })
}

/// Everything a run computed, as the render and delivery steps read it.
pub(super) struct Computed<'a> {
    pub config: &'a Config,
    pub job: &'a Job,
    pub period: Period,
    pub opts: &'a RunOptions,
    pub outcome: Outcome,
    pub facts: &'a PeriodFacts,
    pub previous_facts: Option<&'a PeriodFacts>,
    pub kpis: &'a KpiSet,
    pub comparison: &'a crate::compute::kpi::Comparisons,
    pub decomposition: Option<&'a crate::compute::kpi::Decomposition>,
    pub checks: &'a [CheckResult],
    pub history: &'a BTreeMap<NaiveDate, KpiSet>,
    pub tiers: Option<&'a crate::compute::tiers::TierResult>,
    pub stock: &'a StockInputs,
}

/// Writes `summary.json` into `dir` through a temporary name, so a reader
/// never sees half of it.
fn write_summary(dir: &std::path::Path, summary: &Summary) -> Result<(), RunError> {
    let json = serde_json::to_vec_pretty(summary).map_err(|e| RunError::Render(e.to_string()))?;
    let tmp = dir.join(".summary.json.tmp");
    let dest = dir.join("summary.json");
    let io = |path: &std::path::Path| {
        let path = path.display().to_string();
        move |source| RunError::Output { path, source }
    };
    std::fs::write(&tmp, &json).map_err(io(&tmp))?;
    std::fs::rename(&tmp, &dest).map_err(io(&dest))?;
    Ok(())
}

/// Whether the periods of a backfill of `job` may run side by side: each
/// evaluation of member tiers compares with the one before it, and an HTTP
/// source is fetched per period before its ingest, so such jobs run one
/// period after another.
pub fn runs_in_parallel(config: &Config, job: &Job) -> bool {
    !job.tiers && !super::fetch::has_http_sources(config, job)
}

/// Ingests the inbox up to the end of a backfill's range once, before its
/// runs (with [`RunOptions::skip_ingest`]) go side by side: runs ingesting
/// the same new files concurrently would each replace the other's days.
/// The ingest drops the snapshots of the days it changed, so the runs
/// compute those days again.
pub fn ingest_for_backfill(
    config: &Config,
    first: Period,
    last: Period,
    cancel: &CancellationToken,
) -> Result<(), RunError> {
    let mut store = open_store(config)?;
    ingest::ingest_inbox(config, &mut store, last.last_day(), first.start, cancel)?;
    Ok(())
}

struct ComparisonSets {
    previous: Option<KpiSet>,
    /// The previous period's product rows (the only facts of it that checks
    /// and sheets read).
    previous_facts: Option<PeriodFacts>,
    week_ago: Option<KpiSet>,
    year_ago: Option<KpiSet>,
}

/// KPIs of the previous period, the same period a week earlier (daily jobs)
/// and a year earlier, each only when the store has data for it.
///
/// Comparisons are snapshots, computed once per day, week or month and kept
/// (dropped when their rows change), so a run loads the facts of its own
/// period only once the periods before it have run.
fn comparison_sets(
    store: &mut Store,
    config: &Config,
    period: Period,
    products: facts::ProductRows,
    seen: RowsVersion,
) -> Result<ComparisonSets, RunError> {
    let mut kpis_of = |p: Period| -> Result<Option<KpiSet>, RunError> {
        if !has_orders(store, p)? {
            return Ok(None);
        }
        if p.kind() == PeriodKind::Day {
            let mut days = facts::daily_snapshots(store, config, &[p.start], None, seen)?;
            return Ok(days.remove(&p.start));
        }
        Ok(Some(facts::period_snapshot(store, config, p, seen)?))
    };
    let previous = kpis_of(period.previous())?;
    let week_ago = match period.kind() {
        PeriodKind::Day => kpis_of(period.weeks_earlier(1))?,
        _ => None,
    };
    let year_ago = kpis_of(period.year_earlier())?;
    let previous_facts = match previous {
        Some(_) => Some(facts::load_products(
            store,
            config,
            period.previous(),
            products,
        )?),
        None => None,
    };
    Ok(ComparisonSets {
        previous,
        previous_facts,
        week_ago,
        year_ago,
    })
}

fn has_orders(store: &Store, p: Period) -> Result<bool, RunError> {
    Ok(!store
        .days_with_rows(Dataset::Orders, p.start, p.end)?
        .is_empty())
}

/// Daily snapshots for the 30 days up to the period end (trend charts) and
/// the 7 days before the period (trailing baselines).
fn history_snapshots(
    store: &mut Store,
    config: &Config,
    period: Period,
    current: (&PeriodFacts, &KpiSet),
    seen: RowsVersion,
) -> Result<BTreeMap<NaiveDate, KpiSet>, RunError> {
    // 30 days for trends, 8 before the start for trailing baselines, and the
    // whole month for month-to-date targets.
    let month_start = Period::month_of(period.last_day()).start;
    let first = (period.end - Days::new(30))
        .min(period.start - Days::new(8))
        .min(month_start);
    let days = store.days_with_rows(Dataset::Orders, first, period.end)?;
    // A day job has just computed its own day: that is the day's snapshot.
    let own = (period.kind() == PeriodKind::Day).then_some(current);
    facts::daily_snapshots(store, config, &days, own, seen)
}

/// The file reports of every dataset the job reads, dated inside the period.
fn inputs_reports(store: &Store, job: &Job, period: Period) -> Result<Vec<FileReport>, RunError> {
    let mut out = Vec::new();
    for (d, _) in job.datasets() {
        for (_, json) in store.file_reports(d, period.start, period.end)? {
            if let Ok(r) = serde_json::from_str::<FileReport>(&json) {
                out.push(r);
            }
        }
    }
    Ok(out)
}

fn summary_inputs(reports: &[FileReport]) -> Vec<InputJson> {
    reports
        .iter()
        .map(|r| InputJson {
            dataset: r.dataset.clone(),
            file: r.file.clone(),
            sha256: r.sha256.clone(),
            rows: r.rows,
            rejected: r.rejected,
        })
        .collect()
}

/// What the data checks need to know about each dataset of the job.
fn dataset_inputs(
    store: &Store,
    job: &Job,
    period: Period,
    _ingested: &IngestOutcome,
) -> Result<Vec<DatasetInput>, RunError> {
    let mut out = Vec::new();
    for (dataset, required) in job.datasets() {
        if dataset == Dataset::Targets {
            continue;
        }
        let reports: Vec<FileReport> = store
            .file_reports(dataset, period.start, period.end)?
            .into_iter()
            .filter_map(|(_, j)| serde_json::from_str(&j).ok())
            .collect();
        let counts = store.row_counts_by_day(dataset, period.start - Days::new(7), period.end)?;
        let in_period: u64 = counts
            .iter()
            .filter(|(d, _)| period.contains(**d))
            .map(|(_, n)| *n)
            .sum();
        // Days with no export are left out of the baseline rather than
        // counted as 0: a shop's first week must not drag the median down
        // so far that a partial export passes.
        let trailing_counts: Vec<u64> = (1..=7)
            .filter_map(|i| counts.get(&(period.start - Days::new(i))).copied())
            .filter(|n| *n > 0)
            .collect();
        let mut input = DatasetInput {
            dataset,
            required,
            present: !reports.is_empty() || in_period > 0,
            files: reports.iter().map(|r| r.file.clone()).collect(),
            records: in_period,
            missing_columns: Vec::new(),
            invalid: Vec::new(),
            duplicate_keys: Vec::new(),
            rows_outside_period: reports.iter().map(|r| r.outside_date).sum(),
            row_count_today: match period.kind() {
                PeriodKind::Day => in_period,
                _ => in_period / period.days().max(1) as u64,
            },
            trailing_counts,
        };
        for r in &reports {
            input.invalid.extend(r.invalid.iter().map(|s| InvalidRow {
                file: r.file.clone(),
                row: s.row,
                column: s.column.clone(),
                reason: s.reason.clone(),
            }));
            input
                .duplicate_keys
                .extend(r.duplicates.iter().map(|s| DuplicateKey {
                    file: r.file.clone(),
                    row: s.row,
                    key: s.value.clone(),
                    first_row: 0,
                }));
        }
        out.push(input);
    }
    Ok(out)
}

/// A required dataset with no rows for the period stops the run (exit 3).
fn require_inputs(
    config: &Config,
    job: &Job,
    period: Period,
    inputs: &[DatasetInput],
) -> Result<(), RunError> {
    if let Some(input) = inputs.iter().find(|i| i.required && !i.present) {
        let dataset = input.dataset.name();
        let pattern = config.dataset(input.dataset).pattern.clone();
        return Err(RunError::MissingInput {
            dataset: dataset.to_string(),
            message: format!(
                "no export for {period} in {} (pattern {pattern:?}); job {} requires it",
                config.inbox.display(),
                job.name
            ),
        });
    }
    Ok(())
}

/// What the checks read, computed by the earlier steps.
struct CheckData<'a> {
    facts: &'a PeriodFacts,
    kpis: &'a KpiSet,
    inputs: &'a [DatasetInput],
    history: &'a BTreeMap<NaiveDate, KpiSet>,
    previous_facts: Option<&'a PeriodFacts>,
    tiers: Option<&'a crate::compute::tiers::TierResult>,
}

fn run_checks(
    config: &Config,
    job: &Job,
    period: Period,
    store: &Store,
    d: CheckData<'_>,
) -> Result<(Vec<CheckResult>, StockInputs), RunError> {
    let raw: RawChecks =
        toml::Value::Table(job.checks.clone())
            .try_into()
            .map_err(|e: toml::de::Error| {
                RunError::Usage(format!("{}: checks: {e}", job.file.display()))
            })?;
    let cfg = ChecksConfig::build(&raw).map_err(|errs| {
        RunError::Usage(
            errs.iter()
                .map(|e| format!("{}: {e}", job.file.display()))
                .collect::<Vec<_>>()
                .join("; "),
        )
    })?;
    let stock = StockInputs::load(store, config, period, cfg.zero_seller_days())?;
    let mut ci = CheckInputs::new(d.facts, d.kpis, d.inputs);
    ci.zh = config.locale == crate::config::Locale::ZhCn;
    ci.history = d.history;
    ci.stock = Some(&stock.window);
    ci.sold_in_window = Some(&stock.sold_in_window);
    ci.previous_facts = d.previous_facts;
    if job.datasets().any(|(ds, _)| ds == Dataset::Members) && period.kind() == PeriodKind::Month {
        ci.members = Some(super::tiers::member_growth(store, config, period)?);
    }
    if let Some(t) = d.tiers {
        let (changes, cycle) = super::tiers::check_inputs(t);
        ci.tier_changes = Some(changes);
        ci.repurchase = Some(cycle);
    }
    let set = CheckSet::for_period(period.kind());
    let results = check::run_checks(&set, &cfg, &ci);
    Ok((results, stock))
}

/// Stock and sales inputs the checks and the warehouse sheets share,
/// loaded once per run.
pub(super) struct StockInputs {
    /// Where stock stands at the period end (products export).
    pub window: StockWindow,
    /// Units sold per SKU over the 7 days up to the period end, from order
    /// lines (for SKUs whose product rows carry no unit counts).
    pub units_7d: std::collections::HashMap<String, i64>,
    /// SKUs of the window's last day, online with stock, that sold in the
    /// zero-seller window (products export).
    pub sold_in_window: std::collections::HashSet<String>,
    /// Length of that window in days (`checks.zero_sellers.days`, 90).
    pub zero_seller_days: u32,
}

impl StockInputs {
    fn load(
        store: &Store,
        config: &Config,
        period: Period,
        zero_seller_days: u32,
    ) -> Result<StockInputs, RunError> {
        let recent_start = period.end - Days::new(StockWindow::DAYS);
        let window_start = period.end - Days::new(u64::from(zero_seller_days));
        let window = store.stock_window(recent_start, period.end)?;
        // Zero sellers are the last day's SKUs online with stock: only
        // those need to know whether they sold.
        let skus = window.online_with_stock().map(|p| p.sku_id.as_str());
        let sold_in_window = store.skus_sold_between(skus, window_start, period.end)?;
        Ok(StockInputs {
            units_7d: facts::units_by_sku(store, config, recent_start, period.end)?,
            window,
            sold_in_window,
            zero_seller_days,
        })
    }
}
