//! Issue 6: `api.cache` keeps values between logins (per tenant and trigger)
//! and later Actions of the same flow see what earlier ones set.

mod support;

use serde_json::{Value, json};
use support::{api, create_deploy_bind, http, mgmt_token, start};

#[test]
fn api_cache_survives_between_logins() {
    let s = start();
    let t = format!("{}/t/default", s.base);
    let token = mgmt_token(
        &s.base,
        "default",
        s.creds["client_id"].as_str().expect("id"),
        s.creds["client_secret"].as_str().expect("secret"),
    );
    let post = reqwest::Method::POST;
    let (_, client) = api(
        post.clone(),
        format!("{t}/api/v2/clients"),
        &token,
        Some(json!({"name": "app", "grant_types": ["password"]})),
    );
    api(
        post.clone(),
        format!("{t}/api/v2/connections"),
        &token,
        Some(json!({"name": "db", "strategy": "auth0"})),
    );
    api(
        post,
        format!("{t}/api/v2/users"),
        &token,
        Some(json!({"connection": "db", "email": "c@example.com", "password": "long enough pw"})),
    );
    // Counts logins in the cache (as a cached upstream token would be reused).
    create_deploy_bind(
        &t,
        &token,
        "counter",
        "post-login",
        "exports.onExecutePostLogin = async (event, api) => {\n  const hit = api.cache.get('logins');\n  const n = hit ? Number(hit.value) + 1 : 1;\n  api.cache.set('logins', String(n), { ttl: 60000 });\n  api.idToken.setCustomClaim('https://example.com/seen', n);\n};",
    );
    let seen = || {
        let r = http()
            .post(format!("{t}/oauth/token"))
            .json(&json!({"grant_type": "password", "username": "c@example.com", "password": "long enough pw",
                          "client_id": client["client_id"], "client_secret": client["client_secret"], "scope": "openid"}))
            .send()
            .expect("login");
        assert_eq!(r.status(), 200);
        let body: Value = r.json().expect("json");
        let payload = body["id_token"]
            .as_str()
            .expect("id")
            .split('.')
            .nth(1)
            .expect("payload")
            .to_owned();
        use base64::Engine;
        let claims: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .expect("b64"),
        )
        .expect("claims");
        claims["https://example.com/seen"].clone()
    };
    assert_eq!(seen(), json!(1), "first login: a miss");
    assert_eq!(
        seen(),
        json!(2),
        "the value set by the first login is there"
    );
    assert_eq!(seen(), json!(3));
}
