//! The shop's fixed cast: SKUs (with prices, costs, launch and delisting
//! dates, stock behaviour), traffic sources, ad campaigns and customer-service
//! agents. Built once from the seed and the profile's sizes.

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use rust_decimal::Decimal;

use crate::rng::Rng;

/// One product category: display path, SKU code, list price range in yuan,
/// how much it leans to cold weather (-1 summer .. 1 winter), share of range.
pub struct Category {
    pub path: &'static str,
    pub code: &'static str,
    pub price_lo: i64,
    pub price_hi: i64,
    pub cold: f64,
    pub share: u32,
    pub items: &'static [&'static str],
}

pub const CATEGORIES: &[Category] = &[
    Category {
        path: "女装/T恤",
        code: "TX",
        price_lo: 59,
        price_hi: 129,
        cold: -0.8,
        share: 16,
        items: &[
            "纯棉短袖T恤",
            "长袖打底T恤",
            "印花圆领T恤",
            "条纹长袖T恤",
            "重磅纯色T恤",
            "V领修身T恤",
        ],
    },
    Category {
        path: "女装/衬衫",
        code: "CS",
        price_lo: 99,
        price_hi: 199,
        cold: -0.2,
        share: 10,
        items: &[
            "纯棉白衬衫",
            "格子衬衫",
            "雪纺衬衫",
            "灯芯绒衬衫",
            "泡泡袖衬衫",
        ],
    },
    Category {
        path: "女装/连衣裙",
        code: "LYQ",
        price_lo: 159,
        price_hi: 399,
        cold: -0.3,
        share: 16,
        items: &[
            "碎花连衣裙",
            "针织连衣裙",
            "收腰长裙",
            "衬衫裙",
            "背心裙",
            "丝绒连衣裙",
        ],
    },
    Category {
        path: "女装/卫衣",
        code: "WY",
        price_lo: 129,
        price_hi: 259,
        cold: 0.6,
        share: 12,
        items: &["连帽卫衣", "圆领卫衣", "加绒卫衣", "半拉链卫衣", "刺绣卫衣"],
    },
    Category {
        path: "女装/针织衫",
        code: "ZZ",
        price_lo: 139,
        price_hi: 299,
        cold: 0.7,
        share: 10,
        items: &[
            "开衫毛衣",
            "高领打底毛衣",
            "马海毛针织衫",
            "麻花针织衫",
            "V领针织背心",
        ],
    },
    Category {
        path: "女装/外套",
        code: "WT",
        price_lo: 299,
        price_hi: 899,
        cold: 1.0,
        share: 12,
        items: &[
            "羊毛大衣",
            "短款羽绒服",
            "牛仔外套",
            "西装外套",
            "风衣",
            "摇粒绒外套",
        ],
    },
    Category {
        path: "女装/裤装",
        code: "KZ",
        price_lo: 99,
        price_hi: 259,
        cold: 0.2,
        share: 12,
        items: &[
            "高腰阔腿裤",
            "直筒牛仔裤",
            "休闲西装裤",
            "加绒打底裤",
            "工装束脚裤",
        ],
    },
    Category {
        path: "女装/半身裙",
        code: "BSQ",
        price_lo: 99,
        price_hi: 229,
        cold: -0.1,
        share: 6,
        items: &["百褶半身裙", "A字半身裙", "牛仔半身裙", "针织包臀裙"],
    },
    Category {
        path: "服饰配件/配饰",
        code: "PS",
        price_lo: 29,
        price_hi: 99,
        cold: 0.3,
        share: 6,
        items: &["羊绒围巾", "针织帽", "帆布包", "发夹套装", "腰带"],
    },
];

const STYLES: &[&str] = &[
    "法式复古",
    "韩版宽松",
    "简约百搭",
    "小众设计感",
    "慵懒风",
    "通勤",
    "学院风",
    "新中式",
    "美式复古",
    "温柔风",
    "极简",
    "日系",
];
const SEASONS: &[&str] = &[
    "2026秋季新款",
    "秋冬新款",
    "早秋",
    "2026新款",
    "冬季新款",
    "秋装",
];
const DETAILS: &[&str] = &[
    "显瘦",
    "宽松",
    "高级感",
    "气质",
    "休闲",
    "百搭",
    "减龄",
    "洋气",
];

