-- PostgreSQL version of ../0007_mfa_authenticators.sql: same version and description, so both backends
-- list the same migrations. Differences: TEXT COLLATE "C" so ORDER BY sorts by code point as SQLite does.
-- Second factors users enrolled through the MFA API (/mfa/associate): an
-- authenticator app's TOTP secret, sealed like every secret at rest, or the
-- SHA-256 of the user's recovery code. Not tied to the users table by a
-- foreign key: users of a custom database outside import mode live in the
-- tenant's own store, not here, and enroll all the same. Deleting a local
-- user deletes their rows in the same transaction.
CREATE TABLE mfa_authenticators (
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id TEXT COLLATE "C" NOT NULL,
    user_id TEXT COLLATE "C" NOT NULL,
    authenticator_type TEXT COLLATE "C" NOT NULL,
    secret TEXT COLLATE "C" NOT NULL,
    -- Confirmed by a first correct code; until then the enrollment can be redone.
    active BOOLEAN NOT NULL DEFAULT FALSE,
    -- The last TOTP step accepted: each step logs in once (RFC 6238 §5.2).
    last_step BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX mfa_authenticators_by_user ON mfa_authenticators (tenant_id, user_id);
