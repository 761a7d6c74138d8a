//! Composition: one finished RFC 5322 message per team from the run's
//! headline figures, its warn/fail checks and the team's workbook.
//!
//! Subject and bodies come from minijinja templates in a directory the user
//! can edit (`templates/email/`); the HTML body is autoescaped so shop and
//! product names from input files cannot inject markup. The attachment's
//! name is written twice on purpose: RFC 2231 `filename*=` in
//! Content-Disposition for modern clients, and an RFC 2047 encoded-word
//! `name=` in Content-Type because older Outlook and QQ Mail only read that.
//! lettre's own attachment header uses RFC 2231 continuations and no `name=`,
//! so both headers are written here. The Message-ID is derived from
//! (job, period, team), so a resend carries the same id and mail clients can
//! recognise it.

use std::collections::BTreeMap;
use std::io::{Cursor, Write as _};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use lettre::Message;
use lettre::message::header::{ContentTransferEncoding, Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};
use sha2::{Digest, Sha256};

use super::DeliverError;

/// The template kinds shipped in `templates/email/`.
const KINDS: [&str; 3] = ["report", "failure", "recovery"];
/// The three parts every kind has.
const PARTS: [&str; 3] = ["subject", "txt", "html"];

/// The `Content-Type` of an xlsx workbook.
const XLSX_MIME: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Direction of a KPI's change against the previous period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Up,
    Down,
    Flat,
    /// No previous value to compare with.
    None,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Up => "up",
            Direction::Down => "down",
            Direction::Flat => "flat",
            Direction::None => "none",
        }
    }
}

/// One headline figure, already formatted for the team's locale.
#[derive(Debug, Clone, PartialEq)]
pub struct Kpi {
    pub label: String,
    pub value_text: String,
    /// e.g. `+5.2%`; empty when there is nothing to compare with.
    pub change_text: String,
    pub direction: Direction,
}

/// Check levels as the check stage reports them; only warn, fail and error
/// reach the email.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CheckLevel {
    Pass,
    Warn,
    Fail,
    Error,
}

impl CheckLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckLevel::Pass => "pass",
            CheckLevel::Warn => "warn",
            CheckLevel::Fail => "fail",
            CheckLevel::Error => "error",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct EmailCheck {
    pub level: CheckLevel,
    pub title: String,
    pub message: String,
}

/// A file to attach: its display name and its bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Attachment {
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// What one team's report email says.
#[derive(Debug, Clone)]
pub struct EmailContext {
    pub shop: String,
    /// Job id (`daily-ops`), used for the Message-ID.
    pub job: String,
    /// Job display name (`日报`).
    pub job_name: String,
    /// Period as shown and as keyed (`2026-11-22`, `2026-W47`, `2026-11`).
    pub period: String,
    /// Team id (ASCII), used for the Message-ID and the `.eml` file name.
    pub team: String,
    /// Team display name (`运营`).
    pub team_name: String,
    /// `zh-CN` or `en`.
    pub locale: String,
    pub kpis: Vec<Kpi>,
    /// All check results; pass-level ones are left out of the email.
    pub checks: Vec<EmailCheck>,
    /// `send-flagged` run with a fail-level check: red banner.
    pub flagged: bool,
    pub notes: Vec<String>,
    pub attachment: Option<Attachment>,
    /// Where the run's files are, for the size-guard note.
    pub run_folder: Option<String>,
}

/// Failure or recovery notice for a job's owners.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertKind {
    Failure,
    Recovery,
}

impl AlertKind {
    fn template(self) -> &'static str {
        match self {
            AlertKind::Failure => "failure",
            AlertKind::Recovery => "recovery",
        }
    }

    /// The outbox "team" key for owner alerts, so each alert is stored and
    /// deduplicated like a team email.
    pub fn outbox_key(self) -> &'static str {
        match self {
            AlertKind::Failure => "owners-failure",
            AlertKind::Recovery => "owners-recovery",
        }
    }
}

/// What a failure / recovery email to the job owners says.
#[derive(Debug, Clone)]
pub struct OwnerAlertContext {
    pub kind: AlertKind,
    pub shop: String,
    pub job: String,
    pub job_name: String,
    pub period: String,
    pub locale: String,
    /// The run's status word (`failed`, `held`, `success`, ...).
    pub status: String,
    /// The whole cause chain of the failure, when there is one.
    pub error: Option<String>,
    pub checks: Vec<EmailCheck>,
    pub run_folder: Option<String>,
}

