//! The shared schema of the interop gateway: the records every ministry's data is
//! normalised into (admin units, facilities, staff, assignments), the identifiers and
//! codes they carry, and the reading of Khmer text and dates as ministries write them.
//!
//! Everything here is pure: no I/O, no clock, no database. Values that arrive from
//! outside are turned into domain types by a `parse` function that returns a
//! [`ParseError`] naming what was wrong, so the rest of the system can rely on a value
//! being valid once it has its type ("parse, don't validate").

/// Display, `TryFrom<String>` (through `parse`) and `Into<String>` for a newtype over a
/// string, so serde reads it through `parse` and writes it as the plain string.
macro_rules! string_newtype {
    ($t:ty) => {
        impl ::std::fmt::Display for $t {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl TryFrom<String> for $t {
            type Error = $crate::ParseError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }
        impl From<$t> for String {
            fn from(value: $t) -> Self {
                value.as_str().to_owned()
            }
        }
    };
}

mod code;
mod date;
mod error;
mod ids;
#[macro_use]
mod kinds;
mod records;
mod reports;
mod roster;
pub mod text;
mod triage;

pub use code::{AdminCode, AdminLevel, ManagedBy};
pub use date::Date;
pub use error::{NUL_RULE, ParseError};
pub use ids::{CivilServantId, MinistryCode, Name, NationalId};
pub use kinds::{
    AdminKind, DiscrepancyKind, FacilityKind, FacilityStatus, IdentifierSystem, Identifies,
    Ministry, Sector, Sex, StaffStatus,
};
pub use records::{
    AdminUnit, Assignment, Facility, GeoPoint, LinkedBy, Provenance, SourceIdentifier, Staff,
};
pub use reports::{FacilityReport, PayrollEntry, Period, Posting, RoleReport, StaffReport};
pub use roster::{FieldError, MAX_ROSTER_ENTRIES, RosterEntry, RosterSubmission};
pub use triage::{Explanation, FindingAction, FindingState, MAX_NOTE_CHARS, TransitionRefused};
