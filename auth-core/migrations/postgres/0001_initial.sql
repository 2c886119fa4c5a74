-- PostgreSQL version of ../0001_initial.sql: same version and description, so both backends
-- list the same migrations. Differences: BYTEA for BLOB, TEXT COLLATE "C" so ORDER BY
-- sorts by code point as SQLite does, named constraints that error messages are matched on.
-- rulebox auth-core schema, version 1.
--
-- Portability rules (a PostgreSQL backend will reuse these statements):
--   * only TEXT / BIGINT / BOOLEAN / BLOB column types (BLOB becomes BYTEA on PostgreSQL);
--   * JSON documents are stored as TEXT and parsed in Rust, never queried with JSON functions;
--   * timestamps are BIGINT milliseconds since the Unix epoch (UTC), formatted as RFC 3339 in Rust;
--   * booleans use TRUE / FALSE literals.
--
-- Tenant isolation: every table carries tenant_id and every primary key, unique constraint and
-- foreign key starts with it, so a row can only ever reference rows of its own tenant.

CREATE TABLE tenants (
    id            TEXT COLLATE "C"    NOT NULL PRIMARY KEY,
    domain        TEXT COLLATE "C"    UNIQUE,
    friendly_name TEXT COLLATE "C"    NOT NULL,
    signing_alg   TEXT COLLATE "C"    NOT NULL DEFAULT 'RS256',
    limits        TEXT COLLATE "C"    NOT NULL DEFAULT '{}',
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL
);

CREATE TABLE signing_keys (
    tenant_id   TEXT COLLATE "C"   NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kid         TEXT COLLATE "C"   NOT NULL,
    alg         TEXT COLLATE "C"   NOT NULL,
    private_pem TEXT COLLATE "C"   NOT NULL,
    public_jwk  TEXT COLLATE "C"   NOT NULL,
    -- current | next | previous | revoked
    state       TEXT COLLATE "C"   NOT NULL,
    created_at  BIGINT NOT NULL,
    CONSTRAINT signing_keys_kid_key PRIMARY KEY (tenant_id, kid)
);
-- At most one current key per tenant: token signing must be unambiguous.
CREATE UNIQUE INDEX signing_keys_one_current ON signing_keys (tenant_id) WHERE state = 'current';

CREATE TABLE clients (
    tenant_id                  TEXT COLLATE "C"    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    client_id                  TEXT COLLATE "C"    NOT NULL,
    name                       TEXT COLLATE "C"    NOT NULL,
    description                TEXT COLLATE "C",
    app_type                   TEXT COLLATE "C"    NOT NULL,
    grant_types                TEXT COLLATE "C"    NOT NULL,
    callbacks                  TEXT COLLATE "C"    NOT NULL,
    allowed_logout_urls        TEXT COLLATE "C"    NOT NULL,
    web_origins                TEXT COLLATE "C"    NOT NULL,
    token_endpoint_auth_method TEXT COLLATE "C"    NOT NULL,
    jwt_configuration          TEXT COLLATE "C"    NOT NULL,
    client_metadata            TEXT COLLATE "C"    NOT NULL,
    is_first_party             BOOLEAN NOT NULL,
    client_secret_hash         TEXT COLLATE "C",
    created_at                 BIGINT  NOT NULL,
    updated_at                 BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, client_id)
);

CREATE TABLE client_grants (
    tenant_id  TEXT COLLATE "C"   NOT NULL,
    id         TEXT COLLATE "C"   NOT NULL,
    client_id  TEXT COLLATE "C"   NOT NULL,
    audience   TEXT COLLATE "C"   NOT NULL,
    scope      TEXT COLLATE "C"   NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, client_id, audience),
    FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, client_id) ON DELETE CASCADE
);

CREATE TABLE connections (
    tenant_id       TEXT COLLATE "C"   NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id              TEXT COLLATE "C"   NOT NULL,
    name            TEXT COLLATE "C"   NOT NULL,
    display_name    TEXT COLLATE "C",
    strategy        TEXT COLLATE "C"   NOT NULL,
    options         TEXT COLLATE "C"   NOT NULL,
    enabled_clients TEXT COLLATE "C"   NOT NULL,
    realms          TEXT COLLATE "C"   NOT NULL,
    metadata        TEXT COLLATE "C"   NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);

