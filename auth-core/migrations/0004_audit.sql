-- Every Management API change: who, what, when, and for code the hashes
-- before and after. Never values: request bodies are kept as a keyed
-- HMAC-SHA256 only, so secrets sent in them can neither be read nor guessed
-- from the audit trail.
CREATE TABLE audit_events (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    status INTEGER NOT NULL,
    body_hmac TEXT,
    code_before_sha256 TEXT,
    code_after_sha256 TEXT,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX audit_events_by_time ON audit_events (tenant_id, at);
