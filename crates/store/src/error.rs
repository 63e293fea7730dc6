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
    #[error("configuration: {0}")]
    Config(String),
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
