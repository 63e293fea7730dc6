//! Persons made of source records: two persons merged into one, a record detached
//! into a person of its own, and a person rebuilt from what its sources said (with
//! `matching::merge`'s field ownership), so a person is always what its records say.
//! Every function here runs inside the caller's versioned transaction.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use schema::{IdentifierSystem, LinkedBy, Ministry, Staff, StaffReport};
use tokio_postgres::types::Json;
use uuid::Uuid;

use crate::StoreError;
use crate::bulk::write;

/// A source record of a person: its ministry and its id there.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordKey {
    pub ministry: Ministry,
    pub source_id: String,
}

impl RecordKey {
    pub fn new(ministry: Ministry, source_id: impl Into<String>) -> Self {
        Self {
            ministry,
            source_id: source_id.into(),
        }
    }

    /// The order pairs are stored in: by the ministry's name, then the source id.
    pub(crate) fn sort_key(&self) -> (&str, &str) {
        (self.ministry.as_str(), self.source_id.as_str())
    }
}

/// Two records in the order a pair stores them.
pub(crate) fn canonical(a: RecordKey, b: RecordKey) -> (RecordKey, RecordKey) {
    if a.sort_key() <= b.sort_key() {
        (a, b)
    } else {
        (b, a)
    }
}

/// The id of the pair of two records (in canonical order): the same on every run.
pub(crate) fn pair_id(left: &RecordKey, right: &RecordKey) -> Uuid {
    matching::stable_id(
        "match",
        left.ministry,
        &format!("{}|{}:{}", left.source_id, right.ministry, right.source_id),
    )
}

/// The person holding a source record now, if any.
pub(crate) async fn holder(
    client: &impl GenericClient,
    key: &RecordKey,
) -> Result<Option<Uuid>, StoreError> {
    let row = client
        .query_opt(
            "SELECT entity_id FROM source_reports
             WHERE entity_type = 'staff' AND ministry = $1 AND source_id = $2",
            &[&key.ministry.as_str(), &key.source_id],
        )
        .await?;
    Ok(row.and_then(|r| r.get(0)))
}

/// The source records a person holds.
pub(crate) async fn records_of(
    client: &impl GenericClient,
    person: Uuid,
) -> Result<Vec<RecordKey>, StoreError> {
    let rows = client
        .query(
            "SELECT ministry, source_id FROM source_reports
             WHERE entity_type = 'staff' AND entity_id = $1 ORDER BY ministry, source_id",
            &[&person],
        )
        .await?;
    rows.iter()
        .map(|r| {
            let m: String = r.get(0);
            let ministry =
                Ministry::parse(&m).map_err(|e| StoreError::corrupt("source_reports", &m, e))?;
            Ok(RecordKey::new(ministry, r.get::<_, String>(1)))
        })
        .collect()
}

/// How each record of these persons was linked, as their rows' sources say.
async fn links_of(
    client: &impl GenericClient,
    persons: &[Uuid],
) -> Result<HashMap<RecordKey, LinkedBy>, StoreError> {
    let rows = client
        .query("SELECT sources FROM staff WHERE id = ANY($1)", &[&persons])
        .await?;
    let mut links = HashMap::new();
    for r in rows {
        let Json(sources): Json<Vec<schema::Provenance>> = r
            .try_get(0)
            .map_err(|e| StoreError::corrupt("staff", "sources", e))?;
        for p in sources {
            if let Some(l) = p.linked {
                links.insert(RecordKey::new(p.ministry, p.source_id), l);
            }
        }
    }
    Ok(links)
}

/// Which of two persons a merge keeps: the one on the roll (holding a civil-servant
/// id, which is unique), else the one with more records, else the lower id.
pub(crate) async fn keeper(
    client: &impl GenericClient,
    a: Uuid,
    b: Uuid,
) -> Result<(Uuid, Uuid), StoreError> {
    let rows = client
        .query(
            "SELECT s.id, s.civil_servant_id IS NOT NULL,
                 (SELECT count(*) FROM source_reports r
                  WHERE r.entity_type = 'staff' AND r.entity_id = s.id)
             FROM staff s WHERE s.id = ANY($1)",
            &[&vec![a, b]],
        )
        .await?;
    let rank = |id: Uuid| {
        rows.iter()
            .find(|r| r.get::<_, Uuid>(0) == id)
            .map(|r| (r.get::<_, bool>(1), r.get::<_, i64>(2)))
            .unwrap_or((false, 0))
    };
    let (ra, rb) = (rank(a), rank(b));
    if ra > rb || (ra == rb && a < b) {
        Ok((a, b))
    } else {
        Ok((b, a))
    }
}

