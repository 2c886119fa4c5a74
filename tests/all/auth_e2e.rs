//! End to end over real HTTP against a real `rulebox serve` process:
//! tenant → client → database connection → users → an Action that adds a
//! claim and denies one email domain → deploy and bind → password logins.

use crate::support::{
    api, create_deploy_bind, create_tenant, form_fields, http, jwks, legacy_configuration,
    mgmt_token, query_param, start,
};
use serde_json::{Value, json};

const ACTION: &str = r#"
exports.onExecutePostLogin = async (event, api) => {
  if (event.user.email.endsWith('@evil.com')) {
    api.access.deny('Access denied: evil.com is not welcome');
  }
  api.idToken.setCustomClaim('https://example.com/claim', 'from-action');
  api.accessToken.setCustomClaim('https://example.com/plan', 'pro');
  api.user.setAppMetadata('seen_by_action', event.stats.logins_count);
};
"#;

#[test]
fn password_login_runs_the_bound_action_and_tokens_verify_against_jwks() {
    let s = start();
    let tenant = s.creds["tenant"].as_str().expect("tenant");
    assert_eq!(tenant, "default");
    assert_eq!(s.creds["issuer"], json!(format!("{}/t/default/", s.base)));
    let t = format!("{}/t/{tenant}", s.base);
    let token = mgmt_token(
        &s.base,
        tenant,
        s.creds["client_id"].as_str().expect("id"),
        s.creds["client_secret"].as_str().expect("secret"),
    );
    let post = reqwest::Method::POST;

    let (st, client) = api(
        post.clone(),
        format!("{t}/api/v2/clients"),
        &token,
        Some(json!({
            "name": "My App", "app_type": "regular_web",
            "grant_types": ["password", "http://auth0.com/oauth/grant-type/password-realm", "refresh_token"],
        })),
    );
    assert_eq!(st, 201, "{client}");
    let (client_id, client_secret) = (
        client["client_id"].as_str().expect("id").to_owned(),
        client["client_secret"].as_str().expect("secret").to_owned(),
    );

    let (st, conn) = api(
        post.clone(),
        format!("{t}/api/v2/connections"),
        &token,
        Some(json!({
            "name": "Username-Password-Authentication", "strategy": "auth0", "enabled_clients": [client_id],
        })),
    );
    assert_eq!(st, 201, "{conn}");
    for email in ["alice@example.com", "eve@evil.com"] {
        let (st, u) = api(
            post.clone(),
            format!("{t}/api/v2/users"),
            &token,
            Some(json!({
                "connection": "Username-Password-Authentication", "email": email, "password": "correct horse battery",
            })),
        );
        assert_eq!(st, 201, "{u}");
    }

    // Bad code is refused with the place of the error; nothing is created.
    let (st, err) = api(
        post.clone(),
        format!("{t}/api/v2/actions/actions"),
        &token,
        Some(json!({
            "name": "broken", "supported_triggers": [{"id": "post-login", "version": "v3"}],
            "code": "exports.onExecutePostLogin = async (event, api) => {\n  let x = ;\n};",
        })),
    );
    assert_eq!(st, 400, "{err}");
    assert!(
        err["message"].as_str().unwrap_or("").contains("line 2"),
        "{err}"
    );

    create_deploy_bind(&t, &token, "claims-and-deny", "post-login", ACTION);

    let login = |email: &str| {
        http()
            .post(format!("{t}/oauth/token"))
            .form(&[
                (
                    "grant_type",
                    "http://auth0.com/oauth/grant-type/password-realm",
                ),
                ("realm", "Username-Password-Authentication"),
                ("username", email),
                ("password", "correct horse battery"),
                ("client_id", &client_id),
                ("client_secret", &client_secret),
                ("scope", "openid profile email offline_access"),
            ])
            .send()
            .expect("login")
    };
    let r = login("alice@example.com");
    assert_eq!(r.status(), 200);
    let tokens: Value = r.json().expect("json");
    let jwks: Value = jwks(&t);
    let issuer = format!("{t}/");
    let id = rulebox_auth_core::crypto::jwt::verify(
        tokens["id_token"].as_str().expect("id_token"),
        &jwks,
        &issuer,
        &client_id,
    )
    .expect("ID token verifies against the published JWKS");
    assert_eq!(id["https://example.com/claim"], "from-action");
    assert_eq!(id["email"], "alice@example.com");
    let at = rulebox_auth_core::crypto::jwt::verify(
        tokens["access_token"].as_str().expect("at"),
        &jwks,
        &issuer,
        &format!("{issuer}userinfo"),
    )
    .expect("access token verifies");
    assert_eq!(at["https://example.com/plan"], "pro");
    assert_eq!(
        at["aud"],
        json!(format!("{issuer}userinfo")),
        "userinfo once, as Auth0 does without an API audience"
    );
    assert!(id["auth_time"].is_number());
    let (st, triggers) = api(
        reqwest::Method::GET,
        format!("{t}/api/v2/actions/triggers"),
        &token,
        None,
    );
    assert_eq!(st, 200);
    assert!(
        triggers.to_string().contains("\"post-login\""),
        "{triggers}"
    );
    let (st, body) = api(
        reqwest::Method::GET,
        format!("{t}/api/v2/no-such-thing"),
        &token,
        None,
    );
    assert_eq!(st, 404);
    assert_eq!(
        body["statusCode"], 404,
        "unknown routes answer in Auth0's error shape: {body}"
    );
    let info: Value = http()
        .get(format!("{t}/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().expect("at"))
        .send()
        .expect("userinfo")
        .json()
        .expect("json");
    assert_eq!(info["email"], "alice@example.com");

    // Refresh: rotates, and the old token cannot be used again.
    let refresh = tokens["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_owned();
    let again = |rt: &str| {
        http()
            .post(format!("{t}/oauth/token"))
            .json(&json!({"grant_type": "refresh_token", "refresh_token": rt, "client_id": client_id, "client_secret": client_secret}))
            .send()
            .expect("refresh")
    };
    let r = again(&refresh);
    assert_eq!(r.status(), 200);
    let rotated: Value = r.json().expect("json");
    assert_ne!(rotated["refresh_token"], json!(refresh));
    assert_eq!(
        again(&refresh).status(),
        403,
        "a used refresh token is refused"
    );

    let r = login("eve@evil.com");
    assert_eq!(r.status(), 403);
    let body: Value = r.json().expect("json");
    assert_eq!(
        body,
        json!({"error": "access_denied", "error_description": "Access denied: evil.com is not welcome"})
    );

    let r = http()
        .post(format!("{t}/oauth/token"))
        .json(&json!({"grant_type": "password", "username": "alice@example.com", "password": "wrong", "client_id": client_id, "client_secret": client_secret}))
        .send()
        .expect("login");
    assert_eq!(r.status(), 403);
    assert_eq!(r.json::<Value>().expect("json")["error"], "invalid_grant");

    // Metadata set by the Action is persisted, for the denied login too.
    let (_, found) = api(
        reqwest::Method::GET,
        format!("{t}/api/v2/users-by-email?email=eve@evil.com"),
        &token,
        None,
    );
    assert!(
        found[0]["app_metadata"]["seen_by_action"].is_number(),
        "{found}"
    );
    let (_, found) = api(
        reqwest::Method::GET,
        format!("{t}/api/v2/users-by-email?email=alice@example.com"),
        &token,
        None,
    );
    assert!(
        found[0]["app_metadata"]["seen_by_action"]
            .as_u64()
            .unwrap_or(0)
            >= 1,
        "{found}"
    );

    // The execution is in the tenant's logs with its outcome and cost.
    let (st, logs) = api(
        reqwest::Method::GET,
        format!("{t}/api/v2/logs"),
        &token,
        None,
    );
    assert_eq!(st, 200);
    let text = logs.to_string();
    assert!(
        text.contains("claims-and-deny") && text.contains("\"ok\""),
        "{text}"
    );
    // Rotating the client secret: the old one stops working, the new one does.
    let (st, rotated) = api(
        reqwest::Method::POST,
        format!("{t}/api/v2/clients/{client_id}/rotate-secret"),
        &token,
        None,
    );
    assert_eq!(st, 200, "{rotated}");
    let new_secret = rotated["client_secret"]
        .as_str()
        .expect("new secret")
        .to_owned();
    assert_ne!(new_secret, client_secret);
    assert_eq!(
        login("alice@example.com").status(),
        401,
        "the old secret is refused"
    );
    let r = http()
        .post(format!("{t}/oauth/token"))
        .json(&json!({"grant_type": "password", "username": "alice@example.com", "password": "correct horse battery", "client_id": client_id, "client_secret": new_secret}))
        .send()
        .expect("login");
    assert_eq!(r.status(), 200, "the new secret works");
    let _ = &s.data;
}

#[test]
fn another_tenants_token_reaches_nothing() {
    let s = start();
    let other = create_tenant(&s, "other", &["--public-url", &s.base]);
    for key in ["tenant", "domain", "issuer", "client_id", "client_secret"] {
        assert!(other.get(key).is_some(), "{key} in {other}");
    }
    let default_token = s.mgmt_token();
    let other_token = mgmt_token(
        &s.base,
        "other",
        other["client_id"].as_str().expect("id"),
        other["client_secret"].as_str().expect("s"),
    );
    let d = format!("{}/t/default", s.base);
    let (st, conn) = api(
        reqwest::Method::POST,
        format!("{d}/api/v2/connections"),
        &default_token,
        Some(json!({"name": "db", "strategy": "auth0"})),
    );
    assert_eq!(st, 201);
    let (st, user) = api(
        reqwest::Method::POST,
        format!("{d}/api/v2/users"),
        &default_token,
        Some(json!({"connection": "db", "email": "a@b.c", "password": "long enough pw"})),
    );
    assert_eq!(st, 201);
    let uid = user["user_id"].as_str().expect("uid").to_owned();
    let cid = conn["id"].as_str().expect("cid").to_owned();

    // Other's token on default's API: not this tenant's token.
    for path in ["clients", "connections", "users", "actions/actions", "logs"] {
        let (st, _) = api(
            reqwest::Method::GET,
            format!("{d}/api/v2/{path}"),
            &other_token,
            None,
        );
        assert_eq!(st, 401, "{path}");
    }
    // Other's own API, default's ids: nothing there.
    let o = format!("{}/t/other", s.base);
    let (st, _) = api(
        reqwest::Method::GET,
        format!("{o}/api/v2/users/{uid}"),
        &other_token,
        None,
    );
    assert_eq!(st, 404);
    let (st, _) = api(
        reqwest::Method::DELETE,
        format!("{o}/api/v2/users/{uid}"),
        &other_token,
        None,
    );
    assert_eq!(st, 404);
    let (st, _) = api(
        reqwest::Method::PATCH,
        format!("{o}/api/v2/connections/{cid}"),
        &other_token,
        Some(json!({"options": {}})),
    );
    assert_eq!(st, 404);
    // ...and default's data is unchanged.
    let (st, still) = api(
        reqwest::Method::GET,
        format!("{d}/api/v2/users/{uid}"),
        &default_token,
        None,
    );
    assert_eq!(st, 200);
    assert_eq!(still["email"], "a@b.c");
    // An unknown tenant is a clean 404.
    let r = http()
        .get(format!("{}/t/nope/.well-known/jwks.json", s.base))
        .send()
        .expect("request");
    assert_eq!(r.status(), 404);
}

#[test]
fn custom_database_lazy_migration_and_legacy_rules() {
    let s = start();
    let t = format!("{}/t/default", s.base);
    let token = s.mgmt_token();
    let post = reqwest::Method::POST;
    let (_, client) = api(
        post.clone(),
        format!("{t}/api/v2/clients"),
        &token,
        Some(json!({
            "name": "Legacy app", "grant_types": ["password", "http://auth0.com/oauth/grant-type/password-realm"],
        })),
    );
    let (client_id, secret) = (
        client["client_id"].as_str().expect("id").to_owned(),
        client["client_secret"].as_str().expect("s").to_owned(),
    );
    let login_script = include_str!("../../rules-examples/js/custom-db/legacy/login.js");
    let (st, conn) = api(
        post.clone(),
        format!("{t}/api/v2/connections"),
        &token,
        Some(json!({
            "name": "legacy-db", "strategy": "auth0", "enabled_clients": [client_id],
            "options": {
                "enabledDatabaseCustomization": true, "import_mode": true,
                "customScripts": {"login": login_script}, "configuration": legacy_configuration(),
            },
        })),
    );
    assert_eq!(st, 201, "{conn}");
    // A script that does not compile is refused before it can break logins.
    let (st, err) = api(
        reqwest::Method::PATCH,
        format!(
            "{t}/api/v2/connections/{}",
            conn["id"].as_str().expect("id")
        ),
        &token,
        Some(json!({
            "options": {"enabledDatabaseCustomization": true, "customScripts": {"login": "function login(email, password, callback) {"}},
        })),
    );
    assert_eq!(st, 400, "{err}");

    // A legacy Rule with rules-configs adds a claim.
    let (st, _) = api(
        reqwest::Method::PUT,
        format!("{t}/api/v2/rules-configs/PLAN_CLAIM"),
        &token,
        Some(json!({"value": "https://example.com/legacy"})),
    );
    assert_eq!(st, 200);
    let (st, rule) = api(
        post,
        format!("{t}/api/v2/rules"),
        &token,
        Some(json!({
            "name": "legacy-claim",
            "script": "function (user, context, callback) { context.idToken[configuration.PLAN_CLAIM] = (user.app_metadata || {}).plan || 'none'; callback(null, user, context); }",
        })),
    );
    assert_eq!(st, 201, "{rule}");
    let (_, configs) = api(
        reqwest::Method::GET,
        format!("{t}/api/v2/rules-configs"),
        &token,
        None,
    );
    assert_eq!(
        configs,
        json!([{"key": "PLAN_CLAIM"}]),
        "values are never returned"
    );

    let login = |password: &str| {
        http()
            .post(format!("{t}/oauth/token"))
            .json(&json!({
                "grant_type": "http://auth0.com/oauth/grant-type/password-realm", "realm": "legacy-db",
                "username": "ada@legacy.example", "password": password,
                "client_id": client_id, "client_secret": secret, "scope": "openid email",
            }))
            .send()
            .expect("login")
    };
    assert_eq!(login("not her password").status(), 403);
    let r = login("correct horse battery staple");
    assert_eq!(r.status(), 200);
    let tokens: Value = r.json().expect("json");
    let jwks: Value = jwks(&t);
    let id = rulebox_auth_core::crypto::jwt::verify(
        tokens["id_token"].as_str().expect("id_token"),
        &jwks,
        &format!("{t}/"),
        &client_id,
    )
    .expect("verifies");
    assert_eq!(id["sub"], "legacy|1001", "the legacy id is kept");
    assert_eq!(
        id["https://example.com/legacy"], "gold",
        "the rule ran with configuration: {id}"
    );

    // Migrated: the user lives here now, with the same id.
    let (st, users) = api(
        reqwest::Method::GET,
        format!("{t}/api/v2/users-by-email?email=ada@legacy.example"),
        &token,
        None,
    );
    assert_eq!(st, 200);
    assert_eq!(users[0]["user_id"], "legacy|1001");
    // Take the legacy store away: the next login no longer needs it.
    let (st, _) = api(
        reqwest::Method::PATCH,
        format!(
            "{t}/api/v2/connections/{}",
            conn["id"].as_str().expect("id")
        ),
        &token,
        Some(json!({
            "options": {"enabledDatabaseCustomization": true, "import_mode": true, "customScripts": {"login": login_script}, "configuration": {"LEGACY_USERS": "[]"}},
        })),
    );
    assert_eq!(st, 200);
    assert_eq!(
        login("correct horse battery staple").status(),
        200,
        "served from the local store"
    );
    assert_eq!(login("wrong").status(), 403);
}

/// Reads the hosted login page the way a browser would: its form's action
/// and hidden inputs.
#[test]
fn authorization_code_with_pkce_through_the_hosted_login_page_and_a_redirect_action() {
    let mut s = start();
    let t = format!("{}/t/default", s.base);
    let token = s.mgmt_token();
    let post = reqwest::Method::POST;
    let callback = "https://app.example.com/callback";
    let (_, client) = api(
        post.clone(),
        format!("{t}/api/v2/clients"),
        &token,
        Some(json!({
            "name": "SPA", "app_type": "spa", "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"], "callbacks": [callback],
        })),
    );
    let client_id = client["client_id"].as_str().expect("id").to_owned();
    api(
        post.clone(),
        format!("{t}/api/v2/connections"),
        &token,
        Some(json!({"name": "db", "strategy": "auth0"})),
    );
    api(
        post.clone(),
        format!("{t}/api/v2/users"),
        &token,
        Some(json!({"connection": "db", "email": "pat@example.com", "password": "long enough pw"})),
    );
    create_deploy_bind(
        &t,
        &token,
        "verify-identity",
        "post-login",
        "exports.onExecutePostLogin = async (event, api) => {\n  api.idToken.setCustomClaim('https://example.com/step', 'started');\n  api.redirect.sendUserTo('https://idv.example/start', { query: { u: event.user.user_id } });\n};\nexports.onContinuePostLogin = async (event, api) => {\n  api.idToken.setCustomClaim('https://example.com/verified', true);\n};",
    );

    let browser = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let page = browser
        .get(format!("{t}/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", &client_id),
            ("redirect_uri", callback),
            ("scope", "openid email"),
            ("state", "xyz"),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
            ("nonce", "n1"),
        ])
        .send()
        .expect("authorize");
    assert_eq!(page.status(), 200);
    let (action_url, mut fields) = form_fields(&page.text().expect("html"));
    let bad = {
        let mut f = fields.clone();
        f.push(("username".into(), "pat@example.com".into()));
        f.push(("password".into(), "nope".into()));
        browser.post(&action_url).form(&f).send().expect("post")
    };
    assert_eq!(bad.status(), 401, "a wrong password shows the form again");
    assert!(
        bad.text()
            .expect("html")
            .contains("Wrong email or password.")
    );
    fields.push(("username".into(), "pat@example.com".into()));
    fields.push(("password".into(), "long enough pw".into()));
    let r = browser
        .post(&action_url)
        .form(&fields)
        .send()
        .expect("post");
    assert_eq!(r.status(), 303, "redirected to the Action's page");
    let to = r.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    assert!(to.starts_with("https://idv.example/start?u="), "{to}");
    let state = query_param(&to, "state").expect("state to come back with");

    // The node that paused the login dies (kill -9) while the user is away; a node on
    // the same database resumes it: paused logins live in the database, not in memory.
    s.kill9_and_restart();
    let t = format!("{}/t/default", s.base);

    // The user comes back: onContinuePostLogin runs, then the code is issued.
    let r = browser
        .get(format!("{t}/continue"))
        .query(&[("state", &state)])
        .send()
        .expect("continue");
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    assert!(to.starts_with(callback), "{to}");
    assert_eq!(query_param(&to, "state").as_deref(), Some("xyz"));
    let code = query_param(&to, "code").expect("code");
    let exchange = |verifier: &str| {
        http()
            .post(format!("{t}/oauth/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("client_id", &client_id),
                ("code", &code),
                ("redirect_uri", callback),
                ("code_verifier", verifier),
            ])
            .send()
            .expect("exchange")
    };
    let r = exchange(verifier);
    assert_eq!(r.status(), 200);
    let tokens: Value = r.json().expect("json");
    let jwks: Value = jwks(&t);
    let claims = rulebox_auth_core::crypto::jwt::verify(
        tokens["id_token"].as_str().expect("id"),
        &jwks,
        &format!("{t}/"),
        &client_id,
    )
    .expect("verifies");
    assert_eq!(claims["https://example.com/step"], "started");
    assert_eq!(claims["https://example.com/verified"], true);
    assert_eq!(claims["nonce"], "n1");
    assert_eq!(exchange(verifier).status(), 403, "a code is single-use");
    // A state that was already used is refused.
    let r = browser
        .get(format!("{t}/continue"))
        .query(&[("state", &state)])
        .send()
        .expect("continue");
    assert_eq!(r.status(), 400);
}

#[test]
fn pkce_mismatch_is_invalid_grant() {
    let s = start();
    let t = format!("{}/t/default", s.base);
    let token = s.mgmt_token();
    let callback = "http://localhost:3000/cb";
    let (_, client) = api(
        reqwest::Method::POST,
        format!("{t}/api/v2/clients"),
        &token,
        Some(json!({
            "name": "native", "token_endpoint_auth_method": "none", "grant_types": ["authorization_code"], "callbacks": [callback],
        })),
    );
    let client_id = client["client_id"].as_str().expect("id").to_owned();
    api(
        reqwest::Method::POST,
        format!("{t}/api/v2/connections"),
        &token,
        Some(json!({"name": "db", "strategy": "auth0"})),
    );
    api(
        reqwest::Method::POST,
        format!("{t}/api/v2/users"),
        &token,
        Some(json!({"connection": "db", "email": "q@example.com", "password": "long enough pw"})),
    );
    let browser = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let r = browser
        .post(format!("{t}/authorize"))
        .form(&[
            ("response_type", "code"),
            ("client_id", &client_id),
            ("redirect_uri", callback),
            ("scope", "openid"),
            (
                "code_challenge",
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            ),
            ("code_challenge_method", "S256"),
            ("username", "q@example.com"),
            ("password", "long enough pw"),
        ])
        .send()
        .expect("post");
    assert_eq!(r.status(), 303);
    let code = query_param(r.headers()["location"].to_str().expect("loc"), "code").expect("code");
    let r = http()
        .post(format!("{t}/oauth/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", &client_id),
            ("code", &code),
            (
                "code_verifier",
                "a-wrong-verifier-that-is-long-enough-to-be-valid-0123",
            ),
        ])
        .send()
        .expect("exchange");
    assert_eq!(r.status(), 403);
    assert_eq!(r.json::<Value>().expect("json")["error"], "invalid_grant");
    // An unregistered redirect_uri never receives anything.
    let r = browser
        .get(format!("{t}/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", &client_id),
            ("redirect_uri", "https://evil.example/cb"),
        ])
        .send()
        .expect("authorize");
    assert_eq!(r.status(), 400);
}

