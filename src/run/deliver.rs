//! The delivery step of a run: compose each team's email, store it in the
//! durable outbox, then send it (or, with `delivery = "outbox-only"`, write
//! it as `mail/<team>.eml` in the run folder).
//!
//! The step is split in two around the commit of the run folder. `prepare`
//! runs while the folder is still temporary: it renders every message and
//! stores it in the outbox, so a crash after that point loses nothing and
//! the next run or `outbox flush` finds the message waiting. `send` runs
//! after the commit and only talks to the SMTP server; a message it cannot
//! get accepted stays in the outbox and the run exits 4. A held run sends no
//! team mail; its owners get a failure alert instead, stored the same way.

use std::path::{Path, PathBuf};

use chrono::Utc;
use lettre::message::Mailbox;
use rust_decimal::Decimal;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::pipeline::Computed;
use super::report::Workbook;
use super::summary::DeliveryJson;
use super::{Outcome, RunError, RunFolder};
use crate::check::{CheckResult, Level};
use crate::compute::kpi::{KpiKind, KpiValue, kpi_def};
use crate::config::{Config, ConfigErrors, DeliveryMode, Job, Locale};
use crate::deliver::{
    Addressing, AlertKind, Attachment, Backoff, CheckLevel, ComposeOptions, ComposedEmail,
    DeliverError, Direction, EmailCheck, EmailContext, EmailTemplates, EnqueueMode, Enqueued, Kpi,
    NewMessage, Outbox, OutboxStatus, OwnerAlertContext, SendOutcome, SmtpConfig, SmtpConfigRaw,
    SmtpMailer, compose_owner_alert, compose_report, send_with_retry, write_eml,
};
use crate::period::Period;
use crate::store::Store;

/// The figures every report email leads with, in this order.
pub const HEADLINE_KPIS: [&str; 6] = [
    "gross_sales",
    "paying_buyers",
    "conversion_rate",
    "aov",
    "visitors",
    "net_sales",
];

/// The largest attachment carried when no `[smtp]` section says otherwise.
const DEFAULT_MAX_ATTACHMENT_BYTES: u64 = 20_000_000;

/// Messages composed and stored for this run, not yet sent.
#[derive(Debug, Default)]
pub struct Prepared {
    deliveries: Vec<DeliveryJson>,
    /// (index into `deliveries`, outbox id) of each message `send` sends.
    pending: Vec<(usize, i64)>,
    smtp: Option<SmtpConfig>,
    /// The committed run folder, where `summary.json` is rewritten when
    /// sending fails.
    folder: PathBuf,
}

impl Prepared {
    /// The delivery records as they stand before sending.
    pub fn deliveries(&self) -> Vec<DeliveryJson> {
        self.deliveries.clone()
    }
}

