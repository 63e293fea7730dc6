//! Typed settings, loaded once: the compiled-in `config/default.toml`, then an
//! optional file, then environment variables `GATEWAY__SECTION__KEY`, then
//! `DATABASE_URL`. This is the only code that reads the environment for settings.
//!
//! Secrets (the HS256 secret, the audit checkpoint key, ministry tokens and passwords,
//! the database URL's password) are [`Secret`]s or a [`DatabaseUrl`]: they never print
//! (`Debug`, `Display`, so neither logs nor error messages), and the value comes out
//! only through `expose`, where it is used.

use std::path::Path;

use serde::Deserialize;
use sync::sources::{
    Clock, Credentials, Endpoint, McsSettings, MefSettings, MoeysSettings, MohSettings,
    MoiSettings, SourceSettings, Sources,
};

use crate::Error;

const DEFAULTS: &str = include_str!("../../../config/default.toml");

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    pub audit: AuditSettings,
    pub log: LogSettings,
    pub ministries: MinistriesSettings,
    pub sync: SyncSettings,
    pub rate_limit: RateLimitSettings,
    pub push: PushSettings,
    pub app: AppSettings,
}

/// The app: the pages under `/app`, whose people sign in through an OpenID provider
/// (the REST API stays bearer-only).
#[derive(Debug, Clone, Deserialize)]
pub struct AppSettings {
    /// The provider's issuer URL (its discovery document is under it); empty: nobody
    /// can sign in, and the app says so.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Secret,
    /// Where people reach the gateway (scheme, host, port): the provider sends them
    /// back to `<public_url>/app/auth/callback`.
    pub public_url: String,
    /// Scopes asked of the provider (`openid` is always asked).
    pub scopes: Vec<String>,
    /// The ID token claim holding what the person may do: the API's scopes, as a
    /// space-separated string or a list.
    pub permissions_claim: String,
    /// The claim holding the gazetteer code of the area the person acts for.
    pub jurisdiction_claim: String,
    /// The claim holding the id of the facility a site head submits for.
    pub facility_claim: String,
    /// A session unused this long ends.
    pub idle_timeout_minutes: u64,
    /// A session ends this long after sign-in, however busy.
    pub absolute_timeout_hours: u64,
    /// Whether cookies carry `Secure` (browsers keep such cookies on http://localhost
    /// and http://127.0.0.1 too; turn off only behind nothing but plain HTTP).
    pub secure_cookies: bool,
    /// Whether sign-out also ends the person's session at the provider (its
    /// end-session endpoint, when it has one).
    pub provider_sign_out: bool,
    /// How long the provider's discovery document and keys are kept before they are
    /// fetched again.
    pub discovery_cache_seconds: u64,
}

impl AppSettings {
    /// Whether a provider is configured.
    pub fn sign_in_enabled(&self) -> bool {
        !self.issuer.trim().is_empty()
    }

    /// `public_url` without a trailing slash.
    pub fn public_base(&self) -> &str {
        self.public_url.trim_end_matches('/')
    }
}

/// Push: where subscriptions may deliver, and how the delivery worker tries.
#[derive(Debug, Clone, Deserialize)]
pub struct PushSettings {
    /// `host`, `*.domain` (HTTPS only) or `http://host` (plain HTTP too, for tests).
    pub allowed_hosts: Vec<String>,
    /// Tries in all before a delivery is a dead letter.
    pub max_attempts: u32,
    pub first_retry_ms: u64,
    pub retry_factor: f32,
    pub max_retry_ms: u64,
    pub attempt_timeout_ms: u64,
    pub poll_interval_ms: u64,
    pub batch_size: usize,
    pub keep_delivered_hours: u64,
}

impl PushSettings {
    pub fn destinations(&self) -> crate::push::Destinations {
        crate::push::Destinations::new(&self.allowed_hosts)
    }