#[test]
fn a_killed_server_restarts_with_everything_it_had() {
    let mut s = start();
    let t = format!("{}/t/default", s.base);
    let (cid, secret) = (
        s.creds["client_id"].as_str().expect("id").to_owned(),
        s.creds["client_secret"].as_str().expect("s").to_owned(),
    );
    let token = mgmt_token(&s.base, "default", &cid, &secret);
    let (_, client) = api(
        reqwest::Method::POST,
        format!("{t}/api/v2/clients"),
        &token,
        Some(json!({"name": "app", "grant_types": ["password"]})),
    );
    let app_id = client["client_id"].as_str().expect("id").to_owned();
    let app_secret = client["client_secret"].as_str().expect("secret").to_owned();
    api(
        reqwest::Method::POST,
        format!("{t}/api/v2/connections"),
        &token,
        Some(json!({"name": "db", "strategy": "auth0"})),
    );
    api(
        reqwest::Method::POST,
        format!("{t}/api/v2/users"),
        &token,
        Some(json!({"connection": "db", "email": "k@example.com", "password": "long enough pw"})),
    );
    let action = create_deploy_bind(
        &t,
        &token,
        "claim",
        "post-login",
        "exports.onExecutePostLogin = async (e, api) => { api.idToken.setCustomClaim('https://example.com/after-restart', true); api.idToken.setCustomClaim('https://example.com/tier', e.secrets.TIER); };",
    );
    // An Action secret (sealed at rest), a rule with a rules-config value, and a
    // refresh token: all of them must come back too.
    let (st, v) = api(
        reqwest::Method::PATCH,
        format!("{t}/api/v2/actions/actions/{action}"),
        &token,
        Some(json!({"secrets": [{"name": "TIER", "value": "gold"}]})),
    );
    assert_eq!(st, 200, "{v}");
    let (st, v) = api(
        reqwest::Method::POST,
        format!("{t}/api/v2/actions/actions/{action}/deploy"),
        &token,
        None,
    );
    assert_eq!(st, 202, "{v}");
    let (st, v) = api(
        reqwest::Method::PUT,
        format!("{t}/api/v2/rules-configs/PLAN"),
        &token,
        Some(json!({"value": "pro"})),
    );
    assert_eq!(st, 200, "{v}");
    let (st, v) = api(
        reqwest::Method::POST,
        format!("{t}/api/v2/rules"),
        &token,
        Some(
            json!({"name": "plan", "enabled": true, "script": "function (user, context, callback) { context.idToken['https://example.com/plan'] = configuration.PLAN; callback(null, user, context); }"}),
        ),
    );
    assert_eq!(st, 201, "{v}");
    let (st, v) = api(
        reqwest::Method::PATCH,
        format!("{t}/api/v2/clients/{app_id}"),
        &token,
        Some(json!({"grant_types": ["password", "refresh_token"]})),
    );
    assert_eq!(st, 200, "{v}");
    let r = http()
        .post(format!("{t}/oauth/token"))
        .json(&json!({"grant_type": "password", "username": "k@example.com", "password": "long enough pw", "client_id": app_id, "client_secret": app_secret, "scope": "openid offline_access"}))
        .send()
        .expect("login");
    assert_eq!(r.status(), 200);
    let refresh_token = r.json::<Value>().expect("json")["refresh_token"].clone();
    let jwks_before: Value = jwks(&t);

    // kill -9: no graceful shutdown.
    s.kill9_and_restart();
    let t = format!("{}/t/default", s.base);
    let jwks_after: Value = jwks(&t);
    assert_eq!(jwks_before, jwks_after, "same signing keys");
    let r = http()
        .post(format!("{t}/oauth/token"))
        .json(&json!({"grant_type": "password", "username": "k@example.com", "password": "long enough pw", "client_id": app_id, "client_secret": app_secret, "scope": "openid"}))
        .send()
        .expect("login");
    assert_eq!(r.status(), 200);
    let tokens: Value = r.json().expect("json");
    let claims = rulebox_auth_core::crypto::jwt::verify(
        tokens["id_token"].as_str().expect("id"),
        &jwks_after,
        &format!("{t}/"),
        &app_id,
    )
    .expect("verifies");
    assert_eq!(
        claims["https://example.com/after-restart"], true,
        "the deployed, bound Action survived"
    );
    assert_eq!(
        claims["https://example.com/tier"], "gold",
        "its secret survived"
    );
    assert_eq!(
        claims["https://example.com/plan"], "pro",
        "the rule and its config survived"
    );
    let r = http()
        .post(format!("{t}/oauth/token"))
        .json(&json!({"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": app_id, "client_secret": app_secret}))
        .send()
        .expect("refresh");
    assert_eq!(r.status(), 200, "the refresh token survived");
    assert!(
        mgmt_token(&s.base, "default", &cid, &secret).len() > 20,
        "the management client survived"
    );
}

