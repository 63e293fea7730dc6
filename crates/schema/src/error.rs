use std::fmt;

/// Why a value from outside could not be read as a domain value.
///
/// `what` names the kind of value (a field name where the caller knows it better, see
/// [`ParseError::in_field`]); `reason` says what was wrong, in words a ministry's IT
/// team can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    pub what: String,
    pub reason: String,
}

impl ParseError {
    pub fn new(what: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            reason: reason.into(),
        }
    }

    /// The same error, attributed to the field it was read from.
    #[must_use]
    pub fn in_field(self, field: &str) -> Self {
        Self {
            what: field.to_owned(),
            reason: self.reason,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.what, self.reason)
    }
}
