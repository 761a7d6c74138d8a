//! Member tiers end to end on small shops whose every figure is worked out
//! by hand in the comments.

use std::collections::HashMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use storepulse::compute::tiers::{
    LevelChange, Lifecycle, MemberTier, PurchaseAggregator, PurchaseClass, TierError, TierResult,
    TierSettings, Window, compute_tiers, evaluate, sort_purchases,
};
use storepulse::model::facts::{MemberFact, Purchase};
use storepulse::period::Period;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn p(id: &str, day: &str, amount: &str) -> Purchase {
    Purchase {
        member_id: id.into(),
        day: d(day),
        net_amount: amount.parse().unwrap(),
    }
}

fn member(id: &str, birthday: Option<&str>) -> MemberFact {
    MemberFact {
        member_id: id.into(),
        joined_at: None,
        level: None,
        phone: None,
        birthday: birthday.map(d),
        gender: None,
        city: None,
        points: None,
        source: None,
    }
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn prev(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// The shop of these tests, as of 2026-10-31 with the default 365-day window
/// (2025-11-01 to 2026-10-31):
/// - a: 2026-06-30 300; 2026-10-31 100 + 150 → 2 days, 3 orders, 550, recency 0,
///   cycle 123 (Jun 30 → Oct 31).
/// - b: 2026-10-20 1000 → recency 11.
/// - c: 2025-10-31 5000 (the day before the window), 2026-08-02 200 → history 2
///   days, window 1 day and 200, recency 90, cycle 275.
/// - d: 2026-01-15 2500, 03-01 10, 05-01 40 → 3 days, 2550, recency 183, cycle 106/2 = 53.
/// - e: 2024-12-25 80 only → outside the window, recency 675.
/// - f: member export only. x: previous evaluation only.
fn shop_purchases() -> Vec<Purchase> {
    let mut v = vec![
        p("d", "2026-05-01", "40"),
        p("a", "2026-10-31", "100"),
        p("a", "2026-06-30", "300"),
        p("b", "2026-10-20", "1000"),
        p("c", "2025-10-31", "5000"),
        p("c", "2026-08-02", "200"),
        p("d", "2026-01-15", "2500"),
        p("a", "2026-10-31", "150"),
        p("d", "2026-03-01", "10"),
        p("e", "2024-12-25", "80"),
        p("a", "2026-11-01", "999"), // after as_of: not counted
    ];
    sort_purchases(&mut v);
    v
}

fn shop_members() -> Vec<MemberFact> {
    vec![
        member("f", Some("1990-11-15")),
        member("b", Some("1985-11-01")),
        member("a", Some("1985-12-01")),
    ]
}

fn shop_previous() -> HashMap<String, String> {
    prev(&[("a", "小白"), ("b", "达人"), ("c", "达人"), ("x", "素人")])
}

fn run(settings: &TierSettings) -> TierResult {
    compute_tiers(
        settings,
        d("2026-10-31"),
        "2026-11".parse::<Period>().unwrap(),
        shop_purchases(),
        shop_members(),
        shop_previous(),
    )
    .unwrap()
}

fn row<'a>(r: &'a TierResult, id: &str) -> MemberTier<'a> {
    r.row(r.find(id).unwrap_or_else(|| panic!("no row for {id}")))
}