-- Users reference their connection by name (Auth0 connection names are immutable), so deleting
-- a connection deletes its users through the cascade.
CREATE TABLE users (
    tenant_id      TEXT COLLATE "C"    NOT NULL,
    user_id        TEXT COLLATE "C"    NOT NULL,
    connection     TEXT COLLATE "C"    NOT NULL,
    email          TEXT COLLATE "C",
    email_verified BOOLEAN NOT NULL DEFAULT FALSE,
    username       TEXT COLLATE "C",
    phone_number   TEXT COLLATE "C",
    name           TEXT COLLATE "C",
    given_name     TEXT COLLATE "C",
    family_name    TEXT COLLATE "C",
    nickname       TEXT COLLATE "C",
    picture        TEXT COLLATE "C",
    app_metadata   TEXT COLLATE "C"    NOT NULL DEFAULT '{}',
    user_metadata  TEXT COLLATE "C"    NOT NULL DEFAULT '{}',
    password_hash  TEXT COLLATE "C",
    logins_count   BIGINT  NOT NULL DEFAULT 0,
    last_login     BIGINT,
    last_ip        TEXT COLLATE "C",
    blocked        BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, user_id),
    CONSTRAINT users_email_key UNIQUE (tenant_id, connection, email),
    CONSTRAINT users_username_key UNIQUE (tenant_id, connection, username),
    FOREIGN KEY (tenant_id, connection) REFERENCES connections (tenant_id, name) ON DELETE CASCADE
);
CREATE INDEX users_by_email ON users (tenant_id, email);
CREATE INDEX users_by_created ON users (tenant_id, created_at);

CREATE TABLE actions (
    tenant_id          TEXT COLLATE "C"   NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                 TEXT COLLATE "C"   NOT NULL,
    name               TEXT COLLATE "C"   NOT NULL,
    supported_triggers TEXT COLLATE "C"   NOT NULL,
    code               TEXT COLLATE "C"   NOT NULL,
    runtime            TEXT COLLATE "C"   NOT NULL,
    dependencies       TEXT COLLATE "C"   NOT NULL,
    -- Draft WebAssembly module (runtime 'wasm') and its SHA-256 hex.
    module             BYTEA,
    module_sha256      TEXT COLLATE "C",
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);

-- Secret values are opaque text (the caller may store ciphertext); only names and dates are
-- ever returned by the API shapes.
CREATE TABLE action_secrets (
    tenant_id  TEXT COLLATE "C"   NOT NULL,
    action_id  TEXT COLLATE "C"   NOT NULL,
    name       TEXT COLLATE "C"   NOT NULL,
    value      TEXT COLLATE "C"   NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, action_id, name),
    FOREIGN KEY (tenant_id, action_id) REFERENCES actions (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE action_versions (
    tenant_id          TEXT COLLATE "C"    NOT NULL,
    id                 TEXT COLLATE "C"    NOT NULL,
    action_id          TEXT COLLATE "C"    NOT NULL,
    number             BIGINT  NOT NULL,
    code               TEXT COLLATE "C"    NOT NULL,
    runtime            TEXT COLLATE "C"    NOT NULL,
    dependencies       TEXT COLLATE "C"    NOT NULL,
    supported_triggers TEXT COLLATE "C"    NOT NULL,
    -- Copy of the draft module at deploy time, so rollback can redeploy it.
    module             BYTEA,
    module_sha256      TEXT COLLATE "C",
    -- Caller-supplied reference of the compiled module (sandbox module id), or module_sha256.
    module_hash        TEXT COLLATE "C",
    deployed           BOOLEAN NOT NULL,
    created_at         BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, action_id, number),
    FOREIGN KEY (tenant_id, action_id) REFERENCES actions (tenant_id, id) ON DELETE CASCADE
);
-- At most one deployed version per action.
CREATE UNIQUE INDEX action_versions_one_deployed ON action_versions (tenant_id, action_id) WHERE deployed = TRUE;

