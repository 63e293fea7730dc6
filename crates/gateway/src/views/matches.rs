//! The review queue as clients see it: a pair of source records, the registry person
//! holding each (masked by scope like every staff record), the score and each field's
//! part in it, and the decision once a person made one.

use chrono::{DateTime, Utc};
use serde::Serialize;
use store::{MatchDecision, MatchSide, SplitOutcome, StoredMatch};
use utoipa::ToSchema;
use uuid::Uuid;

use super::StaffView;

/// One field's part in a pair's score. Levels and weights only: the values themselves
/// are the two records beside it, masked by scope.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"field": "name_km", "level": "close", "weight": 9.4}))]
pub struct FieldWeightView {
    /// `name_km`, `name_latin`, `birth_date`, `sex`, `place`, `officer_id` or
    /// `national_id`.
    pub field: String,
    /// How the two values compare: for names `exact`, `close`, `similar`, `different`;
    /// for birth dates `exact`, `swapped` (day and month), `one_digit`, `year_only`
    /// (a 01/01 placeholder), `different`; for place `facility`, `commune`,
    /// `district`, `province`, `elsewhere`; for ids `equal`, `one_edit`, `different`;
    /// `missing` where either record lacks the field (it weighs nothing).
    pub level: String,
    /// The level's match weight (log2 of m/u): positive is evidence of one person.
    pub weight: f64,
}

/// One side of a pair.
#[derive(Debug, Serialize, ToSchema)]
pub struct MatchSideView {
    /// The source the record comes from (`mcs`, `moh`, `moeys`, `mef`).
    #[schema(example = "moh")]
    pub ministry: String,
    /// The record's id in that source.
    #[schema(example = "Xk3PqR8sT1a")]
    pub source_id: String,
    /// The registry person holding the record now (with assignments); null if none.
    pub staff: Option<StaffView>,
}

impl MatchSideView {
    fn new(side: MatchSide, reveal_pii: bool) -> Self {
        Self {
            ministry: side.ministry.as_str().to_owned(),
            source_id: side.source_id,
            staff: side.staff.map(|s| StaffView::new(s, reveal_pii, true)),
        }
    }
}

/// What a reviewer decided.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionView {
    /// `same` (one person: the records are linked) or `different` (two people: never
    /// linked by the engine).
    #[schema(example = "same")]
    pub decision: &'static str,
    pub note: Option<String>,
    /// The client (token subject) that decided.
    #[schema(example = "district-office-0702")]
    pub decided_by: String,
    pub decided_at: DateTime<Utc>,
}

/// A pair of records in the review queue.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0190f0e2-8b1c-7d3e-9a55-1c2d3e4f5a6b",
    "kind": "uncertain",
    "status": "pending",
    "weight": 6.2,
    "probability": 0.987,
    "fields": [
        {"field": "name_km", "level": "close", "weight": 9.4},
        {"field": "name_latin", "level": "close", "weight": 3.1},
        {"field": "birth_date", "level": "year_only", "weight": 2.3},
        {"field": "sex", "level": "same", "weight": 0.9},
        {"field": "place", "level": "district", "weight": 1.7},
        {"field": "officer_id", "level": "missing", "weight": 0.0},
        {"field": "national_id", "level": "missing", "weight": 0.0}
    ],
    "left": {"ministry": "mcs", "source_id": "1000123456", "staff": null},
    "right": {"ministry": "moh", "source_id": "Xk3PqR8sT1a", "staff": null},
    "admin_unit_code": "070101",
    "decision": null,
    "first_seen": "2026-11-02T03:01:00Z",
    "scored_at": "2026-12-01T03:01:00Z"
}))]
pub struct MatchView {
    pub id: Uuid,
    /// Why the pair waits for a person: `uncertain` (the score lies between the
    /// thresholds), `identifier_conflict` (an id matches while name and birth date
    /// disagree: a typo may have landed on another person's id), or
    /// `distinct_officers` (two different officer ids, both on the roll: possibly one
    /// person registered twice).
    pub kind: String,
    /// `pending` until a person decides, then `decided`.
    pub status: &'static str,
    /// The total match weight (log2 of the odds that the two are one person): the
    /// prior plus every field's weight.
    pub weight: f64,
    /// The probability that the two are one person.
    pub probability: f64,
    /// Each field's part in the weight, so a reviewer sees why.
    pub fields: Vec<FieldWeightView>,
    pub left: MatchSideView,
    pub right: MatchSideView,
    /// Where the pair is (either person's commune): what jurisdiction applies to.
    pub admin_unit_code: Option<String>,
    /// The decision, once made; it survives every later sync.
    pub decision: Option<DecisionView>,
    pub first_seen: DateTime<Utc>,
    /// When the pair was last scored: a change of either record re-scores it.
    pub scored_at: DateTime<Utc>,
}

