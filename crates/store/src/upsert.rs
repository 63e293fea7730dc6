//! Bulk writes: one statement, one round trip, per batch.
//!
//! Each upsert sends the batch as column arrays and `unnest`s them on the server. A
//! row whose content is unchanged is left alone (its `version` and `updated_at` stay);
//! a changed row takes the next `record_version`. Source identifiers are indexed in
//! `source_identifiers` by the same statement.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use schema::{AdminUnit, Assignment, Facility, Ministry, Staff, text};
use serde_json::Value;
use tokio_postgres::types::Json;
use uuid::Uuid;

use deadpool_postgres::GenericClient;

use crate::{SourceReportRow, Store, StoreError, storable};

/// What a bulk upsert did to the rows it was given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UpsertCounts {
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
}

impl UpsertCounts {
    pub(crate) fn from_row(row: &tokio_postgres::Row, total: usize) -> Self {
        let inserted = u64::try_from(row.get::<_, i64>(0)).unwrap_or(0);
        let updated = u64::try_from(row.get::<_, i64>(1)).unwrap_or(0);
        let total = total as u64;
        Self {
            inserted,
            updated,
            unchanged: total.saturating_sub(inserted + updated),
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

/// A record as a source sent it, kept whether it was valid or not.
#[derive(Debug, Clone)]
pub struct RawRecord {
    pub ministry: Ministry,
    /// What kind of record the source sent (`officer`, `organisation_unit`, ...).
    pub record_type: String,
    /// The source's id for it, when the record had a readable one.
    pub source_id: Option<String>,
    pub payload: Value,
    pub fetched_at: DateTime<Utc>,
    /// Why the record was rejected (each problem's field, rule and value); none for a
    /// valid record.
    pub rejection: Option<Vec<schema::ParseError>>,
    /// The place the record names, when it reads as a gazetteer code: who may see the
    /// rejection (see [`Store::list_rejections`]).
    pub place: Option<schema::AdminCode>,
    /// The sync run that received it.
    pub run_id: Option<i64>,
}

/// A rejection's reason anyone may read: each problem's field and rule, no value.
fn value_free_reason(problems: &[schema::ParseError]) -> String {
    let parts: Vec<String> = problems
        .iter()
        .map(|p| storable::text(&p.to_string()).into_owned())
        .collect();
    if parts.is_empty() {
        "unreadable record".to_owned()
    } else {
        parts.join("; ")
    }
}

/// Problems as jsonb takes them: a NUL in any of their texts stood in for.
fn storable_problems(problems: &[schema::ParseError]) -> Vec<schema::ParseError> {
    problems
        .iter()
        .map(|p| schema::ParseError {
            what: storable::text(&p.what).into_owned(),
            reason: storable::text(&p.reason).into_owned(),
            value: p.value.as_deref().map(|v| storable::text(v).into_owned()),
        })
        .collect()
}

/// Keeps the last of each key: a batch may carry the same record twice (a source
/// that serves a page twice), and one statement may not touch a row twice.
fn last_of_each<T, K: std::hash::Hash + Eq>(rows: &[T], key: impl Fn(&T) -> K) -> Vec<&T> {
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

const COUNT_UPSERTED: &str =
    "SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM upserted";

fn opt_str<T: ToString>(v: Option<&T>) -> Option<String> {
    v.map(ToString::to_string)
}

pub(crate) mod write {
    use super::*;

    pub(crate) async fn admin_units(
        client: &impl GenericClient,
        units: &[AdminUnit],
    ) -> Result<UpsertCounts, StoreError> {
        let units = last_of_each(units, |u| u.code.clone());
        if units.is_empty() {
            return Ok(UpsertCounts::default());
        }
        let code: Vec<&str> = units.iter().map(|u| u.code.as_str()).collect();
        let level: Vec<&str> = units.iter().map(|u| u.level.as_str()).collect();
        let kind: Vec<&str> = units.iter().map(|u| u.kind.as_str()).collect();
        let name_km: Vec<&str> = units.iter().map(|u| u.name_km.as_str()).collect();
        let name_latin: Vec<Option<&str>> = units
            .iter()
            .map(|u| u.name_latin.as_ref().map(|n| n.as_str()))
            .collect();
        let parent: Vec<Option<&str>> = units
            .iter()
            .map(|u| u.parent_code.as_ref().map(|c| c.as_str()))
            .collect();
        let sources: Vec<Json<&Vec<schema::Provenance>>> =
            units.iter().map(|u| Json(&u.sources)).collect();
        let search: Vec<String> = units
            .iter()
            .map(|u| {
                search_key(&[
                    u.name_km.as_str(),
                    opt_as_str(&u.name_latin),
                    u.code.as_str(),
                ])
            })
            .collect();
        let sql = format!(
            "WITH input AS (
                SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[], $8::text[])
                  AS t(code, level, kind, name_km, name_latin, parent_code, sources, search)
            ), upserted AS (
                INSERT INTO admin_units AS u (code, level, kind, name_km, name_latin, parent_code, sources, search)
                SELECT * FROM input
                ON CONFLICT (code) DO UPDATE SET
                    level = EXCLUDED.level, kind = EXCLUDED.kind, name_km = EXCLUDED.name_km,
                    name_latin = EXCLUDED.name_latin, parent_code = EXCLUDED.parent_code,
                    sources = EXCLUDED.sources, search = EXCLUDED.search,
                    updated_at = now(), version = nextval('record_version')
                WHERE (u.level, u.kind, u.name_km, u.name_latin, u.parent_code)
                      IS DISTINCT FROM (EXCLUDED.level, EXCLUDED.kind, EXCLUDED.name_km, EXCLUDED.name_latin, EXCLUDED.parent_code)
                RETURNING (xmax = 0) AS inserted
            ) {COUNT_UPSERTED}"
        );
        let stmt = client.prepare_cached(&sql).await?;
        let row = client
            .query_one(
                &stmt,
                &[
                    &code,
                    &level,
                    &kind,
                    &name_km,
                    &name_latin,
                    &parent,
                    &sources,
                    &search,
                ],
            )
            .await?;
        Ok(UpsertCounts::from_row(&row, units.len()))
    }

    pub(crate) async fn facilities(
        client: &impl GenericClient,
        facilities: &[Facility],
    ) -> Result<UpsertCounts, StoreError> {
        let rows = last_of_each(facilities, |f| f.id);
        if rows.is_empty() {
            return Ok(UpsertCounts::default());
        }
        let id: Vec<Uuid> = rows.iter().map(|f| f.id).collect();
        let sector: Vec<&str> = rows.iter().map(|f| f.sector.as_str()).collect();
        let kind: Vec<&str> = rows.iter().map(|f| f.kind.as_str()).collect();
        let name_km: Vec<&str> = rows.iter().map(|f| f.name_km.as_str()).collect();
        let name_latin: Vec<Option<&str>> = rows
            .iter()
            .map(|f| f.name_latin.as_ref().map(|n| n.as_str()))
            .collect();
        let admin: Vec<Option<&str>> = rows
            .iter()
            .map(|f| f.admin_unit_code.as_ref().map(|c| c.as_str()))
            .collect();
        let lat: Vec<Option<f64>> = rows.iter().map(|f| f.location.map(|l| l.lat)).collect();
        let lon: Vec<Option<f64>> = rows.iter().map(|f| f.location.map(|l| l.lon)).collect();
        let status: Vec<&str> = rows.iter().map(|f| f.status.as_str()).collect();
        let managed_by: Vec<String> = rows.iter().map(|f| f.managed_by.to_string()).collect();
        let identifiers: Vec<Json<Vec<&schema::SourceIdentifier>>> =
            rows.iter().map(|f| Json(sorted(&f.identifiers))).collect();
        let sources: Vec<Json<&Vec<schema::Provenance>>> =
            rows.iter().map(|f| Json(&f.sources)).collect();
        let search: Vec<String> = rows
            .iter()
            .map(|f| {
                let mut parts = vec![f.name_km.as_str(), opt_as_str(&f.name_latin)];
                parts.extend(f.identifiers.iter().map(|i| i.value.as_str()));
                search_key(&parts)
            })
            .collect();
        let sql = format!(
            "WITH input AS (
                SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                                     $7::float8[], $8::float8[], $9::text[], $10::text[], $11::jsonb[], $12::jsonb[], $13::text[])
                  AS t(id, sector, kind, name_km, name_latin, admin_unit_code, latitude, longitude, status, managed_by,
                       identifiers, sources, search)
            ), upserted AS (
                INSERT INTO facilities AS f (id, sector, kind, name_km, name_latin, admin_unit_code, latitude, longitude,
                                             status, managed_by, identifiers, sources, search)
                SELECT * FROM input
                ON CONFLICT (id) DO UPDATE SET
                    sector = EXCLUDED.sector, kind = EXCLUDED.kind, name_km = EXCLUDED.name_km,
                    name_latin = EXCLUDED.name_latin, admin_unit_code = EXCLUDED.admin_unit_code,
                    latitude = EXCLUDED.latitude, longitude = EXCLUDED.longitude, status = EXCLUDED.status,
                    managed_by = EXCLUDED.managed_by, identifiers = EXCLUDED.identifiers,
                    sources = EXCLUDED.sources, search = EXCLUDED.search,
                    updated_at = now(), version = nextval('record_version')
                WHERE (f.sector, f.kind, f.name_km, f.name_latin, f.admin_unit_code, f.latitude, f.longitude,
                       f.status, f.managed_by, f.identifiers)
                      IS DISTINCT FROM (EXCLUDED.sector, EXCLUDED.kind, EXCLUDED.name_km, EXCLUDED.name_latin,
                       EXCLUDED.admin_unit_code, EXCLUDED.latitude, EXCLUDED.longitude, EXCLUDED.status,
                       EXCLUDED.managed_by, EXCLUDED.identifiers)
                RETURNING (xmax = 0) AS inserted
            ), indexed AS (
                {INDEX_IDENTIFIERS_FROM_INPUT}
            ) {COUNT_UPSERTED}",
        )
        .replace("{ENTITY}", "facility");
        let stmt = client.prepare_cached(&sql).await?;
        let row = client
            .query_one(
                &stmt,
                &[
                    &id,
                    &sector,
                    &kind,
                    &name_km,
                    &name_latin,
                    &admin,
                    &lat,
                    &lon,
                    &status,
                    &managed_by,
                    &identifiers,
                    &sources,
                    &search,
                ],
            )
            .await?;
        Ok(UpsertCounts::from_row(&row, rows.len()))
    }

