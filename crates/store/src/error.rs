/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database unavailable: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("database error: {0}")]
    Db(#[from] tokio_postgres::Error),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("database not migrated: schema version {applied}, this build needs {expected}")]
    NotMigrated { applied: i64, expected: i64 },
    #[error("stored {table} row {key} is unreadable: {reason}")]
    Corrupt {
        table: &'static str,
        key: String,
        reason: String,
    },
    /// The database URL does not parse.
    #[error("database url: {0}")]
    DatabaseUrl(#[source] tokio_postgres::Error),
    /// A database name the store would have to quote (it creates databases by name).
    #[error("database name {0:?} must be letters, digits and _")]
    DatabaseName(String),
    #[error("connection pool: {0}")]
    PoolSetup(#[from] deadpool_postgres::BuildError),
    /// A transaction used after it committed or ended.
    #[error("transaction already finished")]
    TransactionFinished,
    /// An audit checkpoint key too short to be one.
    #[error("the audit checkpoint key must be at least {min_len} bytes long")]
    CheckpointKeyTooShort { min_len: usize },
    /// An audit checkpoint key the MAC refuses.
    #[error("audit checkpoint key: {0}")]
    CheckpointKey(String),
    /// The audit chain has signed checkpoints and no key was given to check them.
    #[error(
        "the audit chain has checkpoints, and they cannot be checked without the key that signed them"
    )]
    CheckpointKeyMissing,
    /// A review-queue pair a person decided before.
    #[error("match {0} was already decided")]
    MatchDecided(uuid::Uuid),
    /// A split naming a source record the person does not hold.
    #[error("{ministry} record {source_id} is not one of person {staff_id}'s records")]
    NotOnPerson {
        staff_id: uuid::Uuid,
        ministry: String,
        source_id: String,
    },
    /// A split of a person's only source record.
    #[error("{ministry} record {source_id} is person {staff_id}'s only record: nothing to split")]
    LastRecord {
        staff_id: uuid::Uuid,
        ministry: String,
        source_id: String,
    },
    #[error("throwaway PostgreSQL cluster: {0}")]
    Cluster(String),
}

impl StoreError {
    pub(crate) fn corrupt(table: &'static str, key: impl ToString, reason: impl ToString) -> Self {
        Self::Corrupt {
            table,
            key: key.to_string(),
            reason: reason.to_string(),
        }
    }
}
