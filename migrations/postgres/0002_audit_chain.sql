-- Audit details are hashed as canonical JSON text; keep exactly that text so verification
-- recomputes the hash from the same bytes (JSONB would normalise numbers and spacing).
ALTER TABLE audit_events ALTER COLUMN details TYPE TEXT USING details::text;
CREATE INDEX audit_events_by_org_kind ON audit_events(org_id, kind, seq);