/// Sender and recipients of one message.
#[derive(Debug, Clone)]
pub struct Addressing {
    pub from: Mailbox,
    pub to: Vec<String>,
    pub cc: Vec<String>,
}

impl Addressing {
    /// The sender used when no SMTP server is configured (`outbox-only`):
    /// `storepulse <storepulse@localhost>`.
    pub fn default_sender() -> Mailbox {
        Mailbox::new(
            Some("storepulse".into()),
            // A fixed, valid ASCII address: nothing here comes from input.
            lettre::Address::new_dangerous("storepulse", "localhost"),
        )
    }
}

/// Knobs of composition that do not come from the run.
#[derive(Debug, Clone)]
pub struct ComposeOptions {
    /// The `Date:` header.
    pub now: DateTime<Utc>,
    /// Largest encoded (base64) attachment carried in the message.
    pub max_attachment_bytes: u64,
}

/// A rendered message, ready for the outbox.
#[derive(Debug, Clone)]
pub struct ComposedEmail {
    pub subject: String,
    pub text: String,
    pub html: String,
    pub message_id: String,
    /// Envelope recipients: To then Cc.
    pub recipients: Vec<String>,
    /// Name of the file actually attached (the zip when the guard zipped it).
    pub attachment_name: Option<String>,
    /// The complete message as sent on the wire.
    pub eml: Vec<u8>,
}

/// The email templates, loaded once from a directory.
#[derive(Debug)]
pub struct EmailTemplates {
    dir: PathBuf,
    env: Environment<'static>,
}

