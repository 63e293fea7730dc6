//! The mock ministries' person records as the linkage benchmark and the blocking test
//! read them: every record of the roll (MCS) and of the sector systems (MoH
//! practitioners, MoEYS teachers), pulled through the real adapters from a mock with
//! its linkage noise on, with the person each really is from the mock's truth.
//!
//! `truth` is the roll officer a record is (a roll duplicate's two ids name the
//! smaller), or the record itself when it is nobody on the roll; `class` is the mock's
//! noise class, `clean` for a record that names its officer correctly, `roll` for a
//! roll record, `no_roll_record` for a sector record of nobody on the roll.

use std::collections::{BTreeMap, HashMap, HashSet};

use adapter_core::{Adapter, ClientConfig, Cursor, Feed, Record, pull_to_end};
use adapter_mcs::McsAdapter;
use adapter_moeys::MoeysAdapter;
use adapter_moh::MohAdapter;
use chrono::{Datelike, NaiveDate};
use matching::blocking::PersonRecord;
use matching::compare::dates::BirthDate;
use mock_ministries::{MockConfig, Scale};
use schema::{Sex, StaffReport};
use serde::{Deserialize, Serialize};

/// One person record, as one row of the benchmark's flat file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PersonRow {
    pub unique_id: String,
    pub source: String,
    pub name_km: String,
    pub name_latin: String,
    /// `YYYY-MM-DD`, or empty.
    pub birth_date: String,
    /// `F`, `M`, or empty.
    pub sex: String,
    pub facility: String,
    pub commune: String,
    pub officer_id: String,
    pub national_id: String,
    pub truth: String,
    pub class: String,
}

/// Every staff report, role and facility commune one adapter serves.
#[derive(Default)]
struct Pulled {
    staff: Vec<StaffReport>,
    /// Person source id -> the facility (system, code) of one of their roles.
    roles: HashMap<String, (String, String)>,
    /// Facility (system, code) -> commune code.
    communes: HashMap<(String, String), String>,
}

async fn pull<A: Adapter>(adapter: &A, into: &mut Pulled) {
    for feed in adapter.feeds() {
        if matches!(feed, Feed::Payroll(_)) {
            continue;
        }
        pull_to_end(adapter, &feed, Cursor::full(), |page| {
            for item in &page.items {
                match &item.record {
                    Record::Staff(s) => into.staff.push(s.clone()),
                    Record::Role(r) => {
                        into.roles.insert(
                            r.person_source_id.clone(),
                            (r.facility.system.clone(), r.facility.value.clone()),
                        );
                    }
                    Record::Facility(f) => {
                        if let Some(code) = &f.admin_unit_code {
                            for id in &f.identifiers {
                                into.communes.insert(
                                    (id.system.clone(), id.value.clone()),
                                    code.as_str().to_owned(),
                                );
                            }
                        }
                    }
                    _ => {}
                }
            }
        })
        .await
        .unwrap_or_else(|e| panic!("pulling {}: {e}", feed.name()));
    }
}

