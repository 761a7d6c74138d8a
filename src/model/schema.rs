//! Dataset definitions: canonical fields, their kinds, whether they are
//! required, and the header aliases real platform exports use.

use std::fmt;
use std::str::FromStr;

/// One of the datasets a shop exports (SPEC §4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dataset {
    Orders,
    OrderItems,
    Traffic,
    Products,
    Members,
    Service,
    Ads,
    Targets,
}

/// How a field's text is turned into a [`crate::model::Value`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// An identifier kept as text: `="…"`, a leading tab or apostrophe and a
    /// trailing `.0` are stripped; scientific notation is an error.
    Id,
    /// Free text (titles, names, channels).
    Text,
    /// Personal data (phone numbers): text, masked per team on output.
    Pii,
    /// A whole number (quantities, counts); thousands separators allowed.
    Int,
    /// Money: `¥`, `￥`, `元` and thousands separators stripped; exact decimal.
    Money,
    /// A plain decimal number (seconds, points with fractions).
    Number,
    /// A ratio: `3.25%` becomes 0.0325; a bare number is taken as given.
    Ratio,
    /// A calendar date.
    Date,
    /// A timestamp; without an offset it is in the shop's time zone.
    DateTime,
    /// An order status, mapped to [`OrderStatus`].
    Status,
    /// A product status, mapped to [`ProductStatus`].
    ProductStatus,
}

/// A canonical field of a dataset.
#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    /// The canonical English name; always matches as a header too.
    pub name: &'static str,
    pub kind: FieldKind,
    /// A row whose required field is missing or invalid is rejected.
    pub required: bool,
    /// Header aliases, matched after header cleanup (SPEC §4.2).
    pub aliases: &'static [&'static str],
}

const fn f(
    name: &'static str,
    kind: FieldKind,
    required: bool,
    aliases: &'static [&'static str],
) -> FieldSpec {
    FieldSpec {
        name,
        kind,
        required,
        aliases,
    }
}

use FieldKind::*;

const ORDERS: &[FieldSpec] = &[
    f("order_id", Id, true, &["订单编号", "订单号", "主订单编号"]),
    f(
        "member_id",
        Id,
        true,
        &[
            "买家会员名",
            "买家昵称",
            "下单帐号",
            "下单账号",
            "会员ID",
            "买家ID",
        ],
    ),
    f(
        "created_at",
        DateTime,
        true,
        &["订单创建时间", "下单时间", "买家下单时间"],
    ),
    f(
        "paid_at",
        DateTime,
        false,
        &["订单付款时间", "付款时间", "买家付款时间", "付款确认时间"],
    ),
    f("status", Status, true, &["订单状态"]),
    f(
        "paid_amount",
        Money,
        true,
        &["买家实际支付金额", "买家实付金额", "实付金额", "应付金额"],
    ),
    f("total_amount", Money, false, &["总金额", "订单金额"]),
    f("refund_amount", Money, false, &["退款金额"]),
    f(
        "item_qty",
        Int,
        false,
        &["宝贝总数量", "商品数量", "订购数量"],
    ),
    f("shop", Text, false, &["店铺名称"]),
    f("phone", Pii, false, &["联系手机", "联系电话"]),
];

const ORDER_ITEMS: &[FieldSpec] = &[
    f("order_id", Id, true, &["订单编号"]),
    f("sku_id", Id, true, &["商家编码", "商品ID", "货号"]),
    f(
        "title",
        Text,
        false,
        &["宝贝标题", "商品标题", "标题", "商品名称"],
    ),
    f("quantity", Int, true, &["购买数量", "订购数量"]),
    f("unit_price", Money, false, &["价格", "商品价格", "京东价"]),
];

const TRAFFIC: &[FieldSpec] = &[
    f("date", Date, true, &["统计日期", "日期"]),
    f("source", Text, false, &["流量来源", "来源名称"]),
    f("visitors", Int, true, &["访客数"]),
    f("page_views", Int, false, &["浏览量"]),
    f("bounce_rate", Ratio, false, &["跳失率"]),
    f("avg_stay_seconds", Number, false, &["平均停留时长"]),
    f("cart_users", Int, false, &["加购人数"]),
    f("order_buyers", Int, false, &["下单买家数"]),
    f("paying_buyers", Int, false, &["支付买家数", "成交客户数"]),
    f("paid_amount", Money, false, &["支付金额", "成交金额"]),
    f("new_followers", Int, false, &["新增粉丝数"]),
];

