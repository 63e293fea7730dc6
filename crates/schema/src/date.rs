use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{ParseError, text};

/// A calendar date, read from any of the forms Cambodian ministries write:
/// `1985-03-07`, `07/03/1985`, `07-03-1985`, the same with Khmer digits
/// (`០៧-០៣-១៩៨៥`), and the long Khmer form `ថ្ងៃទី២៣ ខែមករា ឆ្នាំ២០២៤`.
/// Day-first is the rule for the short forms: Cambodia writes day, month, year.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, format = Date, example = "1985-03-07")]
pub struct Date(NaiveDate);

/// The twelve Khmer month names, January first, with the spellings seen in practice.
const KHMER_MONTHS: [&[&str]; 12] = [
    &["មករា"],
    &["កុម្ភៈ", "កុម្ភះ", "កុម្ភ"],
    &["មីនា"],
    &["មេសា"],
    &["ឧសភា"],
    &["មិថុនា"],
    &["កក្កដា"],
    &["សីហា"],
    &["កញ្ញា"],
    &["តុលា"],
    &["វិច្ឆិកា"],
    &["ធ្នូ"],
];

const WHAT: &str = "date";
/// The years a date may fall in; anything else is a typing slip.
const YEARS: std::ops::RangeInclusive<i32> = 1900..=2100;

impl Date {
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        // Most dates arrive (and every stored one comes back) as plain YYYY-MM-DD.
        if let Some(date) = iso_date(input).filter(|d| YEARS.contains(&d.year())) {
            return Ok(Self(date));
        }
        ParseError::refuse_nul(WHAT, input)?;
        // A date may be a birth date: the rules never quote it, the value goes apart.
        Self::parse_slow(input).map_err(|e| e.with_value(input))
    }

    fn parse_slow(input: &str) -> Result<Self, ParseError> {
        let s = text::for_reading(input);
        if s.is_empty() {
            return Err(ParseError::new(WHAT, "is empty"));
        }
        let date = if s.contains('ខ') || s.contains("ថ្ងៃ") || s.contains("ឆ្នាំ")
        {
            parse_khmer_long(&s)?
        } else {
            parse_numeric(&s)?
        };
        if !YEARS.contains(&date.year()) {
            return Err(ParseError::new(
                WHAT,
                format!("has a year outside {}-{}", YEARS.start(), YEARS.end()),
            ));
        }
        Ok(Self(date))
    }

    pub fn from_naive(date: NaiveDate) -> Self {
        Self(date)
    }

    pub fn naive(self) -> NaiveDate {
        self.0
    }
}

/// `YYYY-MM-DD` in ASCII digits and nothing else, when it names a real day.
fn iso_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| {
        b[r].iter().try_fold(0_u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = i32::try_from(digits(0..4)?).ok()?;
    NaiveDate::from_ymd_opt(year, digits(5..7)?, digits(8..10)?)
}

fn parse_numeric(s: &str) -> Result<NaiveDate, ParseError> {
    let sep = if s.contains('/') {
        '/'
    } else if s.contains('-') {
        '-'
    } else if s.contains('.') {
        '.'
    } else {
        return Err(unreadable());
    };
    let parts: Vec<&str> = s.split(sep).map(str::trim).collect();
    let [a, b, c] = parts.as_slice() else {
        return Err(unreadable());
    };
    if ![a, b, c]
        .iter()
        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(unreadable());
    }
    // Year first only in the ISO form (4-digit first part); otherwise day/month/year.
    let (y, m, d) = if a.len() == 4 {
        (*a, *b, *c)
    } else if c.len() == 4 {
        (*c, *b, *a)
    } else {
        return Err(ParseError::new(
            WHAT,
            "has no four-digit year (expected YYYY-MM-DD or DD/MM/YYYY)",
        ));
    };
    build(y, m, d)
}

fn parse_khmer_long(s: &str) -> Result<NaiveDate, ParseError> {
    let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let day =
        digits_after(&compact, "ថ្ងៃទី").ok_or_else(|| ParseError::new(WHAT, "has no day (ថ្ងៃទី..)"))?;
    let after_month_word = compact
        .split_once("ខែ")
        .map(|(_, rest)| rest)
        .ok_or_else(|| ParseError::new(WHAT, "has no month (ខែ..)"))?;
    let month = KHMER_MONTHS
        .iter()
        .position(|names| names.iter().any(|n| after_month_word.starts_with(n)))
        .ok_or_else(|| ParseError::new(WHAT, "has an unknown Khmer month name"))?;
    let year =
        digits_after(&compact, "ឆ្នាំ").ok_or_else(|| ParseError::new(WHAT, "has no year (ឆ្នាំ..)"))?;
    build(&year, &(month + 1).to_string(), &day)
}

fn digits_after(s: &str, marker: &str) -> Option<String> {
    let (_, rest) = s.split_once(marker)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    (!digits.is_empty()).then_some(digits)
}

fn build(y: &str, m: &str, d: &str) -> Result<NaiveDate, ParseError> {
    let (Ok(y), Ok(m), Ok(d)) = (y.parse::<i32>(), m.parse::<u32>(), d.parse::<u32>()) else {
        return Err(unreadable());
    };
    if !(1..=12).contains(&m) {
        return Err(ParseError::new(WHAT, "names a month that does not exist"));
    }
    NaiveDate::from_ymd_opt(y, m, d)
        .ok_or_else(|| ParseError::new(WHAT, "names a day its month does not have"))
}

fn unreadable() -> ParseError {
    ParseError::new(
        WHAT,
        "is not a date (expected YYYY-MM-DD, DD/MM/YYYY, DD-MM-YYYY or ថ្ងៃទី.. ខែ.. ឆ្នាំ..)",
    )
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // NaiveDate's own Display is YYYY-MM-DD for the years a Date holds, and unlike
        // `format` it does not read a format string on every call.
        fmt::Display::fmt(&self.0, f)
    }
}

impl TryFrom<String> for Date {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Date> for String {
    fn from(value: Date) -> Self {
        value.to_string()
    }
}
