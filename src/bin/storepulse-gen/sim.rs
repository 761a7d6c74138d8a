//! The day-by-day simulation. Each day draws the orders created that day
//! (repeat buyers whose next purchase is due, buyers drawn back by festivals,
//! new buyers, presale deposits), settles stock, and books every payment on
//! the day it is paid, so that day's traffic, product and service figures
//! agree with the orders. Only the day's rows and a few bounded queues are
//! held in memory; each day's files are written before the next day starts.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime};
use rust_decimal::Decimal;

use crate::GenError;
use crate::calendar::{
    event_factor, hour_weights, presale_balance_day, season_factor, weekday_factor,
};
use crate::catalog::{
    Agent, CATEGORIES, Campaign, SOURCES, Sku, SkuKind, build_agents, build_campaigns, build_skus,
};
use crate::out::{
    Cell, Sheet, Table, dir, pct, write_gbk, write_utf8, write_utf16le, write_xlsx, yuan,
    yuan_decorated,
};
use crate::people::{Habit, joins_at_first_order, legacy_level, person};
use crate::profile::Profile;
use crate::rng::{Rng, hash};

const ORDER_HEADER: [&str; 11] = [
    "订单编号",
    "买家会员名",
    "买家实际支付金额",
    "订单状态",
    "订单创建时间",
    "订单付款时间",
    "退款金额",
    "宝贝总数量",
    "总金额",
    "店铺名称",
    "联系手机",
];
const ITEM_HEADER: [&str; 5] = ["订单编号", "标题", "价格", "购买数量", "商家编码"];
const MEMBER_HEADER: [&str; 9] = [
    "会员ID",
    "入会时间",
    "会员等级",
    "手机号",
    "生日",
    "性别",
    "城市",
    "积分",
    "入会渠道",
];
const SERVICE_HEADER: [&str; 7] = [
    "日期",
    "客服昵称",
    "咨询人数",
    "询单转化人数",
    "客服销售额",
    "平均响应时间",
    "满意率",
];
const ADS_HEADER: [&str; 9] = [
    "日期",
    "推广渠道",
    "计划名称",
    "花费",
    "展现量",
    "点击量",
    "总购物车数",
    "总成交笔数",
    "总成交金额",
];
const TRAFFIC_HEADER: [&str; 11] = [
    "统计日期",
    "流量来源",
    "访客数",
    "浏览量",
    "跳失率",
    "平均停留时长",
    "加购人数",
    "下单买家数",
    "支付买家数",
    "支付金额",
    "新增粉丝数",
];
const PRODUCT_HEADER: [&str; 18] = [
    "统计日期",
    "商品ID",
    "商品名称",
    "类目",
    "商品状态",
    "价格",
    "成本价",
    "可售库存",
    "商品访客数",
    "商品浏览量",
    "商品加购人数",
    "商品收藏人数",
    "支付买家数",
    "支付件数",
    "支付金额",
    "成功退款金额",
    "详情页跳出率",
    "上架时间",
];

const TS: &str = "%Y-%m-%d %H:%M:%S";

/// What one generation run produced, for the operator's summary.
#[derive(Debug, Default)]
pub struct Summary {
    pub days: u64,
    pub orders: u64,
    pub paid_orders: u64,
    pub unpaid_open: u64,
    pub closed: u64,
    pub members: u64,
    pub buyers: Option<u64>,
    pub orders_per_day: BTreeMap<NaiveDate, u64>,
    pub gross_per_day: BTreeMap<NaiveDate, Decimal>,
}

#[derive(Debug, Default)]
struct SkuPaid {
    units: u64,
    amount: Decimal,
    refund: Decimal,
    buyers: Vec<u64>,
}

/// Everything paid on one day, whatever day the order was created.
#[derive(Debug, Default)]
struct DayPaid {
    amount: Decimal,
    orders: u64,
    buyers: Vec<u64>,
    skus: BTreeMap<usize, SkuPaid>,
}

struct Line {
    sku: usize,
    qty: u32,
}

struct Planned {
    created: NaiveDateTime,
    buyer: u64,
    first_order: bool,
    fresh: bool,
    presale: bool,
}

pub struct Generator {
    p: Profile,
    seed: u64,
    start: NaiveDate,
    end: NaiveDate,
    out: PathBuf,
    skus: Vec<Sku>,
    campaigns: Vec<Campaign>,
    agents: Vec<Agent>,
    next_person: u64,
    next_pre: u64,
    pre_limit: u64,
    order_seq: u64,
    due: BTreeMap<i64, Vec<u64>>,
    recent: Vec<u64>,
    recent_pos: usize,
    pending: BTreeMap<NaiveDate, DayPaid>,
    buyers_seen: Option<std::collections::BTreeSet<u64>>,
    months: BTreeMap<(i32, u32), (Decimal, u64, u32)>,
    summary: Summary,
}

fn money(yuan_value: f64) -> Decimal {
    Decimal::new((yuan_value * 100.0 + 0.5) as i64, 2)
}

fn order_id(seed: u64, seq: u64) -> String {
    let h = hash(seed, &[0x004f_5244_4552, seq]);
    let lead = 1 + h % 5;
    // An affine bijection on 15 digits keeps ids unique while looking random.
    let mid = ((u128::from(seq) * 386_907_195_731_113 + 271_828_182_845_904)
        % 1_000_000_000_000_000) as u64;
    let tail = (h >> 20) % 1000;
    match (h >> 8) % 10 {
        0 | 1 => format!("{lead}{mid:015}"),
        2..=4 => format!("{lead}{mid:015}{:02}", tail % 100),
        _ => format!("{lead}{mid:015}{tail:03}"),
    }
}

