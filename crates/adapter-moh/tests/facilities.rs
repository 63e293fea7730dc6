//! DHIS2 organisation units to facilities, without HTTP.

use adapter_moh::dhis2::{
    facility_from_org_unit, format_dhis2_time, parse_dhis2_time, point_of_geometry,
    read_org_unit_page, since_filter,
};
use chrono::{DateTime, Duration, TimeZone, Utc};
use schema::{
    AdminCode, FacilityKind, FacilityReport, FacilityStatus, ManagedBy, Sector, SourceIdentifier,
};
use serde_json::{Value, json};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 6, 1, 0, 0, 0)
        .single()
        .expect("a valid instant")
}

/// A health centre as DHIS2 serves it.
fn base_unit() -> Value {
    json!({
        "id": "HCsotip0001",
        "code": "MOH-HC-030602",
        "name": "មណ្ឌលសុខភាពសូទិព្វ",
        "shortName": "Sotip Health Centre",
        "level": 4,
        "path": "/KH000000001/PHDkcham001/ODcheungpr1/HCsotip0001",
        "parent": { "id": "ODcheungpr1" },
        "geometry": { "type": "Point", "coordinates": [105.0712, 12.0581] },
        "openingDate": "2001-03-15T00:00:00.000",
        "lastUpdated": "2024-01-23T14:05:00.000",
        "organisationUnitGroups": [{ "code": "HC" }],
        "attributeValues": [{ "value": "030602", "attribute": { "code": "ADMIN_CODE" } }]
    })
}

/// The base unit with `patch`'s top-level fields set (a null removes the field).
fn unit(patch: Value) -> Value {
    let mut u = base_unit();
    let (Value::Object(map), Value::Object(patch)) = (&mut u, patch) else {
        panic!("objects")
    };
    for (k, v) in patch {
        if v.is_null() {
            map.remove(&k);
        } else {
            map.insert(k, v);
        }
    }
    u
}

fn attrs(pairs: &[(&str, &str)]) -> Value {
    Value::Array(
        pairs
            .iter()
            .map(|(code, value)| json!({"value": value, "attribute": {"code": code}}))
            .collect(),
    )
}

fn groups(codes: &[&str]) -> Value {
    Value::Array(codes.iter().map(|c| json!({ "code": c })).collect())
}