/// Merges person `absorbed` into `kept`: its source records, identifiers and
/// assignments move, its open findings name the kept person (the next pass judges
/// them again), its row goes, and the kept person is rebuilt from all its records.
/// `linked` says how the absorbed records were joined (by score, by a reviewer).
pub(crate) async fn merge_persons(
    client: &impl GenericClient,
    kept: Uuid,
    absorbed: Uuid,
    linked: &HashMap<RecordKey, LinkedBy>,
) -> Result<(), StoreError> {
    if kept == absorbed {
        return Ok(());
    }
    let mut links = links_of(client, &[kept, absorbed]).await?;
    let moved = records_of(client, absorbed).await?;
    for key in &moved {
        if let Some(l) = linked.get(key) {
            links.insert(key.clone(), l.clone());
        }
    }
    for sql in [
        "UPDATE source_identifiers SET entity_id = $1
         WHERE entity_type = 'staff' AND entity_id = $2",
        "UPDATE source_reports SET entity_id = $1, version = nextval('record_version')
         WHERE entity_type IN ('staff', 'role') AND entity_id = $2",
        "UPDATE assignments SET staff_id = $1, version = nextval('record_version'), updated_at = now()
         WHERE staff_id = $2",
        "UPDATE discrepancies SET staff_ids = array_replace(staff_ids, $2, $1)
         WHERE $2 = ANY (staff_ids)",
        // The absorbed row's civil-servant id would clash with the rebuilt one's.
        "DELETE FROM staff WHERE id = $2 AND id <> $1",
    ] {
        client.execute(sql, &[&kept, &absorbed]).await?;
    }
    rebuild(client, kept, &links).await?;
    Ok(())
}

