//! Each endpoint serves DESIGN.md's contract, and a full pull returns exactly the
//! truth's count, with no duplicates, in source-id order.

use std::collections::HashSet;

use serde_json::Value;

use crate::harness::{column, parse_csv, start};

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
    k.sort();
    k
}

fn sorted_keys(names: &[&str]) -> Vec<String> {
    let mut k: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
    k.sort();
    k
}

fn assert_unique_and_sorted(ids: &[String], what: &str) {
    let set: HashSet<&String> = ids.iter().collect();
    assert_eq!(set.len(), ids.len(), "{what}: duplicate ids");
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "{what}: not sorted by id"
    );
}

#[tokio::test]
async fn moi_gazetteer() {
    let mock = start(1).await;
    let first = mock.json("/api/v1/gazetteer/units?page=1&per_page=2").await;
    assert_eq!(
        keys(&first),
        sorted_keys(&["page", "per_page", "total", "items"])
    );
    assert_eq!(first["page"], 1);
    assert_eq!(first["per_page"], 2);
    let units = mock.moi_units("").await;
    let truth = mock.server.truth();
    assert_eq!(units.len() as u64, truth.counts.moi_units);
    assert_eq!(first["total"].as_u64(), Some(truth.counts.moi_units));
    let kinds = ["រាជធានី", "ខេត្ត", "ក្រុង", "ស្រុក", "ខណ្ឌ", "ឃុំ", "សង្កាត់", "ភូមិ"];
    for u in &units {
        assert_eq!(
            keys(u),
            sorted_keys(&[
                "code",
                "type_km",
                "name_km",
                "name_en",
                "parent_code",
                "updated_at"
            ])
        );
        assert!(kinds.contains(&u["type_km"].as_str().expect("type_km")));
    }
    let ids: Vec<String> = units
        .iter()
        .map(|u| u["code"].as_str().expect("code").to_owned())
        .collect();
    assert_unique_and_sorted(&ids, "moi");
    // The whole (synthetic) country: 25 provinces, about 210 districts, 1,650
    // communes and 14,500 villages.
    let mut per_level = [0usize; 4];
    for u in &units {
        let code = u["code"].as_str().expect("code");
        if !truth.invalid.moi_units.iter().any(|i| i.id == code) {
            per_level[code.len() / 2 - 1] += 1;
        }
    }
    let [provinces, districts, communes, villages] = per_level;
    assert_eq!(provinces, 25);
    assert!((190..=230).contains(&districts), "{districts} districts");
    assert!((1_500..=1_800).contains(&communes), "{communes} communes");
    assert!((13_000..=16_000).contains(&villages), "{villages} villages");
    // Beyond the last page: no items.
    let past = mock
        .json("/api/v1/gazetteer/units?page=99&per_page=5000")
        .await;
    assert_eq!(past["items"].as_array().map(Vec::len), Some(0));
    mock.server.stop().await;
}