impl MatchView {
    pub fn new(m: StoredMatch, reveal_pii: bool) -> Self {
        Self {
            id: m.id,
            kind: m.kind,
            status: if m.decision.is_some() {
                "decided"
            } else {
                "pending"
            },
            weight: m.weight,
            probability: m.probability,
            fields: m
                .fields
                .into_iter()
                .map(|f| FieldWeightView {
                    field: f.field,
                    level: f.level,
                    weight: f.weight,
                })
                .collect(),
            left: MatchSideView::new(m.left, reveal_pii),
            right: MatchSideView::new(m.right, reveal_pii),
            admin_unit_code: m.admin_unit_code,
            decision: m.decision.map(|d| DecisionView {
                decision: d.decision.as_str(),
                note: d.note,
                decided_by: d.decided_by,
                decided_at: d.decided_at,
            }),
            first_seen: m.first_seen,
            scored_at: m.scored_at,
        }
    }

    /// The registry persons the pair names, for the audit entry.
    pub fn staff_ids(&self) -> Vec<Uuid> {
        let mut ids: Vec<Uuid> = [&self.left, &self.right]
            .iter()
            .filter_map(|s| s.staff.as_ref().map(|v| v.id))
            .collect();
        ids.dedup();
        ids
    }
}

list_of!(MatchList, MatchView, "A page of pairs in the review queue.");

/// A decision as a reviewer sends it.
#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"decision": "same", "note": "ជួបផ្ទាល់នៅមណ្ឌលសុខភាព: same nurse, name romanised differently"}))]
pub struct DecisionInput {
    /// `same` (one person: link the records) or `different` (two people: keep them
    /// apart for good).
    pub decision: String,
    /// Why, for whoever reads the decision later: up to 500 characters.
    pub note: Option<String>,
}

/// A split as a reviewer sends it: the source record to detach.
#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"ministry": "moh", "source_id": "Xk3PqR8sT1a"}))]
pub struct SplitInput {
    /// The source of the record to detach (`mcs`, `moh`, `moeys`, `mef`).
    pub ministry: String,
    /// The record's id in that source, as the person's `sources` list it.
    pub source_id: String,
}

/// What a split did.
#[derive(Debug, Serialize, ToSchema)]
pub struct SplitView {
    /// The person the record left.
    pub staff_id: Uuid,
    /// The person the record now is, on its own.
    pub detached_to: Uuid,
    /// The pair of the two, re-scored and waiting for review again.
    pub match_id: Option<Uuid>,
}

impl From<SplitOutcome> for SplitView {
    fn from(s: SplitOutcome) -> Self {
        Self {
            staff_id: s.staff_id,
            detached_to: s.detached_to,
            match_id: s.match_id,
        }
    }
}

/// Reads a decision body's words; every fault named by field.
pub fn parse_decision(
    input: &DecisionInput,
) -> Result<(MatchDecision, Option<String>), Vec<schema::FieldError>> {
    let mut faults = Vec::new();
    let decision = match input.decision.as_str() {
        "same" => Some(MatchDecision::Same),
        "different" => Some(MatchDecision::Different),
        other => {
            faults.push(field_fault(
                "decision",
                format!("{other:?} is not same or different"),
            ));
            None
        }
    };
    let note = input
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    if let Some(n) = note {
        if n.contains('\0') {
            faults.push(field_fault(
                "note",
                "contains a NUL character (U+0000), which no field can hold",
            ));
        } else if n.chars().count() > 500 {
            faults.push(field_fault("note", "is longer than 500 characters"));
        }
    }
    match decision {
        Some(d) if faults.is_empty() => Ok((d, note.map(str::to_owned))),
        _ => Err(faults),
    }
}

pub fn field_fault(field: &str, reason: impl Into<String>) -> schema::FieldError {
    schema::FieldError {
        index: None,
        field: field.to_owned(),
        reason: reason.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(decision: &str, note: Option<&str>) -> DecisionInput {
        DecisionInput {
            decision: decision.to_owned(),
            note: note.map(str::to_owned),
        }
    }

    #[test]
    fn a_decision_is_same_or_different_with_an_optional_note() {
        assert_eq!(
            parse_decision(&input("same", None)),
            Ok((MatchDecision::Same, None))
        );
        assert_eq!(
            parse_decision(&input("different", Some("  two nurses  "))),
            Ok((MatchDecision::Different, Some("two nurses".to_owned())))
        );
        // A blank note is no note.
        assert_eq!(
            parse_decision(&input("same", Some("  "))),
            Ok((MatchDecision::Same, None))
        );
    }

    #[test]
    fn every_fault_is_named_by_its_field() {
        let long = "ក".repeat(501);
        let faults = parse_decision(&input("Same", Some(&long))).expect_err("two faults");
        let fields: Vec<&str> = faults.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["decision", "note"]);
        assert!(faults[0].reason.contains("same or different"));
        let faults = parse_decision(&input("same", Some("a\0b"))).expect_err("NUL");
        assert_eq!(faults[0].field, "note");
    }
}
