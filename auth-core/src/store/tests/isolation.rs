//! Tenant isolation: tenant B addressing tenant A's rows by id sees `NotFound` (or nothing)
//! and changes nothing.

use std::time::{Duration, SystemTime};

use serde_json::json;

use super::super::{NewRefreshToken, NewRule};
use super::*;

#[tokio::test]
async fn tenants_cannot_touch_each_others_rows() {
    let (_dir, store) = store_with_tenant().await;
    store.create_tenant("evil", None).await.expect("tenant B");
    // Tenant B has a connection with the same name, so name-based lookups are tested too.
    store
        .create_connection("evil", DB, "auth0", json!({}), vec![])
        .await
        .expect("B connection");

    // Tenant A's resources.
    let a_client = client(&store, "acme", "app").await;
    let a_conn = store
        .connection_by_name("acme", DB)
        .await
        .expect("A connection");
    let a_user = user(&store, "acme", DB, "victim@example.com").await;
    let a_grant = store
        .create_client_grant(
            "acme",
            &a_client.client_id,
            "https://api/",
            vec!["read".into()],
        )
        .await
        .expect("grant");
    let mut body = action_body(
        "secret-action",
        "exports.onExecutePostLogin = async () => {};",
    );
    body["secrets"] = json!([{"name": "KEY", "value": "top-secret"}]);
    let a_action = store
        .create_action("acme", body, None)
        .await
        .expect("action");
    let a_version = store
        .deploy_action("acme", &a_action.id, None)
        .await
        .expect("deploy");
    store
        .set_bindings("acme", "post-login", vec![a_action.id.clone()])
        .await
        .expect("bind");
    let a_rule = store
        .create_rule(
            "acme",
            NewRule {
                name: "r".into(),
                script: "function (u, c, cb) { cb(null, u, c); }".into(),
                ..NewRule::default()
            },
        )
        .await
        .expect("rule");
    store
        .set_rules_config("acme", "KEY", "value")
        .await
        .expect("config");
    store
        .insert_refresh_token(
            "acme",
            NewRefreshToken {
                token_hash: "rt",
                client_id: &a_client.client_id,
                user_id: &a_user.user_id,
                scope: "openid",
                audience: None,
                expires_at: SystemTime::now() + Duration::from_secs(60),
                family_expires_at: SystemTime::now() + Duration::from_secs(60),
                family_id: None,
            },
        )
        .await
        .expect("refresh token");
    store
        .insert_signing_key("acme", "kid-a", "RS256", "PEM", &json!({}), "current")
        .await
        .expect("key");

    let before_client = store
        .get_client("acme", &a_client.client_id)
        .await
        .expect("client");
    let before_conn = store
        .get_connection("acme", &a_conn.id)
        .await
        .expect("connection");
    let before_user = store.get_user("acme", &a_user.user_id).await.expect("user");
    let before_action = store
        .get_action("acme", &a_action.id)
        .await
        .expect("action");
    let before_rule = store.get_rule("acme", &a_rule.id).await.expect("rule");

    let b = "evil";
    // Clients.
    assert_not_found(store.get_client(b, &a_client.client_id).await);
    assert_not_found(
        store
            .update_client(b, &a_client.client_id, json!({"name": "pwned"}))
            .await,
    );
    assert_not_found(store.delete_client(b, &a_client.client_id).await);
    assert_not_found(store.client_secret_hash(b, &a_client.client_id).await);
    assert_not_found(
        store
            .set_client_secret_hash(b, &a_client.client_id, "pwned")
            .await,
    );
    assert!(store.list_clients(b).await.expect("list").is_empty());
    // Client grants (including granting oneself access to A's client).
    assert_not_found(store.get_client_grant(b, &a_grant.id).await);
    assert_not_found(
        store
            .update_client_grant(b, &a_grant.id, vec!["all".into()])
            .await,
    );
    assert_not_found(store.delete_client_grant(b, &a_grant.id).await);
    assert_not_found(
        store
            .find_client_grant(b, &a_client.client_id, "https://api/")
            .await,
    );
    assert_not_found(
        store
            .create_client_grant(b, &a_client.client_id, "https://evil/", vec![])
            .await,
    );
    assert!(
        store
            .list_client_grants(b, None, None)
            .await
            .expect("list")
            .is_empty()
    );
    // Connections.
    assert_not_found(store.get_connection(b, &a_conn.id).await);
    assert_not_found(
        store
            .update_connection(b, &a_conn.id, json!({"options": {}}))
            .await,
    );
    assert_not_found(store.delete_connection(b, &a_conn.id).await);
    assert_ne!(
        store.connection_by_name(b, DB).await.expect("B's own").id,
        a_conn.id
    );
    // Users.
    assert_not_found(store.get_user(b, &a_user.user_id).await);
    assert_not_found(
        store
            .update_user(b, &a_user.user_id, json!({"blocked": true}))
            .await,
    );
    assert_not_found(store.delete_user(b, &a_user.user_id).await);
    assert_not_found(store.password_hash(b, &a_user.user_id).await);
    assert_not_found(store.set_password_hash(b, &a_user.user_id, "pwned").await);
    assert_not_found(store.record_login(b, &a_user.user_id, "6.6.6.6").await);
    assert_not_found(
        store
            .merge_metadata(
                b,
                &a_user.user_id,
                obj(json!({"admin": true})),
                obj(json!({})),
            )
            .await,
    );
    assert_not_found(store.user_by_email(b, DB, "victim@example.com").await);
    assert!(
        store
            .users_by_email(b, "victim@example.com")
            .await
            .expect("by email")
            .is_empty()
    );
    assert_eq!(store.list_users(b, 0, 50, None).await.expect("list").1, 0);
    // Actions, versions, secrets, bindings.
    assert_not_found(store.get_action(b, &a_action.id).await);
    assert_not_found(
        store
            .update_action(b, &a_action.id, json!({"code": "pwned"}), None)
            .await,
    );
    assert_not_found(store.delete_action(b, &a_action.id, true).await);
    assert_not_found(store.deploy_action(b, &a_action.id, None).await);
    assert_not_found(store.rollback_action(b, &a_action.id, &a_version.id).await);
    assert_not_found(
        store
            .get_action_version(b, &a_action.id, &a_version.id)
            .await,
    );
    assert_not_found(store.list_action_versions(b, &a_action.id).await);
    assert_not_found(store.deployed_version(b, &a_action.id).await);
    assert_not_found(store.action_module(b, &a_action.id).await);
    assert_not_found(
        store
            .action_version_module(b, &a_action.id, &a_version.id)
            .await,
    );
    assert!(
        store
            .action_secrets(b, &a_action.id)
            .await
            .expect("secrets")
            .is_empty()
    );
    assert_invalid(
        store
            .set_bindings(b, "post-login", vec![a_action.id.clone()])
            .await,
    );
    assert!(
        store
            .bindings(b, "post-login")
            .await
            .expect("bindings")
            .is_empty()
    );
    assert!(
        store
            .bound_deployed_versions(b, "post-login")
            .await
            .expect("pipeline")
            .is_empty()
    );
    assert!(
        store
            .list_actions(b, None, None)
            .await
            .expect("list")
            .is_empty()
    );
    // Rules and configuration.
    assert_not_found(store.get_rule(b, &a_rule.id).await);
    assert_not_found(
        store
            .update_rule(b, &a_rule.id, json!({"enabled": false}))
            .await,
    );
    assert_not_found(store.delete_rule(b, &a_rule.id).await);
    assert_not_found(store.delete_rules_config(b, "KEY").await);
    assert!(
        store
            .rules_config_values(b)
            .await
            .expect("config")
            .is_empty()
    );
    // Tokens and keys.
    assert_eq!(store.take_refresh_token(b, "rt").await.expect("take"), None);
    assert!(!store.revoke_refresh_token(b, "rt").await.expect("revoke"));
    assert_eq!(
        store
            .revoke_user_refresh_tokens(b, &a_user.user_id)
            .await
            .expect("revoke"),
        0
    );
    assert_not_found(store.revoke_signing_key(b, "kid-a").await);
    assert!(store.signing_keys(b).await.expect("keys").is_empty());
    // A user of B cannot be created in A's connection by naming it: B's own connection is used.
    let b_user = user(&store, b, DB, "victim@example.com").await;
    assert_eq!(b_user.connection, DB);

    // Tenant A's rows are unchanged.
    assert_eq!(
        store
            .get_client("acme", &a_client.client_id)
            .await
            .expect("client"),
        before_client
    );
    assert_eq!(
        store
            .client_secret_hash("acme", &a_client.client_id)
            .await
            .expect("hash")
            .as_deref(),
        Some("hash")
    );
    assert_eq!(
        store
            .get_client_grant("acme", &a_grant.id)
            .await
            .expect("grant"),
        a_grant
    );
    assert_eq!(
        store
            .get_connection("acme", &a_conn.id)
            .await
            .expect("connection"),
        before_conn
    );
    assert_eq!(
        store.get_user("acme", &a_user.user_id).await.expect("user"),
        before_user
    );
    assert_eq!(
        store
            .password_hash("acme", &a_user.user_id)
            .await
            .expect("hash")
            .as_deref(),
        Some("$2b$10$hash")
    );
    assert_eq!(
        store
            .get_action("acme", &a_action.id)
            .await
            .expect("action"),
        before_action
    );
    assert_eq!(
        store
            .list_action_versions("acme", &a_action.id)
            .await
            .expect("versions")
            .len(),
        1
    );
    assert_eq!(
        store
            .bindings("acme", "post-login")
            .await
            .expect("bindings")
            .len(),
        1
    );
    assert_eq!(
        store
            .action_secrets("acme", &a_action.id)
            .await
            .expect("secrets"),
        [("KEY".to_string(), "top-secret".to_string())]
    );
    assert_eq!(
        store.get_rule("acme", &a_rule.id).await.expect("rule"),
        before_rule
    );
    assert_eq!(store.rules_configs("acme").await.expect("configs").len(), 1);
    assert!(
        store
            .take_refresh_token("acme", "rt")
            .await
            .expect("take")
            .is_some()
    );
    assert_eq!(store.signing_keys("acme").await.expect("keys").len(), 1);
}
