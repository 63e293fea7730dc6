//! MoH health workers, FHIR R4 (iHRIS style): `GET /fhir/Practitioner?_count=M
//! [&_lastUpdated=gtISO]` and `GET /fhir/PractitionerRole?...`, searchset Bundles
//! followed through `link[relation=next].url`.

use serde_json::{Value, json};

use super::{Query, content_page, millis, select};
use crate::MockError;
use crate::clock;
use crate::faults::Delivery;
use crate::vocabulary::{HEALTH_ROLE_SYSTEM, HEALTH_ROLES};
use crate::world::{Conflict, Flaw, Practitioner, Role, Sex, World};

pub(crate) const DEFAULT_COUNT: usize = 50;
pub(crate) const OFFICER_ID_SYSTEM: &str = "https://hrmis.mcs.gov.kh/officer-id";
pub(crate) const NATIONAL_ID_SYSTEM: &str = "https://gdi.gov.kh/national-id";

/// The two resource types served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResourceType {
    Practitioner,
    PractitionerRole,
}

impl ResourceType {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Practitioner => "Practitioner",
            Self::PractitionerRole => "PractitionerRole",
        }
    }
}

/// One `_lastUpdated` condition: a prefix and a time in milliseconds.
struct Condition {
    prefix: &'static str,
    millis: i64,
}

impl Condition {
    fn parse(value: &str) -> Result<Self, MockError> {
        let (prefix, rest) = ["gt", "ge", "lt", "le", "eq"]
            .iter()
            .find_map(|p| value.strip_prefix(p).map(|r| (*p, r)))
            .unwrap_or(("eq", value));
        let millis = clock::parse_rfc3339_millis(rest).ok_or_else(|| {
            MockError::BadRequest(format!(
                "_lastUpdated {value:?} is not a prefix (gt, ge, lt, le) and an RFC 3339 time"
            ))
        })?;
        Ok(Self { prefix, millis })
    }

    fn keeps(&self, stamp: i64) -> bool {
        let at = millis(stamp);
        match self.prefix {
            "gt" => at > self.millis,
            "ge" => at >= self.millis,
            "lt" => at < self.millis,
            "le" => at <= self.millis,
            _ => at == self.millis,
        }
    }
}

/// A searchset Bundle of one page. `_lastUpdated=gtT` keeps resources updated
/// strictly after T; pages are addressed by `page` in the `next` link.
pub(crate) fn bundle(
    world: &World,
    resource: ResourceType,
    query: &Query,
    base_url: &str,
    delivery: Delivery,
) -> Result<Vec<u8>, MockError> {
    let conditions = query
        .all("_lastUpdated")
        .map(Condition::parse)
        .collect::<Result<Vec<_>, _>>()?;
    let count = query.size("_count", DEFAULT_COUNT, 0)?;
    let page = query.page("page")?;
    let keep = |stamp: i64| conditions.iter().all(|c| c.keeps(stamp));
    let path = format!("{base_url}/fhir/{}", resource.name());
    let (total, entries): (usize, Vec<Value>) = match resource {
        ResourceType::Practitioner => {
            let s = select(
                &world.practitioners,
                |p| keep(p.updated),
                content_page(page, delivery),
                count,
            );
            let entries = s
                .indices
                .iter()
                .map(|i| {
                    let p = &world.practitioners[*i as usize];
                    entry(&path, &p.id(), practitioner(world, p))
                })
                .collect();
            (s.total, entries)
        }
        ResourceType::PractitionerRole => {
            let s = select(
                &world.roles,
                |r| keep(r.updated),
                content_page(page, delivery),
                count,
            );
            let entries = s
                .indices
                .iter()
                .map(|i| {
                    let r = &world.roles[*i as usize];
                    entry(&path, &r.id(), role(world, r))
                })
                .collect();
            (s.total, entries)
        }
    };
    let mut links = vec![json!({
        "relation": "self",
        "url": format!("{path}?{}", query.with("page", &page.to_string())),
    })];
    if count > 0 && page * count < total {
        links.push(json!({
            "relation": "next",
            "url": format!("{path}?{}", query.with("page", &(page + 1).to_string())),
        }));
    }
    Ok(serde_json::to_vec(&json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": links,
        "entry": entries,
    }))?)
}

fn entry(path: &str, id: &str, resource: Value) -> Value {
    json!({
        "fullUrl": format!("{path}/{id}"),
        "resource": resource,
        "search": { "mode": "match" },
    })
}

