//! Where exports come from (SPEC §4.1): the inbox drop folder, HTTP, and
//! `import` of multi-day files; every ingested file is archived first.
//!
//! This stage finds files and decides which need ingesting; it never parses
//! them (that is `parse`) and never writes rows (that is `store`).

pub mod pattern;
