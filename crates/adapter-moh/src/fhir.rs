//! FHIR R4 (iHRIS style): the searchset Bundle envelope, and the mapping of
//! `Practitioner` to a [`StaffReport`] and `PractitionerRole` to a [`RoleReport`].
//! Pure functions, no HTTP.

use adapter_core::text_field;
use chrono::{DateTime, Utc};
use schema::{
    CivilServantId, Date, IdentifierSystem, Ministry, Name, NationalId, ParseError, RoleReport,
    Sex, SourceIdentifier, StaffReport, StaffStatus,
};
use serde_json::Value;

use crate::dhis2::has_khmer;

/// The FHIR identifier system of the MCS officer id (read as `mcs:officer_id`).
pub const OFFICER_ID_URI: &str = "https://hrmis.mcs.gov.kh/officer-id";
/// The FHIR identifier system of the national identity card number.
pub const NATIONAL_ID_URI: &str = "https://gdi.gov.kh/national-id";

/// One page of a FHIR search: the resources of its entries and its `next` link.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchPage {
    /// `entry[].resource`, every type, in order.
    pub resources: Vec<Value>,
    /// `link[relation=next].url`, as given.
    pub next: Option<String>,
}

impl SearchPage {
    /// The id of the first resource of `resource_type`: the guard against a page
    /// served twice.
    pub fn first_id(&self, resource_type: &str) -> Option<String> {
        self.resources
            .iter()
            .find(|r| text_field(r, "resourceType").as_deref() == Some(resource_type))
            .and_then(|r| text_field(r, "id"))
    }
}

/// Reads a `searchset` Bundle. Anything else (an `OperationOutcome`, another bundle
/// type, entries that are not an array) is not a page of the feed.
pub fn read_searchset(body: Value) -> Result<SearchPage, String> {
    let resource_type = text_field(&body, "resourceType");
    if resource_type.as_deref() != Some("Bundle") {
        let issue = body
            .pointer("/issue/0/diagnostics")
            .and_then(Value::as_str)
            .map(|d| format!(" ({d})"))
            .unwrap_or_default();
        return Err(format!(
            "expected a Bundle, got resourceType {}{issue}",
            resource_type.as_deref().unwrap_or("(none)")
        ));
    }
    let bundle_type = text_field(&body, "type");
    if bundle_type.as_deref() != Some("searchset") {
        return Err(format!(
            "expected a searchset Bundle, got type {}",
            bundle_type.as_deref().unwrap_or("(none)")
        ));
    }
    let next = match body.get("link") {
        None | Some(Value::Null) => None,
        Some(Value::Array(links)) => links
            .iter()
            .find(|l| text_field(l, "relation").as_deref() == Some("next"))
            .and_then(|l| text_field(l, "url")),
        Some(_) => return Err("link is not an array".to_owned()),
    };
    let resources = match body.get("entry") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(entries)) => entries
            .iter()
            .filter_map(|e| {
                let resource = e.get("resource").filter(|r| r.is_object());
                if resource.is_none() {
                    tracing::warn!(entry = %e, "FHIR bundle entry without a resource: ignored");
                }
                resource.cloned()
            })
            .collect(),
        Some(_) => return Err("entry is not an array".to_owned()),
    };
    Ok(SearchPage { resources, next })
}

