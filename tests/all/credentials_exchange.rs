//! Credentials-exchange Actions run for `client_credentials`, over real HTTP: their
//! claims reach the access token, and a deny answers with the code the Action chose.

use crate::support::*;
use serde_json::{Value, json};

const API: &str = "https://api.example.com";

fn machine(t: &str, token: &str, name: &str) -> Value {
    let (st, client) = api(
        reqwest::Method::POST,
        format!("{t}/api/v2/clients"),
        token,
        Some(json!({"name": name, "app_type": "non_interactive"})),
    );
    assert_eq!(st, 201, "{client}");
    let (st, grant) = api(
        reqwest::Method::POST,
        format!("{t}/api/v2/client-grants"),
        token,
        Some(json!({"client_id": client["client_id"], "audience": API, "scope": ["read:data"]})),
    );
    assert_eq!(st, 201, "{grant}");
    client
}

fn exchange(t: &str, client: &Value) -> (u16, Value) {
    let r = http()
        .post(format!("{t}/oauth/token"))
        .json(&json!({"grant_type": "client_credentials", "audience": API,
                      "client_id": client["client_id"], "client_secret": client["client_secret"]}))
        .send()
        .expect("token");
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(Value::Null))
}

#[test]
fn credentials_exchange_actions_add_claims_and_deny_with_their_code() {
    let s = start();
    let t = format!("{}/t/default", s.base);
    let token = s.mgmt_token();
    let trusted = machine(&t, &token, "trusted");
    let partner = machine(&t, &token, "partner");
    let action_id = create_deploy_bind(
        &t,
        &token,
        "machine-policy",
        "credentials-exchange",
        "exports.onExecuteCredentialsExchange = async (event, api) => {\n  if (event.client.name === 'partner') {\n    api.access.deny('invalid_scope', 'partners may not read data');\n    return;\n  }\n  api.accessToken.setCustomClaim('https://example.com/tier', 'gold');\n  api.accessToken.setCustomClaim('https://example.com/body', event.request.body);\n};",
    );

    let (st, tokens) = exchange(&t, &trusted);
    assert_eq!(st, 200, "{tokens}");
    let jwks: Value = jwks(&t);
    let claims = rulebox_auth_core::crypto::jwt::verify(
        tokens["access_token"].as_str().expect("token"),
        &jwks,
        &format!("{t}/"),
        API,
    )
    .expect("verifies against JWKS");
    assert_eq!(claims["https://example.com/tier"], "gold");
    assert_eq!(
        claims["https://example.com/body"],
        json!({"grant_type": "client_credentials", "audience": API,
               "client_id": trusted["client_id"]}),
        "event.request.body, without the client secret"
    );
    assert_eq!(claims["gty"], "client-credentials");
    assert_eq!(claims["scope"], "read:data");

    let (st, err) = exchange(&t, &partner);
    assert_eq!(st, 400, "{err}");
    assert_eq!(err["error"], "invalid_scope", "{err}");
    assert_eq!(err["error_description"], "partners may not read data");

    // Both runs are in the tenant's logs under the Action.
    let (st, logs) = api(
        reqwest::Method::GET,
        format!("{t}/api/v2/logs?action_id={action_id}"),
        &token,
        None,
    );
    assert_eq!(st, 200);
    let runs = logs.as_array().expect("logs");
    assert_eq!(runs.len(), 2, "{logs}");
    assert!(
        runs.iter()
            .all(|l| l["trigger_id"] == "credentials-exchange"),
        "{logs}"
    );
}
