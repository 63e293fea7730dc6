//! Comparing birth dates as ministries record them.
//!
//! Many records carry 1 January of the birth year as a placeholder for "only the year
//! is known", so 01/01 is read as year-only evidence: it neither agrees nor conflicts
//! on day and month. Clerks swap day and month (03/12 for 12/03) and mistype one digit.

/// A birth date as compared: the year, and the month and day when they are known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BirthDate {
    pub year: i32,
    /// Month and day; none when only the year is known (or the date is 1 January,
    /// the placeholder).
    pub month_day: Option<(u32, u32)>,
}

impl BirthDate {
    /// A full date; 1 January counts as the year alone.
    pub fn new(year: i32, month: u32, day: u32) -> Self {
        let month_day = if (month, day) == (1, 1) {
            None
        } else {
            Some((month, day))
        };
        Self { year, month_day }
    }

    pub fn year_only(year: i32) -> Self {
        Self {
            year,
            month_day: None,
        }
    }

    /// The date's eight digits, YYYYMMDD, when it is whole (a year outside 0..=9999
    /// has no such digits).
    fn digits(self) -> Option<[u8; 8]> {
        let (m, d) = self.month_day?;
        let year = u32::try_from(self.year).ok().filter(|y| *y <= 9999)?;
        let mut out = [0u8; 8];
        let mut rest = year * 10_000 + m.min(99) * 100 + d.min(99);
        for digit in out.iter_mut().rev() {
            *digit = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        Some(out)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DateLevel {
    /// The same day.
    Exact,
    /// Day and month swapped (12/03 and 03/12), same year.
    Swapped,
    /// One digit off, or two neighbouring digits swapped (1985 / 1958).
    OneDigit,
    /// The same year, and one side knows only the year.
    YearOnly,
    Different,
    Missing,
}

/// The level of two birth dates.
pub fn compare_dates(a: Option<BirthDate>, b: Option<BirthDate>) -> DateLevel {
    let (Some(a), Some(b)) = (a, b) else {
        return DateLevel::Missing;
    };
    if a == b && a.month_day.is_some() {
        return DateLevel::Exact;
    }
    match (a.digits(), b.digits()) {
        (Some(x), Some(y)) => {
            let (am, ad) = a.month_day.unwrap_or_default();
            let (bm, bd) = b.month_day.unwrap_or_default();
            if a.year == b.year && am == bd && ad == bm {
                DateLevel::Swapped
            } else if one_edit(&x, &y) {
                DateLevel::OneDigit
            } else {
                DateLevel::Different
            }
        }
        // One side knows only the year: the year is all there is to compare.
        _ if a.year == b.year => DateLevel::YearOnly,
        _ if years_one_edit(a.year, b.year) => DateLevel::OneDigit,
        _ => DateLevel::Different,
    }
}

/// Whether two four-digit years are one digit or one neighbour swap apart.
fn years_one_edit(a: i32, b: i32) -> bool {
    let digits = |y: i32| -> Option<[u8; 4]> {
        let y = u32::try_from(y)
            .ok()
            .filter(|y| (1000..=9999).contains(y))?;
        Some([3, 2, 1, 0].map(|p| b'0' + (y / 10u32.pow(p) % 10) as u8))
    };
    match (digits(a), digits(b)) {
        (Some(x), Some(y)) => one_edit(&x, &y),
        _ => false,
    }
}

/// Whether two equal-length digit strings differ by one digit, or by one pair of
/// neighbouring digits swapped.
pub fn one_edit(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    // The first two differing positions, and whether there are more.
    let mut diffs = (0..a.len()).filter(|&i| a[i] != b[i]);
    match (diffs.next(), diffs.next(), diffs.next()) {
        (Some(_), None, _) => true,
        (Some(i), Some(j), None) => j == i + 1 && a[i] == b[j] && a[j] == b[i],
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> Option<BirthDate> {
        Some(BirthDate::new(y, m, day))
    }

    #[test]
    fn levels() {
        let cases = [
            (d(1985, 3, 12), d(1985, 3, 12), DateLevel::Exact),
            (d(1985, 3, 12), d(1985, 12, 3), DateLevel::Swapped),
            (d(1985, 3, 12), d(1985, 3, 13), DateLevel::OneDigit),
            (d(1985, 3, 12), d(1958, 3, 12), DateLevel::OneDigit),
            (d(1985, 3, 12), d(1985, 1, 1), DateLevel::YearOnly),
            (d(1985, 1, 1), d(1985, 1, 1), DateLevel::YearOnly),
            (
                Some(BirthDate::year_only(1985)),
                d(1985, 7, 30),
                DateLevel::YearOnly,
            ),
            (d(1985, 1, 1), d(1986, 1, 1), DateLevel::OneDigit),
            (d(1985, 1, 1), d(1979, 1, 1), DateLevel::Different),
            (d(1985, 3, 12), d(1990, 7, 1), DateLevel::Different),
            (d(1985, 3, 12), d(1985, 7, 30), DateLevel::Different),
            (None, d(1985, 3, 12), DateLevel::Missing),
        ];
        for (a, b, want) in cases {
            assert_eq!(compare_dates(a, b), want, "{a:?} / {b:?}");
            assert_eq!(compare_dates(b, a), want, "symmetric: {b:?} / {a:?}");
        }
    }

    #[test]
    fn the_first_of_january_is_the_year_alone() {
        assert_eq!(BirthDate::new(1990, 1, 1), BirthDate::year_only(1990));
        assert_ne!(BirthDate::new(1990, 1, 2), BirthDate::year_only(1990));
    }

    #[test]
    fn one_edit_is_one_digit_or_one_neighbour_swap() {
        assert!(one_edit(b"123456", b"123457"));
        assert!(one_edit(b"123456", b"124356"));
        assert!(!one_edit(
            b"123456",
            b"123465".as_slice().get(..5).unwrap_or_default()
        ));
        assert!(!one_edit(b"123456", b"654321"));
        assert!(!one_edit(b"123456", b"123456"));
        assert!(!one_edit(b"123456", b"163452"));
    }
}
