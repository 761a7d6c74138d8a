//! The compute stage: turns what the store holds for a period into numbers a
//! report can show. KPIs (SPEC §7) are figures over the period's orders,
//! traffic, products, service and ads, with their comparisons and the sales
//! decomposition; member tiers (SPEC §9) score every member by recency,
//! frequency and money, assign segments, levels, purchase classes and
//! lifecycle stages, and derive the crm team's action lists. Computations
//! here are pure: the store streams rows in, plain values come out, and
//! nothing in this stage touches files, clocks or the network.

pub mod kpi;
pub mod tiers;
