//! The five ministries the mock serves.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::MockError;

/// A ministry whose system the mock plays. Written in lower case (`mcs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ministry {
    /// Interior: the gazetteer.
    Moi,
    /// Civil Service: the HRMIS roll.
    Mcs,
    /// Health: DHIS2 facilities and FHIR health workers.
    Moh,
    /// Education, Youth and Sport: EMIS CSV exports.
    Moeys,
    /// Economy and Finance: the payroll.
    Mef,
}

impl Ministry {
    pub const ALL: [Self; 5] = [Self::Moi, Self::Mcs, Self::Moh, Self::Moeys, Self::Mef];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Moi => "moi",
            Self::Mcs => "mcs",
            Self::Moh => "moh",
            Self::Moeys => "moeys",
            Self::Mef => "mef",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Ministry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Ministry {
    type Err = MockError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| MockError::UnknownMinistry(s.to_owned()))
    }
}
