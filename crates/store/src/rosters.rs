//! Rosters from service sites: stored append-only, each entry linked to a staff record
//! where one can be found, and followed by the discrepancy pass of that facility in the
//! same transaction (so a roster never lands without its findings).
//!
//! Linking follows the sync engine's rule ([`matching::match_roster_entry`]):
//! civil-servant id first; then national id, but never onto a record with a different
//! civil-servant id; then, for an entry its ids do not place, the person the ministries
//! place at this facility under that Khmer name (and sex, when given). An id is not
//! trusted when the name of the person it names does not agree with the entry's (a
//! mistyped id landing on another officer): the entry is then looked for by name at
//! the facility. Only a single fit links: anything else stays unlinked, an unknown
//! person.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use matching::{RegistryKeys, SitePeople, match_roster_entry};
use schema::{CivilServantId, Name, NationalId, Period, RosterEntry, RosterSubmission, Sex};
use tokio_postgres::Row;
use uuid::Uuid;

use crate::reconcile::{PassScope, PassSummary, run_pass};
use crate::{Store, StoreError};

/// A roster to store.
#[derive(Debug, Clone)]
pub struct NewRoster<'a> {
    pub facility_id: Uuid,
    pub submission: &'a RosterSubmission,
    /// The token's `sub`.
    pub client: &'a str,
    pub idempotency_key: Option<&'a str>,
    /// A hash of what was submitted: a reused key must come with the same request.
    pub request_hash: &'a str,
}

/// How an entry was linked to a staff record (stored by its name in `linked_by`).
pub use matching::MatchedBy as LinkedBy;

#[derive(Debug, Clone)]
pub struct StoredEntry {
    pub index: usize,
    pub entry: RosterEntry,
    pub staff_id: Option<Uuid>,
    pub linked_by: Option<LinkedBy>,
}

#[derive(Debug, Clone)]
pub struct StoredRoster {
    pub id: Uuid,
    pub facility_id: Uuid,
    pub period: Period,
    pub submitted_at: DateTime<Utc>,
    pub client: String,
    /// The roster for the same facility and month this one replaced.
    pub supersedes: Option<Uuid>,
    /// The later roster that replaced this one.
    pub superseded_by: Option<Uuid>,
    /// Entries, with how many were present; filled on single reads and submissions.
    pub entries: Vec<StoredEntry>,
    pub counts: EntryCounts,
    /// What the submission's discrepancy pass did.
    pub pass: Option<PassSummary>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct EntryCounts {
    pub entries: u64,
    pub present: u64,
    pub linked: u64,
}

/// What a submission came to.
#[derive(Debug, Clone)]
pub enum RosterOutcome {
    /// Stored now; the facility's discrepancies were recomputed (`pass`).
    Created(StoredRoster),
    /// The same idempotency key and request were stored before: that roster.
    Replayed(StoredRoster),
    /// The idempotency key was used before for a different request.
    KeyReused,
}

const ROSTER_COLUMNS: &str = "r.id, r.facility_id, r.period, r.submitted_at, r.client,
    (SELECT p.id FROM rosters p WHERE p.facility_id = r.facility_id AND p.period = r.period
        AND p.seq < r.seq ORDER BY p.seq DESC LIMIT 1),
    (SELECT n.id FROM rosters n WHERE n.facility_id = r.facility_id AND n.period = r.period
        AND n.seq > r.seq ORDER BY n.seq LIMIT 1),
    (SELECT count(*) FROM roster_entries e WHERE e.roster_id = r.id),
    (SELECT count(*) FROM roster_entries e WHERE e.roster_id = r.id AND e.present),
    (SELECT count(*) FROM roster_entries e WHERE e.roster_id = r.id AND e.staff_id IS NOT NULL),
    r.seq, pp.open, pp.opened, pp.resolved, pp.took_ms";

/// The rosters with what their discrepancy pass did.
const ROSTERS: &str = "rosters r LEFT JOIN roster_passes pp ON pp.roster_id = r.id";

impl Store {
    /// Stores a roster (or finds the one an idempotency key already stored), links
    /// its entries, and recomputes the facility's roster-driven discrepancies.
    pub async fn submit_roster(&self, new: NewRoster<'_>) -> Result<RosterOutcome, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        if let Some(key) = new.idempotency_key
            && let Some(outcome) = replay(&tx, new.client, key, new.request_hash).await?
        {
            return Ok(outcome);
        }
        let links = link_entries(&tx, new.facility_id, &new.submission.entries).await?;
        let id = Uuid::new_v4();
        let inserted = tx
            .execute(
                "INSERT INTO rosters (id, facility_id, period, client, idempotency_key, request_hash)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (client, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING",
                &[
                    &id,
                    &new.facility_id,
                    &new.submission.period.to_string(),
                    &new.client,
                    &new.idempotency_key,
                    &new.request_hash,
                ],
            )
            .await?;
        if inserted == 0 {
            // The same key raced in from a retry: answer with what it stored.
            drop(tx);
            let tx = client.transaction().await?;
            let key = new.idempotency_key.unwrap_or_default();
            return replay(&tx, new.client, key, new.request_hash)
                .await?
                .ok_or_else(|| StoreError::corrupt("rosters", key, "idempotency key vanished"));
        }
        insert_entries(&tx, id, &new.submission.entries, &links).await?;
        let pass = run_pass(&tx, PassScope::Facility(new.facility_id)).await?;
        tx.execute(
            "INSERT INTO roster_passes (roster_id, open, opened, resolved, took_ms)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &id,
                &(pass.open as i64),
                &(pass.opened as i64),
                &(pass.resolved as i64),
                &(pass.millis as i64),
            ],
        )
        .await?;
        let roster = load(&*tx, id)
            .await?
            .ok_or_else(|| StoreError::corrupt("rosters", id, "not readable after insert"))?;
        tx.commit().await?;
        Ok(RosterOutcome::Created(roster))
    }

