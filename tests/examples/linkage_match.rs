//! Our matcher over the linkage benchmark's flat file (see `linkage_export`): trains
//! the model on the records (u from random pairs, m by EM per training rule), blocks,
//! scores every candidate pair and decides it, and writes the pairs with their match
//! weight and decision for `bench/linkage_peer.py score` to compare with the truth and
//! with Splink's.
//!
//! Usage: linkage_match --in people.csv --out pairs.csv

use std::collections::HashSet;
use std::time::Instant;

use matching::blocking::{PersonRecord, candidate_pairs, compare};
use matching::compare::dates::BirthDate;
use matching::compare::fields::IdLevel;
use matching::compare::names::{NameLevel, khmer_key};
use matching::decide::{Decision, Facts, Thresholds, decide};
use matching::score::NameFrequencies;
use matching::train::{TrainingRule, random_pairs, train};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn text(v: &str) -> Option<String> {
    Some(v.trim().to_owned()).filter(|s| !s.is_empty())
}

fn birth(v: &str) -> Option<BirthDate> {
    let d = chrono::NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d").ok()?;
    use chrono::Datelike;
    Some(BirthDate::new(d.year(), d.month(), d.day()))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let input = arg(&args, "--in").expect("--in people.csv");
    let output = arg(&args, "--out").expect("--out pairs.csv");
    let mut reader = csv::Reader::from_path(&input).expect("--in");
    let headers = reader.headers().expect("headers").clone();
    let col = |name: &str| headers.iter().position(|h| h == name).expect(name);
    let (uid, km, latin, dob, sex, facility, commune, officer, national, source) = (
        col("unique_id"),
        col("name_km"),
        col("name_latin"),
        col("birth_date"),
        col("sex"),
        col("facility"),
        col("commune"),
        col("officer_id"),
        col("national_id"),
        col("source"),
    );
    let mut ids = Vec::new();
    let mut records = Vec::new();
    let mut roll_officers = HashSet::new();
    for row in reader.records() {
        let row = row.expect("row");
        ids.push(row[uid].to_owned());
        if &row[source] == "mcs" && !row[officer].is_empty() {
            roll_officers.insert(row[officer].to_owned());
        }
        records.push(PersonRecord {
            name_km: text(&row[km]),
            name_latin: text(&row[latin]),
            birth: birth(&row[dob]),
            sex: row[sex].chars().next(),
            facility: text(&row[facility]),
            commune: text(&row[commune]),
            officer_id: text(&row[officer]),
            national_id: text(&row[national]),
        });
    }
    let started = Instant::now();

    let mut frequencies = NameFrequencies::default();
    for r in &records {
        if let Some(n) = &r.name_km {
            frequencies.add(&khmer_key(n));
        }
    }
    let (pairs, skipped) = candidate_pairs(&records, 500, |_, _| true);
    let compared: Vec<_> = pairs
        .iter()
        .map(|&(i, j)| compare(&records[i as usize], &records[j as usize]))
        .collect();
    let by_officer: Vec<_> = compared
        .iter()
        .filter(|c| c.officer_id == IdLevel::Equal)
        .copied()
        .collect();
    let by_name: Vec<_> = pairs
        .iter()
        .zip(&compared)
        .filter(|((i, j), c)| {
            c.name_km == NameLevel::Exact
                && records[*i as usize].birth.map(|b| b.year)
                    == records[*j as usize].birth.map(|b| b.year)
        })
        .map(|(_, c)| *c)
        .collect();
    let random = random_pairs(&records, 200_000);
    let mut model = train(
        &random,
        &[
            (TrainingRule::SameOfficerId, by_officer.clone()),
            (TrainingRule::SameNameAndYear, by_name),
        ],
    );
    // The prior, as Splink estimates it: the pairs a deterministic rule (the same
    // officer id) finds, over its assumed recall, among all pairs.
    let n = records.len() as f64;
    let all_pairs = n * (n - 1.0) / 2.0;
    model.prior = ((by_officer.len().max(1) as f64 / 0.6) / all_pairs).clamp(1e-12, 0.5);
    let thresholds = Thresholds::default();

    let mut w = csv::Writer::from_path(&output).expect("--out");
    w.write_record(["unique_id_l", "unique_id_r", "match_weight", "decision"])
        .expect("write");
    let (mut linked, mut reviewed) = (0, 0);
    for (&(i, j), c) in pairs.iter().zip(&compared) {
        let (a, b) = (&records[i as usize], &records[j as usize]);
        let frequency = match (&a.name_km, c.name_km) {
            (Some(name), NameLevel::Exact | NameLevel::Close) => {
                frequencies.frequency(&khmer_key(name))
            }
            _ => None,
        };
        let score = model.score(c, frequency);
        let facts = Facts {
            distinct_roll_officers: matches!(
                (&a.officer_id, &b.officer_id),
                (Some(x), Some(y)) if x != y && roll_officers.contains(x) && roll_officers.contains(y)
            ),
        };
        let decision = decide(c, &score, facts, thresholds);
        let name = match decision {
            Decision::Link => {
                linked += 1;
                "link"
            }
            Decision::Review(_) => {
                reviewed += 1;
                "review"
            }
            Decision::Distinct => "distinct",
        };
        w.write_record([
            ids[i as usize].as_str(),
            ids[j as usize].as_str(),
            &format!("{:.4}", score.weight),
            name,
        ])
        .expect("write");
    }
    w.flush().expect("flush");
    eprintln!(
        "linkage_match: {} records, {} candidate pairs ({} oversized blocks skipped), {linked} linked, {reviewed} to review, {:.2} s",
        records.len(),
        pairs.len(),
        skipped,
        started.elapsed().as_secs_f64()
    );
    for f in matching::score::Field::ALL {
        let weights: Vec<String> = f
            .levels()
            .iter()
            .enumerate()
            .map(|(l, name)| format!("{name}={:.1}", model.weight(f, l as u8)))
            .collect();
        eprintln!("  {}: {}", f.name(), weights.join(" "));
    }
    eprintln!("  prior weight {:.1}", model.prior_weight());
}
