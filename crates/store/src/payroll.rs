//! The payroll: each month's lines as the finance ministry pays them, keyed by period
//! and officer id. Payroll lines take no record version (they are outside the change
//! feed), so they may be written in a transaction that does not queue behind the
//! versioned writers ([`crate::Store::begin_unversioned`]).

use std::sync::OnceLock;

use schema::PayrollEntry;

use crate::bulk::{Column, Duplicates, OnConflict, Outcome, Stamp, Table, each};
use crate::{StoreError, UpsertCounts, WriteTx};

/// A line already held unchanged is left alone; of one period and officer given twice,
/// one is kept.
pub(crate) static PAYROLL: Table<PayrollEntry> = Table {
    name: "payroll_entries",
    columns: &[
        Column::key("period", "text", |rows| {
            each(rows, |e| e.period.to_string())
        }),
        Column::key("officer_id", "text", |rows| {
            each(rows, |e| e.civil_servant_id.as_str())
        }),
        Column::compared("ministry", "text", |rows| {
            each(rows, |e| e.ministry.as_str())
        }),
        Column::compared("budget_unit", "text", |rows| {
            each(rows, |e| e.budget_unit.as_str())
        }),
        Column::compared("status", "text", |rows| each(rows, |e| e.status.as_str())),
    ],
    on_conflict: OnConflict::UpdateWhenChanged(Stamp::None),
    duplicates: Duplicates::OneKept,
    outcome: Outcome::Counts,
    identifiers_of: None,
    statement: OnceLock::new(),
};

impl WriteTx {
    /// Keeps payroll lines; a line already held unchanged is left alone.
    pub async fn put_payroll(&self, entries: &[PayrollEntry]) -> Result<UpsertCounts, StoreError> {
        let rows: Vec<&PayrollEntry> = entries.iter().collect();
        PAYROLL.upsert(self.client()?, &rows, rows.len()).await
    }
}