impl EmailTemplates {
    /// Loads every `*.j2` file in `dir`. Each of `report`, `failure` and
    /// `recovery` needs `.subject.j2`, `.txt.j2` and `.html.j2`;
    /// `<kind>.<part>.<locale>.j2` (e.g. `report.subject.en.j2`) overrides the
    /// shared one for that locale. Syntax errors are reported here, with the
    /// template's name, rather than at the first send.
    pub fn load(dir: &Path) -> Result<Self, DeliverError> {
        let mut env = new_environment()?;
        let read_err = |source| DeliverError::TemplateRead {
            path: dir.to_path_buf(),
            source,
        };
        let mut names = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(read_err)? {
            let entry = entry.map_err(read_err)?;
            let path = entry.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if !name.ends_with(".j2") || !path.is_file() {
                continue;
            }
            let source = std::fs::read_to_string(&path).map_err(|source| DeliverError::Io {
                path: path.clone(),
                source,
            })?;
            let name = name.to_string();
            env.add_template_owned(name.clone(), source)
                .map_err(|source| DeliverError::Template {
                    name: name.clone(),
                    source,
                })?;
            names.push(name);
        }
        for kind in KINDS {
            for part in PARTS {
                let name = format!("{kind}.{part}.j2");
                if !names.contains(&name) {
                    return Err(DeliverError::TemplateMissing {
                        dir: dir.to_path_buf(),
                        name,
                    });
                }
            }
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            env,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every problem with the templates in `dir`, where [`load`](Self::load)
    /// stops at the first: each template that does not parse, and each
    /// required one that is missing (`storepulse validate`).
    pub fn problems(dir: &Path) -> Vec<DeliverError> {
        let read_err = |source| DeliverError::TemplateRead {
            path: dir.to_path_buf(),
            source,
        };
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => return vec![read_err(e)],
        };
        let mut problems = Vec::new();
        let mut names = Vec::new();
        for entry in entries {
            let path = match entry {
                Ok(e) => e.path(),
                Err(e) => {
                    problems.push(read_err(e));
                    continue;
                }
            };
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if !name.ends_with(".j2") || !path.is_file() {
                continue;
            }
            let name = name.to_string();
            let source = match std::fs::read_to_string(&path) {
                Ok(s) => s,
                Err(source) => {
                    problems.push(DeliverError::Io { path, source });
                    continue;
                }
            };
            // A fresh environment per file, so one broken template does not
            // hide the next.
            let added = new_environment().and_then(|mut env| {
                env.add_template_owned(name.clone(), source)
                    .map_err(|source| DeliverError::Template {
                        name: name.clone(),
                        source,
                    })
            });
            if let Err(e) = added {
                problems.push(e);
            }
            names.push(name);
        }
        for kind in KINDS {
            for part in PARTS {
                let name = format!("{kind}.{part}.j2");
                if !names.contains(&name) {
                    problems.push(DeliverError::TemplateMissing {
                        dir: dir.to_path_buf(),
                        name,
                    });
                }
            }
        }
        problems
    }

    fn render(
        &self,
        kind: &str,
        part: &str,
        locale: &str,
        ctx: &Value,
    ) -> Result<String, DeliverError> {
        let localized = format!("{kind}.{part}.{locale}.j2");
        let name = if self.env.get_template(&localized).is_ok() {
            localized
        } else {
            format!("{kind}.{part}.j2")
        };
        let template = self
            .env
            .get_template(&name)
            .map_err(|source| DeliverError::Template {
                name: name.clone(),
                source,
            })?;
        template
            .render(ctx)
            .map_err(|source| DeliverError::Template { name, source })
    }

    fn render_all(&self, kind: &str, locale: &str, ctx: &Value) -> Result<Rendered, DeliverError> {
        let subject = self.render(kind, "subject", locale, ctx)?;
        // A subject is one line whatever the template's whitespace.
        let subject = subject.split_whitespace().collect::<Vec<_>>().join(" ");
        if subject.is_empty() {
            return Err(DeliverError::Invalid {
                what: format!("email template {kind}.subject.j2 rendered an empty subject"),
            });
        }
        Ok(Rendered {
            subject,
            text: self.render(kind, "txt", locale, ctx)?,
            html: self.render(kind, "html", locale, ctx)?,
        })
    }
}

/// The template environment: escaping, undefined handling and syntax as
/// every email template expects them.
fn new_environment() -> Result<Environment<'static>, DeliverError> {
    let mut env = Environment::new();
    // Only the HTML body is escaped; subject and text are plain text.
    env.set_auto_escape_callback(|name| {
        if name.contains(".html") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    // A misspelt variable in a user-edited template should fail loudly,
    // while `{% if run_folder %}` on an absent value stays allowed.
    env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
    // Block tags on their own lines leave no blank lines behind, so the
    // plain-text body reads as written.
    let syntax = minijinja::syntax::SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .build()
        .map_err(|source| DeliverError::Template {
            name: "(syntax settings)".into(),
            source,
        })?;
    env.set_syntax(syntax);
    Ok(env)
}

struct Rendered {
    subject: String,
    text: String,
    html: String,
}

/// The stable Message-ID of (job, period, team):
/// `<first 32 hex of sha256("job|period|team")@storepulse.<from domain>>`.
pub fn message_id(job: &str, period: &str, team: &str, from_domain: &str) -> String {
    let digest = Sha256::digest(format!("{job}|{period}|{team}").as_bytes());
    let hex = hex::encode(digest);
    format!("<{}@storepulse.{}>", &hex[..32], from_domain)
}

/// Composes one team's report email.
pub fn compose_report(
    templates: &EmailTemplates,
    ctx: &EmailContext,
    addressing: &Addressing,
    options: &ComposeOptions,
) -> Result<ComposedEmail, DeliverError> {
    let english = is_english(&ctx.locale);
    let mut notes = ctx.notes.clone();
    let attachment = match &ctx.attachment {
        Some(att) => guard_size(
            att,
            options.max_attachment_bytes,
            english,
            ctx.run_folder.as_deref(),
            &mut notes,
        )?,
        None => None,
    };

    let shown: Vec<&EmailCheck> = ctx
        .checks
        .iter()
        .filter(|c| c.level > CheckLevel::Pass)
        .collect();
    let mut vars = BTreeMap::new();
    put(&mut vars, "shop", &ctx.shop);
    put(&mut vars, "job", &ctx.job);
    put(&mut vars, "job_name", &ctx.job_name);
    put(&mut vars, "period", &ctx.period);
    put(&mut vars, "team", &ctx.team);
    put(&mut vars, "team_name", &ctx.team_name);
    put(&mut vars, "locale", &ctx.locale);
    vars.insert("flagged".into(), Value::from(ctx.flagged));
    vars.insert(
        "kpis".into(),
        Value::from(
            ctx.kpis
                .iter()
                .map(|k| {
                    let mut m = BTreeMap::new();
                    put(&mut m, "label", &k.label);
                    put(&mut m, "value", &k.value_text);
                    put(&mut m, "change", &k.change_text);
                    put(&mut m, "direction", k.direction.as_str());
                    Value::from(m)
                })
                .collect::<Vec<_>>(),
        ),
    );
    vars.insert("checks".into(), checks_value(&shown));
    vars.insert(
        "warn_count".into(),
        Value::from(shown.iter().filter(|c| c.level == CheckLevel::Warn).count()),
    );
    vars.insert(
        "fail_count".into(),
        Value::from(shown.iter().filter(|c| c.level >= CheckLevel::Fail).count()),
    );
    vars.insert(
        "notes".into(),
        Value::from(notes.iter().map(Value::from).collect::<Vec<_>>()),
    );
    vars.insert(
        "attachment".into(),
        Value::from(attachment.as_ref().map(|a| {
            let mut m = BTreeMap::new();
            put(&mut m, "file_name", &a.file_name);
            put(&mut m, "size", &size_text(a.bytes.len() as u64));
            Value::from(m)
        })),
    );
    vars.insert("run_folder".into(), Value::from(ctx.run_folder.clone()));
    let rendered = templates.render_all("report", &ctx.locale, &Value::from(vars))?;

    build_message(
        rendered,
        &ctx.job,
        &ctx.period,
        &ctx.team,
        addressing,
        options,
        attachment.as_ref(),
    )
}

/// Composes a failure or recovery email to the job's owners; its outbox key
/// is [`AlertKind::outbox_key`].
pub fn compose_owner_alert(
    templates: &EmailTemplates,
    ctx: &OwnerAlertContext,
    addressing: &Addressing,
    options: &ComposeOptions,
) -> Result<ComposedEmail, DeliverError> {
    let shown: Vec<&EmailCheck> = ctx
        .checks
        .iter()
        .filter(|c| c.level > CheckLevel::Pass)
        .collect();
    let mut vars = BTreeMap::new();
    put(&mut vars, "shop", &ctx.shop);
    put(&mut vars, "job", &ctx.job);
    put(&mut vars, "job_name", &ctx.job_name);
    put(&mut vars, "period", &ctx.period);
    put(&mut vars, "locale", &ctx.locale);
    put(&mut vars, "status", &ctx.status);
    vars.insert("error".into(), Value::from(ctx.error.clone()));
    vars.insert("checks".into(), checks_value(&shown));
    vars.insert("run_folder".into(), Value::from(ctx.run_folder.clone()));
    let rendered = templates.render_all(ctx.kind.template(), &ctx.locale, &Value::from(vars))?;
    build_message(
        rendered,
        &ctx.job,
        &ctx.period,
        ctx.kind.outbox_key(),
        addressing,
        options,
        None,
    )
}

fn put(map: &mut BTreeMap<String, Value>, key: &str, value: &str) {
    map.insert(key.to_string(), Value::from(value));
}

fn checks_value(checks: &[&EmailCheck]) -> Value {
    Value::from(
        checks
            .iter()
            .map(|c| {
                let mut m = BTreeMap::new();
                put(&mut m, "level", c.level.as_str());
                put(&mut m, "title", &c.title);
                put(&mut m, "message", &c.message);
                Value::from(m)
            })
            .collect::<Vec<_>>(),
    )
}

fn is_english(locale: &str) -> bool {
    locale.to_ascii_lowercase().starts_with("en")
}

fn build_message(
    rendered: Rendered,
    job: &str,
    period: &str,
    team: &str,
    addressing: &Addressing,
    options: &ComposeOptions,
    attachment: Option<&Attachment>,
) -> Result<ComposedEmail, DeliverError> {
    let from_domain = addressing.from.email.domain().to_string();
    let id = message_id(job, period, team, &from_domain);

    let mut builder = Message::builder()
        .from(addressing.from.clone())
        .subject(rendered.subject.clone())
        .message_id(Some(id.clone()))
        .date(SystemTime::from(options.now))
        .user_agent(format!("storepulse/{}", env!("CARGO_PKG_VERSION")));
    let mut recipients = Vec::new();
    if addressing.to.is_empty() {
        return Err(DeliverError::Invalid {
            what: format!("email for {job} {period} {team}: no recipients"),
        });
    }
    for (field, list) in [("to", &addressing.to), ("cc", &addressing.cc)] {
        for value in list {
            let mailbox: Mailbox = value.parse().map_err(|source| DeliverError::Address {
                field: format!("{team}.{field}"),
                value: value.clone(),
                source,
            })?;
            recipients.push(mailbox.email.to_string());
            builder = if field == "to" {
                builder.to(mailbox)
            } else {
                builder.cc(mailbox)
            };
        }
    }

    let alternative =
        MultiPart::alternative_plain_html(rendered.text.clone(), rendered.html.clone());
    let message = match attachment {
        Some(att) => builder.multipart(
            MultiPart::mixed()
                .multipart(alternative)
                .singlepart(attachment_part(att)),
        ),
        None => builder.multipart(alternative),
    }
    .map_err(|source| DeliverError::Build { source })?;

    Ok(ComposedEmail {
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        message_id: id,
        recipients,
        attachment_name: attachment.map(|a| a.file_name.clone()),
        eml: message.formatted(),
    })
}

/// Size of `n` bytes once base64-encoded in 76-character lines with CRLF.
pub fn encoded_size(n: u64) -> u64 {
    let b64 = n.div_ceil(3) * 4;
    b64 + b64.div_ceil(76) * 2
}

/// Applies the size guard: the attachment as is, zipped, or nothing plus a
/// note saying the file stays in the run folder.
fn guard_size(
    att: &Attachment,
    limit: u64,
    english: bool,
    run_folder: Option<&str>,
    notes: &mut Vec<String>,
) -> Result<Option<Attachment>, DeliverError> {
    let original = att.bytes.len() as u64;
    if encoded_size(original) <= limit {
        return Ok(Some(att.clone()));
    }
    let zipped = zip_one(att)?;
    if encoded_size(zipped.bytes.len() as u64) <= limit {
        notes.push(if english {
            format!(
                "The workbook was zipped to fit the mail size limit: {} ({}, unzipped {}).",
                zipped.file_name,
                size_text(zipped.bytes.len() as u64),
                size_text(original)
            )
        } else {
            format!(
                "附件已压缩为 {}（{}，原文件 {}），以符合邮件大小上限。",
                zipped.file_name,
                size_text(zipped.bytes.len() as u64),
                size_text(original)
            )
        });
        return Ok(Some(zipped));
    }
    let folder = run_folder.unwrap_or("");
    notes.push(if english {
        let place = if folder.is_empty() {
            "the run folder".to_string()
        } else {
            format!("the run folder {folder}")
        };
        format!(
            "{} ({}) is too large to attach, even zipped (limit {}); it stays in {}.",
            att.file_name,
            size_text(original),
            size_text(limit),
            place
        )
    } else {
        let place = if folder.is_empty() {
            "运行目录".to_string()
        } else {
            format!("运行目录 {folder} ")
        };
        format!(
            "附件 {}（{}）压缩后仍超过邮件大小上限 {}，未随邮件发送；文件保存在{}中。",
            att.file_name,
            size_text(original),
            size_text(limit),
            place
        )
    });
    tracing::warn!(file = %att.file_name, bytes = original, limit, "attachment too large to send, left in the run folder");
    Ok(None)
}

fn zip_one(att: &Attachment) -> Result<Attachment, DeliverError> {
    let zip_err = |source| DeliverError::Zip {
        file_name: att.file_name.clone(),
        source,
    };
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(att.bytes.len() as u64 >= u64::from(u32::MAX));
    writer
        .start_file(att.file_name.as_str(), options)
        .map_err(zip_err)?;
    writer
        .write_all(&att.bytes)
        .map_err(|e| zip_err(e.into()))?;
    let bytes = writer.finish().map_err(zip_err)?.into_inner();
    let stem = match att.file_name.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem,
        _ => att.file_name.as_str(),
    };
    Ok(Attachment {
        file_name: format!("{stem}.zip"),
        bytes,
    })
}

/// Decimal megabytes with one digit, as mail providers state their limits.
fn size_text(bytes: u64) -> String {
    let tenths = (bytes + 50_000) / 100_000;
    if bytes < 1_000_000 {
        let kb = bytes.div_ceil(1000);
        return format!("{kb} KB");
    }
    format!("{}.{} MB", tenths / 10, tenths % 10)
}

fn mime_for(file_name: &str) -> &'static str {
    let ext = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "xlsx" => XLSX_MIME,
        "zip" => "application/zip",
        "csv" => "text/csv",
        "json" => "application/json",
        "pdf" => "application/pdf",
        _ => "application/octet-stream",
    }
}

