//! The HTTP client every adapter reads its ministry through.

use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use bytes::{Bytes, BytesMut};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_LENGTH, RETRY_AFTER};
use schema::Ministry;
use serde::de::DeserializeOwned;

use crate::CircuitBreaker;

/// How a ministry's system is to be reached.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub connect_timeout: Duration,
    /// The whole of one request, body included (streamed exports use `read_timeout`).
    pub timeout: Duration,
    /// The longest wait for the next bytes of a streamed body.
    pub read_timeout: Duration,
    /// Attempts per request, the first included.
    pub max_attempts: usize,
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    /// Largest body accepted for one page.
    pub max_body_bytes: usize,
    pub breaker_threshold: u32,
    pub breaker_cooldown: Duration,
    pub credentials: Credentials,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(30),
            max_attempts: 5,
            min_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            max_body_bytes: 64 * 1024 * 1024,
            breaker_threshold: 5,
            breaker_cooldown: Duration::from_secs(30),
            credentials: Credentials::None,
        }
    }
}

/// The credentials a ministry's system asks for.
#[derive(Clone, Default)]
pub enum Credentials {
    #[default]
    None,
    Bearer(String),
    Basic {
        user: String,
        password: String,
    },
}

impl Credentials {
    /// The credentials a source's settings give: a bearer `token` when there is one,
    /// else `user` and `password` (basic) when there is a user, else none.
    pub fn chosen(token: &str, user: &str, password: &str) -> Self {
        if !token.is_empty() {
            Self::Bearer(token.to_owned())
        } else if !user.is_empty() {
            Self::Basic {
                user: user.to_owned(),
                password: password.to_owned(),
            }
        } else {
            Self::None
        }
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets never reach logs.
        match self {
            Self::None => f.write_str("None"),
            Self::Bearer(_) => f.write_str("Bearer(***)"),
            Self::Basic { user, .. } => write!(f, "Basic({user}, ***)"),
        }
    }
}

/// Why a request to a ministry failed, after its retries.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{ministry}: {url}: timed out")]
    Timeout { ministry: Ministry, url: String },
    #[error("{ministry}: {url}: cannot connect: {cause}")]
    Connect {
        ministry: Ministry,
        url: String,
        cause: String,
    },
    #[error("{ministry}: {url}: answered {status}")]
    Status {
        ministry: Ministry,
        url: String,
        status: u16,
        retry_after: Option<Duration>,
    },
    #[error("{ministry}: {url}: body broken off: {cause}")]
    Body {
        ministry: Ministry,
        url: String,
        cause: String,
    },
    #[error("{ministry}: {url}: body larger than {limit} bytes")]
    TooLarge {
        ministry: Ministry,
        url: String,
        limit: usize,
    },
    #[error("{ministry}: {url}: unreadable page: {cause}")]
    Decode {
        ministry: Ministry,
        url: String,
        cause: String,
    },
    #[error("{ministry}: circuit open after repeated failures; not calling {url}")]
    CircuitOpen { ministry: Ministry, url: String },
    #[error("{ministry}: {url}: served the previous page again, {attempts} times")]
    RepeatedPage {
        ministry: Ministry,
        url: String,
        attempts: u32,
    },
    #[error("{ministry}: bad configuration: {0}", ministry = .1)]
    Config(String, Ministry),
}

impl ClientError {
    /// Timeouts, connection failures, broken bodies, 429 and 5xx are worth another
    /// try; any other 4xx, a decode failure or an open circuit is not.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Timeout { .. } | Self::Connect { .. } | Self::Body { .. } => true,
            Self::Status { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }

    /// Counts against the ministry's circuit: the system failed, not the request.
    fn is_system_failure(&self) -> bool {
        self.is_retryable()
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// A client for one ministry's system.
#[derive(Debug)]
pub struct MinistryClient {
    ministry: Ministry,
    http: reqwest::Client,
    config: ClientConfig,
    breaker: CircuitBreaker,
}

impl MinistryClient {
    pub fn new(ministry: Ministry, config: ClientConfig) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .user_agent(concat!("interop-gateway/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Config(e.to_string(), ministry))?;
        let breaker = CircuitBreaker::new(config.breaker_threshold, config.breaker_cooldown);
        Ok(Self {
            ministry,
            http,
            config,
            breaker,
        })
    }

    pub fn ministry(&self) -> Ministry {
        self.ministry
    }

    pub fn breaker(&self) -> &CircuitBreaker {
        &self.breaker
    }

    /// GETs a page and decodes it as JSON, retrying what is worth retrying.
    pub async fn get_json<T: DeserializeOwned>(&self, url: &str) -> Result<T, ClientError> {
        let body = self.get_bytes(url).await?;
        serde_json::from_slice(&body).map_err(|e| ClientError::Decode {
            ministry: self.ministry,
            url: url.to_owned(),
            cause: e.to_string(),
        })
    }

    /// GETs a page of a paged feed, as [`Self::get_json`], and checks it is not the
    /// page before served again: a page whose first record id equals `guard` (the
    /// first id of the previous page) is fetched again, a few times, before giving up.
    pub async fn get_json_page<T: DeserializeOwned>(
        &self,
        url: &str,
        guard: Option<&str>,
        first_id: impl Fn(&T) -> Option<String>,
    ) -> Result<T, ClientError> {
        const ATTEMPTS: u32 = 4;
        for attempt in 1..=ATTEMPTS {
            let page: T = self.get_json(url).await?;
            match (guard, first_id(&page)) {
                (Some(g), Some(first)) if g == first => {
                    tracing::warn!(ministry = %self.ministry, url, attempt, "page served twice; fetching it again");
                    tokio::time::sleep(self.config.min_backoff * attempt).await;
                }
                _ => return Ok(page),
            }
        }
        Err(ClientError::RepeatedPage {
            ministry: self.ministry,
            url: url.to_owned(),
            attempts: ATTEMPTS,
        })
    }

    /// GETs a whole body (at most `max_body_bytes`), retrying what is worth retrying.
    pub async fn get_bytes(&self, url: &str) -> Result<Bytes, ClientError> {
        self.with_retries(url, || async {
            let response = self.send(url, Some(self.config.timeout)).await?;
            self.read_limited(url, response).await
        })
        .await
    }

    /// GETs a response whose body the caller streams (a large export). Retries until
    /// the headers arrive; the body's own failures are the caller's to handle.
    pub async fn get_stream(&self, url: &str) -> Result<reqwest::Response, ClientError> {
        self.with_retries(url, || self.send(url, None)).await
    }

    async fn with_retries<T, F, Fut>(&self, url: &str, attempt: F) -> Result<T, ClientError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, ClientError>>,
    {
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.config.min_backoff)
            .with_max_delay(self.config.max_backoff)
            .with_max_times(self.config.max_attempts.saturating_sub(1))
            .with_jitter();
        let mut attempt = attempt;
        (|| {
            let fut = attempt();
            async move {
                if !self.breaker.allow() {
                    return Err(ClientError::CircuitOpen {
                        ministry: self.ministry,
                        url: url.to_owned(),
                    });
                }
                let result = fut.await;
                match &result {
                    Ok(_) => self.breaker.record_success(),
                    Err(e) if e.is_system_failure() => self.breaker.record_failure(),
                    Err(_) => {}
                }
                result
            }
        })
        .retry(backoff)
        .when(ClientError::is_retryable)
        // A 429 or 503 that says when to come back is believed, within reason.
        .adjust(|e, planned| match e.retry_after() {
            Some(wait) => Some(wait.min(self.config.max_backoff)),
            None => planned,
        })
        .notify(|e, wait| tracing::warn!(error = %e, ?wait, "retrying"))
        .await
    }

    async fn send(
        &self,
        url: &str,
        timeout: Option<Duration>,
    ) -> Result<reqwest::Response, ClientError> {
        let mut request = self.http.get(url);
        if let Some(t) = timeout {
            request = request.timeout(t);
        }
        request = match &self.config.credentials {
            Credentials::None => request,
            Credentials::Bearer(token) => request.bearer_auth(token),
            Credentials::Basic { user, password } => request.basic_auth(user, Some(password)),
        };
        let response = request
            .send()
            .await
            .map_err(|e| self.transport_error(url, &e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        Err(ClientError::Status {
            ministry: self.ministry,
            url: url.to_owned(),
            status: status.as_u16(),
            retry_after,
        })
    }

    async fn read_limited(
        &self,
        url: &str,
        mut response: reqwest::Response,
    ) -> Result<Bytes, ClientError> {
        let limit = self.config.max_body_bytes;
        let too_large = || ClientError::TooLarge {
            ministry: self.ministry,
            url: url.to_owned(),
            limit,
        };
        let declared = response
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > limit) {
            return Err(too_large());
        }
        let mut body = BytesMut::with_capacity(declared.unwrap_or(64 * 1024));
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.transport_error(url, &e))?
        {
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    }

    fn transport_error(&self, url: &str, e: &reqwest::Error) -> ClientError {
        let (ministry, url) = (self.ministry, url.to_owned());
        if e.is_timeout() {
            ClientError::Timeout { ministry, url }
        } else if e.is_connect() {
            ClientError::Connect {
                ministry,
                url,
                cause: root_cause(e),
            }
        } else if e.is_status() && e.status() == Some(StatusCode::TOO_MANY_REQUESTS) {
            ClientError::Status {
                ministry,
                url,
                status: 429,
                retry_after: None,
            }
        } else {
            ClientError::Body {
                ministry,
                url,
                cause: root_cause(e),
            }
        }
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        cause = format!("{cause}: {s}");
        source = s.source();
    }
    cause
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_the_token_else_the_user_else_none() {
        assert!(matches!(
            Credentials::chosen("t", "u", "p"),
            Credentials::Bearer(t) if t == "t"
        ));
        assert!(matches!(
            Credentials::chosen("", "u", "p"),
            Credentials::Basic { user, password } if user == "u" && password == "p"
        ));
        assert!(matches!(
            Credentials::chosen("", "", "p"),
            Credentials::None
        ));
    }

    #[test]
    fn credentials_never_print_their_secret() {
        let shown = format!(
            "{:?} {:?}",
            Credentials::chosen("the-token", "", ""),
            Credentials::chosen("", "gw", "the-password")
        );
        assert_eq!(shown, "Bearer(***) Basic(gw, ***)");
    }
}
