//! Correction requests as clients see them.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use store::StoredCorrection;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{MASKED, mask_evidence};

/// What one ministry's record should change.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "8d2f6c1e-3a4b-4c5d-9e6f-0a1b2c3d4e5f",
    "ministry": "moh", "record_id": "pr-3018272", "field": "sex",
    "held": "male", "supported": "female",
    "kind": "attribute_conflict", "admin_unit_code": "070101", "status": "open",
    "evidence": [
        {"source": "mcs", "record_id": "2702178246", "field": "sex", "value": "female", "seen_at": "2026-12-01T03:00:00Z"},
        {"source": "moh", "record_id": "pr-3018272", "field": "sex", "value": "male", "seen_at": "2026-12-01T03:00:00Z"}
    ],
    "discrepancy_id": "5b0c8a4e-57d1-4c38-9a0e-1f1f7c1f3a11",
    "created_at": "2026-12-02T04:12:00Z", "status_at": "2026-12-02T04:12:00Z"
}))]
pub struct CorrectionView {
    /// Stable: report back which corrections were applied by this id.
    pub id: Uuid,
    /// The ministry whose record should change.
    pub ministry: String,
    /// That ministry's own id of the record; null when it should add a record it lacks.
    pub record_id: Option<String>,
    /// The field to change (`record` for a record to add).
    pub field: String,
    /// The value the record holds. Birth dates and national ids are `***` without
    /// `staff:read:pii`.
    #[schema(value_type = Object)]
    pub held: Option<Value>,
    /// The value the evidence supports (masked alike).
    #[schema(value_type = Object)]
    pub supported: Option<Value>,
    /// The kind of the finding it comes from, or `same_person`: a reviewer decided in
    /// the match queue that this sector record is the roll's officer, and the record
    /// lacks (or mistypes) the officer id (`field` is `civil_servant_id`).
    pub kind: String,
    pub admin_unit_code: Option<String>,
    /// `open`, `done` (the ministry's record changed and the finding resolved), or
    /// `obsolete` (settled another way, or the decision undone by a split).
    pub status: String,
    /// The finding's evidence: which source said what, and when.
    #[schema(value_type = Vec<Object>)]
    pub evidence: Value,
    /// The finding it comes from.
    pub discrepancy_id: Option<Uuid>,
    /// The review-queue pair it comes from (`same_person`).
    pub match_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub status_at: DateTime<Utc>,
}

impl CorrectionView {
    pub fn new(c: StoredCorrection, reveal_pii: bool) -> Self {
        let personal = matches!(c.field.as_str(), "birth_date" | "national_id");
        let mask = |v: Option<Value>| match v {
            Some(v) if personal && !reveal_pii && !v.is_null() => {
                Some(Value::String(MASKED.to_owned()))
            }
            Some(mut v) if !reveal_pii => {
                mask_evidence(&mut v);
                Some(v)
            }
            other => other,
        };
        let mut evidence = c.evidence;
        if !reveal_pii {
            mask_evidence(&mut evidence);
        }
        Self {
            id: c.id,
            ministry: c.ministry,
            record_id: c.record_id,
            held: mask(c.held),
            supported: mask(c.supported),
            field: c.field,
            kind: c.kind,
            admin_unit_code: c.admin_unit_code,
            status: c.status,
            evidence,
            discrepancy_id: c.discrepancy_id,
            match_id: c.match_id,
            created_at: c.created_at,
            status_at: c.status_at,
        }
    }

    /// A value as a spreadsheet cell shows it: a string as itself, anything else as
    /// JSON, none as empty.
    fn text(v: &Option<Value>) -> String {
        match v {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        }
    }

    pub fn held_text(&self) -> String {
        Self::text(&self.held)
    }

    pub fn supported_text(&self) -> String {
        Self::text(&self.supported)
    }
}

list_of!(CorrectionList, CorrectionView, "A page of corrections.");
