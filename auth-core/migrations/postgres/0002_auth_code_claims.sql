-- PostgreSQL version of ../0002_auth_code_claims.sql: same version and description, so both backends
-- list the same migrations. Differences: BYTEA for BLOB, TEXT COLLATE "C" so ORDER BY
-- sorts by code point as SQLite does, named constraints that error messages are matched on.
-- The claims the post-login pipeline decided at /authorize, carried to the
-- token exchange so the code flow issues what the Actions decided.
ALTER TABLE auth_codes ADD COLUMN claims TEXT COLLATE "C";