#[test]
fn default_settings_hand_computed() {
    let r = run(&TierSettings::default());
    let ids: Vec<&str> = r.rows().map(|m| m.member_id).collect();
    assert_eq!(ids, ["a", "b", "c", "d", "e", "f", "x"]);

    // N = 4 scored (a, b, c, d), q = 5: bins by rank 1..4 are 1, 2, 4, 5.
    // Recency a0 b11 c90 d183 → bins 1 2 4 5 → R 5 4 2 1.
    // Frequency b1 c1 a2 d3 (tie b<c) → bins b1 c2 a4 d5.
    // Monetary c200 a550 b1000 d2550 → bins c1 a2 b4 d5.
    let a = row(&r, "a");
    assert_eq!(
        a,
        MemberTier {
            member_id: "a",
            first_purchase: Some(d("2026-06-30")),
            last_purchase: Some(d("2026-10-31")),
            recency_days: Some(0),
            frequency: 2,
            monetary: dec("550"),
            r_score: Some(5),
            f_score: Some(4),
            m_score: Some(2),
            segment: Some("champions"),
            level: "素人",
            level_prev: Some("小白"),
            level_change: LevelChange::Up,
            class: PurchaseClass::C,
            lifecycle: Lifecycle::Active,
            cycle_days: Some(dec("123")),
        }
    );
    let b = row(&r, "b");
    assert_eq!(
        (b.r_score, b.f_score, b.m_score),
        (Some(4), Some(1), Some(4))
    );
    assert_eq!(b.segment, Some("promising"));
    assert_eq!((b.level, b.level_change), ("达人", LevelChange::Same));
    assert_eq!(
        (b.class, b.lifecycle, b.cycle_days),
        (PurchaseClass::B, Lifecycle::Active, None)
    );

    let c = row(&r, "c");
    assert_eq!(c.first_purchase, Some(d("2025-10-31")));
    assert_eq!(
        (c.recency_days, c.frequency, c.monetary),
        (Some(90), 1, dec("200"))
    );
    assert_eq!(
        (c.r_score, c.f_score, c.m_score),
        (Some(2), Some(2), Some(1))
    );
    assert_eq!(c.segment, Some("hibernating"));
    assert_eq!(
        (c.level, c.level_prev, c.level_change),
        ("小白", Some("达人"), LevelChange::Down)
    );
    assert_eq!(
        (c.class, c.lifecycle),
        (PurchaseClass::C, Lifecycle::LowStickiness)
    );
    assert_eq!(c.cycle_days, Some(dec("275")));

    let dd = row(&r, "d");
    assert_eq!(
        (dd.r_score, dd.f_score, dd.m_score),
        (Some(1), Some(5), Some(5))
    );
    assert_eq!(dd.segment, Some("cant_lose"));
    assert_eq!(
        (dd.level, dd.level_prev, dd.level_change),
        ("红人", None, LevelChange::New)
    );
    assert_eq!(
        (dd.recency_days, dd.lifecycle, dd.cycle_days),
        (Some(183), Lifecycle::Silent, Some(dec("53")))
    );

    let e = row(&r, "e");
    assert_eq!(
        (e.recency_days, e.frequency, e.monetary),
        (Some(675), 0, Decimal::ZERO)
    );
    assert_eq!((e.r_score, e.segment), (None, None));
    assert_eq!(
        (e.class, e.lifecycle, e.level),
        (PurchaseClass::B, Lifecycle::Silent, "小白")
    );

    for id in ["f", "x"] {
        let m = row(&r, id);
        assert_eq!(
            (
                m.first_purchase,
                m.recency_days,
                m.r_score,
                m.f_score,
                m.m_score
            ),
            (None, None, None, None, None)
        );
        assert_eq!(
            (m.class, m.lifecycle, m.level, m.segment),
            (PurchaseClass::A, Lifecycle::Potential, "小白", None)
        );
    }
    assert_eq!(row(&r, "x").level_change, LevelChange::Down);
    assert_eq!(row(&r, "f").level_change, LevelChange::New);

    // Store cycle: (123 + 275 + 106) / (1 + 1 + 2) = 126; cadence round(189) = 189.
    let s = &r.summary;
    assert_eq!((s.members, s.scored), (7, 4));
    assert_eq!(s.repurchase_cycle_days, Some(dec("126")));
    assert_eq!(s.suggested_cadence_days, Some(189));

    // Actions: at risk = cant_lose d; silent d (2550) then e (0); B: b (Oct 20) then e;
    // birthdays in November 2026: b on the 1st, f on the 15th.
    let idx = |id| r.find(id).unwrap();
    assert_eq!(r.actions.at_risk_high_value, vec![idx("d")]);
    assert_eq!(r.actions.silent_to_reactivate, vec![idx("d"), idx("e")]);
    assert_eq!(r.actions.b_class_to_nudge, vec![idx("b"), idx("e")]);
    let bd: Vec<(usize, NaiveDate)> = r
        .actions
        .birthdays
        .iter()
        .map(|b| (b.member, b.on))
        .collect();
    assert_eq!(
        bd,
        vec![(idx("b"), d("2026-11-01")), (idx("f"), d("2026-11-15"))]
    );

    let json = serde_json::to_value(s).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "as_of": "2026-10-31",
            "members": 7,
            "scored": 4,
            "segments": {"champions": 1, "loyal": 0, "potential_loyalist": 0, "new": 0, "promising": 1,
                         "need_attention": 0, "about_to_sleep": 0, "cant_lose": 1, "at_risk": 0, "hibernating": 1},
            "levels": {"小白": 4, "素人": 1, "达人": 1, "红人": 1},
            "classes": {"A": 2, "B": 2, "C": 3},
            "lifecycle": {"potential": 2, "active": 2, "low_stickiness": 1, "silent": 2},
            "changes": {"up": 1, "down": 2, "same": 1, "new": 3},
            "repurchase_cycle_days": 126.0,
            "suggested_cadence_days": 189,
            "actions": {"at_risk_high_value": 1, "silent_to_reactivate": 2, "b_class_to_nudge": 2, "birthdays": 2}
        })
    );
    // Key order follows rule and level order, not the alphabet.
    let text = serde_json::to_string(s).unwrap();
    assert!(text.find("\"champions\"").unwrap() < text.find("\"hibernating\"").unwrap());
    assert!(text.find("\"小白\"").unwrap() < text.find("\"红人\"").unwrap());
}

