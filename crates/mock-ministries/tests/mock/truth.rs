//! The truth against what is served: every planted fact is there, and nothing
//! else is: a pull that compares the sources finds exactly the truth's facts.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use mock_ministries::Ministry;
use serde_json::Value;

use mock_ministries::Scale;

use crate::harness::{column, parse_csv, start_at};

const KHMER_MONTHS: [&str; 12] = [
    "មករា",
    "កុម្ភៈ",
    "មីនា",
    "មេសា",
    "ឧសភា",
    "មិថុនា",
    "កក្កដា",
    "សីហា",
    "កញ្ញា",
    "តុលា",
    "វិច្ឆិកា",
    "ធ្នូ",
];

pub(crate) fn ascii_digits(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '០'..='៩' => char::from(b'0' + (c as u32 - '០' as u32) as u8),
            _ => c,
        })
        .collect()
}

/// Any of the date forms, as `YYYY-MM-DD`; `None` if unreadable.
pub(crate) fn iso_date(written: &str) -> Option<String> {
    let s = ascii_digits(written);
    if let Some(rest) = s.strip_prefix("ថ្ងៃទី") {
        let (day, rest) = rest.split_once(' ')?;
        let rest = rest.strip_prefix("ខែ")?;
        let month = KHMER_MONTHS.iter().position(|m| rest.starts_with(m))? + 1;
        let year = rest.split_once("ឆ្នាំ")?.1;
        return chrono::NaiveDate::from_ymd_opt(
            year.parse().ok()?,
            month as u32,
            day.parse().ok()?,
        )
        .map(|d| d.to_string());
    }
    let parts: Vec<&str> = s.split(['/', '-']).collect();
    let [a, b, c] = parts.as_slice() else {
        return None;
    };
    let (y, m, d) = if a.len() == 4 { (a, b, c) } else { (c, b, a) };
    chrono::NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
        .map(|d| d.to_string())
}

fn sex(written: &str) -> &'static str {
    match written {
        "M" | "ប្រុស" | "male" => "male",
        "F" | "ស្រី" | "female" => "female",
        other => panic!("sex {other:?}"),
    }
}

/// What a sector source says of one person.
#[derive(Debug)]
struct Serving {
    source: Ministry,
    record_id: String,
    facility_code: String,
    name_kh: String,
    sex: &'static str,
    birth_date: Option<String>,
}

#[tokio::test]
async fn facts_are_exactly_what_the_sources_disagree_on() {
    facts_match(51, Scale::Small).await;
}

