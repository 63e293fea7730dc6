//! Sync progress for the command line: a bar per feed on a terminal, plain lines
//! otherwise (logs, CI).

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use schema::Ministry;
use sync::{Progress, RunSummary, SyncError};

#[derive(Debug)]
pub struct TerminalProgress {
    bars: Option<MultiProgress>,
    feeds: Mutex<HashMap<String, (ProgressBar, u64)>>,
}

impl TerminalProgress {
    pub fn new() -> Self {
        let bars = std::io::stderr().is_terminal().then(MultiProgress::new);
        Self {
            bars,
            feeds: Mutex::new(HashMap::new()),
        }
    }
}

impl Default for TerminalProgress {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress for TerminalProgress {
    fn page(&self, ministry: Ministry, feed: &str, records: u64) {
        let mut feeds = self
            .feeds
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let key = format!("{ministry} {feed}");
        let (bar, total) = feeds.entry(key.clone()).or_insert_with(|| {
            let bar = match &self.bars {
                Some(m) => m.add(ProgressBar::new_spinner()),
                None => ProgressBar::hidden(),
            };
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} {prefix:28} {pos:>9} records  {per_sec:>12}  {elapsed}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_prefix(key);
            (bar, 0)
        });
        *total += records;
        bar.inc(records);
    }

    fn feed_done(&self, ministry: Ministry, feed: &str) {
        let feeds = self
            .feeds
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let key = format!("{ministry} {feed}");
        match feeds.get(&key) {
            Some((bar, total)) if self.bars.is_some() => {
                bar.finish_with_message(format!("{total} records"))
            }
            Some((_, total)) => eprintln!("synced {key}: {total} records"),
            None => eprintln!("synced {key}: 0 records"),
        }
    }
}

/// The end-of-sync summary table, a line per ministry.
pub fn summary(results: &[(Ministry, Result<RunSummary, SyncError>)]) -> String {
    let mut out = format!(
        "{:<7} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}\n",
        "source", "fetched", "inserted", "updated", "unchanged", "rejected", "seconds"
    );
    for (ministry, result) in results {
        match result {
            Ok(s) => {
                out.push_str(&format!(
                    "{:<7} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9.1}\n",
                    ministry.as_str(),
                    s.totals.fetched,
                    s.totals.inserted,
                    s.totals.updated,
                    s.totals.unchanged,
                    s.totals.rejected,
                    s.duration.as_secs_f64()
                ));
                for feed in &s.not_published {
                    out.push_str(&format!(
                        "{:<7} {feed}: not yet available (not published by the ministry); the next sync asks again\n",
                        ministry.as_str()
                    ));
                }
            }
            Err(e) => out.push_str(&format!("{:<7} FAILED: {e}\n", ministry.as_str())),
        }
    }
    out
}

/// What a discrepancy pass did, as one line.
pub fn pass(pass: &store::PassSummary) -> String {
    let scope = match pass.people {
        Some(n) => format!(" over the {n} people the sync changed"),
        None => String::new(),
    };
    format!(
        "discrepancy pass: {:.1} s (+{} opened, {} resolved){scope}\n",
        pass.millis as f64 / 1000.0,
        pass.opened,
        pass.resolved
    )
}

/// The open discrepancies by kind, after a sync, as one block of lines.
pub fn findings(counts: &std::collections::BTreeMap<String, u64>) -> String {
    if counts.is_empty() {
        return "open discrepancies: none\n".to_owned();
    }
    let mut out = format!(
        "open discrepancies: {} (GET /v1/discrepancies)\n",
        counts.values().sum::<u64>()
    );
    for (kind, n) in counts {
        out.push_str(&format!("  {kind:<22} {n:>9}\n"));
    }
    out
}
