//! The transaction protocol: how writers take record versions in order, how lookups
//! are made ahead of a page on one snapshot, and the connection that writes beside a
//! page.
//!
//! A [`Transaction`] holds a pooled connection inside `BEGIN`. Its mode says what it
//! may do: a [`Write`] transaction writes (and, when versioned, holds the version lock
//! so versions commit in the order they were taken); a [`Snapshot`] only reads, on one
//! snapshot, and knows how many versioned writers had committed when it was taken. Both
//! make the registry's lookups (see `lookups`), so a caller can be written once for
//! either. Dropped unfinished, a transaction closes its connection instead of returning
//! it to the pool mid-transaction: the server rolls it back.

use deadpool_postgres::Object;
use tokio_postgres::SimpleQueryMessage;

use crate::{Store, StoreError};

/// The version lock's id as a literal, so the statement that takes it can name it at
/// compile time (a simple query, one round trip, takes no parameters).
macro_rules! version_lock {
    () => {
        7236858012434493806
    };
}

/// The advisory lock version-taking writers hold for their whole transaction.
pub(crate) const VERSION_LOCK: i64 = version_lock!();

/// Opens a transaction, queues it behind any other version-taking writer, and counts it.
const BEGIN_VERSIONED: &str = concat!(
    "BEGIN; SELECT pg_advisory_xact_lock(",
    version_lock!(),
    "); UPDATE version_writers SET commits = commits + 1 RETURNING commits"
);

/// Opens a read-only snapshot and reads how many versioned writers had committed.
const BEGIN_SNAPSHOT: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
    SELECT commits FROM version_writers";

/// A transaction on a connection of its own; `M` is [`Write`] or [`Snapshot`].
pub struct Transaction<M> {
    client: Option<Object>,
    mode: M,
}

/// The mode of a transaction that writes.
#[derive(Debug)]
pub struct Write {
    /// This transaction's number among the version-taking writers; none for one that
    /// takes no version.
    writer_number: Option<i64>,
}

/// The mode of a read-only transaction on one snapshot.
#[derive(Debug)]
pub struct Snapshot {
    /// Version-taking writers committed when the snapshot was taken.
    writers: i64,
}

/// A transaction for writes that must land together (a page of a sync and its
/// cursor). Dropped without [`Transaction::commit`], it rolls back.
pub type WriteTx = Transaction<Write>;

/// A read-only transaction on one snapshot of the registry, for lookups made ahead of
/// the transaction that writes with them. [`Transaction::writers`] says how many
/// version-taking writers had committed when the snapshot was taken; a writer that
/// finds a higher count than it expects knows the lookups may be stale.
pub type SnapshotTx = Transaction<Snapshot>;

impl<M: std::fmt::Debug> std::fmt::Debug for Transaction<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("open", &self.client.is_some())
            .field("mode", &self.mode)
            .finish()
    }
}

impl<M> Transaction<M> {
    /// The connection, for the statements of the store's modules.
    pub(crate) fn client(&self) -> Result<&Object, StoreError> {
        self.client.as_ref().ok_or(StoreError::TransactionFinished)
    }

    /// Commits and returns the connection to the pool.
    async fn end(mut self) -> Result<(), StoreError> {
        let client = self.client.take().ok_or(StoreError::TransactionFinished)?;
        client.batch_execute("COMMIT").await?;
        Ok(())
    }
}

impl<M> Drop for Transaction<M> {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            // Closing the connection makes the server roll the transaction back.
            drop(Object::take(client));
        }
    }
}

impl Store {
    /// Opens a write transaction. Writers that take record versions run one at a
    /// time (a transaction-scoped advisory lock), so versions commit in the order they
    /// were taken and a change-feed reader never sees a later version before an
    /// earlier one that is still to commit.
    pub async fn begin(&self) -> Result<WriteTx, StoreError> {
        let client = self.client().await?;
        let writer_number = last_number(&client.simple_query(BEGIN_VERSIONED).await?)
            .ok_or_else(|| StoreError::corrupt("version_writers", "commits", "no count"))?;
        Ok(Transaction {
            client: Some(client),
            mode: Write {
                writer_number: Some(writer_number),
            },
        })
    }