enum Expect {
    Skipped,
    Rejected(&'static str),
    Facility(fn(&FacilityReport)),
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("a test instant")
        .to_utc()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn org_units_map_to_facilities() {
    let cases: Vec<(&str, Value, Expect)> = vec![
        (
            "a health centre, every field",
            base_unit(),
            Expect::Facility(|f| {
                assert_eq!(f.source_id, "HCsotip0001");
                assert_eq!(f.kind, FacilityKind::HealthCentre);
                assert_eq!(f.sector, Sector::Health);
                assert_eq!(f.name_km.as_str(), "មណ្ឌលសុខភាពសូទិព្វ");
                assert_eq!(
                    f.name_latin.as_ref().map(|n| n.as_str()),
                    Some("Sotip Health Centre")
                );
                assert_eq!(
                    f.admin_unit_code.as_ref().map(AdminCode::as_str),
                    Some("030602")
                );
                assert_eq!(f.status, FacilityStatus::Open);
                assert_eq!(f.managed_by, None);
                let loc = f.location.expect("a location");
                assert!(
                    close(loc.lat, 12.0581) && close(loc.lon, 105.0712),
                    "{loc:?}"
                );
                assert_eq!(
                    f.identifiers,
                    vec![
                        SourceIdentifier {
                            system: "moh:dhis2".into(),
                            value: "HCsotip0001".into()
                        },
                        SourceIdentifier {
                            system: "moh:code".into(),
                            value: "MOH-HC-030602".into()
                        },
                    ]
                );
                // 14:05 in Phnom Penh is 07:05 UTC.
                assert_eq!(f.updated_at, Some(utc("2024-01-23T07:05:00Z")));
            }),
        ),
        (
            "group RH",
            unit(json!({"organisationUnitGroups": groups(&["RH"])})),
            Expect::Facility(|f| assert_eq!(f.kind, FacilityKind::ReferralHospital)),
        ),
        (
            "group HP",
            unit(json!({"organisationUnitGroups": groups(&["HP"])})),
            Expect::Facility(|f| assert_eq!(f.kind, FacilityKind::HealthPost)),
        ),
        (
            "group NH",
            unit(json!({"organisationUnitGroups": groups(&["NH"])})),
            Expect::Facility(|f| assert_eq!(f.kind, FacilityKind::NationalHospital)),
        ),
        (
            "group PH",
            unit(json!({"organisationUnitGroups": groups(&["PH"])})),
            Expect::Facility(|f| assert_eq!(f.kind, FacilityKind::ProvincialHospital)),
        ),
        (
            "a kind among other groups",
            unit(json!({"organisationUnitGroups": groups(&["PUBLIC", "RURAL", "HC"])})),
            Expect::Facility(|f| assert_eq!(f.kind, FacilityKind::HealthCentre)),
        ),
        (
            "no group",
            unit(json!({"organisationUnitGroups": []})),
            Expect::Rejected("organisationUnitGroups: no group code"),
        ),
        (
            "groups missing",
            unit(json!({"organisationUnitGroups": null})),
            Expect::Rejected("organisationUnitGroups:"),
        ),
        (
            "unknown group",
            unit(json!({"organisationUnitGroups": groups(&["CLINIC"])})),
            Expect::Rejected("organisationUnitGroups: none of the group codes is a facility kind"),
        ),
        (
            "two kinds",
            unit(json!({"organisationUnitGroups": groups(&["HC", "HP"])})),
            Expect::Rejected("organisationUnitGroups: the group codes"),
        ),
        // ADMIN_CODE: valid, Khmer digits, invalid, not a commune, missing: never a rejection.
        (
            "ADMIN_CODE in Khmer digits",
            unit(json!({"attributeValues": attrs(&[("ADMIN_CODE", "០៣០៦០២")])})),
            Expect::Facility(|f| {
                assert_eq!(
                    f.admin_unit_code.as_ref().map(AdminCode::as_str),
                    Some("030602")
                )
            }),
        ),
        (
            "ADMIN_CODE invalid",
            unit(json!({"attributeValues": attrs(&[("ADMIN_CODE", "99x601")])})),
            Expect::Facility(|f| assert_eq!(f.admin_unit_code, None)),
        ),
        (
            "ADMIN_CODE of no province",
            unit(json!({"attributeValues": attrs(&[("ADMIN_CODE", "990601")])})),
            Expect::Facility(|f| assert_eq!(f.admin_unit_code, None)),
        ),
        (
            "ADMIN_CODE a district",
            unit(json!({"attributeValues": attrs(&[("ADMIN_CODE", "0306")])})),
            Expect::Facility(|f| assert_eq!(f.admin_unit_code, None)),
        ),
        (
            "ADMIN_CODE a village",
            unit(json!({"attributeValues": attrs(&[("ADMIN_CODE", "03060201")])})),
            Expect::Facility(|f| assert_eq!(f.admin_unit_code, None)),
        ),
        (
            "ADMIN_CODE missing",
            unit(json!({"attributeValues": []})),
            Expect::Facility(|f| assert_eq!(f.admin_unit_code, None)),
        ),
        (
            "no attributes at all",
            unit(json!({"attributeValues": null})),
            Expect::Facility(|f| assert_eq!(f.admin_unit_code, None)),
        ),
        // MANAGED_BY
        (
            "managed by a district administration",
            unit(
                json!({"attributeValues": attrs(&[("ADMIN_CODE", "030602"), ("MANAGED_BY", "0306")])}),
            ),
            Expect::Facility(|f| {
                assert_eq!(
                    f.managed_by,
                    Some(ManagedBy::Administration(
                        AdminCode::parse("0306").expect("a code")
                    ))
                );
                assert_eq!(
                    f.admin_unit_code.as_ref().map(AdminCode::as_str),
                    Some("030602")
                );
            }),
        ),
        (
            "managed by the ministry",
            unit(json!({"attributeValues": attrs(&[("MANAGED_BY", "MOH")])})),
            Expect::Facility(|f| {
                assert_eq!(
                    f.managed_by.as_ref().map(ToString::to_string).as_deref(),
                    Some("MOH")
                )
            }),
        ),
        (
            "MANAGED_BY unreadable",
            unit(json!({"attributeValues": attrs(&[("MANAGED_BY", "03060201")])})),
            Expect::Rejected("MANAGED_BY:"),
        ),
        // Names
        (
            "shortName in Khmer is no Latin name",
            unit(json!({"shortName": "មណ្ឌលសុខភាព"})),
            Expect::Facility(|f| assert_eq!(f.name_latin, None)),
        ),
        (
            "shortName mixing scripts is no Latin name",
            unit(json!({"shortName": "HC សូទិព្វ"})),
            Expect::Facility(|f| assert_eq!(f.name_latin, None)),
        ),
        (
            "no shortName",
            unit(json!({"shortName": null})),
            Expect::Facility(|f| assert_eq!(f.name_latin, None)),
        ),
        (
            "name missing",
            unit(json!({"name": null})),
            Expect::Rejected("name: missing"),
        ),
        (
            "name blank",
            unit(json!({"name": "   "})),
            Expect::Rejected("name: missing or empty"),
        ),
        (
            "name only zero-width spaces",
            unit(json!({"name": "\u{200B}"})),
            Expect::Rejected("name: is empty"),
        ),
        // Geometry
        (
            "no geometry",
            unit(json!({"geometry": null})),
            Expect::Facility(|f| assert_eq!(f.location, None)),
        ),
        (
            "polygon: the centroid of the outer ring, weighted by area",
            // An L (with a hole, which does not count): its area centroid is 5/6 of a
            // degree from its corner both ways; the mean of its vertices would be 1.
            unit(json!({"geometry": {"type": "Polygon", "coordinates": [
                [[104.0, 11.0], [106.0, 11.0], [106.0, 12.0], [105.0, 12.0], [105.0, 13.0], [104.0, 13.0], [104.0, 11.0]],
                [[104.2, 11.2], [104.4, 11.2], [104.4, 11.4], [104.2, 11.2]]
            ]}})),
            Expect::Facility(|f| {
                let loc = f.location.expect("a location");
                assert!(
                    close(loc.lon, 104.0 + 5.0 / 6.0) && close(loc.lat, 11.0 + 5.0 / 6.0),
                    "{loc:?}"
                );
            }),
        ),
        (
            "polygon wound clockwise",
            unit(json!({"geometry": {"type": "Polygon", "coordinates": [
                [[104.0, 11.0], [104.0, 14.0], [110.0, 11.0], [104.0, 11.0]]
            ]}})),
            Expect::Facility(|f| {
                let loc = f.location.expect("a location");
                assert!(close(loc.lon, 106.0) && close(loc.lat, 12.0), "{loc:?}");
            }),
        ),
        (
            "degenerate polygon: the vertex mean",
            unit(
                json!({"geometry": {"type": "Polygon", "coordinates": [[[104.0, 11.0], [105.0, 11.0], [106.0, 11.0], [104.0, 11.0]]]}}),
            ),
            Expect::Facility(|f| {
                let loc = f.location.expect("a location");
                assert!(close(loc.lon, 105.0) && close(loc.lat, 11.0), "{loc:?}");
            }),
        ),
        (
            "point out of range",
            unit(json!({"geometry": {"type": "Point", "coordinates": [12.05, 195.1]}})),
            Expect::Rejected("geometry: latitude: is not between -90 and 90"),
        ),
        (
            "point not numbers",
            unit(json!({"geometry": {"type": "Point", "coordinates": ["105.1", "12.0"]}})),
            Expect::Rejected("geometry: Point coordinates"),
        ),
        (
            "polygon with a broken position",
            unit(
                json!({"geometry": {"type": "Polygon", "coordinates": [[[104.0, 11.0], [105.0]]]}}),
            ),
            Expect::Rejected("geometry: polygon position 1"),
        ),
        (
            "a line",
            unit(
                json!({"geometry": {"type": "LineString", "coordinates": [[104.0, 11.0], [105.0, 11.0]]}}),
            ),
            Expect::Rejected("geometry: LineString is not a Point or a Polygon"),
        ),
        // Status
        (
            "closed in the past",
            unit(json!({"closedDate": "2022-12-31T00:00:00.000"})),
            Expect::Facility(|f| assert_eq!(f.status, FacilityStatus::Closed)),
        ),
        (
            "closing in the future",
            unit(json!({"closedDate": "2030-01-01T00:00:00.000"})),
            Expect::Facility(|f| assert_eq!(f.status, FacilityStatus::Open)),
        ),
        (
            "closedDate unreadable",
            unit(json!({"closedDate": "soon"})),
            Expect::Rejected("closedDate: is not a DHIS2 time"),
        ),
        // Times
        (
            "lastUpdated with Z",
            unit(json!({"lastUpdated": "2024-01-23T07:05:00Z"})),
            Expect::Facility(|f| assert_eq!(f.updated_at, Some(utc("2024-01-23T07:05:00Z")))),
        ),
        (
            "lastUpdated with an offset",
            unit(json!({"lastUpdated": "2024-01-23T14:05:00.000+0700"})),
            Expect::Facility(|f| assert_eq!(f.updated_at, Some(utc("2024-01-23T07:05:00Z")))),
        ),
        (
            "lastUpdated unreadable",
            unit(json!({"lastUpdated": "23/01/2024"})),
            Expect::Rejected("lastUpdated: is not a DHIS2 time"),
        ),
        // Identifiers and levels
        (
            "no code",
            unit(json!({"code": null})),
            Expect::Facility(|f| {
                assert_eq!(
                    f.identifiers,
                    vec![SourceIdentifier {
                        system: "moh:dhis2".into(),
                        value: "HCsotip0001".into()
                    }]
                )
            }),
        ),
        (
            "no id",
            unit(json!({"id": null})),
            Expect::Rejected("id: missing"),
        ),
        (
            "level 3: an operational district",
            unit(json!({"level": 3, "organisationUnitGroups": groups(&["OD"])})),
            Expect::Skipped,
        ),
        (
            "level 2: a province health department",
            unit(json!({"level": 2, "name": null})),
            Expect::Skipped,
        ),
        (
            "level 1: the country",
            unit(json!({"level": 1})),
            Expect::Skipped,
        ),
        (
            "no level: counted from the path",
            unit(json!({"level": null})),
            Expect::Facility(|f| assert_eq!(f.source_id, "HCsotip0001")),
        ),
        (
            "no level, a level-3 path",
            unit(json!({"level": null, "path": "/A/B/C"})),
            Expect::Skipped,
        ),
        (
            "no level, no path",
            unit(json!({"level": null, "path": null})),
            Expect::Rejected("level: missing"),
        ),
    ];
    for (name, raw, expect) in cases {
        let got = facility_from_org_unit(&raw, now());
        match (expect, got) {
            (Expect::Skipped, Ok(None)) => {}
            (Expect::Rejected(reason), Err(got)) => {
                let got = got.to_string();
                assert!(
                    got.starts_with(reason) || got.contains(reason),
                    "{name}: reason {got:?} lacks {reason:?}"
                );
            }
            (Expect::Facility(check), Ok(Some(f))) => check(&f),
            (_, got) => panic!("{name}: unexpected {got:?}"),
        }
    }
}

#[test]
fn dhis2_times_without_zone_are_cambodian() {
    let cases = [
        ("2024-01-23T14:05:00.000", "2024-01-23T07:05:00Z"),
        ("2024-01-23T14:05:00", "2024-01-23T07:05:00Z"),
        ("2024-01-23T03:30:00.250", "2024-01-22T20:30:00.250Z"),
        ("2024-01-23", "2024-01-22T17:00:00Z"),
        ("2024-01-23T07:05:00Z", "2024-01-23T07:05:00Z"),
        ("2024-01-23T14:05:00+07:00", "2024-01-23T07:05:00Z"),
    ];
    for (input, want) in cases {
        assert_eq!(parse_dhis2_time(input), Ok(utc(want)), "{input}");
    }
    assert!(parse_dhis2_time("yesterday").is_err());
}

#[test]
fn incremental_filter_overlaps_and_is_written_in_cambodian_time() {
    let since = utc("2024-01-23T07:05:00Z");
    assert_eq!(
        since_filter(since, Duration::minutes(5)),
        "lastUpdated:gt:2024-01-23T14:00:00.000"
    );
    assert_eq!(
        since_filter(since, Duration::zero()),
        "lastUpdated:gt:2024-01-23T14:05:00.000"
    );
    // Across midnight, with milliseconds.
    assert_eq!(
        format_dhis2_time(utc("2024-01-23T20:00:00.123Z")),
        "2024-01-24T03:00:00.123"
    );
}

#[test]
fn geometry_centroids() {
    let square = json!({"type": "Polygon", "coordinates": [[[105.0, 12.0], [105.02, 12.0], [105.02, 12.02], [105.0, 12.02], [105.0, 12.0]]]});
    let p = point_of_geometry(&square).expect("a point");
    assert!(close(p.lon, 105.01) && close(p.lat, 12.01), "{p:?}");
    // Two squares, the second four times the first: the centroid leans to it.
    let multi = json!({"type": "MultiPolygon", "coordinates": [
        [[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.0]]],
        [[[10.0, 0.0], [12.0, 0.0], [12.0, 2.0], [10.0, 2.0], [10.0, 0.0]]]
    ]});
    let p = point_of_geometry(&multi).expect("a point");
    assert!(
        close(p.lon, (0.5 + 4.0 * 11.0) / 5.0) && close(p.lat, (0.5 + 4.0 * 1.0) / 5.0),
        "{p:?}"
    );
    // A single position as a ring.
    let dot = json!({"type": "Polygon", "coordinates": [[[104.5, 11.5]]]});
    let p = point_of_geometry(&dot).expect("a point");
    assert!(close(p.lon, 104.5) && close(p.lat, 11.5));
    assert!(point_of_geometry(&json!({"type": "Polygon", "coordinates": []})).is_err());
}

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("a fixture")).expect("fixture JSON")
}