fn practitioner(world: &World, p: &Practitioner) -> Value {
    let person = &world.people[p.person as usize];
    let flaw = p.flaw.as_deref();
    let (mut name, mut sex, mut birth) = (person.name, person.sex, person.birth.to_string());
    match p.conflict {
        Some(Conflict::Name(n)) => name = n,
        Some(Conflict::Sex) => sex = sex.other(),
        Some(Conflict::BirthDate(d)) => birth = d.to_string(),
        None => {}
    }
    let written = p.written.as_deref();
    if let Some(w) = written {
        birth = w.birth.to_string();
    }
    let corrected = p.corrected.as_deref();
    if let Some(c) = corrected {
        sex = c.sex.unwrap_or(sex);
        if let Some(d) = c.birth {
            birth = d.to_string();
        }
    }
    if let Some(Flaw::BirthDate(bad)) = flaw {
        birth = (*bad).to_owned();
    }
    let mut identifiers = Vec::new();
    let officer = corrected.and_then(|c| c.officer).or(p.officer);
    match (flaw, officer) {
        (Some(Flaw::OfficerId(bad)), _) => {
            identifiers.push(json!({ "system": OFFICER_ID_SYSTEM, "value": bad }));
        }
        (_, Some(id)) => {
            identifiers.push(json!({ "system": OFFICER_ID_SYSTEM, "value": format!("{id:010}") }));
        }
        _ => {}
    }
    let national_id = match flaw {
        Some(Flaw::NationalId(bad)) => (*bad).to_owned(),
        _ => format!("{:09}", person.national_id),
    };
    if !written.is_some_and(|w| w.national_id_missing) {
        identifiers.push(json!({ "system": NATIONAL_ID_SYSTEM, "value": national_id }));
    }
    let mut official = match (flaw, written) {
        (Some(Flaw::EmptyName), _) => String::new(),
        (_, Some(w)) => w.name_km.clone(),
        _ => name.khmer(false),
    };
    if let Some(name) = corrected.and_then(|c| c.name_km.as_ref())
        && !matches!(flaw, Some(Flaw::EmptyName))
    {
        official = name.clone();
    }
    // A clerk who swapped the Latin order typed the given name as the family name.
    let (family, given) = match written {
        Some(w) if w.latin.given_first => (w.latin.given.clone(), w.latin.family.clone()),
        Some(w) => (w.latin.family.clone(), w.latin.given.clone()),
        None => (name.family_latin().to_owned(), name.given_latin()),
    };
    let phone = format!(
        "+855 {} {:03} {:03}",
        p.phone / 1_000_000,
        p.phone / 1_000 % 1_000,
        p.phone % 1_000
    );
    let mut resource = json!({
        "resourceType": "Practitioner",
        "id": p.id(),
        "meta": { "lastUpdated": clock::cambodia_offset_millis(p.updated) },
        "identifier": identifiers,
        "active": true,
        "name": [
            { "use": "official", "text": official },
            { "use": "usual", "family": family, "given": [given] },
        ],
        "telecom": [{ "system": "phone", "value": phone, "use": "work" }],
        "gender": match sex { Sex::Male => "male", Sex::Female => "female" },
        "birthDate": birth,
    });
    if written.is_some_and(|w| w.sex_missing)
        && corrected.is_none_or(|c| c.sex.is_none())
        && let Some(map) = resource.as_object_mut()
    {
        map.remove("gender");
    }
    // FHIR has no empty arrays: a record with neither id has no `identifier`.
    if let Some(map) = resource.as_object_mut()
        && map["identifier"].as_array().is_some_and(Vec::is_empty)
    {
        map.remove("identifier");
    }
    resource
}

fn role(world: &World, r: &Role) -> Value {
    let flaw = r.flaw.as_deref();
    let code = &HEALTH_ROLES[usize::from(r.code).min(HEALTH_ROLES.len() - 1)];
    let mut v = json!({
        "resourceType": "PractitionerRole",
        "id": r.id(),
        "meta": { "lastUpdated": clock::cambodia_offset_millis(r.updated) },
        "active": true,
        "code": [{ "coding": [{ "system": HEALTH_ROLE_SYSTEM, "code": code.code, "display": code.display }] }],
    });
    if let Some(map) = v.as_object_mut() {
        if !matches!(flaw, Some(Flaw::NoPractitioner)) {
            map.insert(
                "practitioner".into(),
                json!({ "reference": format!("Practitioner/pr-{}", r.practitioner) }),
            );
        }
        let location = match flaw {
            Some(Flaw::EmptyLocation) => "Location/".to_owned(),
            _ => format!("Location/{}", world.org_units[r.facility as usize].uid),
        };
        map.insert("location".into(), json!([{ "reference": location }]));
        let start = match flaw {
            Some(Flaw::StartDate(bad)) => (*bad).to_owned(),
            _ => r.start.to_string(),
        };
        map.insert("period".into(), json!({ "start": start }));
    }
    v
}
