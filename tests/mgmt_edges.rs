//! Management API edges over real HTTP: a refused PATCH changes nothing, passwords
//! follow one policy, log totals are totals, and running an Action's code takes
//! more than the right to read it.

mod support;

use serde_json::{Value, json};
use support::*;

#[test]
fn a_refused_user_patch_changes_nothing_and_passwords_follow_the_policy() {
    let s = start();
    let (t, token, client) = login_fixture(&s, &["pam@example.com"]);
    let (_, users) = api(
        reqwest::Method::GET,
        format!("{t}/api/v2/users-by-email?email=pam@example.com"),
        &token,
        None,
    );
    let uid = users[0]["user_id"].as_str().expect("uid").to_owned();
    let patch = |body: Value| {
        api(
            reqwest::Method::PATCH,
            format!("{t}/api/v2/users/{uid}"),
            &token,
            Some(body),
        )
    };
    // A valid new password next to an invalid field: refused as a whole.
    let (st, err) = patch(json!({"password": "brand new secret", "blocked": "yes"}));
    assert_eq!(st, 400, "{err}");
    assert_eq!(
        password_login(&t, &client, "pam@example.com", PASSWORD).status(),
        200,
        "the old password still works"
    );
    for bad in ["short", &"z".repeat(73)] {
        let (st, err) = patch(json!({ "password": bad }));
        assert_eq!(st, 400, "{err}");
        assert!(
            err["message"]
                .as_str()
                .is_some_and(|m| m.contains("PasswordStrengthError"))
        );
    }
    let (st, err) = api(
        reqwest::Method::POST,
        format!("{t}/api/v2/users"),
        &token,
        Some(json!({"connection": "db", "email": "long@example.com", "password": "z".repeat(73)})),
    );
    assert_eq!(st, 400, "{err}");
    let (st, _) = patch(json!({"password": "brand new secret", "name": "Pam"}));
    assert_eq!(st, 200);
    assert_eq!(
        password_login(&t, &client, "pam@example.com", "brand new secret").status(),
        200
    );
    assert_eq!(
        password_login(&t, &client, "pam@example.com", PASSWORD).status(),
        403
    );
}

#[test]
fn log_totals_count_every_log_and_test_needs_create_actions() {
    let s = start();
    let (t, token, client) = login_fixture(&s, &["lou@example.com"]);
    let action_id = create_deploy_bind(
        &t,
        &token,
        "noop",
        "post-login",
        "exports.onExecutePostLogin = async (event, api) => { console.log('hi'); };",
    );
    for _ in 0..3 {
        assert_eq!(
            password_login(&t, &client, "lou@example.com", PASSWORD).status(),
            200
        );
    }
    let logs = |query: &str| {
        let (st, out) = api(
            reqwest::Method::GET,
            format!("{t}/api/v2/logs?{query}"),
            &token,
            None,
        );
        assert_eq!(st, 200, "{out}");
        out
    };
    let page = logs("per_page=1&include_totals=true");
    assert_eq!(page["length"], 1, "{page}");
    assert_eq!(page["total"], 3, "{page}");
    let far = logs("page=4294967295&per_page=100&include_totals=true");
    assert_eq!(far["length"], 0, "{far}");
    assert_eq!(far["start"], 4_294_967_295u64 * 100, "{far}");

    // A machine client that may only read Actions cannot run them.
    let (st, reader) = api(
        reqwest::Method::POST,
        format!("{t}/api/v2/clients"),
        &token,
        Some(json!({"name": "reader", "app_type": "non_interactive"})),
    );
    assert_eq!(st, 201, "{reader}");
    let (st, grant) = api(
        reqwest::Method::POST,
        format!("{t}/api/v2/client-grants"),
        &token,
        Some(
            json!({"client_id": reader["client_id"], "audience": format!("{t}/api/v2/"),
                    "scope": ["read:actions"]}),
        ),
    );
    assert_eq!(st, 201, "{grant}");
    let reader_token = mgmt_token(
        &s.base,
        "default",
        reader["client_id"].as_str().expect("id"),
        reader["client_secret"].as_str().expect("secret"),
    );
    let test = |bearer: &str| {
        api(
            reqwest::Method::POST,
            format!("{t}/api/v2/actions/actions/{action_id}/test"),
            bearer,
            Some(json!({"payload": {}})),
        )
    };
    let (st, body) = test(&reader_token);
    assert_eq!(st, 403, "{body}");
    assert_eq!(body["errorCode"], "insufficient_scope");
    let (st, got) = api(
        reqwest::Method::GET,
        format!("{t}/api/v2/actions/actions/{action_id}"),
        &reader_token,
        None,
    );
    assert_eq!(st, 200, "reading is allowed: {got}");
    let (st, body) = test(&token);
    assert_eq!(st, 200, "{body}");
}

#[test]
fn refused_code_leaves_the_deployed_version_serving() {
    let s = start();
    let (t, token, client) = login_fixture(&s, &["vic@example.com"]);
    let claim = |version: &str| {
        format!(
            "exports.onExecutePostLogin = async (event, api) => {{ api.idToken.setCustomClaim('https://example.com/v', '{version}'); }};"
        )
    };
    let id = create_deploy_bind(&t, &token, "versioned", "post-login", &claim("v1"));
    let served = || {
        let r = password_login(&t, &client, "vic@example.com", PASSWORD);
        assert_eq!(r.status(), 200);
        id_claims(&r.json().expect("tokens"))["https://example.com/v"].clone()
    };
    assert_eq!(served(), "v1");
    // Broken JavaScript is refused with where it is broken.
    let (st, err) = api(
        reqwest::Method::PATCH,
        format!("{t}/api/v2/actions/actions/{id}"),
        &token,
        Some(json!({"code": "exports.onExecutePostLogin = async (event, api) => {"})),
    );
    assert_eq!(st, 400, "{err}");
    assert!(
        err["message"].as_str().is_some_and(|m| m.contains("line")),
        "{err}"
    );
    // A module that is not wasm, and one too large to run, are refused as well.
    let upload = |bytes: Vec<u8>| {
        let r = http()
            .post(format!("{t}/api/v2/actions/actions/{id}/versions"))
            .bearer_auth(&token)
            .header("content-type", "application/wasm")
            .body(bytes)
            .send()
            .expect("upload");
        let status = r.status().as_u16();
        (status, r.json::<Value>().unwrap_or(Value::Null))
    };
    let (st, err) = upload(b"not wasm at all".to_vec());
    assert_eq!(st, 400, "{err}");
    // Over axum's default body limit (2 MiB) but within the runtime's (16 MiB): judged
    // as a module, not refused as a body.
    let (st, err) = upload(vec![0u8; 3 << 20]);
    assert_eq!(st, 400, "{err}");
    assert!(
        err["message"]
            .as_str()
            .is_some_and(|m| m.contains("invalid") && !m.contains("large")),
        "{err}"
    );
    let (st, err) = upload(vec![0u8; 17 << 20]);
    assert_eq!(st, 400, "{err}");
    assert!(
        err["message"]
            .as_str()
            .is_some_and(|m| m.contains("over the 16777216-byte limit")),
        "{err}"
    );
    // Deploying again deploys the last good code: v1 still serves.
    let (st, v) = api(
        reqwest::Method::POST,
        format!("{t}/api/v2/actions/actions/{id}/deploy"),
        &token,
        None,
    );
    assert_eq!(st, 202, "{v}");
    assert_eq!(served(), "v1");
}