/// Splits `total` over `weights` in cents, the last part taking the rounding.
fn allocate(total: Decimal, weights: &[Decimal]) -> Vec<Decimal> {
    let sum: Decimal = weights.iter().copied().sum();
    let mut out = Vec::with_capacity(weights.len());
    let mut left = total;
    for (i, w) in weights.iter().enumerate() {
        if i + 1 == weights.len() || sum.is_zero() {
            out.push(left);
            left = Decimal::ZERO;
        } else {
            let part = (total * *w / sum).round_dp(2);
            out.push(part);
            left -= part;
        }
    }
    out
}

fn day_start(d: NaiveDate) -> NaiveDateTime {
    d.and_time(NaiveTime::MIN)
}

fn shipped_status(age: i64, rng: &mut Rng) -> &'static str {
    const WAITING: &str = "买家已付款,等待卖家发货";
    const SHIPPED: &str = "卖家已发货";
    const DONE: &str = "交易成功";
    match age {
        i64::MIN..=0 => {
            if rng.chance(0.15) {
                SHIPPED
            } else {
                WAITING
            }
        }
        1 => {
            if rng.chance(0.6) {
                SHIPPED
            } else {
                WAITING
            }
        }
        2..=6 => {
            if rng.chance(age as f64 * 0.06) {
                DONE
            } else {
                SHIPPED
            }
        }
        7..=13 => {
            if rng.chance(0.4 + (age - 7) as f64 * 0.08) {
                DONE
            } else {
                SHIPPED
            }
        }
        _ => DONE,
    }
}

impl Generator {
    pub fn new(p: Profile, seed: u64, start: NaiveDate, end: NaiveDate, out: &Path) -> Self {
        let days = (end - start).num_days() + 1;
        let mut rng = Rng::stream(seed, &[1]);
        let skus = build_skus(&mut rng, p.skus, start, days, p.base_orders);
        let campaigns = build_campaigns(&mut Rng::stream(seed, &[2]), p.campaigns);
        let agents = build_agents(&mut Rng::stream(seed, &[3]), p.shop, p.agents);
        // The shop has history: some members who joined earlier are already
        // repeat buyers and come back during the window.
        let warm = p.pre_members / 2;
        let pre_limit = p.pre_members - warm;
        let mut due: BTreeMap<i64, Vec<u64>> = BTreeMap::new();
        let mut wr = Rng::stream(seed, &[4]);
        for idx in pre_limit..p.pre_members {
            let who = person(seed, idx);
            if who.habit != Habit::Once && wr.chance(0.85) {
                due.entry(wr.range(0, who.cycle_days - 1))
                    .or_default()
                    .push(idx);
            }
        }
        Generator {
            buyers_seen: p.count_buyers.then(Default::default),
            next_person: p.pre_members,
            next_pre: 0,
            pre_limit,
            order_seq: 0,
            due,
            recent: Vec::new(),
            recent_pos: 0,
            pending: BTreeMap::new(),
            months: BTreeMap::new(),
            summary: Summary::default(),
            p,
            seed,
            start,
            end,
            out: out.to_path_buf(),
            skus,
            campaigns,
            agents,
        }
    }

    pub fn run(mut self) -> Result<Summary, GenError> {
        let inbox = dir(&self.out.join("inbox"))?;
        let mut day = self.start;
        while day <= self.end {
            self.day(&inbox, day)?;
            day += Duration::days(1);
        }
        self.write_targets()?;
        self.write_traffic_types()?;
        self.summary.buyers = self.buyers_seen.as_ref().map(|s| s.len() as u64);
        Ok(self.summary)
    }

    fn remember(&mut self, buyer: u64) {
        if self.recent.len() < self.p.recent_buyers {
            self.recent.push(buyer);
        } else if !self.recent.is_empty() {
            self.recent[self.recent_pos] = buyer;
            self.recent_pos = (self.recent_pos + 1) % self.recent.len();
        }
    }

    fn new_buyer(&mut self, rng: &mut Rng) -> (u64, bool) {
        if self.next_pre < self.pre_limit && rng.chance(0.2) {
            self.next_pre += 1;
            (self.next_pre - 1, false)
        } else {
            self.next_person += 1;
            (self.next_person - 1, true)
        }
    }