/// Composes and stores every team's message (nothing leaves the machine).
pub fn prepare(
    run: &Computed<'_>,
    store: &mut Store,
    folder: &RunFolder,
    workbooks: &[Workbook],
) -> Result<Prepared, RunError> {
    let config = run.config;
    let job = run.job;
    let period = run.period.to_string();
    let smtp = smtp_config(config)?;
    let templates = load_templates(config)?;
    let from = sender(config, smtp.as_ref());
    let options = ComposeOptions {
        now: run.opts.now,
        max_attachment_bytes: smtp
            .as_ref()
            .map_or(DEFAULT_MAX_ATTACHMENT_BYTES, |s| s.max_attachment_bytes),
    };
    let mode = enqueue_mode(config);
    // Nothing is stored on a dry run or with --no-send; a held run stores
    // only the owners' alert.
    let store_mail = !run.opts.dry_run && !run.opts.no_send;
    let held = run.outcome == Outcome::Held;
    let run_folder = folder.final_path().display().to_string();
    let outbox = Outbox::new(store.connection());
    let mut prepared = Prepared {
        smtp,
        folder: folder.final_path().to_path_buf(),
        ..Prepared::default()
    };

    for team_id in job.teams.keys() {
        let team = config.teams.get(team_id).ok_or_else(|| {
            RunError::Usage(format!(
                "{}: teams: job {} names team {team_id:?}, which is not configured",
                job.file.display(),
                job.name
            ))
        })?;
        let workbook = workbooks.iter().find(|w| &w.team == team_id);
        let attachment = match workbook {
            Some(w) => Some(Attachment {
                file_name: w.file_name.clone(),
                bytes: std::fs::read(&w.path).map_err(|source| RunError::Output {
                    path: w.path.display().to_string(),
                    source,
                })?,
            }),
            None => None,
        };
        let ctx = EmailContext {
            shop: config.shop.clone(),
            job: job.name.clone(),
            job_name: job.display_name.clone(),
            period: period.clone(),
            team: team_id.clone(),
            team_name: team.name.clone(),
            locale: team.locale.as_str().to_string(),
            kpis: headline_kpis(run, team.locale),
            checks: email_checks(run.checks),
            flagged: run.outcome == Outcome::Flagged,
            notes: Vec::new(),
            attachment,
            run_folder: Some(run_folder.clone()),
        };
        let addressing = Addressing {
            from: from.clone(),
            to: team.recipients.clone(),
            cc: team.cc.clone(),
        };
        let email = compose_report(&templates, &ctx, &addressing, &options)
            .map_err(|e| compose_error(config, &templates, e))?;
        let mut record = DeliveryJson {
            team: team_id.clone(),
            to: email.recipients.clone(),
            attachment: email.attachment_name.clone(),
            status: String::new(),
        };
        record.status = if run.opts.dry_run {
            info!(team = %team_id, subject = %email.subject, to = %email.recipients.join(", "), "dry run: would send");
            "dry-run".into()
        } else if held {
            "held".into()
        } else if !store_mail {
            "not-sent".into()
        } else {
            store_message(
                &outbox,
                &mut prepared,
                folder,
                mode,
                run.opts.resend,
                (&job.name, &period, team_id),
                &email,
            )?
        };
        prepared.deliveries.push(record);
    }

    if held {
        if job.owners.is_empty() {
            warn!(job = %job.name, "run held, but the job has no owners to alert");
        } else {
            let ctx = OwnerAlertContext {
                kind: AlertKind::Failure,
                shop: config.shop.clone(),
                job: job.name.clone(),
                job_name: job.display_name.clone(),
                period: period.clone(),
                locale: config.locale.as_str().to_string(),
                status: run.outcome.as_str().to_string(),
                error: None,
                checks: email_checks(run.checks),
                run_folder: Some(run_folder.clone()),
            };
            let addressing = Addressing {
                from: from.clone(),
                to: job.owners.clone(),
                cc: Vec::new(),
            };
            let email = compose_owner_alert(&templates, &ctx, &addressing, &options)
                .map_err(|e| compose_error(config, &templates, e))?;
            let key = AlertKind::Failure.outbox_key();
            let status = if run.opts.dry_run {
                "dry-run".to_string()
            } else if !store_mail {
                "not-sent".to_string()
            } else {
                store_message(
                    &outbox,
                    &mut prepared,
                    folder,
                    mode,
                    run.opts.resend,
                    (&job.name, &period, key),
                    &email,
                )?
            };
            prepared.deliveries.push(DeliveryJson {
                team: key.to_string(),
                to: email.recipients.clone(),
                attachment: None,
                status,
            });
        }
    }
    Ok(prepared)
}

/// Stores one message in the outbox (and, outbox-only, in the run folder);
/// returns its delivery status.
fn store_message(
    outbox: &Outbox<'_>,
    prepared: &mut Prepared,
    folder: &RunFolder,
    mode: EnqueueMode,
    resend: bool,
    (job, period, key): (&str, &str, &str),
    email: &ComposedEmail,
) -> Result<String, RunError> {
    let enqueued = outbox
        .enqueue(
            &NewMessage::from_composed(job, period, key, email),
            mode,
            resend,
        )
        .map_err(delivery_error)?;
    if mode == EnqueueMode::StoreOnly {
        // The run folder is rewritten on every run, so its copy of the
        // message is written whether or not the outbox already had one.
        write_eml(folder.path(), key, &email.eml).map_err(delivery_error)?;
        return Ok("written".into());
    }
    Ok(match enqueued {
        Enqueued::New { id } => {
            prepared.pending.push((prepared.deliveries.len(), id));
            "queued".into()
        }
        Enqueued::Duplicate {
            status: OutboxStatus::Sent,
            ..
        } => "skipped".into(),
        // Stored earlier and never accepted by the server (a run that could
        // not reach it, or was killed while sending): this run sends it.
        Enqueued::Duplicate { id, .. } => {
            prepared.pending.push((prepared.deliveries.len(), id));
            "queued".into()
        }
    })
}

