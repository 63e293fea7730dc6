//! Training the model on the records at hand, as Splink does: u from random pairs,
//! m by expectation–maximisation over blocked pairs, one session per training rule,
//! each field's m taken from the sessions where that rule left it free.

use crate::blocking::{PersonRecord, Prepared, compare_prepared, parallel_map};
use crate::score::{Comparison, Field, Model};

/// How a training session's pairs were chosen, and so which fields they force to agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrainingRule {
    /// Pairs with the same officer id: teaches names, dates, sex, place, national id.
    SameOfficerId,
    /// Pairs with the same Khmer name key and birth year: teaches the identifiers,
    /// the Latin name, sex and place.
    SameNameAndYear,
}

impl TrainingRule {
    pub fn forced(self) -> &'static [Field] {
        match self {
            TrainingRule::SameOfficerId => &[Field::OfficerId],
            TrainingRule::SameNameAndYear => &[Field::NameKm, Field::BirthDate],
        }
    }
}

/// A deterministic sample of `n` random pairs of distinct records (a linear
/// congruential walk: the same records give the same model).
pub fn random_pairs(records: &[PersonRecord], n: usize) -> Vec<Comparison> {
    let prepared: Vec<Prepared<'_>> = records.iter().map(Prepared::new).collect();
    random_pairs_prepared(&prepared, n)
}

/// [`random_pairs`] over records already prepared.
pub fn random_pairs_prepared(records: &[Prepared<'_>], n: usize) -> Vec<Comparison> {
    let len = records.len() as u64;
    if len < 2 {
        return Vec::new();
    }
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) % len
    };
    let mut drawn = Vec::with_capacity(n);
    while drawn.len() < n {
        let (i, j) = (next(), next());
        if i != j {
            drawn.push((i as usize, j as usize));
        }
    }
    parallel_map(&drawn, |&(i, j)| compare_prepared(&records[i], &records[j]))
}

/// Trains a model: u from `random`, then m from each session's pairs.
pub fn train(random: &[Comparison], sessions: &[(TrainingRule, Vec<Comparison>)]) -> Model {
    let mut base = Model::initial();
    base.estimate_u(random);
    let mut m_sum = [[0.0; 6]; crate::score::FIELDS];
    let mut m_n = [0usize; crate::score::FIELDS];
    let mut priors = Vec::new();
    for (rule, pairs) in sessions {
        if pairs.is_empty() {
            continue;
        }
        let mut session = base.clone();
        session.estimate_m(pairs, rule.forced(), 100);
        priors.push(session.prior);
        for f in Field::ALL {
            if rule.forced().contains(&f) {
                continue;
            }
            for (sum, m) in m_sum[f as usize].iter_mut().zip(session.m[f as usize]) {
                *sum += m;
            }
            m_n[f as usize] += 1;
        }
    }
    for f in Field::ALL {
        if m_n[f as usize] > 0 {
            let n = m_n[f as usize] as f64;
            for (m, sum) in base.m[f as usize].iter_mut().zip(m_sum[f as usize]) {
                *m = sum / n;
            }
        }
    }
    if !priors.is_empty() {
        base.prior = priors.iter().sum::<f64>() / priors.len() as f64;
    }
    base
}
