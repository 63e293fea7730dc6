//! DHIS2 organisation units: the page envelope, the times DHIS2 writes, and the mapping
//! of a facility-level unit to a [`FacilityReport`]. Pure functions, no HTTP.

use adapter_core::text_field;
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use schema::{
    AdminCode, AdminLevel, FacilityKind, FacilityReport, FacilityStatus, GeoPoint,
    IdentifierSystem, ManagedBy, Ministry, Name, ParseError, SourceIdentifier,
};
use serde_json::Value;

/// The hierarchy level of facilities: 1 country, 2 province health department,
/// 3 operational district, 4 facility.
pub const FACILITY_LEVEL: u64 = 4;
/// The attribute carrying a facility's commune (gazetteer code).
pub const ATTR_ADMIN_CODE: &str = "ADMIN_CODE";
/// The attribute carrying who runs a facility, when it is not the ministry.
pub const ATTR_MANAGED_BY: &str = "MANAGED_BY";
/// The fields asked of `/api/organisationUnits.json`.
pub const FIELDS: &str = "id,code,name,shortName,level,path,parent[id],geometry,openingDate,closedDate,\
lastUpdated,organisationUnitGroups[code],attributeValues[value,attribute[code]]";

/// DHIS2 here writes local times without a zone: Cambodia is UTC+7, all year.
const CAMBODIA_OFFSET_HOURS: i64 = 7;

/// Reads a DHIS2 time. Without a zone (`2024-01-23T14:05:00.000`, as DHIS2 writes
/// `lastUpdated`) it is Cambodian time, UTC+7; with `Z` or an offset it is read as
/// written. A bare date is midnight Cambodian time.
pub fn parse_dhis2_time(input: &str) -> Result<DateTime<Utc>, String> {
    let s = input.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.to_utc());
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%.f%:z"] {
        if let Ok(t) = DateTime::parse_from_str(s, format) {
            return Ok(t.to_utc());
        }
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(local) = NaiveDateTime::parse_from_str(s, format) {
            return Ok(from_cambodian(local));
        }
    }
    if let Ok(day) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(from_cambodian(day.and_time(chrono::NaiveTime::MIN)));
    }
    Err(format!(
        "{input:?} is not a DHIS2 time (expected yyyy-MM-ddTHH:mm:ss.SSS, Cambodian time, or RFC 3339)"
    ))
}

fn from_cambodian(local: NaiveDateTime) -> DateTime<Utc> {
    (local - Duration::hours(CAMBODIA_OFFSET_HOURS)).and_utc()
}

/// Writes an instant as DHIS2 does: Cambodian time without a zone,
/// `yyyy-MM-ddTHH:mm:ss.SSS`.
pub fn format_dhis2_time(t: DateTime<Utc>) -> String {
    (t + Duration::hours(CAMBODIA_OFFSET_HOURS))
        .naive_utc()
        .format("%Y-%m-%dT%H:%M:%S%.3f")
        .to_string()
}

/// The `filter` value of an incremental pull: units changed after `since`, less
/// `overlap` so a change written near the boundary (clock skew, a transaction that
/// committed late) is read again rather than missed. Unencoded.
pub fn since_filter(since: DateTime<Utc>, overlap: Duration) -> String {
    format!("lastUpdated:gt:{}", format_dhis2_time(since - overlap))
}

/// One page of `/api/organisationUnits.json`, as read from its envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct OrgUnitPage {
    /// The units, each as raw JSON.
    pub units: Vec<Value>,
    /// `pager.page`, when the server said it.
    pub page: Option<u64>,
    /// `pager.pageCount`, when the server said it.
    pub page_count: Option<u64>,
    /// Whether `pager.nextPage` is set.
    pub has_next_page: bool,
}

impl OrgUnitPage {
    /// Whether the page at `requested` is the last: `pager.page >= pager.pageCount`
    /// when the server counts pages, else no `nextPage`. An empty page is the last
    /// whatever the pager says, so a server that miscounts cannot keep a pull going.
    pub fn is_last(&self, requested: u64) -> bool {
        if self.units.is_empty() {
            return true;
        }
        match self.page_count {
            Some(count) => self.page.unwrap_or(requested) >= count,
            None => !self.has_next_page,
        }
    }

    /// The id of the first unit on the page, whatever its level: the guard against
    /// a page served twice.
    pub fn first_id(&self) -> Option<String> {
        self.units.first().and_then(|u| text_field(u, "id"))
    }
}