    /// One roster with its entries.
    pub async fn get_roster(&self, id: Uuid) -> Result<Option<StoredRoster>, StoreError> {
        let client = self.client().await?;
        load(&**client, id).await
    }

    /// A facility's rosters, newest first, without entries.
    pub async fn list_rosters(
        &self,
        facility_id: Uuid,
        period: Option<Period>,
        before_seq: Option<i64>,
        limit: usize,
    ) -> Result<crate::Page<StoredRoster, i64>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {ROSTER_COLUMNS} FROM {ROSTERS}
                     WHERE r.facility_id = $1 AND ($2::text IS NULL OR r.period = $2)
                       AND ($3::bigint IS NULL OR r.seq < $3)
                     ORDER BY r.seq DESC LIMIT $4"
                ),
                &[
                    &facility_id,
                    &period.map(|p| p.to_string()),
                    &before_seq,
                    &((limit + 1) as i64),
                ],
            )
            .await?;
        let mut items = Vec::with_capacity(rows.len());
        let mut seqs = Vec::with_capacity(rows.len());
        for row in &rows {
            seqs.push(row.get::<_, i64>(10));
            items.push(roster_of(row)?);
        }
        let next_after = if items.len() > limit {
            items.truncate(limit);
            seqs.get(limit - 1).copied()
        } else {
            None
        };
        Ok(crate::Page { items, next_after })
    }
}

async fn replay(
    tx: &tokio_postgres::Transaction<'_>,
    client: &str,
    key: &str,
    request_hash: &str,
) -> Result<Option<RosterOutcome>, StoreError> {
    let Some(row) = tx
        .query_opt(
            "SELECT id, request_hash FROM rosters WHERE client = $1 AND idempotency_key = $2",
            &[&client, &key],
        )
        .await?
    else {
        return Ok(None);
    };
    let (id, hash): (Uuid, String) = (row.get(0), row.get(1));
    if hash != request_hash {
        return Ok(Some(RosterOutcome::KeyReused));
    }
    let roster = load(tx, id)
        .await?
        .ok_or_else(|| StoreError::corrupt("rosters", id, "idempotent roster unreadable"))?;
    Ok(Some(RosterOutcome::Replayed(roster)))
}