/// The person records of a mock world at `scale` drawn from `seed` (with its linkage
/// noise, as of 15 January 2026), each with its truth.
pub async fn pull_people(scale: Scale, seed: u64) -> Vec<PersonRow> {
    let mock = mock_ministries::start(
        std::net::TcpListener::bind("127.0.0.1:0").expect("bind"),
        MockConfig {
            scale,
            seed,
            as_of: NaiveDate::from_ymd_opt(2026, 1, 15),
            linkage_noise: true,
        },
    )
    .await
    .expect("mock ministries");
    let base = mock.base_url();
    let mut pulled = Pulled::default();
    let config = ClientConfig::default;
    pull(
        &MohAdapter::new(&base, None, config()).expect("moh"),
        &mut pulled,
    )
    .await;
    pull(
        &MoeysAdapter::new(&base, config()).expect("moeys"),
        &mut pulled,
    )
    .await;
    pull(&McsAdapter::new(&base, config()).expect("mcs"), &mut pulled).await;
    let truth = mock.truth().clone();
    mock.stop().await;

    let linkage = truth.linkage.as_ref().expect("the mock's linkage truth");
    // Roll duplicates are one person: both officer ids name the smaller.
    let mut same_officer: BTreeMap<String, String> = BTreeMap::new();
    for d in &linkage.roll_duplicates {
        same_officer.insert(d.officer_ids[1].clone(), d.officer_ids[0].clone());
    }
    let person_of = |officer: &str| -> String {
        same_officer
            .get(officer)
            .cloned()
            .unwrap_or_else(|| officer.to_owned())
    };
    let noisy: HashMap<(String, String), &mock_ministries::LinkageRecord> = linkage
        .records
        .iter()
        .map(|r| ((r.source.as_str().to_owned(), r.record_id.clone()), r))
        .collect();

    let mut rows = Vec::with_capacity(pulled.staff.len());
    for s in &pulled.staff {
        let source = s.source.as_str();
        let unique_id = format!("{source}:{}", s.source_id);
        let facility = s
            .posting
            .as_ref()
            .and_then(|p| p.facility.as_ref())
            .map(|f| (f.system.clone(), f.value.clone()))
            .or_else(|| pulled.roles.get(&s.source_id).cloned());
        let commune = s
            .posting
            .as_ref()
            .and_then(|p| p.admin_unit_code.as_ref())
            .map(|c| c.as_str().to_owned())
            .or_else(|| {
                facility
                    .as_ref()
                    .and_then(|f| pulled.communes.get(f).cloned())
            });
        let officer_id = s.civil_servant_id.as_ref().map(|c| c.as_str().to_owned());
        let (truth, class) = if source == "mcs" {
            let id = officer_id.clone().unwrap_or_else(|| s.source_id.clone());
            (person_of(&id), "roll".to_owned())
        } else if let Some(r) = noisy.get(&(source.to_owned(), s.source_id.clone())) {
            let class = serde_json::to_value(r.class)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            (
                r.officer_id
                    .as_deref()
                    .map_or_else(|| unique_id.clone(), person_of),
                class,
            )
        } else if let Some(id) = &officer_id {
            (person_of(id), "clean".to_owned())
        } else {
            (unique_id.clone(), "no_roll_record".to_owned())
        };
        rows.push(PersonRow {
            unique_id,
            source: source.to_owned(),
            name_km: s.name_km.as_ref().map_or("", |n| n.as_str()).to_owned(),
            name_latin: s.name_latin.as_ref().map_or("", |n| n.as_str()).to_owned(),
            birth_date: s
                .birth_date
                .map(|d| d.naive().format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
            sex: match s.sex {
                Some(Sex::Female) => "F",
                Some(Sex::Male) => "M",
                None => "",
            }
            .to_owned(),
            facility: facility.map(|f| f.1).unwrap_or_default(),
            commune: commune.unwrap_or_default(),
            officer_id: officer_id.unwrap_or_default(),
            national_id: s.national_id.as_ref().map_or("", |n| n.as_str()).to_owned(),
            truth,
            class,
        });
    }
    rows
}

fn text(v: &str) -> Option<String> {
    Some(v.trim().to_owned()).filter(|s| !s.is_empty())
}

fn birth(v: &str) -> Option<BirthDate> {
    let d = NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d").ok()?;
    Some(BirthDate::new(d.year(), d.month(), d.day()))
}

/// The rows as the matcher compares them (an officer id is on the roll when a roll
/// record carries it).
pub fn person_records(rows: &[PersonRow]) -> Vec<PersonRecord> {
    let roll: HashSet<&str> = rows
        .iter()
        .filter(|r| r.source == "mcs" && !r.officer_id.is_empty())
        .map(|r| r.officer_id.as_str())
        .collect();
    rows.iter()
        .map(|r| PersonRecord {
            name_km: text(&r.name_km),
            name_latin: text(&r.name_latin),
            birth: birth(&r.birth_date),
            sex: r.sex.chars().next(),
            facility: text(&r.facility),
            commune: text(&r.commune),
            officer_id: text(&r.officer_id),
            national_id: text(&r.national_id),
            on_roll: roll.contains(r.officer_id.as_str()),
        })
        .collect()
}
