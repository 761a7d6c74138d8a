//! `--set key.path=value` overrides (SPEC §2).
//!
//! Overrides are applied to the raw TOML tables before anything is
//! deserialised, so an overridden key is validated exactly like one written
//! in the file. `jobs.<job>.<key>` addresses the job's own file.

use std::fmt;
use std::str::FromStr;

/// One `--set` argument.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    /// Dotted key path, split.
    pub path: Vec<String>,
    pub value: toml::Value,
}

impl FromStr for Override {
    type Err = String;

    /// The value is TOML; anything that is not valid TOML is taken as a
    /// string, so `--set inbox=/srv/exports` works without quotes.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (key, raw) = s
            .split_once('=')
            .ok_or_else(|| format!("--set {s:?}: expected KEY=VALUE"))?;
        let key = key.trim();
        let path = split_key(key).ok_or_else(|| format!("--set {s:?}: invalid key {key:?}"))?;
        let value = parse_value(raw);
        Ok(Override { path, value })
    }
}

impl fmt::Display for Override {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.path.join("."), self.value)
    }
}

/// Splits `a.b."c.d"` into its parts; quoted parts may contain dots (job
/// names like `daily-ops` need no quotes).
fn split_key(key: &str) -> Option<Vec<String>> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in key.chars() {
        match c {
            '"' => quoted = !quoted,
            '.' if !quoted => parts.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    parts.push(cur);
    if quoted || parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    Some(parts)
}

fn parse_value(raw: &str) -> toml::Value {
    let doc = format!("v = {raw}");
    match toml::from_str::<toml::Table>(&doc) {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(raw.to_string())),
        Err(_) => toml::Value::String(raw.to_string()),
    }
}

/// Sets `path` in `table` to `value`, creating intermediate tables. Returns
/// an error when a non-table value stands in the way.
pub fn apply(table: &mut toml::Table, path: &[String], value: toml::Value) -> Result<(), String> {
    let Some((last, parents)) = path.split_last() else {
        return Err("empty key".into());
    };
    let mut cur = table;
    for (i, part) in parents.iter().enumerate() {
        let entry = cur
            .entry(part.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        cur = match entry {
            toml::Value::Table(t) => t,
            _ => {
                return Err(format!("{} is not a table", path[..=i].join(".")));
            }
        };
    }
    cur.insert(last.clone(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_toml_or_else_strings() {
        let o: Override = "tiers.window_days=1000".parse().unwrap();
        assert_eq!(o.path, ["tiers", "window_days"]);
        assert_eq!(o.value, toml::Value::Integer(1000));
        let o: Override = "inbox=/srv/exports".parse().unwrap();
        assert_eq!(o.value, toml::Value::String("/srv/exports".into()));
        let o: Override = "inbox=\"/srv/x\"".parse().unwrap();
        assert_eq!(o.value, toml::Value::String("/srv/x".into()));
        let o: Override = "jobs.daily-ops.schedule=0 7 * * *".parse().unwrap();
        assert_eq!(o.path, ["jobs", "daily-ops", "schedule"]);
        assert_eq!(o.value, toml::Value::String("0 7 * * *".into()));
        let o: Override = "teams.ops.recipients=[\"a@b.c\"]".parse().unwrap();
        assert!(matches!(o.value, toml::Value::Array(_)));
        assert!("novalue".parse::<Override>().is_err());
        assert!("a..b=1".parse::<Override>().is_err());
    }

    #[test]
    fn apply_creates_tables_and_refuses_to_overwrite_scalars_with_tables() {
        let mut t = toml::Table::new();
        apply(
            &mut t,
            &["smtp".into(), "port".into()],
            toml::Value::Integer(25),
        )
        .unwrap();
        assert_eq!(t["smtp"]["port"].as_integer(), Some(25));
        t.insert("shop".into(), toml::Value::String("x".into()));
        assert!(
            apply(
                &mut t,
                &["shop".into(), "a".into()],
                toml::Value::Integer(1)
            )
            .is_err()
        );
    }
}