#[tokio::test]
async fn mcs_officers() {
    let mock = start(2).await;
    let first = mock.json("/api/officers?page=1&size=3").await;
    assert_eq!(keys(&first), sorted_keys(&["data", "meta"]));
    assert_eq!(
        keys(&first["meta"]),
        sorted_keys(&["page", "size", "total_pages"])
    );
    let officers = mock.mcs_officers("").await;
    assert_eq!(
        officers.len() as u64,
        mock.server.truth().counts.mcs_officers
    );
    let mut genders = HashSet::new();
    let mut zwsp = 0;
    for o in &officers {
        assert_eq!(
            keys(o),
            sorted_keys(&[
                "officer_id",
                "national_id",
                "name_kh",
                "name_latin",
                "gender",
                "date_of_birth",
                "ministry",
                "work_unit",
                "position_kh",
                "grade",
                "status",
                "modified_at",
            ])
        );
        assert_eq!(
            keys(&o["work_unit"]),
            sorted_keys(&["code", "name_kh", "facility_code", "admin_code"])
        );
        genders.insert(o["gender"].as_str().expect("gender").to_owned());
        zwsp += usize::from(o["name_kh"].as_str().expect("name").contains('\u{200B}'));
    }
    assert_eq!(
        genders,
        ["M", "F", "ប្រុស", "ស្រី"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect()
    );
    assert!(zwsp > 0, "some names carry zero-width spaces");
    let dobs: Vec<&str> = officers
        .iter()
        .filter_map(|o| o["date_of_birth"].as_str())
        .collect();
    assert!(dobs.iter().any(|d| d.contains("ខែ")), "long Khmer dates");
    assert!(dobs.iter().any(|d| d.contains('/')), "DD/MM/YYYY dates");
    assert!(
        dobs.iter().any(|d| d.starts_with("19") && d.contains('-')),
        "ISO dates"
    );
    assert!(
        dobs.iter().any(|d| d.starts_with('០')
            || d.starts_with('១')
            || d.starts_with('២')
            || d.starts_with('៣')),
        "Khmer digits"
    );
    let ids: Vec<String> = officers
        .iter()
        .map(|o| o["officer_id"].as_str().expect("id").to_owned())
        .collect();
    assert_unique_and_sorted(&ids, "mcs");
    // Sizes above the maximum are clamped.
    let big = mock.json("/api/officers?page=1&size=50000").await;
    assert_eq!(big["meta"]["size"], 10_000);
    assert_eq!(mock.get("/api/officers?page=0").await.status(), 400);
    mock.server.stop().await;
}

#[tokio::test]
async fn moh_dhis2_facilities() {
    let mock = start(3).await;
    let truth = mock.server.truth().clone();
    let first = mock
        .json("/api/organisationUnits.json?paging=true&page=1&pageSize=10")
        .await;
    assert_eq!(
        keys(&first["pager"]),
        sorted_keys(&["page", "pageCount", "total", "pageSize", "nextPage"])
    );
    assert!(
        first["pager"]["nextPage"]
            .as_str()
            .expect("next")
            .starts_with(&mock.base)
    );
    let units = mock.dhis2_units("").await;
    assert_eq!(units.len() as u64, truth.counts.moh_org_units);
    let levels: Vec<u64> = units
        .iter()
        .map(|u| u["level"].as_u64().expect("level"))
        .collect();
    assert_eq!(levels.iter().filter(|l| **l == 1).count(), 1);
    assert_eq!(levels.iter().filter(|l| **l == 2).count(), 25);
    assert!(levels.contains(&3));
    assert_eq!(
        levels.iter().filter(|l| **l == 4).count() as u64,
        truth.counts.moh_facilities
    );
    let ids: Vec<String> = units
        .iter()
        .map(|u| u["id"].as_str().expect("id").to_owned())
        .collect();
    assert_unique_and_sorted(&ids, "dhis2");
    for u in &units {
        let id = u["id"].as_str().expect("id");
        assert_eq!(id.len(), 11);
        assert!(id.chars().next().is_some_and(|c| c.is_ascii_alphabetic()));
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric()));
        let path = u["path"].as_str().expect("path");
        assert!(path.ends_with(&format!("/{id}")));
        assert_eq!(
            path.matches('/').count() as u64,
            u["level"].as_u64().expect("level")
        );
        let updated = u["lastUpdated"].as_str().expect("lastUpdated");
        assert_eq!(updated.len(), 23, "no time zone: {updated}");
        if u["level"] == 4 {
            let group = u["organisationUnitGroups"][0]["code"]
                .as_str()
                .expect("group");
            assert!(["RH", "HC", "HP"].contains(&group));
            let code = u["code"].as_str().expect("code");
            assert!(code.starts_with(&format!("{group}-")), "{code}");
            assert_eq!(u["parent"]["id"].as_str(), path.split('/').nth(3));
            let admin = u["attributeValues"]
                .as_array()
                .expect("attributes")
                .iter()
                .find(|a| a["attribute"]["code"] == "ADMIN_CODE");
            assert!(admin.is_some(), "every facility has ADMIN_CODE");
        }
    }
    let polygons = units
        .iter()
        .filter(|u| u["geometry"]["type"] == "Polygon")
        .count();
    let points = units
        .iter()
        .filter(|u| u["geometry"]["type"] == "Point")
        .count();
    assert!(
        points > polygons && polygons > 0,
        "{points} points, {polygons} polygons"
    );
    assert!(units.iter().any(|u| u.get("closedDate").is_some()));
    assert!(units.iter().any(|u| {
        u["attributeValues"]
            .as_array()
            .is_some_and(|a| a.iter().any(|a| a["attribute"]["code"] == "MANAGED_BY"))
    }));
    // Without paging: everything, no pager.
    let all = mock.json("/api/organisationUnits.json?paging=false").await;
    assert!(all.get("pager").is_none());
    assert_eq!(
        all["organisationUnits"].as_array().map(Vec::len),
        Some(units.len())
    );
    mock.server.stop().await;
}

