//! Tenants, signing keys, clients, client grants and connections.

use serde_json::json;

use super::super::{NewClient, NewSigningKey, StoreError};
use super::*;

#[tokio::test]
async fn tenant_crud() {
    let (_dir, store) = temp_store().await;
    let t = store
        .create_tenant("acme", Some("Login.Acme.COM"))
        .await
        .expect("create");
    assert_eq!(t.id, "acme");
    assert_eq!(t.friendly_name, "acme");
    assert_eq!(t.signing_alg, "RS256");
    assert_eq!(t.limits, json!({}));
    assert_eq!(t.domain.as_deref(), Some("login.acme.com"));
    assert_eq!(t.created_at.len(), "2026-11-28T10:00:00.000Z".len());
    assert!(t.created_at.ends_with('Z'));

    assert_conflict(store.create_tenant("acme", None).await);
    let msg = assert_conflict(store.create_tenant("other", Some("login.acme.com")).await);
    assert!(msg.contains("domain"), "{msg}");
    assert_invalid(store.create_tenant("bad id!", None).await);

    assert_eq!(
        store
            .tenant_by_domain("LOGIN.acme.com")
            .await
            .expect("by domain")
            .id,
        "acme"
    );
    assert_not_found(store.tenant_by_domain("nope.example.com").await);
    assert_not_found(store.get_tenant("nope").await);

    store.create_tenant("beta", None).await.expect("beta");
    let ids: Vec<String> = store
        .list_tenants()
        .await
        .expect("list")
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(ids, ["acme", "beta"]);

    let t = store
        .update_tenant_settings("acme", Some("ES256"), Some(json!({"fuel": 1000})))
        .await
        .expect("update");
    assert_eq!(t.signing_alg, "ES256");
    assert_eq!(t.limits, json!({"fuel": 1000}));
    let t = store
        .update_tenant_settings("acme", None, None)
        .await
        .expect("no-op update");
    assert_eq!(t.signing_alg, "ES256");
    assert_invalid(
        store
            .update_tenant_settings("acme", Some("HS256"), None)
            .await,
    );
    assert_invalid(
        store
            .update_tenant_settings("acme", None, Some(json!([1])))
            .await,
    );
    assert_not_found(
        store
            .update_tenant_settings("nope", Some("RS256"), None)
            .await,
    );
}

fn key(kid: &str) -> NewSigningKey {
    NewSigningKey {
        kid: kid.into(),
        alg: "RS256".into(),
        private_pem: format!("PEM-{kid}"),
        public_jwk: json!({"kty": "RSA", "kid": kid}),
    }
}

#[tokio::test]
async fn signing_keys_rotate_and_stay_published() {
    let (_dir, store) = store_with_tenant().await;
    let k1 = key("k1");
    let stored = store
        .insert_signing_key(
            "acme",
            &k1.kid,
            &k1.alg,
            &k1.private_pem,
            &k1.public_jwk,
            "current",
        )
        .await
        .expect("insert");
    assert_eq!(stored.private_pem, "PEM-k1");
    let json = serde_json::to_value(&stored).expect("serialize");
    assert!(
        json.get("private_pem").is_none(),
        "private key must not serialize"
    );

    let k2 = key("k2");
    let msg = assert_conflict(
        store
            .insert_signing_key(
                "acme",
                &k2.kid,
                &k2.alg,
                &k2.private_pem,
                &k2.public_jwk,
                "current",
            )
            .await,
    );
    assert!(msg.contains("current"), "{msg}");
    assert_conflict(
        store
            .insert_signing_key(
                "acme",
                &k1.kid,
                &k1.alg,
                &k1.private_pem,
                &k1.public_jwk,
                "next",
            )
            .await,
    );
    assert_invalid(
        store
            .insert_signing_key("acme", "k9", "RS256", "p", &json!({}), "bogus")
            .await,
    );
    assert_not_found(
        store
            .insert_signing_key("nope", "k9", "RS256", "p", &json!({}), "next")
            .await,
    );

    store
        .insert_signing_key("acme", "k0", "RS256", "p0", &json!({}), "next")
        .await
        .expect("next key");
    store
        .rotate_signing_keys("acme", &k2)
        .await
        .expect("rotate");
    store
        .rotate_signing_keys("acme", &key("k3"))
        .await
        .expect("rotate again");
    let keys = store.signing_keys("acme").await.expect("keys");
    let summary: Vec<(&str, &str)> = keys
        .iter()
        .map(|k| (k.kid.as_str(), k.state.as_str()))
        .collect();
    assert_eq!(summary[0], ("k3", "current"));
    assert_eq!(summary[1], ("k0", "next"));
    assert_eq!(summary.len(), 4);
    assert!(summary.contains(&("k2", "previous")) && summary.contains(&("k1", "previous")));

    let revoked = store
        .revoke_signing_key("acme", "k1")
        .await
        .expect("revoke");
    assert_eq!(
        (revoked.state.as_str(), revoked.private_pem.as_str()),
        ("revoked", "")
    );
    assert_eq!(store.signing_keys("acme").await.expect("keys").len(), 3);
    assert_not_found(store.revoke_signing_key("acme", "missing").await);
    assert!(matches!(
        store.revoke_signing_key("acme", "k1").await,
        Err(StoreError::Conflict(_))
    ));
    for kid in ["k3", "k0"] {
        assert!(
            matches!(
                store.revoke_signing_key("acme", kid).await,
                Err(StoreError::Invalid(_))
            ),
            "{kid} is current or next"
        );
    }
    let kept = store.signing_key("acme", "k1").await.expect("kept");
    assert_eq!(kept.state, "revoked");
    assert!(kept.revoked_at.is_some(), "when it was revoked is recorded");

    // Another algorithm has a current key of its own, which RS256 rotations leave alone.
    store
        .insert_signing_key("acme", "e1", "ES256", "pe", &json!({}), "current")
        .await
        .expect("a current key of a second algorithm");
    assert_conflict(
        store
            .insert_signing_key("acme", "e2", "ES256", "pe", &json!({}), "current")
            .await,
    );
    store
        .rotate_signing_keys("acme", &key("k4"))
        .await
        .expect("rotate RS256");
    let mut current: Vec<String> = store
        .signing_keys("acme")
        .await
        .expect("keys")
        .into_iter()
        .filter(|k| k.state == "current")
        .map(|k| k.kid)
        .collect();
    current.sort();
    assert_eq!(current, ["e1", "k4"]);
}

