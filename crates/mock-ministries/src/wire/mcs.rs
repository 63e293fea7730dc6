//! MCS HRMIS: `GET /api/officers?page=N&size=M[&modified_since=RFC3339]`.

use serde::Serialize;

use super::{Query, content_page, millis, page_count, select};
use crate::MockError;
use crate::clock;
use crate::faults::Delivery;
use crate::vocabulary::grade;
use crate::world::{Flaw, Officer, Sex, WorkUnit, World};

pub(crate) const DEFAULT_SIZE: usize = 100;

#[derive(Serialize)]
struct OfficersPage {
    data: Vec<OfficerItem>,
    meta: Meta,
}

#[derive(Serialize)]
struct Meta {
    page: usize,
    size: usize,
    total_pages: usize,
}

#[derive(Serialize)]
struct OfficerItem {
    officer_id: String,
    national_id: Option<String>,
    name_kh: String,
    name_latin: String,
    gender: &'static str,
    date_of_birth: String,
    ministry: &'static str,
    work_unit: WorkUnitItem,
    position_kh: &'static str,
    grade: String,
    status: &'static str,
    modified_at: String,
}

#[derive(Serialize)]
struct WorkUnitItem {
    code: String,
    name_kh: String,
    facility_code: Option<String>,
    admin_code: String,
}

/// `modified_since` keeps officers modified at or after the time (>=).
pub(crate) fn officers(
    world: &World,
    query: &Query,
    delivery: Delivery,
) -> Result<Vec<u8>, MockError> {
    let page = query.page("page")?;
    let size = query.size("size", DEFAULT_SIZE, 1)?;
    let since = match query.get("modified_since") {
        None => None,
        Some(v) => Some(clock::parse_rfc3339_millis(v).ok_or_else(|| {
            MockError::BadRequest(format!("modified_since {v:?} is not an RFC 3339 time"))
        })?),
    };
    let keep = |o: &Officer| since.is_none_or(|s| millis(o.modified) >= s);
    let selection = select(&world.officers, keep, content_page(page, delivery), size);
    let data = selection
        .indices
        .iter()
        .map(|i| item(world, &world.officers[*i as usize]))
        .collect();
    Ok(serde_json::to_vec(&OfficersPage {
        data,
        meta: Meta {
            page,
            size,
            total_pages: page_count(selection.total, size),
        },
    })?)
}

fn item(world: &World, o: &Officer) -> OfficerItem {
    let person = &world.people[o.person as usize];
    let flaw = o.flaw.as_deref();
    let written = o.written.as_deref();
    let national_id = match flaw {
        Some(Flaw::NationalId(s)) => Some((*s).to_owned()),
        _ if o.no_national_id || written.is_some_and(|w| w.national_id_missing) => None,
        _ => Some(format!("{:09}", person.national_id)),
    };
    let corrected = o.corrected.as_deref();
    let mut name_kh = match flaw {
        Some(Flaw::EmptyName) => String::new(),
        Some(Flaw::NulInName) => person.name.khmer(o.zwsp).replacen(' ', "\0", 1),
        _ => match written {
            Some(w) => w.name_km.clone(),
            None => person.name.khmer(o.zwsp),
        },
    };
    if let Some(name) = corrected.and_then(|c| c.name_km.as_ref())
        && !matches!(flaw, Some(Flaw::EmptyName))
    {
        name_kh = name.clone();
    }
    let date_of_birth = match flaw {
        Some(Flaw::BirthDate(s)) => (*s).to_owned(),
        _ => o.dob_form.write(
            corrected
                .and_then(|c| c.birth)
                .unwrap_or_else(|| written.map_or(person.birth, |w| w.birth)),
        ),
    };
    // The roll writes the family name in capitals, whoever typed it.
    let name_latin = match written {
        Some(w) if w.latin.given_first => {
            format!("{} {}", w.latin.given, w.latin.family.to_uppercase())
        }
        Some(w) => format!("{} {}", w.latin.family.to_uppercase(), w.latin.given),
        None => person.name.latin_roll(),
    };
    let sex = corrected.and_then(|c| c.sex).unwrap_or(person.sex);
    let gender = match (sex, o.gender_khmer) {
        (Sex::Male, false) => "M",
        (Sex::Female, false) => "F",
        (Sex::Male, true) => "ប្រុស",
        (Sex::Female, true) => "ស្រី",
    };
    let mut work_unit = work_unit(world, o);
    if let Some(Flaw::AdminCode(s)) = flaw {
        work_unit.admin_code = (*s).to_owned();
    }
    OfficerItem {
        officer_id: o.id_string(),
        national_id,
        name_kh,
        name_latin,
        gender,
        date_of_birth,
        ministry: o.employer.code(),
        work_unit,
        position_kh: o.position,
        grade: grade(o.grade),
        status: o.status.word(),
        modified_at: clock::cambodia_offset(o.modified),
    }
}

fn work_unit(world: &World, o: &Officer) -> WorkUnitItem {
    let gaz = &world.gazetteer;
    match o.unit {
        WorkUnit::Health(f) => {
            let u = &world.org_units[f as usize];
            WorkUnitItem {
                code: format!("{}-{}", o.employer.code(), u.code),
                name_kh: u.name.clone(),
                facility_code: Some(u.code.clone()),
                admin_code: u
                    .commune
                    .map(|c| gaz.place(c).code.to_owned())
                    .unwrap_or_default(),
            }
        }
        WorkUnit::School(s) => {
            let s = &world.schools[s as usize];
            WorkUnitItem {
                code: format!("{}-{}", o.employer.code(), s.code_string()),
                name_kh: s.name_km.clone(),
                facility_code: Some(s.code_string()),
                admin_code: gaz.place(s.commune).code.to_owned(),
            }
        }
        WorkUnit::Office { province, commune } => {
            let p = gaz.place(province);
            WorkUnitItem {
                code: format!("{}-P{}", o.employer.code(), p.code),
                name_kh: format!("{}{}{}", o.employer.department_km(), p.type_km, p.name_km),
                facility_code: None,
                admin_code: gaz.place(commune).code.to_owned(),
            }
        }
    }
}
