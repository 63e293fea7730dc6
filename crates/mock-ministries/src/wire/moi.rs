//! MoI gazetteer: `GET /api/v1/gazetteer/units?page=N&per_page=M[&updated_since=RFC3339]`.

use serde::Serialize;

use super::{Query, content_page, millis, select};
use crate::MockError;
use crate::clock;
use crate::faults::Delivery;
use crate::vocabulary::respell;
use crate::world::World;

pub(crate) const DEFAULT_PER_PAGE: usize = 100;

#[derive(Serialize)]
struct UnitsPage<'a> {
    page: usize,
    per_page: usize,
    total: usize,
    items: Vec<Unit<'a>>,
}

#[derive(Serialize)]
struct Unit<'a> {
    code: &'a str,
    type_km: &'a str,
    name_km: &'a str,
    name_en: Option<String>,
    parent_code: Option<&'a str>,
    updated_at: String,
}

/// `updated_since` keeps units updated at or after the time (>=).
pub(crate) fn units(
    world: &World,
    query: &Query,
    delivery: Delivery,
) -> Result<Vec<u8>, MockError> {
    let page = query.page("page")?;
    let per_page = query.size("per_page", DEFAULT_PER_PAGE, 1)?;
    let since = match query.get("updated_since") {
        None => None,
        Some(v) => Some(clock::parse_rfc3339_millis(v).ok_or_else(|| {
            MockError::BadRequest(format!("updated_since {v:?} is not an RFC 3339 time"))
        })?),
    };
    let keep = |u: &crate::world::UnitRecord| since.is_none_or(|s| millis(u.updated) >= s);
    let selection = select(&world.units, keep, content_page(page, delivery), per_page);
    let items = selection
        .indices
        .iter()
        .map(|i| {
            let u = &world.units[*i as usize];
            Unit {
                code: &u.code,
                type_km: u.type_km,
                name_km: &u.name_km,
                name_en: u
                    .name_en
                    .as_ref()
                    .map(|n| if u.respelled { respell(n) } else { n.clone() }),
                parent_code: u.parent_code.as_deref(),
                updated_at: clock::utc_z(u.updated),
            }
        })
        .collect();
    Ok(serde_json::to_vec(&UnitsPage {
        page,
        per_page,
        total: selection.total,
        items,
    })?)
}