/// How a SKU behaves over the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkuKind {
    Normal,
    /// Online with stock but nobody buys it (a 清仓 candidate).
    Zombie,
    /// Sold until it is delisted.
    Delisted,
    /// Not restocked once it runs out.
    LastBatch,
}

#[derive(Debug, Clone)]
pub struct Sku {
    pub id: String,
    pub title: String,
    pub cat: usize,
    pub price: Decimal,
    pub cost: Decimal,
    pub listed_at: NaiveDateTime,
    /// Day index (relative to the window start) from which it is delisted.
    pub delisted_from: Option<i64>,
    pub kind: SkuKind,
    /// Relative popularity.
    pub weight: f64,
    /// Detail-page conversion and bounce, fixed per product page.
    pub conv: f64,
    pub bounce_bp: i64,
    pub stock: i64,
    pub avg_units: f64,
    pub incoming: Option<(i64, i64)>,
}

impl Sku {
    pub fn listed_by(&self, day_end: NaiveDateTime) -> bool {
        self.listed_at < day_end
    }
    pub fn online(&self, di: i64) -> bool {
        self.delisted_from.is_none_or(|d| di < d)
    }
}

fn at(day: NaiveDate, secs: u32) -> NaiveDateTime {
    day.and_time(NaiveTime::MIN) + Duration::seconds(i64::from(secs))
}

/// Builds `n` SKUs. Roughly 5% zombies, 4% delisted, 6% last batches; ~20%
/// launch inside the window (mostly cold-weather categories).
pub fn build_skus(
    rng: &mut Rng,
    n: usize,
    start: NaiveDate,
    days: i64,
    base_orders: f64,
) -> Vec<Sku> {
    let shares: Vec<u32> = CATEGORIES.iter().map(|c| c.share).collect();
    let mut skus = Vec::with_capacity(n);
    let yy = start.format("%y").to_string();
    for i in 0..n {
        let cat = rng.weighted(&shares);
        let c = &CATEGORIES[cat];
        let season = if c.cold > 0.3 {
            "W"
        } else if c.cold < -0.3 {
            "S"
        } else {
            "A"
        };
        let id = format!("SG{yy}{season}{}{:03}", c.code, i + 1);
        let title = format!(
            "拾光{}{}女{}{}",
            rng.pick(STYLES),
            rng.pick(c.items),
            rng.pick(SEASONS),
            rng.pick(DETAILS)
        );
        let yuan = rng.range(c.price_lo, c.price_hi);
        let cents = if rng.chance(0.2) {
            (yuan / 10 + 1) * 1000 - 10
        } else {
            (yuan / 10 * 10 + 9) * 100
        };
        let cents = cents.max(1990);
        let price = Decimal::new(cents, 2);
        let cost = Decimal::new(cents * rng.range(30, 46) / 100, 2);
        let roll = rng.below(100);
        let kind = match roll {
            0..=4 => SkuKind::Zombie,
            5..=8 => SkuKind::Delisted,
            9..=14 => SkuKind::LastBatch,
            _ => SkuKind::Normal,
        };
        let new_launch =
            kind != SkuKind::Zombie && rng.chance(if c.cold > 0.3 { 0.35 } else { 0.1 });
        let listed_day = if new_launch {
            start + Duration::days(rng.range(1, (days * 4 / 5).max(1)))
        } else if kind == SkuKind::Zombie {
            start - Duration::days(rng.range(130, 500))
        } else {
            start - Duration::days(rng.range(10, 420))
        };
        let listed_at = at(listed_day, 9 * 3600 + rng.below(10 * 3600) as u32);
        let delisted_from = match kind {
            SkuKind::Delisted => Some(if rng.chance(0.3) {
                -rng.range(1, 60)
            } else {
                rng.range(5, days.max(6))
            }),
            _ => None,
        };
        // Popularity: a long tail with a handful of hits.
        let rank = rng.range(1, 60) as f64;
        let weight = match kind {
            SkuKind::Zombie => 0.0,
            _ => 10.0 / (rank + 2.0) * rng.uniform(0.5, 1.5),
        };
        skus.push(Sku {
            id,
            title,
            cat,
            price,
            cost,
            listed_at,
            delisted_from,
            kind,
            weight,
            conv: rng.uniform(0.02, 0.08),
            bounce_bp: rng.range(2800, 5600),
            stock: 0,
            avg_units: 0.0,
            incoming: None,
        });
    }
    let total: f64 = skus.iter().map(|s| s.weight).sum::<f64>().max(1e-9);
    for s in &mut skus {
        let est = s.weight / total * base_orders * 1.3;
        s.avg_units = est;
        s.stock = match s.kind {
            SkuKind::Zombie => rng.range(30, 200),
            SkuKind::LastBatch => (est * rng.uniform(10.0, 40.0)) as i64 + 5,
            _ => (est * rng.uniform(25.0, 50.0)) as i64 + rng.range(10, 40),
        };
    }
    skus
}

