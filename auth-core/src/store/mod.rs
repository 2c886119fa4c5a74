//! Persistent storage for auth-core: tenants, keys, clients, connections, users, Actions, Rules,
//! tokens, execution logs and brute-force counters.
//!
//! Design rules, each of which exists for a reason:
//! * **Tenant scoping everywhere.** Every table has `tenant_id`, every key starts with it, and
//!   every public operation (except the tenant operations themselves) takes `tenant: &str` first
//!   and filters by it. Asking for another tenant's row by id is indistinguishable from asking
//!   for a row that does not exist (`StoreError::NotFound`).
//! * **Portable SQL.** Runtime queries with `$n` placeholders, TEXT/BIGINT/BOOLEAN/BLOB columns,
//!   JSON as TEXT, timestamps as BIGINT milliseconds; a PostgreSQL backend can reuse the queries.
//! * **Serialized read-modify-write.** Operations that read a row and write a value derived from
//!   it (metadata merges, version numbering, binding replacement, token rotation) run inside
//!   `Store::write_tx`, which takes an in-process write gate and opens the transaction with
//!   `BEGIN IMMEDIATE`, so concurrent writers queue instead of losing updates or failing with
//!   `SQLITE_BUSY_SNAPSHOT`.
//! * **API shapes.** Public structs serialize to Auth0 Management API v2 JSON; secrets (client
//!   secret hashes, password hashes, Action secret values, private keys) live in columns that the
//!   structs do not carry and are read through dedicated accessors.

mod actions;
mod attempts;
mod audit;
mod checkpoint;
mod clients;
mod connections;
mod grants;
pub mod ids;
mod json;
mod keys;
mod logs;
pub mod mfa;
mod pending;
mod placeholders;
mod rotations;
mod rules;
pub mod sealer;
mod tenants;
pub mod time;
mod tokens;
mod users;
mod write_tx;

#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::{Arc, OnceLock};

use sqlx::any::AnyPoolOptions;
use sqlx::{Any, Connection as _, Executor as _};
use sqlx::{AnyConnection, AnyPool};
use tokio::sync::Mutex;

pub(crate) use write_tx::WriteTx;
use write_tx::{WriteGate, Writer};

pub use actions::{
    Action, ActionVersion, Binding, BindingAction, CheckedDraft, SecretInput, SecretMeta,
    TriggerRef, WASM_RUNTIME, is_wasm,
};
pub use audit::{AuditEvent, NewAuditEvent};
pub use clients::{Client, JwtConfiguration, NewClient};
pub use connections::Connection;
pub use grants::ClientGrant;
pub use keys::{NewSigningKey, SigningKey};
pub use logs::{ExecutionLog, ExecutionLogInput, LogLine};
pub use rules::{NewRule, Rule, RulesConfigKey};
pub use tenants::Tenant;
pub use time::now_rfc3339;
pub use tokens::{AuthCodeRecord, NewAuthCode, NewRefreshToken, PurgeStats, RefreshTokenRecord};
pub use users::{Identity, NewUser, User, normalize_email};

/// Everything a storage operation can fail with. HTTP handlers map these to Auth0 status codes:
/// `NotFound` → 404, `Conflict` → 409, `Invalid` → 400, the rest → 500.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The named resource does not exist *for this tenant*.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A uniqueness rule was violated (duplicate name, email, ...), or a refresh token was
    /// reused. The message is meant for API clients.
    #[error("{0}")]
    Conflict(String),
    /// The request is well-formed JSON but not acceptable (unknown field, wrong type, value out
    /// of range, binding an undeployed Action, ...). The message is meant for API clients.
    #[error("{0}")]
    Invalid(String),
    /// The database failed, or a stored value could not be decoded.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Embedded migrations could not be applied.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Result alias used by every store operation.
pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    /// Maps a failed write: unique violations become `Conflict(message)`, foreign-key violations
    /// become `Invalid` (a referenced row is missing), anything else stays a database error.
    pub(crate) fn from_write(
        err: sqlx::Error,
        conflict_message: impl FnOnce(&str) -> String,
    ) -> Self {
        if let sqlx::Error::Database(db) = &err {
            if db.is_unique_violation() {
                return StoreError::Conflict(conflict_message(db.message()));
            }
            if db.is_foreign_key_violation() {
                return StoreError::Invalid("a referenced resource does not exist".into());
            }
        }
        StoreError::Database(err)
    }

    /// Like [`StoreError::from_write`] for inserts whose only possible foreign-key failure is a
    /// missing `parent` (e.g. the tenant), which is reported as `NotFound(parent)`.
    pub(crate) fn from_insert(
        err: sqlx::Error,
        parent: &'static str,
        conflict_message: impl FnOnce(&str) -> String,
    ) -> Self {
        match StoreError::from_write(err, conflict_message) {
            StoreError::Invalid(_) => StoreError::NotFound(parent),
            other => other,
        }
    }

    /// A stored value that cannot be decoded (corrupt JSON, out-of-range integer) is a database
    /// problem, not a caller problem; wrapping it keeps `unwrap()` out of row decoding.
    pub(crate) fn corrupt(what: &str, detail: impl std::fmt::Display) -> Self {
        StoreError::Database(sqlx::Error::Decode(
            format!("stored {what} is invalid: {detail}").into(),
        ))
    }
}

