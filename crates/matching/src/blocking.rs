//! A person record as the matcher sees it, and how two are compared and blocked.

use std::collections::HashMap;

use crate::compare::dates::{BirthDate, compare_dates};
use crate::compare::fields::{Place, compare_id, compare_place, compare_sex};
use crate::compare::names::{compare_khmer, compare_latin, khmer_folded_key, latin_phonetic_key};
use crate::score::Comparison;

/// What one source record says of a person, in the fields the matcher compares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonRecord {
    pub name_km: Option<String>,
    pub name_latin: Option<String>,
    pub birth: Option<BirthDate>,
    /// 'F' or 'M'.
    pub sex: Option<char>,
    pub facility: Option<String>,
    /// The commune's gazetteer code (PPDDCC).
    pub commune: Option<String>,
    pub officer_id: Option<String>,
    pub national_id: Option<String>,
    /// The officer id is on the MCS roll (two different such ids are two officers).
    pub on_roll: bool,
}

/// Two records compared field by field.
pub fn compare(a: &PersonRecord, b: &PersonRecord) -> Comparison {
    Comparison {
        name_km: compare_khmer(a.name_km.as_deref(), b.name_km.as_deref()),
        name_latin: compare_latin(a.name_latin.as_deref(), b.name_latin.as_deref()),
        birth_date: compare_dates(a.birth, b.birth),
        sex: compare_sex(a.sex, b.sex),
        place: compare_place(place(a), place(b)),
        officer_id: compare_id(a.officer_id.as_deref(), b.officer_id.as_deref()),
        national_id: compare_id(a.national_id.as_deref(), b.national_id.as_deref()),
    }
}

fn place(r: &PersonRecord) -> Place<'_> {
    Place {
        facility: r.facility.as_deref(),
        commune: r.commune.as_deref(),
    }
}

/// Every id with each one character left out: two ids one digit apart, or with two
/// neighbouring digits swapped, share one of these, so typos meet in a block.
fn deletion_keys(prefix: &str, id: &str, keys: &mut Vec<String>) {
    let digits: Vec<char> = id.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    if digits.is_empty() {
        return;
    }
    keys.push(format!("{prefix}={}", digits.iter().collect::<String>()));
    for skip in 0..digits.len() {
        let rest: String = digits
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != skip)
            .map(|(_, c)| c)
            .collect();
        keys.push(format!("{prefix}-={rest}"));
    }
}

/// Sorted tokens, so that a swapped order meets the written one.
fn sorted_khmer_key(name: &str) -> String {
    let mut tokens: Vec<String> = name
        .split_whitespace()
        .map(khmer_folded_key)
        .filter(|t| !t.is_empty())
        .collect();
    tokens.sort();
    tokens.concat()
}

fn sorted_latin_key(name: &str) -> String {
    let mut tokens: Vec<String> = name
        .split(|c: char| c.is_whitespace() || c == '-')
        .map(latin_phonetic_key)
        .filter(|t| !t.is_empty())
        .collect();
    tokens.sort();
    tokens.concat()
}