    pub(crate) async fn staff(
        client: &impl GenericClient,
        staff: &[Staff],
    ) -> Result<UpsertCounts, StoreError> {
        staff_rows(client, staff, true).await
    }

    /// Upserts staff; `index` also indexes their identifiers in the same statement.
    pub(crate) async fn staff_rows(
        client: &impl GenericClient,
        staff: &[Staff],
        index: bool,
    ) -> Result<UpsertCounts, StoreError> {
        let rows = last_of_each(staff, |s| s.id);
        if rows.is_empty() {
            return Ok(UpsertCounts::default());
        }
        let id: Vec<Uuid> = rows.iter().map(|s| s.id).collect();
        let csid: Vec<Option<&str>> = rows
            .iter()
            .map(|s| s.civil_servant_id.as_ref().map(|c| c.as_str()))
            .collect();
        let nid: Vec<Option<&str>> = rows
            .iter()
            .map(|s| s.national_id.as_ref().map(|c| c.as_str()))
            .collect();
        let birth: Vec<Option<NaiveDate>> = rows
            .iter()
            .map(|s| s.birth_date.map(schema::Date::naive))
            .collect();
        let name_km: Vec<&str> = rows.iter().map(|s| s.name_km.as_str()).collect();
        let name_latin: Vec<Option<&str>> = rows
            .iter()
            .map(|s| s.name_latin.as_ref().map(|n| n.as_str()))
            .collect();
        let sex: Vec<Option<&str>> = rows
            .iter()
            .map(|s| s.sex.map(schema::Sex::as_str))
            .collect();
        let employer: Vec<Option<String>> =
            rows.iter().map(|s| opt_str(s.employer.as_ref())).collect();
        let grade: Vec<Option<&str>> = rows.iter().map(|s| s.grade.as_deref()).collect();
        let status: Vec<&str> = rows.iter().map(|s| s.status.as_str()).collect();
        let admin: Vec<Option<&str>> = rows
            .iter()
            .map(|s| s.admin_unit_code.as_ref().map(|c| c.as_str()))
            .collect();
        let identifiers: Vec<Json<Vec<&schema::SourceIdentifier>>> =
            rows.iter().map(|s| Json(sorted(&s.identifiers))).collect();
        let sources: Vec<Json<&Vec<schema::Provenance>>> =
            rows.iter().map(|s| Json(&s.sources)).collect();
        let search: Vec<String> = rows
            .iter()
            .map(|s| {
                search_key(&[
                    s.name_km.as_str(),
                    opt_as_str(&s.name_latin),
                    s.civil_servant_id.as_ref().map_or("", |c| c.as_str()),
                ])
            })
            .collect();
        let sql = format!(
            "WITH input AS (
                SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::date[], $5::text[], $6::text[], $7::text[],
                                     $8::text[], $9::text[], $10::text[], $11::text[], $12::jsonb[], $13::jsonb[], $14::text[])
                  AS t(id, civil_servant_id, national_id, birth_date, name_km, name_latin, sex, employer, grade, status,
                       admin_unit_code, identifiers, sources, search)
            ), upserted AS (
                INSERT INTO staff AS s (id, civil_servant_id, national_id, birth_date, name_km, name_latin, sex,
                                        employer, grade, status, admin_unit_code, identifiers, sources, search)
                SELECT * FROM input
                ON CONFLICT (id) DO UPDATE SET
                    civil_servant_id = EXCLUDED.civil_servant_id, national_id = EXCLUDED.national_id,
                    birth_date = EXCLUDED.birth_date, name_km = EXCLUDED.name_km, name_latin = EXCLUDED.name_latin,
                    sex = EXCLUDED.sex, employer = EXCLUDED.employer, grade = EXCLUDED.grade,
                    status = EXCLUDED.status, admin_unit_code = EXCLUDED.admin_unit_code,
                    identifiers = EXCLUDED.identifiers, sources = EXCLUDED.sources, search = EXCLUDED.search,
                    updated_at = now(), version = nextval('record_version')
                WHERE (s.civil_servant_id, s.national_id, s.birth_date, s.name_km, s.name_latin, s.sex, s.employer,
                       s.grade, s.status, s.admin_unit_code, s.identifiers)
                      IS DISTINCT FROM (EXCLUDED.civil_servant_id, EXCLUDED.national_id, EXCLUDED.birth_date,
                       EXCLUDED.name_km, EXCLUDED.name_latin, EXCLUDED.sex, EXCLUDED.employer, EXCLUDED.grade,
                       EXCLUDED.status, EXCLUDED.admin_unit_code, EXCLUDED.identifiers)
                RETURNING (xmax = 0) AS inserted
            ){{INDEXED}} {COUNT_UPSERTED}",
        )
        .replace(
            "{INDEXED}",
            if index {
                ", indexed AS ({INDEX_IDENTIFIERS_FROM_INPUT})"
            } else {
                ""
            },
        )
        .replace("{INDEX_IDENTIFIERS_FROM_INPUT}", INDEX_IDENTIFIERS_FROM_INPUT)
        .replace("{ENTITY}", "staff");
        let stmt = client.prepare_cached(&sql).await?;
        let row = client
            .query_one(
                &stmt,
                &[
                    &id,
                    &csid,
                    &nid,
                    &birth,
                    &name_km,
                    &name_latin,
                    &sex,
                    &employer,
                    &grade,
                    &status,
                    &admin,
                    &identifiers,
                    &sources,
                    &search,
                ],
            )
            .await?;
        Ok(UpsertCounts::from_row(&row, rows.len()))
    }

    pub(crate) async fn assignments(
        client: &impl GenericClient,
        assignments: &[Assignment],
    ) -> Result<UpsertCounts, StoreError> {
        let rows = last_of_each(assignments, |a| a.id);
        if rows.is_empty() {
            return Ok(UpsertCounts::default());
        }
        let id: Vec<Uuid> = rows.iter().map(|a| a.id).collect();
        let staff_id: Vec<Uuid> = rows.iter().map(|a| a.staff_id).collect();
        let facility_id: Vec<Option<Uuid>> = rows.iter().map(|a| a.facility_id).collect();
        let admin: Vec<Option<&str>> = rows
            .iter()
            .map(|a| a.admin_unit_code.as_ref().map(|c| c.as_str()))
            .collect();
        let role: Vec<&str> = rows.iter().map(|a| a.role.as_str()).collect();
        let source: Vec<&str> = rows.iter().map(|a| a.source.as_str()).collect();
        let start: Vec<Option<NaiveDate>> = rows
            .iter()
            .map(|a| a.start_date.map(schema::Date::naive))
            .collect();
        let end: Vec<Option<NaiveDate>> = rows
            .iter()
            .map(|a| a.end_date.map(schema::Date::naive))
            .collect();
        let sql = format!(
            "WITH upserted AS (
                INSERT INTO assignments AS a (id, staff_id, facility_id, admin_unit_code, role, source, start_date, end_date)
                SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::date[], $8::date[])
                ON CONFLICT (id) DO UPDATE SET
                    staff_id = EXCLUDED.staff_id, facility_id = EXCLUDED.facility_id,
                    admin_unit_code = EXCLUDED.admin_unit_code, role = EXCLUDED.role, source = EXCLUDED.source,
                    start_date = EXCLUDED.start_date, end_date = EXCLUDED.end_date,
                    updated_at = now(), version = nextval('record_version')
                WHERE (a.staff_id, a.facility_id, a.admin_unit_code, a.role, a.source, a.start_date, a.end_date)
                      IS DISTINCT FROM (EXCLUDED.staff_id, EXCLUDED.facility_id, EXCLUDED.admin_unit_code,
                       EXCLUDED.role, EXCLUDED.source, EXCLUDED.start_date, EXCLUDED.end_date)
                RETURNING (xmax = 0) AS inserted
            ) {COUNT_UPSERTED}"
        );
        let stmt = client.prepare_cached(&sql).await?;
        let row = client
            .query_one(
                &stmt,
                &[
                    &id,
                    &staff_id,
                    &facility_id,
                    &admin,
                    &role,
                    &source,
                    &start,
                    &end,
                ],
            )
            .await?;
        Ok(UpsertCounts::from_row(&row, rows.len()))
    }

    pub(crate) async fn raw_records(
        client: &impl GenericClient,
        records: &[RawRecord],
    ) -> Result<u64, StoreError> {
        let keyed: Vec<(String, &RawRecord)> = records
            .iter()
            .map(|r| {
                let key = r.source_id.clone().unwrap_or_else(|| {
                    use sha2::Digest;
                    format!(
                        "sha256:{}",
                        hex::encode(sha2::Sha256::digest(r.payload.to_string().as_bytes()))
                    )
                });
                (key, r)
            })
            .collect();
        let rows = last_of_each(&keyed, |(k, r)| {
            (r.ministry, r.record_type.clone(), k.clone())
        });
        if rows.is_empty() {
            return Ok(0);
        }
        let ministry: Vec<&str> = rows.iter().map(|(_, r)| r.ministry.as_str()).collect();
        let record_type: Vec<&str> = rows.iter().map(|(_, r)| r.record_type.as_str()).collect();
        let key: Vec<String> = rows
            .iter()
            .map(|(k, _)| storable::text(k).into_owned())
            .collect();
        let source_id: Vec<Option<String>> = rows
            .iter()
            .map(|(_, r)| {
                r.source_id
                    .as_deref()
                    .map(|s| storable::text(s).into_owned())
            })
            .collect();
        // jsonb takes no NUL: such a payload goes with a stand-in for each, and whole,
        // as received, beside it.
        let with_nul: Vec<bool> = rows
            .iter()
            .map(|(_, r)| storable::has_nul(&r.payload))
            .collect();
        let cleaned: Vec<Option<Value>> = rows
            .iter()
            .zip(&with_nul)
            .map(|((_, r), nul)| nul.then(|| storable::without_nul(&r.payload)))
            .collect();
        let payload: Vec<Json<&Value>> = rows
            .iter()
            .zip(&cleaned)
            .map(|((_, r), c)| Json(c.as_ref().unwrap_or(&r.payload)))
            .collect();
        let original: Vec<Option<Vec<u8>>> = rows
            .iter()
            .zip(&with_nul)
            .map(|((_, r), nul)| nul.then(|| serde_json::to_vec(&r.payload).unwrap_or_default()))
            .collect();
        let fetched_at: Vec<DateTime<Utc>> = rows.iter().map(|(_, r)| r.fetched_at).collect();
        let valid: Vec<bool> = rows.iter().map(|(_, r)| r.rejection.is_none()).collect();
        let reason: Vec<Option<String>> = rows
            .iter()
            .map(|(_, r)| r.rejection.as_deref().map(value_free_reason))
            .collect();
        let problems: Vec<Option<Json<Vec<schema::ParseError>>>> = rows
            .iter()
            .map(|(_, r)| r.rejection.as_deref().map(|p| Json(storable_problems(p))))
            .collect();
        let place: Vec<Option<&str>> = rows
            .iter()
            .map(|(_, r)| r.place.as_ref().map(schema::AdminCode::as_str))
            .collect();
        let run: Vec<Option<i64>> = rows.iter().map(|(_, r)| r.run_id).collect();
        let stmt = client
            .prepare_cached(
                "INSERT INTO raw_records (ministry, record_type, source_key, source_id, payload, fetched_at, valid,
                                          rejection_reason, run_id, rejection_problems, place, payload_original)
                 SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::timestamptz[],
                                      $7::bool[], $8::text[], $9::bigint[], $10::jsonb[], $11::text[], $12::bytea[])
                 ON CONFLICT (ministry, record_type, source_key) DO UPDATE SET
                     source_id = EXCLUDED.source_id, payload = EXCLUDED.payload, fetched_at = EXCLUDED.fetched_at,
                     valid = EXCLUDED.valid, rejection_reason = EXCLUDED.rejection_reason, run_id = EXCLUDED.run_id,
                     rejection_problems = EXCLUDED.rejection_problems, place = EXCLUDED.place,
                     payload_original = EXCLUDED.payload_original",
            )
            .await?;
        let n = client
            .execute(
                &stmt,
                &[
                    &ministry,
                    &record_type,
                    &key,
                    &source_id,
                    &payload,
                    &fetched_at,
                    &valid,
                    &reason,
                    &run,
                    &problems,
                    &place,
                    &original,
                ],
            )
            .await?;
        Ok(n)
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
        let sql = format!(
            "WITH input AS (SELECT * FROM unnest($1::uuid[], $2::jsonb[]) AS t(id, identifiers))
             {INDEX_IDENTIFIERS_FROM_INPUT}"
        )
        .replace("{ENTITY}", "staff");
        let stmt = client.prepare_cached(&sql).await?;
        client.execute(&stmt, &[&id, &identifiers]).await?;
        Ok(())
    }

    /// What each source said of each record, kept whole; a report held unchanged is
    /// left alone.
    pub(crate) async fn source_reports(
        client: &impl GenericClient,
        rows: &[SourceReportRow],
    ) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let types: Vec<&str> = rows.iter().map(|r| r.entity_type).collect();
        let ministries: Vec<&str> = rows.iter().map(|r| r.ministry.as_str()).collect();
        let ids: Vec<&str> = rows.iter().map(|r| r.source_id.as_str()).collect();
        let entities: Vec<Option<Uuid>> = rows.iter().map(|r| r.entity_id).collect();
        let reports: Vec<Json<&Value>> = rows.iter().map(|r| Json(&r.report)).collect();
        let fetched: Vec<DateTime<Utc>> = rows.iter().map(|r| r.fetched_at).collect();
        let stmt = client
            .prepare_cached(
                "INSERT INTO source_reports (entity_type, ministry, source_id, entity_id, report, fetched_at)
                 SELECT DISTINCT ON (t, m, s) t, m, s, e, r, f
                 FROM unnest($1::text[], $2::text[], $3::text[], $4::uuid[], $5::jsonb[], $6::timestamptz[])
                   AS x(t, m, s, e, r, f)
                 ON CONFLICT (entity_type, ministry, source_id) DO UPDATE SET
                     entity_id = EXCLUDED.entity_id, report = EXCLUDED.report, fetched_at = EXCLUDED.fetched_at,
                     version = nextval('record_version')
                 WHERE (source_reports.entity_id, source_reports.report)
                       IS DISTINCT FROM (EXCLUDED.entity_id, EXCLUDED.report)",
            )
            .await?;
        client
            .execute(
                &stmt,
                &[&types, &ministries, &ids, &entities, &reports, &fetched],
            )
            .await?;
        Ok(())
    }
}

