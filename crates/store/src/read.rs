//! The read API's queries: filters, keyset paging, and the area a caller may see.
//!
//! Lists are ordered by primary key and paged by "after this key", so a page costs the
//! same however deep it is and a row inserted meanwhile never shifts the pages.

use chrono::{DateTime, Utc};
use schema::{
    AdminCode, AdminKind, AdminLevel, AdminUnit, Assignment, CivilServantId, Date, Facility,
    FacilityKind, FacilityStatus, GeoPoint, ManagedBy, MinistryCode, Name, NationalId, Sector, Sex,
    Staff, StaffStatus,
};
use tokio_postgres::Row;
use tokio_postgres::types::{Json, ToSql};
use uuid::Uuid;

use crate::{Store, StoreError};

/// One page of a list, and the key to ask for the next one (none on the last page).
#[derive(Debug, Clone)]
pub struct Page<T, K> {
    pub items: Vec<T>,
    pub next_after: Option<K>,
}

#[derive(Debug, Clone)]
pub struct StoredStaff {
    pub staff: Staff,
    /// Filled on single-record reads; empty in lists.
    pub assignments: Vec<Assignment>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

#[derive(Debug, Clone)]
pub struct StoredFacility {
    pub facility: Facility,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

#[derive(Debug, Clone)]
pub struct StoredAdminUnit {
    pub unit: AdminUnit,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

/// Filters of the staff list. `within` is the caller's jurisdiction, which every query
/// applies on top of the client's own filters.
#[derive(Debug, Clone, Default)]
pub struct StaffFilter {
    pub employer: Option<MinistryCode>,
    pub facility_id: Option<Uuid>,
    pub admin_unit: Option<AdminCode>,
    pub status: Option<StaffStatus>,
    pub q: Option<String>,
    pub updated_since: Option<DateTime<Utc>>,
    pub within: Option<AdminCode>,
}

#[derive(Debug, Clone, Default)]
pub struct FacilityFilter {
    pub sector: Option<Sector>,
    pub kind: Option<FacilityKind>,
    pub admin_unit: Option<AdminCode>,
    pub managed_by: Option<ManagedBy>,
    pub q: Option<String>,
    pub updated_since: Option<DateTime<Utc>>,
    pub within: Option<AdminCode>,
}

#[derive(Debug, Clone, Default)]
pub struct AdminUnitFilter {
    pub level: Option<AdminLevel>,
    pub parent: Option<AdminCode>,
    pub q: Option<String>,
    pub within: Option<AdminCode>,
}

/// A WHERE clause built a condition at a time, with its numbered parameters.
#[derive(Default)]
struct Conditions {
    sql: Vec<String>,
    params: Vec<Box<dyn ToSql + Sync + Send>>,
}

impl Conditions {
    /// Adds a condition whose `$?` is the next parameter.
    fn push(&mut self, condition: &str, value: impl ToSql + Sync + Send + 'static) {
        self.params.push(Box::new(value));
        self.sql
            .push(condition.replace("$?", &format!("${}", self.params.len())));
    }

    fn prefix(&mut self, column: &str, code: Option<&AdminCode>) {
        if let Some(code) = code {
            // Codes are digits only, so the pattern needs no escaping.
            self.push(&format!("{column} LIKE $?"), format!("{}%", code.as_str()));
        }
    }

    fn search(&mut self, column: &str, q: Option<&String>) {
        if let Some(q) = q {
            self.push(
                &format!("{column} LIKE $?"),
                format!("%{}%", escape_like(&schema::text::match_key(q))),
            );
        }
    }

    fn where_clause(&self) -> String {
        if self.sql.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.sql.join(" AND "))
        }
    }

    fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect()
    }
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

pub(crate) const STAFF_COLUMNS: &str = "s.id, s.civil_servant_id, s.national_id, s.birth_date, s.name_km, s.name_latin, s.sex, \
     s.employer, s.grade, s.status, s.admin_unit_code, s.identifiers, s.sources, s.updated_at, s.version";
const FACILITY_COLUMNS: &str = "f.id, f.sector, f.kind, f.name_km, f.name_latin, f.admin_unit_code, f.latitude, \
     f.longitude, f.status, f.managed_by, f.identifiers, f.sources, f.updated_at, f.version";
const ADMIN_UNIT_COLUMNS: &str = "u.code, u.level, u.kind, u.name_km, u.name_latin, u.parent_code, u.sources, u.updated_at, u.version";
pub(crate) const ASSIGNMENTS_OF_STAFF: &str = "COALESCE((SELECT jsonb_agg(jsonb_build_object(
        'id', a.id, 'staff_id', a.staff_id, 'facility_id', a.facility_id, 'admin_unit_code', a.admin_unit_code,
        'role', a.role, 'source', a.source, 'start_date', a.start_date, 'end_date', a.end_date)
        ORDER BY a.start_date NULLS LAST, a.id)
     FROM assignments a WHERE a.staff_id = s.id), '[]'::jsonb)";