/// Reads the envelope `{"pager": {...}, "organisationUnits": [...]}`.
pub fn read_org_unit_page(body: Value) -> Result<OrgUnitPage, String> {
    let Value::Object(mut body) = body else {
        return Err("the page is not a JSON object".to_owned());
    };
    let units = match body.remove("organisationUnits") {
        Some(Value::Array(units)) => units,
        Some(_) => return Err("organisationUnits is not an array".to_owned()),
        None => return Err("no organisationUnits array".to_owned()),
    };
    let pager = match body.get("pager") {
        Some(p @ Value::Object(_)) => p,
        _ => return Err("no pager object (asked with paging=true)".to_owned()),
    };
    let number = |field: &str| -> Result<Option<u64>, String> {
        match pager.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => as_u64(v)
                .map(Some)
                .ok_or_else(|| format!("pager.{field} is not a page number: {v}")),
        }
    };
    Ok(OrgUnitPage {
        page: number("page")?,
        page_count: number("pageCount")?,
        has_next_page: text_field(pager, "nextPage").is_some(),
        units,
    })
}

fn as_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A unit's level: `level`, or else the depth of its `path` (`/root/prov/od/unit`).
pub fn unit_level(raw: &Value) -> Result<u64, ParseError> {
    match raw.get("level") {
        Some(v) if !v.is_null() => {
            return as_u64(v).ok_or_else(|| {
                ParseError::new("level", "is not a level number").with_value(v.to_string())
            });
        }
        _ => {}
    }
    match text_field(raw, "path") {
        Some(path) => Ok(path.split('/').filter(|s| !s.is_empty()).count() as u64),
        None => Err(ParseError::new(
            "level",
            "missing, and no path to count it from",
        )),
    }
}

/// A DHIS2 time field, read by [`parse_dhis2_time`].
fn dhis2_time(field: &str, value: &str) -> Result<DateTime<Utc>, ParseError> {
    parse_dhis2_time(value).map_err(|_| {
        ParseError::new(
            field,
            "is not a DHIS2 time (expected yyyy-MM-ddTHH:mm:ss.SSS, Cambodian time, or RFC 3339)",
        )
        .with_value(value)
    })
}

/// The facility an organisation unit describes.
///
/// - `Ok(None)`: the unit is not a facility (a level other than 4: the country, a
///   province health department, an operational district). It is skipped, not
///   rejected.
/// - `Err(reason)`: a level-4 unit that cannot be read; `reason` names the field.
/// - A missing or invalid `ADMIN_CODE` attribute (or one that is not a commune's) is
///   no rejection: the facility is reported with `admin_unit_code: None`, unplaced,
///   for a reconciliation to report.
///
/// `now` decides whether a `closedDate` has come yet.
pub fn facility_from_org_unit(
    raw: &Value,
    now: DateTime<Utc>,
) -> Result<Option<FacilityReport>, ParseError> {
    if !raw.is_object() {
        return Err(ParseError::new("organisation unit", "not a JSON object"));
    }
    if unit_level(raw)? != FACILITY_LEVEL {
        return Ok(None);
    }
    let id = text_field(raw, "id").ok_or_else(|| ParseError::new("id", "missing"))?;
    let kind = kind_from_groups(raw)?;
    let name_km = match text_field(raw, "name") {
        Some(name) => Name::parse(&name).map_err(|e| e.in_field("name"))?,
        None => return Err(ParseError::new("name", "missing or empty")),
    };
    let name_latin = text_field(raw, "shortName")
        .filter(|s| !has_khmer(s))
        .and_then(|s| Name::parse(&s).ok());
    let admin_unit_code = commune_of(&id, attribute(raw, ATTR_ADMIN_CODE));
    let managed_by = attribute(raw, ATTR_MANAGED_BY)
        .map(|v| ManagedBy::parse(&v).map_err(|e| e.in_field(ATTR_MANAGED_BY)))
        .transpose()?;
    let location = match raw.get("geometry") {
        None | Some(Value::Null) => None,
        // A facility's position is no personal value: the rule may say what is wrong.
        Some(g) => Some(
            point_of_geometry(g)
                .map_err(|e| ParseError::new("geometry", e).with_value(g.to_string()))?,
        ),
    };
    let closed = text_field(raw, "closedDate")
        .map(|d| dhis2_time("closedDate", &d))
        .transpose()?;
    let status = match closed {
        Some(t) if t <= now => FacilityStatus::Closed,
        _ => FacilityStatus::Open,
    };
    let updated_at = text_field(raw, "lastUpdated")
        .map(|t| dhis2_time("lastUpdated", &t))
        .transpose()?;
    let mut identifiers = vec![SourceIdentifier::of(IdentifierSystem::MohDhis2, id.clone())];
    if let Some(code) = text_field(raw, "code") {
        identifiers.push(SourceIdentifier::of(IdentifierSystem::MohCode, code));
    }
    Ok(Some(FacilityReport {
        source: Ministry::Moh,
        source_id: id,
        identifiers,
        sector: kind.sector(),
        kind,
        name_km,
        name_latin,
        admin_unit_code,
        location,
        status,
        managed_by,
        updated_at,
    }))
}

