-- Memory (DESIGN 4.8): facts the assistant may remember, per organisation and scope —
-- organisation-wide (`scope_key` = 'org') or one person's (`scope_key` = the user's id) —
-- once per scope (`content_hash`). Full text through an FTS5 table kept in step with it
-- (porter stemming, case- and accent-insensitive), written in the same transactions.
CREATE TABLE memories (
    id            BLOB PRIMARY KEY NOT NULL,
    org_id        BLOB NOT NULL REFERENCES organizations(id),
    scope_key     TEXT NOT NULL,
    user_id       BLOB,
    content       TEXT NOT NULL,
    content_hash  BLOB NOT NULL,
    actor_kind    TEXT NOT NULL,
    actor_id      TEXT,
    created_at    TEXT NOT NULL,
    UNIQUE (org_id, scope_key, content_hash)
);
CREATE INDEX memories_by_scope ON memories(org_id, scope_key, created_at);

CREATE VIRTUAL TABLE memories_fts USING fts5(
    content,
    memory_id UNINDEXED,
    org_id UNINDEXED,
    scope_key UNINDEXED,
    tokenize = 'porter unicode61 remove_diacritics 2'
);

-- The FTS row shares the memory's rowid; triggers keep the two in step (an organisation's
-- purge deletes its memories, and so their text).
CREATE TRIGGER memories_fts_insert AFTER INSERT ON memories BEGIN
    INSERT INTO memories_fts (rowid, content, memory_id, org_id, scope_key)
    VALUES (new.rowid, new.content, new.id, new.org_id, new.scope_key);
END;
CREATE TRIGGER memories_fts_delete AFTER DELETE ON memories BEGIN
    DELETE FROM memories_fts WHERE rowid = old.rowid;
END;
