//! What linking a page's staff reports needs of the registry, read in one snapshot:
//! in the page's own transaction, or ahead of it, while the page before is written
//! (the look-ahead), when no other writer commits in between.

use std::collections::HashMap;

use adapter_core::{Page, Record};
use schema::{Staff, StaffReport};
use store::{StoreError, Transaction, WriteTx};
use uuid::Uuid;

use super::key;

/// What linking a page's staff reports needs of the registry, read in one snapshot.
#[derive(Debug, Default)]
pub struct StaffLookup {
    pub(super) known_ids: HashMap<(String, String), Uuid>,
    pub(super) people: Vec<Staff>,
    pub(super) facilities: HashMap<(String, String), Uuid>,
    pub(super) communes: HashMap<Uuid, String>,
}

/// A page's [`StaffLookup`] made ahead of its transaction, while the page before was
/// written: usable when no writer but that page committed after the snapshot, with
/// what that page wrote laid over it.
#[derive(Debug)]
pub struct LookedAhead {
    pub lookup: StaffLookup,
    /// Version-taking writers committed when the lookup's snapshot was taken.
    pub writers: i64,
    /// The writer number of the page before, and the staff records it wrote.
    pub previous: Option<(i64, Vec<Staff>)>,
}

impl LookedAhead {
    /// Whether the snapshot, with the page before laid over it, is what `tx` sees.
    pub(super) fn holds_for(&self, tx: &WriteTx) -> bool {
        snapshot_holds(
            self.writers,
            self.previous.as_ref().map(|(n, _)| *n),
            tx.writer_number(),
        )
    }
}

/// Whether a snapshot taken when `writers` version-taking writers had committed still
/// shows what writer number `number` sees, once the page before (writer `previous`,
/// ours) is laid over it: no other writer may have committed in between.
fn snapshot_holds(writers: i64, previous: Option<i64>, number: Option<i64>) -> bool {
    let Some(number) = number else {
        return false;
    };
    number == writers + 1 || (number == writers + 2 && previous == Some(writers + 1))
}

/// Reads what linking `reports` needs: the records their ids name, and the
/// facilities (and communes) their postings name.
pub(super) async fn look_up<M>(
    reader: &Transaction<M>,
    reports: &[&StaffReport],
) -> Result<StaffLookup, StoreError> {
    let csids: Vec<String> = reports
        .iter()
        .filter_map(|r| r.civil_servant_id.as_ref().map(ToString::to_string))
        .collect();
    let nids: Vec<String> = reports
        .iter()
        .filter_map(|r| r.national_id.as_ref().map(ToString::to_string))
        .collect();
    let id_keys: Vec<(String, String)> = reports
        .iter()
        .flat_map(|r| r.identifiers.iter().map(|i| key(&i.system, &i.value)))
        .collect();
    let known_ids = reader.lookup_identifiers("staff", &id_keys).await?;
    let mut people = reader.staff_by_keys(&csids, &nids).await?;
    let held: std::collections::HashSet<Uuid> = people.iter().map(|s| s.id).collect();
    let missing: Vec<Uuid> = known_ids
        .values()
        .filter(|id| !held.contains(id))
        .copied()
        .collect();
    people.extend(reader.staff_by_ids(&missing).await?);
    let posting_keys: Vec<(String, String)> = reports
        .iter()
        .filter_map(|r| r.posting.as_ref()?.facility.as_ref())
        .flat_map(matching::facility_candidates)
        .collect();
    let facilities = reader.lookup_identifiers("facility", &posting_keys).await?;
    let facility_ids: Vec<Uuid> = facilities.values().copied().collect();
    let communes = reader.facility_communes(&facility_ids).await?;
    Ok(StaffLookup {
        known_ids,
        people,
        facilities,
        communes,
    })
}

/// Looks a fetched page's staff reports up in a snapshot of its own, ahead of the
/// page's transaction; none for a page without staff reports.
pub async fn look_ahead(
    store: &store::Store,
    page: &Page,
) -> Result<Option<(StaffLookup, i64)>, StoreError> {
    let reports: Vec<&StaffReport> = page
        .items
        .iter()
        .filter_map(|f| match &f.record {
            Record::Staff(r) => Some(r),
            _ => None,
        })
        .collect();
    if reports.is_empty() {
        return Ok(None);
    }
    let snapshot = store.snapshot().await?;
    let lookup = look_up(&snapshot, &reports).await?;
    let writers = snapshot.writers();
    snapshot.finish().await?;
    Ok(Some((lookup, writers)))
}

#[cfg(test)]
mod tests {
    use super::snapshot_holds;

    #[test]
    fn a_look_ahead_holds_only_when_no_other_writer_committed_after_its_snapshot() {
        // (writers at the snapshot, our page before, this transaction's number, holds)
        let cases = [
            (10, None, Some(11), true),      // nothing committed since the snapshot
            (10, Some(11), Some(12), true),  // only our page before, laid over it
            (10, Some(10), Some(11), true),  // our page before was in the snapshot
            (10, None, Some(12), false),     // another writer committed in between
            (10, Some(11), Some(13), false), // ours and another
            (10, Some(12), Some(13), false), // another, then ours
            (10, Some(11), None, false),     // a transaction that takes no version
        ];
        for (writers, previous, number, holds) in cases {
            assert_eq!(
                snapshot_holds(writers, previous, number),
                holds,
                "snapshot at {writers}, page before {previous:?}, now {number:?}"
            );
        }
    }
}
