//! Correction requests for each ministry, derived from the findings a reviewer
//! confirmed (`corrections/derive.sql`) and from the review queue's "same person"
//! decisions where a sector record lacks the roll's officer id
//! (`corrections/derive_decisions.sql`), and settled by later passes
//! (`corrections/settle.sql`): done when the ministry's record changed and the
//! finding resolved, obsolete when the finding was settled another way (or the
//! decision undone). Both run
//! inside every reconciliation pass and after every action on a finding, so a list is
//! never behind what people and sources said.

use chrono::{DateTime, Utc};
use schema::{AdminCode, Ministry};
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use crate::{Page, Store, StoreError};

const DERIVE: &str = include_str!("corrections/derive.sql");
const DERIVE_FROM_DECISIONS: &str = include_str!("corrections/derive_decisions.sql");
const SETTLE: &str = include_str!("corrections/settle.sql");

/// Where a correction request stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CorrectionStatus {
    #[default]
    Open,
    Done,
    Obsolete,
    Any,
}

impl CorrectionStatus {
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "open" => Self::Open,
            "done" => Self::Done,
            "obsolete" => Self::Obsolete,
            "all" => Self::Any,
            _ => return None,
        })
    }

    fn as_sql(self) -> Option<&'static str> {
        match self {
            Self::Open => Some("open"),
            Self::Done => Some("done"),
            Self::Obsolete => Some("obsolete"),
            Self::Any => None,
        }
    }
}

/// Filters of the corrections list; `within` is the caller's jurisdiction and `own`
/// the ministry a ministry's own client is bound to.
#[derive(Debug, Clone, Default)]
pub struct CorrectionFilter {
    pub ministry: Option<Ministry>,
    pub admin_unit: Option<AdminCode>,
    pub status: CorrectionStatus,
    pub within: Option<AdminCode>,
    pub own: Option<Ministry>,
}

/// A correction request as stored.
#[derive(Debug, Clone)]
pub struct StoredCorrection {
    pub id: Uuid,
    /// The finding it comes from.
    pub discrepancy_id: Option<Uuid>,
    /// The review-queue pair it comes from (a "same person" decision).
    pub match_id: Option<Uuid>,
    /// The finding's kind, or `same_person` for a review decision.
    pub kind: String,
    /// The ministry whose record should change.
    pub ministry: String,
    /// That ministry's own id of the record; none when it should add a record it lacks.
    pub record_id: Option<String>,
    pub field: String,
    pub held: Option<serde_json::Value>,
    pub supported: Option<serde_json::Value>,
    pub evidence: serde_json::Value,
    pub admin_unit_code: Option<String>,
    /// `open`, `done` or `obsolete`.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub status_at: DateTime<Utc>,
}

/// What deriving and settling did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CorrectionCounts {
    pub created: u64,
    pub done: u64,
    pub obsolete: u64,
}

/// Derives new requests and settles open ones, inside `tx` (a pass's, or an action's).
pub(crate) async fn refresh(
    tx: &tokio_postgres::Transaction<'_>,
) -> Result<CorrectionCounts, StoreError> {
    let settled = tx.query_one(SETTLE, &[]).await?;
    let mut created = tx.query(DERIVE, &[]).await?;
    created.extend(tx.query(DERIVE_FROM_DECISIONS, &[]).await?);
    let events: Vec<crate::outbox::NewEvent> = created
        .iter()
        .map(|row| {
            let id: Uuid = row.get(0);
            let ministry: String = row.get(1);
            let record_id: Option<String> = row.get(2);
            let field: String = row.get(3);
            let kind: String = row.get(4);
            let finding: Option<Uuid> = row.get(5);
            // Ids and places only: the values may be personal.
            crate::outbox::NewEvent {
                event_type: crate::outbox::EventType::CorrectionCreated,
                data: serde_json::json!({
                    "id": id, "ministry": ministry, "record_id": record_id,
                    "field": field, "kind": kind, "discrepancy_id": finding,
                }),
                admin_unit_code: row.get(6),
                ministry: Some(ministry),
            }
        })
        .collect();
    crate::outbox::enqueue_events(tx, crate::outbox::EventType::CorrectionCreated, &events).await?;
    Ok(CorrectionCounts {
        created: created.len() as u64,
        done: settled.get::<_, i64>(0) as u64,
        obsolete: settled.get::<_, i64>(1) as u64,
    })
}

impl Store {
    /// Derives and settles correction requests now.
    pub async fn refresh_corrections(&self) -> Result<CorrectionCounts, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let counts = refresh(&tx).await?;
        tx.commit().await?;
        Ok(counts)
    }

    /// The requests matching `filter`, keyset-paged by id.
    pub async fn list_corrections(
        &self,
        filter: &CorrectionFilter,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Page<StoredCorrection, Uuid>, StoreError> {
        let mut conditions = vec!["true".to_owned()];
        let mut params: Vec<Box<dyn ToSql + Sync + Send>> = Vec::new();
        let mut push = |cond: &str, value: Box<dyn ToSql + Sync + Send>| {
            params.push(value);
            conditions.push(cond.replace("$?", &format!("${}", params.len())));
        };
        for m in [filter.ministry, filter.own].into_iter().flatten() {
            push("k.ministry = $?", Box::new(m.as_str().to_owned()));
        }
        for code in [&filter.admin_unit, &filter.within].into_iter().flatten() {
            push(
                "k.admin_unit_code LIKE $?",
                Box::new(format!("{}%", code.as_str())),
            );
        }
        if let Some(s) = filter.status.as_sql() {
            push("k.status = $?", Box::new(s.to_owned()));
        }
        if let Some(a) = after {
            push("k.id > $?", Box::new(a));
        }
        push("true", Box::new((limit + 1) as i64));
        let n = params.len();
        let sql = format!(
            "SELECT k.id, k.discrepancy_id, k.kind, k.ministry, k.record_id, k.field, k.held,
                    k.supported, k.evidence, k.admin_unit_code, k.status, k.created_at, k.status_at,
                    k.match_id
             FROM corrections k WHERE {} ORDER BY k.id LIMIT ${n}",
            conditions.join(" AND ")
        );
        let refs: Vec<&(dyn ToSql + Sync)> = params
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect();
        let client = self.client().await?;
        let rows = client.query(&sql, &refs).await?;
        let mut items: Vec<StoredCorrection> = rows
            .iter()
            .map(|r| StoredCorrection {
                id: r.get(0),
                discrepancy_id: r.get(1),
                kind: r.get(2),
                ministry: r.get(3),
                record_id: r.get(4),
                field: r.get(5),
                held: r.get(6),
                supported: r.get(7),
                evidence: r.get(8),
                admin_unit_code: r.get(9),
                status: r.get(10),
                created_at: r.get(11),
                status_at: r.get(12),
                match_id: r.get(13),
            })
            .collect();
        let next_after = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|c| c.id)
        } else {
            None
        };
        Ok(Page { items, next_after })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_reads_from_its_name() {
        assert_eq!(
            CorrectionStatus::parse("open"),
            Some(CorrectionStatus::Open)
        );
        assert_eq!(
            CorrectionStatus::parse("done"),
            Some(CorrectionStatus::Done)
        );
        assert_eq!(
            CorrectionStatus::parse("obsolete"),
            Some(CorrectionStatus::Obsolete)
        );
        assert_eq!(CorrectionStatus::parse("all"), Some(CorrectionStatus::Any));
        assert_eq!(CorrectionStatus::parse("Open"), None);
        assert_eq!(CorrectionStatus::Any.as_sql(), None);
    }
}