/// Sends what `prepare` stored; returns the final delivery records.
pub async fn send(
    run: &Computed<'_>,
    store: &mut Store,
    prepared: Prepared,
    cancel: &CancellationToken,
) -> Result<Vec<DeliveryJson>, RunError> {
    let Prepared {
        mut deliveries,
        pending,
        smtp,
        folder,
    } = prepared;
    if pending.is_empty() || run.config.delivery != DeliveryMode::Smtp {
        return Ok(deliveries);
    }
    // `prepare` builds the SMTP config whenever delivery is smtp.
    let Some(smtp) = smtp else {
        return Ok(deliveries);
    };
    let outbox = Outbox::new(store.connection());
    let mailer = SmtpMailer::new(&smtp).map_err(delivery_error)?;
    let backoff = Backoff::new(smtp.retry);
    let mut problems = Vec::new();
    let mut interrupted = false;
    for &(index, id) in &pending {
        if cancel.is_cancelled() {
            interrupted = true;
            break;
        }
        let record = &mut deliveries[index];
        match send_with_retry(&outbox, &mailer, id, &backoff).await {
            Ok(SendOutcome::Sent { .. }) => record.status = "sent".into(),
            Ok(SendOutcome::AlreadySent { .. }) => record.status = "skipped".into(),
            Err(e @ (DeliverError::Store { .. } | DeliverError::NotFound { .. })) => {
                return Err(delivery_error(e));
            }
            Err(e) => {
                record.status = if e.is_transient() { "queued" } else { "failed" }.into();
                problems.push(format!("{}: {}", record.team, e.chain_text()));
            }
        }
    }
    if problems.is_empty() && !interrupted {
        return Ok(deliveries);
    }
    rewrite_deliveries(&folder, &deliveries)?;
    if interrupted {
        return Err(RunError::Interrupted);
    }
    Err(RunError::Delivery(format!(
        "{} of {} messages not sent ({}); they stay in the outbox, `storepulse outbox flush` sends them",
        problems.len(),
        pending.len(),
        problems.join("; ")
    )))
}

/// Sends a failure or recovery alert to the job's owners: composed, stored
/// in the outbox (once per job, period and kind), and with
/// `delivery = "smtp"` sent at once.
pub async fn notify_owners(
    config: &Config,
    job: &Job,
    period: Period,
    kind: AlertKind,
    error: Option<String>,
) -> Result<(), RunError> {
    if job.owners.is_empty() {
        warn!(job = %job.name, "no owners to notify");
        return Ok(());
    }
    let smtp = smtp_config(config)?;
    let templates = load_templates(config)?;
    let period_id = period.to_string();
    let run_folder = config.out.join(&job.name).join(&period_id);
    let ctx = OwnerAlertContext {
        kind,
        shop: config.shop.clone(),
        job: job.name.clone(),
        job_name: job.display_name.clone(),
        period: period_id.clone(),
        locale: config.locale.as_str().to_string(),
        status: match kind {
            AlertKind::Failure => "failed",
            AlertKind::Recovery => "success",
        }
        .to_string(),
        error,
        checks: Vec::new(),
        run_folder: run_folder
            .is_dir()
            .then(|| run_folder.display().to_string()),
    };
    let addressing = Addressing {
        from: sender(config, smtp.as_ref()),
        to: job.owners.clone(),
        cc: Vec::new(),
    };
    let options = ComposeOptions {
        now: Utc::now(),
        max_attachment_bytes: DEFAULT_MAX_ATTACHMENT_BYTES,
    };
    let email = compose_owner_alert(&templates, &ctx, &addressing, &options)
        .map_err(|e| compose_error(config, &templates, e))?;
    let store = super::open_store(config)?;
    let outbox = Outbox::new(store.connection());
    let key = kind.outbox_key();
    let enqueued = outbox
        .enqueue(
            &NewMessage::from_composed(&job.name, &period_id, key, &email),
            enqueue_mode(config),
            false,
        )
        .map_err(delivery_error)?;
    let id = match enqueued {
        Enqueued::New { id } => id,
        Enqueued::Duplicate { status, .. } if !status.is_pending() => return Ok(()),
        Enqueued::Duplicate { id, .. } => id,
    };
    let Some(smtp) = smtp.filter(|_| config.delivery == DeliveryMode::Smtp) else {
        return Ok(());
    };
    let mailer = SmtpMailer::new(&smtp).map_err(delivery_error)?;
    send_with_retry(&outbox, &mailer, id, &Backoff::new(smtp.retry))
        .await
        .map(|_| ())
        .map_err(|e| RunError::Delivery(format!("{key}: {}", e.chain_text())))
}

