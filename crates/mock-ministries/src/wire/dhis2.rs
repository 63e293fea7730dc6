//! MoH facilities, DHIS2 Web API: `GET /api/organisationUnits.json?paging=true&page=N
//! &pageSize=M&fields=...[&filter=lastUpdated:gt:ISO]`.

use serde::Serialize;
use serde_json::{Value, json};

use super::{Query, content_page, millis, page_count, select};
use crate::MockError;
use crate::clock;
use crate::faults::Delivery;
use crate::vocabulary::respell;
use crate::world::{Geometry, OrgUnit, World};

pub(crate) const DEFAULT_PAGE_SIZE: usize = 50;
pub(crate) const PATH: &str = "/api/organisationUnits.json";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UnitsPage {
    #[serde(skip_serializing_if = "Option::is_none")]
    pager: Option<Pager>,
    organisation_units: Vec<Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Pager {
    page: usize,
    page_count: usize,
    total: usize,
    page_size: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page: Option<String>,
}

/// One `filter` condition.
enum Condition {
    /// `lastUpdated:gt:` (strictly after) or `lastUpdated:ge:`, in milliseconds.
    UpdatedAfter { millis: i64, inclusive: bool },
    /// `level:eq:N`.
    Level(u8),
}

fn condition(filter: &str) -> Result<Condition, MockError> {
    let bad = || {
        MockError::BadRequest(format!(
            "unsupported filter {filter:?}: use lastUpdated:gt:<time>, lastUpdated:ge:<time> or level:eq:<n>"
        ))
    };
    let mut parts = filter.splitn(3, ':');
    let (Some(field), Some(op), Some(value)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    match (field, op) {
        ("lastUpdated", "gt" | "ge") => {
            let millis = clock::parse_cambodia_local_millis(value).ok_or_else(|| {
                MockError::BadRequest(format!("filter time {value:?} is not a date-time"))
            })?;
            Ok(Condition::UpdatedAfter {
                millis,
                inclusive: op == "ge",
            })
        }
        ("level", "eq") => value
            .trim()
            .parse()
            .map(Condition::Level)
            .map_err(|_| bad()),
        _ => Err(bad()),
    }
}

/// The organisation units, all levels, ordered by id. `filter=lastUpdated:gt:T` keeps
/// units updated strictly after T (Cambodian local time, like `lastUpdated`).
pub(crate) fn org_units(
    world: &World,
    query: &Query,
    base_url: &str,
    delivery: Delivery,
) -> Result<Vec<u8>, MockError> {
    let conditions = query
        .all("filter")
        .map(condition)
        .collect::<Result<Vec<_>, _>>()?;
    let keep = |u: &OrgUnit| {
        conditions.iter().all(|c| match c {
            Condition::UpdatedAfter {
                millis: t,
                inclusive,
            } => {
                let at = millis(u.updated);
                at > *t || (*inclusive && at == *t)
            }
            Condition::Level(l) => u.level == *l,
        })
    };
    let paging = !matches!(query.get("paging"), Some("false"));
    let (page, size) = if paging {
        (
            query.page("page")?,
            query.size("pageSize", DEFAULT_PAGE_SIZE, 1)?,
        )
    } else {
        (1, usize::MAX)
    };
    let selection = select(&world.org_units, keep, content_page(page, delivery), size);
    let organisation_units = selection
        .indices
        .iter()
        .map(|i| unit(world, &world.org_units[*i as usize]))
        .collect();
    let pager = paging.then(|| {
        let page_count = page_count(selection.total, size).max(1);
        Pager {
            page,
            page_count,
            total: selection.total,
            page_size: size,
            next_page: (page < page_count).then(|| {
                format!(
                    "{base_url}{PATH}?{}",
                    query.with("page", &(page + 1).to_string())
                )
            }),
        }
    });
    Ok(serde_json::to_vec(&UnitsPage {
        pager,
        organisation_units,
    })?)
}

fn unit(world: &World, u: &OrgUnit) -> Value {
    let mut path = vec![u.uid.as_str()];
    let mut parent = u.parent;
    while let Some(p) = parent {
        let p = &world.org_units[p as usize];
        path.push(&p.uid);
        parent = p.parent;
    }
    path.reverse();
    let short_name = if u.respelled {
        respell(&u.short_name)
    } else {
        u.short_name.clone()
    };
    let mut v = json!({
        "id": u.uid,
        "code": u.code,
        "name": u.name,
        "shortName": short_name,
        "level": u.level,
        "path": format!("/{}", path.join("/")),
    });
    let Some(map) = v.as_object_mut() else {
        return v;
    };
    if let Some(p) = u.parent {
        map.insert(
            "parent".into(),
            json!({ "id": world.org_units[p as usize].uid }),
        );
    }
    match u.geometry {
        Geometry::None => {}
        Geometry::Point(lon, lat) => {
            map.insert(
                "geometry".into(),
                json!({ "type": "Point", "coordinates": [lon, lat] }),
            );
        }
        Geometry::Polygon(lon, lat) => {
            let d = 0.004;
            let round = |x: f64| (x * 1e6).round() / 1e6;
            let ring: Vec<[f64; 2]> = [(-d, -d), (d, -d), (d, d), (-d, d), (-d, -d)]
                .iter()
                .map(|(dx, dy)| [round(lon + dx), round(lat + dy)])
                .collect();
            map.insert(
                "geometry".into(),
                json!({ "type": "Polygon", "coordinates": [ring] }),
            );
        }
    }
    map.insert(
        "openingDate".into(),
        Value::String(clock::date_as_local_millis(u.opening)),
    );
    if let Some(closed) = u.closed {
        map.insert(
            "closedDate".into(),
            Value::String(clock::date_as_local_millis(closed)),
        );
    }
    map.insert(
        "lastUpdated".into(),
        Value::String(clock::cambodia_local_millis(u.updated)),
    );
    let groups: Vec<Value> = u
        .kind
        .map(|k| json!({ "code": k.group() }))
        .into_iter()
        .collect();
    map.insert("organisationUnitGroups".into(), Value::Array(groups));
    let mut attributes = Vec::new();
    if let Some(code) = &u.admin_code {
        attributes.push(json!({ "value": code, "attribute": { "code": "ADMIN_CODE" } }));
    }
    if let Some(district) = &u.managed_by {
        attributes.push(json!({ "value": district, "attribute": { "code": "MANAGED_BY" } }));
    }
    map.insert("attributeValues".into(), Value::Array(attributes));
    v
}
