//! The matching pass: after a run's pages are stored, and before the discrepancy pass
//! (so its findings see the result), every staff source record is scored against the
//! records blocking puts beside it, with the rules of `matching::linkage`.
//!
//! - **link**: the two records' persons are merged (provenance: linked by score, with
//!   the weight), unless a person said "different" between any record of one and any
//!   of the other, or once split the pair, or both hold a roll record: then the pair
//!   waits in the review queue;
//! - **review**: the pair is queued with its score and each field's weight (a decided
//!   pair keeps its decision; only its score moves);
//! - **distinct**: nothing, and a pending pair that now scores so leaves the queue
//!   (unless a person touched it).
//!
//! A full run trains the model on the records (m and u by EM, as
//! `matching::linkage::link_records` does) and writes it down; an incremental run
//! scores, with the last model written down, only the pairs with a record that changed
//! since the last pass (every record still takes part in blocking, so a changed
//! record meets an unchanged one).

use std::time::Instant;

use matching::blocking::candidate_pairs;
use matching::decide::Decision;
use matching::linkage::{Candidate, Linker, MAX_BLOCK, Phase, link_records_observed};
use store::{MatchingSummary, PassReach, ScoredPair, SourceRecords, Store, field_weights};

use crate::SyncError;

/// What scoring found: the pairs to apply, and the model when it was trained anew.
struct Scored {
    records: SourceRecords,
    pairs: Vec<ScoredPair>,
    trained: Option<(Linker, usize)>,
    /// How long each step of training took, in milliseconds (empty when the model was
    /// reused).
    phases: Vec<(Phase, u128)>,
}

/// Runs the matching pass over the registry's staff source records.
pub async fn match_people(store: &Store, full: bool) -> Result<MatchingSummary, SyncError> {
    let started = Instant::now();
    let read_up_to = store.newest_version().await?;
    let records = store.source_records().await?;
    let mark = if full {
        None
    } else {
        store.match_mark().await?
    };
    let stored = match mark {
        Some(_) => store.latest_match_model().await?,
        None => None,
    };
    let reach = match (mark, &stored) {
        (Some(m), Some(_)) => PassReach::ChangedSince(m),
        _ => PassReach::Everything,
    };
    let loaded = started.elapsed();
    let scored = tokio::task::spawn_blocking(move || score(records, stored, reach))
        .await
        .map_err(|e| SyncError::Task(e.to_string()))?;
    let scoring = started.elapsed() - loaded;
    if let Some((linker, pairs)) = &scored.trained {
        store
            .save_match_model(
                &linker.model,
                linker.thresholds,
                scored.records.records.len(),
                *pairs,
            )
            .await?;
    }
    let summary = store
        .apply_matching(&scored.records, &scored.pairs, reach, read_up_to)
        .await?;
    tracing::info!(
        records = scored.records.records.len(),
        pairs = scored.pairs.len(),
        trained = scored.trained.is_some(),
        linked = summary.linked,
        queued = summary.queued,
        held = summary.held,
        dropped = summary.dropped,
        load_ms = loaded.as_millis(),
        score_ms = scoring.as_millis(),
        phases_ms = ?scored.phases,
        total_ms = started.elapsed().as_millis(),
        "matching pass"
    );
    Ok(summary)
}

/// Scores the candidate pairs of records held by two persons (all of them, or those
/// with a record changed since the mark), training the model when there is none.
fn score(
    records: SourceRecords,
    stored: Option<(matching::score::Model, matching::decide::Thresholds)>,
    reach: PassReach,
) -> Scored {
    let holders = &records.holders;
    let mut phases = Vec::new();
    let (linker, candidates, trained) = match (stored, reach) {
        (Some((model, thresholds)), PassReach::ChangedSince(mark)) => {
            let linker = Linker::new(model, thresholds, &records.records);
            let changed = |i: usize| records.versions[i] > mark;
            let (pairs, _) = candidate_pairs(&records.records, MAX_BLOCK, |i, j| {
                holders[i] != holders[j] && (changed(i) || changed(j))
            });
            let candidates: Vec<Candidate> = pairs
                .into_iter()
                .map(|(i, j)| {
                    let (left, right) = (i as usize, j as usize);
                    Candidate {
                        left,
                        right,
                        assessment: linker.assess(&records.records[left], &records.records[right]),
                    }
                })
                .collect();
            (linker, candidates, false)
        }
        _ => {
            let mut since = Instant::now();
            let run = link_records_observed(&records.records, |phase| {
                phases.push((phase, since.elapsed().as_millis()));
                since = Instant::now();
            });
            (run.linker, run.candidates, true)
        }
    };
    let all = candidates.len();
    let pairs: Vec<ScoredPair> = candidates
        .into_iter()
        .filter(|c| holders[c.left] != holders[c.right])
        .filter_map(|c| {
            let review = match c.assessment.decision {
                Decision::Distinct => return None,
                Decision::Link => None,
                Decision::Review(kind) => Some(kind),
            };
            let score = linker.explain(&records.records[c.left], &records.records[c.right]);
            Some(ScoredPair {
                left: c.left,
                right: c.right,
                weight: c.assessment.weight,
                probability: matching::score::probability(c.assessment.weight),
                fields: field_weights(&score),
                review,
            })
        })
        .collect();
    Scored {
        records,
        pairs,
        trained: trained.then_some((linker, all)),
        phases,
    }
}
