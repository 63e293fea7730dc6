//! The ministries' adapters, built from the settings.

use adapter_core::{ClientConfig, Credentials};
use chrono::{Datelike, Utc};
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

/// The month before `today`'s: the payroll most recently closed.
fn last_month() -> Result<Period, Error> {
    let today = Utc::now().date_naive();
    let (y, m) = if today.month() == 1 {
        (today.year() - 1, 12)
    } else {
        (today.year(), today.month() - 1)
    };
    Period::parse(&format!("{y:04}-{m:02}")).map_err(|e| Error::Config(e.to_string()))
}

/// An adapter for every ministry with a base URL.
pub fn from_settings(s: &MinistriesSettings) -> Result<Sources, Error> {
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
        let periods = if s.mef.periods.is_empty() {
            vec![last_month()?]
        } else {
            s.mef
                .periods
                .iter()
                .map(|p| Period::parse(p).map_err(|e| source_error("mef", e)))
                .collect::<Result<_, _>>()?
        };
        sources.mef = Some(
            adapter_mef::MefAdapter::new(url, client_config(&s.mef), periods)
                .map_err(|e| source_error("mef", e))?,
        );
    }
    Ok(sources)
}
