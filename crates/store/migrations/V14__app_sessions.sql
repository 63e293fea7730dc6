-- The app's sign-ins: people who signed in through the OpenID provider, and sign-ins
-- under way. Kept in the database so every replica knows every session.

-- A signed-in person. The cookie holds a random token; only its SHA-256 is stored, so
-- a copy of this table opens no session. What the provider said of the person (scopes,
-- jurisdiction, facility) is fixed at sign-in, like a token's claims.
CREATE TABLE app_sessions (
    token_hash   bytea PRIMARY KEY,
    subject      text NOT NULL,
    display_name text,
    scopes       text[] NOT NULL,
    jurisdiction text,
    facility_id  uuid,
    -- Sent back in every form (and the outbox's requests): a request without it is
    -- not the page's.
    csrf_token   text NOT NULL,
    -- The provider's ID token, for its end-session endpoint at sign-out.
    id_token     text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    -- The absolute end, whatever the activity.
    expires_at   timestamptz NOT NULL
);

CREATE INDEX app_sessions_expires_at ON app_sessions (expires_at);

-- A sign-in sent to the provider and not yet back: the PKCE verifier and the nonce,
-- found again by the hash of the `state` the provider returns (and the browser's
-- cookie holds).
CREATE TABLE app_sign_ins (
    state_hash    bytea PRIMARY KEY,
    pkce_verifier text NOT NULL,
    nonce         text NOT NULL,
    return_to     text,
    created_at    timestamptz NOT NULL DEFAULT now()
);
