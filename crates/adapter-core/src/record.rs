use chrono::{DateTime, Utc};
use schema::{
    AdminCode, AdminUnit, FacilityReport, Ministry, ParseError, PayrollEntry, Period, RoleReport,
    StaffReport,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Cursor;

/// One kind of record a ministry's system provides.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Feed {
    /// MoI: gazetteer units.
    AdminUnits,
    /// MCS: the civil-servant roll.
    Officers,
    /// MoH DHIS2: organisation units (facilities are level 4).
    Facilities,
    /// MoH FHIR: Practitioner.
    Practitioners,
    /// MoH FHIR: PractitionerRole.
    PractitionerRoles,
    /// MoEYS EMIS: schools export.
    Schools,
    /// MoEYS EMIS: teachers export.
    Teachers,
    /// MEF: one month's payroll.
    Payroll(Period),
}

impl Feed {
    /// A stable name, used for stored cursors and raw records.
    pub fn name(&self) -> String {
        match self {
            Self::AdminUnits => "admin_units".to_owned(),
            Self::Officers => "officers".to_owned(),
            Self::Facilities => "facilities".to_owned(),
            Self::Practitioners => "practitioners".to_owned(),
            Self::PractitionerRoles => "practitioner_roles".to_owned(),
            Self::Schools => "schools".to_owned(),
            Self::Teachers => "teachers".to_owned(),
            Self::Payroll(p) => format!("payroll:{p}"),
        }
    }
}

/// A normalised record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Record {
    AdminUnit(AdminUnit),
    Staff(StaffReport),
    Facility(FacilityReport),
    Role(RoleReport),
    Payroll(PayrollEntry),
}

/// A record read from a source, with the raw payload it came as.
#[derive(Debug, Clone, PartialEq)]
pub struct Fetched {
    pub source_id: String,
    pub record: Record,
    pub raw: Value,
}

/// A record that could not be normalised: kept whole, with what was wrong with it.
///
/// Each problem names the field and the rule it broke; the offending value travels
/// apart in the problem (it may be personal: a national id, a birth date), so the
/// registry shows it only to callers who may see personal data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rejection {
    pub ministry: Ministry,
    pub feed: Feed,
    /// The record's id in its source, when it had a readable one.
    pub source_id: Option<String>,
    pub raw: Value,
    /// What was wrong: at least one problem.
    pub problems: Vec<ParseError>,
    /// The place the raw record names (the gazetteer code its format puts where the
    /// record is), when it reads as one: what a sub-national caller's view of
    /// rejections is scoped by.
    pub place: Option<AdminCode>,
}

impl Rejection {
    /// A rejection of `raw` for `problems`, with no id or place yet.
    pub fn new(ministry: Ministry, feed: Feed, raw: Value, problems: Vec<ParseError>) -> Self {
        Self {
            ministry,
            feed,
            source_id: None,
            raw,
            problems,
            place: None,
        }
    }

    /// The record's id in its source. An id PostgreSQL could not store (one with a NUL)
    /// is no id: the record is then kept under a hash of its payload.
    #[must_use]
    pub fn with_source_id(mut self, id: Option<String>) -> Self {
        self.source_id = id.filter(|id| !id.contains('\0'));
        self
    }

    /// The place the record names, read by the adapter from where its format puts it.
    #[must_use]
    pub fn with_place(mut self, place: Option<AdminCode>) -> Self {
        self.place = place;
        self
    }

    /// Field and rule of each problem, never the values: what anyone may read.
    pub fn reason(&self) -> String {
        if self.problems.is_empty() {
            return "unreadable record".to_owned();
        }
        let parts: Vec<String> = self.problems.iter().map(ToString::to_string).collect();
        parts.join("; ")
    }

    /// The reason with each problem's value quoted: for readers of personal data only.
    pub fn reason_quoting_values(&self) -> String {
        if self.problems.is_empty() {
            return self.reason();
        }
        let parts: Vec<String> = self
            .problems
            .iter()
            .map(ParseError::quoting_value)
            .collect();
        parts.join("; ")
    }
}

/// One page of a feed.
#[derive(Debug, Clone)]
pub struct Page {
    pub items: Vec<Fetched>,
    pub rejections: Vec<Rejection>,
    /// Where to resume once this page is stored.
    pub next: Cursor,
    pub fetched_at: DateTime<Utc>,
}

impl Page {
    /// A page with nothing on it, for a pull already done.
    pub fn empty(next: Cursor) -> Self {
        Self {
            items: Vec::new(),
            rejections: Vec::new(),
            next,
            fetched_at: Utc::now(),
        }
    }

    /// How many source records the page carried, valid or not.
    pub fn len(&self) -> usize {
        self.items.len() + self.rejections.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