/// A `Practitioner` as a [`StaffReport`]. `Err` names the field and what was wrong.
///
/// Absent officer id: a contract worker, fine. An officer id or national id present
/// but unreadable is a rejection: a wrong linking key is worse than none.
pub fn staff_from_practitioner(raw: &Value) -> Result<StaffReport, ParseError> {
    expect_type(raw, "Practitioner")?;
    let id = text_field(raw, "id").ok_or_else(|| ParseError::new("id", "missing"))?;
    let civil_servant_id = identifier(raw, OFFICER_ID_URI, "identifier[officer-id]")?
        .map(|v| CivilServantId::parse(&v).map_err(|e| e.in_field("identifier[officer-id]")))
        .transpose()?;
    let national_id = identifier(raw, NATIONAL_ID_URI, "identifier[national-id]")?
        .map(|v| NationalId::parse(&v).map_err(|e| e.in_field("identifier[national-id]")))
        .transpose()?;
    let (name_km, name_latin) = names(raw)?;
    // The shared staff record is named in Khmer: a practitioner without an official
    // (Khmer) name cannot be placed, whatever Latin name it has.
    if name_km.is_none() {
        return Err(ParseError::new(
            "name[official]",
            "no official (Khmer) name",
        ));
    }
    let sex = match text_field(raw, "gender") {
        None => None,
        Some(g) if matches!(g.to_ascii_lowercase().as_str(), "other" | "unknown") => None,
        Some(g) => Some(Sex::parse(&g).map_err(|e| e.in_field("gender"))?),
    };
    let birth_date = text_field(raw, "birthDate")
        .map(|d| Date::parse(&d).map_err(|e| e.in_field("birthDate")))
        .transpose()?;
    let status = match raw.get("active") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(true)) => Some(StaffStatus::Active),
        Some(Value::Bool(false)) => Some(StaffStatus::Left),
        Some(v) => return Err(not_a_boolean(v)),
    };
    let updated_at = last_updated(raw)?;
    let mut identifiers = vec![SourceIdentifier::of(
        IdentifierSystem::MohFhirPractitioner,
        id.clone(),
    )];
    if let Some(officer) = &civil_servant_id {
        identifiers.push(SourceIdentifier::of(
            IdentifierSystem::McsOfficerId,
            officer.as_str(),
        ));
    }
    Ok(StaffReport {
        source: Ministry::Moh,
        source_id: id,
        identifiers,
        civil_servant_id,
        national_id,
        name_km,
        name_latin,
        sex,
        birth_date,
        employer: None,
        grade: None,
        status,
        posting: None,
        updated_at,
    })
}

/// A `PractitionerRole` as a [`RoleReport`]: the person by `practitioner.reference`,
/// the facility by `location[0].reference` (`Location/<DHIS2 org unit id>`).
pub fn role_from_practitioner_role(raw: &Value) -> Result<RoleReport, ParseError> {
    expect_type(raw, "PractitionerRole")?;
    let id = text_field(raw, "id").ok_or_else(|| ParseError::new("id", "missing"))?;
    let person_source_id = match raw
        .get("practitioner")
        .and_then(|p| text_field(p, "reference"))
    {
        None => {
            return Err(ParseError::new(
                "practitioner.reference",
                "missing: the role names no practitioner",
            ));
        }
        Some(r) => reference_id(&r, "Practitioner").ok_or_else(|| {
            ParseError::new(
                "practitioner.reference",
                "is not a reference to a Practitioner (Practitioner/<id>)",
            )
            .with_value(r.clone())
        })?,
    };
    let location = raw
        .get("location")
        .and_then(Value::as_array)
        .and_then(|l| l.first())
        .ok_or_else(|| ParseError::new("location", "missing: the role names no facility"))?;
    let facility = match text_field(location, "reference") {
        None => {
            return Err(ParseError::new(
                "location[0].reference",
                "missing: the role names no facility",
            ));
        }
        Some(r) => reference_id(&r, "Location").ok_or_else(|| {
            ParseError::new(
                "location[0].reference",
                "is not a reference to a Location (Location/<id>)",
            )
            .with_value(r.clone())
        })?,
    };
    let role = raw.pointer("/code/0").and_then(|code| {
        code.pointer("/coding/0")
            .and_then(|c| text_field(c, "code").or_else(|| text_field(c, "display")))
            .or_else(|| text_field(code, "text"))
    });
    let period_date = |field: &str| -> Result<Option<Date>, ParseError> {
        raw.get("period")
            .and_then(|p| text_field(p, field))
            .map(|d| {
                // A dateTime's date, as written (its own zone).
                let day = d.split('T').next().unwrap_or(&d);
                Date::parse(day).map_err(|e| e.in_field(&format!("period.{field}")))
            })
            .transpose()
    };
    let start_date = period_date("start")?;
    let end_date = period_date("end")?;
    let active = match raw.get("active") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(v) => return Err(not_a_boolean(v)),
    };
    Ok(RoleReport {
        source: Ministry::Moh,
        source_id: id,
        person_source_id,
        facility: SourceIdentifier::of(IdentifierSystem::MohDhis2, facility),
        role,
        start_date,
        end_date,
        active,
        updated_at: last_updated(raw)?,
    })
}

