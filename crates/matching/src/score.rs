//! Fellegi–Sunter scoring: how much each field's agreement says about two records
//! being one person, learnt from the records themselves.
//!
//! Every comparison level of every field has an *m* probability (of that level among
//! pairs that are one person) and a *u* probability (among pairs that are not). The
//! evidence of a level is its match weight, log2(m/u); a pair's score is the prior's
//! weight plus the weights of its fields; a missing field weighs nothing. As Splink
//! does, *u* is read off random pairs (nearly all of which are two people) and *m* is
//! estimated by expectation–maximisation over the blocked candidate pairs, once per
//! training blocking rule, leaving out the fields that rule forces to agree. An exact
//! Khmer name is weighed by how common that name is (term frequency): ចាន់ ធីតា on two
//! records says less than a rare name does.

use std::collections::HashMap;

use crate::compare::dates::DateLevel;
use crate::compare::fields::{IdLevel, PlaceLevel, SexLevel};
use crate::compare::names::NameLevel;

/// The fields a pair of person records is compared on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    NameKm,
    NameLatin,
    BirthDate,
    Sex,
    Place,
    OfficerId,
    NationalId,
}

impl Field {
    pub const ALL: [Field; FIELDS] = [
        Field::NameKm,
        Field::NameLatin,
        Field::BirthDate,
        Field::Sex,
        Field::Place,
        Field::OfficerId,
        Field::NationalId,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Field::NameKm => "name_km",
            Field::NameLatin => "name_latin",
            Field::BirthDate => "birth_date",
            Field::Sex => "sex",
            Field::Place => "place",
            Field::OfficerId => "officer_id",
            Field::NationalId => "national_id",
        }
    }

    /// The names of this field's levels, in order; the last is "missing".
    pub fn levels(self) -> &'static [&'static str] {
        match self {
            Field::NameKm | Field::NameLatin => {
                &["exact", "close", "similar", "different", "missing"]
            }
            Field::BirthDate => &[
                "exact",
                "swapped",
                "one_digit",
                "year_only",
                "different",
                "missing",
            ],
            Field::Sex => &["same", "different", "missing"],
            Field::Place => &[
                "facility",
                "commune",
                "district",
                "province",
                "elsewhere",
                "missing",
            ],
            Field::OfficerId | Field::NationalId => &["equal", "one_edit", "different", "missing"],
        }
    }

    fn missing(self) -> u8 {
        (self.levels().len() - 1) as u8
    }
}

pub const FIELDS: usize = 7;
const MAX_LEVELS: usize = 6;

/// Two records compared: a level per field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Comparison {
    pub name_km: NameLevel,
    pub name_latin: NameLevel,
    pub birth_date: DateLevel,
    pub sex: SexLevel,
    pub place: PlaceLevel,
    pub officer_id: IdLevel,
    pub national_id: IdLevel,
}

impl Comparison {
    /// The level of `field`, as its index in [`Field::levels`].
    pub fn level(&self, field: Field) -> u8 {
        match field {
            Field::NameKm => self.name_km as u8,
            Field::NameLatin => self.name_latin as u8,
            Field::BirthDate => self.birth_date as u8,
            Field::Sex => self.sex as u8,
            Field::Place => self.place as u8,
            Field::OfficerId => self.officer_id as u8,
            Field::NationalId => self.national_id as u8,
        }
    }
}

/// The m and u probabilities of every level, and the prior.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub m: [[f64; MAX_LEVELS]; FIELDS],
    pub u: [[f64; MAX_LEVELS]; FIELDS],
    /// The share of candidate pairs that are one person.
    pub prior: f64,
}

/// Matched pairs (expected) a level needs among the training pairs for EM to learn its m.
const MIN_TRAINED: f64 = 5.0;

/// A probability is kept away from 0 and 1 so every weight is finite.
const FLOOR: f64 = 1e-6;

impl Model {
    /// A starting point for training: agreement likely among matches, unlikely among
    /// non-matches, every level of a field possible.
    pub fn initial() -> Self {
        let mut m = [[0.0; MAX_LEVELS]; FIELDS];
        let mut u = [[0.0; MAX_LEVELS]; FIELDS];
        for f in Field::ALL {
            let n = f.levels().len() - 1;
            for l in 0..n {
                // m falls and u rises from the first (strongest) level to the last.
                m[f as usize][l] = 0.2_f64.powi(l as i32);
                u[f as usize][l] = 0.02 * (l as f64 + 1.0);
            }
            normalise(&mut m[f as usize][..n]);
            normalise(&mut u[f as usize][..n]);
        }
        Self { m, u, prior: 0.01 }
    }

