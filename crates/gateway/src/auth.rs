//! Who is calling, and what they may do.
//!
//! Every `/v1` request carries `Authorization: Bearer <JWT>`. The verifier accepts
//! HS256 with the configured shared secret, RS256/ES256 with the configured PEM public
//! key, and keys from a JWKS endpoint chosen by `kid`. A token's `alg` picks the key
//! family, and a key is only ever used with its own algorithm: an HS256 token is never
//! checked against a public key (algorithm confusion), and `alg: none` is refused.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use schema::AdminCode;
use serde::Deserialize;
use tokio::sync::{Mutex, RwLock};

use crate::Error;
use crate::config::AuthSettings;

/// What a client may do. Each is a space-separated word of the token's `scope` claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    StaffRead,
    StaffReadPii,
    FacilitiesRead,
    RostersWrite,
    ReportsRead,
    SyncAdmin,
    AuditRead,
}

impl Scope {
    pub const ALL: [Scope; 7] = [
        Self::StaffRead,
        Self::StaffReadPii,
        Self::FacilitiesRead,
        Self::RostersWrite,
        Self::ReportsRead,
        Self::SyncAdmin,
        Self::AuditRead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::StaffRead => "staff:read",
            Self::StaffReadPii => "staff:read:pii",
            Self::FacilitiesRead => "facilities:read",
            Self::RostersWrite => "rosters:write",
            Self::ReportsRead => "reports:read",
            Self::SyncAdmin => "sync:admin",
            Self::AuditRead => "audit:read",
        }
    }
}

/// The verified caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token's `sub`: the client system.
    pub client: String,
    scopes: HashSet<String>,
    /// The area the caller is limited to, from the `jurisdiction` claim.
    pub jurisdiction: Option<AdminCode>,
}

impl Caller {
    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(scope.as_str())
    }

    pub fn require(&self, scope: Scope) -> Result<(), Error> {
        if self.has(scope) {
            Ok(())
        } else {
            Err(Error::MissingScope(scope.as_str()))
        }
    }
}

#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    jurisdiction: Option<String>,
}

/// A JWKS endpoint's keys, cached by `kid` and refetched when a token names a key
/// the cache lacks (at most once per `MIN_REFETCH`, so bad tokens cannot make the
/// gateway hammer the identity provider).
struct JwksCache {
    url: String,
    max_age: Duration,
    http: reqwest::Client,
    keys: RwLock<(Instant, KeysById)>,
    refetch: Mutex<Option<Instant>>,
}

type KeysById = HashMap<String, (Algorithm, DecodingKey)>;

const MIN_REFETCH: Duration = Duration::from_secs(10);

impl JwksCache {
    async fn key(&self, kid: &str) -> Result<(Algorithm, DecodingKey), Error> {
        {
            let cache = self.keys.read().await;
            if cache.0.elapsed() < self.max_age
                && let Some(k) = cache.1.get(kid)
            {
                return Ok(k.clone());
            }
        }
        let mut last = self.refetch.lock().await;
        // Another request may have refetched while this one waited for the lock.
        if let Some(k) = self.keys.read().await.1.get(kid)
            && last.is_some_and(|t| t.elapsed() < MIN_REFETCH)
        {
            return Ok(k.clone());
        }
        if last.is_none_or(|t| t.elapsed() >= MIN_REFETCH) {
            *last = Some(Instant::now());
            let fetched = self.fetch().await?;
            *self.keys.write().await = (Instant::now(), fetched);
        }
        self.keys
            .read()
            .await
            .1
            .get(kid)
            .cloned()
            .ok_or_else(|| Error::InvalidToken(format!("signed with an unknown key (kid {kid:?})")))
    }

    async fn fetch(&self) -> Result<KeysById, Error> {
        let unavailable =
            |e: reqwest::Error| Error::KeySetUnavailable(format!("{}: {e}", self.url));
        let set: JwkSet = self
            .http
            .get(&self.url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(unavailable)?
            .json()
            .await
            .map_err(unavailable)?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let Some(kid) = jwk.common.key_id.clone() else {
                continue;
            };
            let alg = match &jwk.algorithm {
                AlgorithmParameters::RSA(_) => Algorithm::RS256,
                AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => {
                    Algorithm::ES256
                }
                _ => continue,
            };
            if let Ok(key) = DecodingKey::from_jwk(jwk) {
                keys.insert(kid, (alg, key));
            }
        }
        tracing::info!(url = %self.url, keys = keys.len(), "fetched JWKS");
        Ok(keys)
    }
}

