//! FHIR Practitioner and PractitionerRole to staff and role reports, without HTTP.

use adapter_moh::fhir::{
    read_searchset, reference_id, role_from_practitioner_role, staff_from_practitioner,
};
use chrono::DateTime;
use schema::{Date, Ministry, RoleReport, Sex, SourceIdentifier, StaffReport, StaffStatus};
use serde_json::{Value, json};

fn base_practitioner() -> Value {
    json!({
        "resourceType": "Practitioner",
        "id": "prac-0001",
        "meta": { "versionId": "3", "lastUpdated": "2024-01-23T07:05:00.000+00:00" },
        "identifier": [
            { "use": "official", "system": "https://hrmis.mcs.gov.kh/officer-id", "value": "1000123456" },
            { "system": "https://gdi.gov.kh/national-id", "value": "010203040" }
        ],
        "active": true,
        "name": [
            { "use": "official", "text": "សុខ ចាន់ថា" },
            { "use": "usual", "family": "Sok", "given": ["Chantha"] }
        ],
        "gender": "female",
        "birthDate": "1985-03-07"
    })
}

fn base_role() -> Value {
    json!({
        "resourceType": "PractitionerRole",
        "id": "role-0001",
        "meta": { "lastUpdated": "2024-01-23T07:05:00Z" },
        "active": true,
        "period": { "start": "2015-04-01" },
        "practitioner": { "reference": "Practitioner/prac-0001" },
        "location": [{ "reference": "Location/HCsotip0001" }],
        "code": [{ "coding": [{ "code": "midwife-secondary", "display": "Secondary midwife" }], "text": "Midwife" }]
    })
}

/// `base` with `patch`'s top-level fields set (a null removes the field).
fn patched(mut base: Value, patch: Value) -> Value {
    let (Value::Object(map), Value::Object(patch)) = (&mut base, patch) else {
        panic!("objects")
    };
    for (k, v) in patch {
        if v.is_null() {
            map.remove(&k);
        } else {
            map.insert(k, v);
        }
    }
    base
}

