use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a value from outside could not be read as a domain value.
///
/// `what` names the kind of value (a field name where the caller knows it better, see
/// [`ParseError::in_field`]); `reason` says which rule it broke, in words a ministry's
/// IT team can act on, and never quotes the value: the value may be personal (a
/// national id, a birth date), so it travels apart, in `value`, for the callers that
/// may see it. `Display` (what logs and most messages show) is `what: reason`, without
/// the value; [`ParseError::quoting_value`] adds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub struct ParseError {
    pub what: String,
    pub reason: String,
    /// The offending value as it was given, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// The rule broken by text PostgreSQL cannot store (it refuses U+0000 in `text`, and
/// the `\u0000` escape in `jsonb`).
pub const NUL_RULE: &str = "contains a NUL character, which cannot be stored";

impl ParseError {
    pub fn new(what: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            reason: reason.into(),
            value: None,
        }
    }

    /// The same error, carrying the value that broke the rule.
    #[must_use]
    pub fn with_value(mut self, value: impl Into<String>) -> Self {
        self.value = Some(value.into());
        self
    }

    /// The same error, attributed to the field it was read from.
    #[must_use]
    pub fn in_field(self, field: &str) -> Self {
        Self {
            what: field.to_owned(),
            ..self
        }
    }

    /// `what: reason (got "value")`: only for readers allowed to see the value. Control
    /// characters (a NUL among them) are written escaped, other text as it is.
    pub fn quoting_value(&self) -> String {
        match &self.value {
            Some(v) => {
                let quoted: String = v
                    .chars()
                    .map(|c| {
                        if c.is_control() || c == '"' || c == '\\' {
                            c.escape_debug().to_string()
                        } else {
                            c.to_string()
                        }
                    })
                    .collect();
                format!("{self} (got \"{quoted}\")")
            }
            None => self.to_string(),
        }
    }

    /// Refuses text PostgreSQL cannot store: a NUL character anywhere in it.
    pub fn refuse_nul(what: &str, input: &str) -> Result<(), Self> {
        if input.contains('\0') {
            Err(Self::new(what, NUL_RULE).with_value(input))
        } else {
            Ok(())
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.what, self.reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_value_is_shown_only_when_asked_for() {
        let e = ParseError::new("national_id", "has 13 digits; expected 9 to 12")
            .with_value("1234567890123");
        assert_eq!(
            e.to_string(),
            "national_id: has 13 digits; expected 9 to 12"
        );
        assert!(!e.to_string().contains("1234567890123"));
        assert_eq!(
            e.quoting_value(),
            "national_id: has 13 digits; expected 9 to 12 (got \"1234567890123\")"
        );
        let moved = e.in_field("identifier[national-id]");
        assert_eq!(moved.value.as_deref(), Some("1234567890123"));
    }

    #[test]
    fn nul_is_refused_with_the_rule_named() {
        let e = ParseError::refuse_nul("note", "a\0b").expect_err("NUL");
        assert_eq!(e.reason, NUL_RULE);
        assert_eq!(
            e.quoting_value(),
            format!("note: {NUL_RULE} (got \"a\\0b\")")
        );
        assert_eq!(e.what, "note");
        assert!(ParseError::refuse_nul("note", "ab").is_ok());
    }
}