/// Links each entry to a staff record (see the module docs for the rules).
async fn link_entries(
    tx: &tokio_postgres::Transaction<'_>,
    facility_id: Uuid,
    entries: &[RosterEntry],
) -> Result<Vec<Option<(Uuid, LinkedBy)>>, StoreError> {
    let csids: Vec<String> = entries
        .iter()
        .filter_map(|e| e.civil_servant_id.as_ref().map(ToString::to_string))
        .collect();
    let nids: Vec<String> = entries
        .iter()
        .filter_map(|e| e.national_id.as_ref().map(ToString::to_string))
        .collect();
    let mut keys = RegistryKeys::default();
    // The names of the people the ids name: an id is trusted only where the names agree.
    let mut names: HashMap<Uuid, (String, Option<String>)> = HashMap::new();
    for r in tx
        .query(
            "SELECT civil_servant_id, id, name_km, name_latin FROM staff
             WHERE civil_servant_id = ANY($1)",
            &[&csids],
        )
        .await?
    {
        keys.add_civil_servant_id(r.get(0), r.get(1));
        names.insert(r.get(1), (r.get(2), r.get(3)));
    }
    for r in tx
        .query(
            "SELECT national_id, id, civil_servant_id, name_km, name_latin FROM staff
             WHERE national_id = ANY($1)",
            &[&nids],
        )
        .await?
    {
        keys.add_national_id(r.get(0), r.get(1), r.get(2));
        names.insert(r.get(1), (r.get(3), r.get(4)));
    }
    // Everyone the ministries place at this facility, by Khmer name.
    let mut here = SitePeople::default();
    for r in tx
        .query(
            "SELECT DISTINCT s.id, s.name_km, s.sex FROM assignments a
             JOIN staff s ON s.id = a.staff_id
             WHERE a.facility_id = $1 AND a.end_date IS NULL",
            &[&facility_id],
        )
        .await?
    {
        let (id, name): (Uuid, String) = (r.get(0), r.get(1));
        let sex = r
            .get::<_, Option<String>>(2)
            .map(|s| Sex::parse_name(&s))
            .transpose()
            .map_err(|e| StoreError::corrupt("staff", id, e))?;
        here.add(id, &name, sex);
    }
    // A link says the person was present at this site: only a single fit links. An id
    // whose person's name does not agree with the entry's (a mistyped id landing on
    // another officer) is not trusted, as in a sync: the entry is looked for by its
    // name among the site's people instead.
    Ok(entries
        .iter()
        .map(|e| {
            let found = match_roster_entry(e, &keys, &here).one();
            let disputed = found.is_some_and(|(id, by)| {
                matches!(by, LinkedBy::CivilServantId | LinkedBy::NationalId)
                    && names.get(&id).is_some_and(|(km, latin)| {
                        !matching::trust::names_agree(
                            (e.name_km.as_ref().map(|n| n.as_str()), Some(km.as_str())),
                            (e.name_latin.as_ref().map(|n| n.as_str()), latin.as_deref()),
                        )
                    })
            });
            if disputed {
                e.name_km.as_ref().and_then(|n| here.named(n, e.sex).one())
            } else {
                found
            }
        })
        .collect())
}