    pub fn worker(&self) -> crate::delivery::Settings {
        use std::time::Duration;
        crate::delivery::Settings {
            destinations: self.destinations(),
            schedule: crate::push::RetrySchedule {
                attempts: self.max_attempts.max(1),
                first: Duration::from_millis(self.first_retry_ms),
                factor: self.retry_factor,
                max: Duration::from_millis(self.max_retry_ms),
            },
            attempt_timeout: Duration::from_millis(self.attempt_timeout_ms.max(1)),
            poll: Duration::from_millis(self.poll_interval_ms.max(1)),
            batch_size: self.batch_size.max(1),
            keep_delivered: Duration::from_secs(self.keep_delivered_hours * 3600),
        }
    }
}

/// Per-client request quotas, by class of request (see `rate_limit`).
#[derive(Debug, Clone, Deserialize)]
pub struct RateLimitSettings {
    pub enabled: bool,
    pub read: RateQuota,
    pub write: RateQuota,
    pub admin: RateQuota,
    pub anonymous: RateQuota,
}

/// A sustained rate and the burst allowed above it; a rate of 0 limits nothing.
#[derive(Debug, Clone, Deserialize)]
pub struct RateQuota {
    pub per_second: u32,
    pub burst: u32,
}

/// Where each ministry's system is, and how to sign in to it.
#[derive(Debug, Clone, Deserialize)]
pub struct MinistriesSettings {
    /// The day (YYYY-MM-DD, or an RFC 3339 time) a sync takes for today when it
    /// chooses what to read (the default payroll month); empty: the clock.
    #[serde(default)]
    pub as_of: String,
    pub moi: MinistrySettings,
    pub mcs: MinistrySettings,
    pub moh: MinistrySettings,
    pub moeys: MinistrySettings,
    pub mef: MinistrySettings,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MinistrySettings {
    pub base_url: String,
    #[serde(default)]
    pub fhir_base_url: String,
    pub token: Secret,
    pub username: String,
    pub password: Secret,
    #[serde(default)]
    pub periods: Vec<String>,
}

impl MinistriesSettings {
    /// The sources these settings configure: one per ministry with a base URL, each
    /// from its own typed settings (the file's format is the same for every ministry;
    /// each source reads the keys it has).
    pub fn sources(&self) -> Result<Sources, Error> {
        let clock = self.clock()?;
        let settings: [&dyn SourceSettings; 5] = [
            &MoiSettings {
                endpoint: self.moi.endpoint(),
            },
            &McsSettings {
                endpoint: self.mcs.endpoint(),
            },
            &MohSettings {
                endpoint: self.moh.endpoint(),
                fhir_base_url: Some(self.moh.fhir_base_url.clone()).filter(|u| !u.is_empty()),
            },
            &MoeysSettings {
                endpoint: self.moeys.endpoint(),
            },
            &MefSettings {
                endpoint: self.mef.endpoint(),
                periods: self.mef.periods.clone(),
                clock,
            },
        ];
        Ok(Sources::from_settings(settings)?)
    }

    /// The clock a sync decides by: `ministries.as_of` (a day, taken at noon in
    /// Cambodia, or an RFC 3339 time), or the system's.
    pub fn clock(&self) -> Result<Clock, Error> {
        let as_of = self.as_of.trim();
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
            Err(_) => chrono::DateTime::parse_from_rfc3339(as_of)
                .map_err(|_| bad())?
                .to_utc(),
        };
        Ok(Clock::Fixed(time))
    }

    /// Every ministry's settings (the demo points them all at its mock).
    pub fn each_mut(&mut self) -> [&mut MinistrySettings; 5] {
        [
            &mut self.moi,
            &mut self.mcs,
            &mut self.moh,
            &mut self.moeys,
            &mut self.mef,
        ]
    }
}

