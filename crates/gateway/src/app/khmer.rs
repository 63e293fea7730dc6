//! Numbers, months and times as the app shows them: Khmer digits and Khmer month
//! names first, English beside them, times in Cambodia (UTC+7).

use chrono::{DateTime, Datelike, FixedOffset, Timelike, Utc};
use schema::Period;

const DIGITS: [char; 10] = ['០', '១', '២', '៣', '៤', '៥', '៦', '៧', '៨', '៩'];

const MONTHS_KM: [&str; 12] = [
    "មករា",
    "កុម្ភៈ",
    "មីនា",
    "មេសា",
    "ឧសភា",
    "មិថុនា",
    "កក្កដា",
    "សីហា",
    "កញ្ញា",
    "តុលា",
    "វិច្ឆិកា",
    "ធ្នូ",
];

const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// `text` with its ASCII digits written as Khmer digits.
pub(crate) fn digits(text: &str) -> String {
    text.chars()
        .map(|c| match c.to_digit(10) {
            Some(d) if c.is_ascii_digit() => DIGITS[d as usize],
            _ => c,
        })
        .collect()
}

/// A number in Khmer digits.
pub(crate) fn number(n: impl std::fmt::Display) -> String {
    digits(&n.to_string())
}

/// A month in Khmer and in English: ("ខែធ្នូ ឆ្នាំ២០២៥", "December 2025").
pub(crate) fn month(period: Period) -> (String, String) {
    let i = usize::from(period.month().clamp(1, 12)) - 1;
    (
        format!("ខែ{} ឆ្នាំ{}", MONTHS_KM[i], number(period.year())),
        format!("{} {}", MONTHS_EN[i], period.year()),
    )
}

/// A time in Cambodia, in Khmer and in English: ("ម៉ោង ០៩:០៥ ថ្ងៃទី២ ខែធ្នូ ឆ្នាំ២០២៥",
/// "09:05, 2 December 2025").
pub(crate) fn time(at: DateTime<Utc>) -> (String, String) {
    let Some(cambodia) = FixedOffset::east_opt(7 * 3600) else {
        return (at.to_rfc3339(), at.to_rfc3339());
    };
    let t = at.with_timezone(&cambodia);
    let i = t.month0() as usize;
    let hm = format!("{:02}:{:02}", t.hour(), t.minute());
    (
        format!(
            "ម៉ោង {} ថ្ងៃទី{} ខែ{} ឆ្នាំ{}",
            digits(&hm),
            number(t.day()),
            MONTHS_KM[i],
            number(t.year())
        ),
        format!("{hm}, {} {} {}", t.day(), MONTHS_EN[i], t.year()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_and_months_are_written_in_khmer_with_english_beside() {
        assert_eq!(digits("2025-12, 10 people"), "២០២៥-១២, ១០ people");
        let period = Period::parse("2025-12").expect("a month");
        assert_eq!(
            month(period),
            ("ខែធ្នូ ឆ្នាំ២០២៥".to_owned(), "December 2025".to_owned())
        );
    }

    /// 20:30 UTC on 1 January is 03:30 on 2 January in Cambodia.
    #[test]
    fn times_are_cambodias() {
        let at = DateTime::parse_from_rfc3339("2026-01-01T20:30:00Z")
            .expect("time")
            .to_utc();
        let (km, en) = time(at);
        assert_eq!(en, "03:30, 2 January 2026");
        assert_eq!(km, "ម៉ោង ០៣:៣០ ថ្ងៃទី២ ខែមករា ឆ្នាំ២០២៦");
    }
}
