//! The sources a sync reads, keyed by ministry, and the typed settings they are built
//! from.
//!
//! A source is a value ([`adapter_core::Source`]): the engine holds one registry of
//! them and knows no adapter by name. Each adapter crate defines its own settings type
//! (re-exported here, so a caller configures sources through `sync` alone), and
//! [`Sources::from_settings`] builds the configured ones. A new source is its crate,
//! its settings in the caller's list, and its place in [`crate::ORDER`].

use std::collections::BTreeMap;
use std::sync::Arc;

pub use adapter_core::{
    Clock, Credentials, Endpoint, Source, SourceError, SourceSettings, configured_source,
};
pub use adapter_mcs::McsSettings;
pub use adapter_mef::MefSettings;
pub use adapter_moeys::MoeysSettings;
pub use adapter_moh::MohSettings;
pub use adapter_moi::MoiSettings;
use schema::Ministry;

/// A source whose settings could not be made into one (a malformed base URL, a payroll
/// month that is not one).
#[derive(Debug, thiserror::Error)]
#[error("{ministry}: {error}")]
pub struct SourceSettingsError {
    pub ministry: Ministry,
    #[source]
    pub error: SourceError,
}

/// The configured sources, one per ministry.
#[derive(Debug, Clone, Default)]
pub struct Sources(BTreeMap<Ministry, Arc<dyn Source>>);

impl Sources {
    /// No source.
    pub fn new() -> Self {
        Self::default()
    }

    /// A source for each of `settings` that has a base URL; the others are left out.
    pub fn from_settings<'a>(
        settings: impl IntoIterator<Item = &'a dyn SourceSettings>,
    ) -> Result<Self, SourceSettingsError> {
        let mut sources = Self::new();
        for s in settings {
            let built = configured_source(s).map_err(|error| SourceSettingsError {
                ministry: s.ministry(),
                error,
            })?;
            if let Some(source) = built {
                sources.insert(source);
            }
        }
        Ok(sources)
    }

    /// These sources and `source` (in place of any of its ministry).
    #[must_use]
    pub fn with(mut self, source: impl Source + 'static) -> Self {
        self.insert(Arc::new(source));
        self
    }

    /// Adds `source`, in place of any other of its ministry.
    pub fn insert(&mut self, source: Arc<dyn Source>) {
        self.0.insert(source.ministry(), source);
    }

    /// `ministry`'s source, if it is configured.
    pub fn get(&self, ministry: Ministry) -> Option<&Arc<dyn Source>> {
        self.0.get(&ministry)
    }

    pub fn contains(&self, ministry: Ministry) -> bool {
        self.0.contains_key(&ministry)
    }

    /// The ministries with a source.
    pub fn ministries(&self) -> impl Iterator<Item = Ministry> + '_ {
        self.0.keys().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use adapter_core::Feed;

    fn endpoint(url: &str) -> Endpoint {
        Endpoint::new(url, Credentials::None)
    }

    fn settings(
        moi: &str,
        moh: &str,
        mef: &str,
        periods: &[&str],
    ) -> (MoiSettings, MohSettings, MefSettings) {
        let clock = Clock::Fixed(
            chrono::DateTime::parse_from_rfc3339("2027-12-02T05:00:00Z")
                .expect("time")
                .to_utc(),
        );
        (
            MoiSettings {
                endpoint: endpoint(moi),
            },
            MohSettings {
                endpoint: endpoint(moh),
                fhir_base_url: None,
            },
            MefSettings {
                endpoint: endpoint(mef),
                periods: periods.iter().map(|p| (*p).to_owned()).collect(),
                clock,
            },
        )
    }

    #[test]
    fn only_the_sources_with_a_base_url_are_built() {
        let (moi, moh, mef) = settings("http://moi.example", "", "http://mef.example", &[]);
        let sources = Sources::from_settings([
            &moi as &dyn SourceSettings,
            &moh as &dyn SourceSettings,
            &mef as &dyn SourceSettings,
        ])
        .expect("sources");
        assert_eq!(
            sources.ministries().collect::<Vec<_>>(),
            [Ministry::Moi, Ministry::Mef]
        );
        assert!(!sources.contains(Ministry::Moh));
        assert!(sources.get(Ministry::Moh).is_none());
        assert_eq!(
            sources.get(Ministry::Moi).map(|s| s.ministry()),
            Some(Ministry::Moi)
        );
    }

    #[test]
    fn without_periods_the_payroll_is_last_month_by_the_clock() {
        let (_, _, mef) = settings("", "", "http://mef.example", &[]);
        let sources = Sources::from_settings([&mef as &dyn SourceSettings]).expect("sources");
        let last = schema::Period::parse("2027-11").expect("period");
        let source = sources.get(Ministry::Mef).expect("mef");
        assert_eq!(source.feeds(), [Feed::Payroll(last)]);
        let (_, _, listed) = settings("", "", "http://mef.example", &["2025-06", "2025-07"]);
        let sources = Sources::from_settings([&listed as &dyn SourceSettings]).expect("sources");
        assert_eq!(sources.get(Ministry::Mef).expect("mef").feeds().len(), 2);
    }

    #[test]
    fn a_source_that_cannot_be_built_is_named() {
        let (_, _, mef) = settings("", "", "http://mef.example", &["2025-13"]);
        let err = Sources::from_settings([&mef as &dyn SourceSettings]).expect_err("bad month");
        assert_eq!(err.ministry, Ministry::Mef);
        assert!(err.to_string().starts_with("mef: "), "{err}");
        // A month nobody reads (the payroll left out) is not refused.
        let (_, _, unread) = settings("", "", "", &["2025-13"]);
        let none = Sources::from_settings([&unread as &dyn SourceSettings]).expect("left out");
        assert_eq!(none.ministries().count(), 0);
        let (moi, _, _) = settings("not a url", "", "", &[]);
        let err = Sources::from_settings([&moi as &dyn SourceSettings]).expect_err("bad url");
        assert!(err.to_string().starts_with("moi: "), "{err}");
    }

    #[test]
    fn a_later_source_of_a_ministry_replaces_the_earlier() {
        let (moi, _, _) = settings("http://one.example", "", "", &[]);
        let mut sources = Sources::from_settings([&moi as &dyn SourceSettings]).expect("sources");
        let (again, _, _) = settings("http://two.example", "", "", &[]);
        sources.insert(
            configured_source(&again)
                .expect("built")
                .expect("configured"),
        );
        assert_eq!(sources.ministries().count(), 1);
    }
}
