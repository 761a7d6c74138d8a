//! Header rows: cleaning header text, matching it against a dataset's
//! canonical names and aliases (plus the user's), and finding the header
//! row among the first rows of a file.

use std::collections::HashMap;

use crate::model::Dataset;

/// How many rows from the top may hold the header (生意参谋 exports put 4–5
/// preamble rows above it).
pub(crate) const HEADER_SCAN_ROWS: usize = 10;

/// Strips what exports put around a header name: a BOM, ordinary and
/// full-width spaces, zero-width characters.
pub(crate) fn clean_header(raw: &str) -> &str {
    raw.trim_matches(|c: char| c.is_whitespace() || matches!(c, '\u{feff}' | '\u{200b}'))
}

/// Removes one trailing unit suffix such as `(元)`, `(秒)`, `（%）`, `(%)`.
/// Returns `None` when there is no such suffix or nothing would remain.
pub(crate) fn strip_unit(h: &str) -> Option<&str> {
    let body = h.strip_suffix(')').or_else(|| h.strip_suffix('）'))?;
    let open = body.rfind(['(', '（'])?;
    let unit = &body[open..];
    // A unit is short; a long parenthesised text is part of the name.
    if unit.chars().count() > 7 {
        return None;
    }
    let rest = clean_header(&body[..open]);
    (!rest.is_empty()).then_some(rest)
}

fn key(h: &str) -> String {
    h.to_lowercase()
}

/// Header text → field index, for one dataset.
pub(crate) struct AliasTable {
    dataset: Dataset,
    by_name: HashMap<String, usize>,
    /// Per field, every name that matches it (for error messages).
    names: Vec<Vec<String>>,
    /// Extra aliases naming a field the dataset does not have.
    pub(crate) unknown_fields: Vec<String>,
}

impl AliasTable {
    pub(crate) fn new(dataset: Dataset, extra: &HashMap<String, Vec<String>>) -> AliasTable {
        let fields = dataset.fields();
        let mut by_name = HashMap::new();
        let mut names = vec![Vec::new(); fields.len()];
        for (i, f) in fields.iter().enumerate() {
            by_name.entry(key(f.name)).or_insert(i);
            for a in f.aliases {
                by_name.entry(key(clean_header(a))).or_insert(i);
                names[i].push((*a).to_string());
            }
        }
        let mut unknown_fields = Vec::new();
        let mut extra_sorted: Vec<_> = extra.iter().collect();
        extra_sorted.sort();
        for (field, aliases) in extra_sorted {
            match dataset.field_index(field) {
                Some(i) => {
                    for a in aliases {
                        let cleaned = clean_header(a);
                        if cleaned.is_empty() {
                            continue;
                        }
                        by_name.entry(key(cleaned)).or_insert(i);
                        // `实收款(元)` in config also matches a bare `实收款`.
                        if let Some(bare) = strip_unit(cleaned) {
                            by_name.entry(key(bare)).or_insert(i);
                        }
                        names[i].push(cleaned.to_string());
                    }
                }
                None => unknown_fields.push(field.clone()),
            }
        }
        AliasTable {
            dataset,
            by_name,
            names,
            unknown_fields,
        }
    }

    /// The field a header cell names, trying the text as is and then
    /// without a unit suffix.
    pub(crate) fn lookup(&self, raw: &str) -> Option<usize> {
        let h = clean_header(raw);
        if h.is_empty() {
            return None;
        }
        if let Some(&i) = self.by_name.get(&key(h)) {
            return Some(i);
        }
        strip_unit(h).and_then(|s| self.by_name.get(&key(s)).copied())
    }

    pub(crate) fn dataset(&self) -> Dataset {
        self.dataset
    }

    pub(crate) fn aliases(&self, field: usize) -> &[String] {
        &self.names[field]
    }

    pub(crate) fn required(&self) -> Vec<usize> {
        self.dataset
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, f)| f.required)
            .map(|(i, _)| i)
            .collect()
    }

    /// How many required fields a header candidate must match.
    pub(crate) fn needed(&self) -> usize {
        self.required().len().div_ceil(2).max(1)
    }
}

