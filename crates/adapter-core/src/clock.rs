//! What time it is, for the decisions that depend on it.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

/// The time a decision is made at (which payroll month was the last to close): the
/// system clock, or a fixed instant, so a run can be replayed or tried at another date.
/// Timestamps of what was fetched (`fetched_at`) always come from the system clock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Clock {
    #[default]
    System,
    Fixed(DateTime<Utc>),
}

impl Clock {
    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Self::System => Utc::now(),
            Self::Fixed(t) => *t,
        }
    }

    /// Today's date in Cambodia (UTC+7), where the ministries' months begin and end.
    pub fn cambodia_today(&self) -> NaiveDate {
        // Cambodia keeps UTC+7 all year (no daylight saving).
        (self.now() + TimeDelta::hours(7)).date_naive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_clock_tells_its_time_and_cambodias_date() {
        let t = DateTime::parse_from_rfc3339("2027-11-30T17:00:00Z")
            .expect("time")
            .with_timezone(&Utc);
        let clock = Clock::Fixed(t);
        assert_eq!(clock.now(), t);
        // 17:00 UTC is midnight in Phnom Penh: already the next day there.
        assert_eq!(clock.cambodia_today().to_string(), "2027-12-01");
        let system = Clock::System.now();
        assert!((Utc::now() - system).num_seconds().abs() < 60);
    }
}
