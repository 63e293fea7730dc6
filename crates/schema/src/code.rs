use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{MinistryCode, ParseError, text};

/// A code of Cambodia's administrative gazetteer (NCDD): 2 digits for a province or
/// the capital, 4 for a district, municipality or khan, 6 for a commune or sangkat,
/// 8 for a village. A unit's code starts with its parent's (`01` > `0102` > `010201`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, pattern = "^[0-9]{2}([0-9]{2}){0,3}$", example = "010201")]
pub struct AdminCode(String);

/// The four levels of the gazetteer.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AdminLevel {
    Province,
    District,
    Commune,
    Village,
}

/// Cambodia has 25 provinces (the capital counted), coded 01 to 25.
const PROVINCES: std::ops::RangeInclusive<u8> = 1..=25;

impl AdminCode {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        const WHAT: &str = "admin code";
        ParseError::refuse_nul(WHAT, input)?;
        let s = text::for_reading(input);
        let bad = |reason: String| ParseError::new(WHAT, reason).with_value(input);
        if s.is_empty() {
            return Err(ParseError::new(WHAT, "is empty"));
        }
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("must contain only digits".to_owned()));
        }
        if !matches!(s.len(), 2 | 4 | 6 | 8) {
            return Err(bad(format!(
                "has {} digits; a gazetteer code has 2, 4, 6 or 8",
                s.len()
            )));
        }
        let province: u8 = s[..2].parse().unwrap_or(0);
        if !PROVINCES.contains(&province) {
            return Err(bad(
                "starts with a province that does not exist (01-25)".to_owned()
            ));
        }
        if s.len() > 2 && s[s.len() - 2..] == *"00" {
            return Err(bad("ends in 00, which numbers no unit".to_owned()));
        }
        Ok(Self(s))
    }

    /// Reads a unit's code given its parent's, checking the child extends the parent
    /// by exactly one level.
    pub fn parse_child_of(input: &str, parent: &AdminCode) -> Result<Self, ParseError> {
        let code = Self::parse(input)?;
        if code.parent().as_ref() != Some(parent) {
            return Err(ParseError::new(
                "parent_code",
                "is not the parent of the code: a child's code extends its parent's by two digits",
            )
            .with_value(format!("{parent} of {code}")));
        }
        Ok(code)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn level(&self) -> AdminLevel {
        match self.0.len() {
            2 => AdminLevel::Province,
            4 => AdminLevel::District,
            6 => AdminLevel::Commune,
            _ => AdminLevel::Village,
        }
    }

    /// The code of the unit one level up, none for a province.
    pub fn parent(&self) -> Option<AdminCode> {
        (self.0.len() > 2).then(|| AdminCode(self.0[..self.0.len() - 2].to_owned()))
    }

    /// Whether `other` is this unit or lies inside it.
    pub fn contains(&self, other: &AdminCode) -> bool {
        other.0.starts_with(&self.0)
    }
}

impl AdminLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Province => "province",
            Self::District => "district",
            Self::Commune => "commune",
            Self::Village => "village",
        }
    }

    pub fn parse(input: &str) -> Result<Self, ParseError> {
        ParseError::refuse_nul("level", input)?;
        match input.trim().to_ascii_lowercase().as_str() {
            "province" => Ok(Self::Province),
            "district" => Ok(Self::District),
            "commune" => Ok(Self::Commune),
            "village" => Ok(Self::Village),
            _ => Err(ParseError::new(
                "level",
                "is not one of province, district, commune, village",
            )
            .with_value(input)),
        }
    }
}

string_newtype!(AdminCode);

/// Who runs a facility: its ministry, or, once a function has been transferred under
/// D&D reform, the sub-national administration named by its gazetteer code.
/// Written as the ministry code (`MOH`) or the administration's code (`0102`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ManagedBy {
    Ministry(MinistryCode),
    Administration(AdminCode),
}

impl ManagedBy {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        ParseError::refuse_nul("managed_by", input)?;
        let s = text::for_reading(input);
        if s.bytes().next().is_some_and(|b| b.is_ascii_digit()) {
            let code = AdminCode::parse(&s).map_err(|e| e.in_field("managed_by"))?;
            if code.level() == AdminLevel::Village {
                return Err(ParseError::new(
                    "managed_by",
                    "is a village, which has no administration of its own",
                )
                .with_value(input));
            }
            Ok(Self::Administration(code))
        } else {
            MinistryCode::parse(&s)
                .map(Self::Ministry)
                .map_err(|e| e.in_field("managed_by"))
        }
    }
}

impl fmt::Display for ManagedBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ministry(m) => fmt::Display::fmt(m, f),
            Self::Administration(c) => fmt::Display::fmt(c, f),
        }
    }
}

impl TryFrom<String> for ManagedBy {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ManagedBy> for String {
    fn from(value: ManagedBy) -> Self {
        value.to_string()
    }
}

impl utoipa::PartialSchema for ManagedBy {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some(
                "The ministry that runs the facility (`MOH`, `MOEYS`), or the gazetteer code of \
                 the sub-national administration its function was transferred to (`0102`).",
            ))
            .examples(["MOH", "0102"])
            .into()
    }
}

impl ToSchema for ManagedBy {}