const PRODUCTS: &[FieldSpec] = &[
    f("date", Date, true, &["统计日期"]),
    f("sku_id", Id, true, &["商品ID", "商家编码"]),
    f("title", Text, false, &["商品名称"]),
    f("category", Text, false, &["类目"]),
    f("status", ProductStatus, false, &["商品状态"]),
    f("price", Money, false, &["价格"]),
    f("unit_cost", Money, false, &["成本价", "成本"]),
    f("stock", Int, false, &["库存", "可售库存"]),
    f("visitors", Int, false, &["商品访客数"]),
    f("page_views", Int, false, &["商品浏览量"]),
    f("cart_users", Int, false, &["商品加购人数"]),
    f("fav_users", Int, false, &["商品收藏人数"]),
    f("paid_buyers", Int, false, &["支付买家数"]),
    f("paid_units", Int, false, &["支付件数"]),
    f("paid_amount", Money, false, &["支付金额"]),
    f("refund_amount", Money, false, &["成功退款金额"]),
    f("bounce_rate", Ratio, false, &["详情页跳出率"]),
    f("listed_at", DateTime, false, &["上架时间"]),
];

const MEMBERS: &[FieldSpec] = &[
    f("member_id", Id, true, &["会员ID", "会员名", "买家会员名"]),
    f("joined_at", DateTime, false, &["入会时间", "注册时间"]),
    f("level", Text, false, &["会员等级"]),
    f("phone", Pii, false, &["手机号"]),
    f("birthday", Date, false, &["生日"]),
    f("gender", Text, false, &["性别"]),
    f("city", Text, false, &["城市"]),
    f("points", Int, false, &["积分"]),
    f("source", Text, false, &["入会渠道"]),
];

const SERVICE: &[FieldSpec] = &[
    f("date", Date, true, &["日期", "统计日期"]),
    f("agent", Text, true, &["客服", "客服昵称"]),
    f("consultations", Int, false, &["咨询人数"]),
    f(
        "converted_buyers",
        Int,
        false,
        &["询单转化人数", "下单人数"],
    ),
    f("sales", Money, false, &["客服销售额"]),
    f("avg_response_seconds", Number, false, &["平均响应时间"]),
    f("satisfaction", Ratio, false, &["满意率"]),
];

const ADS: &[FieldSpec] = &[
    f("date", Date, true, &["日期", "统计日期"]),
    f("channel", Text, false, &["推广渠道"]),
    f("campaign", Text, true, &["计划名称"]),
    f("spend", Money, true, &["花费", "消耗"]),
    f("impressions", Int, false, &["展现量"]),
    f("clicks", Int, false, &["点击量"]),
    f("cart_adds", Int, false, &["总购物车数", "加购数"]),
    f("orders", Int, false, &["总成交笔数", "成交笔数"]),
    f("revenue", Money, false, &["总成交金额", "成交金额"]),
];

const TARGETS: &[FieldSpec] = &[
    f("month", Text, true, &["月份"]),
    f("metric", Text, true, &["指标"]),
    f("target", Number, true, &["目标", "目标值"]),
];

impl Dataset {
    /// All datasets, in the order reports and `validate` list them.
    pub const ALL: [Dataset; 8] = [
        Dataset::Orders,
        Dataset::OrderItems,
        Dataset::Traffic,
        Dataset::Products,
        Dataset::Members,
        Dataset::Service,
        Dataset::Ads,
        Dataset::Targets,
    ];

    /// The name used in config keys, file names and `import <dataset>`.
    pub fn name(self) -> &'static str {
        match self {
            Dataset::Orders => "orders",
            Dataset::OrderItems => "order_items",
            Dataset::Traffic => "traffic",
            Dataset::Products => "products",
            Dataset::Members => "members",
            Dataset::Service => "service",
            Dataset::Ads => "ads",
            Dataset::Targets => "targets",
        }
    }

    /// The canonical fields in a fixed order; a [`crate::model::Record`]'s
    /// values are indexed by position in this slice.
    pub fn fields(self) -> &'static [FieldSpec] {
        match self {
            Dataset::Orders => ORDERS,
            Dataset::OrderItems => ORDER_ITEMS,
            Dataset::Traffic => TRAFFIC,
            Dataset::Products => PRODUCTS,
            Dataset::Members => MEMBERS,
            Dataset::Service => SERVICE,
            Dataset::Ads => ADS,
            Dataset::Targets => TARGETS,
        }
    }

    /// Position of a canonical field, or `None` if the dataset has no such field.
    pub fn field_index(self, name: &str) -> Option<usize> {
        self.fields().iter().position(|f| f.name == name)
    }

    /// The field that decides which summary / placeholder rows are dropped
    /// (a 合计 in this column marks a summary row).
    pub fn key_field(self) -> &'static str {
        match self {
            Dataset::Orders | Dataset::OrderItems => "order_id",
            Dataset::Traffic | Dataset::Products | Dataset::Service | Dataset::Ads => "date",
            Dataset::Members => "member_id",
            Dataset::Targets => "month",
        }
    }

    /// The field whose value is the day a row belongs to, for datasets that
    /// carry one. Orders are dated by `created_at` (in the shop's zone);
    /// order lines and members take the date of the file they came in.
    pub fn date_field(self) -> Option<&'static str> {
        match self {
            Dataset::Orders => Some("created_at"),
            Dataset::Traffic | Dataset::Products | Dataset::Service | Dataset::Ads => Some("date"),
            Dataset::OrderItems | Dataset::Members | Dataset::Targets => None,
        }
    }
}

