//! Signing people in through an OpenID provider: the relying party.
//!
//! The authorization code flow with PKCE (S256), by the `openidconnect` crate: the
//! provider's configuration comes from its discovery document (kept for
//! `app.discovery_cache_seconds`), the ID token's signature, issuer, audience, expiry
//! and nonce are checked, and the person's permissions, jurisdiction and facility are
//! read from the claims `app.*_claim` name. The crate's HTTP goes through the
//! workspace's own reqwest ([`ProviderHttp`]), which follows no redirect (a redirect
//! from a provider endpoint is refused, not followed: a followed one could be steered
//! inside the network).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreErrorResponseType,
    CoreGenderClaim, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreRevocableToken, CoreRevocationErrorResponse, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AsyncHttpClient, AuthorizationCode, Client, ClientId, ClientSecret,
    CsrfToken, EmptyExtraTokenFields, EndSessionUrl, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    HttpRequest, HttpResponse, IdToken, IdTokenFields, IssuerUrl, LogoutRequest, Nonce,
    PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl, ProviderMetadataWithLogout,
    RedirectUrl, Scope, StandardErrorResponse, StandardTokenResponse, TokenResponse,
};
use schema::AdminCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::sync::RwLock;
use uuid::Uuid;

use crate::Error;
use crate::config::AppSettings;

/// Where the provider sends people back.
pub const CALLBACK_PATH: &str = "/app/auth/callback";

/// Longest a provider's answer may be (a discovery document or key set is a few KB).
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// The ID token's claims beyond the standard ones, kept whole: which of them hold
/// the permissions, jurisdiction and facility is a setting.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProviderClaims {
    #[serde(flatten)]
    claims: Map<String, Value>,
}

impl AdditionalClaims for ProviderClaims {}

type IdFields = IdTokenFields<
    ProviderClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type Tokens = StandardTokenResponse<IdFields, CoreTokenType>;
type ProviderIdToken = IdToken<
    ProviderClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type ProviderClient = Client<
    ProviderClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    Tokens,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The workspace's reqwest as the `openidconnect` crate's HTTP client.
#[derive(Debug, Clone)]
pub struct ProviderHttp(reqwest::Client);

impl ProviderHttp {
    fn new() -> Result<Self, Error> {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .build()
            .map(Self)
            .map_err(|e| Error::Config(format!("identity provider client: {e}")))
    }

    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, Error> {
        let unreachable = |e: reqwest::Error| Error::IdentityProvider(e.to_string());
        let (parts, body) = request.into_parts();
        let mut answer = self
            .0
            .request(parts.method, parts.uri.to_string())
            .headers(parts.headers)
            .body(body)
            .send()
            .await
            .map_err(unreachable)?;
        let mut response = openidconnect::http::Response::builder().status(answer.status());
        if let Some(headers) = response.headers_mut() {
            *headers = answer.headers().clone();
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = answer.chunk().await.map_err(unreachable)? {
            if bytes.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(Error::IdentityProvider(format!(
                    "an answer over {MAX_RESPONSE_BYTES} bytes"
                )));
            }
            bytes.extend_from_slice(&chunk);
        }
        response
            .body(bytes)
            .map_err(|e| Error::IdentityProvider(e.to_string()))
    }
}

impl<'c> AsyncHttpClient<'c> for ProviderHttp {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, Error>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}

/// What the provider's discovery said, made into a client.
#[derive(Debug)]
struct Discovered {
    client: ProviderClient,
    end_session: Option<EndSessionUrl>,
}

/// The gateway as the provider's relying party.
#[derive(Debug)]
pub struct RelyingParty {
    issuer: IssuerUrl,
    client_id: ClientId,
    client_secret: ClientSecret,
    redirect: RedirectUrl,
    after_sign_out: Option<PostLogoutRedirectUrl>,
    scopes: Vec<String>,
    claims: ClaimNames,
    cache_for: Duration,
    http: ProviderHttp,
    discovered: RwLock<Option<(Instant, Arc<Discovered>)>>,
}

/// Which claims hold what.
#[derive(Debug, Clone)]
struct ClaimNames {
    permissions: String,
    jurisdiction: String,
    facility: String,
}

/// A sign-in sent to the provider: where to send the browser, and what to keep until
/// it comes back.
#[derive(Debug)]
pub struct SignInRequest {
    pub url: String,
    pub state: String,
    pub pkce_verifier: String,
    pub nonce: String,
}