#[test]
fn signup_runs_pre_and_post_user_registration_actions() {
    let s = start();
    let t = format!("{}/t/default", s.base);
    let token = s.mgmt_token();
    let post = reqwest::Method::POST;
    let (_, client) = api(
        post.clone(),
        format!("{t}/api/v2/clients"),
        &token,
        Some(json!({"name": "signup app"})),
    );
    let client_id = client["client_id"].as_str().expect("id").to_owned();
    api(
        post.clone(),
        format!("{t}/api/v2/connections"),
        &token,
        Some(json!({"name": "db", "strategy": "auth0"})),
    );
    for (name, trigger, code) in [
        (
            "gate",
            "pre-user-registration",
            "exports.onExecutePreUserRegistration = async (event, api) => {\n  if (event.user.email.endsWith('@spam.test')) api.access.deny('no_spam', 'Signups from this domain are closed.');\n  api.user.setUserMetadata('plan', 'trial');\n};",
        ),
        (
            "welcome",
            "post-user-registration",
            "exports.onExecutePostUserRegistration = async (event) => { console.log('welcome', event.user.email); };",
        ),
    ] {
        create_deploy_bind(&t, &token, name, trigger, code);
    }
    let signup = |email: &str| {
        http()
            .post(format!("{t}/dbconnections/signup"))
            .json(&json!({"client_id": client_id, "email": email, "password": "long enough pw", "connection": "db"}))
            .send()
            .expect("signup")
    };
    let r = signup("bot@spam.test");
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().expect("json"),
        json!({"error": "invalid_signup", "error_description": "Signups from this domain are closed."})
    );
    let r = signup("new@example.com");
    assert_eq!(r.status(), 200);
    let body: Value = r.json().expect("json");
    assert_eq!(body["user_metadata"]["plan"], "trial", "{body}");
    assert_eq!(
        signup("new@example.com").status(),
        400,
        "the user already exists"
    );
    let (_, logs) = api(
        reqwest::Method::GET,
        format!("{t}/api/v2/logs"),
        &token,
        None,
    );
    assert!(
        logs.to_string().contains("welcome new@example.com"),
        "post-user-registration ran: {logs}"
    );
}

