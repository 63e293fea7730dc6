//! Comparing the other fields of two person records: sex, place, identifiers.

use crate::compare::dates::one_edit;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SexLevel {
    Same,
    Different,
    /// One side does not say: no evidence either way.
    Missing,
}

pub fn compare_sex(a: Option<char>, b: Option<char>) -> SexLevel {
    match (a, b) {
        (Some(a), Some(b)) if a.eq_ignore_ascii_case(&b) => SexLevel::Same,
        (Some(_), Some(_)) => SexLevel::Different,
        _ => SexLevel::Missing,
    }
}

/// Where a record places a person: the facility they serve at, and its commune's
/// gazetteer code (PPDDCC), whose first four digits are the district, first two the
/// province.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Place<'a> {
    pub facility: Option<&'a str>,
    pub commune: Option<&'a str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PlaceLevel {
    Facility,
    Commune,
    District,
    Province,
    Elsewhere,
    Missing,
}

pub fn compare_place(a: Place<'_>, b: Place<'_>) -> PlaceLevel {
    if let (Some(x), Some(y)) = (a.facility, b.facility)
        && x == y
    {
        return PlaceLevel::Facility;
    }
    let (Some(x), Some(y)) = (a.commune, b.commune) else {
        return PlaceLevel::Missing;
    };
    let shared = x.bytes().zip(y.bytes()).take_while(|(p, q)| p == q).count();
    match shared {
        n if n >= 6 && x.len() == y.len() => PlaceLevel::Commune,
        n if n >= 4 => PlaceLevel::District,
        n if n >= 2 => PlaceLevel::Province,
        _ => PlaceLevel::Elsewhere,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IdLevel {
    Equal,
    /// One digit off, or two neighbouring digits swapped: a typo, or another person.
    OneEdit,
    Different,
    Missing,
}

/// An identifier's comparable form: its letters and digits, upper case (spaces,
/// dashes and case say nothing). Empty for a value with none.
pub fn id_key(value: &str) -> Vec<u8> {
    value
        .bytes()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Two identifier values, compared after trimming and ignoring case, spaces and dashes.
pub fn compare_id(a: Option<&str>, b: Option<&str>) -> IdLevel {
    let (a, b) = (a.map(id_key), b.map(id_key));
    compare_id_keys(a.as_deref(), b.as_deref())
}

/// Two identifiers already read by [`id_key`].
pub fn compare_id_keys(a: Option<&[u8]>, b: Option<&[u8]>) -> IdLevel {
    let (Some(a), Some(b)) = (a, b) else {
        return IdLevel::Missing;
    };
    if a.is_empty() || b.is_empty() {
        IdLevel::Missing
    } else if a == b {
        IdLevel::Equal
    } else if one_edit(a, b) {
        IdLevel::OneEdit
    } else {
        IdLevel::Different
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sex_missing_is_no_conflict() {
        assert_eq!(compare_sex(Some('F'), Some('f')), SexLevel::Same);
        assert_eq!(compare_sex(Some('F'), Some('M')), SexLevel::Different);
        assert_eq!(compare_sex(None, Some('M')), SexLevel::Missing);
    }

    #[test]
    fn places_nest() {
        let p = |f: Option<&'static str>, c: &'static str| Place {
            facility: f,
            commune: Some(c),
        };
        assert_eq!(
            compare_place(p(Some("HC1"), "120101"), p(Some("HC1"), "120101")),
            PlaceLevel::Facility
        );
        assert_eq!(
            compare_place(p(Some("HC1"), "120101"), p(Some("HC2"), "120101")),
            PlaceLevel::Commune
        );
        assert_eq!(
            compare_place(p(None, "120101"), p(None, "120105")),
            PlaceLevel::District
        );
        assert_eq!(
            compare_place(p(None, "120101"), p(None, "121105")),
            PlaceLevel::Province
        );
        assert_eq!(
            compare_place(p(None, "120101"), p(None, "070101")),
            PlaceLevel::Elsewhere
        );
        assert_eq!(
            compare_place(Place::default(), p(None, "070101")),
            PlaceLevel::Missing
        );
    }

    #[test]
    fn identifiers() {
        assert_eq!(
            compare_id(Some("MCS-0012345"), Some("mcs0012345")),
            IdLevel::Equal
        );
        assert_eq!(
            compare_id(Some("0012345"), Some("0012354")),
            IdLevel::OneEdit
        );
        assert_eq!(
            compare_id(Some("0012345"), Some("0012346")),
            IdLevel::OneEdit
        );
        assert_eq!(
            compare_id(Some("0012345"), Some("0099999")),
            IdLevel::Different
        );
        assert_eq!(
            compare_id(Some("0012345"), Some("012345")),
            IdLevel::Different
        );
        assert_eq!(compare_id(None, Some("1")), IdLevel::Missing);
        assert_eq!(compare_id(Some(" - "), Some("1")), IdLevel::Missing);
    }
}
