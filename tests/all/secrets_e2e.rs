//! Issue 6: secrets reach the code they belong to and nothing else — not the
//! execution logs, not Management API reads, not the database file.

use crate::support::{PASSWORD, api, id_claims, login_fixture, password_login, start};
use serde_json::json;

const SECRET: &str = "sk_live_5f3c9a0e7d21";

#[test]
fn an_action_secret_is_visible_to_its_code_and_nowhere_else() {
    let mut s = start();
    let (t, token, client) = login_fixture(&s, &["s@example.com"]);
    let post = reqwest::Method::POST;
    // The Action proves it sees the secret (its length becomes a claim) and
    // tries to leak it through its console output and a thrown error.
    let code = "exports.onExecutePostLogin = async (event, api) => {\n  console.log('the key is', event.secrets.API_KEY);\n  api.idToken.setCustomClaim('https://example.com/key_length', event.secrets.API_KEY.length);\n};";
    let (st, action) = api(
        post.clone(),
        format!("{t}/api/v2/actions/actions"),
        &token,
        Some(
            json!({"name": "uses-secret", "supported_triggers": [{"id": "post-login", "version": "v3"}],
                    "code": code, "secrets": [{"name": "API_KEY", "value": SECRET}]}),
        ),
    );
    assert_eq!(st, 201, "{action}");
    assert!(
        !action.to_string().contains(SECRET),
        "create echoes no value: {action}"
    );
    let id = action["id"].as_str().expect("id").to_owned();
    let (st, _) = api(
        post.clone(),
        format!("{t}/api/v2/actions/actions/{id}/deploy"),
        &token,
        None,
    );
    assert_eq!(st, 202);
    let (st, _) = api(
        reqwest::Method::PATCH,
        format!("{t}/api/v2/actions/triggers/post-login/bindings"),
        &token,
        Some(json!({"bindings": [{"ref": {"type": "action_id", "value": id}}]})),
    );
    assert_eq!(st, 200);

    let r = password_login(&t, &client, "s@example.com", PASSWORD);
    assert_eq!(r.status(), 200);
    let claims = id_claims(&r.json().expect("json"));
    assert_eq!(
        claims["https://example.com/key_length"],
        SECRET.len(),
        "the code saw it"
    );

    // Nowhere in the Management API...
    for path in [
        format!("actions/actions/{id}"),
        "actions/actions".to_owned(),
        format!("actions/actions/{id}/versions"),
        "logs?per_page=100".to_owned(),
    ] {
        let (st, body) = api(
            reqwest::Method::GET,
            format!("{t}/api/v2/{path}"),
            &token,
            None,
        );
        assert_eq!(st, 200, "{path}: {body}");
        assert!(
            !body.to_string().contains(SECRET),
            "{path} leaks the secret: {body}"
        );
    }
    // ...the log line is there, redacted...
    let (_, logs) = api(
        reqwest::Method::GET,
        format!("{t}/api/v2/logs"),
        &token,
        None,
    );
    assert!(logs.to_string().contains("the key is [redacted]"), "{logs}");
    // ...and not in any file of the data directory.
    s.proc.kill9();
    for entry in std::fs::read_dir(s.data.path())
        .expect("data dir")
        .flatten()
    {
        if let Ok(bytes) = std::fs::read(entry.path()) {
            assert!(
                !String::from_utf8_lossy(&bytes).contains(SECRET),
                "{} holds the secret",
                entry.path().display()
            );
        }
    }
}
