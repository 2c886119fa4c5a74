//! Store tests. Each test opens its own database file in a temporary directory, so tests run
//! in parallel without sharing state and exercise the real WAL/pool configuration.

mod actions;
mod auth;
mod directory;
mod isolation;
mod mfa;
mod nodes;
mod rules_logs;
mod users;

use serde_json::{Value, json};

use super::{Client, Connection, NewClient, Store, StoreError, User};

/// Set (to anything) to run this suite on PostgreSQL instead of SQLite; `make test` runs it
/// both ways.
const BACKEND_ENV: &str = "RULEBOX_STORE_TESTS_ON_POSTGRES";

/// A fresh store: a database file in a temporary directory (keep the directory alive as long
/// as the store), or a new database on the test PostgreSQL server.
pub(super) async fn temp_store() -> (tempfile::TempDir, Store) {
    let (dir, store, _) = temp_store_at().await;
    (dir, store)
}

/// [`temp_store`] and where it is, for [`open_again`].
pub(super) async fn temp_store_at() -> (tempfile::TempDir, Store, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let location = if std::env::var_os(BACKEND_ENV).is_some() {
        rulebox_test_pg::Postgres::get().database()
    } else {
        dir.path().join("auth.db").display().to_string()
    };
    let store = open_again(&location).await;
    (dir, store, location)
}

/// Another handle (its own pool and write gate, as another node has) on a store's database.
pub(super) async fn open_again(location: &str) -> Store {
    if location.starts_with("postgres://") {
        let sealer = super::sealer::SecretSealer::ephemeral().expect("key");
        let store = Store::open_postgres_with(location, sealer)
            .await
            .expect("open store");
        assert_eq!(store.backend(), super::Backend::Postgres);
        store
    } else {
        Store::open(std::path::Path::new(location))
            .await
            .expect("open store")
    }
}

/// A store with tenant `acme` and a database connection `Username-Password-Authentication`.
pub(super) async fn store_with_tenant() -> (tempfile::TempDir, Store) {
    let (dir, store) = temp_store().await;
    store
        .create_tenant("acme", Some("acme.example.com"))
        .await
        .expect("tenant");
    store
        .create_connection("acme", DB, "auth0", json!({}), vec![])
        .await
        .expect("connection");
    (dir, store)
}

pub(super) const DB: &str = "Username-Password-Authentication";

pub(super) async fn client(store: &Store, tenant: &str, name: &str) -> Client {
    store
        .create_client(
            tenant,
            NewClient {
                name: name.into(),
                ..NewClient::default()
            },
            "hash",
        )
        .await
        .expect("client")
}

pub(super) async fn connection(store: &Store, tenant: &str, name: &str) -> Connection {
    store
        .create_connection(tenant, name, "auth0", json!({}), vec![])
        .await
        .expect("connection")
}

pub(super) async fn user(store: &Store, tenant: &str, connection: &str, email: &str) -> User {
    store
        .create_user(
            tenant,
            super::NewUser {
                connection: connection.into(),
                email: Some(email.into()),
                password_hash: Some("$2b$10$hash".into()),
                ..super::NewUser::default()
            },
        )
        .await
        .expect("user")
}

/// A JavaScript post-login Action body.
pub(super) fn action_body(name: &str, code: &str) -> Value {
    json!({
        "name": name,
        "supported_triggers": [{"id": "post-login", "version": "v3"}],
        "code": code,
    })
}

/// The object inside a `json!` literal.
pub(super) fn obj(value: Value) -> serde_json::Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

pub(super) fn assert_not_found<T: std::fmt::Debug>(result: Result<T, StoreError>) {
    assert!(
        matches!(result, Err(StoreError::NotFound(_))),
        "expected NotFound, got {result:?}"
    );
}

pub(super) fn assert_conflict<T: std::fmt::Debug>(result: Result<T, StoreError>) -> String {
    match result {
        Err(StoreError::Conflict(msg)) => msg,
        other => panic!("expected Conflict, got {other:?}"),
    }
}

pub(super) fn assert_invalid<T: std::fmt::Debug>(result: Result<T, StoreError>) -> String {
    match result {
        Err(StoreError::Invalid(msg)) => msg,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[tokio::test]
async fn data_survives_drop_and_reopen() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("auth.db");
    let (client_id, user_id) = {
        let store = Store::open(&path).await.expect("open");
        store.create_tenant("acme", None).await.expect("tenant");
        connection(&store, "acme", "db").await;
        let c = client(&store, "acme", "app").await;
        let u = user(&store, "acme", "db", "a@example.com").await;
        store
            .merge_metadata(
                "acme",
                &u.user_id,
                obj(json!({"plan": "pro"})),
                obj(json!({})),
            )
            .await
            .expect("merge");
        store.close().await;
        (c.client_id, u.user_id)
    };
    let store = Store::open(&path).await.expect("reopen");
    assert_eq!(
        store
            .get_client("acme", &client_id)
            .await
            .expect("client")
            .name,
        "app"
    );
    let u = store.get_user("acme", &user_id).await.expect("user");
    assert_eq!(u.app_metadata, json!({"plan": "pro"}));
    assert_eq!(
        store
            .password_hash("acme", &user_id)
            .await
            .expect("hash")
            .as_deref(),
        Some("$2b$10$hash")
    );
}

#[tokio::test]
async fn dropping_without_close_keeps_committed_data() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("auth.db");
    {
        let store = Store::open(&path).await.expect("open");
        store.create_tenant("acme", None).await.expect("tenant");
        store
            .set_rules_config("acme", "API_KEY", "s3cret")
            .await
            .expect("config");
    }
    let store = Store::open(&path).await.expect("reopen");
    let values = store.rules_config_values("acme").await.expect("values");
    assert_eq!(values.get("API_KEY"), Some(&json!("s3cret")));
}