/// A person the provider vouched for.
#[derive(Debug, Clone)]
pub struct Person {
    pub subject: String,
    pub name: Option<String>,
    pub scopes: Vec<String>,
    pub jurisdiction: Option<AdminCode>,
    pub facility: Option<Uuid>,
    /// The raw ID token, for the provider's end-session endpoint at sign-out (none
    /// for the demo's people, whom no provider vouched for).
    pub id_token: Option<String>,
}

impl RelyingParty {
    pub fn new(s: &AppSettings) -> Result<Self, Error> {
        let bad = |what: &str, e: String| Error::Config(format!("app.{what}: {e}"));
        let issuer =
            IssuerUrl::new(s.issuer.trim().to_owned()).map_err(|e| bad("issuer", e.to_string()))?;
        if s.client_id.is_empty() {
            return Err(bad("client_id", "is empty".to_owned()));
        }
        let redirect = RedirectUrl::new(format!("{}{CALLBACK_PATH}", s.public_base()))
            .map_err(|e| bad("public_url", e.to_string()))?;
        let after_sign_out = PostLogoutRedirectUrl::new(format!("{}/app/", s.public_base()))
            .map_err(|e| bad("public_url", e.to_string()))?;
        Ok(Self {
            issuer,
            client_id: ClientId::new(s.client_id.clone()),
            client_secret: ClientSecret::new(s.client_secret.expose().to_owned()),
            redirect,
            after_sign_out: s.provider_sign_out.then_some(after_sign_out),
            scopes: s
                .scopes
                .iter()
                .map(|x| x.trim().to_owned())
                .filter(|x| !x.is_empty() && x != "openid")
                .collect(),
            claims: ClaimNames {
                permissions: s.permissions_claim.clone(),
                jurisdiction: s.jurisdiction_claim.clone(),
                facility: s.facility_claim.clone(),
            },
            cache_for: Duration::from_secs(s.discovery_cache_seconds.max(1)),
            http: ProviderHttp::new()?,
            discovered: RwLock::new(None),
        })
    }

    /// The provider's configuration and keys, fetched when missing or older than
    /// `discovery_cache_seconds`.
    async fn discovered(&self) -> Result<Arc<Discovered>, Error> {
        if let Some((at, d)) = self.discovered.read().await.as_ref()
            && at.elapsed() < self.cache_for
        {
            return Ok(Arc::clone(d));
        }
        let mut slot = self.discovered.write().await;
        if let Some((at, d)) = slot.as_ref()
            && at.elapsed() < self.cache_for
        {
            return Ok(Arc::clone(d));
        }
        let metadata = ProviderMetadataWithLogout::discover_async(self.issuer.clone(), &self.http)
            .await
            .map_err(|e| Error::IdentityProvider(format!("discovery: {e}")))?;
        let end_session = metadata.additional_metadata().end_session_endpoint.clone();
        let client = ProviderClient::from_provider_metadata(
            metadata,
            self.client_id.clone(),
            Some(self.client_secret.clone()),
        )
        .set_redirect_uri(self.redirect.clone());
        let discovered = Arc::new(Discovered {
            client,
            end_session,
        });
        tracing::info!(issuer = %self.issuer.as_str(), "discovered the identity provider");
        *slot = Some((Instant::now(), Arc::clone(&discovered)));
        Ok(discovered)
    }

    /// A new sign-in: the provider's authorization URL (code flow, PKCE S256, a fresh
    /// state and nonce) and the secrets to keep until the browser comes back.
    pub async fn begin(&self) -> Result<SignInRequest, Error> {
        let discovered = self.discovered().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = discovered.client.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        );
        for scope in &self.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
        Ok(SignInRequest {
            url: url.to_string(),
            state: state.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            nonce: nonce.secret().clone(),
        })
    }

    /// The browser came back with `code`: exchanges it (with the PKCE verifier),
    /// verifies the ID token (signature, issuer, audience, expiry, the nonce) and reads
    /// the person from its claims.
    pub async fn finish(
        &self,
        code: String,
        pkce_verifier: String,
        nonce: String,
    ) -> Result<Person, Error> {
        let discovered = self.discovered().await?;
        let tokens = discovered
            .client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| Error::IdentityProvider(format!("no token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier))
            .request_async(&self.http)
            .await
            .map_err(|e| Error::SignInFailed(format!("the code was not exchanged: {e}")))?;
        let id_token = tokens
            .id_token()
            .ok_or_else(|| Error::SignInFailed("the provider sent no ID token".to_owned()))?;
        let claims = id_token
            .claims(&discovered.client.id_token_verifier(), &Nonce::new(nonce))
            .map_err(|e| Error::SignInFailed(format!("the ID token: {e}")))?;
        let extra = &claims.additional_claims().claims;
        let name = claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_owned());
        Ok(Person {
            subject: claims.subject().as_str().to_owned(),
            name,
            scopes: self.claims.permissions(extra)?,
            jurisdiction: self.claims.jurisdiction(extra)?,
            facility: self.claims.facility(extra)?,
            id_token: Some(id_token.to_string()),
        })
    }

    /// Where to send the browser to end its session at the provider too, when the
    /// provider has an end-session endpoint and `app.provider_sign_out` is on.
    pub async fn sign_out_url(&self, id_token: Option<&str>) -> Option<String> {
        let after = self.after_sign_out.clone()?;
        let discovered = self.discovered().await.ok()?;
        let end_session = discovered.end_session.clone()?;
        let mut request = LogoutRequest::from(end_session)
            .set_client_id(self.client_id.clone())
            .set_post_logout_redirect_uri(after);
        if let Some(token) = id_token.and_then(|t| t.parse::<ProviderIdToken>().ok()) {
            request = request.set_id_token_hint(&token);
        }
        Some(request.http_get_url().to_string())
    }
}