impl Store {
    pub async fn list_staff(
        &self,
        filter: &StaffFilter,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Page<StoredStaff, Uuid>, StoreError> {
        let mut c = Conditions::default();
        if let Some(e) = &filter.employer {
            c.push("s.employer = $?", e.as_str().to_owned());
        }
        if let Some(f) = filter.facility_id {
            c.push("EXISTS (SELECT 1 FROM assignments a WHERE a.staff_id = s.id AND a.facility_id = $?)", f);
        }
        c.prefix("s.admin_unit_code", filter.admin_unit.as_ref());
        c.prefix("s.admin_unit_code", filter.within.as_ref());
        if let Some(st) = filter.status {
            c.push("s.status = $?", st.as_str().to_owned());
        }
        c.search("s.search", filter.q.as_ref());
        if let Some(t) = filter.updated_since {
            c.push("s.updated_at >= $?", t);
        }
        if let Some(a) = after {
            c.push("s.id > $?", a);
        }
        let sql = format!(
            "SELECT {STAFF_COLUMNS}, '[]'::jsonb FROM staff s {} ORDER BY s.id LIMIT {}",
            c.where_clause(),
            limit + 1
        );
        let rows = self.query(&sql, &c).await?;
        paged(rows, limit, staff_from_row, |s| s.staff.id)
    }

    /// One staff record with its assignments, if it exists inside `within`.
    pub async fn get_staff(
        &self,
        id: Uuid,
        within: Option<&AdminCode>,
    ) -> Result<Option<StoredStaff>, StoreError> {
        let mut c = Conditions::default();
        c.push("s.id = $?", id);
        c.prefix("s.admin_unit_code", within);
        let sql = format!(
            "SELECT {STAFF_COLUMNS}, {ASSIGNMENTS_OF_STAFF} FROM staff s {}",
            c.where_clause()
        );
        self.query(&sql, &c)
            .await?
            .first()
            .map(staff_from_row)
            .transpose()
    }

    pub async fn list_facilities(
        &self,
        filter: &FacilityFilter,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Page<StoredFacility, Uuid>, StoreError> {
        let mut c = Conditions::default();
        if let Some(s) = filter.sector {
            c.push("f.sector = $?", s.as_str().to_owned());
        }
        if let Some(k) = filter.kind {
            c.push("f.kind = $?", k.as_str().to_owned());
        }
        c.prefix("f.admin_unit_code", filter.admin_unit.as_ref());
        c.prefix("f.admin_unit_code", filter.within.as_ref());
        if let Some(m) = &filter.managed_by {
            c.push("f.managed_by = $?", m.to_string());
        }
        c.search("f.search", filter.q.as_ref());
        if let Some(t) = filter.updated_since {
            c.push("f.updated_at >= $?", t);
        }
        if let Some(a) = after {
            c.push("f.id > $?", a);
        }
        let sql = format!(
            "SELECT {FACILITY_COLUMNS} FROM facilities f {} ORDER BY f.id LIMIT {}",
            c.where_clause(),
            limit + 1
        );
        let rows = self.query(&sql, &c).await?;
        paged(rows, limit, facility_from_row, |f| f.facility.id)
    }

    pub async fn get_facility(
        &self,
        id: Uuid,
        within: Option<&AdminCode>,
    ) -> Result<Option<StoredFacility>, StoreError> {
        let mut c = Conditions::default();
        c.push("f.id = $?", id);
        c.prefix("f.admin_unit_code", within);
        let sql = format!(
            "SELECT {FACILITY_COLUMNS} FROM facilities f {}",
            c.where_clause()
        );
        self.query(&sql, &c)
            .await?
            .first()
            .map(facility_from_row)
            .transpose()
    }

    pub async fn list_admin_units(
        &self,
        filter: &AdminUnitFilter,
        after: Option<AdminCode>,
        limit: usize,
    ) -> Result<Page<StoredAdminUnit, AdminCode>, StoreError> {
        let mut c = Conditions::default();
        if let Some(l) = filter.level {
            c.push("u.level = $?", l.as_str().to_owned());
        }
        if let Some(p) = &filter.parent {
            c.push("u.parent_code = $?", p.as_str().to_owned());
        }
        c.search("u.search", filter.q.as_ref());
        c.prefix("u.code", filter.within.as_ref());
        if let Some(a) = after {
            c.push("u.code > $?", a.as_str().to_owned());
        }
        let sql = format!(
            "SELECT {ADMIN_UNIT_COLUMNS} FROM admin_units u {} ORDER BY u.code LIMIT {}",
            c.where_clause(),
            limit + 1
        );
        let rows = self.query(&sql, &c).await?;
        paged(rows, limit, admin_unit_from_row, |u| u.unit.code.clone())
    }

    pub async fn get_admin_unit(
        &self,
        code: &AdminCode,
        within: Option<&AdminCode>,
    ) -> Result<Option<StoredAdminUnit>, StoreError> {
        if within.is_some_and(|w| !w.contains(code)) {
            return Ok(None);
        }
        let mut c = Conditions::default();
        c.push("u.code = $?", code.as_str().to_owned());
        let sql = format!(
            "SELECT {ADMIN_UNIT_COLUMNS} FROM admin_units u {}",
            c.where_clause()
        );
        self.query(&sql, &c)
            .await?
            .first()
            .map(admin_unit_from_row)
            .transpose()
    }

    async fn query(&self, sql: &str, c: &Conditions) -> Result<Vec<Row>, StoreError> {
        let client = self.client().await?;
        let stmt = client.prepare_cached(sql).await?;
        Ok(client.query(&stmt, &c.refs()).await?)
    }
}

fn paged<T, K>(
    rows: Vec<Row>,
    limit: usize,
    read: impl Fn(&Row) -> Result<T, StoreError>,
    key: impl Fn(&T) -> K,
) -> Result<Page<T, K>, StoreError> {
    let more = rows.len() > limit;
    let items: Vec<T> = rows
        .iter()
        .take(limit)
        .map(read)
        .collect::<Result<_, _>>()?;
    let next_after = if more { items.last().map(key) } else { None };
    Ok(Page { items, next_after })
}

/// Reads a stored value back through its parser; a failure means the row was written
/// by something other than this store.
fn parsed<T>(
    table: &'static str,
    key: &str,
    r: Result<T, schema::ParseError>,
) -> Result<T, StoreError> {
    r.map_err(|e| StoreError::corrupt(table, key, e))
}

fn opt_parsed<T>(
    table: &'static str,
    key: &str,
    v: Option<String>,
    parse: impl Fn(&str) -> Result<T, schema::ParseError>,
) -> Result<Option<T>, StoreError> {
    v.map(|s| parsed(table, key, parse(&s))).transpose()
}

pub(crate) fn staff_from_row(row: &Row) -> Result<StoredStaff, StoreError> {
    const T: &str = "staff";
    let id: Uuid = row.get(0);
    let key = id.to_string();
    let k = key.as_str();
    let staff = Staff {
        id,
        civil_servant_id: opt_parsed(T, k, row.get(1), CivilServantId::parse)?,
        national_id: opt_parsed(T, k, row.get(2), NationalId::parse)?,
        birth_date: row
            .get::<_, Option<chrono::NaiveDate>>(3)
            .map(Date::from_naive),
        name_km: parsed(T, k, Name::parse(row.get(4)))?,
        name_latin: opt_parsed(T, k, row.get(5), Name::parse)?,
        sex: opt_parsed(T, k, row.get(6), Sex::parse)?,
        employer: opt_parsed(T, k, row.get(7), MinistryCode::parse)?,
        grade: row.get(8),
        status: parsed(T, k, StaffStatus::parse(row.get(9)))?,
        admin_unit_code: opt_parsed(T, k, row.get(10), AdminCode::parse)?,
        identifiers: json(T, k, row, 11)?,
        sources: json(T, k, row, 12)?,
    };
    Ok(StoredStaff {
        staff,
        updated_at: row.get(13),
        version: row.get(14),
        assignments: json(T, k, row, 15)?,
    })
}

fn facility_from_row(row: &Row) -> Result<StoredFacility, StoreError> {
    const T: &str = "facilities";
    let id: Uuid = row.get(0);
    let key = id.to_string();
    let k = key.as_str();
    let location = match (row.get::<_, Option<f64>>(6), row.get::<_, Option<f64>>(7)) {
        (Some(lat), Some(lon)) => Some(parsed(T, k, GeoPoint::parse(lat, lon))?),
        _ => None,
    };
    let facility = Facility {
        id,
        sector: parsed(T, k, Sector::parse(row.get(1)))?,
        kind: parsed(T, k, FacilityKind::parse(row.get(2)))?,
        name_km: parsed(T, k, Name::parse(row.get(3)))?,
        name_latin: opt_parsed(T, k, row.get(4), Name::parse)?,
        admin_unit_code: opt_parsed(T, k, row.get(5), AdminCode::parse)?,
        location,
        status: parsed(T, k, FacilityStatus::parse(row.get(8)))?,
        managed_by: parsed(T, k, ManagedBy::parse(row.get(9)))?,
        identifiers: json(T, k, row, 10)?,
        sources: json(T, k, row, 11)?,
    };
    Ok(StoredFacility {
        facility,
        updated_at: row.get(12),
        version: row.get(13),
    })
}

fn admin_unit_from_row(row: &Row) -> Result<StoredAdminUnit, StoreError> {
    const T: &str = "admin_units";
    let code_text: String = row.get(0);
    let k = code_text.as_str();
    let unit = AdminUnit {
        code: parsed(T, k, AdminCode::parse(k))?,
        level: parsed(T, k, AdminLevel::parse(row.get(1)))?,
        kind: parsed(T, k, AdminKind::parse(row.get(2)))?,
        name_km: parsed(T, k, Name::parse(row.get(3)))?,
        name_latin: opt_parsed(T, k, row.get(4), Name::parse)?,
        parent_code: opt_parsed(T, k, row.get(5), AdminCode::parse)?,
        sources: json(T, k, row, 6)?,
    };
    Ok(StoredAdminUnit {
        unit,
        updated_at: row.get(7),
        version: row.get(8),
    })
}

fn json<T: serde::de::DeserializeOwned>(
    table: &'static str,
    key: &str,
    row: &Row,
    idx: usize,
) -> Result<T, StoreError> {
    // Straight from the row's bytes to T, with no serde_json::Value between.
    row.try_get::<_, Json<T>>(idx)
        .map(|Json(v)| v)
        .map_err(|e| StoreError::corrupt(table, key, e))
}
