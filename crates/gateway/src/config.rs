//! Typed settings, loaded once: the compiled-in `config/default.toml`, then an
//! optional file, then environment variables `GATEWAY__SECTION__KEY`, then
//! `DATABASE_URL`. This is the only code that reads the environment for settings.

use std::path::Path;

use serde::Deserialize;

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

#[derive(Clone, Deserialize)]
pub struct MinistrySettings {
    pub base_url: String,
    #[serde(default)]
    pub fhir_base_url: String,
    pub token: String,
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub periods: Vec<String>,
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

#[derive(Clone, Deserialize)]
pub struct DatabaseSettings {
    pub url: String,
    pub name: String,
    pub pool_size: usize,
}

#[derive(Clone, Deserialize)]
pub struct AuthSettings {
    pub issuer: String,
    pub audience: String,
    pub leeway_seconds: u64,
    pub hs256_secret: String,
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
}

impl AuditSettings {
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
                    .with_list_parse_key("ministries.mef.periods"),
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

// Secrets stay out of logs: these Debug impls say only whether a secret is set.
impl std::fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let url = match self.url.split_once('@') {
            Some((_, host)) => format!("postgres://***@{host}"),
            None => self.url.clone(),
        };
        f.debug_struct("DatabaseSettings")
            .field("url", &url)
            .field("name", &self.name)
            .field("pool_size", &self.pool_size)
            .finish()
    }
}

impl std::fmt::Debug for AuthSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthSettings")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field(
                "hs256_secret",
                &if self.hs256_secret.is_empty() {
                    "unset"
                } else {
                    "set"
                },
            )
            .field(
                "public_key",
                &(!self.public_key_pem.is_empty() || !self.public_key_file.is_empty()),
            )
            .field("jwks_url", &self.jwks_url)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for MinistrySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MinistrySettings")
            .field("base_url", &self.base_url)
            .field("fhir_base_url", &self.fhir_base_url)
            .field(
                "credentials",
                &if self.token.is_empty() && self.password.is_empty() {
                    "none"
                } else {
                    "set"
                },
            )
            .field("periods", &self.periods)
            .finish()
    }
}