    /// The weight of one field's level: log2(m/u); zero for a missing value.
    pub fn weight(&self, field: Field, level: u8) -> f64 {
        if level >= field.missing() {
            return 0.0;
        }
        let (m, u) = (
            self.m[field as usize][level as usize],
            self.u[field as usize][level as usize],
        );
        (m.max(FLOOR) / u.max(FLOOR)).log2()
    }

    /// The prior's weight: log2 of the odds that a candidate pair is one person.
    pub fn prior_weight(&self) -> f64 {
        let p = self.prior.clamp(FLOOR, 1.0 - FLOOR);
        (p / (1.0 - p)).log2()
    }

    /// One field's weight in `c`, as the score counts it (see [`Model::score`]).
    fn field_weight(&self, c: &Comparison, f: Field, name_km_frequency: Option<f64>) -> f64 {
        let level = c.level(f);
        let mut weight = self.weight(f, level);
        let is_name = matches!(f, Field::NameKm | Field::NameLatin);
        if is_name && (level == NameLevel::Close as u8) {
            // A name in a variant spelling is never stronger evidence than the
            // same name written identically (its m may be the untrained start).
            weight = weight.min(self.weight(f, NameLevel::Exact as u8));
        }
        let khmer_agrees = matches!(c.name_km, NameLevel::Exact | NameLevel::Close);
        if f == Field::NameLatin && khmer_agrees {
            // The Latin name is mostly a romanisation of the Khmer one, made from it:
            // where the Khmer names agree, the Latin ones agreeing follows and is no
            // second piece of evidence (a namesake's is romanised alike). A Latin name
            // that disagrees still counts against.
            weight = weight.min(0.0);
        }
        if f == Field::NameKm
            && khmer_agrees
            && let Some(freq) = name_km_frequency
        {
            // Splink's term-frequency adjustment: the name's own frequency
            // stands for the level's average u; a variant of a common name is
            // as weak as the common name itself.
            let m = self.m[f as usize][0].max(FLOOR);
            let exact = (m / freq.clamp(FLOOR, 1.0)).log2();
            weight = if c.name_km == NameLevel::Exact {
                exact
            } else {
                weight.min(exact)
            };
        }
        weight
    }

    /// The total match weight of `c` (the prior's and every field's), as
    /// [`Model::score`] adds it, without the per-field account.
    pub fn total_weight(&self, c: &Comparison, name_km_frequency: Option<f64>) -> f64 {
        Field::ALL
            .into_iter()
            .map(|f| self.field_weight(c, f, name_km_frequency))
            .sum::<f64>()
            + self.prior_weight()
    }

    /// Every field's weight for `c` (`name_km_frequency`: how often the pair's Khmer
    /// name occurs among all records, for an exact or close name), and their sum.
    pub fn score(&self, c: &Comparison, name_km_frequency: Option<f64>) -> Score {
        let mut fields = Vec::with_capacity(FIELDS);
        let mut total = self.prior_weight();
        for f in Field::ALL {
            let weight = self.field_weight(c, f, name_km_frequency);
            total += weight;
            fields.push(FieldEvidence {
                field: f,
                level: f.levels()[c.level(f) as usize],
                weight,
            });
        }
        Score {
            weight: total,
            probability: probability(total),
            fields,
        }
    }

    /// u from comparisons of random pairs: the share of each level among the pairs
    /// where the field is present (smoothed, so no level is impossible).
    pub fn estimate_u(&mut self, random_pairs: &[Comparison]) {
        for f in Field::ALL {
            let n = f.levels().len() - 1;
            let mut counts = vec![0.0; n];
            for c in random_pairs {
                let l = c.level(f) as usize;
                if l < n {
                    counts[l] += 1.0;
                }
            }
            let total: f64 = counts.iter().sum();
            for (l, count) in counts.iter().enumerate() {
                self.u[f as usize][l] = (count + 0.5) / (total + 0.5 * n as f64);
            }
        }
    }

