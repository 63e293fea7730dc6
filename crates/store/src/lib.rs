//! PostgreSQL storage for the shared registry.
//!
//! The store knows the shared schema and nothing of any ministry's format or of HTTP.
//! It runs the embedded migrations, writes records in bulk (one round trip a batch,
//! bumping a record's `version` from a database sequence only when its content really
//! changed), answers the read API's filtered, keyset-paged queries, and keeps the
//! hash-chained audit log. [`ScratchCluster`] makes a throwaway PostgreSQL cluster for
//! the demo and the tests on a machine with no database to hand.
//!
//! The modules follow the seams: `transaction` (the write and snapshot transactions,
//! the version lock, the side writer), `lookups` (written once for any transaction),
//! `bulk` (each bulk-written table described once), `sync_runs`, `cursors`, `payroll`,
//! `read` and `feeds` (the API's queries), `reconcile` (the discrepancy pass, its rules
//! in `.sql` files), `rosters`, `reports`, `audit`, and `outbox` and `subscriptions`
//! (push: events written with what caused them, their deliveries and dead letters),
//! and `app_sessions` (the app's signed-in people and sign-ins under way).

mod app_sessions;
mod audit;
mod bulk;
mod corrections;
mod cursors;
mod error;
mod feeds;
mod lookups;
mod matches;
mod outbox;
mod payroll;
mod read;
mod reconcile;
mod reports;
mod rosters;
mod scratch;
mod storable;
mod subscriptions;
mod sync_runs;
mod transaction;
mod triage;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;

pub use app_sessions::{AppSession, NewAppSession, PendingSignIn};
pub use audit::checkpoint::{Checkpoint, CheckpointFault, CheckpointKey, check_with};
pub use audit::{AuditEntry, AuditHead, AuditProblem, AuditVerdict, Voucher};
pub use bulk::{RawRecord, SourceReportRow, UpsertCounts};
pub use corrections::{CorrectionCounts, CorrectionFilter, CorrectionStatus, StoredCorrection};
pub use error::StoreError;
pub use feeds::{Change, StoredRejection, SyncRun};
pub use matches::{
    FieldWeight, MatchDecision, MatchFilter, MatchKind, MatchSide, MatchStatus, MatchingSummary,
    PassReach, RecordKey, ScoredPair, SourceRecords, SplitOutcome, StoredDecision, StoredMatch,
    field_weights,
};
pub use outbox::{
    AttemptOutcome, ClaimedDelivery, EventType, NewEvent, SigningSecret, enqueue_event,
};
pub use read::{
    AdminUnitFilter, FacilityFilter, Page, StaffFilter, StoredAdminUnit, StoredFacility,
    StoredStaff,
};
pub use reconcile::PassSummary;
pub use reports::{
    CoverageLine, DiscrepancyFilter, FacilityRef, FindingStatus, ServingStaff, StaffRef,
    StoredDiscrepancy, TransferredFacility,
};
pub use rosters::{EntryCounts, LinkedBy, NewRoster, RosterOutcome, StoredEntry, StoredRoster};
pub use scratch::ScratchCluster;
pub use subscriptions::{DeadLetter, NewSubscription, StoredSubscription};
pub use sync_runs::{RunEnd, RunTotals, SourceLock};
pub use transaction::{SideWriter, Snapshot, SnapshotTx, Transaction, Write, WriteTx};
pub use triage::{ActionOutcome, FindingEvent, FindingReview};

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// The pool's figures, for the metrics endpoint.
#[derive(Debug, Clone, Copy, Default)]
pub struct PoolStatus {
    pub max_size: usize,
    pub size: usize,
    pub available: usize,
    pub waiting: usize,
}

/// A handle on the registry database. Cheap to clone: clones share one pool.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    /// What [`Store::another_pool`] connects with.
    config: std::sync::Arc<tokio_postgres::Config>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("pool", &self.pool.status())
            .finish()
    }
}

impl Store {
    /// A pool of at most `pool_size` connections to the database `url` names
    /// (`postgres://user@host:port/db`), or to `database` on that server when given.
    /// Connections are made lazily: this succeeds without a reachable server.
    pub fn connect(
        url: &str,
        database: Option<&str>,
        pool_size: usize,
    ) -> Result<Self, StoreError> {
        let mut config: tokio_postgres::Config = url.parse().map_err(StoreError::DatabaseUrl)?;
        if let Some(db) = database {
            config.dbname(db);
        }
        config.application_name("interop-gateway");
        Self::with_pool(config, pool_size)
    }

