//! The app's sessions: a random token in an HttpOnly, SameSite=Lax cookie (Secure
//! unless `app.secure_cookies` is off), its SHA-256 the key of a row in PostgreSQL (so
//! every replica knows every session, and the table opens none), an idle and an
//! absolute end, and a CSRF token every form and every request of the app's script
//! carries back.
//!
//! A session yields a [`Caller`] just as a verified token does: the same scopes and
//! jurisdiction, read at sign-in from the claims the settings name.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use base64::Engine;
use chrono::{DateTime, Utc};
use schema::AdminCode;
use sha2::{Digest, Sha256};
use store::{AppSession, Store};
use uuid::Uuid;

use crate::Error;
use crate::app::AppContext;
use crate::auth::Caller;
use crate::config::AppSettings;

/// The session cookie.
pub const SESSION_COOKIE: &str = "gw_session";
/// The cookie binding a sign-in under way to the browser that began it.
pub const SIGN_IN_COOKIE: &str = "gw_sign_in";
/// The header the app's script sends the CSRF token in.
pub const CSRF_HEADER: &str = "X-CSRF-Token";
/// How long a sign-in may take at the provider.
pub const SIGN_IN_MAX_AGE: Duration = Duration::from_secs(600);

/// 32 random bytes, base64url: a session token, a CSRF token.
pub(crate) fn random_token() -> Result<String, Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| Error::Internal(format!("no randomness: {e}")))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// What is stored of a token: its SHA-256.
pub(crate) fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Whether two secrets are equal, in time that does not depend on where they differ.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// The value of cookie `name` in the request, if it sent one.
pub(crate) fn cookie<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.trim_matches('"'))
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, Secure unless turned off, for `path`;
/// `max_age` None ends the browser's copy now.
pub(crate) fn set_cookie(
    settings: &AppSettings,
    name: &str,
    value: &str,
    path: &str,
    max_age: Option<Duration>,
) -> String {
    let secure = if settings.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let age = max_age.map_or(0, |d| d.as_secs());
    format!("{name}={value}; Path={path}; Max-Age={age}; HttpOnly; SameSite=Lax{secure}")
}

/// A signed-in person, as the app's handlers take them: the [`Caller`] the API's
/// services expect, and what the app itself needs.
#[derive(Debug)]
pub struct SignedIn {
    pub caller: Caller,
    pub name: Option<String>,
    pub facility: Option<Uuid>,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

impl SignedIn {
    fn from_session(s: AppSession) -> Result<Self, Error> {
        // Read at sign-in already; a value that no longer parses ends the session.
        let jurisdiction = s
            .jurisdiction
            .as_deref()
            .map(AdminCode::parse)
            .transpose()
            .map_err(|_| Error::SignInRequired)?;
        Ok(Self {
            caller: Caller::signed_in(s.subject, s.scopes, jurisdiction),
            name: s.display_name,
            facility: s.facility_id,
            csrf_token: s.csrf_token,
            expires_at: s.expires_at,
        })
    }

    /// Refuses a request that does not carry this session's CSRF token.
    pub fn check_csrf(&self, sent: Option<&str>) -> Result<(), Error> {
        match sent {
            Some(token) if same_secret(token, &self.csrf_token) => Ok(()),
            _ => Err(Error::CsrfFailed),
        }
    }
}

impl FromRequest for SignedIn {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = cookie(req, SESSION_COOKIE).map(str::to_owned);
        let store = req.app_data::<web::Data<Store>>().cloned();
        let context = req.app_data::<web::Data<AppContext>>().cloned();
        Box::pin(async move {
            let token = token.ok_or(Error::SignInRequired)?;
            let store = store.ok_or_else(|| Error::Config("no store".to_owned()))?;
            let context = context.ok_or_else(|| Error::Config("no app context".to_owned()))?;
            let idle = Duration::from_secs(context.settings.idle_timeout_minutes.max(1) * 60);
            let session = store
                .use_app_session(&token_hash(&token), idle)
                .await?
                .ok_or(Error::SignInRequired)?;
            Self::from_session(session)
        })
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;
    use crate::config::Settings;

    #[test]
    fn tokens_are_random_and_stored_as_their_hash() {
        let a = random_token().expect("random");
        let b = random_token().expect("random");
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(token_hash(&a).len(), 32);
        assert!(same_secret(&a, &a.clone()));
        assert!(!same_secret(&a, &b));
    }

    #[test]
    fn a_cookie_is_read_from_any_cookie_header() {
        let req = TestRequest::get()
            .insert_header((header::COOKIE, "a=1; gw_session=abc; b=2"))
            .to_http_request();
        assert_eq!(cookie(&req, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&req, SIGN_IN_COOKIE), None);
    }

    #[test]
    fn cookies_are_http_only_same_site_lax_and_secure() {
        let mut settings = Settings::defaults().expect("defaults").app;
        let set = set_cookie(
            &settings,
            SESSION_COOKIE,
            "v",
            "/app",
            Some(Duration::from_secs(60)),
        );
        assert_eq!(
            set,
            "gw_session=v; Path=/app; Max-Age=60; HttpOnly; SameSite=Lax; Secure"
        );
        settings.secure_cookies = false;
        let cleared = set_cookie(&settings, SESSION_COOKIE, "", "/app", None);
        assert_eq!(
            cleared,
            "gw_session=; Path=/app; Max-Age=0; HttpOnly; SameSite=Lax"
        );
    }

    #[test]
    fn a_request_without_the_sessions_csrf_token_is_refused() {
        let person = SignedIn {
            caller: Caller::signed_in("p".into(), Vec::new(), None),
            name: None,
            facility: None,
            csrf_token: "right".into(),
            expires_at: Utc::now(),
        };
        assert!(person.check_csrf(Some("right")).is_ok());
        assert!(matches!(
            person.check_csrf(Some("wrong")),
            Err(Error::CsrfFailed)
        ));
        assert!(matches!(person.check_csrf(None), Err(Error::CsrfFailed)));
    }
}
