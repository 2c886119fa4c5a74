//! Management API lifecycles over real HTTP that other suites only touch: an Action
//! uploaded as a base64 `module`, legacy Rules run in `order` passing `context` on,
//! and deletes that really delete.

use crate::support::*;
use base64::Engine;
use serde_json::{Value, json};

#[test]
fn a_base64_module_action_and_ordered_rules_serve_a_login() {
    let s = start();
    let (t, token, client) = login_fixture(&s, &["ro@example.com"]);
    let module = std::fs::read(rulebox_test_guests::TRIVIAL).expect("trivial.wasm built");
    let b64 = base64::engine::general_purpose::STANDARD.encode(&module);
    let (st, action) = api(
        reqwest::Method::POST,
        format!("{t}/api/v2/actions/actions"),
        &token,
        Some(
            json!({"name": "rust-b64", "supported_triggers": [{"id": "post-login", "version": "v3"}],
                    "module": b64}),
        ),
    );
    assert_eq!(st, 201, "{action}");
    assert_eq!(action["runtime"], "wasm", "{action}");
    let id = action["id"].as_str().expect("id");
    let (st, v) = api(
        reqwest::Method::POST,
        format!("{t}/api/v2/actions/actions/{id}/deploy"),
        &token,
        None,
    );
    assert_eq!(st, 202, "{v}");
    let (st, v) = api(
        reqwest::Method::PATCH,
        format!("{t}/api/v2/actions/triggers/post-login/bindings"),
        &token,
        Some(json!({"bindings": [{"ref": {"type": "action_id", "value": id}}]})),
    );
    assert_eq!(st, 200, "{v}");
    // Created out of order; run in `order`, each seeing the context the one before left.
    let rules = [
        (
            2,
            "second",
            "function (user, context, callback) { context.idToken['https://example.com/trail'] = context.trail + ',second'; callback(null, user, context); }",
        ),
        (
            1,
            "first",
            "function (user, context, callback) { context.trail = 'first'; callback(null, user, context); }",
        ),
    ];
    for (order, name, script) in rules {
        let (st, r) = api(
            reqwest::Method::POST,
            format!("{t}/api/v2/rules"),
            &token,
            Some(json!({"name": name, "script": script, "order": order, "enabled": true})),
        );
        assert_eq!(st, 201, "{r}");
    }
    let r = password_login(&t, &client, "ro@example.com", PASSWORD);
    assert_eq!(r.status(), 200);
    let claims = id_claims(&r.json::<Value>().expect("tokens"));
    assert_eq!(
        claims["https://example.com/trivial"], true,
        "the module's claim"
    );
    assert_eq!(claims["https://example.com/trail"], "first,second");
    // A base64 field that is not base64 is a 400 naming it.
    let (st, err) = api(
        reqwest::Method::POST,
        format!("{t}/api/v2/actions/actions"),
        &token,
        Some(
            json!({"name": "bad", "supported_triggers": [{"id": "post-login", "version": "v3"}],
                    "module": "%%% not base64"}),
        ),
    );
    assert_eq!(st, 400, "{err}");
    assert!(
        err["message"]
            .as_str()
            .is_some_and(|m| m.contains("module")),
        "{err}"
    );
}

#[test]
fn deletes_remove_what_they_name() {
    let s = start();
    let (t, token, client) = login_fixture(&s, &["del@example.com"]);
    let call = |method: reqwest::Method, path: &str, body: Option<Value>| {
        api(method, format!("{t}/api/v2/{path}"), &token, body)
    };
    use reqwest::Method;
    let (_, users) = call(Method::GET, "users-by-email?email=del@example.com", None);
    let uid = users[0]["user_id"].as_str().expect("uid").to_owned();
    let action = create_deploy_bind(
        &t,
        &token,
        "doomed",
        "post-login",
        "exports.onExecutePostLogin = async () => {};",
    );
    let (st, rule) = call(
        Method::POST,
        "rules",
        Some(json!({"name": "doomed-rule", "script": "function (u, c, cb) { cb(null, u, c); }"})),
    );
    assert_eq!(st, 201, "{rule}");
    let rule_id = rule["id"].as_str().expect("id").to_owned();
    let (st, conn) = call(
        Method::POST,
        "connections",
        Some(json!({"name": "spare", "strategy": "auth0"})),
    );
    assert_eq!(st, 201, "{conn}");
    let conn_id = conn["id"].as_str().expect("id").to_owned();
    let client_id = client["client_id"].as_str().expect("id").to_owned();

    // An Action still bound to a trigger is not deleted from under it.
    let (st, err) = call(Method::DELETE, &format!("actions/actions/{action}"), None);
    assert!(st == 400 || st == 409, "{st} {err}");
    let (st, _) = call(
        Method::PATCH,
        "actions/triggers/post-login/bindings",
        Some(json!({"bindings": []})),
    );
    assert_eq!(st, 200);
    for (path, get) in [
        (format!("users/{uid}"), format!("users/{uid}")),
        (
            format!("actions/actions/{action}"),
            format!("actions/actions/{action}"),
        ),
        (format!("rules/{rule_id}"), format!("rules/{rule_id}")),
        (
            format!("connections/{conn_id}"),
            format!("connections/{conn_id}"),
        ),
        (
            format!("clients/{client_id}"),
            format!("clients/{client_id}"),
        ),
    ] {
        let (st, body) = call(Method::DELETE, &path, None);
        assert!((200..300).contains(&st), "DELETE {path}: {st} {body}");
        let (st, body) = call(Method::GET, &get, None);
        assert_eq!(st, 404, "GET {get} after its delete: {body}");
    }
    // The deleted client can no longer log anyone in.
    let r = password_login(&t, &client, "del@example.com", PASSWORD);
    assert_eq!(r.status(), 401);
}