#[test]
fn orders_and_mean_settings() {
    let s = TierSettings::from_toml("frequency = \"orders\"\nmonetary = \"mean\"").unwrap();
    let r = run(&s);
    // a: 3 orders, 550 / 3 = 183.333… → 183.33; class by orders: 3 → C.
    let a = row(&r, "a");
    assert_eq!(
        (a.frequency, a.monetary, a.class),
        (3, dec("183.33"), PurchaseClass::C)
    );
    // d: 2550 / 3 = 850.
    assert_eq!(row(&r, "d").monetary, dec("850"));
    // Levels use the window total whatever monetary says.
    assert_eq!(row(&r, "a").level, "素人");
    // Cycles count days, not orders: a still 123.
    assert_eq!(a.cycle_days, Some(dec("123")));
    // Frequency by orders: b1 c1 a3 d3 → b k1, c k2, a k3, d k4 → 1 2 4 5.
    assert_eq!((a.f_score, row(&r, "d").f_score), (Some(4), Some(5)));
}

#[test]
fn one_order_twice_a_day_is_b_by_days_and_c_by_orders() {
    let purchases = || vec![p("m", "2026-10-30", "10"), p("m", "2026-10-30", "20")];
    let go = |s: &TierSettings| {
        compute_tiers(
            s,
            d("2026-10-31"),
            "2026-11".parse().unwrap(),
            purchases(),
            vec![],
            HashMap::new(),
        )
        .unwrap()
    };
    let by_days = go(&TierSettings::default());
    assert_eq!(by_days.row(0).class, PurchaseClass::B);
    assert_eq!(by_days.row(0).cycle_days, None);
    let by_orders = go(&TierSettings::from_toml("frequency = \"orders\"").unwrap());
    assert_eq!(by_orders.row(0).class, PurchaseClass::C);
    // A single scored member lands in the middle bin: scores 3, 3, 3 (R = 6 − 3).
    let m = by_days.row(0);
    assert_eq!(
        (m.r_score, m.f_score, m.m_score),
        (Some(3), Some(3), Some(3))
    );
    assert_eq!(m.segment, Some("need_attention"));
    assert_eq!(by_days.summary.repurchase_cycle_days, None);
    assert_eq!(by_days.summary.suggested_cadence_days, None);
}

#[test]
fn threshold_scoring() {
    let s = TierSettings::from_toml(
        r#"
scoring = "thresholds"
[thresholds]
recency = [30, 60, 90, 180]
frequency = [2, 3, 5, 8]
monetary = [200, 500, "1000", 2000.0]
"#,
    )
    .unwrap();
    let r = run(&s);
    let scores = |id| {
        let m = row(&r, id);
        (
            m.r_score.unwrap(),
            m.f_score.unwrap(),
            m.m_score.unwrap(),
            m.segment.unwrap(),
        )
    };
    assert_eq!(scores("a"), (5, 2, 3, "potential_loyalist"));
    assert_eq!(scores("b"), (5, 1, 4, "new"));
    assert_eq!(scores("c"), (3, 1, 2, "about_to_sleep"));
    assert_eq!(scores("d"), (1, 3, 5, "at_risk"));
    assert_eq!(r.actions.at_risk_high_value, vec![r.find("d").unwrap()]);
}

