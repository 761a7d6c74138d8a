//! Computations over facts loaded from the store: the KPIs of SPEC §7 with
//! their comparisons and the sales decomposition, and the member tiers of
//! SPEC §9. Everything here is pure: facts in, numbers out, no I/O.

pub mod kpi;