/// Checks bearer tokens. Built once at start-up from the auth settings.
pub struct Verifier {
    issuer: String,
    audience: String,
    leeway: u64,
    hs256: Option<DecodingKey>,
    public_key: Option<(Algorithm, DecodingKey)>,
    jwks: Option<JwksCache>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("hs256", &self.hs256.is_some())
            .field("public_key", &self.public_key.as_ref().map(|k| k.0))
            .field("jwks", &self.jwks.as_ref().map(|j| &j.url))
            .finish()
    }
}

impl Verifier {
    /// Fails when no verification key at all is configured: the gateway must not serve
    /// a `/v1` it cannot protect.
    pub fn from_settings(s: &AuthSettings) -> Result<Self, Error> {
        let hs256 = s
            .hs256_secret
            .is_set()
            .then(|| DecodingKey::from_secret(s.hs256_secret.expose().as_bytes()));
        let pem = if !s.public_key_pem.is_empty() {
            Some(s.public_key_pem.clone().into_bytes())
        } else if !s.public_key_file.is_empty() {
            Some(std::fs::read(&s.public_key_file).map_err(|e| {
                Error::Config(format!("auth.public_key_file {}: {e}", s.public_key_file))
            })?)
        } else {
            None
        };
        let public_key = match pem {
            None => None,
            Some(pem) => Some(match s.public_key_algorithm.to_ascii_uppercase().as_str() {
                "RS256" => (Algorithm::RS256, DecodingKey::from_rsa_pem(&pem)),
                "ES256" => (Algorithm::ES256, DecodingKey::from_ec_pem(&pem)),
                other => {
                    return Err(Error::Config(format!(
                        "auth.public_key_algorithm {other:?}: use RS256 or ES256"
                    )));
                }
            })
            .map(|(alg, key)| key.map(|k| (alg, k)))
            .transpose()
            .map_err(|e| Error::Config(format!("auth public key: {e}")))?,
        };
        let jwks = if s.jwks_url.is_empty() {
            None
        } else {
            let http = reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(5))
                .timeout(Duration::from_secs(10))
                .build()
                .map_err(|e| Error::Config(format!("JWKS client: {e}")))?;
            Some(JwksCache {
                url: s.jwks_url.clone(),
                max_age: Duration::from_secs(s.jwks_cache_seconds.max(1)),
                http,
                keys: RwLock::new((Instant::now(), HashMap::new())),
                refetch: Mutex::new(None),
            })
        };
        if hs256.is_none() && public_key.is_none() && jwks.is_none() {
            return Err(Error::Config(
                "no token verification key configured: set GATEWAY__AUTH__HS256_SECRET, \
                 auth.public_key_pem / auth.public_key_file, or auth.jwks_url"
                    .to_owned(),
            ));
        }
        Ok(Self {
            issuer: s.issuer.clone(),
            audience: s.audience.clone(),
            leeway: s.leeway_seconds,
            hs256,
            public_key,
            jwks,
        })
    }

    pub async fn verify(&self, token: &str) -> Result<Caller, Error> {
        let header = decode_header(token).map_err(|e| {
            // `alg: none` and unknown algorithms fail here, before any key is chosen.
            if token.split('.').next().is_some_and(names_no_algorithm) {
                Error::UnsupportedAlgorithm("none".to_owned())
            } else {
                Error::InvalidToken(format!("unreadable token: {e}"))
            }
        })?;
        let key: (Algorithm, DecodingKey) = match header.alg {
            Algorithm::HS256 => match &self.hs256 {
                Some(k) => (Algorithm::HS256, k.clone()),
                None => return Err(Error::UnsupportedAlgorithm("HS256".to_owned())),
            },
            Algorithm::RS256 | Algorithm::ES256 => {
                match (&header.kid, &self.public_key, &self.jwks) {
                    (Some(kid), _, Some(jwks)) => jwks.key(kid).await?,
                    (_, Some((alg, k)), _) if *alg == header.alg => (*alg, k.clone()),
                    _ => return Err(Error::UnsupportedAlgorithm(format!("{:?}", header.alg))),
                }
            }
            other => return Err(Error::UnsupportedAlgorithm(format!("{other:?}"))),
        };
        if key.0 != header.alg {
            return Err(Error::UnsupportedAlgorithm(format!(
                "{:?} with a {:?} key",
                header.alg, key.0
            )));
        }
        let mut validation = Validation::new(key.0);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.leeway = self.leeway;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data = decode::<Claims>(token, &key.1, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            match e.kind() {
                K::ExpiredSignature => Error::TokenExpired,
                K::ImmatureSignature => Error::InvalidToken("not valid yet (nbf)".to_owned()),
                K::InvalidAudience => {
                    Error::InvalidToken(format!("audience is not {:?}", self.audience))
                }
                K::InvalidIssuer => Error::InvalidToken(format!("issuer is not {:?}", self.issuer)),
                K::InvalidSignature => Error::InvalidToken("bad signature".to_owned()),
                K::MissingRequiredClaim(c) => Error::InvalidToken(format!("missing claim `{c}`")),
                K::InvalidAlgorithm => Error::UnsupportedAlgorithm(format!("{:?}", header.alg)),
                _ => Error::InvalidToken(e.to_string()),
            }
        })?;
        let claims = data.claims;
        let jurisdiction = claims
            .jurisdiction
            .as_deref()
            .map(AdminCode::parse)
            .transpose()
            .map_err(|e| Error::InvalidToken(format!("jurisdiction claim: {}", e.reason)))?;
        Ok(Caller {
            client: claims.sub,
            scopes: claims.scope.split_whitespace().map(str::to_owned).collect(),
            jurisdiction,
        })
    }
}