/// The kind a facility's group codes say: `NH`, `PH`, `RH`, `HC`, `HP`.
fn kind_from_groups(raw: &Value) -> Result<FacilityKind, ParseError> {
    let codes: Vec<String> = raw
        .get("organisationUnitGroups")
        .and_then(Value::as_array)
        .map(|groups| {
            groups
                .iter()
                .filter_map(|g| text_field(g, "code"))
                .collect()
        })
        .unwrap_or_default();
    let mut kinds: Vec<FacilityKind> = codes.iter().filter_map(|c| kind_of_group(c)).collect();
    kinds.dedup();
    const WHAT: &str = "organisationUnitGroups";
    match kinds.as_slice() {
        [kind] => Ok(*kind),
        [] if codes.is_empty() => Err(ParseError::new(
            WHAT,
            "no group code; a facility needs RH, HC or HP (or NH, PH)",
        )),
        [] => Err(ParseError::new(
            WHAT,
            "none of the group codes is a facility kind (RH, HC, HP, NH, PH)",
        )
        .with_value(codes.join(","))),
        _ => Err(
            ParseError::new(WHAT, "the group codes name more than one facility kind")
                .with_value(codes.join(",")),
        ),
    }
}

fn kind_of_group(code: &str) -> Option<FacilityKind> {
    match code.trim().to_ascii_uppercase().as_str() {
        "NH" => Some(FacilityKind::NationalHospital),
        "PH" => Some(FacilityKind::ProvincialHospital),
        "RH" => Some(FacilityKind::ReferralHospital),
        "HC" => Some(FacilityKind::HealthCentre),
        "HP" => Some(FacilityKind::HealthPost),
        _ => None,
    }
}

/// The value of the attribute with `code`, when set and not blank.
fn attribute(raw: &Value, code: &str) -> Option<String> {
    raw.get("attributeValues")?
        .as_array()?
        .iter()
        .find_map(|av| {
            let attr_code = av.get("attribute").and_then(|a| text_field(a, "code"))?;
            attr_code
                .eq_ignore_ascii_case(code)
                .then(|| text_field(av, "value"))
                .flatten()
        })
}

/// The place an organisation unit names: its `ADMIN_CODE` attribute, when that reads as
/// a gazetteer code (of any level). Where a rejected unit is held.
pub fn place_of_org_unit(raw: &Value) -> Option<AdminCode> {
    attribute(raw, ATTR_ADMIN_CODE).and_then(|v| AdminCode::parse(&v).ok())
}

/// The commune named by `ADMIN_CODE`, or none (unplaced) when it is missing, unreadable
/// or not a commune's code.
fn commune_of(id: &str, value: Option<String>) -> Option<AdminCode> {
    let Some(value) = value else {
        tracing::debug!(unit = id, "no ADMIN_CODE: facility unplaced");
        return None;
    };
    match AdminCode::parse(&value) {
        Ok(code) if code.level() == AdminLevel::Commune => Some(code),
        Ok(code) => {
            tracing::debug!(unit = id, %code, level = code.level().as_str(), "ADMIN_CODE is not a commune: facility unplaced");
            None
        }
        Err(e) => {
            tracing::debug!(unit = id, error = %e, "unreadable ADMIN_CODE: facility unplaced");
            None
        }
    }
}

/// Whether the text has any Khmer character (U+1780–U+17FF, or the Khmer symbols
/// U+19E0–U+19FF).
pub fn has_khmer(s: &str) -> bool {
    s.chars()
        .any(|c| matches!(c, '\u{1780}'..='\u{17FF}' | '\u{19E0}'..='\u{19FF}'))
}