async fn insert_entries(
    tx: &tokio_postgres::Transaction<'_>,
    roster_id: Uuid,
    entries: &[RosterEntry],
    links: &[Option<(Uuid, LinkedBy)>],
) -> Result<(), StoreError> {
    let text = |f: &dyn Fn(&RosterEntry) -> Option<String>| -> Vec<Option<String>> {
        entries.iter().map(f).collect()
    };
    let idx: Vec<i32> = (0..entries.len() as i32).collect();
    let csid = text(&|e| e.civil_servant_id.as_ref().map(ToString::to_string));
    let nid = text(&|e| e.national_id.as_ref().map(ToString::to_string));
    let name_km = text(&|e| e.name_km.as_ref().map(ToString::to_string));
    let name_latin = text(&|e| e.name_latin.as_ref().map(ToString::to_string));
    let sex = text(&|e| e.sex.map(|s| s.as_str().to_owned()));
    let role = text(&|e| e.role.clone());
    let note = text(&|e| e.note.clone());
    let present: Vec<bool> = entries.iter().map(|e| e.present).collect();
    let staff: Vec<Option<Uuid>> = links.iter().map(|l| l.map(|(id, _)| id)).collect();
    let linked_by: Vec<Option<&str>> = links.iter().map(|l| l.map(|(_, by)| by.as_str())).collect();
    tx.execute(
        "INSERT INTO roster_entries (roster_id, idx, civil_servant_id, national_id, name_km,
             name_latin, sex, role, present, note, staff_id, linked_by)
         SELECT $1, * FROM unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::text[],
             $7::text[], $8::text[], $9::bool[], $10::text[], $11::uuid[], $12::text[])",
        &[
            &roster_id,
            &idx,
            &csid,
            &nid,
            &name_km,
            &name_latin,
            &sex,
            &role,
            &present,
            &note,
            &staff,
            &linked_by,
        ],
    )
    .await?;
    Ok(())
}

async fn load(
    client: &impl tokio_postgres::GenericClient,
    id: Uuid,
) -> Result<Option<StoredRoster>, StoreError> {
    let Some(row) = client
        .query_opt(
            &format!("SELECT {ROSTER_COLUMNS} FROM {ROSTERS} WHERE r.id = $1"),
            &[&id],
        )
        .await?
    else {
        return Ok(None);
    };
    let mut roster = roster_of(&row)?;
    let rows = client
        .query(
            "SELECT idx, civil_servant_id, national_id, name_km, name_latin, sex, role, present,
                    note, staff_id, linked_by
             FROM roster_entries WHERE roster_id = $1 ORDER BY idx",
            &[&id],
        )
        .await?;
    roster.entries = rows
        .iter()
        .map(|r| entry_of(id, r))
        .collect::<Result<_, _>>()?;
    Ok(Some(roster))
}

fn roster_of(row: &Row) -> Result<StoredRoster, StoreError> {
    let id: Uuid = row.get(0);
    let period: String = row.get(2);
    Ok(StoredRoster {
        id,
        facility_id: row.get(1),
        period: Period::parse(&period).map_err(|e| StoreError::corrupt("rosters", id, e))?,
        submitted_at: row.get(3),
        client: row.get(4),
        supersedes: row.get(5),
        superseded_by: row.get(6),
        entries: Vec::new(),
        pass: row.get::<_, Option<i64>>(11).map(|open| PassSummary {
            open: open as u64,
            opened: row.get::<_, i64>(12) as u64,
            resolved: row.get::<_, i64>(13) as u64,
            millis: row.get::<_, i64>(14) as u64,
            people: None,
        }),
        counts: EntryCounts {
            entries: row.get::<_, i64>(7) as u64,
            present: row.get::<_, i64>(8) as u64,
            linked: row.get::<_, i64>(9) as u64,
        },
    })
}

fn entry_of(roster: Uuid, r: &Row) -> Result<StoredEntry, StoreError> {
    let bad = |e: schema::ParseError| StoreError::corrupt("roster_entries", roster, e);
    let opt = |i: usize| r.get::<_, Option<String>>(i);
    Ok(StoredEntry {
        index: r.get::<_, i32>(0) as usize,
        entry: RosterEntry {
            civil_servant_id: opt(1)
                .map(|v| CivilServantId::parse(&v))
                .transpose()
                .map_err(bad)?,
            national_id: opt(2)
                .map(|v| NationalId::parse(&v))
                .transpose()
                .map_err(bad)?,
            name_km: opt(3).map(|v| Name::parse(&v)).transpose().map_err(bad)?,
            name_latin: opt(4).map(|v| Name::parse(&v)).transpose().map_err(bad)?,
            sex: opt(5).map(|v| Sex::parse(&v)).transpose().map_err(bad)?,
            role: opt(6),
            present: r.get(7),
            note: opt(8),
        },
        staff_id: r.get(9),
        linked_by: opt(10).as_deref().and_then(LinkedBy::from_name),
    })
}
