//! A custom-database connection *without* import mode, over real HTTP against
//! `rulebox serve`: the login script judges every login, and the user's profile
//! is kept locally (as Auth0 keeps it) without a password.

use crate::support;

use crate::support::{api, http, legacy_configuration, start};
use serde_json::{Value, json};

#[test]
fn without_import_mode_the_script_judges_every_login() {
    let s = start();
    let t = format!("{}/t/default", s.base);
    let token = s.mgmt_token();
    let (st, client) = api(
        reqwest::Method::POST,
        format!("{t}/api/v2/clients"),
        &token,
        Some(
            json!({"name": "Legacy app", "grant_types": ["http://auth0.com/oauth/grant-type/password-realm"]}),
        ),
    );
    assert_eq!(st, 201, "{client}");
    let login_script = include_str!("../../rules-examples/js/custom-db/legacy/login.js");
    let options = |configuration: Value| {
        json!({"enabledDatabaseCustomization": true, "customScripts": {"login": login_script},
               "configuration": configuration})
    };
    // A bcrypt cost this server could not verify is refused up front.
    let mut too_costly = options(legacy_configuration());
    too_costly["bcrypt_cost"] = json!(31);
    let (st, err) = api(
        reqwest::Method::POST,
        format!("{t}/api/v2/connections"),
        &token,
        Some(
            json!({"name": "legacy-db", "strategy": "auth0", "enabled_clients": [client["client_id"]], "options": too_costly}),
        ),
    );
    assert_eq!(st, 400, "{err}");
    assert!(err.to_string().contains("bcrypt_cost"), "{err}");
    let (st, conn) = api(
        reqwest::Method::POST,
        format!("{t}/api/v2/connections"),
        &token,
        Some(
            json!({"name": "legacy-db", "strategy": "auth0", "enabled_clients": [client["client_id"]],
                    "options": options(legacy_configuration())}),
        ),
    );
    assert_eq!(st, 201, "{conn}");
    let login = |password: &str| {
        http()
            .post(format!("{t}/oauth/token"))
            .json(&json!({
                "grant_type": "http://auth0.com/oauth/grant-type/password-realm", "realm": "legacy-db",
                "username": "ada@legacy.example", "password": password,
                "client_id": client["client_id"], "client_secret": client["client_secret"], "scope": "openid",
            }))
            .send()
            .expect("login")
    };
    for round in 0..2 {
        let r = login("correct horse battery staple");
        assert_eq!(r.status(), 200, "login {round}");
        let tokens: Value = r.json().expect("json");
        assert_eq!(support::id_claims(&tokens)["sub"], "legacy|1001");
    }
    assert_eq!(login("not her password").status(), 403);
    // The profile is kept, and the logins were counted on it.
    let (st, user) = api(
        reqwest::Method::GET,
        format!("{t}/api/v2/users/legacy|1001"),
        &token,
        None,
    );
    assert_eq!(st, 200, "{user}");
    assert_eq!(user["logins_count"], 2, "{user}");
    // Without the legacy store nobody gets in: nothing was imported.
    let (st, _) = api(
        reqwest::Method::PATCH,
        format!(
            "{t}/api/v2/connections/{}",
            conn["id"].as_str().expect("id")
        ),
        &token,
        Some(json!({"options": options(json!({"LEGACY_USERS": "[]"}))})),
    );
    assert_eq!(st, 200);
    assert_eq!(login("correct horse battery staple").status(), 403);

    // A script that never calls back fails the login closed, and the tenant sees why.
    let spin = "function login(email, password, callback) { while (true) {} }";
    let (st, _) = api(
        reqwest::Method::PATCH,
        format!(
            "{t}/api/v2/connections/{}",
            conn["id"].as_str().expect("id")
        ),
        &token,
        Some(json!({"options": {"enabledDatabaseCustomization": true,
                    "customScripts": {"login": spin}, "configuration": {"API_KEY": "s3cret-value"}}})),
    );
    assert_eq!(st, 200);
    let r = login("correct horse battery staple");
    assert_eq!(r.status(), 403);
    let body: Value = r.json().expect("error body");
    assert_eq!(body["error"], "access_denied", "{body}");
    let description = body["error_description"].as_str().expect("description");
    assert!(description.contains("the login script failed"), "{body}");
    let (st, logs) = api(
        reqwest::Method::GET,
        format!("{t}/api/v2/logs"),
        &token,
        None,
    );
    assert_eq!(st, 200);
    let runs: Vec<&Value> = logs
        .as_array()
        .expect("logs")
        .iter()
        .filter(|l| l["type"] == "custom_db" && l["name"] == "login")
        .collect();
    // Newest first: the spinning script, then two logins, a wrong password and
    // the emptied legacy store, each a run of its own.
    assert_eq!(runs.len(), 5, "{logs}");
    let outcome = runs[0]["outcome"].as_str().expect("outcome");
    assert!(
        outcome == "fuel_exhausted" || outcome == "timeout",
        "{}",
        runs[0]
    );
    assert!(runs[1..].iter().all(|l| l["outcome"] == "ok"), "{logs}");
    assert!(!logs.to_string().contains("s3cret-value"));
}
