-- Identity: organisation security settings, TOTP, backup codes, invites, sign-in throttling,
-- first-boot setup state, OIDC identities.

ALTER TABLE organizations ADD COLUMN require_totp INTEGER NOT NULL DEFAULT 0;
ALTER TABLE organizations ADD COLUMN allow_sso_signup INTEGER NOT NULL DEFAULT 0;

-- totp_secret_id names a sealed secret; totp_enabled_at is set once enrolment is confirmed.
-- totp_last_step is the last accepted time step (replay protection).
ALTER TABLE users ADD COLUMN totp_secret_id BLOB;
ALTER TABLE users ADD COLUMN totp_enabled_at TEXT;
ALTER TABLE users ADD COLUMN totp_last_step INTEGER;

CREATE TABLE backup_codes (
    user_id    BLOB NOT NULL REFERENCES users(id),
    code_hash  BLOB NOT NULL,
    used_at    TEXT,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE invites (
    id          BLOB PRIMARY KEY NOT NULL,
    org_id      BLOB NOT NULL REFERENCES organizations(id),
    email       TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('viewer', 'member', 'admin', 'owner')),
    token_hash  BLOB NOT NULL UNIQUE,
    created_by  BLOB REFERENCES users(id),
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT,
    revoked_at  TEXT
);
CREATE INDEX invites_by_org ON invites(org_id);

-- One row per failed attempt; throttles count rows of a (scope, key) inside a window.
CREATE TABLE auth_failures (
    scope  TEXT NOT NULL,
    key    TEXT NOT NULL,
    at     TEXT NOT NULL
);
CREATE INDEX auth_failures_by_key ON auth_failures(scope, key, at);

-- At most one row: the hash of the current first-boot setup code.
CREATE TABLE setup_codes (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    code_hash   BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    used_at     TEXT
);

CREATE TABLE oidc_identities (
    issuer      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    user_id     BLOB NOT NULL REFERENCES users(id),
    created_at  TEXT NOT NULL,
    PRIMARY KEY (issuer, subject)
);
