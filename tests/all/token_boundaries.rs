//! What a user's login can never obtain, over real HTTP against `rulebox serve`:
//! management scopes (a login may name the Management API as its audience), or
//! reserved claims set by the tenant's own Actions.

use crate::support;

use crate::support::{PASSWORD, api, create_deploy_bind, http, id_claims, login_fixture, start};
use serde_json::{Value, json};

/// The claims of a JWT (decoded, not verified: the tests elsewhere verify).
fn claims(jwt: &str) -> Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

const ESCALATING_ACTION: &str = r#"
exports.onExecutePostLogin = async (event, api) => {
  api.accessToken.setCustomClaim('gty', 'client-credentials');
  api.accessToken.setCustomClaim('sub', event.client.client_id + '@clients');
  api.accessToken.setCustomClaim('scope', 'read:users create:actions');
  api.idToken.setCustomClaim('iss', 'https://evil.example/');
  api.idToken.setCustomClaim('https://example.com/kept', true);
};
"#;

#[test]
fn a_users_token_never_reaches_the_management_api() {
    let s = start();
    let (t, token, client) = login_fixture(&s, &["u@example.com"]);
    let management = format!("{t}/api/v2/");
    let login = |audience: &str| -> Value {
        let r = http()
            .post(format!("{t}/oauth/token"))
            .json(&json!({"grant_type": "password", "username": "u@example.com", "password": PASSWORD,
                          "client_id": client["client_id"], "client_secret": client["client_secret"],
                          "audience": audience, "scope": "openid read:users create:actions update:users"}))
            .send()
            .expect("login");
        assert_eq!(r.status(), 200);
        r.json().expect("tokens")
    };

    // Asking for management scopes gets the OpenID ones only.
    let tokens = login(&management);
    assert_eq!(tokens["scope"], "openid");
    let access = tokens["access_token"].as_str().expect("access token");
    assert_eq!(claims(access)["scope"], "openid");
    for path in ["users", "actions/actions", "clients"] {
        let (st, body) = api(
            reqwest::Method::GET,
            format!("{management}{path}"),
            access,
            None,
        );
        assert_eq!(st, 403, "{path}: {body}");
    }

    // An Action cannot make the token look like a machine's, nor widen it.
    create_deploy_bind(&t, &token, "escalate", "post-login", ESCALATING_ACTION);
    let tokens = login(&management);
    let access = tokens["access_token"].as_str().expect("access token");
    let c = claims(access);
    assert_eq!(c["scope"], "openid", "{c}");
    assert!(c.get("gty").is_none(), "{c}");
    assert!(
        c["sub"].as_str().is_some_and(|s| s.starts_with("auth0|")),
        "{c}"
    );
    let (st, body) = api(
        reqwest::Method::GET,
        format!("{management}users"),
        access,
        None,
    );
    assert_eq!(st, 403, "{body}");
    let id = claims(tokens["id_token"].as_str().expect("id token"));
    assert_eq!(id["iss"], format!("{t}/"), "{id}");
    assert_eq!(id["https://example.com/kept"], true, "{id}");

    // The tenant's machine client still manages.
    let (st, users) = api(
        reqwest::Method::GET,
        format!("{management}users"),
        &token,
        None,
    );
    assert_eq!(st, 200, "{users}");
}

#[test]
fn a_blocked_user_gets_no_tokens_from_an_old_refresh_token() {
    let s = start();
    let (t, token, _) = login_fixture(&s, &["b@example.com"]);
    let client = refresh_client(&t, &token);
    let r = offline_login(&t, &client, "b@example.com");
    assert_eq!(r.status(), 200);
    let tokens: Value = r.json().expect("tokens");
    let r = refresh(&t, &client, &tokens["refresh_token"]);
    assert_eq!(r.status(), 200);
    let tokens: Value = r.json().expect("tokens");
    let uid = id_sub(&tokens);
    let (st, _) = api(
        reqwest::Method::PATCH,
        format!("{t}/api/v2/users/{uid}"),
        &token,
        Some(json!({"blocked": true})),
    );
    assert_eq!(st, 200);
    let r = refresh(&t, &client, &tokens["refresh_token"]);
    assert_eq!(r.status(), 401);
    let body: Value = r.json().expect("error body");
    assert_eq!(body["error"], "unauthorized", "{body}");
    assert_eq!(body["error_description"], "user is blocked", "{body}");
}

