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

use e2e::linkage_world::pull_people;
use mock_ministries::Scale;

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
    let rows = pull_people(scale, seed).await;
    let mut w = csv::Writer::from_path(&out).expect("--out");
    for row in &rows {
        w.serialize(row).expect("write");
    }
    w.flush().expect("flush");
    eprintln!(
        "linkage_export: {} person records written to {out}",
        rows.len()
    );
}
