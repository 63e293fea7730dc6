//! Findings people act on: a reviewer's action moves a finding's review state (in one
//! transaction with its history row), guarded by the finding's review version so two
//! reviewers cannot overwrite each other unseen. The reconciliation pass keeps a state
//! while what it was given for holds (`reconcile/merge.sql`).

use chrono::{DateTime, Utc};
use schema::{AdminCode, Explanation, FindingAction, FindingState, Ministry, TransitionRefused};
use uuid::Uuid;

use crate::{Store, StoreError, StoredDiscrepancy};

/// What people said of a finding, as stored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FindingReview {
    /// `Acknowledged`, `Explained` or `Confirmed`; none while nobody has.
    pub state: Option<FindingState>,
    /// The client that took the last action.
    pub held_by: Option<String>,
    pub explanation: Option<Explanation>,
    /// For an explanation of `data_error`, or a confirmed finding: whose record.
    pub ministry: Option<Ministry>,
    pub note: Option<String>,
    pub at: Option<DateTime<Utc>>,
    /// Why a pass dropped a state people gave (the evidence changed, or the finding
    /// came back after it resolved).
    pub reopened_because: Option<String>,
    /// Moves on every change of the review: the finding's ETag.
    pub version: i64,
}

/// One action in a finding's history.
#[derive(Debug, Clone, PartialEq)]
pub struct FindingEvent {
    pub action: String,
    pub from_state: String,
    pub to_state: String,
    pub explanation: Option<String>,
    pub ministry: Option<String>,
    pub note: Option<String>,
    /// The client, or `gateway` for a pass that reopened it.
    pub by: String,
    pub at: DateTime<Utc>,
}

/// What an action did.
#[derive(Debug, Clone)]
pub enum ActionOutcome {
    Done(Box<StoredDiscrepancy>),
    /// `If-Match` named another version: someone acted since.
    Stale {
        current: i64,
    },
    /// The state does not take this action.
    Refused(TransitionRefused),
}

impl FindingReview {
    /// The state a client sees: resolved by the sources, else what people said, else open.
    pub fn visible_state(&self, resolved: bool) -> FindingState {
        if resolved {
            FindingState::Resolved
        } else {
            self.state.unwrap_or(FindingState::Open)
        }
    }
}

impl Store {
    /// Takes `action` on finding `id` for client `by`, inside `within`; `if_version`:
    /// the review versions the client's `If-Match` names (the action needs the current
    /// one among them). `None` if no such finding there.
    pub async fn act_on_discrepancy(
        &self,
        id: Uuid,
        action: &FindingAction,
        by: &str,
        within: Option<&AdminCode>,
        if_version: Option<&[i64]>,
    ) -> Result<Option<ActionOutcome>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let Some(row) = tx
            .query_opt(
                "SELECT review_state, review_version, resolved_at IS NOT NULL
                 FROM discrepancies
                 WHERE id = $1 AND ($2::text IS NULL OR admin_unit_code LIKE $2 || '%')
                 FOR UPDATE",
                &[&id, &within.map(AdminCode::as_str)],
            )
            .await?
        else {
            return Ok(None);
        };
        let stored: Option<String> = row.get(0);
        let version: i64 = row.get(1);
        let resolved: bool = row.get(2);
        if if_version.is_some_and(|named| !named.contains(&version)) {
            return Ok(Some(ActionOutcome::Stale { current: version }));
        }
        let current = FindingReview {
            state: stored.as_deref().and_then(FindingState::from_name),
            ..FindingReview::default()
        }
        .visible_state(resolved);
        let next = match current.apply(action) {
            Ok(next) => next,
            Err(refused) => return Ok(Some(ActionOutcome::Refused(refused))),
        };
        let (explanation, ministry) = match action {
            FindingAction::Explain {
                reason, ministry, ..
            } => (Some(reason.as_str()), ministry.map(|m| m.as_str())),
            FindingAction::Confirm { ministry, .. } => (None, ministry.map(|m| m.as_str())),
            _ => (None, None),
        };
        let state = (next != FindingState::Open).then(|| next.as_str());
        tx.execute(
            "UPDATE discrepancies SET review_state = $2, held_by = $3, explanation = $4,
                explained_ministry = $5, review_note = $6, reviewed_at = now(),
                reviewed_evidence = evidence_facts(evidence), reopened_because = NULL,
                review_version = review_version + 1
             WHERE id = $1",
            &[&id, &state, &by, &explanation, &ministry, &action.note()],
        )
        .await?;
        tx.execute(
            "INSERT INTO discrepancy_actions
                (discrepancy_id, action, from_state, to_state, explanation, ministry, note, by_client)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &id,
                &action.name(),
                &current.as_str(),
                &next.as_str(),
                &explanation,
                &ministry,
                &action.note(),
                &by,
            ],
        )
        .await?;
        // A confirmation makes its correction requests now; a change of mind settles them.
        crate::corrections::refresh(&tx).await?;
        tx.commit().await?;
        let found = self
            .get_discrepancy(id, within)
            .await?
            .ok_or_else(|| StoreError::corrupt("discrepancies", id, "vanished after an action"))?;
        Ok(Some(ActionOutcome::Done(Box::new(found))))
    }

    /// Every action taken on finding `id`, oldest first.
    pub async fn discrepancy_history(&self, id: Uuid) -> Result<Vec<FindingEvent>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT action, from_state, to_state, explanation, ministry, note, by_client, at
                 FROM discrepancy_actions WHERE discrepancy_id = $1 ORDER BY seq",
                &[&id],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| FindingEvent {
                action: r.get(0),
                from_state: r.get(1),
                to_state: r.get(2),
                explanation: r.get(3),
                ministry: r.get(4),
                note: r.get(5),
                by: r.get(6),
                at: r.get(7),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sources_resolving_a_finding_outrank_what_people_said() {
        let explained = FindingReview {
            state: Some(FindingState::Explained),
            ..FindingReview::default()
        };
        assert_eq!(explained.visible_state(false), FindingState::Explained);
        assert_eq!(explained.visible_state(true), FindingState::Resolved);
        assert_eq!(
            FindingReview::default().visible_state(false),
            FindingState::Open
        );
    }
}