fn id_sub(tokens: &Value) -> String {
    claims(tokens["id_token"].as_str().expect("id token"))["sub"]
        .as_str()
        .expect("sub")
        .to_owned()
}

#[test]
fn actions_scope_changes_apply_to_refreshed_tokens_too() {
    let s = start();
    let (t, token, _) = login_fixture(&s, &["c@example.com"]);
    let client = refresh_client(&t, &token);
    let post = |body: Value| -> Value {
        let r = http()
            .post(format!("{t}/oauth/token"))
            .json(&body)
            .send()
            .expect("token");
        assert_eq!(r.status(), 200);
        r.json().expect("tokens")
    };
    let first = post(
        json!({"grant_type": "password", "username": "c@example.com", "password": PASSWORD,
                            "client_id": client["client_id"], "client_secret": client["client_secret"],
                            "scope": "openid email offline_access"}),
    );
    assert_eq!(first["scope"], "openid email offline_access");
    // Bound after the grant: the refresh runs it, and its scope changes apply there.
    create_deploy_bind(
        &t,
        &token,
        "scopes",
        "post-login",
        "exports.onExecutePostLogin = async (event, api) => {\n  api.accessToken.addScope('read:reports');\n  api.accessToken.removeScope('email');\n};",
    );
    let refreshed = post(
        json!({"grant_type": "refresh_token", "refresh_token": first["refresh_token"],
                                "client_id": client["client_id"], "client_secret": client["client_secret"]}),
    );
    let access = claims(refreshed["access_token"].as_str().expect("access token"));
    assert_eq!(
        access["scope"], "openid offline_access read:reports",
        "{access}"
    );
    assert_eq!(refreshed["scope"], "openid offline_access read:reports");
}

/// A password login at tenant base `t` that asks for a refresh token.
fn offline_login(t: &str, client: &Value, email: &str) -> reqwest::blocking::Response {
    http()
        .post(format!("{t}/oauth/token"))
        .json(
            &json!({"grant_type": "password", "username": email, "password": PASSWORD,
                      "client_id": client["client_id"], "client_secret": client["client_secret"],
                      "scope": "openid offline_access"}),
        )
        .send()
        .expect("login")
}

/// The refresh-token grant with `rt`.
fn refresh(t: &str, client: &Value, rt: &Value) -> reqwest::blocking::Response {
    http()
        .post(format!("{t}/oauth/token"))
        .json(&json!({"grant_type": "refresh_token", "refresh_token": rt,
                      "client_id": client["client_id"], "client_secret": client["client_secret"]}))
        .send()
        .expect("refresh")
}

/// A client of tenant base `t` allowed the password and refresh-token grants.
fn refresh_client(t: &str, token: &str) -> Value {
    let (st, client) = api(
        reqwest::Method::POST,
        format!("{t}/api/v2/clients"),
        token,
        Some(json!({"name": "app", "grant_types": ["password", "refresh_token"]})),
    );
    assert_eq!(st, 201, "{client}");
    client
}

#[test]
fn one_application_cannot_revoke_anothers_refresh_token() {
    let s = start();
    let (t, token, _) = login_fixture(&s, &["c@example.com"]);
    let owner = refresh_client(&t, &token);
    let stranger = refresh_client(&t, &token);
    let r = offline_login(&t, &owner, "c@example.com");
    assert_eq!(r.status(), 200);
    let tokens: Value = r.json().expect("tokens");
    let revoke = |by: &Value| {
        http()
            .post(format!("{t}/oauth/revoke"))
            .json(
                &json!({"token": tokens["refresh_token"], "client_id": by["client_id"],
                          "client_secret": by["client_secret"]}),
            )
            .send()
            .expect("revoke")
    };
    let r = revoke(&stranger);
    assert_eq!(r.status(), 403);
    let body: Value = r.json().expect("error");
    assert_eq!(body["error"], "invalid_grant", "{body}");
    // Still alive: its owner refreshes with it...
    let r = refresh(&t, &owner, &tokens["refresh_token"]);
    assert_eq!(r.status(), 200, "the stranger's revoke changed nothing");
    // ...and can revoke it; an unknown token is no error (RFC 7009).
    assert_eq!(revoke(&owner).status(), 200);
    let r = http()
        .post(format!("{t}/oauth/revoke"))
        .json(
            &json!({"token": "no-such-token", "client_id": owner["client_id"],
                      "client_secret": owner["client_secret"]}),
        )
        .send()
        .expect("revoke");
    assert_eq!(r.status(), 200);
}

