//! Khmer digits and the date forms Cambodian ministries write.

use chrono::{Datelike, NaiveDate};

const MONTHS: [&str; 12] = [
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

/// ASCII digits written as Khmer digits (០-៩); other characters unchanged.
pub(crate) fn digits(input: &str) -> String {
    input
        .chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(0x17E0 + (c as u32 - '0' as u32)).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// The ways a birth date is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DateForm {
    /// `1985-03-07`
    Iso,
    /// `07/03/1985`
    DayMonthYear,
    /// `០៧-០៣-១៩៨៥`
    KhmerDigits,
    /// `ថ្ងៃទី៧ ខែមីនា ឆ្នាំ១៩៨៥`
    KhmerLong,
}

impl DateForm {
    pub(crate) const ALL: [Self; 4] = [
        Self::Iso,
        Self::DayMonthYear,
        Self::KhmerDigits,
        Self::KhmerLong,
    ];

    pub(crate) fn write(self, date: NaiveDate) -> String {
        match self {
            Self::Iso => date.format("%Y-%m-%d").to_string(),
            Self::DayMonthYear => date.format("%d/%m/%Y").to_string(),
            Self::KhmerDigits => digits(&date.format("%d-%m-%Y").to_string()),
            Self::KhmerLong => format!(
                "ថ្ងៃទី{} ខែ{} ឆ្នាំ{}",
                digits(&date.day().to_string()),
                MONTHS[date.month0() as usize],
                digits(&date.year().to_string())
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_every_form() {
        let d = NaiveDate::from_ymd_opt(2024, 1, 23).expect("valid date");
        assert_eq!(DateForm::Iso.write(d), "2024-01-23");
        assert_eq!(DateForm::DayMonthYear.write(d), "23/01/2024");
        assert_eq!(DateForm::KhmerDigits.write(d), "២៣-០១-២០២៤");
        assert_eq!(DateForm::KhmerLong.write(d), "ថ្ងៃទី២៣ ខែមករា ឆ្នាំ២០២៤");
    }
}
