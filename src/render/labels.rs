//! Workbook labels in a team's locale, from `templates/i18n/<locale>.toml`:
//! sheet names, column headers, check levels, segment / level / lifecycle
//! names and the cover's fixed texts. KPI labels default to the KPI
//! catalogue and check titles to the check catalogue; the file overrides
//! either. A key the file does not have falls back to the built-in label,
//! then to the id itself, so a partial translation still renders.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::layout::{LayoutError, SheetKind};
use crate::check::{Level, check_def};
use crate::compute::kpi::{kpi_kind, kpi_label};
use crate::config::Locale;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLabels {
    #[serde(default)]
    pub text: BTreeMap<String, String>,
    #[serde(default)]
    pub sheets: BTreeMap<String, String>,
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    #[serde(default)]
    pub kpis: BTreeMap<String, String>,
    #[serde(default)]
    pub checks: BTreeMap<String, String>,
    #[serde(default)]
    pub levels: BTreeMap<String, String>,
    #[serde(default)]
    pub segments: BTreeMap<String, String>,
    #[serde(default)]
    pub member_levels: BTreeMap<String, String>,
    #[serde(default)]
    pub lifecycle: BTreeMap<String, String>,
    #[serde(default)]
    pub classes: BTreeMap<String, String>,
    #[serde(default)]
    pub changes: BTreeMap<String, String>,
    #[serde(default)]
    pub groups: BTreeMap<String, String>,
    #[serde(default)]
    pub actions: BTreeMap<String, String>,
    #[serde(default)]
    pub traffic_types: BTreeMap<String, String>,
    #[serde(default)]
    pub order_status: BTreeMap<String, String>,
    #[serde(default)]
    pub product_status: BTreeMap<String, String>,
    #[serde(default)]
    pub factors: BTreeMap<String, String>,
}

/// The fixed texts a workbook prints, with their keys in `[text]`.
pub const TEXT_KEYS: &[&str] = &[
    "generated_at",
    "team",
    "period",
    "status",
    "flagged",
    "held",
    "missing",
    "trend_sales_visitors",
    "trend_conversion",
    "traffic_mix",
    "segment_sizes",
];

/// Resolved labels of one locale.
#[derive(Debug, Clone)]
pub struct Labels {
    pub locale: Locale,
    raw_text: BTreeMap<String, String>,
    sheets: BTreeMap<String, String>,
    columns: BTreeMap<String, String>,
    kpis: BTreeMap<String, String>,
    checks: BTreeMap<String, String>,
    levels: BTreeMap<String, String>,
    segments: BTreeMap<String, String>,
    member_levels: BTreeMap<String, String>,
    lifecycle: BTreeMap<String, String>,
    classes: BTreeMap<String, String>,
    changes: BTreeMap<String, String>,
    groups: BTreeMap<String, String>,
    actions: BTreeMap<String, String>,
    traffic_types: BTreeMap<String, String>,
    order_status: BTreeMap<String, String>,
    product_status: BTreeMap<String, String>,
    factors: BTreeMap<String, String>,
}

fn get_or(map: &BTreeMap<String, String>, key: &str, fallback: impl FnOnce() -> String) -> String {
    map.get(key).cloned().unwrap_or_else(fallback)
}

impl Labels {
    /// Labels with no file behind them: catalogue labels and ids.
    pub fn builtin(locale: Locale) -> Labels {
        Labels::from_raw(locale, RawLabels::default())
    }

    pub fn from_raw(locale: Locale, r: RawLabels) -> Labels {
        Labels {
            locale,
            raw_text: r.text,
            sheets: r.sheets,
            columns: r.columns,
            kpis: r.kpis,
            checks: r.checks,
            levels: r.levels,
            segments: r.segments,
            member_levels: r.member_levels,
            lifecycle: r.lifecycle,
            classes: r.classes,
            changes: r.changes,
            groups: r.groups,
            actions: r.actions,
            traffic_types: r.traffic_types,
            order_status: r.order_status,
            product_status: r.product_status,
            factors: r.factors,
        }
    }

    pub fn zh(&self) -> bool {
        self.locale == Locale::ZhCn
    }

    pub fn text(&self, key: &str) -> String {
        get_or(&self.raw_text, key, || match key {
            "missing" => "—".into(),
            k => k.to_string(),
        })
    }

    pub fn sheet(&self, kind: SheetKind) -> String {
        get_or(&self.sheets, kind.as_str(), || kind.as_str().to_string())
    }

    /// A column header; KPI ids (trend columns) fall back to KPI labels.
    pub fn column(&self, id: &str) -> String {
        get_or(&self.columns, id, || {
            if kpi_kind(id).is_some() {
                self.kpi(id)
            } else {
                id.to_string()
            }
        })
    }

    pub fn kpi(&self, id: &str) -> String {
        get_or(&self.kpis, id, || kpi_label(id, self.zh()))
    }

    /// A check's title: `row_count.orders` reads `行数 · orders`.
    pub fn check(&self, id: &str, fallback: &str) -> String {
        if let Some(t) = self.checks.get(id) {
            return t.clone();
        }
        let (base, suffix) = match id.split_once('.') {
            Some((b, s)) => (b, Some(s)),
            None => (id, None),
        };
        let title = self
            .checks
            .get(base)
            .cloned()
            .or_else(|| check_def(base).map(|d| if self.zh() { d.zh } else { d.en }.to_string()))
            .unwrap_or_else(|| fallback.to_string());
        match suffix {
            Some(s) => format!("{title} · {s}"),
            None => title,
        }
    }

