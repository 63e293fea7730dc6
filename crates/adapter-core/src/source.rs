//! A source as a value: any [`Adapter`], behind one object-safe handle.
//!
//! [`Adapter`] is generic over its error and returns `impl Future`, so a sync that
//! held adapters directly needed a field (and a `match` arm) per ministry. [`Source`]
//! is the same four questions with the future boxed and the error boxed (still the
//! adapter's own error, downcastable, never flattened to text); every adapter is one
//! through the blanket implementation, so a sync holds `Arc<dyn Source>` keyed by
//! ministry. [`SourceSettings`] is what each adapter crate's typed settings implement,
//! so a registry can be built from settings without knowing any adapter.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use schema::Ministry;

use crate::{Adapter, ClientConfig, Credentials, Cursor, Feed, Page};

/// A source's own error, boxed: the adapter's error type, which
/// [`std::error::Error::downcast_ref`] recovers.
pub type SourceError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A boxed future a [`Source`] answers with.
pub type SourceFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One ministry's system, read as feeds of pages: [`Adapter`], object-safe. See
/// [`Adapter`] for what each method means.
pub trait Source: Send + Sync {
    fn ministry(&self) -> Ministry;

    /// The feeds this system provides, in the order a sync should pull them.
    fn feeds(&self) -> Vec<Feed>;

    /// Whether a feed, once pulled to the end, never changes.
    fn settled_once_pulled(&self, feed: &Feed) -> bool;

    /// Whether `error` (one this source returned) says the feed is not published yet.
    fn not_published(&self, error: &SourceError) -> bool;

    /// The page of `feed` at `cursor`.
    fn fetch_page<'a>(
        &'a self,
        feed: &'a Feed,
        cursor: &'a Cursor,
    ) -> SourceFuture<'a, Result<Page, SourceError>>;
}

impl<A> Source for A
where
    A: Adapter,
{
    fn ministry(&self) -> Ministry {
        Adapter::ministry(self)
    }

    fn feeds(&self) -> Vec<Feed> {
        Adapter::feeds(self)
    }

    fn settled_once_pulled(&self, feed: &Feed) -> bool {
        Adapter::settled_once_pulled(self, feed)
    }

    fn not_published(&self, error: &SourceError) -> bool {
        error
            .downcast_ref::<A::Error>()
            .is_some_and(|e| Adapter::not_published(self, e))
    }

    fn fetch_page<'a>(
        &'a self,
        feed: &'a Feed,
        cursor: &'a Cursor,
    ) -> SourceFuture<'a, Result<Page, SourceError>> {
        Box::pin(async move {
            Adapter::fetch_page(self, feed, cursor)
                .await
                .map_err(SourceError::from)
        })
    }
}

impl std::fmt::Debug for dyn Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Source({})", self.ministry())
    }
}

/// Where a ministry's system is and how to sign in to it: what every source's
/// settings start from. An empty `base_url` leaves the source out.
#[derive(Debug, Clone, Default)]
pub struct Endpoint {
    pub base_url: String,
    pub credentials: Credentials,
}

impl Endpoint {
    pub fn new(base_url: impl Into<String>, credentials: Credentials) -> Self {
        Self {
            base_url: base_url.into(),
            credentials,
        }
    }

    /// The base URL, or none when the source is not configured.
    pub fn base_url(&self) -> Option<&str> {
        Some(self.base_url.as_str()).filter(|u| !u.trim().is_empty())
    }

    /// The client settings for this system: the defaults, with its credentials.
    pub fn client_config(&self) -> ClientConfig {
        ClientConfig {
            credentials: self.credentials.clone(),
            ..ClientConfig::default()
        }
    }
}

/// One source's typed settings, as its adapter crate defines them (an [`Endpoint`] and
/// whatever else only that source reads).
pub trait SourceSettings {
    /// The ministry whose system these settings describe.
    fn ministry(&self) -> Ministry;

    fn endpoint(&self) -> &Endpoint;

    /// The source these settings describe; called only when it is configured.
    fn build(&self) -> Result<Arc<dyn Source>, SourceError>;
}