/// Checks the `[smtp]` section and the email templates, recording every
/// problem with its file and key (`storepulse validate`).
pub fn validate_delivery(config: &Config, errors: &mut ConfigErrors) {
    if let Some(table) = &config.smtp {
        let raw: Option<SmtpConfigRaw> =
            crate::config::section::deserialize(table, &config.file, "smtp", errors);
        // With outbox-only delivery an [smtp] section may be partly filled
        // in, ready for later; only its keys are checked then.
        if let Some(Err(problems)) = raw
            .filter(|_| config.delivery == DeliveryMode::Smtp)
            .map(|raw| raw.build(config.dir()))
        {
            for p in problems {
                errors.push(&config.file, p.key, p.message);
            }
        }
    }
    let dir = config.templates.join("email");
    for problem in EmailTemplates::problems(&dir) {
        let (file, message) = template_problem(&dir, &problem);
        errors.push(&file, "", message);
    }
}

/// The resolved `[smtp]` section when delivery is smtp (`None` with
/// outbox-only); an incomplete one is a configuration error (exit 2).
pub fn smtp_config(config: &Config) -> Result<Option<SmtpConfig>, RunError> {
    if config.delivery != DeliveryMode::Smtp {
        return Ok(None);
    }
    let mut errors = ConfigErrors::default();
    let table = config.smtp.clone().unwrap_or_default();
    let raw: Option<SmtpConfigRaw> =
        crate::config::section::deserialize(&table, &config.file, "smtp", &mut errors);
    let built = raw.and_then(|raw| match raw.build(config.dir()) {
        Ok(c) => Some(c),
        Err(problems) => {
            for p in problems {
                errors.push(&config.file, p.key, p.message);
            }
            None
        }
    });
    match built {
        Some(c) if errors.is_empty() => Ok(Some(c)),
        _ => Err(RunError::Config(errors)),
    }
}

fn load_templates(config: &Config) -> Result<EmailTemplates, RunError> {
    let dir = config.templates.join("email");
    EmailTemplates::load(&dir).map_err(|e| {
        let mut errors = ConfigErrors::default();
        let (file, message) = template_problem(&dir, &e);
        errors.push(&file, "", message);
        RunError::Config(errors)
    })
}

/// The file a template problem is about and what is wrong with it.
fn template_problem(dir: &Path, e: &DeliverError) -> (PathBuf, String) {
    match e {
        DeliverError::TemplateMissing { name, .. } => {
            (dir.join(name), "missing email template".to_string())
        }
        DeliverError::Template { name, source } => {
            let mut text = source.to_string();
            if let Some(detail) = source.detail() {
                text.push_str(": ");
                text.push_str(detail);
            }
            (dir.join(name), text)
        }
        other => (dir.to_path_buf(), other.chain_text()),
    }
}