/// A traffic source: name, its type, share of visitors, conversion relative to
/// the shop, and how much it swells on campaign days.
pub struct Source {
    pub name: &'static str,
    pub kind: &'static str,
    pub share: f64,
    pub conv: f64,
    pub event: f64,
}

const fn src(name: &'static str, kind: &'static str, share: f64, conv: f64, event: f64) -> Source {
    Source {
        name,
        kind,
        share,
        conv,
        event,
    }
}

pub const SOURCES: &[Source] = &[
    src("手淘搜索", "免费", 0.30, 1.1, 1.5),
    src("手淘推荐", "免费", 0.22, 0.6, 1.5),
    src("直通车", "付费", 0.08, 1.2, 2.0),
    src("引力魔方", "付费", 0.05, 0.8, 2.0),
    src("万相台", "付费", 0.06, 1.0, 2.0),
    src("淘宝客", "付费", 0.03, 1.6, 1.5),
    src("聚划算", "活动", 0.015, 1.8, 6.0),
    src("天猫活动", "活动", 0.03, 1.4, 6.0),
    src("逛逛", "内容", 0.025, 0.4, 1.0),
    src("淘宝直播", "内容", 0.05, 1.3, 2.0),
    src("购物车", "免费", 0.10, 3.0, 2.5),
    src("其他", "其他", 0.04, 0.7, 1.0),
    // Further sources a large shop sees; the sample uses the first twelve.
    src("手淘首页", "免费", 0.06, 0.7, 1.5),
    src("我的淘宝", "免费", 0.03, 2.0, 1.5),
    src("手淘消息中心", "免费", 0.01, 1.2, 1.5),
    src("手淘淘金币", "活动", 0.01, 0.9, 2.0),
    src("淘宝特价版", "免费", 0.01, 0.8, 1.5),
    src("品销宝", "付费", 0.01, 1.1, 2.0),
    src("超级直播", "付费", 0.01, 1.2, 2.0),
    src("百亿补贴", "活动", 0.01, 1.9, 4.0),
    src("天天特卖", "活动", 0.01, 1.3, 3.0),
    src("淘宝群", "内容", 0.005, 1.6, 1.5),
    src("订阅", "内容", 0.01, 0.9, 1.5),
    src("有好货", "内容", 0.005, 0.8, 1.5),
    src("直接访问", "其他", 0.02, 1.4, 1.2),
    src("收藏夹", "免费", 0.02, 2.2, 2.0),
    src("已买到商品", "免费", 0.015, 2.4, 1.5),
    src("站外抖音", "其他", 0.01, 0.6, 1.2),
    src("站外小红书", "其他", 0.01, 0.7, 1.2),
    src("站外微信", "其他", 0.005, 1.0, 1.2),
];

/// An ads campaign with its economics.
#[derive(Debug, Clone)]
pub struct Campaign {
    pub channel: &'static str,
    pub name: String,
    /// Daily spend on a normal day, in yuan.
    pub base_spend: f64,
    pub roi: f64,
    pub ctr: f64,
    pub cpc: f64,
    /// Only runs around the 双11 / 618 campaigns.
    pub event_only: bool,
}

