-- OIDC single sign-on: sign-ins in flight and the sealed client secret of each provider.

-- One row per sign-in started and not yet finished. The browser holds the state and the PKCE
-- verifier in a cookie; only the state's hash is kept here, so a database reader cannot
-- finish someone else's sign-in. Rows are taken (deleted) by the callback, single use.
CREATE TABLE sso_logins (
    state_hash  BLOB PRIMARY KEY NOT NULL,
    provider    TEXT NOT NULL,
    nonce       TEXT NOT NULL,
    return_to   TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX sso_logins_by_age ON sso_logins(created_at);

-- The client secret of a provider named in the configuration, sealed in the vault.
CREATE TABLE sso_client_secrets (
    provider    TEXT PRIMARY KEY NOT NULL,
    secret_id   BLOB NOT NULL REFERENCES sealed_secrets(id),
    updated_at  TEXT NOT NULL
);