/// Composition fails on a template or an address, both of which the user
/// fixes in config; anything else is reported as a delivery problem.
fn compose_error(config: &Config, templates: &EmailTemplates, e: DeliverError) -> RunError {
    match &e {
        DeliverError::Template { .. } | DeliverError::TemplateMissing { .. } => {
            let mut errors = ConfigErrors::default();
            let (file, message) = template_problem(templates.dir(), &e);
            errors.push(&file, "", message);
            RunError::Config(errors)
        }
        DeliverError::Address { field, .. } => {
            let mut errors = ConfigErrors::default();
            errors.push(&config.file, format!("teams.{field}"), e.chain_text());
            RunError::Config(errors)
        }
        _ => delivery_error(e),
    }
}

fn delivery_error(e: DeliverError) -> RunError {
    RunError::Delivery(e.chain_text())
}

fn enqueue_mode(config: &Config) -> EnqueueMode {
    match config.delivery {
        DeliveryMode::Smtp => EnqueueMode::Send,
        DeliveryMode::OutboxOnly => EnqueueMode::StoreOnly,
    }
}

/// `[smtp].from` when delivery is smtp; with outbox-only, the same address
/// when one is written there (so the stored messages already carry it),
/// else `storepulse <storepulse@localhost>`.
fn sender(config: &Config, smtp: Option<&SmtpConfig>) -> Mailbox {
    if let Some(s) = smtp {
        return s.from.clone();
    }
    let table = config.smtp.as_ref();
    let from = table
        .and_then(|t| t.get("from"))
        .and_then(|v| v.as_str())
        .and_then(|f| f.trim().parse::<lettre::Address>().ok());
    match from {
        Some(address) => {
            let name = table
                .and_then(|t| t.get("from_name"))
                .and_then(|v| v.as_str())
                .filter(|n| !n.trim().is_empty())
                .map(str::to_string);
            Mailbox::new(name, address)
        }
        None => Addressing::default_sender(),
    }
}

/// Writes the final delivery records into the committed `summary.json`
/// when the run ends with an error after the commit (the pipeline rewrites
/// it itself on success).
fn rewrite_deliveries(folder: &Path, deliveries: &[DeliveryJson]) -> Result<(), RunError> {
    let path = folder.join("summary.json");
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| RunError::Output { path, source }
    };
    let text = std::fs::read(&path).map_err(io(&path))?;
    let mut json: serde_json::Value = serde_json::from_slice(&text)
        .map_err(|e| RunError::Render(format!("{}: {e}", path.display())))?;
    json["deliveries"] =
        serde_json::to_value(deliveries).map_err(|e| RunError::Render(e.to_string()))?;
    let bytes = serde_json::to_vec_pretty(&json).map_err(|e| RunError::Render(e.to_string()))?;
    let tmp = folder.join(".summary.json.tmp");
    std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(io(&path))?;
    Ok(())
}

/// Every check result as the email shows it (pass-level ones are dropped
/// by composition).
fn email_checks(checks: &[CheckResult]) -> Vec<EmailCheck> {
    checks
        .iter()
        .map(|c| EmailCheck {
            level: match c.level {
                Level::Pass => CheckLevel::Pass,
                Level::Warn => CheckLevel::Warn,
                Level::Fail => CheckLevel::Fail,
                Level::Error => CheckLevel::Error,
            },
            title: c.title.clone(),
            message: c.message.clone(),
        })
        .collect()
}

/// The headline figures with their change against the previous period,
/// labelled in the team's language.
fn headline_kpis(run: &Computed<'_>, locale: Locale) -> Vec<Kpi> {
    HEADLINE_KPIS
        .iter()
        .filter_map(|id| {
            let def = kpi_def(id)?;
            let value = run.kpis.get(*id).unwrap_or(&KpiValue::Missing);
            let change = run.comparison.get(*id).and_then(|c| c.change);
            Some(headline(def.kind, label(def, locale), value, change))
        })
        .collect()
}

fn label(def: &crate::compute::kpi::KpiDef, locale: Locale) -> String {
    match locale {
        Locale::En => def.en.to_string(),
        Locale::ZhCn => def.zh.to_string(),
    }
}

