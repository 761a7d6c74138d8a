//! The durable outbox: every message is rendered and stored in SQLite before
//! anything is sent, and marked sent only after the server's 250.
//!
//! A crash between "stored" and "sent" therefore loses nothing: the row is
//! still `queued` (or `sending`) and the next flush picks it up. A row found
//! in `sending` is treated as interrupted and sent again; delivery is at
//! least once, and the stable Message-ID makes such a rare duplicate
//! recognisable to mail clients. The same (job, period, team) is never queued
//! twice unless a resend is asked for.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use super::DeliverError;
use super::compose::ComposedEmail;

/// The outbox table. The store runs this in its migrations; it is
/// idempotent so tests and tools can run it on their own file.
pub const OUTBOX_SQL: &str = "\
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    job TEXT NOT NULL,
    period TEXT NOT NULL,
    team TEXT NOT NULL,
    message_id TEXT NOT NULL,
    recipients TEXT NOT NULL,
    subject TEXT NOT NULL,
    eml BLOB NOT NULL,
    attachment TEXT,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    sent_at INTEGER,
    resend INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS outbox_job_period_team ON outbox (job, period, team);
";

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxStatus {
    /// Stored, waiting for its first attempt.
    Queued,
    /// An attempt is under way (or was, when the process died).
    Sending,
    /// The last attempt failed transiently; a flush tries again.
    Deferred,
    /// The server answered 250.
    Sent,
    /// The server rejected it permanently; kept with the reply.
    Failed,
    /// `outbox-only` delivery: written to the run folder, never sent.
    Stored,
    /// Replaced by a resend before it went out.
    Superseded,
}

impl OutboxStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxStatus::Queued => "queued",
            OutboxStatus::Sending => "sending",
            OutboxStatus::Deferred => "deferred",
            OutboxStatus::Sent => "sent",
            OutboxStatus::Failed => "failed",
            OutboxStatus::Stored => "stored",
            OutboxStatus::Superseded => "superseded",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => OutboxStatus::Queued,
            "sending" => OutboxStatus::Sending,
            "deferred" => OutboxStatus::Deferred,
            "sent" => OutboxStatus::Sent,
            "failed" => OutboxStatus::Failed,
            "stored" => OutboxStatus::Stored,
            "superseded" => OutboxStatus::Superseded,
            _ => return None,
        })
    }

    /// Waiting to be (re)sent by a flush.
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            OutboxStatus::Queued | OutboxStatus::Sending | OutboxStatus::Deferred
        )
    }
}

impl std::fmt::Display for OutboxStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One outbox row without its message bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEntry {
    pub id: i64,
    pub job: String,
    pub period: String,
    pub team: String,
    pub message_id: String,
    pub recipients: Vec<String>,
    pub subject: String,
    pub attachment: Option<String>,
    pub status: OutboxStatus,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub sent_at: Option<i64>,
    pub resend: bool,
}

/// A message to store.
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    pub job: &'a str,
    pub period: &'a str,
    pub team: &'a str,
    pub message_id: &'a str,
    pub recipients: &'a [String],
    pub subject: &'a str,
    pub eml: &'a [u8],
    pub attachment: Option<&'a str>,
}

impl<'a> NewMessage<'a> {
    pub fn from_composed(
        job: &'a str,
        period: &'a str,
        team: &'a str,
        email: &'a ComposedEmail,
    ) -> Self {
        Self {
            job,
            period,
            team,
            message_id: &email.message_id,
            recipients: &email.recipients,
            subject: &email.subject,
            eml: &email.eml,
            attachment: email.attachment_name.as_deref(),
        }
    }
}

/// How the stored message will leave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnqueueMode {
    /// Queued for SMTP.
    Send,
    /// `outbox-only`: recorded as `stored`, never sent.
    StoreOnly,
}

/// The result of [`Outbox::enqueue`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Enqueued {
    /// Stored under this id.
    New { id: i64 },
    /// The same (job, period, team) is already queued or sent; nothing was
    /// stored.
    Duplicate { id: i64, status: OutboxStatus },
}

type Clock<'c> = Box<dyn Fn() -> i64 + 'c>;

/// The outbox on a store connection.
pub struct Outbox<'c> {
    conn: &'c Connection,
    clock: Clock<'c>,
}

const COLUMNS: &str = "id, job, period, team, message_id, recipients, subject, attachment, status, \
                       attempts, last_error, created_at, updated_at, sent_at, resend";

fn store_err(op: &'static str) -> impl Fn(rusqlite::Error) -> DeliverError {
    move |source| DeliverError::Store { op, source }
}

impl<'c> Outbox<'c> {
    /// An outbox using the system clock (Unix seconds).
    pub fn new(conn: &'c Connection) -> Self {
        Self::with_clock(conn, || chrono::Utc::now().timestamp())
    }

    pub fn with_clock(conn: &'c Connection, clock: impl Fn() -> i64 + 'c) -> Self {
        Self {
            conn,
            clock: Box::new(clock),
        }
    }

