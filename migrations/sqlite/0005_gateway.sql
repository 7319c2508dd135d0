-- AI gateway: virtual keys, usage records, per-organisation model settings and providers.

-- Virtual keys (`sbk_...`) for the OpenAI-compatible gateway. Only a SHA-256 of the key is
-- kept. `models` is a JSON array of allowed model ids (empty: every model).
CREATE TABLE gateway_keys (
    id                  BLOB PRIMARY KEY NOT NULL,
    org_id              BLOB NOT NULL REFERENCES organizations(id),
    user_id             BLOB REFERENCES users(id),
    name                TEXT NOT NULL,
    prefix              TEXT NOT NULL,
    key_hash            BLOB NOT NULL UNIQUE,
    models              TEXT NOT NULL,
    rpm                 INTEGER,
    tpm                 INTEGER,
    monthly_budget_usd  REAL,
    cache_ttl_secs      INTEGER,
    created_by          BLOB REFERENCES users(id),
    created_at          TEXT NOT NULL,
    expires_at          TEXT,
    last_used_at        TEXT,
    revoked_at          TEXT
);
CREATE INDEX gateway_keys_by_org ON gateway_keys(org_id);

-- One row per gateway or assistant model call. `day` (YYYY-MM-DD, UTC) is stored so grouping
-- by day reads the same on both databases.
CREATE TABLE usage_records (
    id             BLOB PRIMARY KEY NOT NULL,
    org_id         BLOB NOT NULL REFERENCES organizations(id),
    key_id         BLOB,
    user_id        BLOB,
    at             TEXT NOT NULL,
    day            TEXT NOT NULL,
    endpoint       TEXT NOT NULL,
    model          TEXT NOT NULL,
    provider       TEXT,
    input_tokens   INTEGER NOT NULL,
    output_tokens  INTEGER NOT NULL,
    cost_usd       REAL NOT NULL,
    latency_ms     REAL NOT NULL,
    overhead_ms    REAL NOT NULL,
    status         TEXT NOT NULL,
    cached         INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX usage_by_org_at ON usage_records(org_id, at);
CREATE INDEX usage_by_key_at ON usage_records(key_id, at);

-- An organisation's own default model and guard policy (JSON); absent rows mean the
-- installation's defaults.
CREATE TABLE org_llm_settings (
    org_id         BLOB PRIMARY KEY NOT NULL REFERENCES organizations(id),
    default_model  TEXT,
    guard_policy   TEXT,
    updated_at     TEXT NOT NULL
);

-- Providers an organisation adds itself. The API key is a sealed secret (api_key_secret) or
-- the name of an environment variable (api_key_env). `models` is JSON.
CREATE TABLE org_llm_providers (
    org_id          BLOB NOT NULL REFERENCES organizations(id),
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('openai', 'anthropic')),
    base_url        TEXT NOT NULL,
    api_key_secret  BLOB,
    api_key_env     TEXT,
    models          TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (org_id, name)
);