#[tokio::test]
async fn moh_fhir_health_workers() {
    let mock = start(4).await;
    let truth = mock.server.truth().clone();
    let practitioners = mock.fhir("Practitioner", "").await;
    assert_eq!(practitioners.len() as u64, truth.counts.moh_practitioners);
    let ids: Vec<String> = practitioners
        .iter()
        .map(|p| p["id"].as_str().expect("id").to_owned())
        .collect();
    assert_unique_and_sorted(&ids, "practitioners");
    let mut without_officer_id = 0;
    for p in &practitioners {
        assert_eq!(p["resourceType"], "Practitioner");
        assert!(p["id"].as_str().expect("id").starts_with("pr-"));
        let systems: Vec<&str> = p["identifier"]
            .as_array()
            .expect("identifier")
            .iter()
            .map(|i| i["system"].as_str().expect("system"))
            .collect();
        assert!(systems.contains(&"https://gdi.gov.kh/national-id"));
        if !systems.contains(&"https://hrmis.mcs.gov.kh/officer-id") {
            without_officer_id += 1;
        }
        assert_eq!(p["name"][0]["use"], "official");
        assert!(p["name"][0]["text"].is_string());
        assert_eq!(p["name"][1]["use"], "usual");
        assert!(p["name"][1]["family"].is_string());
        assert!(p["name"][1]["given"][0].is_string());
        assert!(["male", "female"].contains(&p["gender"].as_str().expect("gender")));
        assert!(p["birthDate"].is_string());
        let updated = p["meta"]["lastUpdated"].as_str().expect("lastUpdated");
        assert!(
            chrono::DateTime::parse_from_rfc3339(updated).is_ok(),
            "{updated}"
        );
    }
    assert!(
        without_officer_id as usize
            >= truth
                .contract_staff
                .iter()
                .filter(|c| c.source == mock_ministries::Ministry::Moh)
                .count()
    );

    let roles = mock.fhir("PractitionerRole", "").await;
    assert_eq!(roles.len() as u64, truth.counts.moh_practitioner_roles);
    let ids: Vec<String> = roles
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_owned())
        .collect();
    assert_unique_and_sorted(&ids, "roles");
    let valid: Vec<&Value> = roles
        .iter()
        .filter(|r| {
            !truth
                .invalid
                .moh_practitioner_roles
                .iter()
                .any(|i| i.id == r["id"])
        })
        .collect();
    for r in valid {
        assert!(
            r["practitioner"]["reference"]
                .as_str()
                .expect("reference")
                .starts_with("Practitioner/pr-")
        );
        let location = r["location"][0]["reference"].as_str().expect("location");
        assert!(location.starts_with("Location/") && location.len() == "Location/".len() + 11);
        assert!(r["code"][0]["coding"][0]["code"].is_string());
        assert!(r["period"]["start"].is_string());
        assert_eq!(r["active"], true);
    }
    // The bundle's links are absolute and carry `total`.
    let bundle = mock.json("/fhir/Practitioner?_count=5").await;
    assert_eq!(
        bundle["total"].as_u64(),
        Some(truth.counts.moh_practitioners)
    );
    let links = bundle["link"].as_array().expect("links");
    assert!(links.iter().any(|l| l["relation"] == "self"));
    let next = links
        .iter()
        .find(|l| l["relation"] == "next")
        .expect("next");
    assert!(next["url"].as_str().expect("url").starts_with(&mock.base));
    assert!(
        bundle["entry"][0]["fullUrl"]
            .as_str()
            .expect("fullUrl")
            .ends_with(bundle["entry"][0]["resource"]["id"].as_str().expect("id"))
    );
    mock.server.stop().await;
}

