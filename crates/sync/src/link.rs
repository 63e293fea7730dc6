//! How a page from a source joins the registry: the page-writing machinery around the
//! rules of the `matching` crate.
//!
//! - Facilities are linked by any identifier a source gives them (`moh:dhis2`,
//!   `moh:code`, `moeys:school_code`); the MCS roll's `mcs:facility_code` is looked up
//!   as either a DHIS2 code or a school code ([`matching::facility_candidates`]).
//! - Staff are linked by [`matching::match_person`]: civil-servant id, then a source id
//!   seen before, then national id — the last only where it cannot merge two different
//!   civil-servant ids (that is a possible duplicate for reconciliation, never a
//!   merge); where several records fit, the report joins the first.
//! - Field ownership ([`matching::merge`]): MCS owns the civil-service fields (names,
//!   birth date, sex, national id, employer, grade, status); the sector ministries own
//!   where a person serves. Another source fills a field only where the record has
//!   none. What each source said is kept whole in `source_reports`, so disagreements
//!   keep both values.
//! - Ids of new records are derived from the source's id ([`matching::stable_id`]), so
//!   a run resumed after a crash, or run twice, writes the same rows.
//!
//! Here: the page's transaction and what goes beside it ([`beside`]), the lookups a
//! page's staff need, made in its transaction or ahead of it ([`ahead`]), and the
//! timing of each step.

mod ahead;
mod beside;

use std::collections::{BTreeSet, HashSet};

use adapter_core::{Feed, Page, Record};
use chrono::{DateTime, Utc};
use matching::{People, Probe, match_person, merge, stable_id};
use schema::{
    Assignment, Facility, FacilityReport, IdentifierSystem, ManagedBy, Ministry, MinistryCode,
    PayrollEntry, Provenance, RoleReport, Staff, StaffReport,
};
use store::{RawRecord, SourceReportRow, Store, StoreError, UpsertCounts, WriteTx};
use uuid::Uuid;

pub use ahead::{LookedAhead, StaffLookup, look_ahead};