#[test]
fn profile_and_email_claims_follow_the_granted_scopes() {
    let s = start();
    let (t, _token, client) = login_fixture(&s, &["d@example.com"]);
    let login = |scope: &str| {
        let r = http()
            .post(format!("{t}/oauth/token"))
            .json(
                &json!({"grant_type": "password", "username": "d@example.com", "password": PASSWORD,
                          "client_id": client["client_id"], "client_secret": client["client_secret"],
                          "scope": scope}),
            )
            .send()
            .expect("login");
        assert_eq!(r.status(), 200);
        let tokens: Value = r.json().expect("tokens");
        let info = http()
            .get(format!("{t}/userinfo"))
            .bearer_auth(tokens["access_token"].as_str().expect("at"))
            .send()
            .expect("userinfo");
        let status = info.status().as_u16();
        (tokens, status, info.json::<Value>().unwrap_or(Value::Null))
    };
    let (tokens, st, info) = login("openid");
    assert_eq!(st, 200, "{info}");
    assert!(
        info["sub"].is_string() && info.get("email").is_none(),
        "{info}"
    );
    let id = claims(tokens["id_token"].as_str().expect("id"));
    assert!(
        id.get("email").is_none() && id.get("nickname").is_none(),
        "{id}"
    );
    let (tokens, _, info) = login("openid email");
    assert_eq!(info["email"], "d@example.com", "{info}");
    assert!(info.get("nickname").is_none(), "{info}");
    let id = claims(tokens["id_token"].as_str().expect("id"));
    assert_eq!(id["email"], "d@example.com");
    // Without openid the token is no key to the user's profile.
    let (_, st, body) = login("read:things");
    assert_eq!(st, 403, "{body}");
    assert_eq!(body["error"], "insufficient_scope");
}

#[test]
fn rotation_never_extends_a_refresh_token_family_past_its_login() {
    // Refresh tokens live 4 s; the family started by one login must end then,
    // however often it was rotated.
    let s = support::start_with(&[], &[("RULEBOX_TOKENS__REFRESH_TOKEN_TTL", "4s")]);
    let (t, token, _) = login_fixture(&s, &["e@example.com"]);
    let client = refresh_client(&t, &token);
    let started = std::time::Instant::now();
    let r = offline_login(&t, &client, "e@example.com");
    assert_eq!(r.status(), 200);
    let mut rt = r.json::<Value>().expect("tokens")["refresh_token"].clone();
    for at in [0.5, 2.5] {
        std::thread::sleep(
            std::time::Duration::from_secs_f64(at).saturating_sub(started.elapsed()),
        );
        let r = refresh(&t, &client, &rt);
        assert_eq!(r.status(), 200, "rotation at {at} s");
        rt = r.json::<Value>().expect("tokens")["refresh_token"].clone();
    }
    // A sliding expiry would keep the last successor until 6.5 s.
    std::thread::sleep(std::time::Duration::from_secs_f64(4.8).saturating_sub(started.elapsed()));
    let r = refresh(&t, &client, &rt);
    assert_eq!(r.status(), 403, "the family ended 4 s after the login");
}

