//! Rules, rules-configs and execution logs.

use serde_json::json;

use super::super::{ExecutionLogInput, NewRule};
use super::*;

const SCRIPT: &str = "function (user, context, callback) { callback(null, user, context); }";

fn rule(name: &str, order: Option<i64>) -> NewRule {
    NewRule {
        name: name.into(),
        script: SCRIPT.into(),
        order,
        enabled: None,
    }
}

#[tokio::test]
async fn rule_crud_and_order() {
    let (_dir, store) = store_with_tenant().await;
    let a = store.create_rule("acme", rule("a", None)).await.expect("a");
    assert!(a.id.starts_with("rul_") && a.id.len() == 20, "{}", a.id);
    assert_eq!(
        (a.order, a.enabled, a.stage.as_str()),
        (1, true, "login_success")
    );
    let b = store.create_rule("acme", rule("b", None)).await.expect("b");
    assert_eq!(b.order, 2);
    let c = store
        .create_rule("acme", rule("c", Some(0)))
        .await
        .expect("c");
    assert_eq!(
        serde_json::to_value(&c).expect("json"),
        json!({"id": c.id, "name": "c", "script": SCRIPT, "order": 0, "enabled": true, "stage": "login_success"})
    );
    let order: Vec<String> = store
        .list_rules("acme")
        .await
        .expect("list")
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(order, ["c", "a", "b"]);

    assert_conflict(store.create_rule("acme", rule("a", None)).await);
    assert_invalid(
        store
            .create_rule(
                "acme",
                NewRule {
                    script: String::new(),
                    ..rule("x", None)
                },
            )
            .await,
    );
    assert_not_found(store.create_rule("nope", rule("x", None)).await);

    // The body of POST /api/v2/rules deserializes into NewRule.
    let new: NewRule =
        serde_json::from_value(json!({"name": "d", "script": SCRIPT, "enabled": false}))
            .expect("body");
    let d = store.create_rule("acme", new).await.expect("d");
    assert!(!d.enabled);

    let moved = store
        .update_rule("acme", &a.id, json!({"order": 10, "enabled": false}))
        .await
        .expect("update");
    assert_eq!(
        (moved.order, moved.enabled, moved.name.as_str()),
        (10, false, "a")
    );
    assert_eq!(store.get_rule("acme", &a.id).await.expect("get"), moved);
    assert_invalid(
        store
            .update_rule("acme", &a.id, json!({"stage": "pre_authorize"}))
            .await,
    );
    assert_invalid(
        store
            .update_rule("acme", &a.id, json!({"order": "first"}))
            .await,
    );
    assert_conflict(store.update_rule("acme", &a.id, json!({"name": "b"})).await);
    assert_not_found(store.update_rule("acme", "rul_missing", json!({})).await);
    let order: Vec<String> = store
        .list_rules("acme")
        .await
        .expect("list")
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(order, ["c", "b", "d", "a"]);

    store.delete_rule("acme", &b.id).await.expect("delete");
    assert_not_found(store.get_rule("acme", &b.id).await);
    assert_not_found(store.delete_rule("acme", &b.id).await);
}

#[tokio::test]
async fn rules_configs() {
    let (_dir, store) = store_with_tenant().await;
    store
        .set_rules_config("acme", "API_KEY", "one")
        .await
        .expect("set");
    store
        .set_rules_config("acme", "API_KEY", "two")
        .await
        .expect("overwrite");
    store
        .set_rules_config("acme", "AUDIENCE", "https://api")
        .await
        .expect("set");
    assert_invalid(store.set_rules_config("acme", "bad key", "x").await);
    assert_invalid(store.set_rules_config("acme", "", "x").await);
    assert_not_found(store.set_rules_config("nope", "K", "x").await);

    let keys = store.rules_configs("acme").await.expect("keys");
    assert_eq!(
        serde_json::to_value(&keys).expect("json"),
        json!([{"key": "API_KEY"}, {"key": "AUDIENCE"}])
    );
    let values = store.rules_config_values("acme").await.expect("values");
    assert_eq!(
        serde_json::Value::Object(values),
        json!({"API_KEY": "two", "AUDIENCE": "https://api"})
    );

    store
        .delete_rules_config("acme", "API_KEY")
        .await
        .expect("delete");
    assert_not_found(store.delete_rules_config("acme", "API_KEY").await);
    assert_eq!(store.rules_configs("acme").await.expect("keys").len(), 1);
}

fn log(action_id: Option<&str>, outcome: &str) -> ExecutionLogInput {
    ExecutionLogInput {
        kind: "action".into(),
        action_id: action_id.map(str::to_string),
        name: "add-claims".into(),
        trigger_id: "post-login".into(),
        outcome: outcome.into(),
        duration_us: 1500,
        fuel_used: 123_456,
        peak_memory_bytes: 65_536,
        logs: json!([{"level": "log", "message": "hello"}, "bare string", {"level": "error", "message": {"k": 1}}]),
        client_id: Some("cid".into()),
        user_id: Some("auth0|u".into()),
        ..ExecutionLogInput::default()
    }
}

#[tokio::test]
async fn execution_logs() {
    let (_dir, store) = store_with_tenant().await;
    let first = store
        .insert_execution_log("acme", log(Some("act-1"), "success"))
        .await
        .expect("insert");
    assert!(first.date.ends_with('Z'));
    assert_eq!(first.logs.len(), 3);
    assert_eq!(
        (first.logs[1].level.as_str(), first.logs[1].message.as_str()),
        ("log", "bare string")
    );
    assert_eq!(first.logs[2].message, r#"{"k":1}"#);
    let json = serde_json::to_value(&first).expect("json");
    assert_eq!(json["type"], "action");
    assert_eq!(json["fuel_used"], 123_456);
    assert!(json.get("rule_id").is_none() && json.get("error").is_none());

    for i in 0..4 {
        let mut l = log(Some("act-2"), "error");
        l.error = Some(format!("boom {i}"));
        store.insert_execution_log("acme", l).await.expect("insert");
    }
    let custom_db = ExecutionLogInput {
        kind: "custom_db".into(),
        name: "login".into(),
        logs: serde_json::Value::Null,
        ..ExecutionLogInput::default()
    };
    let stored = store
        .insert_execution_log("acme", custom_db)
        .await
        .expect("custom db log");
    assert!(stored.logs.is_empty());

    let all = store
        .list_execution_logs("acme", 0, 50, None)
        .await
        .expect("all");
    assert_eq!(all.len(), 6);
    assert_eq!(all[0].kind, "custom_db", "newest first");
    let page = store
        .list_execution_logs("acme", 1, 2, Some("act-2"))
        .await
        .expect("page");
    assert_eq!(page.len(), 2);
    assert!(
        page.iter()
            .all(|l| l.action_id.as_deref() == Some("act-2") && l.error.is_some())
    );
    assert_eq!(
        store
            .list_execution_logs("acme", 0, 50, Some("act-1"))
            .await
            .expect("act-1"),
        [first]
    );
    assert!(
        store
            .list_execution_logs("other", 0, 50, None)
            .await
            .expect("other tenant")
            .is_empty()
    );

    let pruned = store
        .prune_execution_logs(
            "acme",
            std::time::SystemTime::now() + std::time::Duration::from_secs(1),
        )
        .await
        .expect("prune");
    assert_eq!(pruned, 6);
}
