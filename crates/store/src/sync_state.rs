//! What the sync engine keeps: a lock per source, runs, cursors, the lookups that link
//! a source's record to the registry's, what each source said, and the payroll.
//!
//! Cursors are stored as JSON the store does not interpret: their shape belongs to
//! the adapters.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use schema::{Ministry, PayrollEntry, Staff};
use serde_json::Value;
use tokio_postgres::types::Json;
use uuid::Uuid;

use crate::read::{STAFF_COLUMNS, staff_from_row};
use crate::{SnapshotTx, Store, StoreError, WriteTx};

/// A source's sync lock, held for a run. [`SourceLock::release`] gives it back at
/// once; dropping it releases it too (its session is closed), so a crashed run never
/// leaves its source locked — but the server notices a closed session a moment later,
/// and a run started right after could find the source still busy.
pub struct SourceLock {
    session: deadpool_postgres::ClientWrapper,
    key: String,
    ministry: Ministry,
}

impl SourceLock {
    /// The source this lock is for.
    pub fn ministry(&self) -> Ministry {
        self.ministry
    }

    /// Releases the lock before returning.
    pub async fn release(self) -> Result<(), StoreError> {
        self.session
            .execute("SELECT pg_advisory_unlock(hashtext($1))", &[&self.key])
            .await?;
        Ok(())
    }
}

impl std::fmt::Debug for SourceLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SourceLock")
    }
}

/// How a run ended (`sync_runs.status`, with the error it records).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunEnd<'a> {
    Succeeded,
    Failed(&'a str),
    /// Stopped before the end without failing (a shutdown): the next run resumes
    /// from the last page it committed.
    Interrupted(&'a str),
}

impl RunEnd<'_> {
    /// The error recorded on a run whose process died while it ran.
    pub const DIED: &'static str = "interrupted: the process running it stopped before it finished; the next run resumed from its last committed page";
}

/// The counts of a finished run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunTotals {
    pub fetched: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
}

/// What one source said about one record, kept beside the merged record.
#[derive(Debug, Clone)]
pub struct SourceReportRow {
    pub entity_type: &'static str,
    pub ministry: Ministry,
    pub source_id: String,
    pub entity_id: Option<Uuid>,
    pub report: Value,
    pub fetched_at: DateTime<Utc>,
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Store {
    /// Takes `ministry`'s sync lock if no other process holds it.
    pub async fn try_lock_source(
        &self,
        ministry: Ministry,
    ) -> Result<Option<SourceLock>, StoreError> {
        let client = self.client().await?;
        let key = format!("interop-gateway sync {ministry}");
        let got: bool = client
            .query_one("SELECT pg_try_advisory_lock(hashtext($1))", &[&key])
            .await?
            .get(0);
        // The lock lives with its session: take the connection out of the pool.
        let session = deadpool_postgres::Object::take(client);
        Ok(got.then_some(SourceLock {
            session,
            key,
            ministry,
        }))
    }

    /// Records a new run. Called under the source's lock, so a run of the same
    /// source still marked running is one whose process died (the lock proves nobody
    /// runs it): it is closed as `interrupted`, at the time it is found.
    pub async fn start_run(&self, ministry: Ministry, full: bool) -> Result<i64, StoreError> {
        let client = self.client().await?;
        let closed = client
            .execute(
                "UPDATE sync_runs SET status = 'interrupted', finished_at = now(), error = $2
                 WHERE ministry = $1 AND status = 'running'",
                &[&ministry.as_str(), &RunEnd::DIED],
            )
            .await?;
        if closed > 0 {
            tracing::warn!(%ministry, runs = closed, "closed runs left running by a process that stopped");
        }
        let row = client
            .query_one(
                "INSERT INTO sync_runs (ministry, full_pull) VALUES ($1, $2) RETURNING id",
                &[&ministry.as_str(), &full],
            )
            .await?;
        Ok(row.get(0))
    }

    /// Closes a run with its counts and how it ended.
    pub async fn finish_run(
        &self,
        run: i64,
        totals: RunTotals,
        end: RunEnd<'_>,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        let (status, error) = match end {
            RunEnd::Succeeded => ("succeeded", None),
            RunEnd::Failed(e) => ("failed", Some(e)),
            RunEnd::Interrupted(e) => ("interrupted", Some(e)),
        };
        client
            .execute(
                "UPDATE sync_runs SET finished_at = now(), status = $2, fetched = $3, inserted = $4, updated = $5,
                     unchanged = $6, rejected = $7, error = $8 WHERE id = $1",
                &[
                    &run,
                    &status,
                    &to_i64(totals.fetched),
                    &to_i64(totals.inserted),
                    &to_i64(totals.updated),
                    &to_i64(totals.unchanged),
                    &to_i64(totals.rejected),
                    &error,
                ],
            )
            .await?;
        Ok(())
    }

