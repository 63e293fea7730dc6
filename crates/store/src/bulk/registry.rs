//! The registry's own tables written in bulk: gazetteer units, facilities, staff and
//! assignments. Each is versioned: a row whose content changed takes the next
//! `record_version` and its time, an unchanged one is left alone. Facilities and staff
//! index their source identifiers in the same statement.

use std::sync::{LazyLock, OnceLock};

use schema::{AdminUnit, Assignment, Facility, Staff};
use tokio_postgres::types::Json;

use super::{
    Column, Duplicates, OnConflict, Outcome, Stamp, Table, each, opt_as_str, search_key, sorted,
};

/// The registry's versioned tables: a changed row takes a version and its time.
const VERSIONED: OnConflict = OnConflict::UpdateWhenChanged(Stamp::VersionAndTime);

pub(super) static ADMIN_UNITS: Table<AdminUnit> = Table {
    name: "admin_units",
    columns: &[
        Column::key("code", "text", |rows| each(rows, |u| u.code.as_str())),
        Column::compared("level", "text", |rows| each(rows, |u| u.level.as_str())),
        Column::compared("kind", "text", |rows| each(rows, |u| u.kind.as_str())),
        Column::compared("name_km", "text", |rows| each(rows, |u| u.name_km.as_str())),
        Column::compared("name_latin", "text", |rows| {
            each(rows, |u| u.name_latin.as_ref().map(|n| n.as_str()))
        }),
        Column::compared("parent_code", "text", |rows| {
            each(rows, |u| u.parent_code.as_ref().map(|c| c.as_str()))
        }),
        Column::carried("sources", "jsonb", |rows| each(rows, |u| Json(&u.sources))),
        Column::carried("search", "text", |rows| {
            each(rows, |u| {
                search_key(&[
                    u.name_km.as_str(),
                    opt_as_str(&u.name_latin),
                    u.code.as_str(),
                ])
            })
        }),
    ],
    on_conflict: VERSIONED,
    duplicates: Duplicates::NoneSent,
    outcome: Outcome::Counts,
    identifiers_of: None,
    statement: OnceLock::new(),
};

pub(super) static FACILITIES: Table<Facility> = Table {
    name: "facilities",
    columns: &[
        Column::key("id", "uuid", |rows| each(rows, |f| f.id)),
        Column::compared("sector", "text", |rows| each(rows, |f| f.sector.as_str())),
        Column::compared("kind", "text", |rows| each(rows, |f| f.kind.as_str())),
        Column::compared("name_km", "text", |rows| each(rows, |f| f.name_km.as_str())),
        Column::compared("name_latin", "text", |rows| {
            each(rows, |f| f.name_latin.as_ref().map(|n| n.as_str()))
        }),
        Column::compared("admin_unit_code", "text", |rows| {
            each(rows, |f| f.admin_unit_code.as_ref().map(|c| c.as_str()))
        }),
        Column::compared("latitude", "float8", |rows| {
            each(rows, |f| f.location.map(|l| l.lat))
        }),
        Column::compared("longitude", "float8", |rows| {
            each(rows, |f| f.location.map(|l| l.lon))
        }),
        Column::compared("status", "text", |rows| each(rows, |f| f.status.as_str())),
        Column::compared("managed_by", "text", |rows| {
            each(rows, |f| f.managed_by.to_string())
        }),
        Column::compared("identifiers", "jsonb", |rows| {
            each(rows, |f| Json(sorted(&f.identifiers)))
        }),
        Column::carried("sources", "jsonb", |rows| each(rows, |f| Json(&f.sources))),
        Column::carried("search", "text", |rows| {
            each(rows, |f| {
                let mut parts = vec![f.name_km.as_str(), opt_as_str(&f.name_latin)];
                parts.extend(f.identifiers.iter().map(|i| i.value.as_str()));
                search_key(&parts)
            })
        }),
    ],
    on_conflict: VERSIONED,
    duplicates: Duplicates::NoneSent,
    outcome: Outcome::Counts,
    identifiers_of: Some("facility"),
    statement: OnceLock::new(),
};

