//! Text PostgreSQL can store. It refuses a NUL character in `text` and the `\u0000`
//! escape in `jsonb`, and ministries' records may carry one: the raw archive keeps such
//! a payload readable with each NUL replaced by U+FFFD, and exactly as received beside
//! it (see migration V7).

use std::borrow::Cow;

use serde_json::Value;

/// What stands for a NUL in stored text: the replacement character.
const STAND_IN: char = '\u{FFFD}';

/// Whether a JSON value has a NUL in any string or key.
pub(crate) fn has_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(has_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

/// The value with each NUL (in strings and keys) replaced by U+FFFD.
pub(crate) fn without_nul(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(text(s).into_owned()),
        Value::Array(items) => Value::Array(items.iter().map(without_nul).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (text(k).into_owned(), without_nul(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Text with each NUL replaced by U+FFFD; borrowed when it has none.
pub(crate) fn text(s: &str) -> Cow<'_, str> {
    if s.contains('\0') {
        Cow::Owned(s.replace('\0', &STAND_IN.to_string()))
    } else {
        Cow::Borrowed(s)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn nuls_are_found_at_any_depth_and_stood_in_for() {
        let v = json!({"a": ["x", {"b\u{0}": "c\u{0}d"}], "n": 1});
        assert!(has_nul(&v));
        let clean = without_nul(&v);
        assert!(!has_nul(&clean));
        assert_eq!(
            clean,
            json!({"a": ["x", {"b\u{FFFD}": "c\u{FFFD}d"}], "n": 1})
        );
        assert!(!has_nul(&json!({"a": "x", "b": [1, null, true]})));
        assert!(matches!(text("plain"), Cow::Borrowed("plain")));
    }
}