#[tokio::test]
async fn moeys_emis_exports() {
    let mock = start(5).await;
    let truth = mock.server.truth().clone();
    let response = mock.get("/emis/export/schools.csv").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers().get("content-length").is_none(),
        "streamed (chunked)"
    );
    let text = response.text().await.expect("body");
    let (header, rows) = parse_csv(&text);
    assert_eq!(
        header.join(","),
        "school_code,school_name_kh,school_name_en,school_level,commune_code,latitude,longitude,status,managed_by,updated_at"
    );
    assert_eq!(rows.len() as u64, truth.counts.moeys_schools);
    assert!(rows.iter().all(|r| r.len() == header.len()));
    assert!(text.contains("\",\""), "names are quoted");
    let ids: Vec<String> = rows.iter().map(|r| r[0].clone()).collect();
    assert_unique_and_sorted(&ids, "schools");
    assert!(
        ids.iter()
            .all(|c| c.len() == 8 && c.bytes().all(|b| b.is_ascii_digit()))
    );
    let managed = column(&header, "managed_by");
    assert!(
        rows.iter().any(|r| r[managed].len() == 4),
        "some are managed by a district"
    );

    let text = mock.text("/emis/export/teachers.csv").await;
    let (header, rows) = parse_csv(&text);
    assert_eq!(
        header.join(","),
        "teacher_id,officer_id,national_id,name_kh,name_en,sex,dob,school_code,position,employment_type,updated_at"
    );
    assert_eq!(rows.len() as u64, truth.counts.moeys_teachers);
    let ids: Vec<String> = rows.iter().map(|r| r[0].clone()).collect();
    assert_unique_and_sorted(&ids, "teachers");
    assert!(ids.iter().all(|t| t.len() == 8 && t.starts_with('T')));
    let (officer, kind, dob) = (
        column(&header, "officer_id"),
        column(&header, "employment_type"),
        column(&header, "dob"),
    );
    let contract: Vec<&Vec<String>> = rows.iter().filter(|r| r[kind] == "contract").collect();
    assert!(!contract.is_empty());
    assert!(
        contract.iter().all(|r| r[officer].is_empty()),
        "contract teachers have no officer id"
    );
    assert!(
        rows.iter()
            .any(|r| r[dob].chars().any(|c| ('០'..='៩').contains(&c))),
        "Khmer digits"
    );
    mock.server.stop().await;
}

#[tokio::test]
async fn mef_payroll() {
    let mock = start(6).await;
    let truth = mock.server.truth().clone();
    assert_eq!(truth.periods.len(), 24);
    assert_eq!(truth.current_period, "2025-12");
    for period in ["2024-01", "2025-06", "2025-12"] {
        let items = mock.payroll(period).await;
        assert_eq!(
            Some(&(items.len() as u64)),
            truth.counts.mef_payroll.get(period)
        );
        for i in &items {
            assert_eq!(
                keys(i),
                sorted_keys(&["officer_id", "ministry", "budget_unit", "status"])
            );
        }
        let ids: Vec<String> = items
            .iter()
            .map(|i| i["officer_id"].as_str().expect("id").to_owned())
            .collect();
        assert_unique_and_sorted(&ids, period);
    }
    assert_eq!(mock.get("/api/payroll/2023-12").await.status(), 404);
    assert_eq!(mock.get("/api/payroll/december").await.status(), 400);
    mock.server.stop().await;
}

#[tokio::test]
async fn names_are_nfc_khmer() {
    use unicode_normalization::UnicodeNormalization;
    let mock = start(7).await;
    let officers = mock.json("/api/officers?page=1&size=2000").await;
    for o in officers["data"].as_array().expect("data") {
        let name = o["name_kh"].as_str().expect("name");
        let nfc: String = name.nfc().collect();
        assert_eq!(name, nfc, "{name} is NFC");
        assert!(name.is_empty() || name.chars().any(|c| ('\u{1780}'..='\u{17FF}').contains(&c)));
    }
    let units = mock.moi_units("").await;
    for u in units.iter().take(3000) {
        let name = u["name_km"].as_str().expect("name");
        assert_eq!(name, name.nfc().collect::<String>());
    }
    mock.server.stop().await;
}