const STAFF_COLUMNS: &[Column<Staff>] = &[
    Column::key("id", "uuid", |rows| each(rows, |s| s.id)),
    Column::compared("civil_servant_id", "text", |rows| {
        each(rows, |s| s.civil_servant_id.as_ref().map(|c| c.as_str()))
    }),
    Column::compared("national_id", "text", |rows| {
        each(rows, |s| s.national_id.as_ref().map(|c| c.as_str()))
    }),
    Column::compared("birth_date", "date", |rows| {
        each(rows, |s| s.birth_date.map(schema::Date::naive))
    }),
    Column::compared("name_km", "text", |rows| each(rows, |s| s.name_km.as_str())),
    Column::compared("name_latin", "text", |rows| {
        each(rows, |s| s.name_latin.as_ref().map(|n| n.as_str()))
    }),
    Column::compared("sex", "text", |rows| {
        each(rows, |s| s.sex.map(schema::Sex::as_str))
    }),
    Column::compared("employer", "text", |rows| {
        each(rows, |s| s.employer.as_ref().map(ToString::to_string))
    }),
    Column::compared("grade", "text", |rows| each(rows, |s| s.grade.as_deref())),
    Column::compared("status", "text", |rows| each(rows, |s| s.status.as_str())),
    Column::compared("admin_unit_code", "text", |rows| {
        each(rows, |s| s.admin_unit_code.as_ref().map(|c| c.as_str()))
    }),
    Column::compared("identifiers", "jsonb", |rows| {
        each(rows, |s| Json(sorted(&s.identifiers)))
    }),
    Column::carried("sources", "jsonb", |rows| each(rows, |s| Json(&s.sources))),
    Column::carried("search", "text", |rows| {
        each(rows, |s| {
            search_key(&[
                s.name_km.as_str(),
                opt_as_str(&s.name_latin),
                s.civil_servant_id.as_ref().map_or("", |c| c.as_str()),
            ])
        })
    }),
];

/// Staff, their identifiers indexed in the same statement.
pub(super) static STAFF: Table<Staff> = Table {
    name: "staff",
    columns: STAFF_COLUMNS,
    on_conflict: VERSIONED,
    duplicates: Duplicates::NoneSent,
    outcome: Outcome::Counts,
    identifiers_of: Some("staff"),
    statement: OnceLock::new(),
};

/// Staff alone: their identifiers are indexed beside ([`STAFF_IDENTIFIERS`]).
pub(super) static STAFF_ROWS: Table<Staff> = Table {
    identifiers_of: None,
    statement: OnceLock::new(),
    ..STAFF
};

/// Indexes staff records' source identifiers (what [`STAFF`] does in its statement).
pub(super) static STAFF_IDENTIFIERS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH input AS (SELECT * FROM unnest($1::uuid[], $2::jsonb[]) AS t(id, identifiers))\n{}",
        super::table::index_identifiers_sql("staff")
    )
});

pub(super) static ASSIGNMENTS: Table<Assignment> = Table {
    name: "assignments",
    columns: &[
        Column::key("id", "uuid", |rows| each(rows, |a| a.id)),
        Column::compared("staff_id", "uuid", |rows| each(rows, |a| a.staff_id)),
        Column::compared("facility_id", "uuid", |rows| each(rows, |a| a.facility_id)),
        Column::compared("admin_unit_code", "text", |rows| {
            each(rows, |a| a.admin_unit_code.as_ref().map(|c| c.as_str()))
        }),
        Column::compared("role", "text", |rows| each(rows, |a| a.role.as_str())),
        Column::compared("source", "text", |rows| each(rows, |a| a.source.as_str())),
        Column::compared("start_date", "date", |rows| {
            each(rows, |a| a.start_date.map(schema::Date::naive))
        }),
        Column::compared("end_date", "date", |rows| {
            each(rows, |a| a.end_date.map(schema::Date::naive))
        }),
    ],
    on_conflict: VERSIONED,
    duplicates: Duplicates::NoneSent,
    outcome: Outcome::Counts,
    identifiers_of: None,
    statement: OnceLock::new(),
};