#[test]
fn a_compiled_rust_action_runs_in_the_login_and_revoked_refresh_tokens_stop_working() {
    let s = start();
    let t = format!("{}/t/default", s.base);
    let token = s.mgmt_token();
    let post = reqwest::Method::POST;
    let (_, client) = api(
        post.clone(),
        format!("{t}/api/v2/clients"),
        &token,
        Some(json!({"name": "app", "grant_types": ["password", "refresh_token"]})),
    );
    let (client_id, secret) = (
        client["client_id"].as_str().expect("id").to_owned(),
        client["client_secret"].as_str().expect("s").to_owned(),
    );
    api(
        post.clone(),
        format!("{t}/api/v2/connections"),
        &token,
        Some(json!({"name": "db", "strategy": "auth0"})),
    );
    api(
        post.clone(),
        format!("{t}/api/v2/users"),
        &token,
        Some(json!({"connection": "db", "email": "w@example.com", "password": "long enough pw"})),
    );
    let (st, action) = api(
        post.clone(),
        format!("{t}/api/v2/actions/actions"),
        &token,
        Some(json!({
            "name": "rust-rule", "supported_triggers": [{"id": "post-login", "version": "v3"}],
            "code": "exports.onExecutePostLogin = async () => {};",
        })),
    );
    assert_eq!(st, 201, "{action}");
    let id = action["id"].as_str().expect("id");
    // Garbage is refused with the reason; the module built from rules-examples/rust is taken.
    let upload = |bytes: Vec<u8>| {
        http()
            .post(format!("{t}/api/v2/actions/actions/{id}/versions"))
            .bearer_auth(&token)
            .header("content-type", "application/wasm")
            .body(bytes)
            .send()
            .expect("upload")
    };
    let r = upload(b"\0asm\x01\0\0\0junk".to_vec());
    assert_eq!(r.status(), 400);
    let r = upload(std::fs::read(rulebox_test_guests::TRIVIAL).expect("trivial.wasm built"));
    assert_eq!(r.status(), 201);
    let (st, v) = api(
        post.clone(),
        format!("{t}/api/v2/actions/actions/{id}/deploy"),
        &token,
        None,
    );
    assert_eq!(st, 202, "{v}");
    api(
        reqwest::Method::PATCH,
        format!("{t}/api/v2/actions/triggers/post-login/bindings"),
        &token,
        Some(json!({"bindings": [{"ref": {"type": "action_id", "value": id}}]})),
    );
    let r = http()
        .post(format!("{t}/oauth/token"))
        .json(&json!({"grant_type": "password", "username": "w@example.com", "password": "long enough pw", "client_id": client_id, "client_secret": secret, "scope": "openid offline_access"}))
        .send()
        .expect("login");
    assert_eq!(r.status(), 200);
    let tokens: Value = r.json().expect("json");
    let jwks: Value = jwks(&t);
    let claims = rulebox_auth_core::crypto::jwt::verify(
        tokens["id_token"].as_str().expect("id"),
        &jwks,
        &format!("{t}/"),
        &client_id,
    )
    .expect("verifies");
    assert_eq!(
        claims["https://example.com/trivial"], true,
        "the Rust module's claim"
    );

    let refresh = tokens["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    let r = http()
        .post(format!("{t}/oauth/revoke"))
        .json(&json!({"client_id": client_id, "client_secret": secret, "token": refresh}))
        .send()
        .expect("revoke");
    assert_eq!(r.status(), 200);
    let r = http()
        .post(format!("{t}/oauth/token"))
        .json(&json!({"grant_type": "refresh_token", "refresh_token": refresh, "client_id": client_id, "client_secret": secret}))
        .send()
        .expect("refresh");
    assert_eq!(r.status(), 403, "a revoked refresh token is refused");
}

#[test]
fn key_rotation_is_visible_in_jwks_and_old_tokens_keep_verifying() {
    let s = start();
    let t = format!("{}/t/default", s.base);
    let (cid, secret) = (
        s.creds["client_id"].as_str().expect("id").to_owned(),
        s.creds["client_secret"].as_str().expect("s").to_owned(),
    );
    let before = mgmt_token(&s.base, "default", &cid, &secret);
    let jwks1: Value = jwks(&t);
    assert_eq!(jwks1["keys"].as_array().map(Vec::len), Some(1));
    let (st, rotated) = api(
        reqwest::Method::POST,
        format!("{t}/api/v2/keys/signing/rotate"),
        &before,
        None,
    );
    assert_eq!(st, 201, "{rotated}");
    let jwks2: Value = jwks(&t);
    let kids: Vec<&str> = jwks2["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter_map(|k| k["kid"].as_str())
        .collect();
    assert_eq!(kids.len(), 2, "new and previous key published");
    assert!(kids.contains(&rotated["kid"].as_str().expect("kid")));
    // A token signed before the rotation still verifies against the new JWKS...
    let aud = format!("{t}/api/v2/");
    rulebox_auth_core::crypto::jwt::verify(&before, &jwks2, &format!("{t}/"), &aud)
        .expect("old token verifies");
    // ...and new tokens are signed with the new key.
    let after = mgmt_token(&s.base, "default", &cid, &secret);
    let claims = rulebox_auth_core::crypto::jwt::verify(&after, &jwks2, &format!("{t}/"), &aud)
        .expect("new token verifies");
    assert!(
        claims["scope"]
            .as_str()
            .unwrap_or("")
            .contains("read:signing_keys")
    );
    let (st, keys) = api(
        reqwest::Method::GET,
        format!("{t}/api/v2/keys/signing"),
        &after,
        None,
    );
    assert_eq!(st, 200);
    assert!(
        keys.to_string().contains("\"current\":true") && !keys.to_string().contains("PRIVATE"),
        "{keys}"
    );

    // Revoking the previous key takes it out of the JWKS: tokens it signed stop
    // verifying, the new key's keep working. Only a previous key can go.
    let old_kid = jwks1["keys"][0]["kid"].as_str().expect("kid").to_owned();
    let new_kid = rotated["kid"].as_str().expect("kid").to_owned();
    let revoke = |kid: &str| {
        api(
            reqwest::Method::PUT,
            format!("{t}/api/v2/keys/signing/{kid}/revoke"),
            &after,
            None,
        )
    };
    let (st, err) = revoke(&new_kid);
    assert_eq!(st, 400, "the current key stays: {err}");
    let (st, done) = revoke(&old_kid);
    assert_eq!(st, 200, "{done}");
    assert_eq!(done["kid"], old_kid.as_str());
    let jwks3: Value = jwks(&t);
    let kids: Vec<&str> = jwks3["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter_map(|k| k["kid"].as_str())
        .collect();
    assert_eq!(kids, [new_kid.as_str()], "{jwks3}");
    assert!(
        rulebox_auth_core::crypto::jwt::verify(&before, &jwks3, &format!("{t}/"), &aud).is_err(),
        "a token of the revoked key no longer verifies"
    );
    rulebox_auth_core::crypto::jwt::verify(&after, &jwks3, &format!("{t}/"), &aud)
        .expect("the current key's tokens still verify");
    let (st, err) = revoke(&old_kid);
    assert_eq!(st, 409, "{err}");
    let (st, err) = revoke("no-such-kid");
    assert_eq!(st, 404, "{err}");
    let (st, key) = api(
        reqwest::Method::GET,
        format!("{t}/api/v2/keys/signing/{old_kid}"),
        &after,
        None,
    );
    assert_eq!(st, 200, "{key}");
    assert_eq!(
        (&key["revoked"], &key["current"]),
        (&json!(true), &json!(false))
    );
    let (_, listed) = api(
        reqwest::Method::GET,
        format!("{t}/api/v2/keys/signing"),
        &after,
        None,
    );
    let revoked: Vec<&Value> = listed
        .as_array()
        .expect("keys")
        .iter()
        .filter(|k| k["revoked"] == true)
        .collect();
    assert_eq!(
        revoked.len(),
        1,
        "the list keeps revoked keys, marked: {listed}"
    );
    assert_eq!(revoked[0]["kid"], old_kid.as_str());
    assert!(revoked[0]["revoked_at"].is_string(), "{listed}");
    // The management API itself stops taking the revoked key's tokens.
    let (st, _) = api(
        reqwest::Method::GET,
        format!("{t}/api/v2/keys/signing"),
        &before,
        None,
    );
    assert_eq!(st, 401);
}
