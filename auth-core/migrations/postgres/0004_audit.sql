-- PostgreSQL version of ../0004_audit.sql: same version and description, so both backends
-- list the same migrations. Differences: BYTEA for BLOB, TEXT COLLATE "C" so ORDER BY
-- sorts by code point as SQLite does, named constraints that error messages are matched on.
-- Every Management API change: who, what, when, and for code the hashes
-- before and after. Never values: request bodies are kept as a keyed
-- HMAC-SHA256 only, so secrets sent in them can neither be read nor guessed
-- from the audit trail.
CREATE TABLE audit_events (
    tenant_id TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    at BIGINT NOT NULL,
    actor TEXT COLLATE "C" NOT NULL,
    method TEXT COLLATE "C" NOT NULL,
    path TEXT COLLATE "C" NOT NULL,
    status INTEGER NOT NULL,
    body_hmac TEXT COLLATE "C",
    code_before_sha256 TEXT COLLATE "C",
    code_after_sha256 TEXT COLLATE "C",
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX audit_events_by_time ON audit_events (tenant_id, at);
