//! The reports: roster coverage per administrative unit, and facilities transferred to
//! district administrations, over a registry synced from the mock ministries (so the
//! numbers are real), as JSON and as CSV, inside a token's jurisdiction.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use e2e::{TestApp, collect_pages, spawn_app};
use schema::DiscrepancyKind;
use serde_json::{Value, json};

use crate::rosters::{
    all_facilities, ids_by_identifier, mock, planned_facility, submit, sync_all, system_of,
};

/// The numeric columns of a coverage line.
const COUNTS: [&str; 7] = [
    "health_facilities",
    "education_facilities",
    "health_facilities_reporting",
    "education_facilities_reporting",
    "staff_on_roll",
    "staff_confirmed_serving",
    "people_reported_serving",
];

async fn report(app: &TestApp, token: &str, path: &str) -> Value {
    let (status, body) = app.get_json(path, token).await;
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

fn units(report: &Value) -> &Vec<Value> {
    report["units"].as_array().expect("units")
}

fn codes(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|u| u["code"].as_str().expect("code").to_owned())
        .collect()
}

fn count(line: &Value, column: &str) -> u64 {
    line[column]
        .as_u64()
        .unwrap_or_else(|| panic!("{column} in {line}"))
}

fn open_of(line: &Value, kind: &str) -> u64 {
    line["open_discrepancies"][kind].as_u64().unwrap_or(0)
}

fn str_of<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} in {v}"))
}

fn is_khmer(s: &str) -> bool {
    s.chars().any(|c| ('\u{1780}'..='\u{17FF}').contains(&c))
}

/// GETs `path` as CSV: checks the spreadsheet conventions (BOM, UTF-8, CRLF) and
/// returns the rows, header first.
async fn csv(app: &TestApp, token: &str, path: &str) -> Vec<Vec<String>> {
    let res = app
        .http
        .get(app.url(path))
        .bearer_auth(token)
        .header("accept", "text/csv")
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), 200, "{path}");
    let content_type = res.headers()["content-type"]
        .to_str()
        .expect("content type")
        .to_owned();
    assert!(content_type.starts_with("text/csv"), "{content_type}");
    let bytes = res.bytes().await.expect("body");
    assert!(
        bytes.starts_with(&[0xEF, 0xBB, 0xBF]),
        "{path}: starts with the UTF-8 byte-order mark"
    );
    let text = String::from_utf8(bytes.to_vec()).expect("UTF-8");
    let text = text.strip_prefix('\u{FEFF}').expect("BOM");
    assert!(text.ends_with("\r\n"), "{path}: lines end in CRLF");
    assert_eq!(
        text.matches('\n').count(),
        text.matches("\r\n").count(),
        "{path}: every line ends in CRLF"
    );
    parse_csv(text)
}

/// A small RFC 4180 reader (quoted fields, doubled quotes).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut field) = (Vec::new(), Vec::new(), String::new());
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    field.push('"');
                    chars.next();
                }
                '"' => quoted = false,
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            ',' => row.push(std::mem::take(&mut field)),
            '\r' => {}
            '\n' => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            _ => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

/// Rows as maps from the header's column names.
fn records(rows: &[Vec<String>]) -> Vec<HashMap<String, String>> {
    let header = &rows[0];
    rows[1..]
        .iter()
        .map(|r| {
            assert_eq!(r.len(), header.len(), "{r:?}");
            header.iter().cloned().zip(r.iter().cloned()).collect()
        })
        .collect()
}

