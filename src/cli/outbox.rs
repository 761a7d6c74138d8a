//! `outbox [list | flush]`: what the durable outbox holds, and sending it.
//!
//! `list` is the default. `flush` makes one attempt for every message still
//! waiting (queued, deferred, or interrupted while sending) and exits 4 when
//! any of them is still not accepted, so a cron wrapper notices.

use chrono::{DateTime, Utc};

use super::args::OutboxAction;
use super::commands::runtime;
use super::{exit, print_error};
use crate::config::{Config, DeliveryMode};
use crate::deliver::{Outbox, OutboxEntry, SmtpMailer, flush};
use crate::run::{self, RunError};

pub fn outbox(config: &Config, action: Option<OutboxAction>) -> u8 {
    let store = match run::open_store(config) {
        Ok(s) => s,
        Err(e) => {
            print_error(&e);
            return e.exit_code();
        }
    };
    let outbox = Outbox::new(store.connection());
    match action.unwrap_or(OutboxAction::List) {
        OutboxAction::List => list(&outbox),
        OutboxAction::Flush => flush_all(config, &outbox),
    }
}

fn list(outbox: &Outbox<'_>) -> u8 {
    let entries = match outbox.list(None) {
        Ok(e) => e,
        Err(e) => {
            print_error(&e);
            return exit::INPUT;
        }
    };
    put_raw!("{}", table(&entries));
    exit::OK
}

/// The `outbox list` table, newest first.
pub fn table(entries: &[OutboxEntry]) -> String {
    let mut out = format!(
        "{:>5}  {:<18} {:<10} {:<16} {:<10} {:>8}  {:<20} last error\n",
        "id", "job", "period", "team", "status", "attempts", "created"
    );
    for e in entries {
        let created = DateTime::<Utc>::from_timestamp(e.created_at, 0)
            .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_else(|| e.created_at.to_string());
        // One line per message: a multi-line server reply is folded.
        let error = e
            .last_error
            .as_deref()
            .unwrap_or("")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        out.push_str(&format!(
            "{:>5}  {:<18} {:<10} {:<16} {:<10} {:>8}  {:<20} {}\n",
            e.id, e.job, e.period, e.team, e.status, e.attempts, created, error
        ));
    }
    out
}

fn flush_all(config: &Config, outbox: &Outbox<'_>) -> u8 {
    if config.delivery != DeliveryMode::Smtp {
        say!(
            "error: delivery is \"outbox-only\": nothing is sent; set delivery = \"smtp\" and an [smtp] section to send the outbox"
        );
        return exit::USAGE;
    }
    let smtp = match run::smtp_config(config) {
        Ok(Some(s)) => s,
        Ok(None) => return exit::USAGE,
        Err(e) => {
            report(&e);
            return e.exit_code();
        }
    };
    let mailer = match SmtpMailer::new(&smtp) {
        Ok(m) => m,
        Err(e) => {
            print_error(&e);
            return exit::DELIVERY;
        }
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    match rt.block_on(flush(outbox, &mailer)) {
        Ok(r) => {
            say!(
                "outbox flush: {} sent, {} deferred, {} failed",
                r.sent.len(),
                r.deferred.len(),
                r.failed.len()
            );
            for (id, error) in r.deferred.iter().chain(&r.failed) {
                say!("  {id}: {error}");
            }
            if r.all_sent() {
                exit::OK
            } else {
                exit::DELIVERY
            }
        }
        Err(e) => {
            print_error(&e);
            exit::DELIVERY
        }
    }
}

fn report(e: &RunError) {
    match e {
        RunError::Config(errors) => say_raw!("{errors}"),
        other => print_error(other),
    }
}
