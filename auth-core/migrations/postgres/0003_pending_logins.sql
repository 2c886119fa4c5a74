-- PostgreSQL version of ../0003_pending_logins.sql: same version and description, so both backends
-- list the same migrations. Differences: BYTEA for BLOB, TEXT COLLATE "C" so ORDER BY
-- sorts by code point as SQLite does, named constraints that error messages are matched on.
-- Logins paused by an Action's redirect, waiting for /continue. In the
-- database (not a node's memory) so the user's return may reach any
-- auth-core node, and a restart does not lose them. Keyed by the SHA-256 of
-- the state value handed to the browser.
CREATE TABLE pending_logins (
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    state_hash TEXT COLLATE "C" NOT NULL,
    login TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, state_hash)
);
CREATE INDEX pending_logins_expiry ON pending_logins (tenant_id, expires_at);