/// Indexes each input row's identifiers (`{ENTITY}` is replaced by the entity type).
const INDEX_IDENTIFIERS_FROM_INPUT: &str = "
    INSERT INTO source_identifiers AS si (entity_type, system, value, entity_id)
    SELECT DISTINCT ON (i.system, i.value) '{ENTITY}', i.system, i.value, input.id
    FROM input, jsonb_to_recordset(input.identifiers) AS i(system text, value text)
    ORDER BY i.system, i.value
    ON CONFLICT (entity_type, system, value) DO UPDATE SET entity_id = EXCLUDED.entity_id
    WHERE si.entity_id IS DISTINCT FROM EXCLUDED.entity_id";

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

/// The bulk writes, on the pool (one statement each) or inside a [`WriteTx`].
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

/// The advisory lock version-taking writers hold for their whole transaction.
pub(crate) const VERSION_LOCK: i64 = 7_236_858_012_434_493_806;

/// Opens a transaction, queues it behind any other version-taking writer, and counts it.
const VERSION_WRITERS: &str = "BEGIN; SELECT pg_advisory_xact_lock(7236858012434493806);
    UPDATE version_writers SET commits = commits + 1 RETURNING commits";

/// A transaction for writes that must land together (a page of a sync and its
/// cursor). Dropped without [`WriteTx::commit`], it rolls back: its connection is
/// closed rather than returned to the pool mid-transaction.
pub struct WriteTx {
    client: Option<deadpool_postgres::Object>,
    /// This transaction's number among the version-taking writers (see
    /// [`WriteTx::writer_number`]).
    writer_number: Option<i64>,
}

