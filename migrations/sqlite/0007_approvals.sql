-- Approval requests for tool calls the policy asks a human about (DESIGN 4.3). `arguments` is
-- what the tool runs with; `shown_arguments` what approvers, the API and the audit log see
-- (passed through the guard). `claimed_at` marks the process that executes an approved call.
CREATE TABLE approvals (
    id               BLOB PRIMARY KEY NOT NULL,
    org_id           BLOB NOT NULL REFERENCES organizations(id),
    tool             TEXT NOT NULL,
    arguments        TEXT NOT NULL,
    shown_arguments  TEXT NOT NULL,
    tier             TEXT NOT NULL,
    approver_role    TEXT NOT NULL,
    four_eyes        BOOLEAN NOT NULL,
    reason           TEXT NOT NULL,
    requester_kind   TEXT NOT NULL,
    requester_id     TEXT NOT NULL,
    status           TEXT NOT NULL,
    decided_by       TEXT,
    decided_at       TEXT,
    decision_reason  TEXT,
    result           TEXT,
    created_at       TEXT NOT NULL,
    expires_at       TEXT NOT NULL,
    claimed_at       TEXT,
    finished_at      TEXT
);
CREATE INDEX approvals_by_org_status ON approvals(org_id, status);
CREATE INDEX approvals_by_status ON approvals(status, expires_at);
