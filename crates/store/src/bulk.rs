//! Bulk writes: one statement, one round trip, per batch.
//!
//! Each table written in bulk is described once (a [`Table`]: its columns, their
//! types, which are its key, which are content, and what a conflict does), and its
//! statement is generated from that description. A row whose content is unchanged is
//! left alone (its `version` and `updated_at` stay); a changed row takes the next
//! `record_version`. Facilities' and staff's source identifiers are indexed in
//! `source_identifiers` by the same statement (or, for staff in a sync page, beside it
//! on a [`SideWriter`]).

mod raw_records;
mod registry;
mod table;

use std::collections::HashMap;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use schema::{AdminUnit, Assignment, Facility, Ministry, Staff, text};
use serde_json::Value;
use tokio_postgres::types::Json;
use uuid::Uuid;

pub use raw_records::RawRecord;
use registry::{ADMIN_UNITS, ASSIGNMENTS, FACILITIES, STAFF, STAFF_IDENTIFIERS, STAFF_ROWS};
pub(crate) use table::{Column, Duplicates, OnConflict, Outcome, Stamp, Table, each};

use crate::{SideWriter, Store, StoreError, WriteTx};

/// What a bulk upsert did to the rows it was given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UpsertCounts {
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
}

impl UpsertCounts {
    /// From what a statement counted among `total` rows given: the rest were unchanged.
    pub(crate) fn from_counts(inserted: i64, updated: i64, total: usize) -> Self {
        let inserted = u64::try_from(inserted).unwrap_or(0);
        let updated = u64::try_from(updated).unwrap_or(0);
        Self {
            inserted,
            updated,
            unchanged: (total as u64).saturating_sub(inserted + updated),
        }
    }
}

impl std::ops::AddAssign for UpsertCounts {
    fn add_assign(&mut self, rhs: Self) {
        self.inserted += rhs.inserted;
        self.updated += rhs.updated;
        self.unchanged += rhs.unchanged;
    }
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

/// Keeps the last of each key: a batch may carry the same record twice (a source
/// that serves a page twice), and one statement may not touch a row twice.
pub(crate) fn last_of_each<T, K: std::hash::Hash + Eq>(
    rows: &[T],
    key: impl Fn(&T) -> K,
) -> Vec<&T> {
    let mut position: HashMap<K, usize> = HashMap::with_capacity(rows.len());
    let mut kept: Vec<&T> = Vec::with_capacity(rows.len());
    for row in rows {
        match position.get(&key(row)) {
            Some(&i) => kept[i] = row,
            None => {
                position.insert(key(row), kept.len());
                kept.push(row);
            }
        }
    }
    kept
}

/// Identifiers in a fixed order, so the same set always compares equal.
fn sorted(ids: &[schema::SourceIdentifier]) -> Vec<&schema::SourceIdentifier> {
    let mut v: Vec<_> = ids.iter().collect();
    v.sort();
    v.dedup();
    v
}

fn opt_as_str(name: &Option<schema::Name>) -> &str {
    name.as_ref().map_or("", |n| n.as_str())
}

/// What `q` searches: the match keys of the names and ids, space separated.
pub(crate) fn search_key(parts: &[&str]) -> String {
    parts
        .iter()
        .filter(|p| !p.is_empty())
        .map(|p| text::match_key(p))
        .collect::<Vec<_>>()
        .join(" ")
}

/// What each source said of each record; a report held unchanged is left alone (its
/// fetch time too), a changed one takes a version.
static SOURCE_REPORTS: Table<SourceReportRow> = Table {
    name: "source_reports",
    columns: &[
        Column::key("entity_type", "text", |rows| each(rows, |r| r.entity_type)),
        Column::key("ministry", "text", |rows| {
            each(rows, |r| r.ministry.as_str())
        }),
        Column::key("source_id", "text", |rows| {
            each(rows, |r| r.source_id.as_str())
        }),
        Column::compared("entity_id", "uuid", |rows| each(rows, |r| r.entity_id)),
        Column::compared("report", "jsonb", |rows| each(rows, |r| Json(&r.report))),
        Column::carried("fetched_at", "timestamptz", |rows| {
            each(rows, |r| r.fetched_at)
        }),
    ],
    on_conflict: OnConflict::UpdateWhenChanged(Stamp::Version),
    duplicates: Duplicates::OneKept,
    outcome: Outcome::RowCount,
    identifiers_of: None,
    statement: OnceLock::new(),
};

/// The writes of this module, on any connection.
pub(crate) mod write {
    use super::*;

