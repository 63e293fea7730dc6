//! How big a world to generate, and from which seed.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::MockError;

/// The size of the generated world. The (synthetic) gazetteer is the whole
/// country at both scales.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scale {
    /// About 100 health facilities, 200 schools and 3,000 staff: for tests.
    Small,
    /// Cambodian scale: about 1,300 health facilities, 13,000 schools and 250,000
    /// staff (25,000 health workers, 150,000 teachers, the rest in offices).
    Full,
}

impl Scale {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Small => "small",
            Self::Full => "full",
        }
    }
}

impl fmt::Display for Scale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scale {
    type Err = MockError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "small" => Ok(Self::Small),
            "full" => Ok(Self::Full),
            _ => Err(MockError::UnknownScale(s.to_owned())),
        }
    }
}

/// What to generate. The same configuration, with `as_of` set, always gives
/// byte-identical responses (until a mutation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MockConfig {
    pub scale: Scale,
    pub seed: u64,
    /// The day the world is as of: its current payroll period is the last full month
    /// before it, and its records' update times lead up to it. `None`: today in
    /// Cambodia (UTC+7), so the world follows the clock; set it for a world that does
    /// not change with the date (tests). Dates within one month give the same world.
    pub as_of: Option<NaiveDate>,
    /// Plants the linkage noise classes (sector records without ids and with variant
    /// spellings, mistyped officer ids, national id only, roll duplicates with
    /// variants, hard negatives) and their truth ([`crate::Truth::linkage`]). Off,
    /// the world is exactly the one without it.
    pub linkage_noise: bool,
}

impl Default for MockConfig {
    fn default() -> Self {
        Self {
            scale: Scale::Small,
            seed: 42,
            as_of: None,
            linkage_noise: false,
        }
    }
}

impl MockConfig {
    /// The day the world is as of: `as_of`, or today in Cambodia.
    pub fn as_of_date(&self) -> NaiveDate {
        self.as_of.unwrap_or_else(crate::clock::cambodia_today)
    }
}
