//! Scale profiles. The same generator serves the committed sample and the
//! large benchmark store; only these numbers differ.

#[derive(Debug, Clone)]
pub struct Profile {
    pub name: &'static str,
    pub shop: &'static str,
    /// Orders on an average weekday at the window start.
    pub base_orders: f64,
    /// Linear growth of `base_orders` per day.
    pub growth_per_day: f64,
    pub skus: usize,
    /// Members who joined before the window (listed in the first day's file).
    pub pre_members: u64,
    /// Share of new buyers (percent) who join the membership at their first order.
    pub member_join_percent: u64,
    /// Members per day who sign up without buying.
    pub signups_per_day: f64,
    pub campaigns: usize,
    pub sources: usize,
    pub agents: usize,
    /// How many recent buyers festival days can draw back.
    pub recent_buyers: usize,
    /// Stream worksheets row by row (rust_xlsxwriter constant memory mode).
    pub constant_memory: bool,
    /// Keep the set of buyers seen, to report their count (small stores only).
    pub count_buyers: bool,
}

pub fn sample() -> Profile {
    Profile {
        name: "sample",
        shop: "拾光服饰旗舰店",
        base_orders: 240.0,
        growth_per_day: 0.0028,
        skus: 150,
        pre_members: 6000,
        member_join_percent: 45,
        signups_per_day: 8.0,
        campaigns: 15,
        sources: 12,
        agents: 6,
        recent_buyers: 20_000,
        constant_memory: false,
        count_buyers: true,
    }
}

/// About 10 M orders a year, 2 M members, 20 k SKUs, 200 campaigns and 30
/// traffic sources (the SPEC's benchmark store).
pub fn large() -> Profile {
    Profile {
        name: "large",
        shop: "拾光服饰旗舰店",
        base_orders: 23_000.0,
        growth_per_day: 0.0008,
        skus: 20_000,
        pre_members: 500_000,
        member_join_percent: 30,
        signups_per_day: 600.0,
        campaigns: 200,
        sources: 30,
        agents: 40,
        recent_buyers: 500_000,
        constant_memory: true,
        count_buyers: false,
    }
}