/// Connections kept open for a file database. Readers run concurrently under WAL; writers
/// queue on the write gate, so more connections than this buys nothing on small machines.
const MAX_FILE_CONNECTIONS: u32 = 8;

/// Connections per node to a PostgreSQL server: writers run concurrently there, so the pool is
/// what bounds them.
const MAX_PG_CONNECTIONS: u32 = 16;

/// Page cache per connection, in KiB.
const CACHE_KIB: u64 = 16 * 1024;

/// The database a store runs on. The SQL is the same for both; what differs is how writers are
/// serialized and which migrations describe the schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// One file, one writer at a time: the embedded default.
    Sqlite,
    /// A server shared by several auth-core nodes.
    Postgres,
}

/// The storage handle. Cheap to clone; all clones share one pool and one write gate.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// Serializes this process's write transactions on SQLite, which allows one writer at a
    /// time anyway; queueing here instead of in SQLite's busy handler avoids its
    /// sleep-and-retry latency. PostgreSQL has row locks and [`WriteTx::lock`] instead.
    write_gate: Arc<WriteGate>,
    /// Seals Action secrets and rules-config values at rest.
    sealer: Arc<sealer::SecretSealer>,
    /// The group-commit queue of refresh-token rotations, started on first use.
    rotations: Arc<OnceLock<tokio::sync::mpsc::Sender<rotations::Rotation>>>,
}