#[tokio::test]
async fn client_crud_and_defaults() {
    let (_dir, store) = store_with_tenant().await;
    let spa = store
        .create_client(
            "acme",
            NewClient {
                name: "My SPA".into(),
                app_type: "spa".into(),
                callbacks: vec!["https://app.example.com/cb".into()],
                ..NewClient::default()
            },
            "spa-hash",
        )
        .await
        .expect("create");
    assert_eq!(spa.client_id.len(), 32);
    assert!(spa.client_id.chars().all(|c| c.is_ascii_alphanumeric()));
    assert_eq!(spa.token_endpoint_auth_method, "none");
    assert_eq!(
        spa.grant_types,
        ["authorization_code", "implicit", "refresh_token"]
    );
    assert_eq!(spa.jwt_configuration.lifetime_in_seconds, 36_000);
    assert!(spa.is_first_party);

    let json = serde_json::to_value(&spa).expect("serialize");
    assert!(json.get("client_secret_hash").is_none());
    assert!(json.get("description").is_none());
    assert_eq!(
        json["jwt_configuration"],
        json!({"lifetime_in_seconds": 36000})
    );

    // The body of POST /api/v2/clients deserializes into NewClient.
    let body =
        json!({"name": "M2M", "app_type": "non_interactive", "client_metadata": {"team": "x"}});
    let new: NewClient = serde_json::from_value(body).expect("deserialize");
    let m2m = store
        .create_client("acme", new, "m2m-hash")
        .await
        .expect("create m2m");
    assert_eq!(m2m.grant_types, ["client_credentials"]);
    assert_eq!(m2m.token_endpoint_auth_method, "client_secret_post");
    assert_eq!(m2m.client_metadata, obj(json!({"team": "x"})));

    let fixed = store
        .create_client(
            "acme",
            NewClient {
                client_id: Some("fixed-id".into()),
                name: "fixed".into(),
                ..NewClient::default()
            },
            "h",
        )
        .await
        .expect("fixed id");
    assert_eq!(fixed.client_id, "fixed-id");
    assert_conflict(
        store
            .create_client(
                "acme",
                NewClient {
                    client_id: Some("fixed-id".into()),
                    name: "again".into(),
                    ..NewClient::default()
                },
                "h",
            )
            .await,
    );
    assert_invalid(
        store
            .create_client(
                "acme",
                NewClient {
                    name: "bad".into(),
                    app_type: "desktop".into(),
                    ..NewClient::default()
                },
                "h",
            )
            .await,
    );
    assert_not_found(
        store
            .create_client(
                "nope",
                NewClient {
                    name: "x".into(),
                    ..NewClient::default()
                },
                "h",
            )
            .await,
    );

    assert_eq!(
        store.get_client("acme", &spa.client_id).await.expect("get"),
        spa
    );
    assert_eq!(store.list_clients("acme").await.expect("list").len(), 3);

    let updated = store
        .update_client(
            "acme",
            &spa.client_id,
            json!({"name": "Renamed", "callbacks": [], "jwt_configuration": {"alg": "ES256", "lifetime_in_seconds": 60}, "description": "d"}),
        )
        .await
        .expect("update");
    assert_eq!(updated.name, "Renamed");
    assert!(updated.callbacks.is_empty());
    assert_eq!(updated.jwt_configuration.alg.as_deref(), Some("ES256"));
    assert_eq!(updated.description.as_deref(), Some("d"));
    assert_eq!(updated.web_origins, spa.web_origins);
    let cleared = store
        .update_client("acme", &spa.client_id, json!({"description": null}))
        .await
        .expect("clear description");
    assert_eq!(cleared.description, None);
    let msg = assert_invalid(
        store
            .update_client("acme", &spa.client_id, json!({"client_id": "x"}))
            .await,
    );
    assert!(msg.contains("client_id"), "{msg}");
    assert_invalid(
        store
            .update_client("acme", &spa.client_id, json!({"name": 5}))
            .await,
    );
    assert_invalid(
        store
            .update_client("acme", &spa.client_id, json!({"app_type": "tv"}))
            .await,
    );
    assert_invalid(
        store
            .update_client("acme", &spa.client_id, json!([1]))
            .await,
    );
    assert_not_found(
        store
            .update_client("acme", "missing", json!({"name": "x"}))
            .await,
    );

    assert_eq!(
        store
            .client_secret_hash("acme", &spa.client_id)
            .await
            .expect("hash")
            .as_deref(),
        Some("spa-hash")
    );
    store
        .set_client_secret_hash("acme", &spa.client_id, "rotated")
        .await
        .expect("set hash");
    assert_eq!(
        store
            .client_secret_hash("acme", &spa.client_id)
            .await
            .expect("hash")
            .as_deref(),
        Some("rotated")
    );
    assert_not_found(store.client_secret_hash("acme", "missing").await);
    assert_not_found(store.set_client_secret_hash("acme", "missing", "x").await);

    store
        .delete_client("acme", &spa.client_id)
        .await
        .expect("delete");
    assert_not_found(store.get_client("acme", &spa.client_id).await);
    assert_not_found(store.delete_client("acme", &spa.client_id).await);
}