/// Cambodian scale, sampled so it stays fast in a debug build: every total served
/// is the truth's, and the facility facts (transferred, unplaced) are as served.
/// The staff facts are checked at small scale above, by the same code paths.
#[tokio::test]
async fn full_scale_totals_and_facility_facts() {
    let mock = start_at(52, Scale::Full).await;
    let truth = mock.server.truth().clone();
    let counts = &truth.counts;
    assert_eq!(counts.moh_facilities, 1_300);
    assert_eq!(counts.moeys_schools, 13_000);
    assert!(counts.mcs_officers > 200_000, "{}", counts.mcs_officers);
    let pages = |n: u64| n.div_ceil(10_000);

    let moi = mock.json("/api/v1/gazetteer/units?page=1&per_page=1").await;
    assert_eq!(moi["total"].as_u64(), Some(counts.moi_units));
    let mcs = mock.json("/api/officers?page=1&size=10000").await;
    assert_eq!(
        mcs["meta"]["total_pages"].as_u64(),
        Some(pages(counts.mcs_officers))
    );
    let period = truth.current_period.clone();
    let mef = mock
        .json(&format!("/api/payroll/{period}?page=1&size=10000"))
        .await;
    assert_eq!(
        mef["total_pages"].as_u64(),
        Some(pages(counts.mef_payroll[&period]))
    );
    for (resource, count) in [
        ("Practitioner", counts.moh_practitioners),
        ("PractitionerRole", counts.moh_practitioner_roles),
    ] {
        let bundle = mock.json(&format!("/fhir/{resource}?_count=1")).await;
        assert_eq!(bundle["total"].as_u64(), Some(count), "{resource}");
    }

    // DHIS2: every unit; about 4 operational districts per province.
    let units = mock.dhis2_units("").await;
    assert_eq!(units.len() as u64, counts.moh_org_units);
    let at_level = |level: u64| units.iter().filter(|u| u["level"] == level).count();
    assert_eq!(at_level(4) as u64, counts.moh_facilities);
    assert_eq!(at_level(2), 25);
    assert!((50..=175).contains(&at_level(3)), "{} ODs", at_level(3));

    // EMIS: every school.
    let text = mock.text("/emis/export/schools.csv").await;
    let (header, rows) = parse_csv(&text);
    assert_eq!(rows.len() as u64, counts.moeys_schools);

    // Transferred and unplaced facilities, as written.
    let gazetteer: BTreeSet<String> = mock
        .moi_units("")
        .await
        .iter()
        .map(|u| u["code"].as_str().expect("code").to_owned())
        .collect();
    let schools: HashMap<&str, &Vec<String>> = rows.iter().map(|r| (r[0].as_str(), r)).collect();
    let dhis2: HashMap<&str, &Value> = units
        .iter()
        .map(|u| (u["id"].as_str().expect("id"), u))
        .collect();
    let attribute_of = |u: &Value, code: &str| {
        u["attributeValues"]
            .as_array()
            .expect("attributes")
            .iter()
            .find(|a| a["attribute"]["code"] == code)
            .and_then(|a| a["value"].as_str().map(str::to_owned))
    };
    let facts = &truth.facts;
    assert!(!facts.transferred_facilities.is_empty());
    for t in &facts.transferred_facilities {
        let written = match t.source {
            Ministry::Moh => attribute_of(dhis2[t.record_id.as_str()], "MANAGED_BY"),
            _ => Some(schools[t.record_id.as_str()][column(&header, "managed_by")].clone()),
        };
        assert_eq!(written, Some(t.district_code.clone()));
        assert!(gazetteer.contains(&t.district_code), "{}", t.district_code);
    }
    assert!(!facts.facility_unplaced.is_empty());
    for f in &facts.facility_unplaced {
        let written = match f.source {
            Ministry::Moh => {
                attribute_of(dhis2[f.record_id.as_str()], "ADMIN_CODE").expect("ADMIN_CODE")
            }
            _ => schools[f.record_id.as_str()][column(&header, "commune_code")].clone(),
        };
        assert_eq!(written, f.written_code);
        assert_eq!(written.len(), 6);
        assert!(!gazetteer.contains(&written), "{written} names no commune");
    }
    mock.server.stop().await;
}

