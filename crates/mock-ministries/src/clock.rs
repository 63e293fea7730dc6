//! Times as the ministries write and read them. Records carry whole seconds since
//! the Unix epoch (UTC); each ministry writes them in its own way.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// Seconds since the Unix epoch, UTC.
pub(crate) type Stamp = i64;

/// Generated records were last updated between these two times, in a world drawn for
/// [`DRAWN_FOR`]; a world for another period moves them along with it.
pub(crate) const GENERATED_FROM: Stamp = 1_640_995_200; // 2022-01-01T00:00:00Z
pub(crate) const GENERATED_UNTIL: Stamp = 1_751_241_600; // 2025-06-30T00:00:00Z

/// The current period every world is drawn for. A world as of another date is the
/// same world moved in time: its periods and update times shift by the months between
/// (birth, opening, closing and start dates are history and stay), so the seed alone
/// decides the records, and a world drawn for 2025-12 is the one served before worlds
/// followed the clock.
pub(crate) const DRAWN_FOR: Month = Month(2025 * 12 + 11);

/// A calendar month, counted in months from year 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Month(i32);

impl Month {
    pub(crate) fn of(date: NaiveDate) -> Self {
        Self(date.year() * 12 + date.month0() as i32)
    }

    #[must_use]
    pub(crate) fn plus(self, months: i32) -> Self {
        Self(self.0 + months)
    }

    /// The period's name, `YYYY-MM`.
    pub(crate) fn name(self) -> String {
        format!(
            "{:04}-{:02}",
            self.0.div_euclid(12),
            self.0.rem_euclid(12) + 1
        )
    }

    fn first_day(self) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(self.0.div_euclid(12), self.0.rem_euclid(12) as u32 + 1, 1)
    }

    /// Seconds from the start of `self` to the start of `later` (negative when
    /// `later` is earlier).
    pub(crate) fn seconds_until(self, later: Self) -> i64 {
        match (self.first_day(), later.first_day()) {
            (Some(a), Some(b)) => (b - a).num_seconds(),
            _ => 0,
        }
    }
}

/// The current period of a world as of `date`: the last full month before it.
pub(crate) fn current_period(as_of: NaiveDate) -> Month {
    Month::of(as_of).plus(-1)
}

/// Today's date in Cambodia, where the ministries' months begin and end.
pub(crate) fn cambodia_today() -> NaiveDate {
    Utc::now().with_timezone(&cambodia()).date_naive()
}

/// Cambodia's time zone, UTC+7 (no daylight saving).
fn cambodia() -> FixedOffset {
    FixedOffset::east_opt(7 * 3600).expect("UTC+7 is a valid offset")
}

fn utc(stamp: Stamp) -> DateTime<Utc> {
    DateTime::from_timestamp(stamp, 0).unwrap_or_default()
}

/// `2024-01-23T07:05:00Z` (MoI).
pub(crate) fn utc_z(stamp: Stamp) -> String {
    utc(stamp).format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `2024-01-23T14:05:00+07:00` (MCS, EMIS).
pub(crate) fn cambodia_offset(stamp: Stamp) -> String {
    utc(stamp)
        .with_timezone(&cambodia())
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

/// `2024-01-23T14:05:00.000+07:00` (FHIR `meta.lastUpdated`).
pub(crate) fn cambodia_offset_millis(stamp: Stamp) -> String {
    utc(stamp)
        .with_timezone(&cambodia())
        .format("%Y-%m-%dT%H:%M:%S%.3f%:z")
        .to_string()
}

/// `2024-01-23T14:05:00.000`: Cambodian local time without a zone (DHIS2).
pub(crate) fn cambodia_local_millis(stamp: Stamp) -> String {
    utc(stamp)
        .with_timezone(&cambodia())
        .format("%Y-%m-%dT%H:%M:%S%.3f")
        .to_string()
}

/// `1998-01-01T00:00:00.000` (DHIS2 `openingDate`, `closedDate`).
pub(crate) fn date_as_local_millis(date: NaiveDate) -> String {
    date.format("%Y-%m-%dT00:00:00.000").to_string()
}

/// A query's time with a zone (RFC 3339), as milliseconds since the epoch. A `+` a
/// client left unencoded arrives as a space: read it back as `+`.
pub(crate) fn parse_rfc3339_millis(input: &str) -> Option<i64> {
    let fixed = repair_plus(input.trim());
    DateTime::parse_from_rfc3339(&fixed)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// DHIS2's filter value: Cambodian local time without a zone (`2024-01-23T14:05:00.000`,
/// seconds and milliseconds optional, or a bare date), or, if a zone is given, that zone.
pub(crate) fn parse_cambodia_local_millis(input: &str) -> Option<i64> {
    let s = repair_plus(input.trim());
    if let Ok(t) = DateTime::parse_from_rfc3339(&s) {
        return Some(t.timestamp_millis());
    }
    let naive = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(&s, f).ok())
    .or_else(|| {
        NaiveDate::parse_from_str(&s, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
    })?;
    cambodia()
        .from_local_datetime(&naive)
        .single()
        .map(|t| t.timestamp_millis())
}

fn repair_plus(s: &str) -> String {
    // `2024-01-23T14:05:00 07:00`: the offset's sign became a space.
    match s.rfind(' ') {
        Some(i) if i >= 19 && s[i + 1..].len() == 5 && s.as_bytes()[i + 3] == b':' => {
            format!("{}+{}", &s[..i], &s[i + 1..])
        }
        _ => s.to_owned(),
    }
}

/// Now, in whole seconds.
pub(crate) fn now() -> Stamp {
    Utc::now().timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_reads_back() {
        let t = 1_706_018_700; // 2024-01-23T14:05:00Z
        assert_eq!(utc_z(t), "2024-01-23T14:05:00Z");
        assert_eq!(cambodia_offset(t), "2024-01-23T21:05:00+07:00");
        assert_eq!(cambodia_local_millis(t), "2024-01-23T21:05:00.000");
        assert_eq!(cambodia_offset_millis(t), "2024-01-23T21:05:00.000+07:00");
        assert_eq!(parse_rfc3339_millis(&cambodia_offset(t)), Some(t * 1000));
        assert_eq!(
            parse_rfc3339_millis("2024-01-23T21:05:00 07:00"),
            Some(t * 1000)
        );
        assert_eq!(
            parse_cambodia_local_millis(&cambodia_local_millis(t)),
            Some(t * 1000)
        );
        assert_eq!(
            parse_cambodia_local_millis("2024-01-23T21:05:00"),
            Some(t * 1000)
        );
        assert_eq!(parse_rfc3339_millis("yesterday"), None);
    }

    #[test]
    fn the_current_period_is_the_last_full_month() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("date");
        assert_eq!(current_period(day(2026, 1, 15)), DRAWN_FOR);
        assert_eq!(current_period(day(2026, 1, 1)).name(), "2025-12");
        assert_eq!(current_period(day(2026, 12, 31)).name(), "2026-11");
        assert_eq!(current_period(day(2027, 12, 2)).name(), "2027-11");
        assert_eq!(DRAWN_FOR.plus(-23).name(), "2024-01");
        assert_eq!(DRAWN_FOR.plus(13).name(), "2027-01");
        // 2025-12-01 to 2026-12-01: 365 days.
        assert_eq!(DRAWN_FOR.seconds_until(DRAWN_FOR.plus(12)), 365 * 86_400);
        assert_eq!(DRAWN_FOR.plus(12).seconds_until(DRAWN_FOR), -365 * 86_400);
    }
}