impl fmt::Display for Dataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Dataset {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Dataset::ALL
            .into_iter()
            .find(|d| d.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Dataset::ALL.iter().map(|d| d.name()).collect();
                format!(
                    "unknown dataset {s:?} (expected one of {})",
                    names.join(", ")
                )
            })
    }
}

/// Normalised order status (SPEC §4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    Unpaid,
    Paid,
    Shipped,
    Completed,
    Closed,
    Refunding,
    /// A status text we do not know; the row is kept and a warning raised.
    Unknown,
}

impl OrderStatus {
    /// Maps a platform's status text; `None` for an unknown text.
    pub fn from_platform(text: &str) -> Option<OrderStatus> {
        let t = text.trim();
        Some(match t {
            "等待买家付款" | "unpaid" => OrderStatus::Unpaid,
            "买家已付款"
            | "买家已付款,等待卖家发货"
            | "买家已付款，等待卖家发货"
            | "等待卖家发货"
            | "paid" => OrderStatus::Paid,
            "卖家已发货" | "卖家已发货,等待买家确认" | "卖家已发货，等待买家确认" | "shipped" => {
                OrderStatus::Shipped
            }
            "交易成功" | "completed" => OrderStatus::Completed,
            "交易关闭" | "closed" => OrderStatus::Closed,
            "退款中" | "refunding" => OrderStatus::Refunding,
            "unknown" => OrderStatus::Unknown,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Unpaid => "unpaid",
            OrderStatus::Paid => "paid",
            OrderStatus::Shipped => "shipped",
            OrderStatus::Completed => "completed",
            OrderStatus::Closed => "closed",
            OrderStatus::Refunding => "refunding",
            OrderStatus::Unknown => "unknown",
        }
    }
}

/// Normalised product status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProductStatus {
    Online,
    Delisted,
}

impl ProductStatus {
    pub fn from_platform(text: &str) -> Option<ProductStatus> {
        match text.trim() {
            "当前在线" | "在线" | "出售中" | "online" => Some(ProductStatus::Online),
            "已下架" | "下架" | "仓库中" | "delisted" => Some(ProductStatus::Delisted),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ProductStatus::Online => "online",
            ProductStatus::Delisted => "delisted",
        }
    }
}

/// The kind of a traffic source (SPEC §4.3), mapped by a configurable table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TrafficType {
    Free,
    Paid,
    Campaign,
    Content,
    Other,
}

impl TrafficType {
    pub const ALL: [TrafficType; 5] = [
        TrafficType::Free,
        TrafficType::Paid,
        TrafficType::Campaign,
        TrafficType::Content,
        TrafficType::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TrafficType::Free => "free",
            TrafficType::Paid => "paid",
            TrafficType::Campaign => "campaign",
            TrafficType::Content => "content",
            TrafficType::Other => "other",
        }
    }

    /// Accepts the English id or the Chinese label (免费, 付费, 活动, 内容, 其他).
    pub fn parse(s: &str) -> Option<TrafficType> {
        Some(match s.trim() {
            "free" | "免费" => TrafficType::Free,
            "paid" | "付费" => TrafficType::Paid,
            "campaign" | "活动" => TrafficType::Campaign,
            "content" | "内容" => TrafficType::Content,
            "other" | "其他" => TrafficType::Other,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dataset_has_its_key_and_date_fields() {
        for d in Dataset::ALL {
            assert!(d.field_index(d.key_field()).is_some(), "{d}: key field");
            if let Some(df) = d.date_field() {
                assert!(d.field_index(df).is_some(), "{d}: date field");
            }
            assert_eq!(d.name().parse::<Dataset>().unwrap(), d);
        }
    }

    #[test]
    fn aliases_are_unique_within_a_dataset() {
        for d in Dataset::ALL {
            let mut seen = std::collections::HashSet::new();
            for field in d.fields() {
                assert!(seen.insert(field.name), "{d}: {}", field.name);
                for a in field.aliases {
                    assert!(seen.insert(a), "{d}: alias {a} appears twice");
                }
            }
        }
    }

    #[test]
    fn platform_statuses_map() {
        assert_eq!(
            OrderStatus::from_platform("买家已付款,等待卖家发货"),
            Some(OrderStatus::Paid)
        );
        assert_eq!(
            OrderStatus::from_platform("交易关闭"),
            Some(OrderStatus::Closed)
        );
        assert_eq!(OrderStatus::from_platform("被风吹走"), None);
    }
}