const CAMPAIGN_SEEDS: &[(&str, &str, f64, f64, f64, f64, bool)] = &[
    ("直通车", "连衣裙-核心词", 900.0, 3.2, 0.028, 1.35, false),
    ("直通车", "卫衣-智能推广", 600.0, 2.4, 0.022, 1.10, false),
    ("直通车", "外套-长尾词", 500.0, 1.8, 0.018, 1.85, false),
    ("直通车", "店铺-品牌词", 200.0, 6.5, 0.045, 0.75, false),
    ("直通车", "新品-测款", 300.0, 0.7, 0.015, 1.60, false),
    ("引力魔方", "拉新-相似店铺", 700.0, 0.8, 0.009, 0.95, false),
    ("引力魔方", "收割-加购人群", 400.0, 4.1, 0.014, 1.20, false),
    ("引力魔方", "双11-蓄水", 800.0, 1.2, 0.010, 0.85, true),
    ("引力魔方", "猜你喜欢-爆款", 500.0, 2.1, 0.012, 0.90, false),
    ("万相台", "货品加速-外套", 800.0, 2.6, 0.016, 1.40, false),
    ("万相台", "拉新快-秋冬", 600.0, 1.4, 0.011, 1.15, false),
    ("万相台", "上新快-新品", 400.0, 0.9, 0.013, 1.30, false),
    ("万相台", "双11-活动加速", 1200.0, 3.0, 0.017, 1.25, true),
    ("淘宝客", "营销计划-全店", 350.0, 9.0, 0.020, 0.60, false),
    ("淘宝客", "定向计划-达人", 250.0, 7.5, 0.025, 0.55, false),
];

const CHANNELS: &[&str] = &["直通车", "引力魔方", "万相台", "淘宝客"];
const THEMES: &[&str] = &[
    "连衣裙",
    "卫衣",
    "外套",
    "裤装",
    "针织衫",
    "T恤",
    "衬衫",
    "半身裙",
    "配饰",
    "新品",
    "爆款",
    "店铺",
];
const GOALS: &[&str] = &[
    "核心词",
    "长尾词",
    "拉新",
    "收割",
    "测款",
    "智能推广",
    "人群放大",
    "货品加速",
];

/// The sample's fifteen campaigns, then generated ones up to `n`.
pub fn build_campaigns(rng: &mut Rng, n: usize) -> Vec<Campaign> {
    let mut out: Vec<Campaign> = CAMPAIGN_SEEDS
        .iter()
        .take(n)
        .map(
            |&(channel, name, base_spend, roi, ctr, cpc, event_only)| Campaign {
                channel,
                name: name.to_string(),
                base_spend,
                roi,
                ctr,
                cpc,
                event_only,
            },
        )
        .collect();
    let mut k = 0;
    while out.len() < n {
        k += 1;
        let channel = *rng.pick(CHANNELS);
        let roi = if channel == "淘宝客" {
            rng.uniform(5.0, 11.0)
        } else {
            rng.uniform(0.5, 5.0)
        };
        out.push(Campaign {
            channel,
            name: format!("{}-{}-{:03}", rng.pick(THEMES), rng.pick(GOALS), k),
            base_spend: rng.uniform(150.0, 2500.0),
            roi,
            ctr: rng.uniform(0.008, 0.04),
            cpc: rng.uniform(0.5, 2.2),
            event_only: rng.chance(0.1),
        });
    }
    out
}

const AGENT_NAMES: &[&str] = &[
    "小雅", "阿杰", "小鹿", "七七", "橙子", "木木", "糖糖", "阿青", "小满", "叶子", "豆豆", "安安",
];

/// A customer-service agent: sub-account nickname, skill and pace.
pub struct Agent {
    pub nick: String,
    pub weight: f64,
    pub convert: f64,
    pub response: f64,
    pub satisfaction_bp: i64,
    pub day_off: u32,
}

pub fn build_agents(rng: &mut Rng, shop: &str, n: usize) -> Vec<Agent> {
    (0..n)
        .map(|i| {
            let name = AGENT_NAMES[i % AGENT_NAMES.len()];
            let nick = if i < AGENT_NAMES.len() {
                format!("{shop}:{name}")
            } else {
                format!("{shop}:{name}{}", i / AGENT_NAMES.len() + 1)
            };
            Agent {
                nick,
                weight: rng.uniform(0.6, 1.4),
                convert: rng.uniform(0.26, 0.48),
                response: rng.uniform(9.0, 38.0),
                satisfaction_bp: rng.range(9200, 9950),
                day_off: (i % 7) as u32,
            }
        })
        .collect()
}
