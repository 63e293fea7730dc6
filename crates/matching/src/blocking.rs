//! A person record as the matcher sees it, and how two are compared and blocked.
//!
//! A record is read once into a [`Prepared`] record (its names' keys, its ids'
//! comparable forms), so comparing a pair allocates nothing; blocking keys are 64-bit
//! hashes, grouped by sorting rather than in a map of strings.

use std::hash::{DefaultHasher, Hash, Hasher};

use crate::compare::dates::{BirthDate, compare_dates};
use crate::compare::fields::{Place, compare_id_keys, compare_place, compare_sex, id_key};
use crate::compare::names::{NameLevel, PreparedKhmer, PreparedLatin};
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

/// A record read once for comparing and blocking.
#[derive(Debug, Clone)]
pub struct Prepared<'a> {
    pub record: &'a PersonRecord,
    pub name_km: Option<PreparedKhmer>,
    pub name_latin: Option<PreparedLatin>,
    officer_id: Option<Vec<u8>>,
    national_id: Option<Vec<u8>>,
}

impl<'a> Prepared<'a> {
    pub fn new(record: &'a PersonRecord) -> Self {
        Self {
            record,
            name_km: record.name_km.as_deref().and_then(PreparedKhmer::new),
            name_latin: record.name_latin.as_deref().and_then(PreparedLatin::new),
            officer_id: record.officer_id.as_deref().map(id_key),
            national_id: record.national_id.as_deref().map(id_key),
        }
    }
}

/// Every record prepared, over the machine's cores.
pub fn prepare_all(records: &[PersonRecord]) -> Vec<Prepared<'_>> {
    parallel_map(records, Prepared::new)
}

/// `f` over `items` in order, the work split across the available cores.
pub fn parallel_map<'a, T: Sync, U: Send>(items: &'a [T], f: impl Fn(&'a T) -> U + Sync) -> Vec<U> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads < 2 || items.len() < 10_000 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|scope| {
        let parts: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(f).collect::<Vec<U>>()))
            .collect();
        let mut out = Vec::with_capacity(items.len());
        for part in parts {
            out.extend(part.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
        }
        out
    })
}

/// Two records compared field by field.
pub fn compare(a: &PersonRecord, b: &PersonRecord) -> Comparison {
    compare_prepared(&Prepared::new(a), &Prepared::new(b))
}

fn name_level<T>(a: &Option<T>, b: &Option<T>, level: impl Fn(&T, &T) -> NameLevel) -> NameLevel {
    match (a, b) {
        (Some(a), Some(b)) => level(a, b),
        _ => NameLevel::Missing,
    }
}

/// Two prepared records compared field by field.
pub fn compare_prepared(a: &Prepared<'_>, b: &Prepared<'_>) -> Comparison {
    let (ra, rb) = (a.record, b.record);
    Comparison {
        name_km: name_level(&a.name_km, &b.name_km, PreparedKhmer::level),
        name_latin: name_level(&a.name_latin, &b.name_latin, PreparedLatin::level),
        birth_date: compare_dates(ra.birth, rb.birth),
        sex: compare_sex(ra.sex, rb.sex),
        place: compare_place(place(ra), place(rb)),
        officer_id: compare_id_keys(a.officer_id.as_deref(), b.officer_id.as_deref()),
        national_id: compare_id_keys(a.national_id.as_deref(), b.national_id.as_deref()),
    }
}

fn place(r: &PersonRecord) -> Place<'_> {
    Place {
        facility: r.facility.as_deref(),
        commune: r.commune.as_deref(),
    }
}

/// The hash of one blocking key: which rule made it, and its parts.
fn key_of(parts: impl Hash) -> u64 {
    let mut h = DefaultHasher::new();
    parts.hash(&mut h);
    h.finish()
}

/// Every id with each one character left out: two ids one digit apart, or with two
/// neighbouring digits swapped, share one of these, so typos meet in a block.
fn deletion_keys(rule: u8, id: &[u8], keys: &mut Vec<u64>) {
    if id.is_empty() {
        return;
    }
    keys.push(key_of((rule, id)));
    let mut rest = Vec::with_capacity(id.len());
    for skip in 0..id.len() {
        rest.clear();
        rest.extend_from_slice(&id[..skip]);
        rest.extend_from_slice(&id[skip + 1..]);
        keys.push(key_of((rule + 1, &rest)));
    }
}