fn attachment_part(att: &Attachment) -> SinglePart {
    let mime = mime_for(&att.file_name);
    SinglePart::builder()
        .header(RawHeader::content_type(content_type_value(
            mime,
            &att.file_name,
        )))
        .header(RawHeader::content_disposition(disposition_value(
            &att.file_name,
        )))
        .header(ContentTransferEncoding::Base64)
        .body(att.bytes.clone())
}

/// A header whose value is already encoded and folded here. The values are
/// built only from ASCII produced by the encoders below, so nothing from the
/// file name reaches the header unencoded.
#[derive(Debug, Clone)]
struct RawHeader {
    value: String,
}

impl RawHeader {
    fn content_type(value: String) -> RawContentType {
        RawContentType(RawHeader { value })
    }

    fn content_disposition(value: String) -> RawContentDisposition {
        RawContentDisposition(RawHeader { value })
    }
}

#[derive(Debug, Clone)]
struct RawContentType(RawHeader);

#[derive(Debug, Clone)]
struct RawContentDisposition(RawHeader);

impl Header for RawContentType {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Content-Type")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(RawHeader {
            value: s.to_string(),
        }))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::dangerous_new_pre_encoded(
            Self::name(),
            self.0.value.clone(),
            self.0.value.clone(),
        )
    }
}

