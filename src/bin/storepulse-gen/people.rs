//! Buyers and members. Everything about a person is derived from their index
//! and the seed, so a store of millions of people costs no memory: only the
//! counters of who exists and the queue of planned repeat purchases are kept.

use chrono::{Duration, NaiveDate};

use crate::rng::hash;

const CN_WORDS: &[&str] = &[
    "小鱼儿",
    "快乐的小猪",
    "木子李",
    "阳光宝贝",
    "糖果屋",
    "小太阳",
    "微笑的猫",
    "晴天娃娃",
    "芒果布丁",
    "蓝色海洋",
    "一只小熊",
    "风铃草",
    "橘子汽水",
    "柠檬不萌",
    "安静的书",
    "喵小姐",
    "奶茶控",
    "西瓜甜甜",
    "云朵朵",
    "星星点灯",
    "半夏",
    "南风知我意",
    "花开半夏",
    "小确幸",
    "兔子先生",
    "陈小怡",
    "王小丫",
    "张三疯",
    "李大宝",
    "静待花开",
];
const LATIN_WORDS: &[&str] = &[
    "sunny", "lily", "coco", "amy", "vivian", "cherry", "angel", "momo", "yoyo", "kiki", "lucky",
    "candy", "grace", "emma", "jenny", "tina", "nana", "mia", "echo", "summer", "apple", "rainy",
];
const PHONE_PREFIXES: &[u32] = &[
    134, 135, 136, 137, 138, 139, 150, 151, 152, 157, 158, 159, 182, 183, 187, 188, 130, 131, 132,
    155, 156, 185, 186, 133, 153, 177, 180, 181, 189, 199, 166, 176, 173, 178, 198,
];
/// City and its weight: buyers of an apparel shop cluster in big eastern cities.
const CITIES: &[(&str, u32)] = &[
    ("上海", 12),
    ("北京", 10),
    ("杭州", 9),
    ("广州", 8),
    ("深圳", 8),
    ("成都", 7),
    ("南京", 6),
    ("苏州", 6),
    ("武汉", 6),
    ("重庆", 5),
    ("西安", 5),
    ("长沙", 5),
    ("天津", 4),
    ("郑州", 4),
    ("宁波", 4),
    ("青岛", 4),
    ("合肥", 3),
    ("厦门", 3),
    ("福州", 3),
    ("昆明", 3),
    ("沈阳", 3),
    ("济南", 3),
    ("无锡", 3),
    ("东莞", 3),
    ("佛山", 3),
    ("南昌", 2),
    ("石家庄", 2),
    ("大连", 2),
    ("哈尔滨", 2),
    ("贵阳", 2),
    ("南宁", 2),
    ("温州", 2),
    ("金华", 2),
    ("常州", 2),
    ("太原", 1),
];
const JOIN_CHANNELS: &[(&str, u32)] = &[
    ("店铺首页", 25),
    ("商品详情页", 22),
    ("订单完成页", 18),
    ("购物车", 8),
    ("淘宝直播", 10),
    ("会员日活动", 7),
    ("派样活动", 5),
    ("客服邀请", 5),
];

/// How often a person comes back after a purchase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Habit {
    /// Buys once and does not return on their own.
    Once,
    /// Returns every few weeks while interested.
    Periodic,
    /// A heavy buyer who returns every week or two.
    Loyal,
}

/// Everything the exports show about one person.
#[derive(Debug, Clone)]
pub struct Person {
    pub nick: String,
    pub phone: String,
    pub gender: &'static str,
    pub birthday: Option<NaiveDate>,
    pub city: &'static str,
    pub habit: Habit,
    /// Days between purchases for periodic and loyal people.
    pub cycle_days: i64,
    /// Chance to plan another purchase after each one.
    pub keep_probability: f64,
    pub join_channel: &'static str,
}

fn weighted_pick<T: Copy>(items: &[(T, u32)], h: u64) -> T {
    let total: u64 = items.iter().map(|(_, w)| u64::from(*w)).sum();
    let mut r = h % total;
    for (item, w) in items {
        let w = u64::from(*w);
        if r < w {
            return *item;
        }
        r -= w;
    }
    items[items.len() - 1].0
}

/// Derives a person from its index. Nicknames are unique per index: the
/// trailing number is `index * 10 + d` (or an injective offset of the index)
/// and no word ends in a digit or an underscore, so two indexes can never
/// render the same nickname.
pub fn person(seed: u64, idx: u64) -> Person {
    let h = |k: u64| hash(seed, &[0x5045_5253, idx, k]);
    let style = h(1) % 100;
    let nick = if style < 30 {
        format!("tb{}", 1_000_000_000 + idx * 4093 + h(2) % 4093)
    } else if style < 75 {
        let word = CN_WORDS[(h(3) % CN_WORDS.len() as u64) as usize];
        let prefix = if h(4) % 4 == 0 { "tb_" } else { "" };
        format!("{prefix}{word}{}", idx * 10 + h(5) % 10)
    } else {
        let word = LATIN_WORDS[(h(3) % LATIN_WORDS.len() as u64) as usize];
        let sep = if h(4) % 2 == 0 { "_" } else { "" };
        format!("{word}{sep}{}", idx * 10 + h(5) % 10)
    };
    let prefix = PHONE_PREFIXES[(h(6) % PHONE_PREFIXES.len() as u64) as usize];
    let phone = format!("{prefix}{:08}", h(7) % 100_000_000);
    let gender = match h(8) % 100 {
        0..=81 => "女",
        82..=96 => "男",
        _ => "未知",
    };
    let birthday = if h(9) % 10 < 7 {
        NaiveDate::from_ymd_opt(1966, 1, 1).map(|d| d + Duration::days((h(10) % (40 * 365)) as i64))
    } else {
        None
    };
    let city = weighted_pick(CITIES, h(11));
    let (habit, cycle_days, keep_probability) = match h(12) % 100 {
        0..=57 => (Habit::Once, 0, 0.0),
        58..=91 => (Habit::Periodic, 21 + (h(13) % 22) as i64, 0.7),
        _ => (Habit::Loyal, 7 + (h(13) % 10) as i64, 0.92),
    };
    Person {
        nick,
        phone,
        gender,
        birthday,
        city,
        habit,
        cycle_days,
        keep_probability,
        join_channel: weighted_pick(JOIN_CHANNELS, h(15)),
    }
}

/// Whether a new buyer joins the membership at their first order, for a
/// shop where `percent` of new buyers do.
pub fn joins_at_first_order(seed: u64, idx: u64, percent: u64) -> bool {
    hash(seed, &[0x5045_5253, idx, 14]) % 100 < percent
}

/// The membership level a member who joined before the window holds today,
/// and their points.
pub fn legacy_level(seed: u64, idx: u64) -> (&'static str, u64) {
    let h = hash(seed, &[0x004c_4556_454c, idx]);
    match h % 100 {
        0..=54 => ("小白", h % 400),
        55..=79 => ("素人", 500 + h % 600),
        80..=93 => ("达人", 1200 + h % 1500),
        _ => ("红人", 2400 + h % 6000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nicknames_are_unique_and_stable() {
        let mut seen = std::collections::BTreeSet::new();
        for i in 0..20_000 {
            assert!(seen.insert(person(1, i).nick), "duplicate nick at {i}");
        }
        assert_eq!(person(1, 42).nick, person(1, 42).nick);
    }

    #[test]
    fn phones_have_eleven_digits() {
        for i in 0..100 {
            let p = person(3, i).phone;
            assert_eq!(p.len(), 11);
            assert!(p.bytes().all(|b| b.is_ascii_digit()));
        }
    }
}
