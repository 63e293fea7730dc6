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
use schema::{AdminCode, Ministry};
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
    MatchesReview,
    FindingsReview,
    CorrectionsRead,
    SubscriptionsAdmin,
}

impl Scope {
    pub const ALL: [Scope; 11] = [
        Self::StaffRead,
        Self::StaffReadPii,
        Self::FacilitiesRead,
        Self::RostersWrite,
        Self::ReportsRead,
        Self::SyncAdmin,
        Self::AuditRead,
        Self::MatchesReview,
        Self::FindingsReview,
        Self::CorrectionsRead,
        Self::SubscriptionsAdmin,
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
            Self::MatchesReview => "matches:review",
            Self::FindingsReview => "findings:review",
            Self::CorrectionsRead => "corrections:read",
            Self::SubscriptionsAdmin => "subscriptions:admin",
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
    /// The ministry a ministry's own system speaks for, from the `ministry` claim: it
    /// sees the corrections that concern that ministry only.
    pub ministry: Option<Ministry>,
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

    /// A person signed in to the app: what the identity provider said of them at
    /// sign-in, read like a token's claims, so the API's rules (scopes, jurisdiction,
    /// masking, audit) apply to them unchanged.
    pub(crate) fn signed_in(
        subject: String,
        scopes: impl IntoIterator<Item = String>,
        jurisdiction: Option<AdminCode>,
    ) -> Self {
        Self {
            client: subject,
            scopes: scopes.into_iter().collect(),
            jurisdiction,
            ministry: None,
        }
    }

    /// A caller as a verified token with these claims would give.
    #[cfg(test)]
    pub(crate) fn for_tests(client: &str, scopes: &[&str], jurisdiction: Option<&str>) -> Self {
        Self {
            client: client.to_owned(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            jurisdiction: jurisdiction.map(|j| AdminCode::parse(j).expect("a gazetteer code")),
            ministry: None,
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
    #[serde(default)]
    ministry: Option<String>,
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
        let ministry = claims
            .ministry
            .as_deref()
            .map(Ministry::parse_name)
            .transpose()
            .map_err(|e| Error::InvalidToken(format!("ministry claim: {}", e.reason)))?;
        Ok(Caller {
            client: claims.sub,
            scopes: claims.scope.split_whitespace().map(str::to_owned).collect(),
            jurisdiction,
            ministry,
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
    issue_hs256_for(s, sub, scopes, jurisdiction, None, ttl)
}

/// [`issue_hs256`] for a ministry's own system (the `ministry` claim).
pub fn issue_hs256_for(
    s: &AuthSettings,
    sub: &str,
    scopes: &[&str],
    jurisdiction: Option<&AdminCode>,
    ministry: Option<Ministry>,
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
    if let Some(m) = ministry {
        claims["ministry"] = serde_json::Value::String(m.as_str().to_owned());
    }
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(s.hs256_secret.expose().as_bytes()),
    )
    .map_err(|e| Error::Config(format!("signing token: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    const SECRET: &str = "a-shared-secret-for-the-unit-tests";

    fn settings() -> AuthSettings {
        let mut s = Settings::defaults().expect("defaults").auth;
        s.hs256_secret = SECRET.into();
        s
    }

    fn verifier() -> Verifier {
        Verifier::from_settings(&settings()).expect("an HS256 key")
    }

    /// A token signed with `SECRET` carrying exactly `claims`.
    fn signed(claims: &serde_json::Value) -> String {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(Algorithm::HS256),
            claims,
            &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .expect("signed")
    }

    fn claims(exp_from_now: i64) -> serde_json::Value {
        let now = chrono::Utc::now().timestamp();
        serde_json::json!({
            "sub": "hr-app", "iss": "interop-gateway", "aud": "interop-gateway",
            "iat": now, "nbf": now, "exp": now + exp_from_now, "scope": "staff:read",
        })
    }

    #[test]
    fn a_caller_has_the_scopes_its_token_names_and_no_others() {
        let caller = Caller::for_tests("c", &["staff:read", "reports:read"], None);
        assert!(caller.has(Scope::StaffRead) && caller.has(Scope::ReportsRead));
        assert!(!caller.has(Scope::StaffReadPii));
        assert!(caller.require(Scope::StaffRead).is_ok());
        match caller.require(Scope::StaffReadPii) {
            Err(Error::MissingScope(named)) => assert_eq!(named, "staff:read:pii"),
            other => panic!("expected a missing scope, got {other:?}"),
        }
    }

    /// `staff:read:pii` is a scope of its own: holding it says nothing of
    /// `staff:read`, and a scope is a whole word, not a prefix.
    #[test]
    fn scopes_are_whole_words() {
        let pii_only = Caller::for_tests("c", &["staff:read:pii"], None);
        assert!(!pii_only.has(Scope::StaffRead));
        let prefix = Caller::for_tests("c", &["staff"], None);
        assert!(Scope::ALL.iter().all(|s| !prefix.has(*s)));
        let words: HashSet<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(words.len(), Scope::ALL.len(), "each scope its own word");
    }

    #[tokio::test]
    async fn an_issued_token_verifies_to_its_subject_scopes_and_jurisdiction() {
        let s = settings();
        let area = AdminCode::parse("0102").expect("code");
        let token = issue_hs256(
            &s,
            "district-app",
            &["staff:read", "reports:read"],
            Some(&area),
            Duration::from_secs(3600),
        )
        .expect("issued");
        let caller = verifier().verify(&token).await.expect("valid");
        assert_eq!(caller.client, "district-app");
        assert!(caller.has(Scope::StaffRead) && caller.has(Scope::ReportsRead));
        assert!(!caller.has(Scope::SyncAdmin));
        assert_eq!(caller.jurisdiction, Some(area));
        let national = issue_hs256(&s, "n", &[], None, Duration::from_secs(60)).expect("issued");
        assert_eq!(
            verifier()
                .verify(&national)
                .await
                .expect("valid")
                .jurisdiction,
            None
        );
    }

    #[tokio::test]
    async fn a_jurisdiction_that_is_no_gazetteer_code_refuses_the_token() {
        let mut c = claims(3600);
        c["jurisdiction"] = "99".into();
        match verifier().verify(&signed(&c)).await {
            Err(Error::InvalidToken(why)) => assert!(why.contains("jurisdiction"), "{why}"),
            other => panic!("expected an invalid token, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn expired_foreign_and_unsigned_tokens_are_refused_each_for_its_reason() {
        let v = verifier();
        assert!(matches!(
            v.verify(&signed(&claims(-3600))).await,
            Err(Error::TokenExpired)
        ));
        let mut other_issuer = claims(3600);
        other_issuer["iss"] = "someone-else".into();
        match v.verify(&signed(&other_issuer)).await {
            Err(Error::InvalidToken(why)) => assert!(why.contains("issuer"), "{why}"),
            other => panic!("{other:?}"),
        }
        let mut other_audience = claims(3600);
        other_audience["aud"] = "another-api".into();
        match v.verify(&signed(&other_audience)).await {
            Err(Error::InvalidToken(why)) => assert!(why.contains("audience"), "{why}"),
            other => panic!("{other:?}"),
        }
        let mut no_subject = claims(3600);
        no_subject.as_object_mut().expect("object").remove("sub");
        assert!(matches!(
            v.verify(&signed(&no_subject)).await,
            Err(Error::InvalidToken(_))
        ));
        let forged = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(Algorithm::HS256),
            &claims(3600),
            &jsonwebtoken::EncodingKey::from_secret(b"not-the-configured-secret"),
        )
        .expect("signed");
        match v.verify(&forged).await {
            Err(Error::InvalidToken(why)) => assert_eq!(why, "bad signature"),
            other => panic!("{other:?}"),
        }
        // `alg: none`, unsigned.
        use base64::Engine;
        let b64 = |v: &serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
        };
        let unsigned = format!(
            "{}.{}.",
            b64(&serde_json::json!({"alg": "none", "typ": "JWT"})),
            b64(&claims(3600))
        );
        assert!(matches!(
            v.verify(&unsigned).await,
            Err(Error::UnsupportedAlgorithm(a)) if a == "none"
        ));
        assert!(matches!(
            v.verify("not-a-token").await,
            Err(Error::InvalidToken(_))
        ));
    }

    /// A key is used only with its own algorithm: with only a public key configured,
    /// an HS256 token (which could be signed with that public key as its secret) is
    /// refused before any check.
    #[tokio::test]
    async fn an_hs256_token_is_refused_without_an_hs256_secret() {
        let mut s = Settings::defaults().expect("defaults").auth;
        s.public_key_pem = include_str!("../../../tests/fixtures/rsa_public.pem").to_owned();
        let v = Verifier::from_settings(&s).expect("a public key");
        assert!(matches!(
            v.verify(&signed(&claims(3600))).await,
            Err(Error::UnsupportedAlgorithm(a)) if a == "HS256"
        ));
    }

    #[test]
    fn no_verification_key_at_all_is_a_configuration_error() {
        let s = Settings::defaults().expect("defaults").auth;
        match Verifier::from_settings(&s) {
            Err(Error::Config(why)) => assert!(why.contains("no token verification key"), "{why}"),
            other => panic!("expected a configuration error, got {other:?}"),
        }
        let mut bad_alg = settings();
        bad_alg.public_key_pem = "-----BEGIN PUBLIC KEY-----".to_owned();
        bad_alg.public_key_algorithm = "HS512".to_owned();
        assert!(matches!(
            Verifier::from_settings(&bad_alg),
            Err(Error::Config(_))
        ));
        let mut no_secret = settings();
        no_secret.hs256_secret = crate::config::Secret::default();
        assert!(issue_hs256(&no_secret, "x", &[], None, Duration::from_secs(1)).is_err());
    }

    #[test]
    fn the_bearer_token_is_read_from_the_authorization_header() {
        use actix_web::http::header::{AUTHORIZATION, HeaderMap, HeaderValue};
        let with = |v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(AUTHORIZATION, HeaderValue::from_static(v));
            h
        };
        assert_eq!(bearer_token(&with("Bearer abc.def")), Some("abc.def"));
        assert_eq!(bearer_token(&with("bearer  abc ")), Some("abc"));
        assert_eq!(bearer_token(&with("Basic dXNlcg==")), None);
        assert_eq!(bearer_token(&with("Bearer ")), None);
        assert_eq!(bearer_token(&with("Bearer")), None);
        assert_eq!(bearer_token(&HeaderMap::new()), None);
    }

    #[test]
    fn an_unsigned_header_is_recognised_in_any_case() {
        use base64::Engine;
        let header = |alg: &str| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(serde_json::json!({ "alg": alg }).to_string())
        };
        assert!(names_no_algorithm(&header("none")));
        assert!(names_no_algorithm(&header("NoNe")));
        assert!(!names_no_algorithm(&header("HS256")));
        assert!(!names_no_algorithm("%%%"));
    }
}
