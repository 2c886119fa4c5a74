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
    id            TEXT    NOT NULL PRIMARY KEY,
    domain        TEXT    UNIQUE,
    friendly_name TEXT    NOT NULL,
    signing_alg   TEXT    NOT NULL DEFAULT 'RS256',
    limits        TEXT    NOT NULL DEFAULT '{}',
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL
);

CREATE TABLE signing_keys (
    tenant_id   TEXT   NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kid         TEXT   NOT NULL,
    alg         TEXT   NOT NULL,
    private_pem TEXT   NOT NULL,
    public_jwk  TEXT   NOT NULL,
    -- current | next | previous | revoked
    state       TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, kid)
);
-- At most one current key per tenant: token signing must be unambiguous.
CREATE UNIQUE INDEX signing_keys_one_current ON signing_keys (tenant_id) WHERE state = 'current';

CREATE TABLE clients (
    tenant_id                  TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    client_id                  TEXT    NOT NULL,
    name                       TEXT    NOT NULL,
    description                TEXT,
    app_type                   TEXT    NOT NULL,
    grant_types                TEXT    NOT NULL,
    callbacks                  TEXT    NOT NULL,
    allowed_logout_urls        TEXT    NOT NULL,
    web_origins                TEXT    NOT NULL,
    token_endpoint_auth_method TEXT    NOT NULL,
    jwt_configuration          TEXT    NOT NULL,
    client_metadata            TEXT    NOT NULL,
    is_first_party             BOOLEAN NOT NULL,
    client_secret_hash         TEXT,
    created_at                 BIGINT  NOT NULL,
    updated_at                 BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, client_id)
);

CREATE TABLE client_grants (
    tenant_id  TEXT   NOT NULL,
    id         TEXT   NOT NULL,
    client_id  TEXT   NOT NULL,
    audience   TEXT   NOT NULL,
    scope      TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, client_id, audience),
    FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, client_id) ON DELETE CASCADE
);

CREATE TABLE connections (
    tenant_id       TEXT   NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id              TEXT   NOT NULL,
    name            TEXT   NOT NULL,
    display_name    TEXT,
    strategy        TEXT   NOT NULL,
    options         TEXT   NOT NULL,
    enabled_clients TEXT   NOT NULL,
    realms          TEXT   NOT NULL,
    metadata        TEXT   NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);

-- Users reference their connection by name (Auth0 connection names are immutable), so deleting
-- a connection deletes its users through the cascade.
CREATE TABLE users (
    tenant_id      TEXT    NOT NULL,
    user_id        TEXT    NOT NULL,
    connection     TEXT    NOT NULL,
    email          TEXT,
    email_verified BOOLEAN NOT NULL DEFAULT FALSE,
    username       TEXT,
    phone_number   TEXT,
    name           TEXT,
    given_name     TEXT,
    family_name    TEXT,
    nickname       TEXT,
    picture        TEXT,
    app_metadata   TEXT    NOT NULL DEFAULT '{}',
    user_metadata  TEXT    NOT NULL DEFAULT '{}',
    password_hash  TEXT,
    logins_count   BIGINT  NOT NULL DEFAULT 0,
    last_login     BIGINT,
    last_ip        TEXT,
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
    tenant_id          TEXT   NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                 TEXT   NOT NULL,
    name               TEXT   NOT NULL,
    supported_triggers TEXT   NOT NULL,
    code               TEXT   NOT NULL,
    runtime            TEXT   NOT NULL,
    dependencies       TEXT   NOT NULL,
    -- Draft WebAssembly module (runtime 'wasm') and its SHA-256 hex.
    module             BLOB,
    module_sha256      TEXT,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);