/// The columns of a header row, resolved against an alias table.
pub(crate) struct HeaderMatch {
    /// Per field, the column holding it.
    pub(crate) columns: Vec<Option<usize>>,
    /// Per field, the source header text of its column.
    pub(crate) headers: Vec<String>,
    pub(crate) unmapped: Vec<String>,
    /// Columns that named a field already taken by an earlier column.
    pub(crate) duplicates: Vec<(String, &'static str)>,
    /// Number of required fields matched.
    pub(crate) required_matched: usize,
}

pub(crate) fn match_header(table: &AliasTable, cells: &[String]) -> HeaderMatch {
    let fields = table.dataset.fields();
    let mut columns = vec![None; fields.len()];
    let mut headers = vec![String::new(); fields.len()];
    let mut unmapped = Vec::new();
    let mut duplicates = Vec::new();
    for (col, raw) in cells.iter().enumerate() {
        let cleaned = clean_header(raw);
        if cleaned.is_empty() {
            continue;
        }
        match table.lookup(raw) {
            Some(f) if columns[f].is_none() => {
                columns[f] = Some(col);
                headers[f] = cleaned.to_string();
            }
            Some(f) => duplicates.push((cleaned.to_string(), fields[f].name)),
            None => unmapped.push(cleaned.to_string()),
        }
    }
    let required_matched = table
        .required()
        .into_iter()
        .filter(|&i| columns[i].is_some())
        .count();
    HeaderMatch {
        columns,
        headers,
        unmapped,
        duplicates,
        required_matched,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_cleanup() {
        assert_eq!(clean_header("\u{feff}订单编号"), "订单编号");
        assert_eq!(clean_header("\u{3000} 买家会员名 \u{3000}"), "买家会员名");
        assert_eq!(strip_unit("支付金额(元)"), Some("支付金额"));
        assert_eq!(strip_unit("平均停留时长(秒)"), Some("平均停留时长"));
        assert_eq!(strip_unit("跳失率（%）"), Some("跳失率"));
        assert_eq!(strip_unit("跳失率 (%)"), Some("跳失率"));
        assert_eq!(strip_unit("(元)"), None);
        assert_eq!(strip_unit("订单编号"), None);
    }

    #[test]
    fn aliases_canonical_names_and_user_aliases_match() {
        let mut extra = HashMap::new();
        extra.insert("paid_amount".to_string(), vec!["实收款(元)".to_string()]);
        extra.insert("no_such_field".to_string(), vec!["x".to_string()]);
        let t = AliasTable::new(Dataset::Orders, &extra);
        let idx = |n| Dataset::Orders.field_index(n);
        assert_eq!(t.lookup("订单编号"), idx("order_id"));
        assert_eq!(t.lookup("Order_ID"), idx("order_id"));
        assert_eq!(t.lookup(" 买家实际支付金额(元) "), idx("paid_amount"));
        assert_eq!(t.lookup("实收款(元)"), idx("paid_amount"));
        assert_eq!(t.lookup("实收款"), idx("paid_amount"));
        assert_eq!(t.lookup("备注"), None);
        assert_eq!(t.unknown_fields, vec!["no_such_field".to_string()]);
        assert_eq!(t.needed(), 3);
        assert_eq!(
            AliasTable::new(Dataset::Members, &HashMap::new()).needed(),
            1
        );
    }

    #[test]
    fn header_match_reports_unmapped_and_duplicates() {
        let t = AliasTable::new(Dataset::Orders, &HashMap::new());
        let cells: Vec<String> = ["订单编号", "主订单编号", "备注", "", "订单状态", ""]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let m = match_header(&t, &cells);
        assert_eq!(m.columns[0], Some(0));
        assert_eq!(m.duplicates, vec![("主订单编号".to_string(), "order_id")]);
        assert_eq!(m.unmapped, vec!["备注".to_string()]);
        assert_eq!(m.required_matched, 2);
    }
}
