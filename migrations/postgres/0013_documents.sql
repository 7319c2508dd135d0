-- Documents (DESIGN 4.8): an organisation's library. The file itself is sealed in
-- `sealed_secrets` (purpose `document.file`, so master-key rotation covers it); this row holds
-- what is searched: the name, tags (space-separated, with a space at each end so
-- `LIKE '% tag %'` finds one) and the text extracted at upload. Full text through a generated
-- `tsvector` (English stemming; the name weighs most, then tags, then the text) with a GIN
-- index.
CREATE TABLE documents (
    id            UUID PRIMARY KEY,
    org_id        UUID NOT NULL REFERENCES organizations(id),
    name          TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    format        TEXT NOT NULL,
    size          BIGINT NOT NULL,
    sha256        BYTEA NOT NULL,
    tags          TEXT NOT NULL,
    body          TEXT NOT NULL,
    text_note     TEXT,
    file_id       UUID NOT NULL REFERENCES sealed_secrets(id),
    actor_kind    TEXT NOT NULL,
    actor_id      TEXT,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    search        TSVECTOR GENERATED ALWAYS AS (
        setweight(to_tsvector('english', translate(name, '-_.', '   ')), 'A')
        || setweight(to_tsvector('english', tags), 'B')
        || setweight(to_tsvector('english', body), 'D')
    ) STORED
);
CREATE INDEX documents_by_org ON documents(org_id, created_at);
CREATE INDEX documents_search ON documents USING GIN (search);
