//! Reading single cells: blank or not, times, coordinates, and the problems of a row.

use adapter_core::{Fetched, Rejection};
use chrono::{DateTime, NaiveTime, TimeDelta, Utc};
use schema::{Date, IdentifierSystem, Ministry, ParseError, SourceIdentifier, text};

use crate::export::Row;

/// Whether a cell says nothing: empty, spaces, or only zero-width characters.
pub(crate) fn is_blank(cell: &str) -> bool {
    text::match_key(cell).is_empty()
}

/// A cell as text ready for reading numbers: Khmer digits as ASCII digits, zero-width
/// characters dropped, trimmed.
pub(crate) fn for_reading(cell: &str) -> String {
    text::khmer_digits_to_ascii(cell)
        .chars()
        .filter(|c| !matches!(c, '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{FEFF}'))
        .collect::<String>()
        .trim()
        .to_owned()
}

/// A required id column: blank is a problem; Khmer digits are read as digits.
pub(crate) fn identifier(
    row: &Row,
    column: &str,
    system: IdentifierSystem,
) -> Result<SourceIdentifier, ParseError> {
    let cell = row.cell(column);
    if is_blank(cell) {
        return Err(ParseError::new(column, "is empty"));
    }
    SourceIdentifier::parse_of(system, cell).map_err(|e| e.in_field(column))
}

/// Offset of Cambodia's clock from UTC (UTC+07:00 all year round).
const CAMBODIA_OFFSET_HOURS: i64 = 7;

/// A change time: RFC 3339 (`2024-01-23T10:15:00+07:00`, `Z`, a space for the `T`), or
/// a bare date in any form [`Date`] reads (`23/01/2024`), taken as the start of that day
/// in Cambodia: the earliest instant it can mean, so a high-water mark built from it
/// never passes a change. Khmer digits are read as digits.
pub(crate) fn timestamp(cell: &str, column: &str) -> Result<DateTime<Utc>, ParseError> {
    let s = for_reading(cell);
    let rfc3339 = DateTime::parse_from_rfc3339(&s).or_else(|e| {
        if s.len() > 10 && s.as_bytes().get(10) == Some(&b' ') {
            DateTime::parse_from_rfc3339(&format!("{}T{}", &s[..10], &s[11..]))
        } else {
            Err(e)
        }
    });
    if let Ok(t) = rfc3339 {
        return Ok(t.with_timezone(&Utc));
    }
    match Date::parse(&s) {
        Ok(date) => {
            let local_midnight = date.naive().and_time(NaiveTime::MIN);
            Ok((local_midnight - TimeDelta::hours(CAMBODIA_OFFSET_HOURS)).and_utc())
        }
        Err(_) => Err(ParseError::new(
            column,
            "is not a time (expected RFC 3339, e.g. 2024-01-23T10:15:00+07:00, or a date DD/MM/YYYY)",
        )
        .with_value(cell)),
    }
}

/// A decimal degree: Khmer digits read as digits; a lone comma taken as the decimal point.
pub(crate) fn degrees(cell: &str, column: &str) -> Result<f64, ParseError> {
    let mut s = for_reading(cell);
    if !s.contains('.') && s.matches(',').count() == 1 {
        s = s.replace(',', ".");
    }
    let number = s
        .parse::<f64>()
        .map_err(|_| ParseError::new(column, "is not a number").with_value(cell))?;
    if !number.is_finite() {
        return Err(ParseError::new(column, "is not a number").with_value(cell));
    }
    Ok(number)
}

/// The problems found in one row; the row is rejected when there is any.
#[derive(Debug, Default)]
pub(crate) struct Problems(Vec<ParseError>);

impl Problems {
    /// The value, or none with the error noted.
    pub(crate) fn take<T>(&mut self, result: Result<T, ParseError>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn into_vec(self) -> Vec<ParseError> {
        if self.0.is_empty() {
            vec![ParseError::new("row", "is unreadable")]
        } else {
            self.0
        }
    }
}

/// The row rejected for `problems`, with its id when it has a readable one.
pub(crate) fn rejection(row: &Row, problems: Vec<ParseError>) -> Rejection {
    let export = row.header.export();
    let source_id = row
        .get(export.id_column())
        .filter(|c| !is_blank(c))
        .and_then(|c| SourceIdentifier::parse("id", c).ok())
        .map(|id| id.value);
    Rejection::new(Ministry::Moeys, export.feed(), row.raw(), problems).with_source_id(source_id)
}

/// The checks every row passes before its cells are read: as many fields as the header
/// has columns, all UTF-8, no NUL character anywhere (PostgreSQL stores none).
pub(crate) fn check_shape(row: &Row) -> Result<(), Rejection> {
    let (got, want) = (row.cells.len(), row.header.len());
    if got != want {
        let problem = ParseError::new(
            "row",
            format!("has {got} fields; the header has {want} columns"),
        );
        return Err(rejection(row, vec![problem]));
    }
    if row.not_utf8 {
        return Err(rejection(
            row,
            vec![ParseError::new("row", "is not valid UTF-8")],
        ));
    }
    if (row.header.has_nul() || row.cells.iter().any(|c| c.contains('\0')))
        && let Some(problem) = adapter_core::find_nul(&row.raw())
    {
        return Err(rejection(row, vec![problem]));
    }
    Ok(())
}

/// A row either normalised or rejected.
pub(crate) type Outcome = Result<Fetched, Rejection>;