#[tokio::test]
async fn client_grants() {
    let (_dir, store) = store_with_tenant().await;
    let a = client(&store, "acme", "a").await;
    let b = client(&store, "acme", "b").await;
    let api = "https://api.example.com/";
    let g = store
        .create_client_grant("acme", &a.client_id, api, vec!["read:things".into()])
        .await
        .expect("grant");
    assert!(g.id.starts_with("cgr_") && g.id.len() == 20, "{}", g.id);
    assert_conflict(
        store
            .create_client_grant("acme", &a.client_id, api, vec![])
            .await,
    );
    assert_not_found(
        store
            .create_client_grant("acme", "missing", api, vec![])
            .await,
    );
    assert_invalid(
        store
            .create_client_grant("acme", &a.client_id, "", vec![])
            .await,
    );
    store
        .create_client_grant("acme", &a.client_id, "https://other/", vec![])
        .await
        .expect("second audience");
    store
        .create_client_grant("acme", &b.client_id, api, vec![])
        .await
        .expect("second client");

    assert_eq!(
        store
            .list_client_grants("acme", None, None)
            .await
            .expect("all")
            .len(),
        3
    );
    assert_eq!(
        store
            .list_client_grants("acme", Some(&a.client_id), None)
            .await
            .expect("by client")
            .len(),
        2
    );
    assert_eq!(
        store
            .list_client_grants("acme", None, Some(api))
            .await
            .expect("by audience")
            .len(),
        2
    );
    assert_eq!(
        store
            .list_client_grants("acme", Some(&b.client_id), Some(api))
            .await
            .expect("both")
            .len(),
        1
    );

    assert_eq!(
        store
            .find_client_grant("acme", &a.client_id, api)
            .await
            .expect("find"),
        g
    );
    assert_not_found(
        store
            .find_client_grant("acme", &a.client_id, "https://none/")
            .await,
    );

    let g2 = store
        .update_client_grant(
            "acme",
            &g.id,
            vec!["read:things".into(), "write:things".into()],
        )
        .await
        .expect("update");
    assert_eq!(g2.scope, ["read:things", "write:things"]);
    assert_eq!(
        store.get_client_grant("acme", &g.id).await.expect("get"),
        g2
    );
    store
        .delete_client_grant("acme", &g.id)
        .await
        .expect("delete");
    assert_not_found(store.get_client_grant("acme", &g.id).await);
    assert_not_found(store.update_client_grant("acme", &g.id, vec![]).await);

    // Deleting a client deletes its grants.
    store
        .delete_client("acme", &b.client_id)
        .await
        .expect("delete client");
    assert!(
        store
            .list_client_grants("acme", Some(&b.client_id), None)
            .await
            .expect("list")
            .is_empty()
    );
}

