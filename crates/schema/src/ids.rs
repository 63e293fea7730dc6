use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{ParseError, text};

/// An officer id of the Ministry of Civil Service's HRMIS: the main key that links one
/// person across ministries. 6 to 12 digits; Khmer digits, spaces and hyphens as
/// ministries write them are read away.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "1000123456")]
pub struct CivilServantId(String);

/// A Cambodian national identity card number: 9 to 12 digits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "010203040")]
pub struct NationalId(String);

/// A ministry's short code as the civil-service roll writes it (`MOH`, `MOEYS`, ...):
/// 2 to 12 letters or digits, upper case.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "MOH")]
pub struct MinistryCode(String);

/// A person's or a place's name, in Khmer or Latin script: NFC, trimmed, not empty.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "សុខ ចាន់ថា")]
pub struct Name(String);

fn digits_only(
    input: &str,
    what: &str,
    lengths: std::ops::RangeInclusive<usize>,
) -> Result<String, ParseError> {
    ParseError::refuse_nul(what, input)?;
    let s: String = text::for_reading(input)
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .collect();
    if s.is_empty() {
        return Err(ParseError::new(what, "is empty"));
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::new(what, "must contain only digits").with_value(input));
    }
    if !lengths.contains(&s.len()) {
        return Err(ParseError::new(
            what,
            format!(
                "has {} digits; expected {} to {}",
                s.len(),
                lengths.start(),
                lengths.end()
            ),
        )
        .with_value(input));
    }
    Ok(s)
}

impl CivilServantId {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        digits_only(input, "civil_servant_id", 6..=12).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl NationalId {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        digits_only(input, "national_id", 9..=12).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl MinistryCode {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        const WHAT: &str = "ministry";
        ParseError::refuse_nul(WHAT, input)?;
        let s = text::for_reading(input).to_ascii_uppercase();
        if s.is_empty() {
            return Err(ParseError::new(WHAT, "is empty"));
        }
        if !(2..=12).contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ParseError::new(
                WHAT,
                "is not a ministry code (2 to 12 Latin letters or digits)",
            )
            .with_value(input));
        }
        Ok(Self(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<crate::Ministry> for MinistryCode {
    /// A source ministry's code (`MOH` for `moh`): always a valid code.
    fn from(ministry: crate::Ministry) -> Self {
        Self(ministry.as_str().to_ascii_uppercase())
    }
}

impl Name {
    /// Longest name accepted; a longer one is a data-entry accident, not a name.
    const MAX_CHARS: usize = 200;

    pub fn parse(input: &str) -> Result<Self, ParseError> {
        const WHAT: &str = "name";
        ParseError::refuse_nul(WHAT, input)?;
        let s = text::normalize(input);
        if text::is_blank_for_matching(&s) {
            return Err(ParseError::new(WHAT, "is empty"));
        }
        if s.chars().count() > Self::MAX_CHARS {
            return Err(ParseError::new(
                WHAT,
                format!("is longer than {} characters", Self::MAX_CHARS),
            )
            .with_value(input));
        }
        if s.chars().any(char::is_control) {
            return Err(ParseError::new(WHAT, "contains control characters").with_value(input));
        }
        Ok(Self(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The key to compare and search this name on (see [`text::match_key`]).
    pub fn match_key(&self) -> String {
        text::match_key(&self.0)
    }
}

string_newtype!(CivilServantId);
string_newtype!(NationalId);
string_newtype!(MinistryCode);
string_newtype!(Name);
