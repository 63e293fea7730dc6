//! Sync runs: a lock per source, the `sync_runs` rows a run opens and closes, and the
//! planner statistics a sync keeps fresh.

use schema::Ministry;

use crate::{Store, StoreError};

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

/// The text the advisory lock of `ministry`'s sync is keyed by (hashed by the server).
fn lock_key(ministry: Ministry) -> String {
    format!("interop-gateway sync {ministry}")
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

impl<'a> RunEnd<'a> {
    /// The error recorded on a run whose process died while it ran.
    pub const DIED: &'static str = "interrupted: the process running it stopped before it finished; the next run resumed from its last committed page";

    /// The run's `status` and `error` columns.
    fn columns(self) -> (&'static str, Option<&'a str>) {
        match self {
            RunEnd::Succeeded => ("succeeded", None),
            RunEnd::Failed(e) => ("failed", Some(e)),
            RunEnd::Interrupted(e) => ("interrupted", Some(e)),
        }
    }
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

/// A count as a `bigint` column takes it (saturating: no count comes near).
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
        let key = lock_key(ministry);
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
        let (status, error) = end.columns();
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_end_names_its_status_and_keeps_its_error() {
        assert_eq!(RunEnd::Succeeded.columns(), ("succeeded", None));
        assert_eq!(RunEnd::Failed("boom").columns(), ("failed", Some("boom")));
        assert_eq!(
            RunEnd::Interrupted(RunEnd::DIED).columns(),
            ("interrupted", Some(RunEnd::DIED))
        );
    }

    #[test]
    fn each_source_has_a_lock_of_its_own() {
        let keys: std::collections::BTreeSet<String> =
            Ministry::ALL.iter().map(|&m| lock_key(m)).collect();
        assert_eq!(keys.len(), Ministry::ALL.len());
        assert_eq!(lock_key(Ministry::Mcs), "interop-gateway sync mcs");
    }

    #[test]
    fn counts_beyond_bigint_saturate() {
        assert_eq!(to_i64(7), 7);
        assert_eq!(to_i64(u64::MAX), i64::MAX);
    }
}