impl MinistrySettings {
    /// Where this system is and how to sign in: a bearer `token`, else `username` and
    /// `password`, else nothing.
    fn endpoint(&self) -> Endpoint {
        Endpoint::new(
            self.base_url.clone(),
            Credentials::chosen(self.token.expose(), &self.username, self.password.expose()),
        )
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct SyncSettings {
    pub interval_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    pub bind: String,
    pub workers: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    pub url: DatabaseUrl,
    pub name: String,
    pub pool_size: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuthSettings {
    pub issuer: String,
    pub audience: String,
    pub leeway_seconds: u64,
    pub hs256_secret: Secret,
    pub public_key_pem: String,
    pub public_key_file: String,
    pub public_key_algorithm: String,
    pub jwks_url: String,
    pub jwks_cache_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuditSettings {
    pub queue_capacity: usize,
    pub batch_size: usize,
    pub max_delay_ms: u64,
    /// Signs the chain's checkpoints (HMAC-SHA256); kept out of the database.
    pub checkpoint_key: Secret,
    /// How often the writer checkpoints a chain that grew (0: only at shutdown).
    pub checkpoint_interval_seconds: u64,
    /// Keys that signed checkpoints before the current one: `audit verify` still
    /// trusts what they signed; the writer never signs with them.
    #[serde(default)]
    pub retired_checkpoint_keys: Vec<Secret>,
}

impl AuditSettings {
    /// The checkpoint key, if one is set; an error if it is too short to be one.
    pub fn checkpoint_key(&self) -> Result<Option<store::CheckpointKey>, Error> {
        if !self.checkpoint_key.is_set() {
            return Ok(None);
        }
        store::CheckpointKey::hmac_sha256(self.checkpoint_key.expose().as_bytes())
            .map(Some)
            .map_err(|e| Error::Config(format!("audit.checkpoint_key: {e}")))
    }

    /// The keys `audit verify` checks checkpoints with: the current one, then the
    /// retired ones.
    pub fn checkpoint_keys(&self) -> Result<Vec<store::CheckpointKey>, Error> {
        let mut keys: Vec<store::CheckpointKey> = self.checkpoint_key()?.into_iter().collect();
        for (i, retired) in self.retired_checkpoint_keys.iter().enumerate() {
            keys.push(
                store::CheckpointKey::hmac_sha256(retired.expose().as_bytes()).map_err(|e| {
                    Error::Config(format!("audit.retired_checkpoint_keys[{i}]: {e}"))
                })?,
            );
        }
        Ok(keys)
    }

    /// How the audit writer anchors the chain: `None` without a key.
    pub fn checkpoints(&self) -> Result<Option<crate::audit::Checkpoints>, Error> {
        Ok(self.checkpoint_key()?.map(|key| crate::audit::Checkpoints {
            key,
            every: std::time::Duration::from_secs(self.checkpoint_interval_seconds),
        }))
    }

    pub fn batching(&self) -> crate::audit::Batching {
        crate::audit::Batching {
            capacity: self.queue_capacity,
            batch_size: self.batch_size,
            max_delay: std::time::Duration::from_millis(self.max_delay_ms),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    pub filter: String,
}

impl Settings {
    /// Loads the layered settings; `file` is an extra TOML file between the defaults and
    /// the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, Error> {
        let mut builder = config::Config::builder()
            .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml));
        if let Some(path) = file {
            builder = builder.add_source(config::File::from(path).required(true));
        }
        let database_url = std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty());
        builder
            .add_source(
                config::Environment::with_prefix("GATEWAY")
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true)
                    // Lists come comma-separated: GATEWAY__MINISTRIES__MEF__PERIODS=2025-11,2025-12
                    .list_separator(",")
                    .with_list_parse_key("ministries.mef.periods")
                    .with_list_parse_key("audit.retired_checkpoint_keys")
                    .with_list_parse_key("push.allowed_hosts")
                    .with_list_parse_key("app.scopes"),
            )
            .set_override_option("database.url", database_url)
            .and_then(|b| b.build())
            .and_then(config::Config::try_deserialize)
            .map_err(|e| Error::Config(e.to_string()))
    }

    /// The compiled-in defaults alone, ignoring the environment (tests build on this).
    pub fn defaults() -> Result<Self, Error> {
        config::Config::builder()
            .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml))
            .build()
            .and_then(config::Config::try_deserialize)
            .map_err(|e| Error::Config(e.to_string()))
    }
}

