//! Tenant isolation on the Authentication API: credentials, tokens and users of one
//! tenant are worth nothing at another's endpoints, and nothing done there touches them.

use crate::support::*;
use serde_json::{Value, json};

#[test]
fn one_tenants_credentials_and_tokens_open_nothing_at_another() {
    let s = start();
    let (d, token, _) = login_fixture(&s, &["kim@example.com"]);
    let (st, client) = api(
        reqwest::Method::POST,
        format!("{d}/api/v2/clients"),
        &token,
        Some(json!({"name": "app", "grant_types": ["password", "refresh_token"]})),
    );
    assert_eq!(st, 201, "{client}");
    let (o, _, other_client) = tenant_with_client(
        &s,
        "other",
        json!({"name": "app", "grant_types": ["password", "refresh_token"]}),
    );
    let post = |url: String, body: Value| {
        let r = http().post(url).json(&body).send().expect("post");
        let status = r.status().as_u16();
        (status, r.json::<Value>().unwrap_or(Value::Null))
    };
    let login = |base: &str, c: &Value| {
        post(
            format!("{base}/oauth/token"),
            json!({"grant_type": "password", "username": "kim@example.com", "password": PASSWORD,
                   "client_id": c["client_id"], "client_secret": c["client_secret"],
                   "scope": "openid offline_access"}),
        )
    };
    let (st, tokens) = login(&d, &client);
    assert_eq!(st, 200, "{tokens}");

    // The victim's client at the other tenant: unknown.
    let (st, body) = login(&o, &client);
    assert_eq!(
        (st, body["error"].as_str()),
        (401, Some("invalid_client")),
        "{body}"
    );
    // The victim's user through the other's own client: no such user or connection there.
    let (st, body) = login(&o, &other_client);
    assert!(st == 400 || st == 403, "{st} {body}");
    assert!(body.get("access_token").is_none(), "{body}");
    // The victim's refresh token at the other tenant: unknown there...
    let refresh = |base: &str, c: &Value| {
        post(
            format!("{base}/oauth/token"),
            json!({"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
                   "client_id": c["client_id"], "client_secret": c["client_secret"]}),
        )
    };
    let (st, body) = refresh(&o, &other_client);
    assert_eq!(
        (st, body["error"].as_str()),
        (403, Some("invalid_grant")),
        "{body}"
    );
    // ...and revoking it there revokes nothing.
    let (st, _) = post(
        format!("{o}/oauth/revoke"),
        json!({"token": tokens["refresh_token"], "client_id": other_client["client_id"],
               "client_secret": other_client["client_secret"]}),
    );
    assert_eq!(st, 200);
    // The victim's access token at the other's /userinfo: not a token of that tenant.
    let r = http()
        .get(format!("{o}/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().expect("at"))
        .send()
        .expect("userinfo");
    assert_eq!(r.status(), 401);
    // Signing up into the victim's connection through the other tenant: no such thing.
    let (st, body) = post(
        format!("{o}/dbconnections/signup"),
        json!({"client_id": client["client_id"], "connection": "db",
               "email": "mallory@example.com", "password": PASSWORD}),
    );
    assert_eq!(
        (st, body["error"].as_str()),
        (401, Some("invalid_client")),
        "{body}"
    );
    let (st, body) = post(
        format!("{o}/dbconnections/signup"),
        json!({"client_id": other_client["client_id"], "connection": "db",
               "email": "mallory@example.com", "password": PASSWORD}),
    );
    assert_eq!(st, 400, "{body}");

    // The victim's tenant is untouched: its refresh token still works, and no
    // stranger signed up there.
    let (st, body) = refresh(&d, &client);
    assert_eq!(st, 200, "{body}");
    let (_, users) = api(
        reqwest::Method::GET,
        format!("{d}/api/v2/users-by-email?email=mallory@example.com"),
        &token,
        None,
    );
    assert_eq!(users, json!([]));
}