    /// Refreshes the planner's statistics of the columns a sync's linking reads. A
    /// first sync fills the tables faster than autovacuum analyses them, and plans made
    /// for empty tables (hash joins, sequential scans) would slow every later page. The
    /// tables only written (raw records, source reports) are left to autovacuum, and
    /// the discrepancy pass analyses what it reads.
    pub async fn analyze_registry(&self) -> Result<(), StoreError> {
        self.client()
            .await?
            .batch_execute(
                "ANALYZE staff (id, civil_servant_id, national_id, name_km, birth_date),
                         facilities (id, admin_unit_code), assignments (id, staff_id),
                         source_identifiers",
            )
            .await?;
        Ok(())
    }

    /// About how many staff records the planner's statistics know of (0 before any).
    pub async fn staff_known_to_planner(&self) -> Result<u64, StoreError> {
        let row = self
            .client()
            .await?
            .query_one(
                "SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = 'staff'::regclass",
                &[],
            )
            .await?;
        Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
    }

    /// The stored cursor of a feed, if a pull of it ever stored one.
    pub async fn load_cursor(
        &self,
        ministry: Ministry,
        feed: &str,
    ) -> Result<Option<Value>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT cursor FROM sync_cursors WHERE ministry = $1 AND feed = $2",
                &[&ministry.as_str(), &feed],
            )
            .await?;
        Ok(row.map(|r| r.get::<_, Json<Value>>(0).0))
    }
}

impl WriteTx {
    pub async fn save_cursor(
        &self,
        ministry: Ministry,
        feed: &str,
        cursor: &Value,
    ) -> Result<(), StoreError> {
        self.client()?
            .execute(
                "INSERT INTO sync_cursors (ministry, feed, cursor) VALUES ($1, $2, $3)
                 ON CONFLICT (ministry, feed) DO UPDATE SET cursor = EXCLUDED.cursor, updated_at = now()",
                &[&ministry.as_str(), &feed, &Json(cursor)],
            )
            .await?;
        Ok(())
    }

    /// Staff with one of these (Khmer name, birth date) pairs: (id, name, birth date).
    pub async fn staff_by_name_and_birth(
        &self,
        pairs: &[(String, chrono::NaiveDate)],
    ) -> Result<Vec<(Uuid, String, chrono::NaiveDate)>, StoreError> {
        if pairs.is_empty() {
            return Ok(Vec::new());
        }
        let names: Vec<&str> = pairs.iter().map(|p| p.0.as_str()).collect();
        let births: Vec<chrono::NaiveDate> = pairs.iter().map(|p| p.1).collect();
        let rows = self
            .client()?
            .query(
                "SELECT s.id, s.name_km, s.birth_date FROM staff s
                 JOIN unnest($1::text[], $2::date[]) AS k(name_km, birth_date) USING (name_km, birth_date)",
                &[&names, &births],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect())
    }

    /// Records pairs of staff that may be one person; a pair already held is left alone.
    pub async fn put_probable_matches(
        &self,
        pairs: &[(Uuid, Uuid)],
        reason: &str,
    ) -> Result<(), StoreError> {
        if pairs.is_empty() {
            return Ok(());
        }
        let a: Vec<Uuid> = pairs.iter().map(|p| p.0.min(p.1)).collect();
        let b: Vec<Uuid> = pairs.iter().map(|p| p.0.max(p.1)).collect();
        self.client()?
            .execute(
                "INSERT INTO probable_matches (staff_a, staff_b, reason)
                 SELECT a, b, $3 FROM unnest($1::uuid[], $2::uuid[]) AS x(a, b) WHERE a <> b
                 ON CONFLICT DO NOTHING",
                &[&a, &b, &reason],
            )
            .await?;
        Ok(())
    }

    /// Keeps payroll lines; a line already held unchanged is left alone.
    pub async fn put_payroll(
        &self,
        entries: &[PayrollEntry],
    ) -> Result<crate::UpsertCounts, StoreError> {
        if entries.is_empty() {
            return Ok(crate::UpsertCounts::default());
        }
        let periods: Vec<String> = entries.iter().map(|e| e.period.to_string()).collect();
        let officers: Vec<&str> = entries
            .iter()
            .map(|e| e.civil_servant_id.as_str())
            .collect();
        let ministries: Vec<&str> = entries.iter().map(|e| e.ministry.as_str()).collect();
        let units: Vec<&str> = entries.iter().map(|e| e.budget_unit.as_str()).collect();
        let statuses: Vec<&str> = entries.iter().map(|e| e.status.as_str()).collect();
        let row = self
            .client()?
            .query_one(
                "WITH upserted AS (
                    INSERT INTO payroll_entries AS pe (period, officer_id, ministry, budget_unit, status)
                    SELECT DISTINCT ON (p, o) p, o, m, b, s
                    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS x(p, o, m, b, s)
                    ON CONFLICT (period, officer_id) DO UPDATE SET
                        ministry = EXCLUDED.ministry, budget_unit = EXCLUDED.budget_unit, status = EXCLUDED.status
                    WHERE (pe.ministry, pe.budget_unit, pe.status)
                          IS DISTINCT FROM (EXCLUDED.ministry, EXCLUDED.budget_unit, EXCLUDED.status)
                    RETURNING (xmax = 0) AS inserted
                 ) SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM upserted",
                &[&periods, &officers, &ministries, &units, &statuses],
            )
            .await?;
        Ok(crate::UpsertCounts::from_row(&row, entries.len()))
    }
}