impl std::fmt::Debug for WriteTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteTx")
            .field("open", &self.client.is_some())
            .finish()
    }
}

impl Store {
    /// Opens a write transaction. Writers that take record versions run one at a
    /// time (a transaction-scoped advisory lock), so versions commit in the order they
    /// were taken and a change-feed reader never sees a later version before an
    /// earlier one that is still to commit.
    pub async fn begin(&self) -> Result<WriteTx, StoreError> {
        let client = self.client().await?;
        let writer_number = last_number(&client.simple_query(VERSION_WRITERS).await?)?;
        Ok(WriteTx {
            client: Some(client),
            writer_number: Some(writer_number),
        })
    }

    /// Opens a [`SnapshotTx`].
    pub async fn snapshot(&self) -> Result<SnapshotTx, StoreError> {
        let client = self.client().await?;
        let writers = last_number(
            &client
                .simple_query(
                    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
                     SELECT commits FROM version_writers",
                )
                .await?,
        )?;
        Ok(SnapshotTx {
            client: Some(client),
            writers,
        })
    }

    /// Opens a write transaction that takes no record version (payroll lines and a
    /// cursor), so it need not queue behind the writers that do. Writing a versioned
    /// table in it would break the change feed's order.
    pub async fn begin_unversioned(&self) -> Result<WriteTx, StoreError> {
        let client = self.client().await?;
        client.batch_execute("BEGIN").await?;
        Ok(WriteTx {
            client: Some(client),
            writer_number: None,
        })
    }
}