#[test]
fn keep_level_and_downgrades() {
    let s = TierSettings::from_toml(
        r#"
[[levels]]
name = "小白"
from = 0
[[levels]]
name = "素人"
from = 499
keep = 300
multiplier = 1.2
[[levels]]
name = "达人"
from = 999
keep = 800
[[levels]]
name = "红人"
from = 1999
"#,
    )
    .unwrap();
    assert_eq!(s.levels[1].multiplier, dec("1.2"));
    let purchases = vec![
        p("p1", "2026-10-01", "850"),
        p("p2", "2026-10-01", "700"),
        p("p3", "2026-10-01", "300"),
        p("p4", "2026-10-01", "1500"),
        p("p5", "2026-10-01", "1000"),
        p("p6", "2026-10-01", "2000"),
    ];
    let previous = prev(&[
        ("p1", "达人"),
        ("p2", "达人"),
        ("p3", "素人"),
        ("p4", "红人"),
        ("p5", "金卡"),
        ("p6", "达人"),
    ]);
    let r = compute_tiers(
        &s,
        d("2026-10-31"),
        "2026-11".parse().unwrap(),
        purchases,
        vec![],
        previous,
    )
    .unwrap();
    let lv = |id| {
        let m = row(&r, id);
        (m.level, m.level_prev, m.level_change)
    };
    // 850 < 999 but ≥ keep 800: stays 达人.
    assert_eq!(lv("p1"), ("达人", Some("达人"), LevelChange::Same));
    // 700 < keep 800: falls to what 700 earns, 素人.
    assert_eq!(lv("p2"), ("素人", Some("达人"), LevelChange::Down));
    // Exactly the keep threshold keeps the level.
    assert_eq!(lv("p3"), ("素人", Some("素人"), LevelChange::Same));
    // 红人 has no keep threshold: 1500 earns 达人.
    assert_eq!(lv("p4"), ("达人", Some("红人"), LevelChange::Down));
    // A level name no longer configured cannot be compared.
    assert_eq!(lv("p5"), ("达人", Some("金卡"), LevelChange::New));
    assert_eq!(lv("p6"), ("红人", Some("达人"), LevelChange::Up));
}

#[test]
fn lifecycle_boundaries_follow_config() {
    let s =
        TierSettings::from_toml("[lifecycle]\nactive_days = 7\nlow_stickiness_days = 14").unwrap();
    let purchases = vec![
        p("r07", "2026-10-24", "1"),
        p("r08", "2026-10-23", "1"),
        p("r14", "2026-10-17", "1"),
        p("r15", "2026-10-16", "1"),
    ];
    let r = compute_tiers(
        &s,
        d("2026-10-31"),
        "2026-11".parse().unwrap(),
        purchases,
        vec![],
        HashMap::new(),
    )
    .unwrap();
    let life: Vec<(Option<u32>, Lifecycle)> =
        r.rows().map(|m| (m.recency_days, m.lifecycle)).collect();
    assert_eq!(
        life,
        vec![
            (Some(7), Lifecycle::Active),
            (Some(8), Lifecycle::LowStickiness),
            (Some(14), Lifecycle::LowStickiness),
            (Some(15), Lifecycle::Silent)
        ]
    );
}

#[test]
fn window_all_and_short_window() {
    // With window = all, c's 5000 before 2025-11-01 counts.
    let all = run(&TierSettings::from_toml("window_days = \"all\"").unwrap());
    let c = row(&all, "c");
    assert_eq!((c.frequency, c.monetary, c.level), (2, dec("5200"), "红人"));
    // e is scored too now: 5 members.
    assert_eq!(all.summary.scored, 5);

    // A one-day window holds only a's purchases on as_of.
    let one = run(&TierSettings::from_toml("window_days = 1").unwrap());
    assert_eq!(one.summary.scored, 1);
    let a = row(&one, "a");
    assert_eq!((a.frequency, a.monetary), (1, dec("250")));
    // b bought 11 days ago: no window purchase, but still a B-class active buyer.
    let b = row(&one, "b");
    assert_eq!(
        (b.r_score, b.class, b.lifecycle),
        (None, PurchaseClass::B, Lifecycle::Active)
    );
}