impl ClaimNames {
    /// Permissions: a space-separated string (as an OAuth `scope`) or a list of strings.
    fn permissions(&self, claims: &Map<String, Value>) -> Result<Vec<String>, Error> {
        match claims.get(&self.permissions) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::String(s)) => Ok(s.split_whitespace().map(str::to_owned).collect()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str().map(str::to_owned).ok_or_else(|| {
                        self.unreadable(&self.permissions, "is a list with a non-string item")
                    })
                })
                .collect(),
            Some(_) => Err(self.unreadable(&self.permissions, "is neither a string nor a list")),
        }
    }

    fn text<'a>(
        &self,
        claims: &'a Map<String, Value>,
        name: &str,
    ) -> Result<Option<&'a str>, Error> {
        match claims.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim())),
            Some(_) => Err(self.unreadable(name, "is not a string")),
        }
    }

    fn jurisdiction(&self, claims: &Map<String, Value>) -> Result<Option<AdminCode>, Error> {
        self.text(claims, &self.jurisdiction)?
            .map(|code| {
                AdminCode::parse(code).map_err(|e| self.unreadable(&self.jurisdiction, &e.reason))
            })
            .transpose()
    }

    fn facility(&self, claims: &Map<String, Value>) -> Result<Option<Uuid>, Error> {
        self.text(claims, &self.facility)?
            .map(|id| {
                Uuid::parse_str(id)
                    .map_err(|_| self.unreadable(&self.facility, "is not a facility id (a UUID)"))
            })
            .transpose()
    }

    fn unreadable(&self, name: &str, why: &str) -> Error {
        Error::SignInFailed(format!("the ID token's claim `{name}` {why}"))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn names() -> ClaimNames {
        ClaimNames {
            permissions: "permissions".into(),
            jurisdiction: "jurisdiction".into(),
            facility: "facility".into(),
        }
    }

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().expect("an object")
    }

    #[test]
    fn permissions_are_a_scope_string_or_a_list() {
        let n = names();
        let spaced = map(json!({"permissions": " rosters:write  facilities:read "}));
        assert_eq!(
            n.permissions(&spaced).expect("read"),
            ["rosters:write", "facilities:read"]
        );
        let listed = map(json!({"permissions": ["reports:read"]}));
        assert_eq!(n.permissions(&listed).expect("read"), ["reports:read"]);
        assert!(n.permissions(&map(json!({}))).expect("none").is_empty());
        assert!(n.permissions(&map(json!({"permissions": 3}))).is_err());
    }

    #[test]
    fn jurisdiction_and_facility_are_parsed_or_the_sign_in_fails() {
        let n = names();
        let good = map(
            json!({"jurisdiction": "0102", "facility": "67e55044-10b1-426f-9247-bb680e5fe0c8"}),
        );
        assert_eq!(
            n.jurisdiction(&good)
                .expect("read")
                .map(|c| c.as_str().to_owned()),
            Some("0102".to_owned())
        );
        assert!(n.facility(&good).expect("read").is_some());
        let bad = map(json!({"jurisdiction": "01x", "facility": "nope"}));
        assert!(matches!(n.jurisdiction(&bad), Err(Error::SignInFailed(_))));
        assert!(matches!(n.facility(&bad), Err(Error::SignInFailed(_))));
        let absent = map(json!({"jurisdiction": ""}));
        assert!(n.jurisdiction(&absent).expect("read").is_none());
        assert!(n.facility(&absent).expect("read").is_none());
    }
}