CREATE TABLE trigger_bindings (
    tenant_id    TEXT COLLATE "C"   NOT NULL,
    id           TEXT COLLATE "C"   NOT NULL,
    trigger_id   TEXT COLLATE "C"   NOT NULL,
    action_id    TEXT COLLATE "C"   NOT NULL,
    display_name TEXT COLLATE "C"   NOT NULL,
    position     BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, trigger_id, action_id),
    FOREIGN KEY (tenant_id, action_id) REFERENCES actions (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX trigger_bindings_by_trigger ON trigger_bindings (tenant_id, trigger_id, position);

-- "order" is a reserved word in SQL, hence rule_order.
CREATE TABLE rules (
    tenant_id  TEXT COLLATE "C"    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id         TEXT COLLATE "C"    NOT NULL,
    name       TEXT COLLATE "C"    NOT NULL,
    script     TEXT COLLATE "C"    NOT NULL,
    rule_order BIGINT  NOT NULL,
    enabled    BOOLEAN NOT NULL,
    stage      TEXT COLLATE "C"    NOT NULL,
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);

CREATE TABLE rules_configs (
    tenant_id  TEXT COLLATE "C"   NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    config_key TEXT COLLATE "C"   NOT NULL,
    value      TEXT COLLATE "C"   NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, config_key)
);

-- Only SHA-256 hex digests of refresh tokens are stored. family_id groups a token with the
-- tokens it was rotated into, so reuse of a rotated token can revoke the whole chain.
CREATE TABLE refresh_tokens (
    tenant_id  TEXT COLLATE "C"   NOT NULL,
    token_hash TEXT COLLATE "C"   NOT NULL,
    family_id  TEXT COLLATE "C"   NOT NULL,
    client_id  TEXT COLLATE "C"   NOT NULL,
    user_id    TEXT COLLATE "C"   NOT NULL,
    scope      TEXT COLLATE "C"   NOT NULL,
    audience   TEXT COLLATE "C",
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,
    revoked_at BIGINT,
    PRIMARY KEY (tenant_id, token_hash),
    FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, client_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id) ON DELETE CASCADE
);
CREATE INDEX refresh_tokens_by_family ON refresh_tokens (tenant_id, family_id);
CREATE INDEX refresh_tokens_by_user ON refresh_tokens (tenant_id, user_id);

CREATE TABLE auth_codes (
    tenant_id             TEXT COLLATE "C"   NOT NULL,
    code_hash             TEXT COLLATE "C"   NOT NULL,
    client_id             TEXT COLLATE "C"   NOT NULL,
    user_id               TEXT COLLATE "C"   NOT NULL,
    redirect_uri          TEXT COLLATE "C"   NOT NULL,
    scope                 TEXT COLLATE "C"   NOT NULL,
    audience              TEXT COLLATE "C",
    nonce                 TEXT COLLATE "C",
    code_challenge        TEXT COLLATE "C",
    code_challenge_method TEXT COLLATE "C",
    created_at            BIGINT NOT NULL,
    expires_at            BIGINT NOT NULL,
    used_at               BIGINT,
    PRIMARY KEY (tenant_id, code_hash),
    FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, client_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id) ON DELETE CASCADE
);
CREATE INDEX auth_codes_by_user ON auth_codes (tenant_id, user_id);

-- Execution logs deliberately have no foreign keys: they must outlive the action, rule or user
-- they describe.
CREATE TABLE execution_logs (
    tenant_id         TEXT COLLATE "C"   NOT NULL,
    id                TEXT COLLATE "C"   NOT NULL,
    log_date          BIGINT NOT NULL,
    kind              TEXT COLLATE "C"   NOT NULL,
    action_id         TEXT COLLATE "C",
    rule_id           TEXT COLLATE "C",
    name              TEXT COLLATE "C"   NOT NULL,
    trigger_id        TEXT COLLATE "C",
    outcome           TEXT COLLATE "C"   NOT NULL,
    error             TEXT COLLATE "C",
    duration_us       BIGINT NOT NULL,
    fuel_used         BIGINT NOT NULL,
    peak_memory_bytes BIGINT NOT NULL,
    logs              TEXT COLLATE "C"   NOT NULL,
    client_id         TEXT COLLATE "C",
    user_id           TEXT COLLATE "C",
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX execution_logs_by_date ON execution_logs (tenant_id, log_date);
CREATE INDEX execution_logs_by_action ON execution_logs (tenant_id, action_id, log_date);

CREATE TABLE login_attempts (
    tenant_id   TEXT COLLATE "C"   NOT NULL,
    id          TEXT COLLATE "C"   NOT NULL,
    attempt_key TEXT COLLATE "C"   NOT NULL,
    at          BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX login_attempts_by_key ON login_attempts (tenant_id, attempt_key, at);