#[test]
fn an_mfa_requirement_stops_token_endpoint_logins_and_refreshes_alike() {
    let s = start();
    let (t, token, _) = login_fixture(&s, &["f@example.com"]);
    let client = refresh_client(&t, &token);
    let password = || offline_login(&t, &client, "f@example.com");
    let r = password();
    assert_eq!(r.status(), 200);
    let tokens: Value = r.json().expect("tokens");
    create_deploy_bind(
        &t,
        &token,
        "require-mfa",
        "post-login",
        "exports.onExecutePostLogin = async (event, api) => { api.multifactor.enable('any'); };",
    );
    let r = password();
    assert_eq!(r.status(), 403);
    let body: Value = r.json().expect("error");
    assert_eq!(body["error"], "mfa_required", "{body}");
    assert!(
        body["mfa_token"].is_string(),
        "the MFA API continues it: {body}"
    );
    // An old refresh token is no way around it, nor a way into the MFA API: as at
    // Auth0, a refresh that needs MFA fails and the user logs in again.
    let r = refresh(&t, &client, &tokens["refresh_token"]);
    assert_eq!(r.status(), 403);
    let body: Value = r.json().expect("error");
    assert_eq!(body["error"], "mfa_required", "{body}");
    assert!(body.get("mfa_token").is_none(), "{body}");
}

#[test]
fn actions_see_the_request_body_without_its_secrets() {
    let s = start();
    let (t, token, _) = login_fixture(&s, &["g@example.com"]);
    let client = refresh_client(&t, &token);
    create_deploy_bind(
        &t,
        &token,
        "body",
        "post-login",
        "exports.onExecutePostLogin = async (event, api) => {\n  api.idToken.setCustomClaim('https://example.com/body', event.request.body);\n};",
    );
    let r = http()
        .post(format!("{t}/oauth/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", "g@example.com"),
            ("password", PASSWORD),
            ("client_id", client["client_id"].as_str().expect("id")),
            (
                "client_secret",
                client["client_secret"].as_str().expect("secret"),
            ),
            ("scope", "openid offline_access"),
            ("device", "phone-7"),
        ])
        .send()
        .expect("login");
    assert_eq!(r.status(), 200);
    let tokens: Value = r.json().expect("tokens");
    assert_eq!(
        id_claims(&tokens)["https://example.com/body"],
        json!({"grant_type": "password", "username": "g@example.com",
               "client_id": client["client_id"], "scope": "openid offline_access",
               "device": "phone-7"}),
        "the password and client secret stay out of the tenant's code"
    );
    let r = http()
        .post(format!("{t}/oauth/token"))
        .json(
            &json!({"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
                      "client_id": client["client_id"], "client_secret": client["client_secret"],
                      "device": {"id": 7}}),
        )
        .send()
        .expect("refresh");
    assert_eq!(r.status(), 200);
    assert_eq!(
        id_claims(&r.json().expect("tokens"))["https://example.com/body"],
        json!({"grant_type": "refresh_token", "client_id": client["client_id"],
               "device": {"id": 7}})
    );
}

#[test]
fn an_unused_refresh_token_expires_after_the_idle_lifetime_and_each_use_restarts_it() {
    let s = support::start_with(&[], &[("RULEBOX_TOKENS__REFRESH_TOKEN_IDLE_TTL", "3s")]);
    let (t, token, _) = login_fixture(&s, &["h@example.com"]);
    let client = refresh_client(&t, &token);
    let r = offline_login(&t, &client, "h@example.com");
    assert_eq!(r.status(), 200);
    let mut rt = r.json::<Value>().expect("tokens")["refresh_token"].clone();
    // Used within the idle lifetime, over and over: alive past it in total.
    for _ in 0..3 {
        std::thread::sleep(std::time::Duration::from_millis(1200));
        let r = refresh(&t, &client, &rt);
        assert_eq!(r.status(), 200);
        rt = r.json::<Value>().expect("tokens")["refresh_token"].clone();
    }
    // Left unused for longer: expired, though its login's 30 days are not over.
    std::thread::sleep(std::time::Duration::from_millis(4000));
    let r = refresh(&t, &client, &rt);
    assert_eq!(r.status(), 403);
    assert_eq!(r.json::<Value>().expect("error")["error"], "invalid_grant");
}