#[tokio::test]
async fn connection_crud() {
    let (_dir, store) = store_with_tenant().await;
    let options = json!({
        "enabledDatabaseCustomization": true,
        "import_mode": true,
        "customScripts": {"login": "function login(u, p, cb) { cb(null, {user_id: '1'}); }"},
        "configuration": {"API": "x"},
    });
    let c = store
        .create_connection(
            "acme",
            "legacy-db",
            "auth0",
            options.clone(),
            vec!["cid".into()],
        )
        .await
        .expect("create");
    assert!(c.id.starts_with("con_") && c.id.len() == 20, "{}", c.id);
    assert_eq!(c.options, options);
    assert_eq!(c.realms, ["legacy-db"]);
    assert_eq!(c.enabled_clients, ["cid"]);

    let msg = assert_conflict(
        store
            .create_connection("acme", "legacy-db", "auth0", json!({}), vec![])
            .await,
    );
    assert_eq!(msg, "a connection named legacy-db already exists");
    assert_invalid(
        store
            .create_connection("acme", "bad name", "auth0", json!({}), vec![])
            .await,
    );
    assert_invalid(
        store
            .create_connection("acme", "-bad", "auth0", json!({}), vec![])
            .await,
    );
    assert_invalid(
        store
            .create_connection("acme", "ok-name", "auth0", json!("x"), vec![])
            .await,
    );
    assert_not_found(
        store
            .create_connection("nope", "db", "auth0", json!({}), vec![])
            .await,
    );

    assert_eq!(store.get_connection("acme", &c.id).await.expect("get"), c);
    assert_eq!(
        store
            .connection_by_name("acme", "legacy-db")
            .await
            .expect("by name"),
        c
    );
    assert_not_found(store.connection_by_name("acme", "nope").await);
    assert_eq!(store.list_connections("acme").await.expect("list").len(), 2);
    let filtered = store
        .list_connections_filtered("acme", Some("auth0"), Some("legacy-db"))
        .await
        .expect("filter");
    assert_eq!(filtered, std::slice::from_ref(&c));
    assert!(
        store
            .list_connections_filtered("acme", Some("google-oauth2"), None)
            .await
            .expect("filter")
            .is_empty()
    );

    // PATCH options replaces the whole object.
    let updated = store
        .update_connection(
            "acme",
            &c.id,
            json!({"options": {"import_mode": false}, "enabled_clients": []}),
        )
        .await
        .expect("update");
    assert_eq!(updated.options, json!({"import_mode": false}));
    assert!(updated.enabled_clients.is_empty());
    assert_eq!(updated.name, "legacy-db");
    assert_invalid(
        store
            .update_connection("acme", &c.id, json!({"name": "renamed"}))
            .await,
    );
    assert_invalid(
        store
            .update_connection("acme", &c.id, json!({"strategy": "x"}))
            .await,
    );
    assert_invalid(
        store
            .update_connection("acme", &c.id, json!({"options": null}))
            .await,
    );
    assert_not_found(
        store
            .update_connection("acme", "con_missing", json!({}))
            .await,
    );

    // Deleting a connection deletes its users.
    let u = user(&store, "acme", "legacy-db", "a@example.com").await;
    let other = user(&store, "acme", DB, "a@example.com").await;
    store
        .delete_connection("acme", &c.id)
        .await
        .expect("delete");
    assert_not_found(store.get_user("acme", &u.user_id).await);
    assert_eq!(
        store
            .get_user("acme", &other.user_id)
            .await
            .expect("other survives")
            .user_id,
        other.user_id
    );
    assert_not_found(store.delete_connection("acme", &c.id).await);
}

#[tokio::test]
async fn errors_display_readably() {
    assert_eq!(StoreError::NotFound("user").to_string(), "user not found");
    assert_eq!(
        StoreError::Conflict("The user already exists.".into()).to_string(),
        "The user already exists."
    );
}