use crate::SyncError;
use ahead::look_up;
use beside::{Beside, StepClock};

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
    let owner = MinistryCode::from(ministry);
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
                linked: None,
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
    let owns_roll = matching::owns_civil_service_fields(ministry);
    let (lookup, previous) = match ahead {
        Some(a) if a.holds_for(tx) => (a.lookup, a.previous.map(|(_, staff)| staff)),
        stale => {
            if stale.is_some() {
                tracing::debug!(%ministry, "another writer committed since the look-ahead; looking up again");
            }
            let refs: Vec<&StaffReport> = reports.iter().collect();
            (look_up(tx, &refs).await?, None)
        }
    };
    clock.lap("staff_lookup");
    let StaffLookup {
        known_ids,
        people: found,
        facilities,
        communes,
    } = lookup;
    let mut people = People::with_identifiers(known_ids);
    for s in found {
        people.put(s);
    }
    // What the page before wrote, over the snapshot taken before it committed.
    for s in previous.into_iter().flatten() {
        people.put_written(s);
    }

    // Reports whose hard key names a person they strongly disagree with, unless a
    // reviewer said the two are one (read only when a page has any).
    let disputed: Vec<String> = reports
        .iter()
        .filter(|r| matched(r, &people).is_some_and(|p| disputes(r, p)))
        .map(|r| r.source_id.clone())
        .collect();
    let trusted = if disputed.is_empty() {
        HashSet::new()
    } else {
        tx.records_decided_same(ministry, &disputed).await?
    };

    let mut changed: BTreeSet<Uuid> = BTreeSet::new();
    // Persons that let an officer id go to the roll's record: written before it.
    let mut released: HashSet<Uuid> = HashSet::new();
    let mut assignments = Vec::new();
    // Which record each report joined (none: a new person without a Khmer name).
    let mut joined: Vec<Option<Uuid>> = Vec::with_capacity(reports.len());
    for report in &reports {
        // Several records may fit (one national id): the report joins the first.
        let mut existing = matched(report, &people).cloned();
        let mut unkeyed = None;
        if let Some(p) =
            existing.take_if(|p| disputes(report, p) && !trusted.contains(&report.source_id))
        {
            if owns_roll && !p.sources.iter().any(|s| s.ministry == Ministry::Mcs) {
                // The roll's record keeps its officer id: a sector record that named
                // it first lets it go (the matching pass scores the two).
                let mut p = p;
                release_hard_keys(&mut p, report);
                released.insert(p.id);
                changed.insert(p.id);
                people.put(p);
            } else {
                // Not joined: the record stands as a person of its own, without the
                // id (it names another person), found again by its own source ids.
                let own = matching::trust::without_hard_keys(&report.identifiers);
                let probe = Probe {
                    civil_servant_id: None,
                    national_id: None,
                    identifiers: &own,
                };
                existing = match_person(&probe, &people)
                    .first()
                    .and_then(|id| people.get(&id))
                    .filter(|s| s.civil_servant_id.is_none())
                    .cloned();
                unkeyed = Some(StaffReport {
                    civil_servant_id: None,
                    national_id: None,
                    identifiers: own,
                    ..report.clone()
                });
            }
            tracing::debug!(%ministry, source_id = %report.source_id, "hard key not trusted: name and birth date disagree");
        }
        let r = unkeyed.as_ref().unwrap_or(report);
        let (facility_id, serves) = match &r.posting {
            Some(p) => matching::place_posting(p, &facilities, &communes),
            None => (None, None),
        };
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
        joined.push(Some(staff.id));
        changed.insert(staff.id);
        people.put(staff);
    }
    let rows: Vec<Staff> = changed.iter().filter_map(|id| people.remove(id)).collect();
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
    // A person that let an officer id go is written first: the id is unique.
    let (first, rest): (Vec<Staff>, Vec<Staff>) =
        rows.into_iter().partition(|s| released.contains(&s.id));
    // Counted as the page's records are: by the reports that joined them.
    tx.upsert_staff_rows(&first).await?;
    let counts = tx.upsert_staff_rows(&rest).await?;
    let rows: Vec<Staff> = first.into_iter().chain(rest).collect();
    clock.lap("staff_upsert");
    tx.upsert_assignments(&assignments).await?;
    clock.lap("assignments");
    Ok((counts, rows))
}

/// The person a report's ids name (the first of several).
fn matched<'a>(r: &StaffReport, people: &'a People) -> Option<&'a Staff> {
    match_person(&Probe::of_report(r), people)
        .first()
        .and_then(|id| people.get(&id))
}

/// Whether `r`'s hard key names person `p` while its name and birth date strongly
/// disagree with the person's — unless `p` is this very record's person (a roll record
/// whose officer changed name and date is still that officer).
fn disputes(r: &StaffReport, p: &Staff) -> bool {
    !p.sources
        .iter()
        .any(|s| s.ministry == r.source && s.source_id == r.source_id)
        && matching::trust::disputes_hard_key(r, p)
}

/// Takes the roll record's officer id (and its identifier) off person `p`.
fn release_hard_keys(p: &mut Staff, roll: &StaffReport) {
    if let Some(csid) = &roll.civil_servant_id
        && p.civil_servant_id.as_ref() == Some(csid)
    {
        p.civil_servant_id = None;
        p.identifiers
            .retain(|i| !(i.is(IdentifierSystem::McsOfficerId) && i.value == csid.as_str()));
    }
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
    // A role names its person by the same source's Practitioner id.
    let practitioner = IdentifierSystem::MohFhirPractitioner.as_str();
    let people: Vec<(String, String)> = roles
        .iter()
        .map(|r| key(practitioner, &r.person_source_id))
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
            .get(&key(practitioner, &r.person_source_id))
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