-- Secret values are opaque text (the caller may store ciphertext); only names and dates are
-- ever returned by the API shapes.
CREATE TABLE action_secrets (
    tenant_id  TEXT   NOT NULL,
    action_id  TEXT   NOT NULL,
    name       TEXT   NOT NULL,
    value      TEXT   NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, action_id, name),
    FOREIGN KEY (tenant_id, action_id) REFERENCES actions (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE action_versions (
    tenant_id          TEXT    NOT NULL,
    id                 TEXT    NOT NULL,
    action_id          TEXT    NOT NULL,
    number             BIGINT  NOT NULL,
    code               TEXT    NOT NULL,
    runtime            TEXT    NOT NULL,
    dependencies       TEXT    NOT NULL,
    supported_triggers TEXT    NOT NULL,
    -- Copy of the draft module at deploy time, so rollback can redeploy it.
    module             BLOB,
    module_sha256      TEXT,
    -- Caller-supplied reference of the compiled module (sandbox module id), or module_sha256.
    module_hash        TEXT,
    deployed           BOOLEAN NOT NULL,
    created_at         BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, action_id, number),
    FOREIGN KEY (tenant_id, action_id) REFERENCES actions (tenant_id, id) ON DELETE CASCADE
);
-- At most one deployed version per action.
CREATE UNIQUE INDEX action_versions_one_deployed ON action_versions (tenant_id, action_id) WHERE deployed = TRUE;

CREATE TABLE trigger_bindings (
    tenant_id    TEXT   NOT NULL,
    id           TEXT   NOT NULL,
    trigger_id   TEXT   NOT NULL,
    action_id    TEXT   NOT NULL,
    display_name TEXT   NOT NULL,
    position     BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, trigger_id, action_id),
    FOREIGN KEY (tenant_id, action_id) REFERENCES actions (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX trigger_bindings_by_trigger ON trigger_bindings (tenant_id, trigger_id, position);

-- "order" is a reserved word in SQL, hence rule_order.
CREATE TABLE rules (
    tenant_id  TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id         TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    script     TEXT    NOT NULL,
    rule_order BIGINT  NOT NULL,
    enabled    BOOLEAN NOT NULL,
    stage      TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);

CREATE TABLE rules_configs (
    tenant_id  TEXT   NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    config_key TEXT   NOT NULL,
    value      TEXT   NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, config_key)
);

-- Only SHA-256 hex digests of refresh tokens are stored. family_id groups a token with the
-- tokens it was rotated into, so reuse of a rotated token can revoke the whole chain.
CREATE TABLE refresh_tokens (
    tenant_id  TEXT   NOT NULL,
    token_hash TEXT   NOT NULL,
    family_id  TEXT   NOT NULL,
    client_id  TEXT   NOT NULL,
    user_id    TEXT   NOT NULL,
    scope      TEXT   NOT NULL,
    audience   TEXT,
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
    tenant_id             TEXT   NOT NULL,
    code_hash             TEXT   NOT NULL,
    client_id             TEXT   NOT NULL,
    user_id               TEXT   NOT NULL,
    redirect_uri          TEXT   NOT NULL,
    scope                 TEXT   NOT NULL,
    audience              TEXT,
    nonce                 TEXT,
    code_challenge        TEXT,
    code_challenge_method TEXT,
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
    tenant_id         TEXT   NOT NULL,
    id                TEXT   NOT NULL,
    log_date          BIGINT NOT NULL,
    kind              TEXT   NOT NULL,
    action_id         TEXT,
    rule_id           TEXT,
    name              TEXT   NOT NULL,
    trigger_id        TEXT,
    outcome           TEXT   NOT NULL,
    error             TEXT,
    duration_us       BIGINT NOT NULL,
    fuel_used         BIGINT NOT NULL,
    peak_memory_bytes BIGINT NOT NULL,
    logs              TEXT   NOT NULL,
    client_id         TEXT,
    user_id           TEXT,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX execution_logs_by_date ON execution_logs (tenant_id, log_date);
CREATE INDEX execution_logs_by_action ON execution_logs (tenant_id, action_id, log_date);

CREATE TABLE login_attempts (
    tenant_id   TEXT   NOT NULL,
    id          TEXT   NOT NULL,
    attempt_key TEXT   NOT NULL,
    at          BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX login_attempts_by_key ON login_attempts (tenant_id, attempt_key, at);