enum Expect<T> {
    Rejected(&'static str),
    Ok(fn(&T)),
}

fn ids(officer: Option<&str>, national: Option<&str>) -> Value {
    let mut v = Vec::new();
    if let Some(o) = officer {
        v.push(json!({"system": "https://hrmis.mcs.gov.kh/officer-id", "value": o}));
    }
    if let Some(n) = national {
        v.push(json!({"system": "https://gdi.gov.kh/national-id", "value": n}));
    }
    Value::Array(v)
}

#[test]
fn practitioners_map_to_staff() {
    let p = |patch: Value| patched(base_practitioner(), patch);
    let cases: Vec<(&str, Value, Expect<StaffReport>)> = vec![
        (
            "a civil servant, every field",
            base_practitioner(),
            Expect::Ok(|s| {
                assert_eq!(s.source, Ministry::Moh);
                assert_eq!(s.source_id, "prac-0001");
                assert_eq!(
                    s.identifiers,
                    vec![
                        SourceIdentifier {
                            system: "moh:fhir_practitioner".into(),
                            value: "prac-0001".into()
                        },
                        SourceIdentifier {
                            system: "mcs:officer_id".into(),
                            value: "1000123456".into()
                        },
                    ]
                );
                assert_eq!(
                    s.civil_servant_id.as_ref().map(|c| c.as_str()),
                    Some("1000123456")
                );
                assert_eq!(
                    s.national_id.as_ref().map(|n| n.as_str()),
                    Some("010203040")
                );
                assert_eq!(s.name_km.as_ref().map(|n| n.as_str()), Some("សុខ ចាន់ថា"));
                assert_eq!(
                    s.name_latin.as_ref().map(|n| n.as_str()),
                    Some("Chantha Sok")
                );
                assert_eq!(s.sex, Some(Sex::Female));
                assert_eq!(
                    s.birth_date.map(|d| d.to_string()).as_deref(),
                    Some("1985-03-07")
                );
                assert_eq!(s.status, Some(StaffStatus::Active));
                assert_eq!(
                    s.updated_at,
                    Some(
                        DateTime::parse_from_rfc3339("2024-01-23T07:05:00Z")
                            .expect("t")
                            .to_utc()
                    )
                );
                assert_eq!(
                    (s.employer.as_ref(), s.grade.as_ref(), s.posting.as_ref()),
                    (None, None, None)
                );
            }),
        ),
        (
            "a contract worker: no officer id",
            p(json!({"identifier": ids(None, Some("110987654"))})),
            Expect::Ok(|s| {
                assert_eq!(s.civil_servant_id, None);
                assert_eq!(s.identifiers.len(), 1);
                assert_eq!(
                    s.national_id.as_ref().map(|n| n.as_str()),
                    Some("110987654")
                );
            }),
        ),
        (
            "no identifiers at all",
            p(json!({"identifier": null})),
            Expect::Ok(|s| {
                assert_eq!(
                    (s.civil_servant_id.as_ref(), s.national_id.as_ref()),
                    (None, None)
                )
            }),
        ),
        (
            "officer id in Khmer digits",
            p(json!({"identifier": ids(Some("១០០០១២៣៤៥៦"), None)})),
            Expect::Ok(|s| assert_eq!(s.identifiers[1].value, "1000123456")),
        ),
        (
            "officer id unreadable",
            p(json!({"identifier": ids(Some("MOH-12"), None)})),
            Expect::Rejected("identifier[officer-id]: must contain only digits"),
        ),
        (
            "officer id without a value",
            p(json!({"identifier": [{"system": "https://hrmis.mcs.gov.kh/officer-id"}]})),
            Expect::Rejected(
                "identifier[officer-id]: the https://hrmis.mcs.gov.kh/officer-id identifier has no value",
            ),
        ),
        (
            "an old officer id is not read",
            p(
                json!({"identifier": [{"use": "old", "system": "https://hrmis.mcs.gov.kh/officer-id", "value": "x"}]}),
            ),
            Expect::Ok(|s| assert_eq!(s.civil_servant_id, None)),
        ),
        (
            "national id unreadable",
            p(json!({"identifier": ids(None, Some("12345"))})),
            Expect::Rejected("identifier[national-id]: has 5 digits"),
        ),
        // Names
        (
            "official name only",
            p(json!({"name": [{"use": "official", "text": "ម៉ៅ វណ្ណា"}]})),
            Expect::Ok(|s| assert_eq!((s.name_km.is_some(), s.name_latin.is_none()), (true, true))),
        ),
        (
            "usual name only: the shared record needs a Khmer name",
            p(json!({"name": [{"use": "usual", "text": "Mao Vanna"}]})),
            Expect::Rejected("name[official]"),
        ),
        (
            "usual name, several given names",
            p(
                json!({"name": [{"use": "official", "text": "ម៉ៅ វណ្ណា"}, {"use": "usual", "family": "Mao", "given": ["Vanna", "Dara"]}]}),
            ),
            Expect::Ok(|s| {
                assert_eq!(
                    s.name_latin.as_ref().map(|n| n.as_str()),
                    Some("Vanna Dara Mao")
                );
            }),
        ),
        (
            "official name in parts, family first",
            p(json!({"name": [{"use": "official", "family": "សុខ", "given": ["ចាន់ថា"]}]})),
            Expect::Ok(|s| {
                assert_eq!(s.name_km.as_ref().map(|n| n.as_str()), Some("សុខ ចាន់ថា"));
            }),
        ),
        (
            "names without a use, by script",
            p(json!({"name": [{"text": "Sok Chantha"}, {"text": "សុខ ចាន់ថា"}]})),
            Expect::Ok(|s| {
                assert_eq!(s.name_km.as_ref().map(|n| n.as_str()), Some("សុខ ចាន់ថា"));
                assert_eq!(
                    s.name_latin.as_ref().map(|n| n.as_str()),
                    Some("Sok Chantha")
                );
            }),
        ),
        (
            "no name",
            p(json!({"name": null})),
            Expect::Rejected("name[official]: no official (Khmer) name"),
        ),
        (
            "only blank names",
            p(json!({"name": [{"use": "official", "text": " "}, {"use": "usual", "given": []}]})),
            Expect::Rejected("name[official]: no official"),
        ),
        // Sex, birth date, status, times
        (
            "male",
            p(json!({"gender": "male"})),
            Expect::Ok(|s| assert_eq!(s.sex, Some(Sex::Male))),
        ),
        (
            "gender other",
            p(json!({"gender": "other"})),
            Expect::Ok(|s| assert_eq!(s.sex, None)),
        ),
        (
            "gender unknown",
            p(json!({"gender": "unknown"})),
            Expect::Ok(|s| assert_eq!(s.sex, None)),
        ),
        (
            "no gender",
            p(json!({"gender": null})),
            Expect::Ok(|s| assert_eq!(s.sex, None)),
        ),
        (
            "gender unreadable",
            p(json!({"gender": "x"})),
            Expect::Rejected("gender:"),
        ),
        (
            "birthDate day first",
            p(json!({"birthDate": "07/03/1985"})),
            Expect::Ok(|s| assert_eq!(s.birth_date, Date::parse("1985-03-07").ok())),
        ),
        (
            "birthDate that does not exist",
            p(json!({"birthDate": "31/02/1985"})),
            Expect::Rejected("birthDate: names a day its month does not have"),
        ),
        (
            "birthDate only a year",
            p(json!({"birthDate": "1985"})),
            Expect::Rejected("birthDate: is not a date"),
        ),
        (
            "no birthDate",
            p(json!({"birthDate": null})),
            Expect::Ok(|s| assert_eq!(s.birth_date, None)),
        ),
        (
            "inactive: left",
            p(json!({"active": false})),
            Expect::Ok(|s| assert_eq!(s.status, Some(StaffStatus::Left))),
        ),
        (
            "active unsaid",
            p(json!({"active": null})),
            Expect::Ok(|s| assert_eq!(s.status, None)),
        ),
        (
            "active unreadable",
            p(json!({"active": "yes"})),
            Expect::Rejected("active: is not true or false"),
        ),
        (
            "lastUpdated unreadable",
            p(json!({"meta": {"lastUpdated": "2024-01-23"}})),
            Expect::Rejected("meta.lastUpdated: is not an RFC 3339 instant"),
        ),
        (
            "no meta",
            p(json!({"meta": null})),
            Expect::Ok(|s| assert_eq!(s.updated_at, None)),
        ),
        (
            "no id",
            p(json!({"id": null})),
            Expect::Rejected("id: missing"),
        ),
        (
            "another resource",
            p(json!({"resourceType": "Patient"})),
            Expect::Rejected("resourceType: expected Practitioner"),
        ),
    ];
    for (name, raw, expect) in cases {
        match (expect, staff_from_practitioner(&raw)) {
            (Expect::Ok(check), Ok(s)) => check(&s),
            (Expect::Rejected(reason), Err(got)) => assert!(
                got.to_string().starts_with(reason),
                "{name}: {got} does not start with {reason:?}"
            ),
            (_, got) => panic!("{name}: unexpected {got:?}"),
        }
    }
}

#[test]
fn roles_map_to_role_reports() {
    let r = |patch: Value| patched(base_role(), patch);
    let cases: Vec<(&str, Value, Expect<RoleReport>)> = vec![
        (
            "a role at a health centre",
            base_role(),
            Expect::Ok(|r| {
                assert_eq!(r.source, Ministry::Moh);
                assert_eq!(r.source_id, "role-0001");
                assert_eq!(r.person_source_id, "prac-0001");
                assert_eq!(
                    r.facility,
                    SourceIdentifier {
                        system: "moh:dhis2".into(),
                        value: "HCsotip0001".into()
                    }
                );
                assert_eq!(r.role.as_deref(), Some("midwife-secondary"));
                assert_eq!(r.start_date, Date::parse("2015-04-01").ok());
                assert_eq!(r.end_date, None);
                assert!(r.active);
                assert!(r.updated_at.is_some());
            }),
        ),
        (
            "role from the display",
            r(json!({"code": [{"coding": [{"display": "Nurse"}]}]})),
            Expect::Ok(|r| assert_eq!(r.role.as_deref(), Some("Nurse"))),
        ),
        (
            "role from the text",
            r(json!({"code": [{"text": "Medical doctor"}]})),
            Expect::Ok(|r| assert_eq!(r.role.as_deref(), Some("Medical doctor"))),
        ),
        (
            "no role",
            r(json!({"code": null})),
            Expect::Ok(|r| assert_eq!(r.role, None)),
        ),
        (
            "period in dateTimes, ended",
            r(
                json!({"period": {"start": "2010-01-15T08:00:00+07:00", "end": "2019-06-30T17:00:00+07:00"}, "active": false}),
            ),
            Expect::Ok(|r| {
                assert_eq!(r.start_date, Date::parse("2010-01-15").ok());
                assert_eq!(r.end_date, Date::parse("2019-06-30").ok());
                assert!(!r.active);
            }),
        ),
        (
            "period start unreadable",
            r(json!({"period": {"start": "2015-13-01"}})),
            Expect::Rejected("period.start: names a month that does not exist"),
        ),
        (
            "period end unreadable",
            r(json!({"period": {"end": "never"}})),
            Expect::Rejected("period.end:"),
        ),
        (
            "active unsaid: true",
            r(json!({"active": null})),
            Expect::Ok(|r| assert!(r.active)),
        ),
        (
            "no location",
            r(json!({"location": null})),
            Expect::Rejected("location: missing"),
        ),
        (
            "empty location",
            r(json!({"location": []})),
            Expect::Rejected("location: missing"),
        ),
        (
            "location without a reference",
            r(json!({"location": [{"display": "HC Sotip"}]})),
            Expect::Rejected("location[0].reference: missing"),
        ),
        (
            "location a Practitioner",
            r(json!({"location": [{"reference": "Practitioner/x"}]})),
            Expect::Rejected("location[0].reference: is not a reference to a Location"),
        ),
        (
            "absolute and versioned references",
            r(json!({
                "practitioner": {"reference": "http://fhir.moh.gov.kh/fhir/Practitioner/prac-0001/_history/4"},
                "location": [{"reference": "http://fhir.moh.gov.kh/fhir/Location/HCsotip0001"}, {"reference": "Location/other"}]
            })),
            Expect::Ok(|r| {
                assert_eq!(r.person_source_id, "prac-0001");
                assert_eq!(r.facility.value, "HCsotip0001");
            }),
        ),
        (
            "no practitioner",
            r(json!({"practitioner": null})),
            Expect::Rejected("practitioner.reference: missing"),
        ),
        (
            "practitioner a contained reference",
            r(json!({"practitioner": {"reference": "#p1"}})),
            Expect::Rejected("practitioner.reference: is not a reference to a Practitioner"),
        ),
        (
            "practitioner by identifier only",
            r(json!({"practitioner": {"identifier": {"value": "1"}}})),
            Expect::Rejected("practitioner.reference: missing"),
        ),
    ];
    for (name, raw, expect) in cases {
        match (expect, role_from_practitioner_role(&raw)) {
            (Expect::Ok(check), Ok(r)) => check(&r),
            (Expect::Rejected(reason), Err(got)) => assert!(
                got.to_string().starts_with(reason),
                "{name}: {got} does not start with {reason:?}"
            ),
            (_, got) => panic!("{name}: unexpected {got:?}"),
        }
    }
}

#[test]
fn references() {
    assert_eq!(
        reference_id("Practitioner/abc", "Practitioner").as_deref(),
        Some("abc")
    );
    assert_eq!(reference_id("Location/abc", "Practitioner"), None);
    assert_eq!(reference_id("Practitioner/", "Practitioner"), None);
    assert_eq!(reference_id("abc", "Practitioner"), None);
    assert_eq!(reference_id("XPractitioner/abc", "Practitioner"), None);
}

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("a fixture")).expect("fixture JSON")
}