    pub fn level(&self, level: Level) -> String {
        get_or(&self.levels, level.as_str(), || level.as_str().to_string())
    }

    /// A segment's label: the file, then the rule's own label (Chinese
    /// presets) in a Chinese workbook, then the id.
    pub fn segment(&self, id: &str, rule_label: Option<&str>) -> String {
        get_or(&self.segments, id, || match rule_label {
            Some(l) if self.zh() => l.to_string(),
            _ => id.to_string(),
        })
    }

    pub fn member_level(&self, name: &str) -> String {
        get_or(&self.member_levels, name, || name.to_string())
    }

    pub fn lifecycle(&self, id: &str) -> String {
        get_or(&self.lifecycle, id, || id.to_string())
    }

    pub fn class(&self, id: &str) -> String {
        get_or(&self.classes, id, || id.to_string())
    }

    pub fn change(&self, id: &str) -> String {
        get_or(&self.changes, id, || id.to_string())
    }

    pub fn group(&self, id: &str) -> String {
        get_or(&self.groups, id, || id.to_string())
    }

    pub fn action(&self, id: &str) -> String {
        get_or(&self.actions, id, || id.to_string())
    }

    pub fn traffic_type(&self, id: &str) -> String {
        get_or(&self.traffic_types, id, || id.to_string())
    }

    pub fn order_status(&self, id: &str) -> String {
        get_or(&self.order_status, id, || id.to_string())
    }

    pub fn product_status(&self, id: &str) -> String {
        get_or(&self.product_status, id, || id.to_string())
    }

    pub fn factor(&self, id: &str) -> String {
        get_or(&self.factors, id, || self.kpi(id))
    }
}

/// Reads `<templates_dir>/i18n/<locale>.toml`, checking that its sheet,
/// column, KPI, level and text keys exist.
pub fn load_labels(templates_dir: &Path, locale: Locale) -> Result<Labels, Vec<LayoutError>> {
    let file = templates_dir
        .join("i18n")
        .join(format!("{}.toml", locale.as_str()));
    let text = std::fs::read_to_string(&file)
        .map_err(|e| vec![LayoutError::new(&file, "", format!("cannot read: {e}"))])?;
    parse_labels(&file, locale, &text)
}

/// Parses and checks one label file's text.
pub fn parse_labels(file: &Path, locale: Locale, text: &str) -> Result<Labels, Vec<LayoutError>> {
    let raw: RawLabels = toml::from_str(text)
        .map_err(|e| vec![LayoutError::new(file, "", e.message().to_string())])?;
    let mut errors = Vec::new();
    let mut unknown =
        |section: &str, keys: &BTreeMap<String, String>, ok: &dyn Fn(&str) -> bool| {
            for k in keys.keys().filter(|k| !ok(k)) {
                errors.push(LayoutError::new(
                    file,
                    format!("{section}.{k}"),
                    format!("unknown {section} key {k:?}"),
                ));
            }
        };
    unknown("text", &raw.text, &|k| TEXT_KEYS.contains(&k));
    unknown("sheets", &raw.sheets, &|k| SheetKind::parse(k).is_some());
    unknown("columns", &raw.columns, &|k| {
        kpi_kind(k).is_some() || SheetKind::ALL.iter().any(|s| s.columns().contains(&k))
    });
    unknown("kpis", &raw.kpis, &|k| kpi_kind(k).is_some());
    unknown("checks", &raw.checks, &|k| {
        check_def(k.split_once('.').map_or(k, |(b, _)| b)).is_some()
    });
    unknown("levels", &raw.levels, &|k| {
        ["pass", "warn", "fail", "error"].contains(&k)
    });
    unknown("lifecycle", &raw.lifecycle, &|k| {
        ["potential", "active", "low_stickiness", "silent"].contains(&k)
    });
    unknown("classes", &raw.classes, &|k| ["A", "B", "C"].contains(&k));
    unknown("changes", &raw.changes, &|k| {
        ["up", "down", "same", "new"].contains(&k)
    });
    unknown("groups", &raw.groups, &|k| {
        ["level", "class", "lifecycle"].contains(&k)
    });
    unknown("actions", &raw.actions, &|k| {
        [
            "at_risk_high_value",
            "silent_to_reactivate",
            "b_class_to_nudge",
        ]
        .contains(&k)
    });
    unknown("traffic_types", &raw.traffic_types, &|k| {
        ["free", "paid", "campaign", "content", "other"].contains(&k)
    });
    unknown("factors", &raw.factors, &|k| {
        ["visitors", "conversion_rate", "aov", "gross_sales"].contains(&k)
    });
    for (k, v) in &raw.sheets {
        if v.trim().is_empty() || v.chars().count() > 24 {
            errors.push(LayoutError::new(
                file,
                format!("sheets.{k}"),
                "a sheet name needs 1 to 24 characters (Excel allows 31, continuation sheets add a number)",
            ));
        }
    }
    if errors.is_empty() {
        Ok(Labels::from_raw(locale, raw))
    } else {
        Err(errors)
    }
}