    fn day(&mut self, inbox: &Path, day: NaiveDate) -> Result<(), GenError> {
        let di = (day - self.start).num_days();
        let ymd = day.format("%Y%m%d").to_string();
        let date = day.format("%Y-%m-%d").to_string();
        let folder = dir(&inbox.join(&date))?;
        let mut rng = Rng::stream(self.seed, &[10, di as u64]);

        // Stock arriving today, and what can be sold.
        for s in &mut self.skus {
            if let Some((arrive, qty)) = s.incoming
                && arrive <= di
            {
                s.stock += qty;
                s.incoming = None;
            }
        }
        let day_end = day_start(day + Duration::days(1));
        let eff: Vec<f64> = self
            .skus
            .iter()
            .map(|s| {
                if s.listed_by(day_end) && s.online(di) {
                    s.weight * season_factor(CATEGORIES[s.cat].cold, day)
                } else {
                    0.0
                }
            })
            .collect();
        let mut cum = Vec::with_capacity(eff.len());
        let mut acc = 0.0;
        for w in &eff {
            acc += w;
            cum.push(acc);
        }

        // How many orders, and from whom.
        let ev = event_factor(day);
        let base =
            self.p.base_orders * (1.0 + self.p.growth_per_day * di as f64) * weekday_factor(day);
        let base = base * (1.0 + 0.05 * rng.normalish());
        let target = (base * ev) as u64;
        let mut due = self.due.remove(&di).unwrap_or_default();
        let cap = (target as f64 * 0.7) as usize;
        if due.len() > cap {
            let later = due.split_off(cap);
            self.due.entry(di + 1).or_default().extend(later);
        }
        let bonus = if ev > 1.2 && !self.recent.is_empty() {
            rng.around((target as f64 - base) * 0.25, 0.1)
        } else {
            0
        };
        let fresh_n = target.saturating_sub(due.len() as u64 + bonus);
        let presale_n = if presale_balance_day(day).is_some() {
            rng.around(base * 0.12, 0.15)
        } else {
            0
        };

        let hours = hour_weights(day);
        let mut plan: Vec<Planned> = Vec::with_capacity(target as usize + presale_n as usize);
        let stamp = |rng: &mut Rng| {
            let h = rng.weighted(hours) as i64;
            day_start(day) + Duration::seconds(h * 3600 + rng.range(0, 3599))
        };
        for b in due {
            plan.push(Planned {
                created: stamp(&mut rng),
                buyer: b,
                first_order: false,
                fresh: false,
                presale: false,
            });
        }
        for _ in 0..bonus {
            let b = *rng.pick(&self.recent);
            plan.push(Planned {
                created: stamp(&mut rng),
                buyer: b,
                first_order: false,
                fresh: false,
                presale: false,
            });
        }
        for _ in 0..fresh_n {
            let (b, fresh) = self.new_buyer(&mut rng);
            plan.push(Planned {
                created: stamp(&mut rng),
                buyer: b,
                first_order: true,
                fresh,
                presale: false,
            });
        }
        for _ in 0..presale_n {
            let (b, first, fresh) = if !self.recent.is_empty() && rng.chance(0.5) {
                (*rng.pick(&self.recent), false, false)
            } else {
                let (b, fresh) = self.new_buyer(&mut rng);
                (b, true, fresh)
            };
            plan.push(Planned {
                created: stamp(&mut rng),
                buyer: b,
                first_order: first,
                fresh,
                presale: true,
            });
        }
        plan.sort_by_key(|p| p.created);

        // Members joining today: the history on the first day, then new ones.
        let mut members = Table::new(',', "\r\n");
        let mut member_rows = 0u64;
        let member_path = folder.join(format!("会员列表_{ymd}.csv"));
        let mut member_file = None;
        if di == 0 {
            member_file = Some(self.write_member_history(&member_path)?);
        } else {
            members.row(&MEMBER_HEADER);
        }

        let refund_style = hash(self.seed, &[11, di as u64]) % 3;
        let mut orders = Table::new(',', "\r\n");
        orders.row(&ORDER_HEADER);
        let mut items = Table::new(',', "\r\n");
        items.row(&ITEM_HEADER);
        let mut units_today = vec![0u64; self.skus.len()];
        let mut creators: Vec<u64> = Vec::with_capacity(plan.len());
        let total_w = acc;

        for pl in &plan {
            let who = person(self.seed, pl.buyer);
            // Lines: distinct SKUs with stock.
            let n_lines = if pl.presale {
                1 + rng.weighted(&[85, 15])
            } else {
                1 + rng.weighted(&[70, 22, 8])
            };
            let mut lines: Vec<Line> = Vec::with_capacity(n_lines);
            for _ in 0..n_lines {
                let qty = 1 + rng.weighted(&[90, 8, 2]) as u32;
                for _attempt in 0..12 {
                    if total_w <= 0.0 {
                        break;
                    }
                    let r = rng.unit() * total_w;
                    let k = cum.partition_point(|c| *c <= r).min(cum.len() - 1);
                    if eff[k] > 0.0
                        && self.skus[k].stock >= i64::from(qty)
                        && !lines.iter().any(|l| l.sku == k)
                    {
                        self.skus[k].stock -= i64::from(qty);
                        units_today[k] += u64::from(qty);
                        lines.push(Line { sku: k, qty });
                        break;
                    }
                }
            }
            if lines.is_empty() {
                continue;
            }
            self.order_seq += 1;
            let id = order_id(self.seed, self.order_seq);
            let line_totals: Vec<Decimal> = lines
                .iter()
                .map(|l| self.skus[l.sku].price * Decimal::from(l.qty))
                .collect();
            let total: Decimal = line_totals.iter().copied().sum();
            let qty: u32 = lines.iter().map(|l| l.qty).sum();
            let mut discount = Decimal::ZERO;
            if ev >= 1.5 || pl.presale {
                discount += (total / Decimal::from(300)).floor() * Decimal::from(50);
                if rng.chance(0.5) {
                    discount += Decimal::from(20);
                }
                if pl.presale {
                    discount += Decimal::from(30 * lines.len() as i64);
                }
            } else {
                if total >= Decimal::from(299) && rng.chance(0.5) {
                    discount += Decimal::from(30);
                } else if total >= Decimal::from(199) && rng.chance(0.4) {
                    discount += Decimal::from(20);
                }
                if rng.chance(0.15) {
                    discount += Decimal::from(5 * rng.range(1, 2));
                }
            }
            let paid_amount = (total - discount).max((total / Decimal::from(2)).round_dp(2));

            // Payment and the status as of the end of the window.
            let mut paid_at: Option<NaiveDateTime> = None;
            let never_pays = rng.chance(if pl.presale { 0.06 } else { 0.02 });
            if pl.presale {
                if let Some(b) = presale_balance_day(day)
                    && b <= self.end
                    && !never_pays
                {
                    let secs = if rng.chance(0.75) {
                        rng.range(0, 7199)
                    } else {
                        rng.range(7200, 86_399)
                    };
                    paid_at = Some(day_start(b) + Duration::seconds(secs));
                }
            } else if !never_pays {
                let r = rng.unit();
                let delay = if r < 0.7 {
                    rng.range(5, 120)
                } else if r < 0.95 {
                    rng.range(120, 1200)
                } else {
                    rng.range(1200, 10_800)
                };
                let last = day_start(self.end + Duration::days(1)) - Duration::seconds(1);
                paid_at = Some((pl.created + Duration::seconds(delay)).min(last));
            }
            let (status, refund, refund_done) = match paid_at {
                None => {
                    let awaiting_balance =
                        pl.presale && presale_balance_day(day).is_some_and(|b| b > self.end);
                    if awaiting_balance || (self.end - day).num_days() <= 1 {
                        self.summary.unpaid_open += 1;
                        ("等待买家付款", Decimal::ZERO, false)
                    } else {
                        self.summary.closed += 1;
                        ("交易关闭", Decimal::ZERO, false)
                    }
                }
                Some(t) => {
                    let age = (self.end - t.date()).num_days();
                    let r = rng.unit();
                    if r < 0.02 {
                        if age >= 2 {
                            self.summary.closed += 1;
                            ("交易关闭", paid_amount, true)
                        } else {
                            ("退款中", paid_amount, false)
                        }
                    } else if r < 0.06 {
                        let part = if lines.len() > 1 {
                            allocate(paid_amount, &line_totals)[lines.len() - 1]
                        } else {
                            (paid_amount * Decimal::new(rng.range(10, 40), 2)).round_dp(0)
                        };
                        let part = part
                            .min(paid_amount - Decimal::new(1, 2))
                            .max(Decimal::new(1, 2));
                        if age < 2 {
                            ("退款中", part, false)
                        } else {
                            (shipped_status(age, &mut rng), part, true)
                        }
                    } else if r < 0.065 && age <= 20 {
                        (
                            "退款中",
                            (paid_amount * Decimal::new(rng.range(30, 100), 2)).round_dp(2),
                            false,
                        )
                    } else {
                        (shipped_status(age, &mut rng), Decimal::ZERO, false)
                    }
                }
            };

            // Book the payment on the day it happened.
            if let Some(t) = paid_at {
                self.summary.paid_orders += 1;
                let shares = allocate(paid_amount, &line_totals);
                let refunds = if refund_done {
                    allocate(refund, &line_totals)
                } else {
                    vec![Decimal::ZERO; lines.len()]
                };
                let dp = self.pending.entry(t.date()).or_default();
                dp.amount += paid_amount;
                dp.orders += 1;
                dp.buyers.push(pl.buyer);
                for (i, l) in lines.iter().enumerate() {
                    let sp = dp.skus.entry(l.sku).or_default();
                    sp.units += u64::from(l.qty);
                    sp.amount += shares[i];
                    sp.refund += refunds[i];
                    sp.buyers.push(pl.buyer);
                }
            }

            // Membership at the first order, and the next visit.
            if pl.first_order
                && pl.fresh
                && joins_at_first_order(self.seed, pl.buyer, self.p.member_join_percent)
            {
                let join = (pl.created + Duration::seconds(rng.range(60, 600)))
                    .min(day_end - Duration::seconds(1));
                let points = paid_amount.trunc().to_string();
                let phone = who.phone.clone();
                let birthday = who
                    .birthday
                    .map(|b| b.format("%Y-%m-%d").to_string())
                    .unwrap_or_default();
                members.row(&[
                    who.nick.as_str(),
                    &join.format(TS).to_string(),
                    "小白",
                    &phone,
                    &birthday,
                    who.gender,
                    who.city,
                    &points,
                    if rng.chance(0.5) {
                        "订单完成页"
                    } else {
                        who.join_channel
                    },
                ]);
                member_rows += 1;
            }
            if paid_at.is_some() || pl.presale {
                let back = match who.habit {
                    Habit::Once => rng.chance(0.08).then(|| rng.range(30, 80)),
                    _ => rng
                        .chance(who.keep_probability)
                        .then(|| who.cycle_days + rng.range(-3, 3)),
                };
                if let Some(gap) = back {
                    self.due.entry(di + gap.max(1)).or_default().push(pl.buyer);
                }
                self.remember(pl.buyer);
            }
            creators.push(pl.buyer);
            if let Some(seen) = self.buyers_seen.as_mut() {
                seen.insert(pl.buyer);
            }

            let refund_text = if refund.is_zero() {
                match refund_style {
                    0 => "0".to_string(),
                    1 => "无退款申请".to_string(),
                    _ => "0.00".to_string(),
                }
            } else {
                yuan(refund)
            };
            let quoted_id = format!("=\"{id}\"");
            orders.row(&[
                quoted_id.as_str(),
                &who.nick,
                &yuan(paid_amount),
                status,
                &pl.created.format(TS).to_string(),
                &paid_at
                    .map(|t| t.format(TS).to_string())
                    .unwrap_or_default(),
                &refund_text,
                &qty.to_string(),
                &yuan(total),
                self.p.shop,
                &who.phone,
            ]);
            for l in &lines {
                let s = &self.skus[l.sku];
                items.row(&[
                    quoted_id.as_str(),
                    &s.title,
                    &yuan(s.price),
                    &l.qty.to_string(),
                    &s.id,
                ]);
            }
            self.summary.orders += 1;
            *self.summary.orders_per_day.entry(day).or_default() += 1;
        }

        // Each dataset below draws from its own stream, so changing one file's
        // shape leaves the others' bytes alone.
        let stream = |k: u64| Rng::stream(self.seed, &[k, di as u64]);
        let mut rng = stream(20);

        // Members who sign up without buying.
        let signups = rng.around(self.p.signups_per_day, 0.3);
        for _ in 0..signups {
            self.next_person += 1;
            let idx = self.next_person - 1;
            let who = person(self.seed, idx);
            let join = day_start(day) + Duration::seconds(rng.range(7 * 3600, 86_399));
            let birthday = who
                .birthday
                .map(|b| b.format("%Y-%m-%d").to_string())
                .unwrap_or_default();
            members.row(&[
                who.nick.as_str(),
                &join.format(TS).to_string(),
                "小白",
                &who.phone,
                &birthday,
                who.gender,
                who.city,
                &rng.range(0, 50).to_string(),
                who.join_channel,
            ]);
            member_rows += 1;
        }
        self.summary.members += member_rows;

        write_gbk(
            &folder.join(format!("ExportOrderList{ymd}.csv")),
            orders.text(),
        )?;
        write_gbk(
            &folder.join(format!("ExportOrderDetailList{ymd}.csv")),
            items.text(),
        )?;
        match member_file {
            Some(mut w) => {
                let io = |source| GenError::Io {
                    path: member_path.clone(),
                    source,
                };
                w.write_all(members.text().as_bytes()).map_err(io)?;
                w.flush().map_err(io)?;
            }
            None => write_utf8(&member_path, members.text(), true)?,
        }

        // The day's payments feed traffic, products, service and ads.
        let mut paid = self.pending.remove(&day).unwrap_or_default();
        paid.buyers.sort_unstable();
        paid.buyers.dedup();
        creators.sort_unstable();
        creators.dedup();
        let visitors = self.write_traffic(
            &folder,
            day,
            &date,
            &paid,
            creators.len() as u64,
            ev,
            &mut stream(21),
        )?;
        self.write_products(
            &folder,
            day,
            di,
            &date,
            &mut paid,
            visitors,
            &eff,
            total_w,
            &mut stream(22),
        )?;
        self.write_service(
            &folder,
            day,
            &date,
            &ymd,
            &paid,
            plan.len() as u64,
            ev,
            &mut stream(23),
        )?;
        self.write_ads(&folder, day, &date, &ymd, ev, &mut stream(24))?;
        let mut rng = stream(25);
        self.summary.gross_per_day.insert(day, paid.amount);
        let m = self.months.entry((day.year(), day.month())).or_default();
        m.0 += paid.amount;
        m.1 += visitors;
        m.2 += 1;
        self.summary.days += 1;

        // Reorders: keep about five weeks of cover, more ahead of 双11.
        for (k, s) in self.skus.iter_mut().enumerate() {
            s.avg_units = s.avg_units * 0.85 + units_today[k] as f64 * 0.15;
            let restocks = matches!(s.kind, SkuKind::Normal | SkuKind::Delisted) && s.online(di);
            let ahead =
                (day.month() == 10 && day.day() >= 10) || (day.month() == 11 && day.day() <= 8);
            let cover = if ahead { 60.0 } else { 35.0 };
            let floor = if ahead { 20.0 } else { 10.0 };
            if restocks && s.incoming.is_none() && (s.stock as f64) < s.avg_units * floor {
                let qty = ((s.avg_units * cover) as i64 / 10 + 1) * 10;
                s.incoming = Some((di + rng.range(4, 10), qty));
            }
        }
        Ok(())
    }