/// One formatted headline figure.
pub(crate) fn headline(
    kind: KpiKind,
    label: String,
    value: &KpiValue,
    change: Option<Decimal>,
) -> Kpi {
    let (change_text, direction) = match change {
        None => (String::new(), Direction::None),
        Some(c) => {
            let pct = (c * Decimal::ONE_HUNDRED).round_dp(1);
            if pct.is_zero() {
                ("0.0%".to_string(), Direction::Flat)
            } else if pct.is_sign_positive() {
                (format!("+{pct:.1}%"), Direction::Up)
            } else {
                (format!("{pct:.1}%"), Direction::Down)
            }
        }
    };
    Kpi {
        label,
        value_text: format_value(kind, value),
        change_text,
        direction,
    }
}

/// A KPI value as a manager reads it: `¥12,345.67`, `1,234`, `4.25%`.
pub(crate) fn format_value(kind: KpiKind, value: &KpiValue) -> String {
    let Some(d) = value.as_decimal() else {
        return "—".to_string();
    };
    match kind {
        KpiKind::Money if d.is_sign_negative() && !d.round_dp(2).is_zero() => {
            format!("-¥{}", group(d.abs().round_dp(2), 2))
        }
        KpiKind::Money => format!("¥{}", group(d.abs().round_dp(2), 2)),
        KpiKind::Count => group(d.round_dp(0), 0),
        KpiKind::Ratio => format!("{:.2}%", (d * Decimal::ONE_HUNDRED).round_dp(2)),
        KpiKind::Number => group(d.round_dp(2), 2),
        KpiKind::Seconds => format!("{:.1} s", d.round_dp(1)),
    }
}