async fn facts_match(seed: u64, scale: Scale) {
    let mock = start_at(seed, scale).await;
    let truth = mock.server.truth().clone();
    let facts = &truth.facts;

    // --- Pull everything.
    let officers = mock.mcs_officers("").await;
    let invalid_officers: BTreeSet<&str> = truth
        .invalid
        .mcs_officers
        .iter()
        .map(|i| i.id.as_str())
        .collect();
    // Some invalid officers carry a NUL in the name, served as the JSON escape.
    let with_nul: BTreeSet<&str> = officers
        .iter()
        .filter(|o| o["name_kh"].as_str().is_some_and(|n| n.contains('\0')))
        .map(|o| o["officer_id"].as_str().expect("id"))
        .collect();
    let said_nul: BTreeSet<&str> = truth
        .invalid
        .mcs_officers
        .iter()
        .filter(|i| i.reason.contains("NUL"))
        .map(|i| i.id.as_str())
        .collect();
    assert!(!with_nul.is_empty(), "a NUL is planted");
    assert_eq!(
        with_nul, said_nul,
        "the truth names every NUL-bearing officer"
    );
    let roll: BTreeMap<String, &Value> = officers
        .iter()
        .filter(|o| !invalid_officers.contains(o["officer_id"].as_str().expect("id")))
        .map(|o| (o["officer_id"].as_str().expect("id").to_owned(), o))
        .collect();

    let units = mock.dhis2_units("").await;
    let code_of_uid: HashMap<String, String> = units
        .iter()
        .map(|u| {
            (
                u["id"].as_str().expect("id").to_owned(),
                u["code"].as_str().expect("code").to_owned(),
            )
        })
        .collect();
    let practitioners = mock.fhir("Practitioner", "").await;
    let roles = mock.fhir("PractitionerRole", "").await;
    let invalid_roles: BTreeSet<&str> = truth
        .invalid
        .moh_practitioner_roles
        .iter()
        .map(|i| i.id.as_str())
        .collect();
    let mut location_of: HashMap<String, (String, String)> = HashMap::new();
    for r in &roles {
        let id = r["id"].as_str().expect("id");
        if invalid_roles.contains(id) {
            continue;
        }
        let practitioner = r["practitioner"]["reference"]
            .as_str()
            .expect("ref")
            .trim_start_matches("Practitioner/");
        let uid = r["location"][0]["reference"]
            .as_str()
            .expect("loc")
            .trim_start_matches("Location/");
        location_of.insert(
            practitioner.to_owned(),
            (id.to_owned(), code_of_uid[uid].clone()),
        );
    }
    let invalid_practitioners: BTreeSet<&str> = truth
        .invalid
        .moh_practitioners
        .iter()
        .map(|i| i.id.as_str())
        .collect();
    let mut serving: BTreeMap<String, Serving> = BTreeMap::new();
    let mut contract = BTreeSet::new();
    for p in &practitioners {
        let id = p["id"].as_str().expect("id");
        if invalid_practitioners.contains(id) {
            continue;
        }
        let officer = p["identifier"]
            .as_array()
            .expect("identifier")
            .iter()
            .find(|i| i["system"] == "https://hrmis.mcs.gov.kh/officer-id")
            .and_then(|i| i["value"].as_str());
        let Some(officer) = officer else {
            contract.insert((Ministry::Moh, id.to_owned()));
            continue;
        };
        let (role_id, facility) = location_of
            .get(id)
            .cloned()
            .expect("every valid practitioner has a role");
        let previous = serving.insert(
            officer.to_owned(),
            Serving {
                source: Ministry::Moh,
                record_id: role_id,
                facility_code: facility,
                name_kh: p["name"][0]["text"].as_str().expect("text").to_owned(),
                sex: sex(p["gender"].as_str().expect("gender")),
                birth_date: iso_date(p["birthDate"].as_str().expect("birthDate")),
            },
        );
        assert!(previous.is_none());
    }
    let text = mock.text("/emis/export/teachers.csv").await;
    let (header, rows) = parse_csv(&text);
    let c = |n| column(&header, n);
    let invalid_teachers: BTreeSet<&str> = truth
        .invalid
        .moeys_teachers
        .iter()
        .map(|i| i.id.as_str())
        .collect();
    let mut teacher_of = HashMap::new();
    for r in &rows {
        if invalid_teachers.contains(r[0].as_str()) {
            continue;
        }
        let officer = ascii_digits(&r[c("officer_id")]);
        if officer.is_empty() {
            assert_eq!(r[c("employment_type")], "contract");
            contract.insert((Ministry::Moeys, r[0].clone()));
            continue;
        }
        teacher_of.insert(officer.clone(), r[0].clone());
        let previous = serving.insert(
            officer,
            Serving {
                source: Ministry::Moeys,
                record_id: r[0].clone(),
                facility_code: r[c("school_code")].clone(),
                name_kh: r[c("name_kh")].clone(),
                sex: sex(&r[c("sex")]),
                birth_date: iso_date(&r[c("dob")]),
            },
        );
        assert!(previous.is_none());
    }
    let payroll = mock.payroll(&truth.current_period).await;
    let invalid_pay: BTreeSet<&str> = truth
        .invalid
        .mef_payroll
        .iter()
        .map(|i| i.id.as_str())
        .collect();
    let paid: BTreeSet<String> = payroll
        .iter()
        .map(|i| i["officer_id"].as_str().expect("id").to_owned())
        .filter(|id| !invalid_pay.contains(id.as_str()))
        .collect();

    // --- Compare the sources, as a reconciliation would.
    let mut assignment = BTreeSet::new();
    let mut attribute = BTreeSet::new();
    let mut serving_not_on_roll = BTreeSet::new();
    for (officer, s) in &serving {
        let Some(o) = roll.get(officer) else {
            serving_not_on_roll.insert(officer.clone());
            continue;
        };
        if o["work_unit"]["facility_code"].as_str() != Some(s.facility_code.as_str()) {
            assignment.insert((officer.clone(), s.source, s.record_id.clone()));
        }
        let roll_name = o["name_kh"].as_str().expect("name").replace('\u{200B}', "");
        if roll_name != s.name_kh {
            attribute.insert((officer.clone(), "name"));
        }
        if sex(o["gender"].as_str().expect("gender")) != s.sex {
            attribute.insert((officer.clone(), "sex"));
        }
        if iso_date(o["date_of_birth"].as_str().expect("dob")) != s.birth_date {
            attribute.insert((officer.clone(), "birth_date"));
        }
    }
    let mut on_roll_not_serving = BTreeSet::new();
    let mut on_roll_not_paid = BTreeSet::new();
    for (officer, o) in &roll {
        if o["work_unit"]["facility_code"].is_string() && !serving.contains_key(officer) {
            on_roll_not_serving.insert(officer.clone());
        }
        if o["status"] == "active" && !paid.contains(officer) {
            on_roll_not_paid.insert(officer.clone());
        }
    }
    let paid_not_on_roll: BTreeSet<String> = paid
        .iter()
        .filter(|id| !roll.contains_key(*id))
        .cloned()
        .collect();
    let mut by_national_id: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (officer, o) in &roll {
        if let Some(nid) = o["national_id"].as_str() {
            by_national_id.entry(nid).or_default().push(officer);
        }
    }
    let duplicates: BTreeSet<[String; 2]> = by_national_id
        .values()
        .filter(|ids| ids.len() > 1)
        .map(|ids| [ids[0].to_owned(), ids[1].to_owned()])
        .collect();

    // --- Exactly the truth.
    let set = |v: Vec<String>| v.into_iter().collect::<BTreeSet<String>>();
    assert_eq!(
        assignment,
        facts
            .assignment_conflict
            .iter()
            .map(|a| (
                a.officer_id.clone(),
                a.other_source,
                a.other_record_id.clone()
            ))
            .collect()
    );
    for a in &facts.assignment_conflict {
        assert_eq!(
            roll[&a.officer_id]["work_unit"]["facility_code"].as_str(),
            Some(a.mcs_facility_code.as_str())
        );
        assert_eq!(serving[&a.officer_id].facility_code, a.other_facility_code);
    }
    assert_eq!(
        attribute,
        facts
            .attribute_conflict
            .iter()
            .map(|a| (
                a.officer_id.clone(),
                match a.field.as_str() {
                    "name" => "name",
                    "sex" => "sex",
                    _ => "birth_date",
                }
            ))
            .collect()
    );
    assert_eq!(
        serving_not_on_roll,
        set(facts
            .serving_not_on_roll
            .iter()
            .map(|f| f.officer_id.clone())
            .collect())
    );
    assert_eq!(
        on_roll_not_serving,
        set(facts
            .on_roll_not_serving
            .iter()
            .map(|f| f.officer_id.clone())
            .collect())
    );
    assert_eq!(
        on_roll_not_paid,
        set(facts
            .on_roll_not_paid
            .iter()
            .map(|f| f.officer_id.clone())
            .collect())
    );
    assert_eq!(
        paid_not_on_roll,
        set(facts
            .paid_not_on_roll
            .iter()
            .map(|f| f.officer_id.clone())
            .collect())
    );
    assert_eq!(
        duplicates,
        facts.possible_duplicate.iter().cloned().collect()
    );
    assert_eq!(
        contract,
        truth
            .contract_staff
            .iter()
            .map(|c| (c.source, c.record_id.clone()))
            .collect()
    );
    for kind in [
        facts.assignment_conflict.len(),
        facts.attribute_conflict.len(),
        facts.serving_not_on_roll.len(),
        facts.on_roll_not_serving.len(),
        facts.on_roll_not_paid.len(),
        facts.paid_not_on_roll.len(),
        facts.possible_duplicate.len(),
        facts.transferred_facilities.len(),
        facts.facility_unplaced.len(),
    ] {
        assert!(kind >= 2, "every fact kind is planted");
    }
    for link in &truth.same_person {
        if let Some(t) = &link.emis_teacher_id {
            assert_eq!(teacher_of.get(&link.officer_id), Some(t));
        }
        assert!(roll.contains_key(&link.officer_id));
    }

    // --- Facilities: transferred and unplaced, as written.
    let gazetteer: BTreeSet<String> = mock
        .moi_units("")
        .await
        .iter()
        .map(|u| u["code"].as_str().expect("code").to_owned())
        .collect();
    let text = mock.text("/emis/export/schools.csv").await;
    let (header, rows) = parse_csv(&text);
    let schools: HashMap<&str, &Vec<String>> = rows.iter().map(|r| (r[0].as_str(), r)).collect();
    let dhis2: HashMap<&str, &Value> = units
        .iter()
        .map(|u| (u["id"].as_str().expect("id"), u))
        .collect();
    let attribute_of = |u: &Value, code: &str| {
        u["attributeValues"]
            .as_array()
            .expect("attributes")
            .iter()
            .find(|a| a["attribute"]["code"] == code)
            .and_then(|a| a["value"].as_str().map(str::to_owned))
    };
    for t in &facts.transferred_facilities {
        match t.source {
            Ministry::Moh => assert_eq!(
                attribute_of(dhis2[t.record_id.as_str()], "MANAGED_BY"),
                Some(t.district_code.clone())
            ),
            _ => assert_eq!(
                schools[t.record_id.as_str()][column(&header, "managed_by")],
                t.district_code
            ),
        }
    }
    for f in &facts.facility_unplaced {
        let written = match f.source {
            Ministry::Moh => {
                attribute_of(dhis2[f.record_id.as_str()], "ADMIN_CODE").expect("ADMIN_CODE")
            }
            _ => schools[f.record_id.as_str()][column(&header, "commune_code")].clone(),
        };
        assert_eq!(written, f.written_code);
        assert_eq!(written.len(), 6);
        assert!(!gazetteer.contains(&written), "{written} names no commune");
    }
    let managed = column(&header, "managed_by");
    let transferred_schools = rows.iter().filter(|r| r[managed] != "MOEYS").count();
    assert_eq!(
        transferred_schools,
        facts
            .transferred_facilities
            .iter()
            .filter(|t| t.source == Ministry::Moeys)
            .count()
    );

    // --- Every invalid id is served.
    let served = |ids: BTreeSet<String>, list: &[mock_ministries::InvalidRecord], what: &str| {
        for i in list {
            assert!(ids.contains(&i.id), "{what} {} is served", i.id);
            assert!(!i.reason.is_empty());
        }
    };
    served(gazetteer.clone(), &truth.invalid.moi_units, "unit");
    served(
        officers
            .iter()
            .map(|o| o["officer_id"].as_str().expect("id").to_owned())
            .collect(),
        &truth.invalid.mcs_officers,
        "officer",
    );
    served(
        units
            .iter()
            .map(|u| u["id"].as_str().expect("id").to_owned())
            .collect(),
        &truth.invalid.moh_org_units,
        "org unit",
    );
    served(
        practitioners
            .iter()
            .map(|p| p["id"].as_str().expect("id").to_owned())
            .collect(),
        &truth.invalid.moh_practitioners,
        "practitioner",
    );
    served(
        roles
            .iter()
            .map(|r| r["id"].as_str().expect("id").to_owned())
            .collect(),
        &truth.invalid.moh_practitioner_roles,
        "role",
    );
    served(
        rows.iter().map(|r| r[0].clone()).collect(),
        &truth.invalid.moeys_schools,
        "school",
    );
    served(
        payroll
            .iter()
            .map(|i| i["officer_id"].as_str().expect("id").to_owned())
            .collect(),
        &truth.invalid.mef_payroll,
        "payroll line",
    );
    mock.server.stop().await;
}
