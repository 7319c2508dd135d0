-- Foundation schema: tenancy, identity, sessions, API keys, audit chain, sealed secrets.
-- Ids are UUIDv7; timestamps are TIMESTAMPTZ written by the app's Clock.

CREATE TABLE organizations (
    id          UUID PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    domain      TEXT,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'active', 'suspended', 'deleted')),
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    deleted_at  TIMESTAMPTZ
);

CREATE TABLE users (
    id             UUID PRIMARY KEY,
    email          TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    password_hash  TEXT,
    is_operator    BOOLEAN NOT NULL DEFAULT FALSE,
    status         TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);

CREATE TABLE memberships (
    org_id      UUID NOT NULL REFERENCES organizations(id),
    user_id     UUID NOT NULL REFERENCES users(id),
    role        TEXT NOT NULL CHECK (role IN ('viewer', 'member', 'admin', 'owner')),
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_by_user ON memberships(user_id);

CREATE TABLE sessions (
    id            UUID PRIMARY KEY,
    token_hash    BYTEA NOT NULL UNIQUE,
    user_id       UUID NOT NULL REFERENCES users(id),
    org_id        UUID REFERENCES organizations(id),
    created_at    TIMESTAMPTZ NOT NULL,
    last_seen_at  TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL,
    revoked_at    TIMESTAMPTZ
);
CREATE INDEX sessions_by_user ON sessions(user_id);

CREATE TABLE api_keys (
    id            UUID PRIMARY KEY,
    org_id        UUID NOT NULL REFERENCES organizations(id),
    name          TEXT NOT NULL,
    prefix        TEXT NOT NULL,
    key_hash      BYTEA NOT NULL UNIQUE,
    role          TEXT NOT NULL CHECK (role IN ('viewer', 'member', 'admin', 'owner')),
    created_by    UUID REFERENCES users(id),
    created_at    TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ,
    last_used_at  TIMESTAMPTZ,
    revoked_at    TIMESTAMPTZ
);
CREATE INDEX api_keys_by_org ON api_keys(org_id);

-- One hash chain per organisation: seq increases by one, hash = SHA-256(prev_hash || event).
CREATE TABLE audit_events (
    id          UUID PRIMARY KEY,
    org_id      UUID NOT NULL,
    seq         BIGINT NOT NULL,
    at          TIMESTAMPTZ NOT NULL,
    actor_kind  TEXT NOT NULL,
    actor_id    TEXT,
    kind        TEXT NOT NULL,
    target      TEXT,
    decision    TEXT,
    details     JSONB NOT NULL,
    prev_hash   BYTEA NOT NULL,
    hash        BYTEA NOT NULL,
    UNIQUE (org_id, seq)
);
CREATE INDEX audit_events_by_org_time ON audit_events(org_id, at);

-- Envelope-encrypted values. wrapped_key is the value's data key sealed by the master key
-- named in key_id; rotating the master key rewrites only wrapped_key and key_id.
CREATE TABLE sealed_secrets (
    id           UUID PRIMARY KEY,
    org_id       UUID,
    purpose      TEXT NOT NULL,
    key_id       TEXT NOT NULL,
    wrapped_key  BYTEA NOT NULL,
    nonce        BYTEA NOT NULL,
    ciphertext   BYTEA NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX sealed_secrets_by_key ON sealed_secrets(key_id);