/// `d` with `dp` decimals and a comma between thousands.
fn group(d: Decimal, dp: usize) -> String {
    let text = format!("{:.*}", dp, d.abs());
    let (int, frac) = match text.split_once('.') {
        Some((i, f)) => (i.to_string(), Some(f.to_string())),
        None => (text.clone(), None),
    };
    let mut out = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(&f);
    }
    if d.is_sign_negative() && !d.is_zero() {
        out.insert(0, '-');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn values_are_formatted_per_kind() {
        let money = KpiValue::Money(dec("101524.6"));
        assert_eq!(format_value(KpiKind::Money, &money), "¥101,524.60");
        let aov = KpiValue::Money(dec("316.27601246105919003115264798"));
        assert_eq!(format_value(KpiKind::Money, &aov), "¥316.28");
        assert_eq!(
            format_value(KpiKind::Count, &KpiValue::Count(7553)),
            "7,553"
        );
        assert_eq!(format_value(KpiKind::Count, &KpiValue::Count(321)), "321");
        assert_eq!(
            format_value(KpiKind::Count, &KpiValue::Count(1_234_567)),
            "1,234,567"
        );
        let rate = KpiValue::Ratio(dec("0.04249966900569311"));
        assert_eq!(format_value(KpiKind::Ratio, &rate), "4.25%");
        assert_eq!(
            format_value(KpiKind::Money, &KpiValue::Money(dec("-1234.5"))),
            "-¥1,234.50"
        );
        assert_eq!(format_value(KpiKind::Money, &KpiValue::Missing), "—");
    }

    #[test]
    fn change_is_relative_with_direction() {
        let v = KpiValue::Count(10);
        let up = headline(KpiKind::Count, "x".into(), &v, Some(dec("0.0523")));
        assert_eq!(
            (up.change_text.as_str(), up.direction),
            ("+5.2%", Direction::Up)
        );
        let down = headline(KpiKind::Count, "x".into(), &v, Some(dec("-0.0016840")));
        assert_eq!(
            (down.change_text.as_str(), down.direction),
            ("-0.2%", Direction::Down)
        );
        let flat = headline(KpiKind::Count, "x".into(), &v, Some(dec("0.0004")));
        assert_eq!(
            (flat.change_text.as_str(), flat.direction),
            ("0.0%", Direction::Flat)
        );
        let none = headline(KpiKind::Count, "x".into(), &v, None);
        assert_eq!(
            (none.change_text.as_str(), none.direction),
            ("", Direction::None)
        );
    }

    use std::collections::BTreeMap;
    use std::path::Path;

    use chrono::TimeZone;

    use crate::compute::kpi::{Comparison, Comparisons, KpiSet, PeriodFacts};
    use crate::config::Override;
    use crate::run::RunOptions;

    struct Fixture {
        dir: tempfile::TempDir,
        config: Config,
    }

    fn fixture(sets: &[&str]) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        std::fs::copy(
            root.join("storepulse.toml"),
            dir.path().join("storepulse.toml"),
        )
        .unwrap();
        for sub in ["jobs", "templates/email"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
            for e in std::fs::read_dir(root.join(sub)).unwrap() {
                let e = e.unwrap();
                std::fs::copy(e.path(), dir.path().join(sub).join(e.file_name())).unwrap();
            }
        }
        let mut overrides: Vec<Override> = vec![
            format!(
                "targets.file={}",
                root.join("sample-data/targets.csv").display()
            )
            .parse()
            .unwrap(),
        ];
        overrides.extend(sets.iter().map(|s| s.parse::<Override>().unwrap()));
        let config = crate::config::load(&dir.path().join("storepulse.toml"), &overrides).unwrap();
        Fixture { dir, config }
    }

    /// Runs `prepare` for daily-ops 2026-11-22 with two KPIs, one warning
    /// and a stub workbook for the ops team.
    fn prepare_with(
        f: &Fixture,
        outcome: Outcome,
        opts: RunOptions,
    ) -> (Prepared, RunFolder, Store, Vec<u8>) {
        let config = &f.config;
        let job = config.job("daily-ops").unwrap();
        let period: Period = "2026-11-22".parse().unwrap();
        let facts = PeriodFacts::empty(period, config.timezone);
        let mut kpis = KpiSet::new();
        kpis.insert("gross_sales".into(), KpiValue::Money(dec("1234.5")));
        kpis.insert("visitors".into(), KpiValue::Count(100));
        let mut comparison = Comparisons::new();
        comparison.insert(
            "gross_sales".into(),
            Comparison {
                previous: Some(KpiValue::Money(dec("1122.27"))),
                change: Some(dec("0.1")),
                week_ago: None,
                year_ago: None,
            },
        );
        let mut checks = vec![CheckResult::error("ads_roi", "推广ROI", "x")];
        checks[0].level = Level::Warn;
        checks[0].message = "ROI 0.72 低于 1".into();
        let history = BTreeMap::new();
        let stock = super::super::pipeline::StockInputs {
            window: Default::default(),
            units_7d: Default::default(),
            sold_in_window: Default::default(),
            zero_seller_days: 90,
        };
        let computed = Computed {
            config,
            job,
            period,
            opts: &opts,
            outcome,
            facts: &facts,
            previous_facts: None,
            kpis: &kpis,
            comparison: &comparison,
            decomposition: None,
            checks: &checks,
            history: &history,
            tiers: None,
            stock: &stock,
        };
        let folder = RunFolder::create(&f.dir.path().join("out/daily-ops/2026-11-22")).unwrap();
        let bytes = b"PK\x03\x04 stub workbook \xe8\xbf\x90".to_vec();
        let path = folder.path().join("运营_日报_2026-11-22.xlsx");
        std::fs::write(&path, &bytes).unwrap();
        let workbook = Workbook {
            team: "ops".into(),
            file_name: "运营_日报_2026-11-22.xlsx".into(),
            path,
        };
        let mut store = Store::open(&f.dir.path().join("state.db")).unwrap();
        let prepared = prepare(&computed, &mut store, &folder, &[workbook]).unwrap();
        (prepared, folder, store, bytes)
    }

    fn opts() -> RunOptions {
        RunOptions::new(Utc.with_ymd_and_hms(2026, 11, 23, 0, 30, 0).unwrap())
    }

    /// Parses one message with tests/smtp/check.py, as a mail client would.
    fn parse(eml: &Path, out: &Path) -> serde_json::Value {
        let spool = out.join("spool");
        std::fs::create_dir_all(&spool).unwrap();
        std::fs::copy(eml, spool.join("0001.eml")).unwrap();
        std::fs::write(spool.join("0001.json"), "{}").unwrap();
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let output = std::process::Command::new("python3")
            .arg(root.join("tests/smtp/check.py"))
            .arg(&spool)
            .arg(out.join("parsed"))
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let list: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        list[0].clone()
    }

    #[test]
    fn outbox_only_stores_every_team_and_attaches_the_teams_workbook() {
        let f = fixture(&[]);
        let (prepared, folder, store, bytes) = prepare_with(&f, Outcome::Warn, opts());
        let deliveries = prepared.deliveries();
        let teams: Vec<(&str, &str, Option<&str>)> = deliveries
            .iter()
            .map(|d| (d.team.as_str(), d.status.as_str(), d.attachment.as_deref()))
            .collect();
        assert_eq!(
            teams,
            vec![
                ("design", "written", None),
                ("management", "written", None),
                ("marketing", "written", None),
                ("ops", "written", Some("运营_日报_2026-11-22.xlsx")),
                ("service", "written", None),
                ("warehouse", "written", None),
            ]
        );
        let rows = Outbox::new(store.connection()).list(None).unwrap();
        assert_eq!(rows.len(), 6);
        assert!(rows.iter().all(|r| r.status == OutboxStatus::Stored));

        let msg = parse(&folder.path().join("mail/ops.eml"), f.dir.path());
        assert_eq!(
            msg["subject"],
            "拾光服饰旗舰店 日报 2026-11-22｜运营｜支付金额 ¥1,234.50（+10.0%）｜1 项警告"
        );
        let text = msg["text"].as_str().unwrap();
        for line in [
            "- 支付金额：¥1,234.50（+10.0% ↑）\n",
            "- 支付买家数：—\n",
            "- 访客数：100\n",
            "[警告] 推广ROI：ROI 0.72 低于 1\n",
            "附件：运营_日报_2026-11-22.xlsx",
        ] {
            assert!(text.contains(line), "no {line:?} in\n{text}");
        }
        let att = &msg["attachments"][0];
        assert_eq!(att["filename"], "运营_日报_2026-11-22.xlsx");
        assert_eq!(att["ct_name"], "运营_日报_2026-11-22.xlsx");
        assert_eq!(std::fs::read(att["path"].as_str().unwrap()).unwrap(), bytes);
        let design = parse(
            &folder.path().join("mail/design.eml"),
            &f.dir.path().join("d"),
        );
        assert_eq!(design["attachments"], serde_json::json!([]));
    }

    #[test]
    fn no_send_and_dry_run_store_nothing() {
        for (flag, status) in [("no-send", "not-sent"), ("dry-run", "dry-run")] {
            let f = fixture(&[]);
            let mut o = opts();
            o.no_send = flag == "no-send";
            o.dry_run = flag == "dry-run";
            let (prepared, folder, store, _) = prepare_with(&f, Outcome::Warn, o);
            assert!(
                prepared.deliveries().iter().all(|d| d.status == status),
                "{flag}"
            );
            assert_eq!(prepared.deliveries().len(), 6);
            assert!(
                Outbox::new(store.connection())
                    .list(None)
                    .unwrap()
                    .is_empty()
            );
            assert!(!folder.path().join("mail").exists());
        }
    }

    #[test]
    fn a_held_run_queues_only_the_owners_alert() {
        let f = fixture(&[
            "delivery=smtp",
            "smtp.host=127.0.0.1",
            "smtp.from=reports@shop.example.com",
        ]);
        let (prepared, folder, store, _) = prepare_with(&f, Outcome::Held, opts());
        let statuses: Vec<(String, String)> = prepared
            .deliveries()
            .into_iter()
            .map(|d| (d.team, d.status))
            .collect();
        assert_eq!(statuses.len(), 7);
        assert!(
            statuses[..6].iter().all(|(_, s)| s == "held"),
            "{statuses:?}"
        );
        assert_eq!(statuses[6], ("owners-failure".into(), "queued".into()));
        assert_eq!(prepared.pending.len(), 1);
        let rows = Outbox::new(store.connection()).list(None).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].team, "owners-failure");
        assert_eq!(rows[0].status, OutboxStatus::Queued);
        assert_eq!(rows[0].recipients, vec!["ops-lead@example.com".to_string()]);
        // smtp delivery writes no .eml into the run folder.
        assert!(!folder.path().join("mail").exists());
    }
}