impl Header for RawContentDisposition {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Content-Disposition")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(RawHeader {
            value: s.to_string(),
        }))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::dangerous_new_pre_encoded(
            Self::name(),
            self.0.value.clone(),
            self.0.value.clone(),
        )
    }
}

/// True when `s` can stand in a quoted-string parameter as is.
fn plain_quotable(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 60
        && s.bytes()
            .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
}

/// `mime;\r\n name="..."` with the name as RFC 2047 B encoded-words when it
/// is not plain ASCII. Each encoded-word stays within 75 characters and
/// never splits a UTF-8 sequence.
pub(crate) fn content_type_value(mime: &str, file_name: &str) -> String {
    if plain_quotable(file_name) {
        return format!("{mime};\r\n name=\"{file_name}\"");
    }
    let words = encoded_words(file_name);
    format!("{mime};\r\n name=\"{}\"", words.join("\r\n "))
}

fn encoded_words(text: &str) -> Vec<String> {
    // The first word shares its line with ` name="`: 42 raw bytes are 56
    // base64 characters, a 68-character word, a 75-character line.
    const MAX_RAW: usize = 42;
    let mut words = Vec::new();
    let mut chunk = String::new();
    for ch in text.chars() {
        if chunk.len() + ch.len_utf8() > MAX_RAW {
            words.push(format!("=?UTF-8?B?{}?=", base64_encode(chunk.as_bytes())));
            chunk.clear();
        }
        chunk.push(ch);
    }
    if !chunk.is_empty() {
        words.push(format!("=?UTF-8?B?{}?=", base64_encode(chunk.as_bytes())));
    }
    words
}

