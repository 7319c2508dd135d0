-- Audit details are stored as the canonical JSON text that was hashed (already TEXT here).
CREATE INDEX audit_events_by_org_kind ON audit_events(org_id, kind, seq);