/// Detaches record `key` from `person` into a person of its own (its id derived from
/// the record), moving what came with it (its assignments, its roles' assignments, its
/// identifiers); both are rebuilt from their records. Returns the new person's id.
pub(crate) async fn detach(
    client: &impl GenericClient,
    person: Uuid,
    key: &RecordKey,
) -> Result<Uuid, StoreError> {
    let mut new_id = matching::stable_id("staff", key.ministry, &key.source_id);
    if new_id == person {
        // The record founded the person: its own id is taken by those who stay.
        new_id = matching::stable_id("staff-split", key.ministry, &key.source_id);
    }
    let mut links = links_of(client, &[person]).await?;
    // A detached record is joined to nobody.
    links.remove(key);
    let m = key.ministry.as_str();
    client
        .execute(
            "UPDATE source_reports SET entity_id = $1, version = nextval('record_version')
             WHERE entity_type = 'staff' AND ministry = $2 AND source_id = $3",
            &[&new_id, &m, &key.source_id],
        )
        .await?;
    // Its roles (a FHIR PractitionerRole names its Practitioner) go with it.
    let roles: Vec<String> = client
        .query(
            "UPDATE source_reports SET entity_id = $1, version = nextval('record_version')
             WHERE entity_type = 'role' AND ministry = $2 AND entity_id = $4
               AND report->>'person_source_id' = $3
             RETURNING source_id",
            &[&new_id, &m, &key.source_id, &person],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    // The new person first (its row before its assignments): the one left keeps, on
    // rebuilding, every identifier it still reports (the two may share one).
    rebuild(client, new_id, &HashMap::new()).await?;
    let mut assignments = vec![matching::stable_id(
        "assignment",
        key.ministry,
        &key.source_id,
    )];
    assignments.extend(
        roles
            .iter()
            .map(|r| matching::stable_id("assignment", key.ministry, &format!("role:{r}"))),
    );
    client
        .execute(
            "UPDATE assignments SET staff_id = $1, version = nextval('record_version'), updated_at = now()
             WHERE id = ANY($2) AND staff_id = $3",
            &[&new_id, &assignments, &person],
        )
        .await?;
    rebuild(client, person, &links).await?;
    // Identifiers only the detached record had.
    client
        .execute(
            "UPDATE source_identifiers si SET entity_id = $1
             FROM source_reports r, jsonb_to_recordset(r.report->'identifiers') AS i(system text, value text)
             WHERE r.entity_type = 'staff' AND r.ministry = $2 AND r.source_id = $3
               AND si.entity_type = 'staff' AND si.system = i.system AND si.value = i.value
               AND si.entity_id = $4
               AND NOT EXISTS (
                   SELECT 1 FROM source_reports o, jsonb_to_recordset(o.report->'identifiers') AS j(system text, value text)
                   WHERE o.entity_type = 'staff' AND o.entity_id = $4
                     AND j.system = i.system AND j.value = i.value)",
            &[&new_id, &m, &key.source_id, &person],
        )
        .await?;
    Ok(new_id)
}

/// Rebuilds person `id` from every staff report it holds: the roll's first (it owns
/// the civil-service fields), then the others in a fixed order. A civil-servant id
/// another person holds is left out (with its identifier): one id is one person.
/// Writes the row (and indexes its identifiers); none when it holds no report.
pub(crate) async fn rebuild(
    client: &impl GenericClient,
    id: Uuid,
    links: &HashMap<RecordKey, LinkedBy>,
) -> Result<Option<Staff>, StoreError> {
    let rows = client
        .query(
            "SELECT report, fetched_at FROM source_reports
             WHERE entity_type = 'staff' AND entity_id = $1
             ORDER BY ministry <> 'mcs', ministry, source_id",
            &[&id],
        )
        .await?;
    let mut reports = Vec::with_capacity(rows.len());
    for r in &rows {
        let Json(report): Json<StaffReport> = r
            .try_get(0)
            .map_err(|e| StoreError::corrupt("source_reports", id, e))?;
        reports.push((report, r.get::<_, DateTime<Utc>>(1)));
    }
    let keys: Vec<(String, String)> = reports
        .iter()
        .filter_map(|(r, _)| r.posting.as_ref()?.facility.as_ref())
        .flat_map(matching::facility_candidates)
        .collect();
    let (facilities, communes) = facility_lookups(client, &keys).await?;
    let mut staff: Option<Staff> = None;
    for (r, fetched_at) in &reports {
        let serves = r
            .posting
            .as_ref()
            .and_then(|p| matching::place_posting(p, &facilities, &communes).1);
        let owns = matching::owns_civil_service_fields(r.source);
        staff = matching::merge(staff, r, owns, serves, *fetched_at);
    }
    let Some(mut s) = staff else {
        return Ok(None);
    };
    s.id = id;
    for p in &mut s.sources {
        p.linked = links
            .get(&RecordKey::new(p.ministry, p.source_id.clone()))
            .cloned();
    }
    if let Some(csid) = &s.civil_servant_id {
        let taken = client
            .query_opt(
                "SELECT 1 FROM staff WHERE civil_servant_id = $1 AND id <> $2",
                &[&csid.as_str(), &id],
            )
            .await?
            .is_some();
        if taken {
            let value = csid.to_string();
            s.civil_servant_id = None;
            s.identifiers
                .retain(|i| !(i.is(IdentifierSystem::McsOfficerId) && i.value == value));
        }
    }
    write::staff(client, std::slice::from_ref(&s), true).await?;
    Ok(Some(s))
}

/// The facilities the given identifier keys name, and those facilities' communes.
async fn facility_lookups(
    client: &impl GenericClient,
    keys: &[(String, String)],
) -> Result<(HashMap<(String, String), Uuid>, HashMap<Uuid, String>), StoreError> {
    if keys.is_empty() {
        return Ok((HashMap::new(), HashMap::new()));
    }
    let systems: Vec<&str> = keys.iter().map(|k| k.0.as_str()).collect();
    let values: Vec<&str> = keys.iter().map(|k| k.1.as_str()).collect();
    let rows = client
        .query(
            "SELECT k.system, k.value, si.entity_id, f.admin_unit_code
             FROM unnest($1::text[], $2::text[]) AS k(system, value)
             JOIN source_identifiers si
               ON si.entity_type = 'facility' AND si.system = k.system AND si.value = k.value
             LEFT JOIN facilities f ON f.id = si.entity_id",
            &[&systems, &values],
        )
        .await?;
    let mut facilities = HashMap::new();
    let mut communes = HashMap::new();
    for r in rows {
        let id: Uuid = r.get(2);
        facilities.insert((r.get(0), r.get(1)), id);
        if let Some(c) = r.get::<_, Option<String>>(3) {
            communes.insert(id, c);
        }
    }
    Ok((facilities, communes))
}
