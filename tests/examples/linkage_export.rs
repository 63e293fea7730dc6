//! The linkage benchmark's flat file: the mock ministries (with their linkage noise)
//! pulled through the real adapters, every person record of the roll (MCS) and of the
//! sector systems (MoH practitioners, MoEYS teachers) as one CSV row, with the person
//! each really is from the mock's truth. Our matcher and the peer (Splink) read the same
//! file, so they are compared on the same records and fields.
//!
//! Usage: linkage_export --scale small|full [--seed N] --out people.csv
//!
//! Columns: unique_id, source, name_km, name_latin, birth_date (YYYY-MM-DD), sex (F/M),
//! facility, commune, officer_id, national_id, truth, class. `truth` is the roll
//! officer a record is (roll duplicates share one), or the record itself when it is
//! nobody on the roll; `class` is the mock's noise class, `clean` for a record that
//! names its officer correctly, `roll` for a roll record.

use std::collections::{BTreeMap, HashMap};

use adapter_core::{Adapter, ClientConfig, Cursor, Feed, Record, pull_to_end};
use adapter_mcs::McsAdapter;
use adapter_moeys::MoeysAdapter;
use adapter_moh::MohAdapter;
use chrono::NaiveDate;
use mock_ministries::{MockConfig, Scale};
use schema::{Sex, StaffReport};

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

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let scale: Scale = arg(&args, "--scale")
        .unwrap_or_else(|| "small".into())
        .parse()
        .expect("--scale small|full");
    let seed: u64 = arg(&args, "--seed").map_or(42, |s| s.parse().expect("--seed N"));
    let out = arg(&args, "--out").expect("--out people.csv");
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

    let mut w = csv::Writer::from_path(&out).expect("--out");
    w.write_record([
        "unique_id",
        "source",
        "name_km",
        "name_latin",
        "birth_date",
        "sex",
        "facility",
        "commune",
        "officer_id",
        "national_id",
        "truth",
        "class",
    ])
    .expect("write");
    let mut rows = 0;
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
        let (truth_person, class) = if source == "mcs" {
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
        let birth = s
            .birth_date
            .map(|d| d.naive().format("%Y-%m-%d").to_string())
            .unwrap_or_default();
        let sex = match s.sex {
            Some(Sex::Female) => "F",
            Some(Sex::Male) => "M",
            None => "",
        };
        w.write_record([
            unique_id.as_str(),
            source,
            s.name_km.as_ref().map_or("", |n| n.as_str()),
            s.name_latin.as_ref().map_or("", |n| n.as_str()),
            birth.as_str(),
            sex,
            facility.as_ref().map_or("", |f| f.1.as_str()),
            commune.as_deref().unwrap_or(""),
            officer_id.as_deref().unwrap_or(""),
            s.national_id.as_ref().map_or("", |n| n.as_str()),
            truth_person.as_str(),
            class.as_str(),
        ])
        .expect("write");
        rows += 1;
    }
    w.flush().expect("flush");
    eprintln!("linkage_export: {rows} person records written to {out}");
}
