//! How a page from a source joins the registry.
//!
//! - Facilities are linked by any identifier a source gives them (`moh:dhis2`,
//!   `moh:code`, `moeys:school_code`); the MCS roll's `mcs:facility_code` is looked up
//!   as either a DHIS2 code or a school code.
//! - Staff are linked by civil-servant id, then by a source id seen before, then by
//!   national id — the last only where it cannot merge two different civil-servant
//!   ids (that is a possible duplicate for reconciliation, never a merge).
//! - Field ownership: MCS owns the civil-service fields (names, birth date, sex,
//!   national id, employer, grade, status); the sector ministries own where a person
//!   serves. Another source fills a field only where the record has none. What each
//!   source said is kept whole in `source_reports`, so disagreements keep both values.
//! - Ids of new records are derived from the source's id (UUID v5), so a run resumed
//!   after a crash, or run twice, writes the same rows.

use std::collections::{BTreeSet, HashMap};

use adapter_core::{Feed, Page, Record};
use chrono::{DateTime, Utc};
use schema::{
    AdminCode, Assignment, Facility, FacilityReport, ManagedBy, Ministry, MinistryCode,
    PayrollEntry, Provenance, RoleReport, Staff, StaffReport, StaffStatus,
};
use store::{
    RawRecord, SideWriter, SnapshotTx, SourceReportRow, Store, StoreError, UpsertCounts, WriteTx,
};

use crate::SyncError;
use uuid::Uuid;

/// The namespace of the registry's derived ids.
const NAMESPACE: Uuid = Uuid::from_u128(0x6a1f_3c2e_9b7d_4e15_8a40_5c2d_7e91_b3f0);

/// A stable id for a record first seen as `source_id` in `ministry`'s `kind` feed.
pub fn stable_id(kind: &str, ministry: Ministry, source_id: &str) -> Uuid {
    Uuid::new_v5(
        &NAMESPACE,
        format!("{kind}:{ministry}:{source_id}").as_bytes(),
    )
}

/// What storing one page did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PageCounts {
    /// Records the source sent, valid or not.
    pub fetched: u64,
    pub inserted: u64,
    pub updated: u64,
    pub rejected: u64,
    /// Of `inserted`, the rows new to the registry's linked tables (not payroll lines):
    /// what the planner's statistics of those tables lag behind.
    pub registry_inserted: u64,
}

/// Times the steps of one page's write, for `sync::timing=debug` logs: where a
/// page's time goes is the first question when a sync is slow.
struct StepClock {
    last: std::time::Instant,
    laps: Vec<(&'static str, u128)>,
}

impl StepClock {
    fn start() -> Self {
        Self {
            last: std::time::Instant::now(),
            laps: Vec::new(),
        }
    }
    fn lap(&mut self, step: &'static str) {
        let now = std::time::Instant::now();
        self.laps.push((step, (now - self.last).as_micros()));
        self.last = now;
    }
}

/// Writes one page: raw records, rejections, and the normalised records linked into
/// the registry. The registry's rows go in `tx`, which the caller commits with the
/// page's cursor. The raw records and source reports are written beside it, at the
/// same time (see [`Beside`]).
pub async fn apply_page(
    tx: &WriteTx,
    store: &Store,
    ministry: Ministry,
    feed: &Feed,
    page: Page,
    run_id: i64,
    ahead: Option<LookedAhead>,
) -> Result<(PageCounts, Vec<Staff>), SyncError> {
    let mut beside = Beside::new(store);
    let fetched_at = page.fetched_at;
    let record_type = feed.name();
    let mut raw = Vec::with_capacity(page.len());
    for f in &page.items {
        raw.push(RawRecord {
            ministry,
            record_type: record_type.clone(),
            source_id: Some(f.source_id.clone()),
            payload: f.raw.clone(),
            fetched_at,
            rejection: None,
            place: None,
            run_id: Some(run_id),
        });
    }
    for r in &page.rejections {
        raw.push(RawRecord {
            ministry,
            record_type: record_type.clone(),
            source_id: r.source_id.clone(),
            payload: r.raw.clone(),
            fetched_at,
            rejection: Some(r.problems.clone()),
            place: r.place.clone(),
            run_id: Some(run_id),
        });
    }
    beside.spawn(|side| async move { side.put_raw_records(&raw).await.map(|_| ()) });
    let written = link_records(tx, &mut beside, ministry, page, ahead).await;
    // Whatever the page's fate, its writes beside it end before it does.
    let kept = beside.finish().await;
    let written = written?;
    kept?;
    Ok(written)
}

/// Writes that need no record version and are safe to land before the page does (raw
/// records, source reports and identifiers, keyed by source id: written again if the
/// page is): each on a task and a connection of its own, so neither their client-side
/// work (serialising JSON) nor their statements hold up the page's transaction.
struct Beside {
    store: Store,
    tasks: Vec<tokio::task::JoinHandle<Result<(), StoreError>>>,
}

impl Beside {
    fn new(store: &Store) -> Self {
        Self {
            store: store.clone(),
            tasks: Vec::new(),
        }
    }

