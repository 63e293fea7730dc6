//! Scored linkage as one call: train the model on the records at hand, block, score
//! every candidate pair and decide it. Sync's matching pass, the review API's
//! re-scoring and the linkage benchmark all go through here, so they decide alike.
//!
//! The model is trained as Splink trains it: u from random pairs; m by EM over the
//! candidate pairs of two training rules (the same officer id; the same Khmer name and
//! birth year); the prior from the pairs the same officer id finds, over its assumed
//! recall. A trained [`Linker`] can also be rebuilt from a stored [`Model`] to score
//! one pair again (a reviewer's pair after either record changed).

use crate::blocking::{
    PersonRecord, Prepared, candidate_pairs_prepared, compare, compare_prepared, parallel_map,
    prepare_all,
};
use crate::compare::fields::IdLevel;
use crate::compare::names::{NameLevel, khmer_key};
use crate::decide::{Decision, Facts, Thresholds, decide};
use crate::score::{Comparison, Model, NameFrequencies, Score};
use crate::train::{TrainingRule, random_pairs_prepared, train};

/// Records in a block beyond this are a key too common to tell anything.
pub const MAX_BLOCK: usize = 500;

/// Random pairs drawn to estimate u.
const RANDOM_PAIRS: usize = 200_000;

/// The share of true pairs the same officer id is assumed to find, for the prior.
const OFFICER_ID_RECALL: f64 = 0.6;

/// A trained model with what it needs to score a pair: the Khmer names' frequencies
/// and the thresholds.
#[derive(Debug, Clone)]
pub struct Linker {
    pub model: Model,
    pub thresholds: Thresholds,
    frequencies: NameFrequencies,
}

/// One pair scored and decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    pub comparison: Comparison,
    /// The total match weight (log2 odds).
    pub weight: f64,
    pub decision: Decision,
}

/// A candidate pair, by index into the records, with its assessment.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub left: usize,
    pub right: usize,
    pub assessment: Assessment,
}

/// What [`link_records`] found.
#[derive(Debug, Clone)]
pub struct LinkageRun {
    pub linker: Linker,
    /// Every candidate pair (distinct ones too), ordered by (left, right).
    pub candidates: Vec<Candidate>,
    /// Blocks skipped as too large.
    pub oversized_blocks: usize,
}

impl Linker {
    /// A linker from a model trained before, with the frequencies of `records`' names.
    pub fn new(model: Model, thresholds: Thresholds, records: &[PersonRecord]) -> Self {
        Self {
            model,
            thresholds,
            frequencies: name_frequencies(&prepare_all(records)),
        }
    }

    /// Trains on `records`: the model, and the candidate pairs with their comparisons
    /// (which training needed anyway).
    pub fn train(records: &[PersonRecord]) -> (Self, Vec<(u32, u32)>, Vec<Comparison>, usize) {
        let prepared = prepare_all(records);
        let trained = Self::train_prepared(&prepared, &mut |_| {});
        (
            trained.linker,
            trained.pairs,
            trained.compared,
            trained.oversized,
        )
    }