/// A registry synced from the mock, with rosters from a few sites of the mock's plan
/// (three health facilities and four schools; the first of them sends its roster
/// twice). Returns the app, the plan's period, and the facilities that reported.
async fn registry_with_rosters(seed: u64) -> (TestApp, String, Vec<String>, u64) {
    let mock = mock(seed).await;
    let app = spawn_app().await;
    sync_all(&app, &mock).await;
    let ids = ids_by_identifier(&all_facilities(&app).await);
    let plan = mock.roster_plan(0.1, 9);
    let health = plan
        .submissions
        .iter()
        .filter(|r| r.source == mock_ministries::Ministry::Moh);
    let schools = plan
        .submissions
        .iter()
        .filter(|r| r.source != mock_ministries::Ministry::Moh);
    let picked: Vec<_> = health.take(3).chain(schools.take(4)).collect();
    assert_eq!(picked.len(), 7, "the plan has sites of both sectors");
    let site = app.token("rosters:write", None);
    let mut reported = Vec::new();
    let mut present = 0;
    for r in &picked {
        let id = planned_facility(&ids, r);
        submit(
            &app,
            &site,
            &id,
            &json!({"period": plan.period, "entries": r.entries}),
        )
        .await;
        present += r.entries.iter().filter(|e| e.present).count() as u64;
        reported.push(id);
    }
    // A site that sends its roster again is still one site, its people counted once.
    let again = planned_facility(&ids, picked[0]);
    submit(
        &app,
        &site,
        &again,
        &json!({"period": plan.period, "entries": picked[0].entries}),
    )
    .await;
    (app, plan.period, reported, present)
}