impl DatabaseSettings {
    pub fn database_name(&self) -> Option<&str> {
        Some(self.name.as_str()).filter(|n| !n.is_empty())
    }
}

/// A secret setting. `Debug` and `Display` never show it (only whether it is set),
/// and it does not serialise; [`Secret::expose`] hands the value to the code that uses it.
#[derive(Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The value, for the one place that uses it (signing, a request's credentials).
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_set(&self) -> bool {
        !self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.is_set() {
            "[redacted]"
        } else {
            "[unset]"
        })
    }
}

/// The database URL: it may carry a password, so it prints with the password (and any
/// query string, which may carry one too) left out; [`DatabaseUrl::expose`] is the URL.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct DatabaseUrl(Secret);

impl DatabaseUrl {
    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    /// What may be shown: `scheme://user@host:port/db` (with `:***` where a password
    /// was). A connection string of `key=value` pairs shows as `[redacted]`.
    pub fn redacted(&self) -> String {
        let url = self.expose();
        let Some((scheme, rest)) = url.split_once("://") else {
            return "[redacted]".to_owned();
        };
        // Only the user (up to any ':', '/' or '?') and what follows the last '@' up to
        // any '?' are shown: a password in the wrong place, unencoded, still stays out.
        let (userinfo, host) = rest
            .rsplit_once('@')
            .map_or((None, rest), |(u, h)| (Some(u), h));
        let (host, query) = host
            .split_once('?')
            .map_or((host, false), |(h, _)| (h, true));
        let user = userinfo.map_or(String::new(), |u| {
            let end = u.find([':', '/', '?']).unwrap_or(u.len());
            let hidden = if end < u.len() { ":***" } else { "" };
            format!("{}{hidden}@", &u[..end])
        });
        let query = if query { "?***" } else { "" };
        format!("{scheme}://{user}{host}{query}")
    }
}

impl From<String> for DatabaseUrl {
    fn from(s: String) -> Self {
        Self(Secret(s))
    }
}

