//! Deserialising one config section while collecting every problem.
//!
//! serde stops at the first error, but a user fixing a config wants all of
//! them. For unknown keys (the most common mistake: a typo) we record the
//! error, remove the key and try again, so every misspelt key in a section is
//! reported in one pass. Other errors (a wrong type) are recorded with the key
//! path toml's deserializer gives and end that section.

use std::path::Path;

use serde::de::DeserializeOwned;

use super::ConfigErrors;

/// The most unknown keys reported for one section before giving up.
const MAX_UNKNOWN_KEYS: usize = 50;

/// Deserialises `table` (found at `prefix` in `file`) into `T`, recording
/// every problem in `errors` with its full key path.
pub fn deserialize<T: DeserializeOwned>(
    table: &toml::Table,
    file: &Path,
    prefix: &str,
    errors: &mut ConfigErrors,
) -> Option<T> {
    let mut table = table.clone();
    for _ in 0..MAX_UNKNOWN_KEYS {
        let err = match toml::Value::Table(table.clone()).try_into::<T>() {
            Ok(v) => return Some(v),
            Err(e) => e,
        };
        let text = err.to_string();
        let (message, path) = split_path(&text);
        if let Some(unknown) = unknown_field(message) {
            let parent = path.unwrap_or("");
            let key = join(prefix, &join(parent, &unknown));
            errors.push(file, key, message.to_string());
            if remove_key(&mut table, parent, &unknown) {
                continue;
            }
        } else {
            let key = join(prefix, path.unwrap_or(""));
            errors.push(file, key, message.to_string());
        }
        return None;
    }
    None
}

/// Joins two dotted key paths, either of which may be empty.
pub fn join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_string(),
        (_, true) => a.to_string(),
        _ => format!("{a}.{b}"),
    }
}

/// toml's messages end with "\nin `a.b`" when they know the key.
fn split_path(text: &str) -> (&str, Option<&str>) {
    let text = text.trim_end();
    match text.rsplit_once("\nin `") {
        Some((msg, rest)) => (msg.trim(), Some(rest.trim_end_matches('`'))),
        None => (text, None),
    }
}

fn unknown_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let end = rest.find('`')?;
    Some(rest[..end].to_string())
}

fn remove_key(table: &mut toml::Table, parent: &str, key: &str) -> bool {
    let mut cur = table;
    if !parent.is_empty() {
        for part in parent.split('.') {
            match cur.get_mut(part) {
                Some(toml::Value::Table(t)) => cur = t,
                _ => return false,
            }
        }
    }
    cur.remove(key).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        a: u32,
    }

    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        inner: Inner,
        x: Option<u32>,
    }

    #[test]
    fn reports_every_unknown_key_with_its_path() {
        let t: toml::Table = toml::from_str("x = 1\ny = 2\n[inner]\na = 1\nzz = 3\n").unwrap();
        let mut errors = ConfigErrors::default();
        // The section still comes back (without the unknown keys) so the
        // build step can go on and find further problems.
        let v: Option<Outer> = deserialize(&t, Path::new("g.toml"), "sec", &mut errors);
        assert_eq!(v.map(|o| o.inner.a), Some(1));
        let keys: Vec<_> = errors.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["sec.inner.zz", "sec.y"]);
    }

    #[test]
    fn reports_a_wrong_type_at_its_key() {
        let t: toml::Table = toml::from_str("[inner]\na = \"s\"\n").unwrap();
        let mut errors = ConfigErrors::default();
        let v: Option<Outer> = deserialize(&t, Path::new("g.toml"), "", &mut errors);
        assert!(v.is_none());
        assert_eq!(errors.0[0].key, "inner.a");
        assert!(errors.0[0].message.contains("expected u32"), "{errors}");
    }
}