/// [`WriteTx::lock`] for code that holds only the transaction's connection.
pub(crate) async fn lock_in(
    conn: &mut AnyConnection,
    backend: Backend,
    key: &str,
) -> StoreResult<()> {
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(key)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// The embedded migrations of `backend`. Migrations only add (columns,
/// tables, indexes), so an older binary runs against a newer schema: one
/// restarting or rolled back during a rolling upgrade must start, not stop at
/// migrations it does not know.
fn migrator(backend: Backend) -> sqlx::migrate::Migrator {
    let mut migrations = match backend {
        Backend::Sqlite => sqlx::migrate!("./migrations"),
        Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
    };
    migrations.set_ignore_missing(true);
    migrations
}

/// A file path as the path part of a `sqlite://` URL (sqlx percent-decodes it).
fn sqlite_url(path: &Path) -> String {
    let mut url = String::from("sqlite://");
    for b in path.to_string_lossy().bytes() {
        match b {
            b'%' | b'?' | b'#' | b' ' => url.push_str(&format!("%{b:02X}")),
            _ => url.push(char::from(b)),
        }
    }
    url.push_str("?mode=rwc");
    url
}

impl Store {
    /// Opens the store a URL names: `sqlite://PATH` or `postgres://...` (`postgresql://`).
    pub async fn connect(url: &str) -> StoreResult<Store> {
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            let path = path.split('?').next().unwrap_or(path);
            return Store::open(Path::new(path)).await;
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Store::open_postgres(url).await;
        }
        Err(StoreError::Invalid(format!(
            "unsupported database URL {url:?}: use sqlite://PATH or postgres://USER@HOST/DB"
        )))
    }

    /// Opens (creating it and its directory if missing) the database file at `path`, enables
    /// WAL, foreign keys and a busy timeout, and applies the embedded migrations.
    pub async fn open(path: &Path) -> StoreResult<Store> {
        sqlx::any::install_default_drivers();
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            // Startup-only, so the blocking call is acceptable.
            std::fs::create_dir_all(dir).map_err(sqlx::Error::Io)?;
        }
        let url = sqlite_url(path);
        // WAL is a property of the file: set once, on one connection, before the pool opens
        // (switching needs an exclusive lock that the busy timeout does not wait for).
        let mut first = AnyConnection::connect(&url).await?;
        first.execute("PRAGMA journal_mode = WAL").await?;
        first.close().await?;
        let pool = AnyPoolOptions::new()
            .max_connections(MAX_FILE_CONNECTIONS)
            // A connection to a local file does not go stale, and the default ping
            // before every acquire is one more round trip to the connection's worker
            // thread per query (measured: ~1% of the refresh path's CPU in the ping
            // alone, plus the thread hand-offs).
            .test_before_acquire(false)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    // NORMAL is durable across application crashes in WAL mode and much
                    // faster than FULL. A larger page cache per connection keeps hot index
                    // pages out of read() calls. (Not mmap: the file grows with every token,
                    // and each growth made every connection re-map it — measured 15% fewer
                    // refresh logins/s with a 256 MiB map.) Statement journals (every
                    // multi-row statement and savepoint inside a transaction keeps one) live
                    // in memory: in a temp file they were half of all write() calls on the
                    // refresh path. Foreign keys and a 5 s busy timeout are sqlx's SQLite
                    // defaults.
                    conn.execute(
                        format!(
                            "PRAGMA synchronous = NORMAL; PRAGMA cache_size = -{CACHE_KIB}; \
                             PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = {}",
                            checkpoint::BACKSTOP_PAGES
                        )
                        .as_str(),
                    )
                    .await?;
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        let sealer = sealer::SecretSealer::load(&path.with_extension("key"))?;
        let mut store = Self::from_pool(pool, Backend::Sqlite, sealer).await?;
        // Taken out of the pool (which may open another in its place) so that no
        // reader ever uses it: see `write_tx`.
        let writer = store.pool.acquire().await?.detach();
        store.write_gate = Arc::new(WriteGate::Dedicated(Arc::new(Mutex::new(Writer::new(
            writer,
        )))));
        checkpoint::spawn(store.pool.clone());
        Ok(store)
    }

    /// Connects to PostgreSQL and applies its migrations (two nodes starting together are
    /// safe: sqlx takes an advisory lock around them). The sealing key must then come from
    /// `RULEBOX_SECRETS_KEY`, the same on every node: there is no shared disk to keep a key
    /// file on.
    pub async fn open_postgres(url: &str) -> StoreResult<Store> {
        let sealer = sealer::SecretSealer::from_env()?.ok_or_else(|| {
            StoreError::Invalid(format!(
                "a PostgreSQL store needs {} (base64 of 32 bytes), the same on every node",
                sealer::KEY_ENV
            ))
        })?;
        Self::open_postgres_with(url, sealer).await
    }

    /// [`Store::open_postgres`] with a given sealing key.
    pub async fn open_postgres_with(url: &str, sealer: sealer::SecretSealer) -> StoreResult<Store> {
        sqlx::any::install_default_drivers();
        let pool = AnyPoolOptions::new()
            .max_connections(MAX_PG_CONNECTIONS)
            .connect(url)
            .await?;
        Self::from_pool(pool, Backend::Postgres, sealer).await
    }

    /// Opens a private in-memory database (for tests and throwaway dev servers). It uses a
    /// single connection that never expires, because each SQLite in-memory connection is its own
    /// database.
    pub async fn open_in_memory() -> StoreResult<Store> {
        sqlx::any::install_default_drivers();
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect("sqlite::memory:")
            .await?;
        Self::from_pool(pool, Backend::Sqlite, sealer::SecretSealer::ephemeral()?).await
    }

    async fn from_pool(
        pool: AnyPool,
        backend: Backend,
        sealer: sealer::SecretSealer,
    ) -> StoreResult<Store> {
        migrator(backend).run(&pool).await?;
        Ok(Store {
            pool,
            backend,
            write_gate: Arc::new(match backend {
                Backend::Sqlite => WriteGate::Pooled(Arc::new(Mutex::new(()))),
                Backend::Postgres => WriteGate::Concurrent,
            }),
            sealer: Arc::new(sealer),
            rotations: Arc::new(OnceLock::new()),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes every pooled connection (checkpointing the WAL). Further calls on any clone fail.
    pub async fn close(&self) {
        if let WriteGate::Dedicated(writer) = &*self.write_gate {
            writer.lock().await.close().await;
        }
        self.pool.close().await;
    }

    /// A keyed fingerprint of `data` (see [`sealer::SecretSealer::fingerprint`]).
    pub fn fingerprint(&self, data: &[u8]) -> String {
        self.sealer.fingerprint(data)
    }

    /// Borrows a pooled connection for a read or a single-statement write.
    pub(crate) async fn conn(&self) -> StoreResult<sqlx::pool::PoolConnection<Any>> {
        Ok(self.pool.acquire().await?)
    }

    /// Starts a read-only transaction: a consistent snapshot across several SELECTs (WAL
    /// readers never block writers). Commit or drop it when done.
    pub(crate) async fn read_tx(&self) -> StoreResult<sqlx::Transaction<'static, Any>> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin().await?,
            // READ COMMITTED would give each SELECT its own snapshot.
            Backend::Postgres => {
                self.pool
                    .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    .await?
            }
        })
    }

    /// Starts a serialized write transaction (see the module docs). Every statement inside must
    /// go through [`WriteTx::conn`]; touching `self.pool` inside would deadlock the in-memory
    /// store and escape the transaction on a file store.
    pub(crate) async fn write_tx(&self) -> StoreResult<WriteTx> {
        WriteTx::begin(&self.write_gate, &self.pool, self.backend).await
    }
}
