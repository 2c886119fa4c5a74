//! Users: CRUD, Auth0 metadata semantics, search, logins, concurrency.

use std::sync::Arc;

use serde_json::json;

use super::super::NewUser;
use super::*;

#[tokio::test]
async fn user_crud_and_defaults() {
    let (_dir, store) = store_with_tenant().await;
    let u = user(&store, "acme", DB, "Jane.Doe@Example.com").await;
    let hex_part = u.user_id.strip_prefix("auth0|").expect("auth0| prefix");
    assert_eq!(hex_part.len(), 24);
    assert!(hex_part.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(u.email.as_deref(), Some("jane.doe@example.com"));
    assert_eq!(u.name.as_deref(), Some("jane.doe@example.com"));
    assert_eq!(u.nickname.as_deref(), Some("jane.doe"));
    assert_eq!(u.connection, DB);
    assert_eq!(u.logins_count, 0);
    assert!(u.last_login.is_none());
    assert!(!u.blocked && !u.email_verified);
    assert_eq!(u.identities.len(), 1);
    assert_eq!(u.identities[0].user_id, hex_part);

    let json = serde_json::to_value(&u).expect("serialize");
    assert_eq!(
        json["identities"],
        json!([{"connection": DB, "provider": "auth0", "user_id": hex_part, "isSocial": false}])
    );
    assert!(json.get("password_hash").is_none());
    assert!(json.get("connection").is_none());
    assert!(
        json.get("username").is_none(),
        "unset attributes are omitted"
    );
    assert_eq!(json["app_metadata"], json!({}));

    // Same email (any case) in the same connection conflicts; another connection is fine.
    let msg = assert_conflict(
        store
            .create_user(
                "acme",
                NewUser {
                    connection: DB.into(),
                    email: Some("JANE.DOE@example.com".into()),
                    ..NewUser::default()
                },
            )
            .await,
    );
    assert_eq!(msg, "The user already exists.");
    connection(&store, "acme", "other-db").await;
    let twin = user(&store, "acme", "other-db", "jane.doe@example.com").await;

    // Username uniqueness per connection.
    let with_username = NewUser {
        connection: DB.into(),
        email: Some("u1@example.com".into()),
        username: Some("jane".into()),
        ..NewUser::default()
    };
    store
        .create_user("acme", with_username.clone())
        .await
        .expect("username user");
    let msg = assert_conflict(
        store
            .create_user(
                "acme",
                NewUser {
                    email: Some("u2@example.com".into()),
                    ..with_username
                },
            )
            .await,
    );
    assert_eq!(msg, "The username provided is in use already.");

    assert_not_found(
        store
            .create_user(
                "acme",
                NewUser {
                    connection: "missing".into(),
                    ..NewUser::default()
                },
            )
            .await,
    );
    assert_invalid(
        store
            .create_user(
                "acme",
                NewUser {
                    connection: DB.into(),
                    email: Some("not-an-email".into()),
                    ..NewUser::default()
                },
            )
            .await,
    );
    assert_invalid(
        store
            .create_user(
                "acme",
                NewUser {
                    connection: DB.into(),
                    app_metadata: Some(json!([1])),
                    ..NewUser::default()
                },
            )
            .await,
    );

    assert_eq!(store.get_user("acme", &u.user_id).await.expect("get"), u);
    assert_eq!(
        store
            .user_by_email("acme", DB, "JANE.doe@example.com")
            .await
            .expect("by email"),
        u
    );
    assert_not_found(store.user_by_email("acme", DB, "nobody@example.com").await);
    let all = store
        .users_by_email("acme", "jane.doe@example.com")
        .await
        .expect("users by email");
    // Both connections' users, in no promised order (both may share a millisecond).
    let mut found: Vec<&str> = all.iter().map(|u| u.user_id.as_str()).collect();
    let mut expected = [u.user_id.as_str(), twin.user_id.as_str()];
    found.sort_unstable();
    expected.sort_unstable();
    assert_eq!(found, expected);

    assert_eq!(
        store
            .password_hash("acme", &u.user_id)
            .await
            .expect("hash")
            .as_deref(),
        Some("$2b$10$hash")
    );
    store
        .set_password_hash("acme", &u.user_id, "$2b$10$new")
        .await
        .expect("set hash");
    assert_eq!(
        store
            .password_hash("acme", &u.user_id)
            .await
            .expect("hash")
            .as_deref(),
        Some("$2b$10$new")
    );
    assert_not_found(store.password_hash("acme", "auth0|missing").await);
    assert_not_found(store.set_password_hash("acme", "auth0|missing", "x").await);

    store.delete_user("acme", &u.user_id).await.expect("delete");
    assert_not_found(store.get_user("acme", &u.user_id).await);
    assert_not_found(store.delete_user("acme", &u.user_id).await);
}

#[tokio::test]
async fn imported_users_keep_their_id() {
    let (_dir, store) = store_with_tenant().await;
    let new = |id: &str, email: &str| NewUser {
        connection: DB.into(),
        user_id: Some(id.into()),
        email: Some(email.into()),
        ..NewUser::default()
    };
    let a = store
        .create_user("acme", new("legacy-42", "a@example.com"))
        .await
        .expect("plain id");
    assert_eq!(a.user_id, "auth0|legacy-42");
    assert_eq!(a.identities[0].user_id, "legacy-42");
    let b = store
        .create_user("acme", new("auth0|abc", "b@example.com"))
        .await
        .expect("prefixed id");
    assert_eq!(b.user_id, "auth0|abc");
    let msg = assert_conflict(store.create_user("acme", new("abc", "c@example.com")).await);
    assert_eq!(msg, "The user already exists.");
    assert_invalid(store.create_user("acme", new("", "d@example.com")).await);
}

#[tokio::test]
async fn update_user_follows_auth0_patch_semantics() {
    let (_dir, store) = store_with_tenant().await;
    let u = store
        .create_user(
            "acme",
            NewUser {
                connection: DB.into(),
                email: Some("a@example.com".into()),
                given_name: Some("Ann".into()),
                app_metadata: Some(
                    json!({"plan": "free", "roles": ["a"], "nested": {"x": 1, "y": 2}}),
                ),
                user_metadata: Some(json!({"theme": "dark", "lang": "en"})),
                ..NewUser::default()
            },
        )
        .await
        .expect("create");

    let updated = store
        .update_user(
            "acme",
            &u.user_id,
            json!({
                "app_metadata": {"plan": "pro", "roles": null, "nested": {"x": 3}},
                "user_metadata": {"lang": null, "tz": "UTC"},
                "given_name": null,
                "family_name": "Smith",
                "email_verified": true,
                "blocked": true,
            }),
        )
        .await
        .expect("update");
    // One level deep: "nested" is replaced, not merged; null deletes keys.
    assert_eq!(
        updated.app_metadata,
        json!({"plan": "pro", "nested": {"x": 3}})
    );
    assert_eq!(updated.user_metadata, json!({"theme": "dark", "tz": "UTC"}));
    assert_eq!(updated.given_name, None);
    assert_eq!(updated.family_name.as_deref(), Some("Smith"));
    assert!(updated.email_verified && updated.blocked);
    assert_eq!(updated.email, u.email);

    let cleared = store
        .update_user(
            "acme",
            &u.user_id,
            json!({"user_metadata": null, "connection": DB}),
        )
        .await
        .expect("clear metadata");
    assert_eq!(cleared.user_metadata, json!({}));
    assert_eq!(cleared.app_metadata, updated.app_metadata);

    let moved = store
        .update_user("acme", &u.user_id, json!({"email": "NEW@example.com"}))
        .await
        .expect("email");
    assert_eq!(moved.email.as_deref(), Some("new@example.com"));
    user(&store, "acme", DB, "taken@example.com").await;
    assert_eq!(
        assert_conflict(
            store
                .update_user("acme", &u.user_id, json!({"email": "taken@example.com"}))
                .await
        ),
        "The user already exists."
    );

    assert_invalid(
        store
            .update_user("acme", &u.user_id, json!({"password": "hunter2"}))
            .await,
    );
    assert_invalid(
        store
            .update_user("acme", &u.user_id, json!({"user_id": "x"}))
            .await,
    );
    assert_invalid(
        store
            .update_user("acme", &u.user_id, json!({"app_metadata": "x"}))
            .await,
    );
    assert_invalid(
        store
            .update_user("acme", &u.user_id, json!({"blocked": "yes"}))
            .await,
    );
    assert_invalid(
        store
            .update_user("acme", &u.user_id, json!({"connection": "other"}))
            .await,
    );
    assert_not_found(
        store
            .update_user("acme", "auth0|missing", json!({"name": "x"}))
            .await,
    );

    // A refused update changed nothing.
    assert_eq!(
        store
            .get_user("acme", &u.user_id)
            .await
            .expect("get")
            .email
            .as_deref(),
        Some("new@example.com")
    );
}

#[tokio::test]
async fn merge_metadata_applies_pipeline_batches() {
    let (_dir, store) = store_with_tenant().await;
    let u = user(&store, "acme", DB, "a@example.com").await;
    store
        .update_user(
            "acme",
            &u.user_id,
            json!({"app_metadata": {"keep": 1, "drop": 2}}),
        )
        .await
        .expect("seed");
    let merged = store
        .merge_metadata(
            "acme",
            &u.user_id,
            obj(json!({"drop": null, "new": true})),
            obj(json!({"color": "blue"})),
        )
        .await
        .expect("merge");
    assert_eq!(merged.app_metadata, json!({"keep": 1, "new": true}));
    assert_eq!(merged.user_metadata, json!({"color": "blue"}));
    assert_not_found(
        store
            .merge_metadata("acme", "auth0|missing", obj(json!({})), obj(json!({})))
            .await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_merge_metadata_loses_nothing() {
    let (_dir, store) = store_with_tenant().await;
    let u = user(&store, "acme", DB, "a@example.com").await;
    let store = Arc::new(store);
    let mut tasks = Vec::new();
    for i in 0..20 {
        let store = Arc::clone(&store);
        let user_id = u.user_id.clone();
        tasks.push(tokio::spawn(async move {
            let app = obj(json!({ format!("app{i}"): i }));
            let usr = obj(json!({ format!("user{i}"): i }));
            store.merge_metadata("acme", &user_id, app, usr).await
        }));
    }
    // Logins and reads run alongside the writers.
    for _ in 0..10 {
        store
            .record_login("acme", &u.user_id, "10.0.0.1")
            .await
            .expect("login");
        store.get_user("acme", &u.user_id).await.expect("read");
    }
    for task in tasks {
        task.await.expect("join").expect("merge");
    }
    let final_user = store.get_user("acme", &u.user_id).await.expect("get");
    let app = final_user.app_metadata.as_object().expect("object");
    let usr = final_user.user_metadata.as_object().expect("object");
    assert_eq!(app.len(), 20, "{app:?}");
    assert_eq!(usr.len(), 20, "{usr:?}");
    for i in 0..20 {
        assert_eq!(app.get(&format!("app{i}")), Some(&json!(i)));
        assert_eq!(usr.get(&format!("user{i}")), Some(&json!(i)));
    }
    assert_eq!(final_user.logins_count, 10);
}

#[tokio::test]
async fn record_login_counts() {
    let (_dir, store) = store_with_tenant().await;
    let u = user(&store, "acme", DB, "a@example.com").await;
    store
        .record_login("acme", &u.user_id, "1.2.3.4")
        .await
        .expect("login");
    store
        .record_login("acme", &u.user_id, "5.6.7.8")
        .await
        .expect("login");
    let u = store.get_user("acme", &u.user_id).await.expect("get");
    assert_eq!(u.logins_count, 2);
    assert_eq!(u.last_ip.as_deref(), Some("5.6.7.8"));
    assert!(u.last_login.as_deref().is_some_and(|t| t.ends_with('Z')));
    assert_not_found(store.record_login("acme", "auth0|missing", "1.1.1.1").await);
}

#[tokio::test]
async fn list_users_pages_and_searches() {
    let (_dir, store) = store_with_tenant().await;
    for i in 0..7 {
        user(&store, "acme", DB, &format!("user{i}@example.com")).await;
    }
    store
        .create_user(
            "acme",
            NewUser {
                connection: DB.into(),
                email: Some("zed@corp.test".into()),
                name: Some("Zed 100%_Real".into()),
                ..NewUser::default()
            },
        )
        .await
        .expect("zed");

    let (page0, total) = store.list_users("acme", 0, 3, None).await.expect("page 0");
    assert_eq!(total, 8);
    assert_eq!(page0.len(), 3);
    let (page2, _) = store.list_users("acme", 2, 3, None).await.expect("page 2");
    assert_eq!(page2.len(), 2);
    let (all, _) = store
        .list_users("acme", 0, 1000, Some("  "))
        .await
        .expect("clamped");
    assert_eq!(all.len(), 8);
    let mut ids: Vec<_> = all.iter().map(|u| u.user_id.clone()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 8);

    let (exact, total) = store
        .list_users("acme", 0, 50, Some(r#"email:"USER3@example.com""#))
        .await
        .expect("exact");
    assert_eq!(total, 1);
    assert_eq!(exact[0].email.as_deref(), Some("user3@example.com"));
    let (_, total) = store
        .list_users("acme", 0, 50, Some("email:user3"))
        .await
        .expect("exact, no match");
    assert_eq!(total, 0);
    let (_, total) = store
        .list_users("acme", 0, 50, Some(&format!("connection:{DB}")))
        .await
        .expect("by connection");
    assert_eq!(total, 8);

    let (_, total) = store
        .list_users("acme", 0, 50, Some("EXAMPLE.com"))
        .await
        .expect("substring");
    assert_eq!(total, 7);
    let (found, total) = store
        .list_users("acme", 0, 50, Some("100%_r"))
        .await
        .expect("wildcards are literal");
    assert_eq!(total, 1);
    assert_eq!(found[0].email.as_deref(), Some("zed@corp.test"));
    let (_, total) = store
        .list_users("acme", 0, 50, Some("%"))
        .await
        .expect("percent is literal");
    assert_eq!(total, 1);
    let (_, total) = store
        .list_users("acme", 0, 50, Some("unknownfield:x"))
        .await
        .expect("plain text");
    assert_eq!(total, 0);
}
