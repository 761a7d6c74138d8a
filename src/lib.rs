//! storepulse: a batch ETL job runner and scheduled report generator for
//! e-commerce operations teams.
//!
//! The pipeline is the architecture. Each stage lives in its own folder and
//! talks to its neighbours through plain data types:
//!
//! `source` (inbox, HTTP, import, archive) → `parse` (formats, encodings,
//! headers, values) → `check` (data and business checks) → `store` (SQLite)
//! → `compute` (KPIs, member tiers) → `render` (workbooks, summary.json) →
//! `deliver` (email through a durable outbox).
//!
//! `run` strings the stages together for one job and period; `schedule`
//! decides when runs happen; `cli` is the command line on top. `model` holds
//! the shared vocabulary (datasets, fields, values) and `period` the
//! reporting periods every stage speaks of.

pub mod check;
pub mod cli;
pub mod compute;
pub mod config;
pub mod deliver;
pub mod model;
pub mod parse;
pub mod period;
pub mod render;
pub mod run;
pub mod schedule;
pub mod source;
pub mod store;
