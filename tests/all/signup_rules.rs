//! `POST /dbconnections/signup` refuses what Auth0 refuses, and hands custom-database
//! signups to the connection's `create` script.

use crate::support::*;
use serde_json::{Value, json};

fn signup(t: &str, body: Value) -> (u16, Value) {
    let r = http()
        .post(format!("{t}/dbconnections/signup"))
        .json(&body)
        .send()
        .expect("signup");
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(Value::Null))
}

fn post(t: &str, token: &str, path: &str, body: Value) -> Value {
    let (st, out) = api(
        reqwest::Method::POST,
        format!("{t}/api/v2/{path}"),
        token,
        Some(body),
    );
    assert_eq!(st, 201, "{out}");
    out
}

#[test]
fn signups_respect_enabled_clients_and_bcrypts_72_bytes() {
    let s = start();
    let t = format!("{}/t/default", s.base);
    let token = s.mgmt_token();
    let allowed = post(&t, &token, "clients", json!({"name": "allowed"}));
    let other = post(&t, &token, "clients", json!({"name": "other"}));
    post(
        &t,
        &token,
        "connections",
        json!({"name": "db", "strategy": "auth0", "enabled_clients": [allowed["client_id"]]}),
    );
    let body = |client: &Value, email: &str, password: &str| json!({"client_id": client["client_id"], "connection": "db", "email": email, "password": password});
    let (st, err) = signup(&t, body(&other, "eve@example.com", PASSWORD));
    assert_eq!(st, 403, "{err}");
    assert_eq!(err["error"], "unauthorized_client", "{err}");
    let long = "x".repeat(73);
    let (st, err) = signup(&t, body(&allowed, "eve@example.com", &long));
    assert_eq!(st, 400, "{err}");
    assert!(
        err["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("too long")),
        "{err}"
    );
    let (st, out) = signup(&t, body(&allowed, "eve@example.com", &"y".repeat(72)));
    assert_eq!(st, 200, "{out}");
    let (_, users) = api(
        reqwest::Method::GET,
        format!("{t}/api/v2/users-by-email?email=eve@example.com"),
        &token,
        None,
    );
    assert_eq!(users.as_array().map(Vec::len), Some(1), "{users}");
}

#[test]
fn a_custom_database_signup_goes_to_its_create_script() {
    let s = start();
    let t = format!("{}/t/default", s.base);
    let token = s.mgmt_token();
    let client = post(&t, &token, "clients", json!({"name": "legacy app"}));
    let scripts = json!({
        "login": include_str!("../../rules-examples/js/custom-db/legacy/login.js"),
        "create": include_str!("../../rules-examples/js/custom-db/legacy/create.js"),
    });
    post(
        &t,
        &token,
        "connections",
        json!({"name": "legacy-db", "strategy": "auth0", "options": {
            "enabledDatabaseCustomization": true, "customScripts": scripts,
            "configuration": legacy_configuration()}}),
    );
    post(
        &t,
        &token,
        "connections",
        json!({"name": "login-only", "strategy": "auth0", "options": {
            "enabledDatabaseCustomization": true,
            "customScripts": {"login": scripts["login"]},
            "configuration": legacy_configuration()}}),
    );
    let body = |connection: &str, email: &str| {
        json!({"client_id": client["client_id"], "connection": connection, "email": email,
               "password": PASSWORD})
    };
    // The legacy store already has Ada: its create script says so.
    let (st, err) = signup(&t, body("legacy-db", "ada@legacy.example"));
    assert_eq!(st, 400, "{err}");
    assert_eq!(err["error"], "user_exists", "{err}");
    let (st, err) = signup(&t, body("legacy-db", "not an email"));
    assert_eq!(st, 400, "{err}");
    assert_eq!(err["error"], "invalid_signup", "{err}");
    // A new user is the legacy store's: nothing is kept here.
    let (st, out) = signup(&t, body("legacy-db", "new@legacy.example"));
    assert_eq!(st, 200, "{out}");
    assert_eq!(out["email"], "new@legacy.example");
    let (_, users) = api(
        reqwest::Method::GET,
        format!("{t}/api/v2/users-by-email?email=new@legacy.example"),
        &token,
        None,
    );
    assert_eq!(users, json!([]));
    // Without a create script such a connection cannot take signups at all.
    let (st, err) = signup(&t, body("login-only", "new@legacy.example"));
    assert_eq!(st, 400, "{err}");
    assert_eq!(err["error"], "invalid_request", "{err}");
    // The script ran in the sandbox and is in the tenant's logs.
    let (_, logs) = api(
        reqwest::Method::GET,
        format!("{t}/api/v2/logs"),
        &token,
        None,
    );
    let creates = logs
        .as_array()
        .expect("logs")
        .iter()
        .filter(|l| l["type"] == "custom_db" && l["name"] == "create")
        .count();
    assert_eq!(creates, 3, "{logs}");
}