#[tokio::test]
async fn in_memory_store_works() {
    let store = Store::open_in_memory().await.expect("open");
    store.create_tenant("acme", None).await.expect("tenant");
    connection(&store, "acme", "db").await;
    let u = user(&store, "acme", "db", "a@example.com").await;
    // A write transaction and plain reads share the single connection without deadlocking.
    let mut app = serde_json::Map::new();
    app.insert("k".into(), json!(1));
    store
        .merge_metadata("acme", &u.user_id, app, Default::default())
        .await
        .expect("merge");
    assert_eq!(
        store
            .get_user("acme", &u.user_id)
            .await
            .expect("user")
            .app_metadata,
        json!({"k": 1})
    );
}

#[tokio::test]
async fn file_store_uses_wal_foreign_keys_and_busy_timeout() {
    // Always a file store: this is about SQLite's settings, whichever backend the suite runs on.
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("auth.db"))
        .await
        .expect("open store");
    let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode")
        .fetch_one(&store.pool)
        .await
        .expect("pragma");
    assert_eq!(mode, "wal");
    let (fk,): (i64,) = sqlx::query_as("PRAGMA foreign_keys")
        .fetch_one(&store.pool)
        .await
        .expect("pragma");
    assert_eq!(fk, 1);
    let (timeout,): (i64,) = sqlx::query_as("PRAGMA busy_timeout")
        .fetch_one(&store.pool)
        .await
        .expect("pragma");
    assert_eq!(timeout, 5000);
    let (temp_store,): (i64,) = sqlx::query_as("PRAGMA temp_store")
        .fetch_one(&store.pool)
        .await
        .expect("pragma");
    assert_eq!(temp_store, 2, "statement journals in memory");
}

#[tokio::test]
async fn a_dropped_write_transaction_rolls_back_and_frees_the_writer() {
    // Always a file store: the dedicated writer connection exists only there.
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("auth.db"))
        .await
        .expect("open store");
    store.create_tenant("acme", None).await.expect("tenant");
    let attempts = |store: Store| async move {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM login_attempts")
            .fetch_one(&store.pool)
            .await
            .expect("count");
        n
    };
    let insert =
        "INSERT INTO login_attempts (tenant_id, id, attempt_key, at) VALUES ('acme', $1, 'k', 1)";
    for round in 0..3 {
        let mut tx = store.write_tx().await.expect("begin");
        sqlx::query(insert)
            .bind(format!("dropped-{round}"))
            .execute(tx.conn())
            .await
            .expect("insert");
        drop(tx);
    }
    // The rollback frees SQLite's write lock without another write transaction
    // coming along: a plain pooled write (which waits up to the busy timeout)
    // goes through.
    sqlx::query(insert)
        .bind("pooled")
        .execute(&store.pool)
        .await
        .expect("pooled write");
    assert_eq!(
        attempts(store.clone()).await,
        1,
        "nothing of the dropped ones"
    );
    let mut tx = store.write_tx().await.expect("begin after drops");
    sqlx::query(insert)
        .bind("kept")
        .execute(tx.conn())
        .await
        .expect("insert");
    tx.commit().await.expect("commit");
    assert_eq!(attempts(store.clone()).await, 2);
}

#[test]
fn store_is_shareable_across_tasks() {
    fn assert_shareable<T: Send + Sync + Clone + 'static>() {}
    assert_shareable::<Store>();
}

#[tokio::test]
async fn open_creates_missing_directories() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("nested/data/auth.db");
    let store = Store::open(&path).await.expect("open");
    store.create_tenant("acme", None).await.expect("tenant");
    assert!(path.exists());
}

#[tokio::test]
async fn opening_twice_is_idempotent() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("auth.db");
    let a = Store::open(&path).await.expect("first open");
    let b = Store::open(&path)
        .await
        .expect("second open runs migrations again harmlessly");
    a.create_tenant("acme", None).await.expect("tenant");
    assert_eq!(
        b.get_tenant("acme")
            .await
            .expect("visible to the other pool")
            .id,
        "acme"
    );
}

#[test]
fn both_backends_have_the_same_migrations() {
    let list = |m: &sqlx::migrate::Migrator| {
        m.iter()
            .map(|m| (m.version, m.description.to_string()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        list(&super::migrator(super::Backend::Sqlite)),
        list(&super::migrator(super::Backend::Postgres)),
        "every migration needs a PostgreSQL twin in migrations/postgres/"
    );
}
