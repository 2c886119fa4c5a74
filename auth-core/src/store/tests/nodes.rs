//! Two store handles on one database, as two auth-core nodes have: each with its own pool and
//! write gate, so only the database (SQLite's file lock, PostgreSQL's advisory locks) keeps
//! their read-modify-write sequences apart. Run on both backends by `make test`.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use serde_json::{Map, json};

use super::super::{NewRefreshToken, StoreError};
use super::*;

struct Nodes {
    _dir: tempfile::TempDir,
    a: Store,
    b: Store,
    client_id: String,
    user_id: String,
}

async fn nodes() -> Nodes {
    let (dir, a, location) = temp_store_at().await;
    a.create_tenant("acme", None).await.expect("tenant");
    a.create_connection("acme", DB, "auth0", json!({}), vec![])
        .await
        .expect("connection");
    let client_id = client(&a, "acme", "app").await.client_id;
    let user_id = user(&a, "acme", DB, "a@example.com").await.user_id;
    let b = open_again(&location).await;
    Nodes {
        _dir: dir,
        a,
        b,
        client_id,
        user_id,
    }
}

impl Nodes {
    fn node(&self, i: usize) -> Store {
        if i.is_multiple_of(2) {
            self.a.clone()
        } else {
            self.b.clone()
        }
    }

    async fn token(&self, hash: &str) {
        self.a
            .insert_refresh_token(
                "acme",
                NewRefreshToken {
                    token_hash: hash,
                    client_id: &self.client_id,
                    user_id: &self.user_id,
                    scope: "openid offline_access",
                    audience: None,
                    expires_at: SystemTime::now() + Duration::from_secs(3600),
                    family_expires_at: SystemTime::now() + Duration::from_secs(3600),
                    family_id: None,
                },
            )
            .await
            .expect("insert");
    }
}

fn later() -> SystemTime {
    SystemTime::now() + Duration::from_secs(3600)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_rotations_of_one_token_on_two_nodes_have_one_winner() {
    let n = nodes().await;
    n.token("h0").await;
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = n.node(i);
            tokio::spawn(async move {
                store
                    .rotate_refresh_token("acme", "h0", &format!("next-{i}"), later())
                    .await
            })
        })
        .collect();
    let mut winners = 0;
    for t in tasks {
        match t.await.expect("task") {
            Ok(Some(_)) => winners += 1,
            Ok(None) | Err(StoreError::Conflict(_)) => {}
            Err(e) => panic!("a rotation failed: {e}"),
        }
    }
    assert_eq!(winners, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_revoked_family_never_keeps_a_live_successor() {
    let n = nodes().await;
    for round in 0..30 {
        let first = format!("r{round}-0");
        let next = format!("r{round}-1");
        n.token(&first).await;
        let rotate = {
            let (store, first, next) = (n.a.clone(), first.clone(), next.clone());
            tokio::spawn(async move {
                store
                    .rotate_refresh_token("acme", &first, &next, later())
                    .await
            })
        };
        let revoke = {
            let (store, first) = (n.b.clone(), first.clone());
            tokio::spawn(async move { store.revoke_refresh_token("acme", &first).await })
        };
        rotate.await.expect("task").expect("rotation");
        assert!(revoke.await.expect("task").expect("revoke"), "known token");
        assert_eq!(
            n.a.peek_refresh_token("acme", &next)
                .await
                .expect("peek")
                .map(|(t, _)| t),
            None,
            "round {round}: the successor outlived its family's revocation"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_deploys_on_two_nodes_number_versions_once() {
    let n = nodes().await;
    let action =
        n.a.create_action(
            "acme",
            action_body("racy", "exports.onExecutePostLogin = async () => {};"),
            None,
        )
        .await
        .expect("create");
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let (store, id) = (n.node(i), action.id.clone());
            tokio::spawn(async move { store.deploy_action("acme", &id, None).await })
        })
        .collect();
    for t in tasks {
        t.await.expect("task").expect("deploy");
    }
    let versions =
        n.b.list_action_versions("acme", &action.id)
            .await
            .expect("versions");
    let numbers: HashSet<u32> = versions.iter().map(|v| v.number).collect();
    assert_eq!(numbers.len(), 10, "{numbers:?}");
    assert_eq!(versions.iter().filter(|v| v.deployed).count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn metadata_merges_on_two_nodes_lose_nothing() {
    let n = nodes().await;
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let (store, user_id) = (n.node(i), n.user_id.clone());
            tokio::spawn(async move {
                let mut app = Map::new();
                app.insert(format!("k{i}"), json!(i));
                store
                    .merge_metadata("acme", &user_id, app, Map::new())
                    .await
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("task").expect("merge");
    }
    let user = n.b.get_user("acme", &n.user_id).await.expect("user");
    let keys = user.app_metadata.as_object().map_or(0, Map::len);
    assert_eq!(keys, 20, "{}", user.app_metadata);
}

#[tokio::test]
async fn an_older_node_starts_on_a_database_a_newer_release_migrated() {
    let (_dir, store, location) = temp_store_at().await;
    // What a newer release leaves behind: a migration this binary does not know.
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (99999, 'from a newer release', TRUE, $1, 0)",
    )
    .bind(vec![0u8; 48])
    .execute(&store.pool)
    .await
    .expect("a newer release's migration recorded");
    // Restarted (or rolled back) during a rolling upgrade, this node must start.
    let again = open_again(&location).await;
    again
        .create_tenant("later", None)
        .await
        .expect("and work on the migrated database");
}