    fn train_prepared(prepared: &[Prepared<'_>], phase: &mut dyn FnMut(Phase)) -> Trained {
        let (pairs, oversized) = candidate_pairs_prepared(prepared, MAX_BLOCK, |_, _| true);
        phase(Phase::Blocked);
        let compared: Vec<Comparison> = parallel_map(&pairs, |&(i, j)| {
            compare_prepared(&prepared[i as usize], &prepared[j as usize])
        });
        phase(Phase::Compared);
        let by_officer: Vec<Comparison> = compared
            .iter()
            .filter(|c| c.officer_id == IdLevel::Equal)
            .copied()
            .collect();
        let year = |i: u32| prepared[i as usize].record.birth.map(|b| b.year);
        let by_name: Vec<Comparison> = pairs
            .iter()
            .zip(&compared)
            .filter(|((i, j), c)| c.name_km == NameLevel::Exact && year(*i) == year(*j))
            .map(|(_, c)| *c)
            .collect();
        let n = prepared.len();
        // A small world has fewer distinct pairs than the sample: a few draws of each do.
        let random = random_pairs_prepared(prepared, RANDOM_PAIRS.min(n * n.saturating_sub(1)));
        phase(Phase::Sampled);
        let mut model = train(
            &random,
            &[
                (TrainingRule::SameOfficerId, by_officer.clone()),
                (TrainingRule::SameNameAndYear, by_name.clone()),
            ],
        );
        // The pairs a deterministic rule finds, over its assumed recall: the same
        // officer id, or the same name and year where the rest of the evidence (the
        // likelihood ratio without the prior) says match, whichever finds more (sector
        // records often carry no id at all).
        let by_name_likely = by_name
            .iter()
            .filter(|c| model.total_weight(c, None) > model.prior_weight())
            .count();
        let found = by_officer.len().max(by_name_likely).max(1) as f64;
        let n = n as f64;
        let all_pairs = (n * (n - 1.0) / 2.0).max(1.0);
        model.prior = ((found / OFFICER_ID_RECALL) / all_pairs).clamp(1e-12, 0.5);
        let linker = Self {
            model,
            thresholds: Thresholds::default(),
            frequencies: name_frequencies(prepared),
        };
        phase(Phase::Trained);
        Trained {
            linker,
            pairs,
            compared,
            oversized,
        }
    }

    /// How often `a`'s Khmer name occurs, where the pair's names agree.
    fn frequency(&self, a: &PersonRecord, c: &Comparison) -> Option<f64> {
        match (&a.name_km, c.name_km) {
            (Some(name), NameLevel::Exact | NameLevel::Close) => {
                self.frequencies.frequency(&khmer_key(name))
            }
            _ => None,
        }
    }

    fn facts(a: &PersonRecord, b: &PersonRecord) -> Facts {
        Facts {
            distinct_roll_officers: a.on_roll
                && b.on_roll
                && matches!((&a.officer_id, &b.officer_id), (Some(x), Some(y)) if x != y),
        }
    }

    /// Scores and decides a pair already compared.
    pub fn assess_compared(&self, a: &PersonRecord, b: &PersonRecord, c: Comparison) -> Assessment {
        let weight = self
            .model
            .total_weight(&weighed(&c, a, b), self.frequency(a, &c));
        Assessment {
            comparison: c,
            weight,
            decision: self.decide(&c, weight, a, b),
        }
    }

    fn decide(&self, c: &Comparison, weight: f64, a: &PersonRecord, b: &PersonRecord) -> Decision {
        let score = Score {
            weight,
            probability: crate::score::probability(weight),
            fields: Vec::new(),
        };
        decide(c, &score, Self::facts(a, b), self.thresholds)
    }

    /// Compares, scores and decides a pair.
    pub fn assess(&self, a: &PersonRecord, b: &PersonRecord) -> Assessment {
        self.assess_compared(a, b, compare(a, b))
    }

    /// Each field's part in a pair's score, for a reviewer to read.
    pub fn explain(&self, a: &PersonRecord, b: &PersonRecord) -> Score {
        let c = compare(a, b);
        let mut score = self.model.score(&weighed(&c, a, b), self.frequency(a, &c));
        // The officer ids' level as compared, weighing nothing where it was set aside.
        for f in &mut score.fields {
            if f.field == crate::score::Field::OfficerId {
                f.level = crate::score::Field::OfficerId.levels()[c.officer_id as usize];
            }
        }
        score
    }
}

/// The comparison a pair is weighed on. Two different officer ids both on the roll
/// are the very question for a roll duplicate (one officer registered twice): the hard
/// rule already keeps the engine from linking them, so their ids weigh nothing and the
/// rest of the evidence says whether a person should look.
fn weighed(c: &Comparison, a: &PersonRecord, b: &PersonRecord) -> Comparison {
    if Linker::facts(a, b).distinct_roll_officers {
        Comparison {
            officer_id: crate::compare::fields::IdLevel::Missing,
            ..*c
        }
    } else {
        *c
    }
}

fn name_frequencies(records: &[Prepared<'_>]) -> NameFrequencies {
    let mut frequencies = NameFrequencies::default();
    for r in records {
        if let Some(n) = &r.name_km {
            frequencies.add(n.key());
        }
    }
    frequencies
}

/// What training hands to scoring.
struct Trained {
    linker: Linker,
    pairs: Vec<(u32, u32)>,
    compared: Vec<Comparison>,
    oversized: usize,
}

/// The steps of [`link_records_observed`], each reported as it ends (a caller that
/// times them learns where the time goes; this crate reads no clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Every record read once (names' keys, ids' comparable forms).
    Prepared,
    /// The candidate pairs found.
    Blocked,
    /// Every candidate pair compared.
    Compared,
    /// The random pairs for u drawn and compared.
    Sampled,
    /// m by EM, and the prior.
    Trained,
    /// Every candidate pair scored and decided.
    Scored,
}

/// Trains on `records`, then scores and decides every candidate pair.
pub fn link_records(records: &[PersonRecord]) -> LinkageRun {
    link_records_observed(records, |_| {})
}

/// [`link_records`], telling `phase` as each step ends.
pub fn link_records_observed(records: &[PersonRecord], mut phase: impl FnMut(Phase)) -> LinkageRun {
    let prepared = prepare_all(records);
    phase(Phase::Prepared);
    let Trained {
        linker,
        pairs,
        compared,
        oversized,
    } = Linker::train_prepared(&prepared, &mut phase);
    // Each record's Khmer name frequency, looked up once rather than once a pair.
    let frequency: Vec<Option<f64>> = prepared
        .iter()
        .map(|p| {
            p.name_km
                .as_ref()
                .and_then(|n| linker.frequencies.frequency(n.key()))
        })
        .collect();
    let scored: Vec<((u32, u32), Comparison)> = pairs.into_iter().zip(compared).collect();
    let candidates = parallel_map(&scored, |&((i, j), c)| {
        let (left, right) = (i as usize, j as usize);
        let agree = matches!(c.name_km, NameLevel::Exact | NameLevel::Close);
        let (a, b) = (&records[left], &records[right]);
        let weight = linker
            .model
            .total_weight(&weighed(&c, a, b), frequency[left].filter(|_| agree));
        Candidate {
            left,
            right,
            assessment: Assessment {
                comparison: c,
                weight,
                decision: linker.decide(&c, weight, a, b),
            },
        }
    });
    phase(Phase::Scored);
    LinkageRun {
        linker,
        candidates,
        oversized_blocks: oversized,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::dates::BirthDate;

    fn person(km: &str, latin: &str, birth: (i32, u32, u32), commune: &str) -> PersonRecord {
        PersonRecord {
            name_km: Some(km.to_owned()),
            name_latin: Some(latin.to_owned()),
            birth: Some(BirthDate::new(birth.0, birth.1, birth.2)),
            sex: Some('F'),
            commune: Some(commune.to_owned()),
            ..PersonRecord::default()
        }
    }

    /// Officers on the roll only, each with a name of their own made of three
    /// syllables, born and serving all over: the population the pairs under test sit
    /// in, so that names, dates and places are as rare as in a real registry.
    fn population(n: usize) -> Vec<PersonRecord> {
        let consonants = [
            ("ក", "k"),
            ("គ", "k"),
            ("ច", "ch"),
            ("ជ", "ch"),
            ("ត", "t"),
            ("ថ", "th"),
            ("ទ", "t"),
            ("ន", "n"),
            ("ប", "b"),
            ("ផ", "ph"),
            ("ព", "p"),
            ("ម", "m"),
            ("យ", "y"),
            ("រ", "r"),
            ("ល", "l"),
            ("វ", "v"),
            ("ស", "s"),
            ("ហ", "h"),
        ];
        let vowels = [
            ("ា", "a"),
            ("ិ", "e"),
            ("ុ", "o"),
            ("េ", "ei"),
            ("ែ", "ae"),
            ("ោ", "ao"),
        ];
        let syllables: Vec<(String, String)> = consonants
            .iter()
            .flat_map(|(c, lc)| {
                vowels
                    .iter()
                    .map(move |(v, lv)| (format!("{c}{v}"), format!("{lc}{lv}")))
            })
            .collect();
        let mut state: u64 = 7;
        let mut next = |bound: usize| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 33) % bound as u64) as usize
        };
        (0..n)
            .map(|k| {
                let s = syllables.len();
                let (a, b, c) = (k % s, (k / s) % s, next(s));
                let km = format!("{} {}{}", syllables[a].0, syllables[b].0, syllables[c].0);
                let latin = format!("{} {}{}", syllables[a].1, syllables[b].1, syllables[c].1);
                let birth = (
                    1960 + next(40) as i32,
                    1 + next(12) as u32,
                    2 + next(27) as u32,
                );
                let commune = format!("{:02}{:02}{:02}", 1 + next(25), 1 + next(9), 1 + next(9));
                PersonRecord {
                    officer_id: Some(format!("{:010}", 5_000_000 + k * 7)),
                    on_roll: true,
                    sex: Some(if k % 2 == 0 { 'F' } else { 'M' }),
                    ..person(&km, &latin, birth, &commune)
                }
            })
            .collect()
    }

    #[test]
    fn a_variant_record_is_linked_and_a_namesake_elsewhere_is_not() {
        let first = ["សុខ", "ចាន់", "កែវ", "ហេង", "លី", "មាស", "ស៊ុន", "ឈឹម"];
        let given = ["ធីតា", "សុភា", "វណ្ណៈ", "ស្រីនាង", "ដារ៉ា", "ពិសី"];
        let latin_first = ["Sok", "Chan", "Keo", "Heng", "Ly", "Meas", "Sun", "Chhim"];
        let latin_given = ["Thida", "Sophea", "Vannak", "Sreyneang", "Dara", "Pisey"];
        let mut records = Vec::new();
        // A roll of 48 officers, each seen again by a sector record without ids.
        for (i, (f, lf)) in first.iter().zip(latin_first).enumerate() {
            for (j, (g, lg)) in given.iter().zip(latin_given).enumerate() {
                let birth = (1960 + (i * 6 + j) as i32, 1 + j as u32, 2 + i as u32);
                let commune = format!("1201{:02}", i + 1);
                records.push(PersonRecord {
                    officer_id: Some(format!("{:010}", 1_000_000 + i * 10 + j)),
                    on_roll: true,
                    ..person(&format!("{f} {g}"), &format!("{lf} {lg}"), birth, &commune)
                });
                records.push(person(
                    &format!("{f} {g}"),
                    &format!("{} {lg}", lf.to_uppercase()),
                    birth,
                    &commune,
                ));
            }
        }
        records.extend(population(3000));
        let run = link_records(&records);
        let linked: Vec<_> = run
            .candidates
            .iter()
            .filter(|c| c.assessment.decision == Decision::Link)
            .collect();
        assert!(
            linked
                .iter()
                .all(|c| c.right == c.left + 1 && c.left % 2 == 0),
            "only each officer with their own sector record"
        );
        assert!(linked.len() >= 40, "most pairs linked: {}", linked.len());
        // The same name and year in another province, another day: never linked.
        let namesake = person("សុខ ធីតា", "Sok Thida", (1960, 7, 20), "020101");
        let a = run.linker.assess(&records[0], &namesake);
        assert_ne!(a.decision, Decision::Link, "{a:?}");
        // The same officer on the roll twice, under a second id: never linked by the
        // engine, but put to a person, whatever the two ids say.
        let twice = PersonRecord {
            officer_id: Some("2999999999".into()),
            ..records[0].clone()
        };
        let a = run.linker.assess(&records[0], &twice);
        assert_eq!(
            a.decision,
            Decision::Review(crate::decide::ReviewReason::DistinctOfficers),
            "{a:?}"
        );
        let explained = run.linker.explain(&records[0], &twice);
        let officer = explained
            .fields
            .iter()
            .find(|f| f.field == crate::score::Field::OfficerId)
            .expect("officer id");
        assert_eq!((officer.level, officer.weight), ("different", 0.0));
        assert!((explained.weight - a.weight).abs() < 1e-9);
    }
}