    fn write_member_history(&mut self, path: &Path) -> Result<BufWriter<fs::File>, GenError> {
        let io = |source| GenError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut w = BufWriter::new(fs::File::create(path).map_err(io)?);
        let mut t = Table::new(',', "\r\n");
        t.row(&MEMBER_HEADER);
        w.write_all(b"\xEF\xBB\xBF").map_err(io)?;
        w.write_all(t.text().as_bytes()).map_err(io)?;
        let first = day_start(self.start) - Duration::days(900);
        for idx in 0..self.p.pre_members {
            let who = person(self.seed, idx);
            let h = hash(self.seed, &[12, idx]);
            let joined = first + Duration::seconds((h % (900 * 86_400)) as i64);
            let (level, points) = legacy_level(self.seed, idx);
            let birthday = who
                .birthday
                .map(|b| b.format("%Y-%m-%d").to_string())
                .unwrap_or_default();
            let mut t = Table::new(',', "\r\n");
            t.row(&[
                who.nick.as_str(),
                &joined.format(TS).to_string(),
                level,
                &who.phone,
                &birthday,
                who.gender,
                who.city,
                &points.to_string(),
                who.join_channel,
            ]);
            w.write_all(t.text().as_bytes()).map_err(io)?;
        }
        self.summary.members += self.p.pre_members;
        Ok(w)
    }