/// `attachment;\r\n filename*=UTF-8''…` (RFC 2231), split into numbered
/// continuations only when one line would pass 78 characters.
pub(crate) fn disposition_value(file_name: &str) -> String {
    if plain_quotable(file_name) {
        return format!("attachment;\r\n filename=\"{file_name}\"");
    }
    let encoded = percent_encode(file_name);
    // " filename*=UTF-8''" is 18 characters.
    if encoded.len() + 18 <= 78 {
        return format!("attachment;\r\n filename*=UTF-8''{encoded}");
    }
    // Continuations: " filename*NN*=" ≤ 15, plus "UTF-8''" on the first, plus ";".
    const SEGMENT: usize = 56;
    let mut segments = Vec::new();
    let mut current = String::new();
    let mut rest = encoded.as_str();
    while !rest.is_empty() {
        // Never split a %XX triple.
        let take = if rest.starts_with('%') { 3 } else { 1 };
        if current.len() + take > SEGMENT {
            segments.push(std::mem::take(&mut current));
        }
        current.push_str(&rest[..take]);
        rest = &rest[take..];
    }
    if !current.is_empty() {
        segments.push(current);
    }
    let mut out = String::from("attachment");
    for (i, segment) in segments.iter().enumerate() {
        if i == 0 {
            out.push_str(&format!(";\r\n filename*0*=UTF-8''{segment}"));
        } else {
            out.push_str(&format!(";\r\n filename*{i}*={segment}"));
        }
    }
    out
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        assert_eq!(base64_encode(b""), "");
        assert_eq!(base64_encode(b"f"), "Zg==");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(base64_encode(b"foo"), "Zm9v");
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn chinese_name_in_both_encodings() {
        let name = "运营_日报_2026-11-22.xlsx";
        assert_eq!(
            disposition_value(name),
            "attachment;\r\n filename*=UTF-8''%E8%BF%90%E8%90%A5_%E6%97%A5%E6%8A%A5_2026-11-22.xlsx"
        );
        // base64 of the UTF-8 bytes, checked with `printf %s 运营_日报_2026-11-22.xlsx | base64`.
        assert_eq!(
            content_type_value(XLSX_MIME, name),
            format!(
                "{XLSX_MIME};\r\n name=\"=?UTF-8?B?6L+Q6JClX+aXpeaKpV8yMDI2LTExLTIyLnhsc3g=?=\""
            )
        );
    }

    #[test]
    fn ascii_name_is_quoted_plainly() {
        assert_eq!(
            disposition_value("report.xlsx"),
            "attachment;\r\n filename=\"report.xlsx\""
        );
        assert_eq!(
            content_type_value("application/zip", "a b.zip"),
            "application/zip;\r\n name=\"a b.zip\""
        );
    }

    #[test]
    fn long_names_split_without_breaking_characters() {
        let name = "会员运营_月度会员分层与复购分析报告_2026-11_附带全部明细.xlsx";
        let disposition = disposition_value(name);
        assert!(disposition.contains("filename*0*=UTF-8''"));
        assert!(disposition.contains("filename*1*="));
        for line in disposition.split("\r\n") {
            assert!(line.len() <= 78, "{line}");
        }
        // Reassembling the continuations gives back the name.
        let joined: String = disposition
            .split("\r\n")
            .skip(1)
            .map(|l| l.trim().trim_end_matches(';'))
            .map(|l| l.split_once('=').map(|(_, v)| v).unwrap_or(""))
            .collect::<Vec<_>>()
            .concat();
        assert_eq!(percent_decode(joined.trim_start_matches("UTF-8''")), name);

        let ct = content_type_value(XLSX_MIME, name);
        let words: Vec<&str> = ct.split("\r\n").skip(1).collect();
        assert!(words.len() >= 2);
        for w in &words {
            assert!(
                w.trim()
                    .trim_start_matches("name=\"")
                    .trim_end_matches('"')
                    .len()
                    <= 75
            );
        }
    }

    fn percent_decode(s: &str) -> String {
        let mut bytes = Vec::new();
        let mut i = 0;
        let b = s.as_bytes();
        while i < b.len() {
            if b[i] == b'%' {
                bytes.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                bytes.push(b[i]);
                i += 1;
            }
        }
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn encoded_size_counts_line_breaks() {
        assert_eq!(encoded_size(0), 0);
        // 57 bytes → 76 base64 chars → one line + CRLF.
        assert_eq!(encoded_size(57), 78);
        // 58 bytes → 80 chars → two lines.
        assert_eq!(encoded_size(58), 84);
    }

    #[test]
    fn message_id_is_stable_and_keyed() {
        let a = message_id("daily-ops", "2026-11-22", "ops", "example.com");
        assert_eq!(
            a,
            message_id("daily-ops", "2026-11-22", "ops", "example.com")
        );
        assert_ne!(
            a,
            message_id("daily-ops", "2026-11-22", "crm", "example.com")
        );
        assert_ne!(
            a,
            message_id("daily-ops", "2026-11-23", "ops", "example.com")
        );
        // sha256("daily-ops|2026-11-22|ops"), first 32 hex digits.
        let hex = hex::encode(Sha256::digest(b"daily-ops|2026-11-22|ops"));
        assert_eq!(a, format!("<{}@storepulse.example.com>", &hex[..32]));
    }

    #[test]
    fn size_text_reads_like_a_provider_limit() {
        assert_eq!(size_text(20_000_000), "20.0 MB");
        assert_eq!(size_text(1_250_000), "1.3 MB");
        assert_eq!(size_text(1_500), "2 KB");
    }
}
