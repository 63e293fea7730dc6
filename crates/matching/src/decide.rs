//! The decision rule: two thresholds on the match weight give three outcomes, and hard
//! rules beat scores.
//!
//! - **link** above the upper threshold, unless a hard rule holds;
//! - **review** between the thresholds, or above with a hard rule holding;
//! - **distinct** below the lower threshold.
//!
//! Hard rules: two different officer ids that are both on the roll are two officers,
//! whatever the rest says (the engine never merges them; a person may, on review). An
//! identifier that matches while name and birth date strongly disagree is not trusted:
//! a typo can land on another real person's id, so the pair goes to review as an
//! `identifier_conflict`.

use crate::compare::dates::DateLevel;
use crate::compare::fields::IdLevel;
use crate::compare::names::NameLevel;
use crate::score::{Comparison, Score};

/// How much further below the review threshold a pair of two roll records is still
/// shown to a person (log2 odds).
pub const ROLL_PAIR_MARGIN: f64 = 5.0;

/// The match weights that separate the outcomes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// At or above: linked (no hard rule holding).
    pub link: f64,
    /// At or above (and below `link`): reviewed.
    pub review: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        // Probabilities of about 0.999 and 0.5.
        Self {
            link: 10.0,
            review: 0.0,
        }
    }
}

/// Why a pair waits for a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReviewReason {
    /// The score lies between the thresholds.
    Uncertain,
    /// An identifier matches, name and birth date do not.
    IdentifierConflict,
    /// Both records carry officer ids on the roll, and they differ.
    DistinctOfficers,
}

impl ReviewReason {
    pub const ALL: [ReviewReason; 3] = [
        ReviewReason::Uncertain,
        ReviewReason::IdentifierConflict,
        ReviewReason::DistinctOfficers,
    ];

    /// The reason of this name, as [`ReviewReason::name`] writes it.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            ReviewReason::Uncertain => "uncertain",
            ReviewReason::IdentifierConflict => "identifier_conflict",
            ReviewReason::DistinctOfficers => "distinct_officers",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Link,
    Review(ReviewReason),
    Distinct,
}

/// What the pair's records say beyond their comparison.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Facts {
    /// Both records carry an officer id, both ids are on the roll, and they differ.
    pub distinct_roll_officers: bool,
}

/// Whether name and birth date strongly disagree: no name close, and a birth date
/// known on both sides that is not the same day in any reading.
fn person_disagrees(c: &Comparison) -> bool {
    let name_apart = |l: NameLevel| matches!(l, NameLevel::Different | NameLevel::Missing);
    let names_apart = name_apart(c.name_km)
        && name_apart(c.name_latin)
        && !(c.name_km == NameLevel::Missing && c.name_latin == NameLevel::Missing);
    names_apart && c.birth_date == DateLevel::Different
}

/// The outcome for a scored pair.
pub fn decide(c: &Comparison, score: &Score, facts: Facts, t: Thresholds) -> Decision {
    let id_matches = c.officer_id == IdLevel::Equal || c.national_id == IdLevel::Equal;
    if id_matches && person_disagrees(c) {
        return Decision::Review(ReviewReason::IdentifierConflict);
    }
    if facts.distinct_roll_officers {
        // Two roll records are never linked by the engine, so a wrong flag costs a
        // reviewer a look, while a missed duplicate is a second salary: the bar to
        // show them to a person is lower (odds of 1 in 32 rather than even).
        return if score.weight >= t.review - ROLL_PAIR_MARGIN {
            Decision::Review(ReviewReason::DistinctOfficers)
        } else {
            Decision::Distinct
        };
    }
    if score.weight < t.review {
        return Decision::Distinct;
    }
    if score.weight >= t.link {
        Decision::Link
    } else {
        Decision::Review(ReviewReason::Uncertain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::fields::{PlaceLevel, SexLevel};
    use crate::score::Score;

    fn comparison(name: NameLevel, date: DateLevel, officer: IdLevel) -> Comparison {
        Comparison {
            name_km: name,
            name_latin: NameLevel::Missing,
            birth_date: date,
            sex: SexLevel::Same,
            place: PlaceLevel::Commune,
            officer_id: officer,
            national_id: IdLevel::Missing,
        }
    }

    fn score(weight: f64) -> Score {
        Score {
            weight,
            probability: crate::score::probability(weight),
            fields: Vec::new(),
        }
    }

    #[test]
    fn a_reason_reads_back_from_its_name() {
        for r in ReviewReason::ALL {
            assert_eq!(ReviewReason::parse(r.name()), Some(r));
        }
        assert_eq!(ReviewReason::parse("Uncertain"), None);
    }

    #[test]
    fn three_outcomes_by_two_thresholds() {
        let c = comparison(NameLevel::Exact, DateLevel::Exact, IdLevel::Missing);
        let t = Thresholds::default();
        assert_eq!(
            decide(&c, &score(20.0), Facts::default(), t),
            Decision::Link
        );
        assert_eq!(
            decide(&c, &score(5.0), Facts::default(), t),
            Decision::Review(ReviewReason::Uncertain)
        );
        assert_eq!(
            decide(&c, &score(-3.0), Facts::default(), t),
            Decision::Distinct
        );
    }

    #[test]
    fn two_officers_on_the_roll_are_never_linked_by_the_engine() {
        let c = comparison(NameLevel::Exact, DateLevel::Exact, IdLevel::OneEdit);
        let facts = Facts {
            distinct_roll_officers: true,
        };
        assert_eq!(
            decide(&c, &score(40.0), facts, Thresholds::default()),
            Decision::Review(ReviewReason::DistinctOfficers)
        );
    }

    #[test]
    fn an_identifier_against_name_and_date_is_a_conflict() {
        let c = comparison(NameLevel::Different, DateLevel::Different, IdLevel::Equal);
        assert_eq!(
            decide(&c, &score(30.0), Facts::default(), Thresholds::default()),
            Decision::Review(ReviewReason::IdentifierConflict)
        );
        // A matching id with a year-only date and a different name is no conflict:
        // the date does not disagree.
        let c = comparison(NameLevel::Different, DateLevel::YearOnly, IdLevel::Equal);
        assert_eq!(
            decide(&c, &score(30.0), Facts::default(), Thresholds::default()),
            Decision::Link
        );
    }
}