#[test]
fn birthdays_on_leap_days_and_across_the_year_end() {
    let members = || {
        vec![
            member("leap", Some("2000-02-29")),
            member("jan2", Some("1990-01-02")),
            member("feb28", Some("1991-02-28")),
            member("nobday", None),
        ]
    };
    let on = |coming: Period| {
        let agg = || {
            let mut agg = PurchaseAggregator::new(d("2026-10-31"), Window::All);
            agg.push("jan2", d("2026-10-01"), Decimal::ONE).unwrap();
            agg.finish()
        };
        let none = || HashMap::<String, String>::new().into_iter().collect();
        let settings = TierSettings::default();
        let r = evaluate(&settings, agg(), members(), none(), coming);
        // The store's light form, (id, birthday) pairs, evaluates alike.
        let pairs: Vec<(String, Option<NaiveDate>)> = members()
            .into_iter()
            .map(|m| (m.member_id, m.birthday))
            .collect();
        let light = evaluate(&settings, agg(), pairs, none(), coming);
        assert_eq!(light.actions, r.actions);
        assert_eq!(
            light.rows().collect::<Vec<_>>(),
            r.rows().collect::<Vec<_>>()
        );
        r.actions
            .birthdays
            .iter()
            .map(|b| (r.row(b.member).member_id.to_string(), b.on))
            .collect::<Vec<_>>()
    };
    // 2027 is a common year: the leap-day birthday falls on 28 February, with feb28.
    assert_eq!(
        on("2027-02".parse().unwrap()),
        vec![
            ("feb28".to_string(), d("2027-02-28")),
            ("leap".to_string(), d("2027-02-28"))
        ]
    );
    assert_eq!(
        on("2028-02".parse().unwrap()),
        vec![
            ("feb28".to_string(), d("2028-02-28")),
            ("leap".to_string(), d("2028-02-29"))
        ]
    );
    // The week 2026-12-28 .. 2027-01-03 spans the year end.
    assert_eq!(
        on("2026-W53".parse().unwrap()),
        vec![("jan2".to_string(), d("2027-01-02"))]
    );
    assert_eq!(on("2026-11".parse().unwrap()), vec![]);
}

#[test]
fn no_purchases_at_all() {
    let r = compute_tiers(
        &TierSettings::default(),
        d("2026-10-31"),
        "2026-11".parse().unwrap(),
        Vec::new(),
        vec![member("z", None), member("y", None), member("z", None)],
        HashMap::new(),
    )
    .unwrap();
    assert_eq!(r.len(), 2);
    assert_eq!(r.summary.scored, 0);
    assert!(
        r.rows()
            .all(|m| m.class == PurchaseClass::A && m.lifecycle == Lifecycle::Potential)
    );
}

#[test]
fn unsorted_stream_is_an_error_naming_the_position() {
    let err = compute_tiers(
        &TierSettings::default(),
        d("2026-10-31"),
        "2026-11".parse().unwrap(),
        vec![p("b", "2026-10-01", "1"), p("a", "2026-10-01", "1")],
        vec![],
        HashMap::new(),
    )
    .unwrap_err();
    assert!(matches!(err, TierError::Unsorted { index: 2, .. }));
    assert!(
        err.to_string().contains("purchase 2: member \"a\""),
        "{err}"
    );
}

#[test]
fn many_distinct_previous_level_names() {
    // More names than the short interning scan handles: each row must still
    // show its own previous name, and the configured ones still compare.
    let mut previous: Vec<(String, String)> = (0..40)
        .map(|i| (format!("m{i:02}"), format!("旧等级{i}")))
        .collect();
    previous.push(("n1".into(), "达人".into()));
    previous.push(("n2".into(), "旧等级3".into()));
    let previous: HashMap<String, String> = previous.into_iter().collect();
    let purchases = vec![p("n1", "2026-10-01", "100")];
    let r = compute_tiers(
        &TierSettings::default(),
        d("2026-10-31"),
        "2026-11".parse().unwrap(),
        purchases,
        vec![],
        previous.clone(),
    )
    .unwrap();
    assert_eq!(r.len(), 42);
    for m in r.rows() {
        assert_eq!(
            m.level_prev,
            Some(previous[m.member_id].as_str()),
            "{}",
            m.member_id
        );
        let want = if m.member_id == "n1" {
            LevelChange::Down
        } else {
            LevelChange::New
        };
        assert_eq!(m.level_change, want, "{}", m.member_id);
    }
}

#[test]
fn previous_levels_as_an_unsorted_stream_with_a_duplicate() {
    let previous = vec![
        ("b".to_string(), "达人".to_string()),
        ("a".to_string(), "小白".to_string()),
        ("b".to_string(), "红人".to_string()),
    ];
    let r = compute_tiers(
        &TierSettings::default(),
        d("2026-10-31"),
        "2026-11".parse().unwrap(),
        vec![p("a", "2026-10-01", "600")],
        vec![],
        previous,
    )
    .unwrap();
    let rows: Vec<(&str, &str, Option<&str>, LevelChange)> = r
        .rows()
        .map(|m| (m.member_id, m.level, m.level_prev, m.level_change))
        .collect();
    // The first entry for b wins.
    assert_eq!(
        rows,
        vec![
            ("a", "素人", Some("小白"), LevelChange::Up),
            ("b", "小白", Some("达人"), LevelChange::Down)
        ]
    );
}