    pub(crate) use super::raw_records::write as raw_records;

    pub(crate) async fn admin_units(
        client: &impl GenericClient,
        units: &[AdminUnit],
    ) -> Result<UpsertCounts, StoreError> {
        let rows = last_of_each(units, |u| u.code.clone());
        ADMIN_UNITS.upsert(client, &rows, rows.len()).await
    }

    pub(crate) async fn facilities(
        client: &impl GenericClient,
        facilities: &[Facility],
    ) -> Result<UpsertCounts, StoreError> {
        let rows = last_of_each(facilities, |f| f.id);
        FACILITIES.upsert(client, &rows, rows.len()).await
    }

    /// Upserts staff; `index` also indexes their identifiers in the same statement.
    pub(crate) async fn staff(
        client: &impl GenericClient,
        staff: &[Staff],
        index: bool,
    ) -> Result<UpsertCounts, StoreError> {
        let rows = last_of_each(staff, |s| s.id);
        let table = if index { &STAFF } else { &STAFF_ROWS };
        table.upsert(client, &rows, rows.len()).await
    }

    /// Indexes staff records' source identifiers (what [`staff`] does in its statement).
    pub(crate) async fn staff_identifiers(
        client: &impl GenericClient,
        staff: &[Staff],
    ) -> Result<(), StoreError> {
        let rows = last_of_each(staff, |s| s.id);
        if rows.is_empty() {
            return Ok(());
        }
        let id: Vec<Uuid> = rows.iter().map(|s| s.id).collect();
        let identifiers: Vec<Json<Vec<&schema::SourceIdentifier>>> =
            rows.iter().map(|s| Json(sorted(&s.identifiers))).collect();
        let stmt = client.prepare_cached(&STAFF_IDENTIFIERS).await?;
        client.execute(&stmt, &[&id, &identifiers]).await?;
        Ok(())
    }

    pub(crate) async fn assignments(
        client: &impl GenericClient,
        assignments: &[Assignment],
    ) -> Result<UpsertCounts, StoreError> {
        let rows = last_of_each(assignments, |a| a.id);
        ASSIGNMENTS.upsert(client, &rows, rows.len()).await
    }

