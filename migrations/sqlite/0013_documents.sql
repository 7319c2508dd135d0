-- Documents (DESIGN 4.8): an organisation's library. The file itself is sealed in
-- `sealed_secrets` (purpose `document.file`, so master-key rotation covers it); this row holds
-- what is searched: the name, tags (space-separated, with a space at each end so
-- `LIKE '% tag %'` finds one) and the text extracted at upload. Full text through an FTS5
-- index over these columns (external content: the text is stored once), kept by triggers.
CREATE TABLE documents (
    id            BLOB PRIMARY KEY NOT NULL,
    org_id        BLOB NOT NULL REFERENCES organizations(id),
    name          TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    format        TEXT NOT NULL,
    size          INTEGER NOT NULL,
    sha256        BLOB NOT NULL,
    tags          TEXT NOT NULL,
    body          TEXT NOT NULL,
    text_note     TEXT,
    file_id       BLOB NOT NULL REFERENCES sealed_secrets(id),
    actor_kind    TEXT NOT NULL,
    actor_id      TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX documents_by_org ON documents(org_id, created_at);

CREATE VIRTUAL TABLE documents_fts USING fts5(
    name,
    tags,
    body,
    content = 'documents',
    content_rowid = 'rowid',
    tokenize = 'porter unicode61 remove_diacritics 2'
);

CREATE TRIGGER documents_fts_insert AFTER INSERT ON documents BEGIN
    INSERT INTO documents_fts (rowid, name, tags, body)
    VALUES (new.rowid, new.name, new.tags, new.body);
END;
CREATE TRIGGER documents_fts_delete AFTER DELETE ON documents BEGIN
    INSERT INTO documents_fts (documents_fts, rowid, name, tags, body)
    VALUES ('delete', old.rowid, old.name, old.tags, old.body);
END;
CREATE TRIGGER documents_fts_update AFTER UPDATE OF name, tags, body ON documents BEGIN
    INSERT INTO documents_fts (documents_fts, rowid, name, tags, body)
    VALUES ('delete', old.rowid, old.name, old.tags, old.body);
    INSERT INTO documents_fts (rowid, name, tags, body)
    VALUES (new.rowid, new.name, new.tags, new.body);
END;