/// The lookups that link a page's records to the registry's, on any connection: in a
/// page's own transaction, or ahead of it in a [`SnapshotTx`].
mod lookup {
    use super::*;
    use deadpool_postgres::GenericClient;

    /// The registry ids the given source identifiers name, for one entity type.
    pub(crate) async fn lookup_identifiers(
        client: &impl GenericClient,
        entity_type: &str,
        keys: &[(String, String)],
    ) -> Result<HashMap<(String, String), Uuid>, StoreError> {
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let systems: Vec<&str> = keys.iter().map(|k| k.0.as_str()).collect();
        let values: Vec<&str> = keys.iter().map(|k| k.1.as_str()).collect();
        let rows = client
            .query(
                // One index probe per key: as a plain join, the prepared statement's
                // generic plan hashes the whole table instead.
                "SELECT k.system, k.value, si.entity_id
                     FROM unnest($2::text[], $3::text[]) AS k(system, value)
                     CROSS JOIN LATERAL (
                         SELECT entity_id FROM source_identifiers
                         WHERE entity_type = $1 AND system = k.system AND value = k.value
                     ) si",
                &[&entity_type, &systems, &values],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| ((r.get(0), r.get(1)), r.get(2)))
            .collect())
    }

    /// Staff records holding any of these civil-servant or national ids.
    pub(crate) async fn staff_by_keys(
        client: &impl GenericClient,
        civil_servant_ids: &[String],
        national_ids: &[String],
    ) -> Result<Vec<Staff>, StoreError> {
        // One index probe per key (a generic plan of `= ANY(..) OR = ANY(..)` scans far more).
        let sql = format!(
            "SELECT {STAFF_COLUMNS}, '[]'::jsonb FROM staff s WHERE s.id IN (
                     SELECT m.id FROM unnest($1::text[]) AS k(v) CROSS JOIN LATERAL
                         (SELECT id FROM staff WHERE civil_servant_id = k.v) m
                     UNION
                     SELECT m.id FROM unnest($2::text[]) AS k(v) CROSS JOIN LATERAL
                         (SELECT id FROM staff WHERE national_id = k.v) m)"
        );
        let rows = client
            .query(&sql, &[&civil_servant_ids, &national_ids])
            .await?;
        rows.iter()
            .map(|r| staff_from_row(r).map(|s| s.staff))
            .collect()
    }

    /// Staff records by id.
    pub(crate) async fn staff_by_ids(
        client: &impl GenericClient,
        ids: &[Uuid],
    ) -> Result<Vec<Staff>, StoreError> {
        let sql = format!("SELECT {STAFF_COLUMNS}, '[]'::jsonb FROM staff s WHERE s.id = ANY($1)");
        let rows = client.query(&sql, &[&ids]).await?;
        rows.iter()
            .map(|r| staff_from_row(r).map(|s| s.staff))
            .collect()
    }

    /// The communes of facilities, by id.
    pub(crate) async fn facility_communes(
        client: &impl GenericClient,
        ids: &[Uuid],
    ) -> Result<HashMap<Uuid, String>, StoreError> {
        let rows = client
                .query("SELECT id, admin_unit_code FROM facilities WHERE id = ANY($1) AND admin_unit_code IS NOT NULL", &[&ids])
                .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }
}

/// The lookups, as methods of each kind of transaction they run in.
macro_rules! lookups {
    ($($ty:ty),+) => {$(
        impl $ty {
            /// The registry ids the given source identifiers name, for one entity type.
            pub async fn lookup_identifiers(
                &self,
                entity_type: &str,
                keys: &[(String, String)],
            ) -> Result<HashMap<(String, String), Uuid>, StoreError> {
                lookup::lookup_identifiers(self.client()?, entity_type, keys).await
            }

            /// Staff records holding any of these civil-servant or national ids.
            pub async fn staff_by_keys(
                &self,
                civil_servant_ids: &[String],
                national_ids: &[String],
            ) -> Result<Vec<Staff>, StoreError> {
                lookup::staff_by_keys(self.client()?, civil_servant_ids, national_ids).await
            }

            /// Staff records by id.
            pub async fn staff_by_ids(&self, ids: &[Uuid]) -> Result<Vec<Staff>, StoreError> {
                lookup::staff_by_ids(self.client()?, ids).await
            }

            /// The communes of facilities, by id.
            pub async fn facility_communes(
                &self,
                ids: &[Uuid],
            ) -> Result<HashMap<Uuid, String>, StoreError> {
                lookup::facility_communes(self.client()?, ids).await
            }
        }
    )+};
}

lookups!(WriteTx, SnapshotTx);