#[tokio::test]
async fn coverage_by_province_adds_up_to_the_registry_the_rosters_and_the_open_findings() {
    let (app, period, reported, present) = registry_with_rosters(31).await;
    let reader = app.token("reports:read facilities:read", None);
    let body = report(
        &app,
        &reader,
        &format!("/v1/reports/coverage?level=province&period={period}"),
    )
    .await;
    assert_eq!(body["level"], "province");
    assert_eq!(body["period"], period.as_str());
    let lines = units(&body);
    let (provinces, _) =
        collect_pages(&app, "/v1/admin-units?level=province&limit=1000", &reader).await;
    let mut expected = codes(&provinces);
    expected.sort();
    assert_eq!(codes(lines), expected, "one line per province, by code");
    assert!(lines.iter().all(|l| is_khmer(str_of(l, "name_km"))));

    // Facilities: the registry's open ones with a commune.
    let facilities = all_facilities(&app).await;
    let place: HashMap<&str, (&str, &str)> = facilities
        .iter()
        .filter(|f| f["status"] == "open")
        .filter_map(|f| {
            Some((
                str_of(f, "id"),
                (f["sector"].as_str()?, f["admin_unit_code"].as_str()?),
            ))
        })
        .collect();
    let in_unit = |code: &str, sector: &str, only: Option<&[String]>| -> u64 {
        place
            .iter()
            .filter(|(id, (s, c))| {
                *s == sector
                    && c.starts_with(code)
                    && only.is_none_or(|o| o.iter().any(|x| x == *id))
            })
            .count() as u64
    };
    for line in lines {
        let code = str_of(line, "code");
        assert_eq!(
            count(line, "health_facilities"),
            in_unit(code, "health", None),
            "{line}"
        );
        assert_eq!(
            count(line, "education_facilities"),
            in_unit(code, "education", None),
            "{line}"
        );
        assert_eq!(
            count(line, "health_facilities_reporting"),
            in_unit(code, "health", Some(&reported)),
            "{line}"
        );
        assert_eq!(
            count(line, "education_facilities_reporting"),
            in_unit(code, "education", Some(&reported)),
            "{line}"
        );
        assert!(
            count(line, "staff_confirmed_serving") <= count(line, "staff_on_roll"),
            "{line}"
        );
    }
    let total = |column: &str| lines.iter().map(|l| count(l, column)).sum::<u64>();
    assert_eq!(
        total("health_facilities") + total("education_facilities"),
        place.len() as u64
    );
    assert_eq!(
        total("health_facilities_reporting") + total("education_facilities_reporting"),
        reported.len() as u64,
        "every site that sent a roster, once"
    );
    assert_eq!(
        total("people_reported_serving"),
        present,
        "everyone listed present on the period's latest rosters"
    );
    assert!(total("staff_on_roll") > 0 && total("staff_confirmed_serving") > 0);

    // Open findings per kind: what /v1/discrepancies lists, located in each province.
    let mut any = 0;
    for kind in DiscrepancyKind::names() {
        let (found, _) = collect_pages(
            &app,
            &format!("/v1/discrepancies?kind={kind}&limit=1000"),
            &reader,
        )
        .await;
        let placed: Vec<&str> = found
            .iter()
            .filter_map(|d| d["admin_unit_code"].as_str())
            .collect();
        for line in lines {
            let code = str_of(line, "code");
            let here = placed.iter().filter(|c| c.starts_with(code)).count() as u64;
            assert_eq!(open_of(line, kind), here, "{kind} in {line}");
        }
        let reported: u64 = lines.iter().map(|l| open_of(l, kind)).sum();
        assert_eq!(
            reported,
            placed.len() as u64,
            "{kind}: every placed finding"
        );
        any += reported;
    }
    assert!(any > 0, "the mock's planted facts are found");

    // The districts of one province.
    let province = &place[reported[0].as_str()].1[..2];
    let body = report(
        &app,
        &reader,
        &format!("/v1/reports/coverage?level=district&period={period}&parent={province}"),
    )
    .await;
    assert_eq!(body["parent"], province);
    let districts = units(&body);
    let (listed, _) = collect_pages(
        &app,
        &format!("/v1/admin-units?level=district&parent={province}&limit=1000"),
        &reader,
    )
    .await;
    let mut expected = codes(&listed);
    expected.sort();
    assert!(!expected.is_empty());
    assert_eq!(codes(districts), expected, "only that province's districts");
    let whole = lines
        .iter()
        .find(|l| l["code"] == province)
        .expect("province line");
    for column in COUNTS {
        assert_eq!(
            districts.iter().map(|d| count(d, column)).sum::<u64>(),
            count(whole, column),
            "{column}: the districts add up to their province"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn coverage_as_csv_opens_in_a_spreadsheet_and_a_jurisdiction_sees_only_its_area() {
    let (app, period, reported, _) = registry_with_rosters(32).await;
    let reader = app.token("reports:read facilities:read", None);
    let province_path = format!("/v1/reports/coverage?level=province&period={period}");
    let body = report(&app, &reader, &province_path).await;
    let lines = units(&body);

    let rows = csv(&app, &reader, &province_path).await;
    let header = &rows[0];
    for column in ["code", "name_km", "name_latin"].into_iter().chain(COUNTS) {
        assert!(header.iter().any(|h| h == column), "{column} in {header:?}");
    }
    for kind in DiscrepancyKind::names() {
        let column = format!("open_{kind}");
        assert!(header.contains(&column), "{column} in {header:?}");
    }
    let table = records(&rows);
    assert_eq!(table.len(), lines.len(), "one row per province");

    // The same table as a workbook, opened as a spreadsheet program opens it: the
    // header row frozen, Khmer names intact, every cell as the CSV has it.
    let res = app
        .http
        .get(app.url(&format!("{province_path}&format=xlsx")))
        .bearer_auth(&reader)
        .send()
        .await
        .expect("xlsx");
    assert_eq!(res.status(), 200);
    let sheets = e2e::workbook::read(&res.bytes().await.expect("body")).await;
    assert_eq!(sheets.len(), 1);
    assert_eq!(
        sheets[0].freeze.as_deref(),
        Some("A2"),
        "the header row is frozen"
    );
    assert_eq!(
        sheets[0].rows, rows,
        "the workbook holds what the CSV holds"
    );
    for (row, line) in table.iter().zip(lines) {
        assert_eq!(row["code"], str_of(line, "code"));
        assert_eq!(row["name_km"], str_of(line, "name_km"));
        assert!(is_khmer(&row["name_km"]), "{row:?}");
        assert_eq!(row["name_latin"], line["name_latin"].as_str().unwrap_or(""));
        for column in COUNTS {
            assert_eq!(row[column], count(line, column).to_string(), "{column}");
        }
        for kind in DiscrepancyKind::names() {
            assert_eq!(
                row[&format!("open_{kind}")],
                open_of(line, kind).to_string(),
                "{kind}"
            );
        }
    }

    // A jurisdiction: the area of one of the reporting facilities.
    let (_, facility) = app
        .get_json(&format!("/v1/facilities/{}", reported[0]), &reader)
        .await;
    let commune = str_of(&facility, "admin_unit_code");
    let (province, district) = (&commune[..2], &commune[..4]);
    let unrestricted_province = lines.iter().find(|l| l["code"] == province).expect("line");
    let districts_path =
        format!("/v1/reports/coverage?level=district&period={period}&parent={province}");
    let districts = report(&app, &reader, &districts_path).await;
    let unrestricted_district = units(&districts)
        .iter()
        .find(|l| l["code"] == district)
        .expect("district line")
        .clone();
    assert!(
        count(&unrestricted_district, "health_facilities_reporting")
            + count(&unrestricted_district, "education_facilities_reporting")
            > 0
    );

    let of_province = app.token("reports:read", Some(province));
    let seen = report(&app, &of_province, &province_path).await;
    assert_eq!(units(&seen), &vec![unrestricted_province.clone()]);
    let seen = report(
        &app,
        &of_province,
        &format!("/v1/reports/coverage?level=district&period={period}"),
    )
    .await;
    assert_eq!(
        units(&seen),
        units(&districts),
        "its districts, all of them"
    );

    // A district's officer sees its province's line, counted inside the district only.
    let of_district = app.token("reports:read", Some(district));
    let seen = report(&app, &of_district, &province_path).await;
    let seen = units(&seen);
    assert_eq!(codes(seen), vec![province.to_owned()]);
    for column in COUNTS {
        assert_eq!(
            count(&seen[0], column),
            count(&unrestricted_district, column),
            "{column}"
        );
    }
    assert_eq!(
        seen[0]["open_discrepancies"],
        unrestricted_district["open_discrepancies"]
    );
    assert!(
        count(&seen[0], "health_facilities") + count(&seen[0], "education_facilities")
            < count(unrestricted_province, "health_facilities")
                + count(unrestricted_province, "education_facilities"),
        "the province has more than this district"
    );
    let table = records(&csv(&app, &of_district, &province_path).await);
    assert_eq!(table.len(), 1);
    assert_eq!(table[0]["code"], province);
    assert_eq!(
        table[0]["health_facilities"],
        count(&unrestricted_district, "health_facilities").to_string()
    );
    app.stop().await;
}

#[tokio::test]
async fn transfers_list_every_transferred_facility_under_its_district_with_who_serves_there() {
    let mock = mock(33).await;
    let truth = mock.truth().clone();
    let app = spawn_app().await;
    sync_all(&app, &mock).await;
    let ids = ids_by_identifier(&all_facilities(&app).await);
    let reader = app.token("reports:read staff:read", None);
    let expected: BTreeSet<(String, String)> = truth
        .facts
        .transferred_facilities
        .iter()
        .map(|t| {
            let id = ids
                .get(&(system_of(t.source).to_owned(), t.record_id.clone()))
                .unwrap_or_else(|| panic!("{} not in the registry", t.record_id));
            (t.district_code.clone(), id.clone())
        })
        .collect();
    assert!(expected.len() >= 2, "the mock plants transfers");

    let body = report(&app, &reader, "/v1/reports/transfers").await;
    let districts = body["districts"].as_array().expect("districts");
    let mut got = BTreeSet::new();
    let mut staffed = 0;
    for d in districts {
        assert!(is_khmer(str_of(d, "name_km")), "{d}");
        for f in d["facilities"].as_array().expect("facilities") {
            got.insert((str_of(d, "code").to_owned(), str_of(f, "id").to_owned()));
            let staff = f["staff"].as_array().expect("staff");
            let listed: BTreeSet<&str> = staff.iter().map(|s| str_of(s, "id")).collect();
            let (registry, _) = collect_pages(
                &app,
                &format!("/v1/facilities/{}/staff?limit=1000", str_of(f, "id")),
                &reader,
            )
            .await;
            let registry: BTreeSet<&str> = registry.iter().map(|s| str_of(s, "id")).collect();
            assert_eq!(listed, registry, "who the ministries place at {f}");
            for s in staff {
                assert!(
                    !s["placed_by"].as_array().expect("placed_by").is_empty(),
                    "{s}"
                );
                assert_eq!(s["roster"], Value::Null, "no roster yet: {s}");
            }
            staffed += usize::from(!staff.is_empty());
        }
    }
    assert_eq!(got, expected, "exactly the transferred facilities");
    assert!(staffed > 0, "people serve at transferred facilities");

    // A roster from one of them: its people are shown present, absent or not listed.
    let (district, facility, people) = districts
        .iter()
        .flat_map(|d| {
            d["facilities"]
                .as_array()
                .expect("facilities")
                .iter()
                .map(move |f| (d, f))
        })
        .find_map(|(d, f)| {
            let officers: Vec<Value> = f["staff"]
                .as_array()?
                .iter()
                .filter(|s| s["civil_servant_id"].is_string())
                .cloned()
                .collect();
            (officers.len() >= 2).then(|| (str_of(d, "code").to_owned(), f.clone(), officers))
        })
        .expect("a transferred facility with two officers");
    let facility_id = str_of(&facility, "id").to_owned();
    let roster = json!({"period": truth.current_period, "entries": [
        {"civil_servant_id": people[0]["civil_servant_id"], "present": true},
        {"civil_servant_id": people[1]["civil_servant_id"], "present": false}
    ]});
    submit(
        &app,
        &app.token("rosters:write", None),
        &facility_id,
        &roster,
    )
    .await;
    let body = report(
        &app,
        &reader,
        &format!("/v1/reports/transfers?district={district}"),
    )
    .await;
    let districts = body["districts"].as_array().expect("districts");
    assert_eq!(codes(districts), vec![district.clone()]);
    let said: BTreeMap<String, Value> = districts[0]["facilities"]
        .as_array()
        .expect("facilities")
        .iter()
        .find(|f| f["id"] == facility_id.as_str())
        .expect("the facility")["staff"]
        .as_array()
        .expect("staff")
        .iter()
        .map(|s| (str_of(s, "id").to_owned(), s["roster"].clone()))
        .collect();
    for (id, roster) in &said {
        let expected = if id == str_of(&people[0], "id") {
            "present"
        } else if id == str_of(&people[1], "id") {
            "absent"
        } else {
            "not_listed"
        };
        assert_eq!(roster, expected, "{id}");
    }

    // CSV: one row per facility and person.
    let body = report(&app, &reader, "/v1/reports/transfers").await;
    let mut expected_rows = BTreeSet::new();
    let mut n = 0;
    for d in body["districts"].as_array().expect("districts") {
        for f in d["facilities"].as_array().expect("facilities") {
            let staff = f["staff"].as_array().expect("staff");
            n += staff.len().max(1);
            if staff.is_empty() {
                expected_rows.insert((str_of(f, "id").to_owned(), String::new(), String::new()));
            }
            for s in staff {
                expected_rows.insert((
                    str_of(f, "id").to_owned(),
                    str_of(s, "id").to_owned(),
                    s["roster"].as_str().unwrap_or("").to_owned(),
                ));
            }
        }
    }
    let table = records(&csv(&app, &reader, "/v1/reports/transfers").await);
    assert_eq!(table.len(), n);
    let rows: BTreeSet<(String, String, String)> = table
        .iter()
        .map(|r| {
            (
                r["facility_id"].clone(),
                r["staff_id"].clone(),
                r["roster"].clone(),
            )
        })
        .collect();
    assert_eq!(rows, expected_rows);
    assert!(table.iter().all(|r| is_khmer(&r["facility_name_km"])));

    // A district administration sees its own district only.
    let of_district = app.token("reports:read", Some(&district));
    let body = report(&app, &of_district, "/v1/reports/transfers").await;
    let districts = body["districts"].as_array().expect("districts");
    assert_eq!(codes(districts), vec![district.clone()]);
    let seen: BTreeSet<(String, String)> = districts[0]["facilities"]
        .as_array()
        .expect("facilities")
        .iter()
        .map(|f| (district.clone(), str_of(f, "id").to_owned()))
        .collect();
    let mine: BTreeSet<(String, String)> = expected
        .iter()
        .filter(|(d, _)| *d == district)
        .cloned()
        .collect();
    assert_eq!(seen, mine);

    for path in [
        "/v1/reports/transfers?district=12",
        "/v1/reports/transfers?district=010201",
        "/v1/reports/transfers?district=abcd",
    ] {
        let (status, problem) = app.get_json(path, &reader).await;
        assert_eq!(status, 400, "{path}: {problem}");
        assert_eq!(problem["parameter"], "district", "{path}: {problem}");
    }
    app.stop().await;
}

#[tokio::test]
async fn reports_need_their_parameters_and_the_reports_scope() {
    let app = spawn_app().await;
    app.load_sample(1).await;
    let reader = app.token("reports:read", None);
    for (path, parameter) in [
        ("/v1/reports/coverage?period=2025-12", "level"),
        ("/v1/reports/coverage?level=province&period=", "period"),
        ("/v1/reports/coverage?level=province&parent=", "parent"),
        ("/v1/reports/coverage", "level"),
        ("/v1/reports/coverage?level=village&period=2025-12", "level"),
        ("/v1/reports/coverage?level=country&period=2025-12", "level"),
        (
            "/v1/reports/coverage?level=province&period=2025-13",
            "period",
        ),
        (
            "/v1/reports/coverage?level=district&period=2025-12&parent=1x",
            "parent",
        ),
        (
            "/v1/reports/coverage?level=province&period=2025-12&colour=blue",
            "colour",
        ),
    ] {
        let res = app.get(path, Some(&reader)).await;
        assert_eq!(res.status(), 400, "{path}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let problem: Value = res.json().await.expect("json");
        assert_eq!(problem["parameter"], parameter, "{path}: {problem}");
    }
    let (status, body) = app
        .get_json(
            "/v1/reports/coverage?level=province&period=2025-12",
            &reader,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        codes(units(&body)),
        vec!["01".to_owned(), "12".to_owned(), "17".to_owned()]
    );
    // Without a period the report is for the current month in Cambodia (UTC+7), as the
    // spec says: the parameter is optional there.
    let (status, body) = app
        .get_json("/v1/reports/coverage?level=province", &reader)
        .await;
    assert_eq!(status, 200, "{body}");
    let now = chrono::Utc::now() + chrono::Duration::hours(7);
    assert_eq!(body["period"], now.format("%Y-%m").to_string(), "{body}");

    let no_reports = app.token(
        "rosters:write facilities:read staff:read staff:read:pii",
        None,
    );
    for path in [
        "/v1/reports/coverage?level=province&period=2025-12",
        "/v1/reports/transfers",
        "/v1/discrepancies",
    ] {
        let (status, problem) = app.get_json(path, &no_reports).await;
        assert_eq!(status, 403, "{path}: {problem}");
        assert_eq!(problem["code"], "missing_scope", "{path}: {problem}");
        let res = app.get(path, None).await;
        assert_eq!(res.status(), 401, "{path}");
    }
    app.stop().await;
}