/// The blocking keys of a record: two records are compared only if they share one.
/// Ids (with their one-typo neighbours), the Khmer name's variant-folded key with the
/// birth year and with the district, the Latin phonetic key with the birth year, and
/// the whole birth date with the district: a true pair has to differ in nearly every
/// field at once to share none.
pub fn blocking_keys(r: &PersonRecord) -> Vec<String> {
    let mut keys = Vec::new();
    if let Some(id) = &r.officer_id {
        deletion_keys("o", id, &mut keys);
    }
    if let Some(id) = &r.national_id {
        deletion_keys("n", id, &mut keys);
    }
    let district = r.commune.as_deref().and_then(|c| c.get(..4));
    let year = r.birth.map(|b| b.year);
    if let Some(name) = r
        .name_km
        .as_deref()
        .map(sorted_khmer_key)
        .filter(|k| !k.is_empty())
    {
        if let Some(y) = year {
            keys.push(format!("ky={name}|{y}"));
        }
        if let Some(d) = district {
            keys.push(format!("kd={name}|{d}"));
        }
    }
    if let Some(name) = r
        .name_latin
        .as_deref()
        .map(sorted_latin_key)
        .filter(|k| !k.is_empty())
    {
        if let Some(y) = year {
            keys.push(format!("ly={name}|{y}"));
        }
        if let Some(d) = district {
            keys.push(format!("ld={name}|{d}"));
        }
    }
    if let (Some(b), Some(d)) = (r.birth, district)
        && let Some((m, day)) = b.month_day
    {
        keys.push(format!("bd={}-{m}-{day}|{d}", b.year));
    }
    // An id with a repeated digit gives one key twice.
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// The candidate pairs among `records`: those sharing a blocking key, each once,
/// `(i, j)` with i < j, kept only if `wanted(i, j)`. A block larger than `max_block`
/// is skipped (a key that common tells nothing), and counted in the result.
pub fn candidate_pairs(
    records: &[PersonRecord],
    max_block: usize,
    wanted: impl Fn(usize, usize) -> bool,
) -> (Vec<(u32, u32)>, usize) {
    let mut blocks: HashMap<String, Vec<u32>> = HashMap::new();
    for (i, r) in records.iter().enumerate() {
        for key in blocking_keys(r) {
            blocks.entry(key).or_default().push(i as u32);
        }
    }
    let mut pairs = Vec::new();
    let mut skipped = 0;
    for members in blocks.values() {
        if members.len() < 2 {
            continue;
        }
        if members.len() > max_block {
            skipped += 1;
            continue;
        }
        for (x, &i) in members.iter().enumerate() {
            for &j in &members[x + 1..] {
                let (i, j) = if i < j { (i, j) } else { (j, i) };
                if i != j && wanted(i as usize, j as usize) {
                    pairs.push((i, j));
                }
            }
        }
    }
    pairs.sort_unstable();
    pairs.dedup();
    (pairs, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::dates::DateLevel;
    use crate::compare::fields::IdLevel;
    use crate::compare::names::NameLevel;

    fn record(km: &str, latin: &str, birth: (i32, u32, u32), commune: &str) -> PersonRecord {
        PersonRecord {
            name_km: Some(km.to_owned()),
            name_latin: Some(latin.to_owned()),
            birth: Some(BirthDate::new(birth.0, birth.1, birth.2)),
            sex: Some('F'),
            facility: None,
            commune: Some(commune.to_owned()),
            officer_id: None,
            national_id: None,
            on_roll: false,
        }
    }

    #[test]
    fn a_clerks_variant_meets_the_roll_record() {
        let roll = PersonRecord {
            officer_id: Some("1234567890".into()),
            ..record("សុខ ចាន់ធី", "Sok Chanthy", (1985, 3, 12), "120101")
        };
        let sector = record("ចាន់ធី\u{200B}សុខ", "Chanthea Sok", (1985, 12, 3), "120105");
        let c = compare(&roll, &sector);
        assert_eq!(c.name_km, NameLevel::Close);
        assert_eq!(c.name_latin, NameLevel::Close);
        assert_eq!(c.birth_date, DateLevel::Swapped);
        assert_eq!(c.officer_id, IdLevel::Missing);
        let (pairs, _) = candidate_pairs(&[roll, sector], 100, |_, _| true);
        assert_eq!(pairs, vec![(0, 1)]);
    }

    #[test]
    fn an_id_typo_shares_a_block() {
        let a = PersonRecord {
            officer_id: Some("1234567890".into()),
            ..Default::default()
        };
        let transposed = PersonRecord {
            officer_id: Some("1234567809".into()),
            ..Default::default()
        };
        let far = PersonRecord {
            officer_id: Some("9876543210".into()),
            ..Default::default()
        };
        let (pairs, _) = candidate_pairs(&[a, transposed, far], 100, |_, _| true);
        assert_eq!(pairs, vec![(0, 1)]);
    }

    #[test]
    fn unrelated_people_are_not_compared() {
        let a = record("សុខ ចាន់ធី", "Sok Chanthy", (1985, 3, 12), "120101");
        let b = record("ម៉ៅ វណ្ណៈ", "Mao Vannak", (1979, 6, 2), "070101");
        let (pairs, _) = candidate_pairs(&[a, b], 100, |_, _| true);
        assert!(pairs.is_empty());
    }

    #[test]
    fn oversized_blocks_are_skipped_and_counted() {
        let people: Vec<_> = (0..5)
            .map(|_| record("សុខ", "Sok", (1985, 1, 1), "120101"))
            .collect();
        let (pairs, skipped) = candidate_pairs(&people, 3, |_, _| true);
        assert!(pairs.is_empty());
        assert!(skipped > 0);
        let (pairs, _) = candidate_pairs(&people, 10, |i, _| i == 0);
        assert_eq!(pairs.len(), 4);
    }
}