    fn spawn<F>(&mut self, write: impl FnOnce(SideWriter) -> F + Send + 'static)
    where
        F: std::future::Future<Output = Result<(), StoreError>> + Send + 'static,
    {
        let store = self.store.clone();
        self.tasks.push(tokio::spawn(async move {
            write(store.side_writer().await?).await
        }));
    }

    async fn finish(self) -> Result<(), SyncError> {
        let mut outcome = Ok(());
        for task in self.tasks {
            let done = match task.await {
                Ok(done) => done.map_err(SyncError::from),
                Err(e) => Err(SyncError::Task(e.to_string())),
            };
            if outcome.is_ok() {
                outcome = done;
            }
        }
        outcome
    }
}

/// The registry's part of [`apply_page`].
async fn link_records(
    tx: &WriteTx,
    beside: &mut Beside,
    ministry: Ministry,
    page: Page,
    ahead: Option<LookedAhead>,
) -> Result<(PageCounts, Vec<Staff>), SyncError> {
    let fetched_at = page.fetched_at;
    let mut clock = StepClock::start();
    let mut counts = PageCounts {
        fetched: page.len() as u64,
        rejected: page.rejections.len() as u64,
        ..PageCounts::default()
    };
    let (mut units, mut facilities, mut staff, mut roles, mut payroll) =
        (vec![], vec![], vec![], vec![], vec![]);
    for f in page.items {
        match f.record {
            Record::AdminUnit(u) => units.push(u),
            Record::Facility(r) => facilities.push(r),
            Record::Staff(r) => staff.push(r),
            Record::Role(r) => roles.push(r),
            Record::Payroll(p) => payroll.push(p),
        }
    }
    let mut add = |c: UpsertCounts| {
        counts.inserted += c.inserted;
        counts.updated += c.updated;
    };
    add(tx.upsert_admin_units(&units).await?);
    clock.lap("units");
    add(link_facilities(tx, beside, ministry, &facilities, fetched_at).await?);
    clock.lap("facilities");
    let (linked, written) =
        link_staff(tx, beside, ministry, staff, fetched_at, ahead, &mut clock).await?;
    add(linked);
    add(link_roles(tx, beside, ministry, &roles, fetched_at).await?);
    clock.lap("roles");
    counts.registry_inserted = counts.inserted;
    let paid = store_payroll(tx, &payroll).await?;
    counts.inserted += paid.inserted;
    counts.updated += paid.updated;
    clock.lap("payroll");
    tracing::debug!(target: "sync::timing", %ministry, laps = ?clock.laps, "page");
    Ok((counts, written))
}

fn key(system: &str, value: &str) -> (String, String) {
    (system.to_owned(), value.to_owned())
}

fn report_row<T: serde::Serialize>(
    entity_type: &'static str,
    ministry: Ministry,
    source_id: &str,
    entity_id: Option<Uuid>,
    report: &T,
    fetched_at: DateTime<Utc>,
) -> SourceReportRow {
    SourceReportRow {
        entity_type,
        ministry,
        source_id: source_id.to_owned(),
        entity_id,
        report: serde_json::to_value(report).unwrap_or(serde_json::Value::Null),
        fetched_at,
    }
}

async fn link_facilities(
    tx: &WriteTx,
    beside: &mut Beside,
    ministry: Ministry,
    reports: &[FacilityReport],
    fetched_at: DateTime<Utc>,
) -> Result<UpsertCounts, StoreError> {
    if reports.is_empty() {
        return Ok(UpsertCounts::default());
    }
    let keys: Vec<(String, String)> = reports
        .iter()
        .flat_map(|r| r.identifiers.iter().map(|i| key(&i.system, &i.value)))
        .collect();
    let known = tx.lookup_identifiers("facility", &keys).await?;
    let owner =
        MinistryCode::parse(ministry.as_str()).map_err(|e| StoreError::Config(e.to_string()))?;
    let mut rows = Vec::with_capacity(reports.len());
    let mut seen = Vec::with_capacity(reports.len());
    for r in reports {
        let id = r
            .identifiers
            .iter()
            .find_map(|i| known.get(&key(&i.system, &i.value)).copied())
            .unwrap_or_else(|| stable_id("facility", ministry, &r.source_id));
        rows.push(Facility {
            id,
            sector: r.sector,
            kind: r.kind,
            name_km: r.name_km.clone(),
            name_latin: r.name_latin.clone(),
            admin_unit_code: r.admin_unit_code.clone(),
            location: r.location,
            status: r.status,
            managed_by: r
                .managed_by
                .clone()
                .unwrap_or_else(|| ManagedBy::Ministry(owner.clone())),
            identifiers: r.identifiers.clone(),
            sources: vec![Provenance {
                ministry,
                source_id: r.source_id.clone(),
                fetched_at,
            }],
        });
        seen.push(report_row(
            "facility",
            ministry,
            &r.source_id,
            Some(id),
            r,
            fetched_at,
        ));
    }
    beside.spawn(|side| async move { side.put_source_reports(&seen).await });
    tx.upsert_facilities(&rows).await
}

/// The facility lookups a posting's facility code may mean.
fn facility_candidates(system: &str, value: &str) -> Vec<(String, String)> {
    if system == adapter_mcs::FACILITY_CODE {
        vec![key("moh:code", value), key("moeys:school_code", value)]
    } else {
        vec![key(system, value)]
    }
}

/// Sets `slot` from `value` when the source owns the field or the record has none.
fn take<T>(slot: &mut Option<T>, value: &Option<T>, owns: bool)
where
    T: Clone,
{
    if value.is_some() && (owns || slot.is_none()) {
        slot.clone_from(value);
    }
}

/// The registry's record after `r`, from a source that owns the civil-service fields
/// (`owns_roll`) or not.
fn merge(
    existing: Option<Staff>,
    r: &StaffReport,
    owns_roll: bool,
    serves: Option<AdminCode>,
    fetched_at: DateTime<Utc>,
) -> Option<Staff> {
    let is_new = existing.is_none();
    let mut s = match existing {
        Some(s) => s,
        None => Staff {
            id: stable_id("staff", r.source, &r.source_id),
            civil_servant_id: None,
            national_id: None,
            birth_date: None,
            name_km: r.name_km.clone()?,
            name_latin: None,
            sex: None,
            employer: None,
            grade: None,
            status: StaffStatus::Active,
            admin_unit_code: None,
            identifiers: vec![],
            sources: vec![],
        },
    };
    let owns = owns_roll || is_new;
    take(&mut s.civil_servant_id, &r.civil_servant_id, owns);
    take(&mut s.national_id, &r.national_id, owns);
    take(&mut s.birth_date, &r.birth_date, owns);
    take(&mut s.name_latin, &r.name_latin, owns);
    take(&mut s.sex, &r.sex, owns);
    take(&mut s.employer, &r.employer, owns);
    take(&mut s.grade, &r.grade, owns);
    if owns {
        if let Some(name) = &r.name_km {
            s.name_km = name.clone();
        }
        if let Some(status) = r.status {
            s.status = status;
        }
    }
    // Where a person serves belongs to the sector ministry; the roll fills it in.
    take(&mut s.admin_unit_code, &serves, !owns_roll || is_new);
    for id in &r.identifiers {
        if !s.identifiers.contains(id) {
            s.identifiers.push(id.clone());
        }
    }
    s.sources
        .retain(|p| !(p.ministry == r.source && p.source_id == r.source_id));
    s.sources.push(Provenance {
        ministry: r.source,
        source_id: r.source_id.clone(),
        fetched_at,
    });
    Some(s)
}

/// The staff records a page may touch, found by civil-servant id, national id and id,
/// kept current as the page's reports merge into them.
#[derive(Default)]
struct People {
    by_id: HashMap<Uuid, Staff>,
    by_civil_servant_id: HashMap<String, Uuid>,
    by_national_id: HashMap<String, Vec<Uuid>>,
}

impl People {
    /// Holds `s`, in place of any earlier state of the same record.
    fn put(&mut self, s: Staff) {
        if let Some(old) = self.by_id.get(&s.id) {
            if let Some(c) = &old.civil_servant_id
                && self.by_civil_servant_id.get(c.as_str()) == Some(&s.id)
            {
                self.by_civil_servant_id.remove(c.as_str());
            }
            if let Some(n) = &old.national_id
                && let Some(ids) = self.by_national_id.get_mut(n.as_str())
            {
                ids.retain(|id| *id != s.id);
            }
        }
        if let Some(c) = &s.civil_servant_id {
            self.by_civil_servant_id.insert(c.to_string(), s.id);
        }
        if let Some(n) = &s.national_id {
            let ids = self.by_national_id.entry(n.to_string()).or_default();
            if !ids.contains(&s.id) {
                ids.push(s.id);
            }
        }
        self.by_id.insert(s.id, s);
    }
}

/// What linking a page's staff reports needs of the registry, read in one snapshot.
#[derive(Debug, Default)]
pub struct StaffLookup {
    known_ids: HashMap<(String, String), Uuid>,
    people: Vec<Staff>,
    facilities: HashMap<(String, String), Uuid>,
    communes: HashMap<Uuid, String>,
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
    fn holds_for(&self, tx: &WriteTx) -> bool {
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

/// Where lookups run: in the page's transaction, or in a snapshot taken ahead of it.
enum Reader<'a> {
    Page(&'a WriteTx),
    Snapshot(&'a SnapshotTx),
}

impl Reader<'_> {
    async fn identifiers(
        &self,
        entity_type: &str,
        keys: &[(String, String)],
    ) -> Result<HashMap<(String, String), Uuid>, StoreError> {
        match self {
            Self::Page(tx) => tx.lookup_identifiers(entity_type, keys).await,
            Self::Snapshot(s) => s.lookup_identifiers(entity_type, keys).await,
        }
    }

    async fn staff_by_keys(
        &self,
        csids: &[String],
        nids: &[String],
    ) -> Result<Vec<Staff>, StoreError> {
        match self {
            Self::Page(tx) => tx.staff_by_keys(csids, nids).await,
            Self::Snapshot(s) => s.staff_by_keys(csids, nids).await,
        }
    }

    async fn staff_by_ids(&self, ids: &[Uuid]) -> Result<Vec<Staff>, StoreError> {
        match self {
            Self::Page(tx) => tx.staff_by_ids(ids).await,
            Self::Snapshot(s) => s.staff_by_ids(ids).await,
        }
    }

    async fn facility_communes(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, String>, StoreError> {
        match self {
            Self::Page(tx) => tx.facility_communes(ids).await,
            Self::Snapshot(s) => s.facility_communes(ids).await,
        }
    }
}

/// Reads what linking `reports` needs: the records their ids name, and the
/// facilities (and communes) their postings name.
async fn look_up(reader: &Reader<'_>, reports: &[&StaffReport]) -> Result<StaffLookup, StoreError> {
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
    let known_ids = reader.identifiers("staff", &id_keys).await?;
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
        .flat_map(|f| facility_candidates(&f.system, &f.value))
        .collect();
    let facilities = reader.identifiers("facility", &posting_keys).await?;
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
    let lookup = look_up(&Reader::Snapshot(&snapshot), &reports).await?;
    let writers = snapshot.writers();
    snapshot.finish().await?;
    Ok(Some((lookup, writers)))
}

async fn link_staff(
    tx: &WriteTx,
    beside: &mut Beside,
    ministry: Ministry,
    reports: Vec<StaffReport>,
    fetched_at: DateTime<Utc>,
    ahead: Option<LookedAhead>,
    clock: &mut StepClock,
) -> Result<(UpsertCounts, Vec<Staff>), SyncError> {
    if reports.is_empty() {
        return Ok((UpsertCounts::default(), Vec::new()));
    }
    let owns_roll = ministry == Ministry::Mcs;
    let (lookup, previous) = match ahead {
        Some(a) if a.holds_for(tx) => (a.lookup, a.previous.map(|(_, staff)| staff)),
        stale => {
            if stale.is_some() {
                tracing::debug!(%ministry, "another writer committed since the look-ahead; looking up again");
            }
            let refs: Vec<&StaffReport> = reports.iter().collect();
            (look_up(&Reader::Page(tx), &refs).await?, None)
        }
    };
    clock.lap("staff_lookup");
    let StaffLookup {
        mut known_ids,
        people: found,
        facilities,
        communes,
    } = lookup;
    let mut people = People::default();
    for s in found {
        people.put(s);
    }
    // What the page before wrote, over the snapshot taken before it committed.
    for s in previous.into_iter().flatten() {
        for i in &s.identifiers {
            known_ids.insert(key(&i.system, &i.value), s.id);
        }
        people.put(s);
    }

    let mut changed: BTreeSet<Uuid> = BTreeSet::new();
    let mut unmatched: std::collections::HashSet<Uuid> = std::collections::HashSet::new();
    let mut assignments = Vec::new();
    // Which record each report joined (none: a new person without a Khmer name).
    let mut joined: Vec<Option<Uuid>> = Vec::with_capacity(reports.len());
    for r in &reports {
        let existing = r
            .civil_servant_id
            .as_ref()
            .and_then(|c| people.by_civil_servant_id.get(c.as_str()))
            .or_else(|| {
                r.identifiers
                    .iter()
                    .find_map(|i| known_ids.get(&key(&i.system, &i.value)))
            })
            .or_else(|| {
                // Never merge two different civil-servant ids: that is a duplicate to report.
                let nid = r.national_id.as_ref()?;
                people.by_national_id.get(nid.as_str())?.iter().find(|id| {
                    let other = people
                        .by_id
                        .get(id)
                        .and_then(|s| s.civil_servant_id.as_ref());
                    other.is_none()
                        || r.civil_servant_id.is_none()
                        || other == r.civil_servant_id.as_ref()
                })
            })
            .and_then(|id| people.by_id.get(id))
            .cloned();
        let facility_id = r
            .posting
            .as_ref()
            .and_then(|p| p.facility.as_ref())
            .and_then(|f| {
                facility_candidates(&f.system, &f.value)
                    .iter()
                    .find_map(|k| facilities.get(k).copied())
            });
        let serves = r.posting.as_ref().and_then(|p| {
            facility_id
                .and_then(|id| communes.get(&id))
                .and_then(|c| AdminCode::parse(c).ok())
                .or_else(|| p.admin_unit_code.clone())
        });
        // Probable matches are looked for when a record's name or birth date is new:
        // a pair with an older record was found when the later of the two was written.
        let was = existing.as_ref().map(|s| (s.name_km.clone(), s.birth_date));
        let Some(staff) = merge(existing, r, owns_roll, serves, fetched_at) else {
            tracing::warn!(%ministry, source_id = %r.source_id, "a new person without a Khmer name cannot be added");
            joined.push(None);
            continue;
        };
        if let Some(p) = &r.posting
            && (facility_id.is_some() || p.admin_unit_code.is_some())
        {
            assignments.push(Assignment {
                id: stable_id("assignment", ministry, &r.source_id),
                staff_id: staff.id,
                facility_id,
                admin_unit_code: p.admin_unit_code.clone(),
                role: p.role.clone().unwrap_or_default(),
                source: ministry,
                start_date: p.start_date,
                end_date: None,
            });
        }
        if was != Some((staff.name_km.clone(), staff.birth_date)) {
            unmatched.insert(staff.id);
        }
        joined.push(Some(staff.id));
        changed.insert(staff.id);
        people.put(staff);
    }
    let rows: Vec<Staff> = changed
        .iter()
        .filter_map(|id| people.by_id.remove(id))
        .collect();
    clock.lap("merge");
    let ids = rows.clone();
    beside.spawn(move |side| async move {
        side.index_staff_identifiers(&ids).await?;
        let seen: Vec<SourceReportRow> = reports
            .iter()
            .zip(joined)
            .map(|(r, id)| report_row("staff", ministry, &r.source_id, id, r, fetched_at))
            .collect();
        side.put_source_reports(&seen).await
    });
    let counts = tx.upsert_staff_rows(&rows).await?;
    clock.lap("staff_upsert");
    let probe: Vec<&Staff> = rows.iter().filter(|s| unmatched.contains(&s.id)).collect();
    record_probable_matches(tx, &probe).await?;
    clock.lap("probable");
    tx.upsert_assignments(&assignments).await?;
    clock.lap("assignments");
    Ok((counts, rows))
}

/// Pairs the page's records with others of the same Khmer name and birth date that no
/// identifier linked: probable matches, recorded for review, never merged.
async fn record_probable_matches(tx: &WriteTx, rows: &[&Staff]) -> Result<(), StoreError> {
    let keys: Vec<(String, chrono::NaiveDate)> = rows
        .iter()
        .filter_map(|s| Some((s.name_km.to_string(), s.birth_date?.naive())))
        .collect();
    let mut groups: HashMap<(String, chrono::NaiveDate), Vec<Uuid>> = HashMap::new();
    for (id, name, birth) in tx.staff_by_name_and_birth(&keys).await? {
        groups.entry((name, birth)).or_default().push(id);
    }
    let pairs: Vec<(Uuid, Uuid)> = groups
        .values()
        .filter(|ids| ids.len() > 1)
        .flat_map(|ids| {
            ids.iter()
                .enumerate()
                .flat_map(move |(i, a)| ids[i + 1..].iter().map(move |b| (*a, *b)))
        })
        .collect();
    tx.put_probable_matches(
        &pairs,
        "same Khmer name and birth date, no shared identifier",
    )
    .await
}

async fn link_roles(
    tx: &WriteTx,
    beside: &mut Beside,
    ministry: Ministry,
    roles: &[RoleReport],
    fetched_at: DateTime<Utc>,
) -> Result<UpsertCounts, StoreError> {
    if roles.is_empty() {
        return Ok(UpsertCounts::default());
    }
    let people: Vec<(String, String)> = roles
        .iter()
        .map(|r| key("moh:fhir_practitioner", &r.person_source_id))
        .collect();
    let places: Vec<(String, String)> = roles
        .iter()
        .map(|r| key(&r.facility.system, &r.facility.value))
        .collect();
    let staff_ids = tx.lookup_identifiers("staff", &people).await?;
    let facility_ids = tx.lookup_identifiers("facility", &places).await?;
    let mut assignments = Vec::new();
    let mut seen = Vec::with_capacity(roles.len());
    for r in roles {
        let staff_id = staff_ids
            .get(&key("moh:fhir_practitioner", &r.person_source_id))
            .copied();
        let facility_id = facility_ids
            .get(&key(&r.facility.system, &r.facility.value))
            .copied();
        if let (Some(staff_id), Some(facility_id)) = (staff_id, facility_id) {
            let assignment = Assignment {
                id: stable_id("assignment", ministry, &format!("role:{}", r.source_id)),
                staff_id,
                facility_id: Some(facility_id),
                admin_unit_code: None,
                role: r.role.clone().unwrap_or_default(),
                source: ministry,
                start_date: r.start_date,
                end_date: r.end_date.or(if r.active { None } else { r.start_date }),
            };
            if assignment.check().is_ok() {
                assignments.push(assignment);
            }
        }
        seen.push(report_row(
            "role",
            ministry,
            &r.source_id,
            staff_id,
            r,
            fetched_at,
        ));
    }
    beside.spawn(|side| async move { side.put_source_reports(&seen).await });
    tx.upsert_assignments(&assignments).await
}

async fn store_payroll(tx: &WriteTx, entries: &[PayrollEntry]) -> Result<UpsertCounts, StoreError> {
    tx.put_payroll(entries).await
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