/// The point a GeoJSON geometry stands for: a `Point` itself; for a `Polygon` the
/// area-weighted centroid of its outer ring (the vertex mean when the ring has no
/// area); for a `MultiPolygon` the area-weighted centroid of its polygons' outer
/// rings.
pub fn point_of_geometry(geometry: &Value) -> Result<GeoPoint, String> {
    let kind = text_field(geometry, "type").ok_or("no type")?;
    let coordinates = geometry
        .get("coordinates")
        .ok_or_else(|| format!("{kind} without coordinates"))?;
    let (lon, lat) = match kind.as_str() {
        "Point" => position(coordinates)
            .ok_or_else(|| format!("Point coordinates {coordinates} are not [lon, lat]"))?,
        "Polygon" => centroid(&[outer_ring(coordinates)?])?,
        "MultiPolygon" => {
            let polygons = coordinates
                .as_array()
                .ok_or("MultiPolygon coordinates are not an array")?;
            let rings = polygons
                .iter()
                .map(outer_ring)
                .collect::<Result<Vec<_>, _>>()?;
            centroid(&rings)?
        }
        other => return Err(format!("{other} is not a Point or a Polygon")),
    };
    GeoPoint::parse(lat, lon).map_err(|e| e.to_string())
}

/// `[lon, lat, ...]` as numbers.
fn position(v: &Value) -> Option<(f64, f64)> {
    let a = v.as_array()?;
    let (lon, lat) = (a.first()?.as_f64()?, a.get(1)?.as_f64()?);
    (lon.is_finite() && lat.is_finite()).then_some((lon, lat))
}

fn outer_ring(polygon: &Value) -> Result<Vec<(f64, f64)>, String> {
    let ring = polygon
        .as_array()
        .and_then(|rings| rings.first())
        .and_then(Value::as_array)
        .ok_or("polygon has no outer ring")?;
    let points = ring
        .iter()
        .enumerate()
        .map(|(i, p)| {
            position(p).ok_or_else(|| format!("polygon position {i} ({p}) is not [lon, lat]"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if points.is_empty() {
        return Err("polygon's outer ring is empty".to_owned());
    }
    Ok(points)
}

/// The area-weighted centroid of `rings` (each a closed or unclosed ring of
/// `(lon, lat)`), in plane coordinates; the mean of their vertices when the total area
/// is nil (a degenerate ring: a line or a point).
fn centroid(rings: &[Vec<(f64, f64)>]) -> Result<(f64, f64), String> {
    let origin = rings
        .iter()
        .flatten()
        .next()
        .copied()
        .ok_or("polygon has no positions")?;
    let (mut area2, mut cx, mut cy) = (0.0, 0.0, 0.0);
    for ring in rings {
        let n = ring.len();
        let (mut a, mut x, mut y) = (0.0, 0.0, 0.0);
        for i in 0..n {
            let (x0, y0) = (ring[i].0 - origin.0, ring[i].1 - origin.1);
            let (x1, y1) = (
                ring[(i + 1) % n].0 - origin.0,
                ring[(i + 1) % n].1 - origin.1,
            );
            let cross = x0 * y1 - x1 * y0;
            a += cross;
            x += (x0 + x1) * cross;
            y += (y0 + y1) * cross;
        }
        // Rings wound either way (RFC 7946 asks for counter-clockwise; not every
        // source does) all add their area.
        let sign = if a < 0.0 { -1.0 } else { 1.0 };
        area2 += sign * a;
        cx += sign * x;
        cy += sign * y;
    }
    if area2.abs() > 1e-12 {
        return Ok((origin.0 + cx / (3.0 * area2), origin.1 + cy / (3.0 * area2)));
    }
    let vertices: Vec<(f64, f64)> = rings
        .iter()
        .flat_map(|ring| {
            // The closing position repeats the first: count it once.
            let closed = ring.len() > 1 && ring.first() == ring.last();
            ring[..ring.len() - usize::from(closed)].iter().copied()
        })
        .collect();
    let n = vertices.len() as f64;
    let (sx, sy) = vertices
        .iter()
        .fold((0.0, 0.0), |(sx, sy), (x, y)| (sx + x, sy + y));
    Ok((sx / n, sy / n))
}
