//! Rosters as clients see them.

use chrono::{DateTime, Utc};
use serde::Serialize;
use store::{PassSummary, StoredEntry, StoredRoster};
use utoipa::ToSchema;
use uuid::Uuid;

use super::MASKED;

/// A roster a service site submitted.
#[derive(Debug, Serialize, ToSchema)]
pub struct RosterView {
    pub id: Uuid,
    pub facility_id: Uuid,
    #[schema(example = "2025-12")]
    pub period: String,
    pub submitted_at: DateTime<Utc>,
    /// The client (token `sub`) that submitted it.
    #[schema(example = "moh-app-kampot")]
    pub submitted_by: String,
    /// The earlier roster for the same facility and month that this one replaced.
    pub supersedes: Option<Uuid>,
    /// The later roster that replaced this one; null while it is the current one.
    pub superseded_by: Option<Uuid>,
    pub counts: EntryCountsView,
    /// The entries; given on single rosters and submissions, not in lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entries: Option<Vec<RosterEntryView>>,
    /// What the submission did to the facility's discrepancies (single rosters; a
    /// replayed submission answers the first one's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discrepancies: Option<PassView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EntryCountsView {
    pub entries: u64,
    pub present: u64,
    pub absent: u64,
    /// Entries linked to a staff record.
    pub linked: u64,
}

/// One person on a roster, and the staff record it was linked to.
#[derive(Debug, Serialize, ToSchema)]
pub struct RosterEntryView {
    pub index: usize,
    #[schema(example = "1000123456")]
    pub civil_servant_id: Option<String>,
    /// Personal data: `***` unless the token has `staff:read:pii`.
    pub national_id: Option<String>,
    #[schema(example = "សុខ ចាន់ថា")]
    pub name_km: Option<String>,
    #[schema(example = "Sok Chantha")]
    pub name_latin: Option<String>,
    #[schema(example = "female")]
    pub sex: Option<String>,
    #[schema(example = "ឆ្មប")]
    pub role: Option<String>,
    pub present: bool,
    pub note: Option<String>,
    /// The staff record this entry names, when it could be linked.
    pub staff_id: Option<Uuid>,
    /// How it was linked: `civil_servant_id`, `national_id` or `name_at_facility`.
    #[schema(example = "civil_servant_id")]
    pub linked_by: Option<&'static str>,
}

/// The facility's discrepancies after a submission.
#[derive(Debug, Serialize, ToSchema)]
pub struct PassView {
    /// Roster-driven findings open at the facility.
    pub open: u64,
    /// Newly found (or found again).
    pub opened: u64,
    /// No longer found: the roster and the records now agree.
    pub resolved: u64,
    /// How long recomputing the facility's findings took, in milliseconds.
    pub took_ms: u64,
}

impl From<PassSummary> for PassView {
    fn from(p: PassSummary) -> Self {
        Self {
            open: p.open,
            opened: p.opened,
            resolved: p.resolved,
            took_ms: p.millis,
        }
    }
}

impl RosterView {
    pub fn new(r: StoredRoster, reveal_pii: bool, with_entries: bool) -> Self {
        let entries = with_entries.then(|| {
            r.entries
                .into_iter()
                .map(|e| RosterEntryView::new(e, reveal_pii))
                .collect()
        });
        Self {
            id: r.id,
            facility_id: r.facility_id,
            period: r.period.to_string(),
            submitted_at: r.submitted_at,
            submitted_by: r.client,
            supersedes: r.supersedes,
            superseded_by: r.superseded_by,
            counts: EntryCountsView {
                entries: r.counts.entries,
                present: r.counts.present,
                absent: r.counts.entries - r.counts.present,
                linked: r.counts.linked,
            },
            discrepancies: r.pass.filter(|_| with_entries).map(PassView::from),
            entries,
        }
    }

    /// The staff records the roster's entries name (for the audit log).
    pub fn staff_ids(&self) -> Vec<Uuid> {
        self.entries
            .iter()
            .flatten()
            .filter_map(|e| e.staff_id)
            .collect()
    }
}

impl RosterEntryView {
    fn new(e: StoredEntry, reveal_pii: bool) -> Self {
        let entry = e.entry;
        Self {
            index: e.index,
            civil_servant_id: entry.civil_servant_id.map(|c| c.to_string()),
            national_id: entry.national_id.map(|n| {
                if reveal_pii {
                    n.to_string()
                } else {
                    MASKED.to_owned()
                }
            }),
            name_km: entry.name_km.map(|n| n.to_string()),
            name_latin: entry.name_latin.map(|n| n.to_string()),
            sex: entry.sex.map(|s| s.as_str().to_owned()),
            role: entry.role,
            present: entry.present,
            note: entry.note,
            staff_id: e.staff_id,
            linked_by: e.linked_by.map(|l| l.as_str()),
        }
    }
}

list_of!(
    RosterList,
    RosterView,
    "A page of a facility's rosters, newest first."
);
