-- Identity: organisation security settings, TOTP, backup codes, invites, sign-in throttling,
-- first-boot setup state, OIDC identities.

ALTER TABLE organizations ADD COLUMN require_totp BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE organizations ADD COLUMN allow_sso_signup BOOLEAN NOT NULL DEFAULT FALSE;

-- totp_secret_id names a sealed secret; totp_enabled_at is set once enrolment is confirmed.
-- totp_last_step is the last accepted time step (replay protection).
ALTER TABLE users ADD COLUMN totp_secret_id UUID;
ALTER TABLE users ADD COLUMN totp_enabled_at TIMESTAMPTZ;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;

CREATE TABLE backup_codes (
    user_id    UUID NOT NULL REFERENCES users(id),
    code_hash  BYTEA NOT NULL,
    used_at    TIMESTAMPTZ,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE invites (
    id          UUID PRIMARY KEY,
    org_id      UUID NOT NULL REFERENCES organizations(id),
    email       TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('viewer', 'member', 'admin', 'owner')),
    token_hash  BYTEA NOT NULL UNIQUE,
    created_by  UUID REFERENCES users(id),
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ,
    revoked_at  TIMESTAMPTZ
);
CREATE INDEX invites_by_org ON invites(org_id);

-- One row per failed attempt; throttles count rows of a (scope, key) inside a window.
CREATE TABLE auth_failures (
    scope  TEXT NOT NULL,
    key    TEXT NOT NULL,
    at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX auth_failures_by_key ON auth_failures(scope, key, at);

-- At most one row: the hash of the current first-boot setup code.
CREATE TABLE setup_codes (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    code_hash   BYTEA NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ
);

CREATE TABLE oidc_identities (
    issuer      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    user_id     UUID NOT NULL REFERENCES users(id),
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (issuer, subject)
);
