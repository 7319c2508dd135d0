-- Outbound webhooks per organisation and their delivery queue. Deliveries are a durable
-- outbox: a crash loses none, retries survive restarts. The signing secret is sealed.
CREATE TABLE webhooks (
    id          BLOB PRIMARY KEY NOT NULL,
    org_id      BLOB NOT NULL REFERENCES organizations(id),
    name        TEXT NOT NULL,
    url         TEXT NOT NULL,
    secret_id   BLOB NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX webhooks_by_org ON webhooks(org_id);

CREATE TABLE webhook_deliveries (
    id               BLOB PRIMARY KEY NOT NULL,
    org_id           BLOB NOT NULL REFERENCES organizations(id),
    webhook_id       BLOB NOT NULL,
    event            TEXT NOT NULL,
    body             TEXT NOT NULL,
    status           TEXT NOT NULL,
    attempts         INTEGER NOT NULL,
    next_attempt_at  TEXT NOT NULL,
    claimed_at       TEXT,
    last_error       TEXT,
    created_at       TEXT NOT NULL,
    delivered_at     TEXT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_attempt_at);
CREATE INDEX webhook_deliveries_by_hook ON webhook_deliveries(webhook_id, created_at);
