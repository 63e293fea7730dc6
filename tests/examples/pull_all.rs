//! The adapter benchmark's driver: pulls every feed of every ministry from one base
//! URL (the mock ministries at full scale, normally) through the real adapters, a page
//! at a time, and prints records/s per ministry. Memory is measured from outside
//! (`bench/adapters.sh` runs this under `/usr/bin/time -v`).
//!
//! Usage: pull_all --base http://127.0.0.1:PORT [--page-size N] [--period YYYY-MM]
//! (the payroll month: by default the one before today in Cambodia).

use std::time::Instant;

use adapter_core::{Adapter, ClientConfig, Cursor, pull_to_end};
use adapter_mcs::McsAdapter;
use adapter_mef::MefAdapter;
use adapter_moeys::MoeysAdapter;
use adapter_moh::MohAdapter;
use adapter_moi::MoiAdapter;
use schema::Period;

#[derive(Debug, Default)]
struct Tally {
    records: u64,
    rejected: u64,
    pages: u64,
}

/// Pulls every feed of one ministry, printing a RESULT line per feed and one for the
/// ministry; returns how many source records it read.
async fn pull<A: Adapter>(name: &str, adapter: &A) -> u64 {
    let started = Instant::now();
    let mut all = Tally::default();
    for feed in adapter.feeds() {
        let feed_started = Instant::now();
        let mut t = Tally::default();
        let pulled = pull_to_end(adapter, &feed, Cursor::full(), |page| {
            t.records += page.items.len() as u64;
            t.rejected += page.rejections.len() as u64;
            t.pages += 1;
        })
        .await;
        if let Err(e) = pulled {
            eprintln!("pull_all: {name} {}: {e}", feed.name());
            std::process::exit(1);
        }
        print_result(name, &feed.name(), &t, feed_started.elapsed().as_secs_f64());
        all.records += t.records;
        all.rejected += t.rejected;
        all.pages += t.pages;
    }
    print_result(name, "all", &all, started.elapsed().as_secs_f64());
    all.records + all.rejected
}

fn print_result(ministry: &str, feed: &str, t: &Tally, secs: f64) {
    println!(
        "RESULT ministry={ministry} feed={feed} records={} rejected={} pages={} seconds={secs:.3} records_per_s={:.0}",
        t.records,
        t.rejected,
        t.pages,
        (t.records + t.rejected) as f64 / secs.max(1e-9)
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let Some(base) = arg("--base") else {
        eprintln!(
            "usage: pull_all --base http://127.0.0.1:PORT [--page-size N] [--period YYYY-MM]"
        );
        std::process::exit(2);
    };
    let page_size: u32 = arg("--page-size")
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    // By default the month before today's, as the gateway reads it (and as the mock,
    // following the clock, has it current).
    let period = match arg("--period") {
        Some(p) => Period::parse(&p).expect("--period YYYY-MM"),
        None => adapter_mef::month_before(adapter_core::Clock::System.cambodia_today())
            .expect("a period"),
    };
    let config = ClientConfig::default;
    let started = Instant::now();
    let mut total = 0;
    total += pull(
        "moi",
        &MoiAdapter::new(&base, config())
            .expect("moi")
            .with_page_size(page_size),
    )
    .await;
    total += pull(
        "mcs",
        &McsAdapter::new(&base, config())
            .expect("mcs")
            .with_page_size(page_size),
    )
    .await;
    total += pull(
        "moh",
        &MohAdapter::new(&base, None, config())
            .expect("moh")
            .with_page_size(page_size),
    )
    .await;
    total += pull(
        "moeys",
        &MoeysAdapter::new(&base, config())
            .expect("moeys")
            .with_batch_size(page_size as usize),
    )
    .await;
    total += pull(
        "mef",
        &MefAdapter::new(&base, config(), vec![period])
            .expect("mef")
            .with_page_size(page_size),
    )
    .await;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "RESULT ministry=all feed=all records={total} rejected=0 pages=0 seconds={secs:.3} records_per_s={:.0}",
        total as f64 / secs
    );
}
