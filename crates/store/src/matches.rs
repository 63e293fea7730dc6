//! The review queue of scored pairs: two source records the matcher could not settle
//! (or an identifier it did not trust), kept with their score and each field's part in
//! it, and the decision a person recorded. A pair is named by its two source records
//! (ministry and source id), never by the registry persons holding them, so decisions
//! survive merges, splits and every later sync.

use chrono::{DateTime, Utc};
use schema::{AdminCode, Ministry};
use uuid::Uuid;

use crate::{Page, Store, StoreError, StoredStaff};

/// Why a pair waits for a person: `uncertain`, `identifier_conflict` or
/// `distinct_officers` (the matcher's own reasons, named for the store's callers).
pub use matching::decide::ReviewReason as MatchKind;

/// Which pairs a list shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MatchStatus {
    /// No person has decided them.
    #[default]
    Pending,
    Decided,
    Any,
}

/// What a reviewer said of a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchDecision {
    /// One person: the records are linked.
    Same,
    /// Two people: the engine never links them.
    Different,
}

impl MatchDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchDecision::Same => "same",
            MatchDecision::Different => "different",
        }
    }
}

/// Filters of the queue. `within` is the caller's jurisdiction: a pair is inside it
/// when either record's person is.
#[derive(Debug, Clone, Default)]
pub struct MatchFilter {
    pub status: MatchStatus,
    pub admin_unit: Option<AdminCode>,
    /// Either record comes from this ministry.
    pub ministry: Option<Ministry>,
    pub kind: Option<MatchKind>,
    pub within: Option<AdminCode>,
}

/// One side of a pair: the source record, and the registry person holding it now.
#[derive(Debug, Clone)]
pub struct MatchSide {
    pub ministry: Ministry,
    pub source_id: String,
    /// The person holding the record now (with assignments), if any.
    pub staff: Option<StoredStaff>,
}

/// One field's part in the score: its comparison level and match weight. No personal
/// values: the records themselves are shown beside it, masked by scope.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FieldWeight {
    pub field: String,
    pub level: String,
    pub weight: f64,
}

/// A recorded decision.
#[derive(Debug, Clone)]
pub struct StoredDecision {
    pub decision: MatchDecision,
    pub note: Option<String>,
    /// The client (token subject) that decided.
    pub decided_by: String,
    pub decided_at: DateTime<Utc>,
}

/// A pair in the queue.
#[derive(Debug, Clone)]
pub struct StoredMatch {
    pub id: Uuid,
    /// Why it waits: `uncertain`, `identifier_conflict` or `distinct_officers`.
    pub kind: String,
    pub left: MatchSide,
    pub right: MatchSide,
    /// The total match weight (log2 odds) at the last scoring, and its probability.
    pub weight: f64,
    pub probability: f64,
    pub fields: Vec<FieldWeight>,
    /// The admin unit of the pair (either person's), for jurisdiction.
    pub admin_unit_code: Option<String>,
    pub decision: Option<StoredDecision>,
    pub first_seen: DateTime<Utc>,
    /// When the pair was last scored (a change of either record re-scores it).
    pub scored_at: DateTime<Utc>,
}

/// What a split did.
#[derive(Debug, Clone)]
pub struct SplitOutcome {
    /// The person the record left.
    pub staff_id: Uuid,
    /// The person the record now is, on its own.
    pub detached_to: Uuid,
    /// The pair of the detached record and the person it left, re-scored and pending.
    pub match_id: Option<Uuid>,
}

impl Store {
    /// The queue, keyset-paged by id.
    pub async fn list_matches(
        &self,
        filter: &MatchFilter,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Page<StoredMatch, Uuid>, StoreError> {
        let _ = (filter, after, limit);
        todo!("issue 13: the review queue")
    }

    /// One pair, whatever its status.
    pub async fn get_match(&self, id: Uuid) -> Result<Option<StoredMatch>, StoreError> {
        let _ = id;
        todo!("issue 13: the review queue")
    }

    /// Records a person's decision on a pending pair, in one transaction with its
    /// effect: `Same` links the two records' persons into one (provenance: manual, by
    /// whom, when), `Different` keeps them apart for good. `None` if no such pair;
    /// [`StoreError::MatchDecided`] if it was decided before.
    pub async fn decide_match(
        &self,
        id: Uuid,
        decision: MatchDecision,
        note: Option<&str>,
        decided_by: &str,
    ) -> Result<Option<StoredMatch>, StoreError> {
        let _ = (id, decision, note, decided_by);
        todo!("issue 13: the review queue")
    }

    /// Undoes a link: detaches the source record `(ministry, source_id)` from person
    /// `staff_id` into a person of its own, rebuilds both from what their sources
    /// said, and re-scores the pair, which waits for review again. `None` if no such
    /// person; [`StoreError::NotOnPerson`] if the record is not one of its records,
    /// [`StoreError::LastRecord`] if it is its only one.
    pub async fn split_staff(
        &self,
        staff_id: Uuid,
        ministry: Ministry,
        source_id: &str,
        by: &str,
    ) -> Result<Option<SplitOutcome>, StoreError> {
        let _ = (staff_id, ministry, source_id, by);
        todo!("issue 13: the review queue")
    }
}