#[test]
fn fixture_bundles() {
    let page = read_searchset(fixture("fhir_practitioners_page1.json")).expect("a searchset");
    assert_eq!(page.resources.len(), 4);
    assert_eq!(
        page.next.as_deref(),
        Some(
            "http://fhir.moh.gov.kh/fhir?_getpages=7c1d&_getpagesoffset=3&_count=3&_bundletype=searchset"
        )
    );
    assert_eq!(page.first_id("Practitioner").as_deref(), Some("prac-0001"));
    let results: Vec<_> = page.resources[..3]
        .iter()
        .map(staff_from_practitioner)
        .collect();
    assert!(results[0].is_ok() && results[1].is_ok());
    assert_eq!(
        results[1].as_ref().map(|s| s.status),
        Ok(Some(StaffStatus::Left))
    );
    assert!(
        results[2]
            .as_ref()
            .expect_err("bad birthDate")
            .to_string()
            .starts_with("birthDate: names a day its month does not have")
    );

    let roles = read_searchset(fixture("fhir_practitioner_roles.json")).expect("a searchset");
    assert_eq!(roles.next, None);
    let results: Vec<_> = roles
        .resources
        .iter()
        .map(role_from_practitioner_role)
        .collect();
    assert_eq!(
        results[0].as_ref().map(|r| r.facility.value.as_str()),
        Ok("HCsotip0001")
    );
    assert_eq!(
        results[1].as_ref().map(|r| r.role.as_deref()),
        Ok(Some("Medical doctor"))
    );
    assert!(
        results[2]
            .as_ref()
            .expect_err("no location")
            .to_string()
            .starts_with("location: missing")
    );
}

#[test]
fn bundles_that_are_not_searchsets() {
    let err = read_searchset(json!({"resourceType": "Bundle", "type": "transaction"}))
        .expect_err("not a searchset");
    assert!(
        err.contains("searchset") && err.contains("transaction"),
        "{err}"
    );
    let err = read_searchset(json!({"resourceType": "OperationOutcome", "issue": [{"diagnostics": "HAPI-0389: bad _count"}]}))
        .expect_err("an outcome");
    assert!(
        err.contains("OperationOutcome") && err.contains("HAPI-0389"),
        "{err}"
    );
    let err = read_searchset(json!({"resourceType": "Bundle", "type": "searchset", "entry": {}}))
        .expect_err("entries");
    assert!(err.contains("entry"));
    let empty = read_searchset(json!({"resourceType": "Bundle", "type": "searchset", "total": 0}))
        .expect("an empty page");
    assert!(empty.resources.is_empty() && empty.next.is_none());
}