    /// A store on the same database with a pool of its own, of at most `pool_size`
    /// connections. A connection's I/O runs on the runtime that opened it, so each
    /// single-threaded HTTP worker keeps its own pool: a query then never waits for
    /// another thread to be woken to drive its socket.
    pub fn another_pool(&self, pool_size: usize) -> Result<Self, StoreError> {
        Self::with_pool((*self.config).clone(), pool_size)
    }

    fn with_pool(config: tokio_postgres::Config, pool_size: usize) -> Result<Self, StoreError> {
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager).max_size(pool_size.max(1)).build()?;
        Ok(Self {
            pool,
            config: std::sync::Arc::new(config),
        })
    }

    /// Runs every embedded migration not yet applied.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let mut client = self.pool.get().await?;
        let report = embedded::migrations::runner()
            .run_async(&mut **client)
            .await
            .map_err(|e| StoreError::Migration(e.to_string()))?;
        for m in report.applied_migrations() {
            tracing::info!(migration = %m, "applied migration");
        }
        Ok(())
    }

    /// Whether the database answers and has every embedded migration applied.
    pub async fn is_ready(&self) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        let latest = embedded::migrations::runner()
            .get_migrations()
            .iter()
            .map(|m| i64::from(m.version()))
            .max()
            .unwrap_or(0);
        let row = client
            .query_opt(
                "SELECT max(version)::bigint FROM refinery_schema_history",
                &[],
            )
            .await
            .map_err(|_| StoreError::NotMigrated {
                applied: 0,
                expected: latest,
            })?;
        let applied: i64 = row.and_then(|r| r.get::<_, Option<i64>>(0)).unwrap_or(0);
        if applied < latest {
            return Err(StoreError::NotMigrated {
                applied,
                expected: latest,
            });
        }
        Ok(())
    }

    pub fn pool_status(&self) -> PoolStatus {
        let s = self.pool.status();
        PoolStatus {
            max_size: s.max_size,
            size: s.size,
            available: s.available,
            waiting: s.waiting,
        }
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        Ok(self.pool.get().await?)
    }
}

/// Creates an empty database named `name` on the server `admin_url` points to.
pub async fn create_database(admin_url: &str, name: &str) -> Result<(), StoreError> {
    create(admin_url, name, false).await
}

/// Drops the database `name` if it exists (closing its sessions) and creates it empty.
/// Fails fast (3 s) when the server does not answer.
pub async fn recreate_database(admin_url: &str, name: &str) -> Result<(), StoreError> {
    create(admin_url, name, true).await
}

async fn create(admin_url: &str, name: &str, replace: bool) -> Result<(), StoreError> {
    if !is_plain_name(name) {
        return Err(StoreError::DatabaseName(name.to_owned()));
    }
    let mut config: tokio_postgres::Config = admin_url.parse().map_err(StoreError::DatabaseUrl)?;
    config.connect_timeout(std::time::Duration::from_secs(3));
    let (client, connection) = config.connect(NoTls).await?;
    let task = tokio::spawn(connection);
    if replace {
        client
            .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .await?;
    }
    client
        .batch_execute(&format!("CREATE DATABASE \"{name}\""))
        .await?;
    drop(client);
    let _ = task.await;
    Ok(())
}

/// Whether a database name is letters, digits and `_` only: safe to quote into the
/// statements that create and drop it (which take no parameters).
fn is_plain_name(name: &str) -> bool {
    name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_database_names_are_created() {
        assert!(is_plain_name("t_1700000000_abc"));
        assert!(!is_plain_name("x\"; DROP DATABASE y; --"));
        assert!(!is_plain_name("with space"));
        assert!(!is_plain_name("bench-sync"));
    }

    #[tokio::test]
    async fn a_bad_url_or_name_says_which() {
        assert!(matches!(
            Store::connect("not a url", None, 1),
            Err(StoreError::DatabaseUrl(_))
        ));
        assert!(matches!(
            create_database("postgres://127.0.0.1:1/x", "bad name").await,
            Err(StoreError::DatabaseName(_))
        ));
    }
}