impl From<&str> for DatabaseUrl {
    fn from(s: &str) -> Self {
        Self(Secret(s.to_owned()))
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_prints() {
        let s = Secret::from("hunter2-but-longer");
        for shown in [format!("{s}"), format!("{s:?}"), format!("{s:#?}")] {
            assert_eq!(shown, "[redacted]");
        }
        assert_eq!(Secret::default().to_string(), "[unset]");
        assert_eq!(s.expose(), "hunter2-but-longer");
    }

    #[test]
    fn a_database_url_prints_without_its_password() {
        let cases = [
            (
                "postgres://gw:s3cret@db.example:5432/registry",
                "postgres://gw:***@db.example:5432/registry",
            ),
            (
                "postgres://gw:p%40ss@word@db:5432/r?sslmode=require&password=s3cret",
                "postgres://gw:***@db:5432/r?***",
            ),
            (
                "postgres://postgres@127.0.0.1:5432/postgres",
                "postgres://postgres@127.0.0.1:5432/postgres",
            ),
            ("postgresql://db", "postgresql://db"),
            // Unencoded, in the wrong place: still hidden.
            ("postgres://gw:pa/ss?w@db/r", "postgres://gw:***@db/r"),
            ("postgres://db/r?password=s3cret@x", "postgres://db:***@x"),
            ("postgres://db/r?password=s3cret", "postgres://db/r?***"),
            ("host=db user=gw password=s3cret", "[redacted]"),
        ];
        for (url, shown) in cases {
            let u = DatabaseUrl::from(url);
            assert_eq!(u.to_string(), shown, "{url}");
            assert_eq!(format!("{u:?}"), shown, "{url}");
        }
    }

    #[test]
    fn a_checkpoint_key_too_short_to_be_one_is_refused_without_showing_it() {
        let mut s = Settings::defaults().expect("defaults");
        assert!(s.audit.checkpoints().expect("no key is fine").is_none());
        s.audit.checkpoint_key = "tiny-key".into();
        let err = s.audit.checkpoints().expect_err("too short").to_string();
        assert!(
            err.contains("audit.checkpoint_key") && !err.contains("tiny-key"),
            "{err}"
        );
        s.audit.checkpoint_key = "a-key-long-enough-to-sign".into();
        s.audit.retired_checkpoint_keys = vec!["old-key-long-enough".into(), "tiny-key".into()];
        let err = s
            .audit
            .checkpoint_keys()
            .expect_err("too short")
            .to_string();
        assert!(
            err.contains("retired_checkpoint_keys[1]") && !err.contains("tiny-key"),
            "{err}"
        );
        s.audit.retired_checkpoint_keys.pop();
        assert_eq!(s.audit.checkpoint_keys().expect("keys").len(), 2);
    }

    fn ministries(as_of: &str) -> MinistriesSettings {
        let mut s = Settings::defaults().expect("defaults").ministries;
        s.as_of = as_of.to_owned();
        s
    }

    #[test]
    fn as_of_sets_the_clock_a_sync_decides_by() {
        assert_eq!(ministries("").clock().ok(), Some(Clock::System));
        let day = ministries("2027-12-02").clock().expect("a day");
        assert_eq!(day.cambodia_today().to_string(), "2027-12-02");
        let time = ministries("2027-11-30T18:00:00Z").clock().expect("a time");
        assert_eq!(time.cambodia_today().to_string(), "2027-12-01");
        let err = ministries("next year").clock().expect_err("not a day");
        assert!(err.to_string().contains("ministries.as_of"), "{err}");
    }

    #[test]
    fn a_ministry_without_a_base_url_has_no_source() {
        let mut s = ministries("2027-12-02");
        assert_eq!(s.sources().expect("sources").ministries().count(), 0);
        s.moh.base_url = "http://moh.example".to_owned();
        s.mef.base_url = "http://mef.example".to_owned();
        // Read only by the payroll, and only when it is configured.
        s.mcs.periods = vec!["not a month".to_owned()];
        let sources = s.sources().expect("sources");
        let configured: Vec<_> = sources.ministries().map(|m| m.as_str()).collect();
        assert_eq!(configured, ["moh", "mef"]);
        s.mef.periods = vec!["2025-13".to_owned()];
        let err = s.sources().expect_err("not a month").to_string();
        assert!(err.starts_with("configuration: ministries.mef: "), "{err}");
        s.moi.base_url = "not a url".to_owned();
        s.mef.periods.clear();
        let err = s.sources().expect_err("not a URL").to_string();
        assert!(err.starts_with("configuration: ministries.moi: "), "{err}");
    }

    #[test]
    fn a_ministry_signs_in_with_its_token_else_its_user() {
        let mut m = ministries("").mcs;
        assert!(matches!(m.endpoint().credentials, Credentials::None));
        m.username = "gw".to_owned();
        m.password = "pw".into();
        assert!(
            matches!(m.endpoint().credentials, Credentials::Basic { ref user, ref password } if user == "gw" && password == "pw")
        );
        m.token = "tok".into();
        assert!(matches!(m.endpoint().credentials, Credentials::Bearer(ref t) if t == "tok"));
    }

    #[test]
    fn settings_debug_shows_no_secret() {
        let mut s = Settings::defaults().expect("defaults");
        s.auth.hs256_secret = "the-hs256-secret-value".into();
        s.audit.checkpoint_key = "the-checkpoint-key-value".into();
        s.audit.retired_checkpoint_keys = vec!["the-retired-key-value".into()];
        s.ministries.mcs.token = "the-mcs-token-value".into();
        s.ministries.mef.password = "the-mef-password-value".into();
        s.database.url = "postgres://gw:the-db-password@db/registry".into();
        let shown = format!("{s:?} {s:#?}");
        for secret in [
            "the-hs256-secret-value",
            "the-checkpoint-key-value",
            "the-retired-key-value",
            "the-mcs-token-value",
            "the-mef-password-value",
            "the-db-password",
        ] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("[redacted]"));
    }
}
