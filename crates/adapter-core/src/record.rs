use chrono::{DateTime, Utc};
use schema::{AdminUnit, FacilityReport, Ministry, PayrollEntry, Period, RoleReport, StaffReport};
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

/// A record that could not be normalised: kept whole, with the reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rejection {
    pub ministry: Ministry,
    pub feed: Feed,
    /// The record's id in its source, when it had a readable one.
    pub source_id: Option<String>,
    pub raw: Value,
    /// Names the field and says what was wrong with it.
    pub reason: String,
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
