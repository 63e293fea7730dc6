//! The app's sign-ins: sessions of people signed in through the OpenID provider, and
//! sign-ins under way (the PKCE verifier and nonce waiting for the provider's answer).
//!
//! Sessions live here rather than in a process so that every replica serves every
//! signed-in person. A session is found by the SHA-256 of its cookie's token (the
//! caller hashes), ends after a time without use (idle) and at a fixed time (absolute),
//! and each use moves its idle clock.

use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{Store, StoreError};

/// A session to open.
#[derive(Debug, Clone)]
pub struct NewAppSession<'a> {
    /// SHA-256 of the cookie's token.
    pub token_hash: &'a [u8],
    pub subject: &'a str,
    pub display_name: Option<&'a str>,
    pub scopes: &'a [String],
    pub jurisdiction: Option<&'a str>,
    pub facility_id: Option<Uuid>,
    pub csrf_token: &'a str,
    pub id_token: Option<&'a str>,
    /// The absolute end of the session.
    pub expires_at: DateTime<Utc>,
}

/// A live session.
#[derive(Debug, Clone)]
pub struct AppSession {
    pub subject: String,
    pub display_name: Option<String>,
    pub scopes: Vec<String>,
    pub jurisdiction: Option<String>,
    pub facility_id: Option<Uuid>,
    pub csrf_token: String,
    pub id_token: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A sign-in sent to the provider.
#[derive(Debug, Clone)]
pub struct PendingSignIn {
    pub pkce_verifier: String,
    pub nonce: String,
    pub return_to: Option<String>,
}

const SESSION_COLUMNS: &str =
    "subject, display_name, scopes, jurisdiction, facility_id, csrf_token,
     id_token, created_at, last_seen_at, expires_at";

fn session(r: &tokio_postgres::Row) -> AppSession {
    AppSession {
        subject: r.get(0),
        display_name: r.get(1),
        scopes: r.get(2),
        jurisdiction: r.get(3),
        facility_id: r.get(4),
        csrf_token: r.get(5),
        id_token: r.get(6),
        created_at: r.get(7),
        last_seen_at: r.get(8),
        expires_at: r.get(9),
    }
}

fn seconds(d: Duration) -> f64 {
    d.as_secs_f64()
}

impl Store {
    /// Opens a session (and forgets the sessions that have ended, everyone's: sign-ins
    /// are rare enough to pay for it).
    pub async fn open_app_session(&self, new: &NewAppSession<'_>) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO app_sessions (token_hash, subject, display_name, scopes, jurisdiction,
                                           facility_id, csrf_token, id_token, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                &[
                    &new.token_hash,
                    &new.subject,
                    &new.display_name,
                    &new.scopes,
                    &new.jurisdiction,
                    &new.facility_id,
                    &new.csrf_token,
                    &new.id_token,
                    &new.expires_at,
                ],
            )
            .await?;
        client
            .execute("DELETE FROM app_sessions WHERE expires_at <= now()", &[])
            .await?;
        Ok(())
    }

    /// The live session of `token_hash`, its idle clock restarted; `None` when there is
    /// none, or it passed its absolute end, or it went unused for longer than `idle`
    /// (such a session is deleted).
    pub async fn use_app_session(
        &self,
        token_hash: &[u8],
        idle: Duration,
    ) -> Result<Option<AppSession>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!(
                    "UPDATE app_sessions SET last_seen_at = now()
                     WHERE token_hash = $1 AND expires_at > now()
                       AND last_seen_at > now() - make_interval(secs => $2)
                     RETURNING {SESSION_COLUMNS}"
                ),
                &[&token_hash, &seconds(idle)],
            )
            .await?;
        if row.is_none() {
            client
                .execute(
                    "DELETE FROM app_sessions WHERE token_hash = $1",
                    &[&token_hash],
                )
                .await?;
        }
        Ok(row.as_ref().map(session))
    }

    /// Ends the session of `token_hash` and answers what it was (for the provider's
    /// sign-out), if there was one.
    pub async fn end_app_session(
        &self,
        token_hash: &[u8],
    ) -> Result<Option<AppSession>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!(
                    "DELETE FROM app_sessions WHERE token_hash = $1 RETURNING {SESSION_COLUMNS}"
                ),
                &[&token_hash],
            )
            .await?;
        Ok(row.as_ref().map(session))
    }

    /// Records a sign-in sent to the provider (and forgets those older than `max_age`).
    pub async fn begin_app_sign_in(
        &self,
        state_hash: &[u8],
        pending: &PendingSignIn,
        max_age: Duration,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "DELETE FROM app_sign_ins WHERE created_at <= now() - make_interval(secs => $1)",
                &[&seconds(max_age)],
            )
            .await?;
        client
            .execute(
                "INSERT INTO app_sign_ins (state_hash, pkce_verifier, nonce, return_to)
                 VALUES ($1, $2, $3, $4)",
                &[
                    &state_hash,
                    &pending.pkce_verifier,
                    &pending.nonce,
                    &pending.return_to,
                ],
            )
            .await?;
        Ok(())
    }

    /// Takes (once) the sign-in whose `state` hashes to `state_hash`, if it was begun
    /// less than `max_age` ago.
    pub async fn take_app_sign_in(
        &self,
        state_hash: &[u8],
        max_age: Duration,
    ) -> Result<Option<PendingSignIn>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "DELETE FROM app_sign_ins WHERE state_hash = $1
                 RETURNING pkce_verifier, nonce, return_to,
                           created_at > now() - make_interval(secs => $2)",
                &[&state_hash, &seconds(max_age)],
            )
            .await?;
        Ok(row.filter(|r| r.get::<_, bool>(3)).map(|r| PendingSignIn {
            pkce_verifier: r.get(0),
            nonce: r.get(1),
            return_to: r.get(2),
        }))
    }
}