    #[allow(clippy::too_many_arguments)]
    fn write_traffic(
        &self,
        folder: &Path,
        day: NaiveDate,
        date: &str,
        paid: &DayPaid,
        order_buyers: u64,
        ev: f64,
        rng: &mut Rng,
    ) -> Result<u64, GenError> {
        let payers = paid.buyers.len() as u64;
        let conv = (rng.uniform(0.032, 0.048) * (1.0 + 0.12 * (ev - 1.0).max(0.0))).min(0.09);
        let visitors = ((payers.max(1) as f64) / conv) as u64;
        let pv = (visitors as f64 * rng.uniform(2.6, 3.4)) as i64;
        let bounce = rng.range(4200, 5800) - if ev >= 2.0 { 600 } else { 0 };
        let stay = rng.range(3800, 7500);
        let carts = (visitors as f64 * rng.uniform(0.07, 0.10)) as i64;
        let followers = (visitors as f64 * rng.uniform(0.003, 0.006)) as i64;
        // Mostly identical to the orders; some days 生意参谋 is off by a hair.
        let shop_amount = if rng.chance(0.7) {
            paid.amount
        } else {
            (paid.amount * (Decimal::ONE + Decimal::new(rng.range(-25, 25), 4))).round_dp(2)
        };
        let mut rows = vec![vec![
            Cell::text(date),
            Cell::text("全店"),
            Cell::Int(visitors as i64),
            Cell::Int(pv),
            Cell::Text(pct(bounce)),
            Cell::Num(stay as f64 / 100.0),
            Cell::Int(carts),
            Cell::Int(order_buyers as i64),
            Cell::Int(payers as i64),
            Cell::Money(shop_amount),
            Cell::Int(followers),
        ]];
        let sources = &SOURCES[..self.p.sources.min(SOURCES.len())];
        let lift = |s: &crate::catalog::Source| {
            if ev >= 3.0 {
                s.event
            } else if ev > 1.2 {
                1.0 + (s.event - 1.0) * 0.5
            } else {
                1.0
            }
        };
        let raw: Vec<f64> = sources
            .iter()
            .map(|s| s.share * lift(s) * rng.uniform(0.85, 1.15))
            .collect();
        let raw_sum: f64 = raw.iter().sum();
        let pay_w: Vec<f64> = raw.iter().zip(sources).map(|(r, s)| r * s.conv).collect();
        let pay_sum: f64 = pay_w.iter().sum();
        let pay_counts: Vec<u64> = pay_w
            .iter()
            .map(|w| (payers as f64 * 1.12 * w / pay_sum + 0.5) as u64)
            .collect();
        let pay_total: u64 = pay_counts.iter().sum::<u64>().max(1);
        for (i, s) in sources.iter().enumerate() {
            let v = ((visitors as f64 * 1.15 * raw[i] / raw_sum) as u64).max(1);
            let pay = pay_counts[i].min(v);
            let amount = (paid.amount * Decimal::from(pay_counts[i]) * Decimal::new(112, 2)
                / Decimal::from(pay_total)
                * Decimal::new(rng.range(90, 110), 2))
            .round_dp(2);
            let amount = if pay == 0 { Decimal::ZERO } else { amount };
            let fans = if matches!(s.name, "购物车" | "其他" | "我的淘宝" | "收藏夹") {
                Cell::text("-")
            } else {
                Cell::Int((v as f64 * rng.uniform(0.002, 0.008)) as i64)
            };
            let stay_cell = if s.name == "其他" {
                Cell::text("-")
            } else {
                Cell::Num(rng.range(2500, 9500) as f64 / 100.0)
            };
            rows.push(vec![
                Cell::text(date),
                Cell::text(s.name),
                Cell::Int(v as i64),
                Cell::Int((v as f64 * rng.uniform(1.8, 3.8)) as i64),
                Cell::Text(pct((bounce + rng.range(-900, 900)).clamp(1500, 8500))),
                stay_cell,
                Cell::Int((v as f64 * rng.uniform(0.04, 0.12) * s.conv.min(2.0)) as i64),
                Cell::Int((pay as f64 * rng.uniform(1.0, 1.08) + 0.5) as i64),
                Cell::Int(pay as i64),
                Cell::Money(amount),
                fans,
            ]);
        }
        rows.push(vec![Cell::text(
            "注：数据来源于生意参谋，访客数按来源去重前统计，各来源之和可能大于全店。",
        )]);
        let sheet = Sheet {
            preamble: vec![
                "【生意参谋平台】流量来源".to_string(),
                format!("统计时间：{date} ~ {date}"),
                "终端：全部终端".to_string(),
                String::new(),
            ],
            header: TRAFFIC_HEADER.to_vec(),
            rows,
        };
        let path = folder.join(format!("【生意参谋平台】流量来源_{date}_{date}.xlsx"));
        write_xlsx(
            &path,
            &sheet,
            day_start(day + Duration::days(1)) + Duration::hours(8),
            self.p.constant_memory,
        )?;
        Ok(visitors)
    }