/// The source `settings` describe, or none when it has no base URL.
pub fn configured_source(
    settings: &dyn SourceSettings,
) -> Result<Option<Arc<dyn Source>>, SourceError> {
    if settings.endpoint().base_url().is_none() {
        return Ok(None);
    }
    settings.build().map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Position;

    /// An adapter with one feed whose pages say "not published" for a `Payroll` feed
    /// and fail otherwise, and whose base URL must start with `http`.
    #[derive(Debug)]
    struct Stub;

    #[derive(Debug, thiserror::Error)]
    enum StubError {
        #[error("not published yet")]
        NotPublished,
        #[error("broken")]
        Broken,
    }

    impl Adapter for Stub {
        type Error = StubError;

        fn ministry(&self) -> Ministry {
            Ministry::Mef
        }

        fn feeds(&self) -> Vec<Feed> {
            vec![Feed::Officers]
        }

        fn settled_once_pulled(&self, feed: &Feed) -> bool {
            matches!(feed, Feed::Officers)
        }

        fn not_published(&self, error: &StubError) -> bool {
            matches!(error, StubError::NotPublished)
        }

        async fn fetch_page(&self, feed: &Feed, cursor: &Cursor) -> Result<Page, StubError> {
            match (feed, &cursor.position) {
                (Feed::Officers, Position::Start) => Ok(Page {
                    items: Vec::new(),
                    rejections: Vec::new(),
                    next: cursor.advanced(Position::Done, [], None),
                    fetched_at: chrono::Utc::now(),
                }),
                (Feed::Officers, _) => Err(StubError::NotPublished),
                _ => Err(StubError::Broken),
            }
        }
    }

    struct StubSettings(Endpoint);

    impl SourceSettings for StubSettings {
        fn ministry(&self) -> Ministry {
            Ministry::Mef
        }

        fn endpoint(&self) -> &Endpoint {
            &self.0
        }

        fn build(&self) -> Result<Arc<dyn Source>, SourceError> {
            if !self.0.base_url.starts_with("http") {
                return Err(format!("{:?} is not a URL", self.0.base_url).into());
            }
            Ok(Arc::new(Stub))
        }
    }

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(f)
    }

    #[test]
    fn an_adapter_is_a_source_answering_the_same() {
        let source: Arc<dyn Source> = Arc::new(Stub);
        assert_eq!(source.ministry(), Ministry::Mef);
        assert_eq!(source.feeds(), [Feed::Officers]);
        assert!(source.settled_once_pulled(&Feed::Officers));
        assert!(!source.settled_once_pulled(&Feed::Facilities));
        let page = block_on(source.fetch_page(&Feed::Officers, &Cursor::full())).expect("page");
        assert!(page.next.is_done());
        assert_eq!(format!("{source:?}"), "Source(mef)");
    }

    #[test]
    fn a_source_error_stays_the_adapters_own() {
        let source: Arc<dyn Source> = Arc::new(Stub);
        let resumed = Cursor::full().advanced(Position::Page(2), [], None);
        let later = block_on(source.fetch_page(&Feed::Officers, &resumed)).expect_err("later");
        assert!(matches!(
            later.downcast_ref::<StubError>(),
            Some(StubError::NotPublished)
        ));
        assert!(source.not_published(&later));
        let broken =
            block_on(source.fetch_page(&Feed::Facilities, &Cursor::full())).expect_err("broken");
        assert_eq!(broken.to_string(), "broken");
        assert!(!source.not_published(&broken));
        // Another type's error is never taken for this source's "not published".
        let foreign: SourceError = "not published yet".into();
        assert!(!source.not_published(&foreign));
    }

    #[test]
    fn a_source_without_a_base_url_is_absent() {
        for blank in ["", "  "] {
            let settings = StubSettings(Endpoint::new(blank, Credentials::None));
            assert!(settings.endpoint().base_url().is_none());
            assert!(configured_source(&settings).expect("no error").is_none());
        }
        let settings = StubSettings(Endpoint::new("http://mef.example", Credentials::None));
        let source = configured_source(&settings)
            .expect("built")
            .expect("configured");
        assert_eq!(source.ministry(), Ministry::Mef);
    }

    #[test]
    fn a_source_that_cannot_be_built_says_why() {
        let settings = StubSettings(Endpoint::new("ftp://mef.example", Credentials::None));
        let err = configured_source(&settings).expect_err("not a URL");
        assert!(err.to_string().contains("ftp://mef.example"), "{err}");
    }

    #[test]
    fn an_endpoint_hands_its_credentials_to_the_client() {
        let endpoint = Endpoint::new("http://x", Credentials::Bearer("t0ken".to_owned()));
        let config = endpoint.client_config();
        assert!(matches!(config.credentials, Credentials::Bearer(ref t) if t == "t0ken"));
        assert_eq!(
            config.max_attempts,
            ClientConfig::default().max_attempts,
            "the rest is the defaults"
        );
    }
}