/// The number in the last row a simple query returned.
fn last_number(messages: &[tokio_postgres::SimpleQueryMessage]) -> Result<i64, StoreError> {
    messages
        .iter()
        .rev()
        .find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0)?.parse().ok(),
            _ => None,
        })
        .ok_or_else(|| StoreError::Config("version_writers has no count".to_owned()))
}

/// A read-only transaction on one snapshot of the registry, for lookups made ahead of
/// the transaction that writes with them. [`SnapshotTx::writers`] says how many
/// version-taking writers had committed when the snapshot was taken; a writer that
/// finds a higher count than it expects knows the lookups may be stale.
pub struct SnapshotTx {
    client: Option<deadpool_postgres::Object>,
    writers: i64,
}

impl std::fmt::Debug for SnapshotTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotTx")
            .field("writers", &self.writers)
            .finish_non_exhaustive()
    }
}

impl SnapshotTx {
    /// Version-taking writers committed when the snapshot was taken.
    pub fn writers(&self) -> i64 {
        self.writers
    }

    pub(crate) fn client(&self) -> Result<&deadpool_postgres::Object, StoreError> {
        self.client
            .as_ref()
            .ok_or_else(|| StoreError::Config("snapshot already finished".to_owned()))
    }

    /// Ends the snapshot and returns its connection to the pool.
    pub async fn finish(mut self) -> Result<(), StoreError> {
        if let Some(client) = self.client.take() {
            client.batch_execute("COMMIT").await?;
        }
        Ok(())
    }
}

