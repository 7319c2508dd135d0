-- AI gateway: virtual keys, usage records, per-organisation model settings and providers.

-- Virtual keys (`sbk_...`) for the OpenAI-compatible gateway. Only a SHA-256 of the key is
-- kept. `models` is a JSON array of allowed model ids (empty: every model).
CREATE TABLE gateway_keys (
    id                  UUID PRIMARY KEY,
    org_id              UUID NOT NULL REFERENCES organizations(id),
    user_id             UUID REFERENCES users(id),
    name                TEXT NOT NULL,
    prefix              TEXT NOT NULL,
    key_hash            BYTEA NOT NULL UNIQUE,
    models              TEXT NOT NULL,
    rpm                 BIGINT,
    tpm                 BIGINT,
    monthly_budget_usd  DOUBLE PRECISION,
    cache_ttl_secs      BIGINT,
    created_by          UUID REFERENCES users(id),
    created_at          TIMESTAMPTZ NOT NULL,
    expires_at          TIMESTAMPTZ,
    last_used_at        TIMESTAMPTZ,
    revoked_at          TIMESTAMPTZ
);
CREATE INDEX gateway_keys_by_org ON gateway_keys(org_id);

-- One row per gateway or assistant model call. `day` (YYYY-MM-DD, UTC) is stored so grouping
-- by day reads the same on both databases.
CREATE TABLE usage_records (
    id             UUID PRIMARY KEY,
    org_id         UUID NOT NULL REFERENCES organizations(id),
    key_id         UUID,
    user_id        UUID,
    at             TIMESTAMPTZ NOT NULL,
    day            TEXT NOT NULL,
    endpoint       TEXT NOT NULL,
    model          TEXT NOT NULL,
    provider       TEXT,
    input_tokens   BIGINT NOT NULL,
    output_tokens  BIGINT NOT NULL,
    cost_usd       DOUBLE PRECISION NOT NULL,
    latency_ms     DOUBLE PRECISION NOT NULL,
    overhead_ms    DOUBLE PRECISION NOT NULL,
    status         TEXT NOT NULL,
    cached         BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX usage_by_org_at ON usage_records(org_id, at);
CREATE INDEX usage_by_key_at ON usage_records(key_id, at);

-- An organisation's own default model and guard policy (JSON); absent rows mean the
-- installation's defaults.
CREATE TABLE org_llm_settings (
    org_id         UUID PRIMARY KEY REFERENCES organizations(id),
    default_model  TEXT,
    guard_policy   TEXT,
    updated_at     TIMESTAMPTZ NOT NULL
);

-- Providers an organisation adds itself. The API key is a sealed secret (api_key_secret) or
-- the name of an environment variable (api_key_env). `models` is JSON.
CREATE TABLE org_llm_providers (
    org_id          UUID NOT NULL REFERENCES organizations(id),
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('openai', 'anthropic')),
    base_url        TEXT NOT NULL,
    api_key_secret  UUID,
    api_key_env     TEXT,
    models          TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, name)
);