    /// m (and the prior) by expectation–maximisation over the candidate pairs, u held
    /// fixed. `forced`: the fields the pairs' blocking rule made agree, which say
    /// nothing here and keep their m. Returns the iterations run.
    pub fn estimate_m(
        &mut self,
        pairs: &[Comparison],
        forced: &[Field],
        iterations: usize,
    ) -> usize {
        if pairs.is_empty() {
            return 0;
        }
        let free: Vec<Field> = Field::ALL
            .into_iter()
            .filter(|f| !forced.contains(f))
            .collect();
        // Pairs with the same levels everywhere weigh alike: EM runs over the distinct
        // patterns with their counts (a few thousand, however many pairs).
        let mut patterns: HashMap<Comparison, f64> = HashMap::new();
        for c in pairs {
            *patterns.entry(*c).or_default() += 1.0;
        }
        let mut patterns: Vec<(Comparison, f64)> = patterns.into_iter().collect();
        // In one order every run, so the sums (and the model) are the same each time.
        patterns.sort_by_key(|(c, _)| Field::ALL.map(|f| c.level(f)));
        let start = self.m;
        for round in 0..iterations {
            let mut m_counts = [[0.0_f64; MAX_LEVELS]; FIELDS];
            let mut matched = 0.0;
            for (c, count) in &patterns {
                let mut w = self.prior_weight();
                for &f in &free {
                    w += self.field_weight(c, f, None);
                }
                let p = probability(w) * count;
                matched += p;
                for &f in &free {
                    m_counts[f as usize][c.level(f) as usize] += p;
                }
            }
            let before = self.m;
            for &f in &free {
                let n = f.levels().len() - 1;
                let counts = &m_counts[f as usize][..n];
                // A level too rare among the matched pairs to be learnt keeps its
                // starting m (Splink's "not fully trained"): one or two pairs would
                // otherwise decide its weight. The learnt levels share the rest.
                let untrained: Vec<bool> = counts.iter().map(|c| *c < MIN_TRAINED).collect();
                let kept: f64 = (0..n)
                    .filter(|&l| untrained[l])
                    .map(|l| start[f as usize][l])
                    .sum();
                let total: f64 = (0..n).filter(|&l| !untrained[l]).map(|l| counts[l]).sum();
                if total <= 0.0 {
                    continue;
                }
                for l in (0..n).filter(|&l| !untrained[l]) {
                    self.m[f as usize][l] = (1.0 - kept) * counts[l] / total;
                }
                for l in (0..n).filter(|&l| untrained[l]) {
                    self.m[f as usize][l] = start[f as usize][l];
                }
            }
            self.prior = (matched / pairs.len() as f64).clamp(FLOOR, 1.0 - FLOOR);
            let moved = (0..FIELDS)
                .flat_map(|f| (0..MAX_LEVELS).map(move |l| (f, l)))
                .map(|(f, l)| (self.m[f][l] - before[f][l]).abs())
                .fold(0.0, f64::max);
            if moved < 1e-5 {
                return round + 1;
            }
        }
        iterations
    }
}

fn normalise(values: &mut [f64]) {
    let total: f64 = values.iter().sum();
    if total > 0.0 {
        values.iter_mut().for_each(|v| *v /= total);
    }
}

/// The probability that a pair with this match weight is one person.
pub fn probability(weight: f64) -> f64 {
    let odds = weight.clamp(-60.0, 60.0).exp2();
    odds / (1.0 + odds)
}

/// One field's part in a score, for a reviewer to read.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldEvidence {
    pub field: Field,
    pub level: &'static str,
    pub weight: f64,
}

/// A pair's score: the total match weight, its probability, and each field's part.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    pub weight: f64,
    pub probability: f64,
    pub fields: Vec<FieldEvidence>,
}

/// How often each Khmer name key occurs among the records: an exact match on a name
/// shared by many is weaker evidence.
#[derive(Debug, Clone, Default)]
pub struct NameFrequencies {
    counts: HashMap<String, u32>,
    total: u32,
}

impl NameFrequencies {
    pub fn add(&mut self, key: &str) {
        if key.is_empty() {
            return;
        }
        *self.counts.entry(key.to_owned()).or_default() += 1;
        self.total += 1;
    }