    /// Opens a write transaction that takes no record version (payroll lines and a
    /// cursor), so it need not queue behind the writers that do. Writing a versioned
    /// table in it would break the change feed's order.
    pub async fn begin_unversioned(&self) -> Result<WriteTx, StoreError> {
        let client = self.client().await?;
        client.batch_execute("BEGIN").await?;
        Ok(Transaction {
            client: Some(client),
            mode: Write {
                writer_number: None,
            },
        })
    }

    /// Opens a [`SnapshotTx`].
    pub async fn snapshot(&self) -> Result<SnapshotTx, StoreError> {
        let client = self.client().await?;
        let writers = last_number(&client.simple_query(BEGIN_SNAPSHOT).await?)
            .ok_or_else(|| StoreError::corrupt("version_writers", "commits", "no count"))?;
        Ok(Transaction {
            client: Some(client),
            mode: Snapshot { writers },
        })
    }
}

impl WriteTx {
    /// This transaction's number among the version-taking writers: it counts them, and
    /// this one is counted. None for a transaction that takes no version.
    pub fn writer_number(&self) -> Option<i64> {
        self.mode.writer_number
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        self.end().await
    }
}

impl SnapshotTx {
    /// Version-taking writers committed when the snapshot was taken.
    pub fn writers(&self) -> i64 {
        self.mode.writers
    }

    /// Ends the snapshot and returns its connection to the pool.
    pub async fn finish(self) -> Result<(), StoreError> {
        self.end().await
    }
}

/// The number in the last row a simple query returned.
fn last_number(messages: &[SimpleQueryMessage]) -> Option<i64> {
    messages.iter().rev().find_map(|m| match m {
        SimpleQueryMessage::Row(row) => row.get(0)?.parse().ok(),
        _ => None,
    })
}

/// A connection for the writes of a page that take no record version and are safe to
/// land before the page does: raw records and source reports, keyed by the source's
/// id, so writing them again after a failed page changes nothing. They go on this
/// connection, one statement per transaction, while the page's own transaction does
/// the registry's writes: PostgreSQL works on both at once. (Its writes are in
/// `bulk`.)
pub struct SideWriter {
    pub(crate) client: Object,
}

impl std::fmt::Debug for SideWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SideWriter").finish_non_exhaustive()
    }
}

impl Store {
    /// A [`SideWriter`] on a connection of its own.
    pub async fn side_writer(&self) -> Result<SideWriter, StoreError> {
        Ok(SideWriter {
            client: self.client().await?,
        })
    }
}

impl SideWriter {
    /// Merges the staff search index's pending list (where new entries wait, 32 MB of
    /// them at most) into the index proper, as far as it has been written. Otherwise
    /// the inserter that overflows the list merges it inside its own statement, and a
    /// `q` search reads the whole list row by row. An inserter finding a merge under
    /// way leaves it to this one. A failure (a role that does not own the index may not
    /// merge) is only logged: the next overflowing insert or autovacuum merges instead.
    pub async fn merge_pending_search_entries(&self) {
        if let Err(e) = self
            .client
            .batch_execute("SELECT gin_clean_pending_list('staff_search'::regclass)")
            .await
        {
            tracing::warn!(error = %e, "could not merge the staff search index's pending entries");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_versioned_begin_takes_the_one_version_lock() {
        assert!(BEGIN_VERSIONED.contains(&format!("pg_advisory_xact_lock({VERSION_LOCK})")));
        assert!(BEGIN_VERSIONED.starts_with("BEGIN;"));
    }

    #[test]
    fn the_count_is_read_from_the_last_row() {
        assert_eq!(last_number(&[]), None);
        assert_eq!(last_number(&[SimpleQueryMessage::CommandComplete(1)]), None);
    }
}