/// The blocking keys of a record: two records are compared only if they share one.
/// Ids (with their one-typo neighbours), the Khmer name's variant-folded key with the
/// birth year, with the birth day and month, and with the district, the Latin phonetic
/// key alike, the whole birth date with the district, and the facility with the birth
/// year: a true pair has to differ in nearly every field at once to share none. (Day and month with the name find one
/// officer registered twice in two provinces with the birth year mistyped.)
pub fn blocking_keys(p: &Prepared<'_>) -> Vec<u64> {
    let r = p.record;
    let mut keys = Vec::new();
    if let Some(id) = &p.officer_id {
        deletion_keys(0, id, &mut keys);
    }
    if let Some(id) = &p.national_id {
        deletion_keys(2, id, &mut keys);
    }
    let district = r.commune.as_deref().and_then(|c| c.get(..4));
    let year = r.birth.map(|b| b.year);
    let day = r.birth.and_then(|b| b.month_day);
    // Names by their sorted tokens, so that a swapped order meets the written one, and
    // as written, so that a name run together meets it written with its space.
    let khmer = p.name_km.as_ref().map_or_else(Vec::new, |n| {
        let (sorted, written) = (n.blocking_key(), n.written_key());
        if sorted == written {
            vec![sorted]
        } else {
            vec![sorted, written]
        }
    });
    for name in khmer.into_iter().filter(|k| !k.is_empty()) {
        if let Some(y) = year {
            keys.push(key_of((4u8, name, y)));
        }
        if let Some(d) = district {
            keys.push(key_of((5u8, name, d)));
        }
        if let Some(md) = day {
            keys.push(key_of((9u8, name, md)));
        }
    }
    if let Some(name) = p
        .name_latin
        .as_ref()
        .map(PreparedLatin::blocking_key)
        .filter(|k| !k.is_empty())
    {
        if let Some(y) = year {
            keys.push(key_of((6u8, name, y)));
        }
        if let Some(d) = district {
            keys.push(key_of((7u8, name, d)));
        }
        if let Some(md) = day {
            keys.push(key_of((10u8, name, md)));
        }
    }
    if let (Some(b), Some(d)) = (r.birth, district)
        && let Some((m, day)) = b.month_day
    {
        keys.push(key_of((8u8, b.year, m, day, d)));
    }
    // One site's people born in one year are few, and a person's records meet there
    // however each clerk spelled the names.
    if let (Some(f), Some(y)) = (r.facility.as_deref(), year) {
        keys.push(key_of((11u8, f, y)));
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
    candidate_pairs_prepared(&prepare_all(records), max_block, wanted)
}

/// [`candidate_pairs`] over records already prepared.
pub fn candidate_pairs_prepared(
    records: &[Prepared<'_>],
    max_block: usize,
    wanted: impl Fn(usize, usize) -> bool,
) -> (Vec<(u32, u32)>, usize) {
    let keyed = parallel_map(records, blocking_keys);
    let mut entries: Vec<(u64, u32)> = keyed
        .iter()
        .enumerate()
        .flat_map(|(i, keys)| keys.iter().map(move |&k| (k, i as u32)))
        .collect();
    drop(keyed);
    entries.sort_unstable();
    let mut pairs = Vec::new();
    let mut skipped = 0;
    for block in entries.chunk_by(|x, y| x.0 == y.0) {
        if block.len() < 2 {
            continue;
        }
        if block.len() > max_block {
            skipped += 1;
            continue;
        }
        // Members are in record order, so each pair comes out as (smaller, larger).
        for (x, &(_, i)) in block.iter().enumerate() {
            for &(_, j) in &block[x + 1..] {
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
    fn a_record_with_both_names_spelled_otherwise_meets_its_roll_record_at_their_site() {
        // A clerk dropped the final visarga and wrote the romanisation another way, and
        // the day of birth is mistyped: no name key and no date key is shared.
        let roll = PersonRecord {
            officer_id: Some("9895296862".into()),
            facility: Some("15060301".into()),
            ..record("ឌួង វណ្ណៈ", "DUONG Vannak", (1996, 4, 12), "150603")
        };
        let sector = PersonRecord {
            facility: Some("15060301".into()),
            ..record("ឌួង វណ្ណ", "Doung Vanak", (1996, 4, 17), "150603")
        };
        let elsewhere = PersonRecord {
            facility: Some("15060302".into()),
            ..record("ឌួង វណ្ណ", "Doung Vanak", (1996, 4, 17), "150603")
        };
        let (pairs, _) = candidate_pairs(&[roll.clone(), sector], 100, |_, _| true);
        assert_eq!(pairs, vec![(0, 1)]);
        let (pairs, _) = candidate_pairs(&[roll, elsewhere], 100, |_, _| true);
        assert!(pairs.is_empty(), "{pairs:?}");
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
    fn one_officer_registered_in_two_provinces_with_the_year_mistyped_shares_a_block() {
        // The roll's own duplicate: a spelling variant, the year one digit off, another
        // province, another officer id.
        let a = PersonRecord {
            officer_id: Some("1444066890".into()),
            ..record("ហួត បូធារី", "Huot Botheary", (1966, 11, 5), "250510")
        };
        let b = PersonRecord {
            officer_id: Some("4013572408".into()),
            ..record("ហួត បុធារី", "Huot Bothary", (1968, 11, 5), "130508")
        };
        let (pairs, _) = candidate_pairs(&[a, b], 100, |_, _| true);
        assert_eq!(pairs, vec![(0, 1)]);
    }

    #[test]
    fn a_name_run_together_meets_it_written_with_its_space_elsewhere() {
        // Family name sorting after the given name: the sorted keys differ.
        let a = record("ហួត បូធារី", "Huot Botheary", (1966, 11, 5), "250510");
        let b = record("ហួតបូធារី", "Hout Botheari", (1966, 11, 5), "130508");
        let (pairs, _) = candidate_pairs(&[a, b], 100, |_, _| true);
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
