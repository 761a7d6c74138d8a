//! The render stage: workbooks, summary.json and member_tiers.csv.

pub mod tiers_csv;
