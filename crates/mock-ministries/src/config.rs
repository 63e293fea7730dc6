//! How big a world to generate, and from which seed.

use std::fmt;
use std::str::FromStr;

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

/// What to generate. The same configuration always gives byte-identical responses
/// (until a mutation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MockConfig {
    pub scale: Scale,
    pub seed: u64,
}

impl Default for MockConfig {
    fn default() -> Self {
        Self {
            scale: Scale::Small,
            seed: 42,
        }
    }
}