    /// Stores a rendered message. Refuses (returns `Duplicate`) when the same
    /// (job, period, team) is already queued, being sent, deferred or sent;
    /// with `resend`, stores it anyway and supersedes any copy still waiting
    /// so only the new one goes out. In `StoreOnly` mode an earlier `stored`
    /// copy counts too. A permanently failed copy never blocks a new one.
    pub fn enqueue(
        &self,
        msg: &NewMessage<'_>,
        mode: EnqueueMode,
        resend: bool,
    ) -> Result<Enqueued, DeliverError> {
        let now = (self.clock)();
        let tx = rusqlite::Transaction::new_unchecked(self.conn, TransactionBehavior::Immediate)
            .map_err(store_err("begin enqueue"))?;
        let mut blocking = vec!["queued", "sending", "deferred", "sent"];
        if mode == EnqueueMode::StoreOnly {
            blocking.push("stored");
        }
        let existing: Option<(i64, String)> = tx
            .query_row(
                &format!(
                    "SELECT id, status FROM outbox WHERE job = ?1 AND period = ?2 AND team = ?3 \
                     AND status IN ({}) ORDER BY (status = 'sent') DESC, id DESC LIMIT 1",
                    blocking
                        .iter()
                        .map(|s| format!("'{s}'"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                params![msg.job, msg.period, msg.team],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(store_err("look up earlier messages"))?;
        if let Some((id, status)) = existing {
            if !resend {
                let status = OutboxStatus::parse(&status).unwrap_or(OutboxStatus::Queued);
                tracing::info!(job = msg.job, period = msg.period, team = msg.team, id, %status, "already in the outbox, not queued again");
                return Ok(Enqueued::Duplicate { id, status });
            }
            tx.execute(
                "UPDATE outbox SET status = 'superseded', updated_at = ?4 \
                 WHERE job = ?1 AND period = ?2 AND team = ?3 \
                 AND status IN ('queued', 'sending', 'deferred', 'stored')",
                params![msg.job, msg.period, msg.team, now],
            )
            .map_err(store_err("supersede waiting copies"))?;
        }
        let recipients =
            serde_json::to_string(msg.recipients).map_err(|e| DeliverError::Invalid {
                what: format!("recipients of {} {} {}: {e}", msg.job, msg.period, msg.team),
            })?;
        let status = match mode {
            EnqueueMode::Send => OutboxStatus::Queued,
            EnqueueMode::StoreOnly => OutboxStatus::Stored,
        };
        tx.execute(
            "INSERT INTO outbox (job, period, team, message_id, recipients, subject, eml, attachment, \
             status, attempts, created_at, updated_at, resend) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 0, ?10, ?10, ?11)",
            params![
                msg.job,
                msg.period,
                msg.team,
                msg.message_id,
                recipients,
                msg.subject,
                msg.eml,
                msg.attachment,
                status.as_str(),
                now,
                resend
            ],
        )
        .map_err(store_err("store message"))?;
        let id = tx.last_insert_rowid();
        tx.commit().map_err(store_err("commit enqueue"))?;
        tracing::info!(job = msg.job, period = msg.period, team = msg.team, id, %status, resend, "message stored in the outbox");
        Ok(Enqueued::New { id })
    }

    /// Every row, newest first, at most `limit` when given.
    pub fn list(&self, limit: Option<usize>) -> Result<Vec<OutboxEntry>, DeliverError> {
        let limit = limit.map(|l| l as i64).unwrap_or(-1);
        self.query(
            &format!("SELECT {COLUMNS} FROM outbox ORDER BY id DESC LIMIT ?1"),
            params![limit],
        )
    }

    /// Rows a flush should send, oldest first: queued, deferred, and
    /// `sending` rows left by an interrupted process.
    pub fn pending(&self) -> Result<Vec<OutboxEntry>, DeliverError> {
        self.query(
            &format!(
                "SELECT {COLUMNS} FROM outbox WHERE status IN ('queued', 'deferred', 'sending') \
                 ORDER BY created_at, id"
            ),
            [],
        )
    }

    /// All rows of one (job, period, team), oldest first.
    pub fn for_key(
        &self,
        job: &str,
        period: &str,
        team: &str,
    ) -> Result<Vec<OutboxEntry>, DeliverError> {
        self.query(
            &format!("SELECT {COLUMNS} FROM outbox WHERE job = ?1 AND period = ?2 AND team = ?3 ORDER BY id"),
            params![job, period, team],
        )
    }

    pub fn get(&self, id: i64) -> Result<OutboxEntry, DeliverError> {
        self.query(
            &format!("SELECT {COLUMNS} FROM outbox WHERE id = ?1"),
            params![id],
        )?
        .pop()
        .ok_or(DeliverError::NotFound { id })
    }

    /// The stored message exactly as it goes on the wire.
    pub fn eml(&self, id: i64) -> Result<Vec<u8>, DeliverError> {
        self.conn
            .query_row("SELECT eml FROM outbox WHERE id = ?1", params![id], |r| {
                r.get(0)
            })
            .optional()
            .map_err(store_err("read message"))?
            .ok_or(DeliverError::NotFound { id })
    }

    pub fn attempts(&self, id: i64) -> Result<u32, DeliverError> {
        Ok(self.get(id)?.attempts)
    }

    /// Records the start of an attempt (counted even if the process dies
    /// during it).
    pub fn mark_sending(&self, id: i64) -> Result<(), DeliverError> {
        self.transition(
            id,
            &[OutboxStatus::Queued, OutboxStatus::Deferred, OutboxStatus::Sending],
            "start sending",
            "UPDATE outbox SET status = 'sending', attempts = attempts + 1, updated_at = ?2 WHERE id = ?1",
            None,
        )
    }

    /// Records the server's acceptance. Call only after its 250.
    pub fn mark_sent(&self, id: i64) -> Result<(), DeliverError> {
        self.transition(
            id,
            &[OutboxStatus::Sending],
            "mark sent",
            "UPDATE outbox SET status = 'sent', sent_at = ?2, updated_at = ?2, last_error = NULL WHERE id = ?1",
            None,
        )
    }

    /// Records a failed attempt with the server's reply (or the network
    /// error): `failed` when permanent, `deferred` when a later flush may
    /// succeed.
    pub fn mark_failed(&self, id: i64, error: &str, permanent: bool) -> Result<(), DeliverError> {
        let status = if permanent { "failed" } else { "deferred" };
        self.transition(
            id,
            &[OutboxStatus::Sending],
            "mark failed",
            &format!("UPDATE outbox SET status = '{status}', last_error = ?3, updated_at = ?2 WHERE id = ?1"),
            Some(error),
        )
    }

    fn transition(
        &self,
        id: i64,
        from: &[OutboxStatus],
        op: &'static str,
        sql: &str,
        text: Option<&str>,
    ) -> Result<(), DeliverError> {
        // The status check is part of the UPDATE so two processes cannot
        // both move the same row.
        let allowed = from
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("{sql} AND status IN ({allowed})");
        let now = (self.clock)();
        let changed = match text {
            Some(t) => self.conn.execute(&sql, params![id, now, t]),
            None => self.conn.execute(&sql, params![id, now]),
        }
        .map_err(store_err(op))?;
        if changed == 0 {
            let entry = self.get(id)?;
            return Err(DeliverError::BadState {
                id,
                status: entry.status.to_string(),
                op,
            });
        }
        Ok(())
    }

    fn query(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<OutboxEntry>, DeliverError> {
        let mut stmt = self.conn.prepare(sql).map_err(store_err("prepare query"))?;
        let rows = stmt
            .query_map(params, row_to_entry)
            .map_err(store_err("query"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(store_err("read row"))?;
        Ok(rows)
    }
}

fn row_to_entry(r: &Row<'_>) -> rusqlite::Result<OutboxEntry> {
    let recipients: String = r.get(5)?;
    let status: String = r.get(8)?;
    Ok(OutboxEntry {
        id: r.get(0)?,
        job: r.get(1)?,
        period: r.get(2)?,
        team: r.get(3)?,
        message_id: r.get(4)?,
        recipients: serde_json::from_str(&recipients).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(5, rusqlite::types::Type::Text, Box::new(e))
        })?,
        subject: r.get(6)?,
        attachment: r.get(7)?,
        status: OutboxStatus::parse(&status).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                8,
                rusqlite::types::Type::Text,
                format!("unknown outbox status {status:?}").into(),
            )
        })?,
        attempts: r.get(9)?,
        last_error: r.get(10)?,
        created_at: r.get(11)?,
        updated_at: r.get(12)?,
        sent_at: r.get(13)?,
        resend: r.get(14)?,
    })
}

/// Writes a message as `<run folder>/mail/<team>.eml`, through a temporary
/// name and a rename so a reader never sees half a file. `team` must be a
/// plain id (letters, digits, `-`, `_`): it becomes a file name.
pub fn write_eml(run_folder: &Path, team: &str, eml: &[u8]) -> Result<PathBuf, DeliverError> {
    if team.is_empty()
        || !team
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(DeliverError::Invalid {
            what: format!("team id {team:?} cannot be used as a file name"),
        });
    }
    let dir = run_folder.join("mail");
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DeliverError::Io { path, source }
    };
    std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    let target = dir.join(format!("{team}.eml"));
    let temp = dir.join(format!(".{team}.eml.tmp"));
    {
        use std::io::Write as _;
        let mut file = std::fs::File::create(&temp).map_err(io_err(&temp))?;
        file.write_all(eml).map_err(io_err(&temp))?;
        file.sync_all().map_err(io_err(&temp))?;
    }
    std::fs::rename(&temp, &target).map_err(io_err(&target))?;
    Ok(target)
}