    #[allow(clippy::too_many_arguments)]
    fn write_products(
        &self,
        folder: &Path,
        day: NaiveDate,
        di: i64,
        date: &str,
        paid: &mut DayPaid,
        visitors: u64,
        eff: &[f64],
        total_w: f64,
        rng: &mut Rng,
    ) -> Result<(), GenError> {
        let day_end = day_start(day + Duration::days(1));
        let mut rows = Vec::with_capacity(self.skus.len() + 1);
        let (mut t_v, mut t_pv, mut t_cart, mut t_fav, mut t_buy, mut t_units) =
            (0i64, 0i64, 0i64, 0i64, 0i64, 0i64);
        let (mut t_amt, mut t_ref) = (Decimal::ZERO, Decimal::ZERO);
        for (k, s) in self.skus.iter().enumerate() {
            if !s.listed_by(day_end) {
                continue;
            }
            let sp = paid.skus.get_mut(&k);
            let (buyers, units, amount, refund) = match sp {
                Some(sp) => {
                    sp.buyers.sort_unstable();
                    sp.buyers.dedup();
                    (
                        sp.buyers.len() as i64,
                        sp.units as i64,
                        sp.amount,
                        sp.refund,
                    )
                }
                None => (0, 0, Decimal::ZERO, Decimal::ZERO),
            };
            let online = s.online(di);
            let mut v = if !online {
                0
            } else if s.kind == SkuKind::Zombie {
                rng.range(0, 6)
            } else if total_w > 0.0 {
                (visitors as f64 * 0.8 * eff[k] / total_w * rng.uniform(0.7, 1.3)) as i64
            } else {
                0
            };
            v = v.max(buyers * 3).max((buyers as f64 / s.conv) as i64 / 2);
            let pv = (v as f64 * rng.uniform(1.3, 2.4)) as i64;
            let cart = ((v as f64 * rng.uniform(0.05, 0.12)) as i64).max(buyers / 2);
            let fav = (v as f64 * rng.uniform(0.03, 0.08)) as i64;
            let bounce = if v == 0 {
                Cell::text("-")
            } else {
                Cell::Text(pct((s.bounce_bp + rng.range(-300, 300)).max(0)))
            };
            t_v += v;
            t_pv += pv;
            t_cart += cart;
            t_fav += fav;
            t_buy += buyers;
            t_units += units;
            t_amt += amount;
            t_ref += refund;
            rows.push(vec![
                Cell::text(date),
                Cell::text(s.id.as_str()),
                Cell::text(s.title.as_str()),
                Cell::text(CATEGORIES[s.cat].path),
                Cell::text(if online { "当前在线" } else { "已下架" }),
                Cell::Money(s.price),
                Cell::Money(s.cost),
                Cell::Int(s.stock),
                Cell::Int(v),
                Cell::Int(pv),
                Cell::Int(cart),
                Cell::Int(fav),
                Cell::Int(buyers),
                Cell::Int(units),
                Cell::Money(amount),
                Cell::Money(refund),
                bounce,
                Cell::Text(s.listed_at.format(TS).to_string()),
            ]);
        }
        rows.push(vec![
            Cell::text("合计"),
            Cell::text("合计"),
            Cell::Blank,
            Cell::Blank,
            Cell::Blank,
            Cell::Blank,
            Cell::Blank,
            Cell::Blank,
            Cell::Int(t_v),
            Cell::Int(t_pv),
            Cell::Int(t_cart),
            Cell::Int(t_fav),
            Cell::Int(t_buy),
            Cell::Int(t_units),
            Cell::Money(t_amt),
            Cell::Money(t_ref),
        ]);
        let sheet = Sheet {
            preamble: vec![
                "【生意参谋平台】商品_全部".to_string(),
                format!("统计时间：{date} ~ {date}"),
                format!("店铺名称：{}", self.p.shop),
                "说明：支付件数、支付金额按支付时间统计".to_string(),
                String::new(),
            ],
            header: PRODUCT_HEADER.to_vec(),
            rows,
        };
        let path = folder.join(format!("【生意参谋平台】商品_全部_{date}_{date}.xlsx"));
        write_xlsx(
            &path,
            &sheet,
            day_end + Duration::hours(8),
            self.p.constant_memory,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn write_service(
        &self,
        folder: &Path,
        day: NaiveDate,
        date: &str,
        ymd: &str,
        paid: &DayPaid,
        orders_created: u64,
        ev: f64,
        rng: &mut Rng,
    ) -> Result<(), GenError> {
        let mut t = Table::new('\t', "\r\n");
        t.row(&SERVICE_HEADER);
        let consults = rng.around(orders_created as f64 * 0.55, 0.08);
        let weekday = day.weekday().num_days_from_monday();
        let on_duty: Vec<&Agent> = self
            .agents
            .iter()
            .filter(|a| a.day_off != weekday || ev >= 2.0)
            .collect();
        let w_sum: f64 = on_duty.iter().map(|a| a.weight).sum();
        let aov = if paid.buyers.is_empty() {
            Decimal::from(180)
        } else {
            paid.amount / Decimal::from(paid.buyers.len() as u64)
        };
        for a in on_duty {
            let c = (consults as f64 * a.weight / w_sum * rng.uniform(0.9, 1.1)) as i64;
            let conv = (c as f64 * a.convert * rng.uniform(0.85, 1.15)) as i64;
            let sales =
                (aov * Decimal::from(conv) * Decimal::new(rng.range(85, 115), 2)).round_dp(2);
            let slow = if ev >= 2.0 { 1.8 } else { 1.0 };
            let tenths = (a.response * slow * rng.uniform(0.85, 1.15) * 10.0) as i64;
            let sat = (a.satisfaction_bp + rng.range(-80, 60)).min(10_000) / 10;
            t.row(&[
                date,
                a.nick.as_str(),
                &c.to_string(),
                &conv.to_string(),
                &yuan(sales),
                &format!("{}.{}", tenths / 10, tenths % 10),
                &format!("{}.{}%", sat / 10, sat % 10),
            ]);
        }
        write_utf16le(&folder.join(format!("客服绩效_{ymd}.txt")), t.text())
    }

    #[allow(clippy::too_many_arguments)]
    fn write_ads(
        &self,
        folder: &Path,
        day: NaiveDate,
        date: &str,
        ymd: &str,
        ev: f64,
        rng: &mut Rng,
    ) -> Result<(), GenError> {
        let mut t = Table::new(',', "\n");
        t.row(&ADS_HEADER);
        let in_event = matches!(
            (day.month(), day.day()),
            (10, 15..=31) | (11, 1..=12) | (5, 25..=31) | (6, 1..=19)
        );
        let boost = if ev > 1.0 {
            1.0 + (ev - 1.0) * 0.5
        } else {
            1.0
        };
        let growth = 1.0 + self.p.growth_per_day * (day - self.start).num_days() as f64;
        let (mut s_spend, mut s_imp, mut s_clk, mut s_cart, mut s_ord, mut s_rev) =
            (Decimal::ZERO, 0i64, 0i64, 0i64, 0i64, Decimal::ZERO);
        let decorate =
            hash(self.seed, &[13, (day - self.start).num_days() as u64]).is_multiple_of(2);
        for c in &self.campaigns {
            if c.event_only && !in_event {
                continue;
            }
            let spend_f = c.base_spend * boost * growth * rng.uniform(0.8, 1.2);
            let clicks = (spend_f / (c.cpc * rng.uniform(0.9, 1.1))) as i64;
            let impressions = (clicks as f64 / (c.ctr * rng.uniform(0.85, 1.15))) as i64;
            let carts = (clicks as f64 * rng.uniform(0.05, 0.11)) as i64;
            let rev_f =
                spend_f * c.roi * rng.uniform(0.75, 1.25) * if ev >= 2.0 { 1.3 } else { 1.0 };
            let orders = (rev_f / rng.uniform(150.0, 230.0)) as i64;
            let spend = money(spend_f);
            let revenue = if orders == 0 {
                Decimal::ZERO
            } else {
                money(rev_f)
            };
            let fmt = |d: Decimal| if decorate { yuan_decorated(d) } else { yuan(d) };
            t.row(&[
                date,
                c.channel,
                c.name.as_str(),
                &fmt(spend),
                &impressions.to_string(),
                &clicks.to_string(),
                &carts.to_string(),
                &orders.to_string(),
                &fmt(revenue),
            ]);
            s_spend += spend;
            s_imp += impressions;
            s_clk += clicks;
            s_cart += carts;
            s_ord += orders;
            s_rev += revenue;
        }
        t.blank_line();
        t.row(&[
            "合计",
            "",
            "合计",
            &yuan(s_spend),
            &s_imp.to_string(),
            &s_clk.to_string(),
            &s_cart.to_string(),
            &s_ord.to_string(),
            &yuan(s_rev),
        ]);
        write_utf8(&folder.join(format!("推广报表_{ymd}.csv")), t.text(), false)
    }

    /// The source → traffic-type table the exports imply, for configuring
    /// the reader's mapping.
    fn write_traffic_types(&self) -> Result<(), GenError> {
        let mut t = Table::new(',', "\n");
        t.row(&["流量来源", "流量类型"]);
        for s in &SOURCES[..self.p.sources.min(SOURCES.len())] {
            t.row(&[s.name, s.kind]);
        }
        write_utf8(&self.out.join("traffic_types.csv"), t.text(), false)
    }

    /// Monthly plan a little above the pace the shop actually runs at.
    fn write_targets(&self) -> Result<(), GenError> {
        let mut t = Table::new(',', "\n");
        t.row(&["月份", "指标", "目标"]);
        let mut last: Option<(f64, f64)> = None;
        let mut month =
            NaiveDate::from_ymd_opt(self.start.year(), self.start.month(), 1).unwrap_or(self.start);
        let stop = NaiveDate::from_ymd_opt(self.end.year(), self.end.month(), 1)
            .and_then(|d| d.checked_add_months(chrono::Months::new(1)))
            .unwrap_or(self.end);
        let mut rng = Rng::stream(self.seed, &[14]);
        while month <= stop {
            let days_in = month
                .checked_add_months(chrono::Months::new(1))
                .map(|n| (n - month).num_days())
                .unwrap_or(30) as f64;
            let per_day = match self.months.get(&(month.year(), month.month())) {
                Some((g, v, n)) => {
                    let g = rust_decimal::prelude::ToPrimitive::to_f64(g).unwrap_or(0.0);
                    Some((g / f64::from(*n), *v as f64 / f64::from(*n)))
                }
                None => last.map(|(g, v)| (g * 0.85, v * 0.9)),
            };
            if let Some((g, v)) = per_day {
                let plan = rng.uniform(1.0, 1.12);
                let gross = ((g * days_in * plan / 10_000.0) as i64 + 1) * 10_000;
                let vis = ((v * days_in * plan / 1000.0) as i64 + 1) * 1000;
                let m = month.format("%Y-%m").to_string();
                t.row(&[m.as_str(), "gross_sales", &gross.to_string()]);
                t.row(&[m.as_str(), "visitors", &vis.to_string()]);
                last = Some((g, v));
            }
            match month.checked_add_months(chrono::Months::new(1)) {
                Some(n) => month = n,
                None => break,
            }
        }
        write_utf8(&self.out.join("targets.csv"), t.text(), false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_ids_are_unique_digit_strings_of_16_to_19() {
        let mut seen = std::collections::BTreeSet::new();
        for seq in 1..50_000 {
            let id = order_id(9, seq);
            assert!((16..=19).contains(&id.len()), "{id}");
            assert!(id.bytes().all(|b| b.is_ascii_digit()));
            assert!(seen.insert(id));
        }
    }

    #[test]
    fn allocation_sums_exactly() {
        let parts = allocate(
            Decimal::new(10000, 2),
            &[Decimal::from(1), Decimal::from(1), Decimal::from(1)],
        );
        assert_eq!(
            parts,
            vec![
                Decimal::new(3333, 2),
                Decimal::new(3333, 2),
                Decimal::new(3334, 2)
            ]
        );
    }
}
