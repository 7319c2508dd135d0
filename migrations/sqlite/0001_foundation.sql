-- Foundation schema: tenancy, identity, sessions, API keys, audit chain, sealed secrets.
-- Ids are UUIDv7 (16-byte BLOBs); timestamps are RFC 3339 UTC text written by the app's Clock.

CREATE TABLE organizations (
    id          BLOB PRIMARY KEY NOT NULL,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    domain      TEXT,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'active', 'suspended', 'deleted')),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    deleted_at  TEXT
);

CREATE TABLE users (
    id             BLOB PRIMARY KEY NOT NULL,
    email          TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    password_hash  TEXT,
    is_operator    INTEGER NOT NULL DEFAULT 0,
    status         TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);

CREATE TABLE memberships (
    org_id      BLOB NOT NULL REFERENCES organizations(id),
    user_id     BLOB NOT NULL REFERENCES users(id),
    role        TEXT NOT NULL CHECK (role IN ('viewer', 'member', 'admin', 'owner')),
    created_at  TEXT NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_by_user ON memberships(user_id);

CREATE TABLE sessions (
    id            BLOB PRIMARY KEY NOT NULL,
    token_hash    BLOB NOT NULL UNIQUE,
    user_id       BLOB NOT NULL REFERENCES users(id),
    org_id        BLOB REFERENCES organizations(id),
    created_at    TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    revoked_at    TEXT
);
CREATE INDEX sessions_by_user ON sessions(user_id);

CREATE TABLE api_keys (
    id            BLOB PRIMARY KEY NOT NULL,
    org_id        BLOB NOT NULL REFERENCES organizations(id),
    name          TEXT NOT NULL,
    prefix        TEXT NOT NULL,
    key_hash      BLOB NOT NULL UNIQUE,
    role          TEXT NOT NULL CHECK (role IN ('viewer', 'member', 'admin', 'owner')),
    created_by    BLOB REFERENCES users(id),
    created_at    TEXT NOT NULL,
    expires_at    TEXT,
    last_used_at  TEXT,
    revoked_at    TEXT
);
CREATE INDEX api_keys_by_org ON api_keys(org_id);

-- One hash chain per organisation: seq increases by one, hash = SHA-256(prev_hash || event).
CREATE TABLE audit_events (
    id          BLOB PRIMARY KEY NOT NULL,
    org_id      BLOB NOT NULL,
    seq         INTEGER NOT NULL,
    at          TEXT NOT NULL,
    actor_kind  TEXT NOT NULL,
    actor_id    TEXT,
    kind        TEXT NOT NULL,
    target      TEXT,
    decision    TEXT,
    details     TEXT NOT NULL,
    prev_hash   BLOB NOT NULL,
    hash        BLOB NOT NULL,
    UNIQUE (org_id, seq)
);
CREATE INDEX audit_events_by_org_time ON audit_events(org_id, at);

-- Envelope-encrypted values. wrapped_key is the value's data key sealed by the master key
-- named in key_id; rotating the master key rewrites only wrapped_key and key_id.
CREATE TABLE sealed_secrets (
    id           BLOB PRIMARY KEY NOT NULL,
    org_id       BLOB,
    purpose      TEXT NOT NULL,
    key_id       TEXT NOT NULL,
    wrapped_key  BLOB NOT NULL,
    nonce        BLOB NOT NULL,
    ciphertext   BLOB NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX sealed_secrets_by_key ON sealed_secrets(key_id);