    /// The share of records with this key; at least one record's share.
    pub fn frequency(&self, key: &str) -> Option<f64> {
        if self.total == 0 {
            return None;
        }
        let count = self.counts.get(key).copied().unwrap_or(1).max(1);
        Some(f64::from(count) / f64::from(self.total))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(name: NameLevel, date: DateLevel, officer: IdLevel) -> Comparison {
        Comparison {
            name_km: name,
            name_latin: NameLevel::Missing,
            birth_date: date,
            sex: SexLevel::Same,
            place: PlaceLevel::District,
            officer_id: officer,
            national_id: IdLevel::Missing,
        }
    }

    /// A world of pairs: matches agree on most fields, non-matches rarely.
    fn training_pairs() -> (Vec<Comparison>, Vec<Comparison>) {
        let mut candidates = Vec::new();
        for i in 0..300 {
            // 100 matches, mostly exact names and dates, some noise.
            if i < 100 {
                let name = if i % 10 == 0 {
                    NameLevel::Close
                } else {
                    NameLevel::Exact
                };
                let date = if i % 7 == 0 {
                    DateLevel::YearOnly
                } else {
                    DateLevel::Exact
                };
                candidates.push(pair(name, date, IdLevel::Missing));
            } else {
                // Non-matches among candidates look like random pairs.
                let name = if i % 8 == 0 {
                    NameLevel::Similar
                } else {
                    NameLevel::Different
                };
                let date = if i % 40 == 0 {
                    DateLevel::YearOnly
                } else {
                    DateLevel::Different
                };
                candidates.push(pair(name, date, IdLevel::Missing));
            }
        }
        let mut random = Vec::new();
        for i in 0..2000 {
            let name = match i {
                _ if i % 500 == 0 => NameLevel::Exact,
                _ if i % 8 == 0 => NameLevel::Similar,
                _ => NameLevel::Different,
            };
            let date = if i % 40 == 0 {
                DateLevel::YearOnly
            } else {
                DateLevel::Different
            };
            random.push(pair(name, date, IdLevel::Different));
        }
        (candidates, random)
    }

    #[test]
    fn em_learns_that_agreement_is_evidence() {
        let (candidates, random) = training_pairs();
        let mut model = Model::initial();
        model.estimate_u(&random);
        model.estimate_m(&candidates, &[], 50);
        assert!(model.weight(Field::NameKm, NameLevel::Exact as u8) > 4.0);
        assert!(model.weight(Field::NameKm, NameLevel::Different as u8) < 0.0);
        assert!(model.weight(Field::BirthDate, DateLevel::Exact as u8) > 4.0);
        // About a third of the candidates are matches.
        assert!(
            (model.prior - 1.0 / 3.0).abs() < 0.1,
            "prior {}",
            model.prior
        );
        let same = model.score(
            &pair(NameLevel::Exact, DateLevel::Exact, IdLevel::Missing),
            None,
        );
        let other = model.score(
            &pair(NameLevel::Different, DateLevel::Different, IdLevel::Missing),
            None,
        );
        assert!(
            same.probability > 0.99 && other.probability < 0.01,
            "{same:?} {other:?}"
        );
    }

    #[test]
    fn a_missing_field_weighs_nothing() {
        let model = Model::initial();
        for f in Field::ALL {
            assert_eq!(model.weight(f, f.missing()), 0.0, "{f:?}");
        }
    }

    #[test]
    fn a_common_name_is_weaker_evidence_than_a_rare_one() {
        let model = Model::initial();
        let c = pair(NameLevel::Exact, DateLevel::Missing, IdLevel::Missing);
        let common = model.score(&c, Some(0.02));
        let rare = model.score(&c, Some(0.0001));
        assert!(
            rare.weight > common.weight + 5.0,
            "{} {}",
            rare.weight,
            common.weight
        );
    }

    #[test]
    fn forced_fields_keep_their_m() {
        let (candidates, random) = training_pairs();
        let mut model = Model::initial();
        model.estimate_u(&random);
        let before = model.m[Field::BirthDate as usize];
        model.estimate_m(&candidates, &[Field::BirthDate], 50);
        assert_eq!(model.m[Field::BirthDate as usize], before);
    }

    #[test]
    fn the_evidence_names_every_field() {
        let model = Model::initial();
        let s = model.score(
            &pair(NameLevel::Close, DateLevel::Swapped, IdLevel::OneEdit),
            None,
        );
        let names: Vec<_> = s.fields.iter().map(|e| (e.field.name(), e.level)).collect();
        assert_eq!(names[0], ("name_km", "close"));
        assert_eq!(names[2], ("birth_date", "swapped"));
        assert_eq!(names[5], ("officer_id", "one_edit"));
        let sum: f64 = s.fields.iter().map(|e| e.weight).sum::<f64>() + model.prior_weight();
        assert!((sum - s.weight).abs() < 1e-9);
    }

    #[test]
    fn frequencies() {
        let mut f = NameFrequencies::default();
        for _ in 0..9 {
            f.add("សុខចាន់");
        }
        f.add("ម៉ៅវណ្ណៈ");
        assert_eq!(f.frequency("សុខចាន់"), Some(0.9));
        assert_eq!(f.frequency("unknown"), Some(0.1));
    }
}