/// `meta.lastUpdated`, an RFC 3339 instant.
pub fn last_updated(raw: &Value) -> Result<Option<DateTime<Utc>>, ParseError> {
    raw.get("meta")
        .and_then(|m| text_field(m, "lastUpdated"))
        .map(|t| {
            DateTime::parse_from_rfc3339(&t)
                .map(|t| t.to_utc())
                .map_err(|e| {
                    ParseError::new(
                        "meta.lastUpdated",
                        format!("is not an RFC 3339 instant ({e})"),
                    )
                    .with_value(t.clone())
                })
        })
        .transpose()
}

fn not_a_boolean(v: &Value) -> ParseError {
    ParseError::new("active", "is not true or false").with_value(v.to_string())
}

/// The id a reference points to: `Practitioner/abc`, an absolute
/// `https://host/fhir/Practitioner/abc`, with or without `/_history/N`.
pub fn reference_id(reference: &str, resource_type: &str) -> Option<String> {
    let path = reference.trim();
    let path = match path.find("/_history/") {
        Some(i) => &path[..i],
        None => path,
    };
    let (before, id) = path.rsplit_once('/')?;
    let type_matches = before == resource_type || before.ends_with(&format!("/{resource_type}"));
    let id_ok = (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    (type_matches && id_ok).then(|| id.to_owned())
}

fn expect_type(raw: &Value, expected: &str) -> Result<(), ParseError> {
    match text_field(raw, "resourceType") {
        Some(t) if t == expected => Ok(()),
        other => Err(
            ParseError::new("resourceType", format!("expected {expected}"))
                .with_value(other.unwrap_or_else(|| "(none)".to_owned())),
        ),
    }
}

/// The value of the identifier of `system` (the first one not marked `old`). Present
/// without a value is an error named `field`.
fn identifier(raw: &Value, system: &str, field: &str) -> Result<Option<String>, ParseError> {
    let Some(ids) = raw.get("identifier").and_then(Value::as_array) else {
        return Ok(None);
    };
    let mut matching = ids
        .iter()
        .filter(|i| text_field(i, "system").as_deref() == Some(system))
        .filter(|i| text_field(i, "use").as_deref() != Some("old"));
    match matching.next() {
        None => Ok(None),
        Some(i) => text_field(i, "value")
            .map(Some)
            .ok_or_else(|| ParseError::new(field, format!("the {system} identifier has no value"))),
    }
}

/// The Khmer name (the `official` HumanName's `text`) and the Latin one (the `usual`
/// HumanName's `text`, else its `given` then `family`). An `official` name without a
/// `text` is built family first, as Khmer names are written. A HumanName with no
/// `use` counts as official if it is in Khmer script, usual otherwise, when no name
/// of that use is given. Blank names count as absent.
fn names(raw: &Value) -> Result<(Option<Name>, Option<Name>), ParseError> {
    let Some(names) = raw.get("name").and_then(Value::as_array) else {
        return Ok((None, None));
    };
    let with_use = |u: &str| {
        names
            .iter()
            .find(|n| text_field(n, "use").as_deref() == Some(u))
    };
    let without_use = |khmer: bool| {
        names.iter().find(|n| {
            text_field(n, "use").is_none()
                && human_name_text(n, khmer).is_some_and(|t| has_khmer(&t) == khmer)
        })
    };
    let km = with_use("official").or_else(|| without_use(true));
    let latin = with_use("usual").or_else(|| without_use(false));
    let read = |n: Option<&Value>, khmer: bool, field: &str| -> Result<Option<Name>, ParseError> {
        match n.and_then(|n| human_name_text(n, khmer)) {
            None => Ok(None),
            Some(t) => Name::parse(&t).map(Some).map_err(|e| e.in_field(field)),
        }
    };
    Ok((
        read(km, true, "name[official]")?,
        read(latin, false, "name[usual]")?,
    ))
}

/// A HumanName's text: `text`, else its parts (`family given` for Khmer, `given
/// family` for Latin).
fn human_name_text(name: &Value, khmer_order: bool) -> Option<String> {
    if let Some(text) = text_field(name, "text") {
        return Some(text);
    }
    let family = text_field(name, "family");
    let given: Vec<String> = name
        .get("given")
        .and_then(Value::as_array)
        .map(|g| {
            g.iter()
                .filter_map(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let given = (!given.is_empty()).then(|| given.join(" "));
    let parts: Vec<String> = if khmer_order {
        [family, given]
    } else {
        [given, family]
    }
    .into_iter()
    .flatten()
    .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}