/// Whether a JWT's encoded header says `"alg": "none"` (any case).
fn names_no_algorithm(encoded_header: &str) -> bool {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded_header.trim_end_matches('='))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| {
            v.get("alg")
                .and_then(|a| a.as_str())
                .map(|a| a.eq_ignore_ascii_case("none"))
        })
        .unwrap_or(false)
}

impl FromRequest for Caller {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // Verified already by the rate limiter, which keys on the token's subject.
        // Taken, not cloned: a handler reads its caller once.
        if let Some(caller) = actix_web::HttpMessage::extensions_mut(req).remove::<Caller>() {
            return Box::pin(async move { Ok(caller) });
        }
        let verifier = req.app_data::<web::Data<Verifier>>().map(|v| Arc::clone(v));
        let token = bearer_token(req.headers()).map(str::to_owned);
        Box::pin(async move {
            let verifier = verifier.ok_or_else(|| Error::Config("no token verifier".to_owned()))?;
            let token = token.ok_or(Error::MissingToken)?;
            verifier.verify(&token).await
        })
    }
}

/// The bearer token of a request's `Authorization` header, when it has one.
pub(crate) fn bearer_token(headers: &actix_web::http::header::HeaderMap) -> Option<&str> {
    headers
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|t| !t.is_empty())
}

/// Signs a development token with the HS256 secret (the `token` command and tests).
pub fn issue_hs256(
    s: &AuthSettings,
    sub: &str,
    scopes: &[&str],
    jurisdiction: Option<&AdminCode>,
    ttl: Duration,
) -> Result<String, Error> {
    if !s.hs256_secret.is_set() {
        return Err(Error::Config(
            "no HS256 secret configured: set GATEWAY__AUTH__HS256_SECRET".to_owned(),
        ));
    }
    let now = chrono::Utc::now().timestamp();
    let mut claims = serde_json::json!({
        "sub": sub,
        "iss": s.issuer,
        "aud": s.audience,
        "iat": now,
        "nbf": now,
        "exp": now + i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2),
        "scope": scopes.join(" "),
    });
    if let Some(j) = jurisdiction {
        claims["jurisdiction"] = serde_json::Value::String(j.to_string());
    }
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(s.hs256_secret.expose().as_bytes()),
    )
    .map_err(|e| Error::Config(format!("signing token: {e}")))
}
