//! The shared vocabulary of the pipeline: the eight datasets of SPEC §4.3,
//! their canonical fields with types and header aliases, the order status
//! mapping, and the typed values a parsed row carries.
//!
//! Every stage names fields by their canonical English name (`paid_amount`,
//! not `买家实际支付金额`), so the aliases live here, once, and nowhere else.
//! Users add aliases in config; those are merged on top of these by the
//! config build step.

pub mod facts;
mod ids;
mod schema;
mod value;

pub use ids::{permute, sort_by_id};
pub use schema::{Dataset, FieldKind, FieldSpec, OrderStatus, ProductStatus, TrafficType};
pub use value::{Record, Value};