    pub(crate) async fn source_reports(
        client: &impl GenericClient,
        reports: &[SourceReportRow],
    ) -> Result<(), StoreError> {
        let rows: Vec<&SourceReportRow> = reports.iter().collect();
        SOURCE_REPORTS.write(client, &rows).await?;
        Ok(())
    }
}

/// The bulk writes, on the pool (one statement each, in a versioned transaction) or
/// inside a [`WriteTx`].
macro_rules! writes {
    ($($(#[$doc:meta])* $name:ident => $fn:ident($arg:ident: $ty:ty) -> $ret:ty;)+) => {
        impl Store {
            $($(#[$doc])* pub async fn $name(&self, $arg: $ty) -> Result<$ret, StoreError> {
                let tx = self.begin().await?;
                let done = write::$fn(tx.client()?, $arg).await?;
                tx.commit().await?;
                Ok(done)
            })+
        }
        impl WriteTx {
            $($(#[$doc])* pub async fn $name(&self, $arg: $ty) -> Result<$ret, StoreError> {
                write::$fn(self.client()?, $arg).await
            })+
        }
    };
}

writes! {
    /// Inserts or updates gazetteer units.
    upsert_admin_units => admin_units(units: &[AdminUnit]) -> UpsertCounts;
    /// Inserts or updates facilities, indexing their identifiers.
    upsert_facilities => facilities(facilities: &[Facility]) -> UpsertCounts;
    /// Inserts or updates assignments.
    upsert_assignments => assignments(assignments: &[Assignment]) -> UpsertCounts;
    /// Keeps each raw record, valid or not; a record sent again replaces the copy held
    /// for the same source id (or, without one, the same payload).
    put_raw_records => raw_records(records: &[RawRecord]) -> u64;
}

impl WriteTx {
    /// Inserts or updates staff, indexing their identifiers in the same statement.
    pub async fn upsert_staff(&self, staff: &[Staff]) -> Result<UpsertCounts, StoreError> {
        write::staff(self.client()?, staff, true).await
    }

    /// Upserts staff without indexing their identifiers: the caller does that on a
    /// [`SideWriter`] at the same time.
    pub async fn upsert_staff_rows(&self, staff: &[Staff]) -> Result<UpsertCounts, StoreError> {
        write::staff(self.client()?, staff, false).await
    }
}

impl Store {
    /// Inserts or updates staff, indexing their identifiers. The rows go in a
    /// version-taking transaction while a second connection indexes the identifiers at
    /// the same time, as a sync page does (the two are separate tables, and one backend
    /// doing both left the machine's other core idle), then merges the search index's
    /// pending entries while the rows still go in: what earlier upserts left is merged
    /// off the inserter's core, and at most the latest batch's entries stay pending.
    pub async fn upsert_staff(&self, staff: &[Staff]) -> Result<UpsertCounts, StoreError> {
        if self.pool.status().max_size < 2 {
            // Two connections from a pool of one would wait for each other forever.
            let tx = self.begin().await?;
            let counts = tx.upsert_staff(staff).await?;
            tx.commit().await?;
            return Ok(counts);
        }
        let tx = self.begin().await?;
        let side = self.side_writer().await?;
        let (counts, ()) = tokio::try_join!(tx.upsert_staff_rows(staff), async {
            side.index_staff_identifiers(staff).await?;
            side.merge_pending_search_entries().await;
            Ok(())
        })?;
        tx.commit().await?;
        Ok(counts)
    }
}

impl SideWriter {
    /// Keeps each raw record, valid or not (see [`Store::put_raw_records`]).
    pub async fn put_raw_records(&self, records: &[RawRecord]) -> Result<u64, StoreError> {
        write::raw_records(&self.client, records).await
    }

    /// Keeps what each source said of each record.
    pub async fn put_source_reports(&self, rows: &[SourceReportRow]) -> Result<(), StoreError> {
        write::source_reports(&self.client, rows).await
    }

    /// Indexes staff records' source identifiers, for [`WriteTx::upsert_staff_rows`].
    /// An identifier indexed before its record lands names the id the record will
    /// have (ids derive from the source's), so a failed page misleads no lookup.
    pub async fn index_staff_identifiers(&self, staff: &[Staff]) -> Result<(), StoreError> {
        write::staff_identifiers(&self.client, staff).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_of_each_key_is_kept_in_first_seen_order() {
        let rows = [(1, "a"), (2, "b"), (1, "c"), (3, "d"), (2, "e")];
        let kept: Vec<&str> = last_of_each(&rows, |r| r.0).iter().map(|r| r.1).collect();
        assert_eq!(kept, ["c", "e", "d"]);
        assert!(last_of_each(&[] as &[(i32, &str)], |r| r.0).is_empty());
    }

    #[test]
    fn a_search_key_joins_the_match_keys_of_what_is_given() {
        assert_eq!(search_key(&["", "ABC", ""]), text::match_key("ABC"));
        assert_eq!(
            search_key(&["Sok", "Dara"]),
            format!("{} {}", text::match_key("Sok"), text::match_key("Dara"))
        );
        assert_eq!(search_key(&[]), "");
    }

    #[test]
    fn counts_leave_the_rest_unchanged() {
        let c = UpsertCounts::from_counts(2, 3, 10);
        assert_eq!((c.inserted, c.updated, c.unchanged), (2, 3, 5));
        let mut sum = c;
        sum += UpsertCounts::from_counts(1, 0, 1);
        assert_eq!((sum.inserted, sum.updated, sum.unchanged), (3, 3, 5));
        // Never below zero, even when duplicates left the server counting more.
        assert_eq!(UpsertCounts::from_counts(4, 4, 5).unchanged, 0);
    }

    #[test]
    fn every_table_describes_one_key_and_statement_per_column() {
        fn check<R>(t: &Table<R>) {
            let sql = t.statement();
            assert!(
                t.columns.iter().any(|c| c.role == table::Role::Key),
                "{}",
                t.name
            );
            assert!(
                sql.contains(&format!("${}::", t.columns.len())),
                "{}",
                t.name
            );
            assert!(
                !sql.contains(&format!("${}::", t.columns.len() + 1)),
                "{}",
                t.name
            );
            assert!(!sql.contains('{'), "{}: {sql}", t.name);
        }
        check(&ADMIN_UNITS);
        check(&FACILITIES);
        check(&STAFF);
        check(&STAFF_ROWS);
        check(&ASSIGNMENTS);
        check(&SOURCE_REPORTS);
        check(&raw_records::RAW_RECORDS);
        check(&crate::payroll::PAYROLL);
        assert!(STAFF.statement().contains("indexed AS"));
        assert!(!STAFF_ROWS.statement().contains("indexed AS"));
    }
}
