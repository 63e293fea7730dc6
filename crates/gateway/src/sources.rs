//! The ministries' adapters, built from the settings.

use adapter_core::{ClientConfig, Clock, Credentials};
use adapter_mef::Periods;
use chrono::{DateTime, Utc};
use schema::Period;
use sync::Sources;

use crate::Error;
use crate::config::{MinistriesSettings, MinistrySettings};

fn client_config(m: &MinistrySettings) -> ClientConfig {
    let credentials = if m.token.is_set() {
        Credentials::Bearer(m.token.expose().to_owned())
    } else if !m.username.is_empty() {
        Credentials::Basic {
            user: m.username.clone(),
            password: m.password.expose().to_owned(),
        }
    } else {
        Credentials::None
    };
    ClientConfig {
        credentials,
        ..ClientConfig::default()
    }
}

fn configured(m: &MinistrySettings) -> Option<&str> {
    Some(m.base_url.as_str()).filter(|u| !u.is_empty())
}

fn source_error(ministry: &str, e: impl std::fmt::Display) -> Error {
    Error::Config(format!("ministries.{ministry}: {e}"))
}

/// The clock a sync decides by: `ministries.as_of` (a day, taken at noon in Cambodia,
/// or an RFC 3339 time), or the system's.
pub fn clock(s: &MinistriesSettings) -> Result<Clock, Error> {
    let as_of = s.as_of.trim();
    if as_of.is_empty() {
        return Ok(Clock::System);
    }
    let bad = || {
        Error::Config(format!(
            "ministries.as_of: {as_of:?} is not a day (YYYY-MM-DD) or an RFC 3339 time"
        ))
    };
    let time = match chrono::NaiveDate::parse_from_str(as_of, "%Y-%m-%d") {
        // 05:00 UTC is noon in Cambodia (UTC+7): the same day there and here.
        Ok(day) => day.and_hms_opt(5, 0, 0).ok_or_else(bad)?.and_utc(),
        Err(_) => DateTime::parse_from_rfc3339(as_of)
            .map_err(|_| bad())?
            .with_timezone(&Utc),
    };
    Ok(Clock::Fixed(time))
}

/// An adapter for every ministry with a base URL. Only the payroll's default month
/// depends on the date (`ministries.as_of`, else the clock).
pub fn from_settings(s: &MinistriesSettings) -> Result<Sources, Error> {
    let clock = clock(s)?;
    let mut sources = Sources::default();
    if let Some(url) = configured(&s.moi) {
        sources.moi = Some(
            adapter_moi::MoiAdapter::new(url, client_config(&s.moi))
                .map_err(|e| source_error("moi", e))?,
        );
    }
    if let Some(url) = configured(&s.mcs) {
        sources.mcs = Some(
            adapter_mcs::McsAdapter::new(url, client_config(&s.mcs))
                .map_err(|e| source_error("mcs", e))?,
        );
    }
    if let Some(url) = configured(&s.moh) {
        let fhir = Some(s.moh.fhir_base_url.as_str()).filter(|u| !u.is_empty());
        sources.moh = Some(
            adapter_moh::MohAdapter::new(url, fhir, client_config(&s.moh))
                .map_err(|e| source_error("moh", e))?,
        );
    }
    if let Some(url) = configured(&s.moeys) {
        sources.moeys = Some(
            adapter_moeys::MoeysAdapter::new(url, client_config(&s.moeys))
                .map_err(|e| source_error("moeys", e))?,
        );
    }
    if let Some(url) = configured(&s.mef) {
        // Without a list, the month is chosen at each sync: a server running for months
        // moves on with the calendar.
        let periods = if s.mef.periods.is_empty() {
            Periods::LastMonth(clock)
        } else {
            Periods::Listed(
                s.mef
                    .periods
                    .iter()
                    .map(|p| Period::parse(p).map_err(|e| source_error("mef", e)))
                    .collect::<Result<_, _>>()?,
            )
        };
        sources.mef = Some(
            adapter_mef::MefAdapter::new(url, client_config(&s.mef), periods)
                .map_err(|e| source_error("mef", e))?,
        );
    }
    Ok(sources)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ministries(as_of: &str) -> MinistriesSettings {
        let mut s = crate::config::Settings::defaults()
            .expect("defaults")
            .ministries;
        s.as_of = as_of.to_owned();
        s
    }

    #[test]
    fn as_of_sets_the_clock_a_sync_decides_by() {
        assert_eq!(clock(&ministries("")).ok(), Some(Clock::System));
        let day = clock(&ministries("2027-12-02")).expect("a day");
        assert_eq!(day.cambodia_today().to_string(), "2027-12-02");
        let time = clock(&ministries("2027-11-30T18:00:00Z")).expect("a time");
        assert_eq!(time.cambodia_today().to_string(), "2027-12-01");
        let err = clock(&ministries("next year")).expect_err("not a day");
        assert!(err.to_string().contains("ministries.as_of"), "{err}");
    }

    #[test]
    fn without_periods_the_payroll_is_last_month_by_the_clock() {
        use adapter_core::{Adapter, Feed};
        let mut s = ministries("2027-12-02");
        s.mef.base_url = "http://mef.example".to_owned();
        let sources = from_settings(&s).expect("sources");
        let mef = sources.mef.expect("mef");
        let last = Period::parse("2027-11").expect("period");
        assert_eq!(mef.feeds(), [Feed::Payroll(last)]);
        s.mef.periods = vec!["2025-06".to_owned(), "2025-07".to_owned()];
        let listed = from_settings(&s).expect("sources").mef.expect("mef");
        assert_eq!(listed.feeds().len(), 2);
    }
}
