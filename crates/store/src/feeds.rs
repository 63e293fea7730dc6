//! Reads for the sync and change-feed API: runs, rejections, and changes in version
//! order.

use chrono::{DateTime, Utc};
use schema::{AdminCode, Ministry};
use serde_json::Value;
use tokio_postgres::types::Json;

use crate::{Store, StoreError};

#[derive(Debug, Clone)]
pub struct SyncRun {
    pub id: i64,
    pub ministry: String,
    pub full_pull: bool,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub status: String,
    pub fetched: i64,
    pub inserted: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub rejected: i64,
    pub error: Option<String>,
}

#[derive(Debug, Clone)]
pub struct StoredRejection {
    pub id: i64,
    pub ministry: String,
    pub record_type: String,
    pub source_id: Option<String>,
    /// Each problem's field and rule, without the values (but see `problems`).
    pub reason: String,
    /// Each problem's field, rule and value. None for a rejection stored before
    /// problems were kept apart: its `reason` may quote values.
    pub problems: Option<Vec<schema::ParseError>>,
    /// The place the raw record names.
    pub place: Option<String>,
    /// The record exactly as received (a NUL in it included).
    pub raw: Value,
    pub fetched_at: DateTime<Utc>,
    pub run_id: Option<i64>,
}

/// One change: a record of `kind` (`staff`, `facility`, `admin_unit`) reached `version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub kind: String,
    pub id: String,
    pub version: i64,
}

impl Store {
    /// Runs, newest first, before `before` (a run id) when given.
    pub async fn list_runs(
        &self,
        ministry: Option<Ministry>,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<SyncRun>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT id, ministry, full_pull, started_at, finished_at, status, fetched, inserted, updated, unchanged,
                        rejected, error
                 FROM sync_runs WHERE ($1::text IS NULL OR ministry = $1) AND ($2::bigint IS NULL OR id < $2)
                 ORDER BY id DESC LIMIT $3",
                &[&ministry.map(Ministry::as_str), &before, &(limit as i64)],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| SyncRun {
                id: r.get(0),
                ministry: r.get(1),
                full_pull: r.get(2),
                started_at: r.get(3),
                finished_at: r.get(4),
                status: r.get(5),
                fetched: r.get(6),
                inserted: r.get(7),
                updated: r.get(8),
                unchanged: r.get(9),
                rejected: r.get(10),
                error: r.get(11),
            })
            .collect())
    }

    /// Rejected records, oldest first, after `after` (a rejection id) when given. With
    /// `within`, only those whose raw record names a place inside it: a rejection with
    /// no readable place is for national callers only.
    pub async fn list_rejections(
        &self,
        ministry: Option<Ministry>,
        run: Option<i64>,
        after: Option<i64>,
        within: Option<&AdminCode>,
        limit: usize,
    ) -> Result<Vec<StoredRejection>, StoreError> {
        let client = self.client().await?;
        // A code is digits only: nothing in it means anything to LIKE.
        let area = within.map(|c| format!("{}%", c.as_str()));
        let rows = client
            .query(
                "SELECT id, ministry, record_type, source_id, rejection_reason, payload, fetched_at, run_id,
                        rejection_problems, place, payload_original
                 FROM raw_records
                 WHERE NOT valid AND ($1::text IS NULL OR ministry = $1) AND ($2::bigint IS NULL OR run_id = $2)
                   AND ($3::bigint IS NULL OR id > $3) AND ($5::text IS NULL OR place LIKE $5)
                 ORDER BY id LIMIT $4",
                &[&ministry.map(Ministry::as_str), &run, &after, &(limit as i64), &area],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let original: Option<Vec<u8>> = r.get(10);
                let raw = match original {
                    Some(bytes) => serde_json::from_slice(&bytes)
                        .map_err(|e| StoreError::corrupt("raw_records", r.get::<_, i64>(0), e))?,
                    None => r.get::<_, Json<Value>>(5).0,
                };
                Ok(StoredRejection {
                    id: r.get(0),
                    ministry: r.get(1),
                    record_type: r.get(2),
                    source_id: r.get(3),
                    reason: r.get::<_, Option<String>>(4).unwrap_or_default(),
                    problems: r
                        .get::<_, Option<Json<Vec<schema::ParseError>>>>(8)
                        .map(|p| p.0),
                    place: r.get(9),
                    raw,
                    fetched_at: r.get(6),
                    run_id: r.get(7),
                })
            })
            .collect()
    }

    /// Changes after `after`, in version order, of the kinds asked for, inside
    /// `within` when given. Writers are serialised (see [`Store::begin`]), so every
    /// version up to the last one returned is final: a reader may move past it.
    pub async fn list_changes(
        &self,
        after: i64,
        kinds: &[&str],
        within: Option<&AdminCode>,
        limit: usize,
    ) -> Result<Vec<Change>, StoreError> {
        let client = self.client().await?;
        let area = within.map(|c| format!("{}%", c.as_str()));
        let kinds: Vec<&str> = kinds.to_vec();
        let rows = client
            .query(
                "SELECT kind, id, version FROM (
                    SELECT 'staff' AS kind, id::text AS id, version FROM staff
                     WHERE version > $1 AND ($3::text IS NULL OR admin_unit_code LIKE $3)
                    UNION ALL
                    SELECT 'facility', id::text, version FROM facilities
                     WHERE version > $1 AND ($3::text IS NULL OR admin_unit_code LIKE $3)
                    UNION ALL
                    SELECT 'admin_unit', code, version FROM admin_units
                     WHERE version > $1 AND ($3::text IS NULL OR code LIKE $3)
                 ) c WHERE kind = ANY($2) ORDER BY version LIMIT $4",
                &[&after, &kinds, &area, &(limit as i64)],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| Change {
                kind: r.get(0),
                id: r.get(1),
                version: r.get(2),
            })
            .collect())
    }
}