#[test]
fn a_fixture_page_reads_whole() {
    let page = read_org_unit_page(fixture("dhis2_org_units_page1.json")).expect("a page");
    assert_eq!(
        (page.page, page.page_count, page.has_next_page),
        (Some(1), Some(2), true)
    );
    assert!(!page.is_last(1));
    assert_eq!(page.first_id().as_deref(), Some("KH000000001"));
    let (mut facilities, mut skipped, mut rejected) = (Vec::new(), 0, Vec::new());
    for u in &page.units {
        match facility_from_org_unit(u, now()) {
            Ok(Some(f)) => facilities.push(f),
            Ok(None) => skipped += 1,
            Err(e) => rejected.push(e),
        }
    }
    assert_eq!(skipped, 3);
    assert_eq!(facilities.len(), 2);
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    let rh = &facilities[0];
    assert_eq!(rh.kind, FacilityKind::ReferralHospital);
    let loc = rh.location.expect("a centroid");
    assert!(close(loc.lon, 105.01) && close(loc.lat, 12.01));
    assert_eq!(
        rh.name_latin.as_ref().map(|n| n.as_str()),
        Some("Cheung Prey Referral Hospital")
    );
    assert_eq!(facilities[1].name_latin, None);

    let last = read_org_unit_page(fixture("dhis2_org_units_page2.json")).expect("a page");
    assert!(last.is_last(2));
}

#[test]
fn envelopes_that_are_not_pages() {
    assert!(read_org_unit_page(json!([])).is_err());
    assert!(
        read_org_unit_page(json!({"pager": {"page": 1}}))
            .expect_err("no units")
            .contains("organisationUnits")
    );
    assert!(
        read_org_unit_page(json!({"organisationUnits": []}))
            .expect_err("no pager")
            .contains("pager")
    );
    assert!(read_org_unit_page(json!({"pager": {"page": "x"}, "organisationUnits": []})).is_err());
    // No pageCount: the next page's presence decides.
    let page =
        read_org_unit_page(json!({"pager": {"page": 3}, "organisationUnits": [{"id": "a"}]}))
            .expect("a page");
    assert!(page.is_last(3));
    let page = read_org_unit_page(json!({"pager": {"page": 3, "nextPage": "http://x/?page=4"}, "organisationUnits": [{"id": "a"}]}))
        .expect("a page");
    assert!(!page.is_last(3));
    // An empty page ends the pull whatever the pager says.
    let page =
        read_org_unit_page(json!({"pager": {"page": 3, "pageCount": 9}, "organisationUnits": []}))
            .expect("a page");
    assert!(page.is_last(3));
}
