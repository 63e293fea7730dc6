//! Our matcher over the linkage benchmark's flat file (see `linkage_export`): trains
//! the model on the records (u from random pairs, m by EM per training rule), blocks,
//! scores every candidate pair and decides it, and writes the pairs with their match
//! weight and decision for `bench/linkage_peer.py score` to compare with the truth and
//! with Splink's.
//!
//! Usage: linkage_match --in people.csv --out pairs.csv

use std::time::Instant;

use e2e::linkage_world::{PersonRow, person_records};
use matching::decide::Decision;
use matching::linkage::link_records_observed;

/// log2 of the odds of a match probability of 0.001.
const MIN_WRITTEN_WEIGHT: f64 = -9.97;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn main() {
    let program = Instant::now();
    let args: Vec<String> = std::env::args().collect();
    let input = arg(&args, "--in").expect("--in people.csv");
    let output = arg(&args, "--out").expect("--out pairs.csv");
    let mut reader = csv::Reader::from_path(&input).expect("--in");
    let rows: Vec<PersonRow> = reader
        .deserialize()
        .collect::<Result<_, _>>()
        .expect("a row of linkage_export's file");
    let ids: Vec<String> = rows.iter().map(|r| r.unique_id.clone()).collect();
    let records = person_records(&rows);
    let read = program.elapsed().as_secs_f64();
    let started = Instant::now();
    let mut last = started;
    let mut phases = Vec::new();
    let run = link_records_observed(&records, |phase| {
        phases.push((phase, last.elapsed().as_secs_f64()));
        last = Instant::now();
    });
    let model = &run.linker.model;
    let mut w = csv::Writer::from_path(&output).expect("--out");
    w.write_record(["unique_id_l", "unique_id_r", "match_weight", "decision"])
        .expect("write");
    let (mut linked, mut reviewed) = (0, 0);
    for c in &run.candidates {
        // As the peer writes its predictions: pairs under a match probability of
        // 0.001 are not written (they are distinct, and no threshold reaches them).
        if c.assessment.weight < MIN_WRITTEN_WEIGHT {
            continue;
        }
        let name = match c.assessment.decision {
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
            ids[c.left].as_str(),
            ids[c.right].as_str(),
            &format!("{:.4}", c.assessment.weight),
            name,
        ])
        .expect("write");
    }
    w.flush().expect("flush");
    let timed: Vec<String> = phases
        .iter()
        .map(|(phase, s)| format!("{phase:?} {s:.2} s"))
        .collect();
    eprintln!(
        "  phases: read {read:.2} s, {}, written {:.2} s",
        timed.join(", "),
        last.elapsed().as_secs_f64()
    );
    eprintln!(
        "linkage_match: {} records, {} candidate pairs ({} oversized blocks skipped), {linked} linked, {reviewed} to review, {:.2} s",
        records.len(),
        run.candidates.len(),
        run.oversized_blocks,
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