impl Drop for SnapshotTx {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            // Closing the connection ends the transaction.
            drop(deadpool_postgres::Object::take(client));
        }
    }
}

/// A connection for the writes of a page that take no record version and are safe to
/// land before the page does: raw records and source reports, keyed by the source's
/// id, so writing them again after a failed page changes nothing. They go on this
/// connection, one statement per transaction, while the page's own transaction does
/// the registry's writes: PostgreSQL works on both at once.
pub struct SideWriter {
    client: deadpool_postgres::Object,
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
    /// `q` search reads the whole list row by row. An inserter finding a merge under way leaves it to this one. A
    /// failure (a role that does not own the index may not merge) is only logged: the
    /// next overflowing insert or autovacuum merges instead.
    pub async fn merge_pending_search_entries(&self) {
        if let Err(e) = self
            .client
            .batch_execute("SELECT gin_clean_pending_list('staff_search'::regclass)")
            .await
        {
            tracing::warn!(error = %e, "could not merge the staff search index's pending entries");
        }
    }

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

impl WriteTx {
    /// Inserts or updates staff, indexing their identifiers in the same statement.
    pub async fn upsert_staff(&self, staff: &[Staff]) -> Result<UpsertCounts, StoreError> {
        write::staff(self.client()?, staff).await
    }

    /// Upserts staff without indexing their identifiers: the caller does that on a
    /// [`SideWriter`] at the same time.
    pub async fn upsert_staff_rows(&self, staff: &[Staff]) -> Result<UpsertCounts, StoreError> {
        write::staff_rows(self.client()?, staff, false).await
    }
}

impl WriteTx {
    /// This transaction's number among the version-taking writers: it counts them, and
    /// this one is counted. None for a transaction that takes no version.
    pub fn writer_number(&self) -> Option<i64> {
        self.writer_number
    }

    pub(crate) fn client(&self) -> Result<&deadpool_postgres::Object, StoreError> {
        self.client
            .as_ref()
            .ok_or_else(|| StoreError::Config("transaction already finished".to_owned()))
    }

    pub async fn commit(mut self) -> Result<(), StoreError> {
        let client = self
            .client
            .take()
            .ok_or_else(|| StoreError::Config("transaction already finished".to_owned()))?;
        client.batch_execute("COMMIT").await?;
        Ok(())
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            // Closing the connection makes the server roll the transaction back.
            drop(deadpool_postgres::Object::take(client));
        }
    }
}
