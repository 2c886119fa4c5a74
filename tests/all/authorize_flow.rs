//! The hosted-login (authorization code) flow at its edges, over real HTTP:
//! what `/authorize` refuses as Auth0 does, and what survives the `/continue`
//! round trip of an Action's or a Rule's redirect.

use crate::support::*;
use reqwest::blocking::{Client as Http, Response};
use serde_json::{Value, json};

const CALLBACK: &str = "https://app.example.com/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn browser() -> Http {
    Http::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// A public SPA client with `grant_types`, a database connection and one user.
fn spa(s: &Server, grant_types: &[&str]) -> (String, String, String) {
    let t = format!("{}/t/default", s.base);
    let token = s.mgmt_token();
    let (st, client) = api(
        reqwest::Method::POST,
        format!("{t}/api/v2/clients"),
        &token,
        Some(
            json!({"name": "SPA", "app_type": "spa", "token_endpoint_auth_method": "none",
                    "grant_types": grant_types, "callbacks": [CALLBACK]}),
        ),
    );
    assert_eq!(st, 201, "{client}");
    for (path, body) in [
        ("connections", json!({"name": "db", "strategy": "auth0"})),
        (
            "users",
            json!({"connection": "db", "email": "pat@example.com", "password": PASSWORD}),
        ),
    ] {
        let (st, out) = api(
            reqwest::Method::POST,
            format!("{t}/api/v2/{path}"),
            &token,
            Some(body),
        );
        assert_eq!(st, 201, "{out}");
    }
    let id = client["client_id"].as_str().expect("id").to_owned();
    (t, token, id)
}

fn authorize(t: &str, client_id: &str, extra: &[(&str, &str)]) -> Response {
    let mut query = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", CALLBACK),
        ("scope", "openid"),
        ("state", "st8"),
    ];
    query.extend_from_slice(extra);
    browser()
        .get(format!("{t}/authorize"))
        .query(&query)
        .send()
        .expect("authorize")
}

fn location(r: &Response) -> String {
    assert!(r.status().is_redirection(), "{}", r.status());
    r.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned()
}

/// Fills in the hosted page with PKCE; the redirect that answers the form.
fn log_in(t: &str, client_id: &str) -> Response {
    let page = authorize(
        t,
        client_id,
        &[
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ],
    );
    assert_eq!(page.status(), 200);
    let (action, mut fields) = form_fields(&page.text().expect("html"));
    fields.push(("username".into(), "pat@example.com".into()));
    fields.push(("password".into(), PASSWORD.into()));
    browser()
        .post(&action)
        .form(&fields)
        .send()
        .expect("login form")
}

/// `/continue` with the state the redirect carried and `extra` parameters.
fn come_back(t: &str, from: &str, extra: &[(&str, &str)]) -> Response {
    let state = query_param(from, "state").expect("state");
    let mut query = vec![("state", state.as_str())];
    query.extend_from_slice(extra);
    browser()
        .get(format!("{t}/continue"))
        .query(&query)
        .send()
        .expect("continue")
}

fn exchange(t: &str, client_id: &str, to_callback: &str, redirect_uri: Option<&str>) -> Response {
    let code = query_param(to_callback, "code").expect("code");
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("client_id", client_id),
        ("code", &code),
        ("code_verifier", VERIFIER),
    ];
    if let Some(r) = redirect_uri {
        form.push(("redirect_uri", r));
    }
    http()
        .post(format!("{t}/oauth/token"))
        .form(&form)
        .send()
        .expect("exchange")
}

#[test]
fn authorize_refuses_what_auth0_refuses() {
    let s = start();
    let (t, token, spa_id) = spa(&s, &["authorization_code"]);
    let refused = |client_id: &str, extra: &[(&str, &str)], error: &str| {
        let to = location(&authorize(&t, client_id, extra));
        assert!(to.starts_with(CALLBACK), "{to}");
        assert_eq!(query_param(&to, "error").as_deref(), Some(error), "{to}");
        assert_eq!(query_param(&to, "state").as_deref(), Some("st8"), "{to}");
    };
    // PKCE is S256 only; a challenge without a method would mean `plain`.
    refused(
        &spa_id,
        &[
            ("code_challenge", VERIFIER),
            ("code_challenge_method", "plain"),
        ],
        "invalid_request",
    );
    refused(&spa_id, &[("code_challenge", VERIFIER)], "invalid_request");
    // No sessions: a silent login always needs a login.
    refused(&spa_id, &[("prompt", "none")], "login_required");
    // A client not allowed the grant gets no login page.
    let (st, machine) = api(
        reqwest::Method::POST,
        format!("{t}/api/v2/clients"),
        &token,
        Some(
            json!({"name": "password only", "grant_types": ["password"], "callbacks": [CALLBACK]}),
        ),
    );
    assert_eq!(st, 201);
    refused(
        machine["client_id"].as_str().expect("id"),
        &[],
        "unauthorized_client",
    );
    // A query the page cannot read is a clean 400 page, not plain text.
    let r = http()
        .get(format!("{t}/authorize?client_id=a&client_id=b"))
        .send()
        .expect("authorize");
    assert_eq!(r.status(), 400);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/html")
    );
    let discovery: Value = http()
        .get(format!("{t}/.well-known/openid-configuration"))
        .send()
        .expect("discovery")
        .json()
        .expect("json");
    assert_eq!(
        discovery["code_challenge_methods_supported"],
        json!(["S256"])
    );

    // The code of an /authorize that named its redirect_uri needs it again.
    let to = location(&log_in(&t, &spa_id));
    let r = exchange(&t, &spa_id, &to, None);
    assert_eq!(r.status(), 403);
    let body: Value = r.json().expect("error");
    assert_eq!(body["error"], "invalid_grant", "{body}");
    let to = location(&log_in(&t, &spa_id));
    assert_eq!(exchange(&t, &spa_id, &to, Some(CALLBACK)).status(), 200);
}

#[test]
fn what_an_action_decided_before_its_redirect_holds_after_it() {
    let s = start();
    let (t, token, spa_id) = spa(&s, &["authorization_code"]);
    create_deploy_bind(
        &t,
        &token,
        "idv",
        "post-login",
        "exports.onExecutePostLogin = async (event, api) => {\n  api.accessToken.addScope('read:reports');\n  api.redirect.sendUserTo('https://idv.example/start');\n};\nexports.onContinuePostLogin = async (event, api) => {\n  api.idToken.setCustomClaim('https://example.com/session', event.request.query.session_token);\n  api.redirect.sendUserTo('https://idv.example/again');\n};",
    );
    let to = location(&log_in(&t, &spa_id));
    assert!(to.starts_with("https://idv.example/start"), "{to}");
    let back = location(&come_back(&t, &to, &[("session_token", "tok-42")]));
    // onContinuePostLogin's own redirect has nowhere to return to: ignored.
    assert!(back.starts_with(CALLBACK), "{back}");
    let r = exchange(&t, &spa_id, &back, Some(CALLBACK));
    assert_eq!(r.status(), 200);
    let tokens: Value = r.json().expect("tokens");
    let scope = tokens["scope"].as_str().expect("scope");
    assert!(
        scope.split(' ').any(|s| s == "read:reports"),
        "the scope added before the redirect: {scope}"
    );
    assert_eq!(
        id_claims(&tokens)["https://example.com/session"],
        "tok-42",
        "onContinuePostLogin sees the query /continue was called with"
    );
}

/// The text of the element with `id` on a page.
fn element(html: &str, id: &str) -> Option<String> {
    let rest = html.split(&format!("id=\"{id}\"")).nth(1)?;
    let text = rest.split_once('>')?.1.split('<').next()?;
    Some(text.replace("&amp;", "&"))
}

/// What the user's authenticator app shows now for the URI it scanned.
fn app_code(barcode_uri: &str, offset: i64) -> String {
    let totp = totp_rs::Totp::from_url(barcode_uri).expect("an otpauth URI an app accepts");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    totp.generate(now.saturating_add_signed(offset)).to_string()
}

/// Answers the second-factor page with `field` = `value`.
fn enter(page_html: &str, field: &str, value: &str) -> Response {
    let (action, mut fields) = form_fields(page_html);
    assert!(action.ends_with("/authorize/mfa"), "{action}");
    fields.push((field.into(), value.into()));
    browser()
        .post(&action)
        .form(&fields)
        .send()
        .expect("mfa form")
}

#[test]
fn an_mfa_requirement_before_a_redirect_is_not_forgotten() {
    let s = start();
    let (t, token, spa_id) = spa(&s, &["authorization_code"]);
    create_deploy_bind(
        &t,
        &token,
        "mfa-then-idv",
        "post-login",
        "exports.onExecutePostLogin = async (event, api) => {\n  api.multifactor.enable('any');\n  api.redirect.sendUserTo('https://idv.example/start');\n};\nexports.onContinuePostLogin = async (event, api) => {};",
    );
    let to = location(&log_in(&t, &spa_id));
    // Back from the redirect, the MFA asked for before it: the hosted page enrolls
    // an authenticator app and asks for its code; no code reaches the app before.
    let page = come_back(&t, &to, &[]);
    assert_eq!(page.status(), 200);
    let html = page.text().expect("page");
    let uri = element(&html, "barcode_uri").expect("an otpauth URI to scan");
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    assert!(
        element(&html, "recovery_code").is_some(),
        "a recovery code, shown once"
    );

    // A wrong code: the page again, with the same secret and the error.
    let wrong = enter(&html, "otp", &app_code(&uri, 3600));
    assert_eq!(wrong.status(), 401);
    let html = wrong.text().expect("page");
    assert!(element(&html, "error").is_some(), "{html}");
    assert_eq!(element(&html, "barcode_uri").as_deref(), Some(uri.as_str()));
    assert!(element(&html, "recovery_code").is_none(), "shown only once");
    // The page's state is not a /continue state, however it is spelled.
    let (_, fields) = form_fields(&html);
    let state = &fields.iter().find(|(k, _)| k == "state").expect("state").1;
    for spelled in [state.clone(), format!("mfa-page:{state}")] {
        let r = browser()
            .get(format!("{t}/continue"))
            .query(&[("state", &spelled)])
            .send()
            .expect("continue");
        assert_eq!(r.status(), 400, "{spelled}");
    }

    // Another login of the same user (someone else with the password) is not
    // shown the secret being set up: its page enrolls afresh, replacing it.
    let to = location(&log_in(&t, &spa_id));
    let page = come_back(&t, &to, &[]);
    assert_eq!(page.status(), 200);
    assert_eq!(
        page.headers()["cache-control"],
        "no-store",
        "a page with a secret"
    );
    let second = page.text().expect("page");
    let uri2 = element(&second, "barcode_uri").expect("its own secret");
    assert_ne!(uri2, uri, "the first login's secret leaked to the second");
    let recovery = element(&second, "recovery_code").expect("its own recovery code");

    // The right code: the callback gets a code, its tokens are marked as MFA.
    let done = enter(&second, "otp", &app_code(&uri2, 0));
    let back = location(&done);
    assert!(back.starts_with(CALLBACK), "{back}");
    assert_eq!(query_param(&back, "state").as_deref(), Some("st8"));
    let r = exchange(&t, &spa_id, &back, Some(CALLBACK));
    assert_eq!(r.status(), 200);
    assert_eq!(id_claims(&r.json().expect("tokens"))["amr"], json!(["mfa"]));

    // The next login: no enrollment, just the code, or the recovery code.
    let to = location(&log_in(&t, &spa_id));
    let html = come_back(&t, &to, &[]).text().expect("page");
    assert!(element(&html, "barcode_uri").is_none(), "enrolled already");
    let shown = enter(&html, "recovery_code", &recovery);
    assert_eq!(shown.status(), 200);
    let html = shown.text().expect("page");
    let next = element(&html, "recovery_code").expect("the next recovery code");
    assert_ne!(next, recovery);
    let back = element(&html, "continue").map(|_| {
        html.split("id=\"continue\" href=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .expect("href")
            .replace("&amp;", "&")
    });
    let back = back.expect("a link on to the app");
    assert!(back.starts_with(CALLBACK), "{back}");
    assert_eq!(exchange(&t, &spa_id, &back, Some(CALLBACK)).status(), 200);

    // Blocked while on the page: the right code opens nothing.
    let to = location(&log_in(&t, &spa_id));
    let html = come_back(&t, &to, &[]).text().expect("page");
    let (_, users) = api(
        reqwest::Method::GET,
        format!("{t}/api/v2/users-by-email?email=pat@example.com"),
        &token,
        None,
    );
    let pat = users[0]["user_id"].as_str().expect("id");
    let (st, _) = api(
        reqwest::Method::PATCH,
        format!("{t}/api/v2/users/{pat}"),
        &token,
        Some(json!({"blocked": true})),
    );
    assert_eq!(st, 200);
    let r = enter(&html, "otp", &app_code(&uri2, 30));
    assert_eq!(r.status(), 401);
    assert!(r.text().expect("page").contains("blocked"));
}

#[test]
fn a_rules_context_redirect_round_trips_as_redirect_callback() {
    let s = start();
    let (t, token, spa_id) = spa(&s, &["authorization_code"]);
    let rule = "function (user, context, callback) {\n  if (context.protocol !== 'redirect-callback') {\n    context.redirect = { url: 'https://consent.example/ask' };\n    return callback(null, user, context);\n  }\n  context.idToken['https://example.com/protocol'] = context.protocol;\n  context.idToken['https://example.com/answer'] = context.request.query.answer;\n  callback(null, user, context);\n}";
    let (st, out) = api(
        reqwest::Method::POST,
        format!("{t}/api/v2/rules"),
        &token,
        Some(json!({"name": "consent", "script": rule, "enabled": true})),
    );
    assert_eq!(st, 201, "{out}");
    let to = location(&log_in(&t, &spa_id));
    assert!(to.starts_with("https://consent.example/ask?"), "{to}");
    let back = location(&come_back(&t, &to, &[("answer", "yes")]));
    assert!(back.starts_with(CALLBACK), "{back}");
    let r = exchange(&t, &spa_id, &back, Some(CALLBACK));
    assert_eq!(r.status(), 200);
    let claims = id_claims(&r.json().expect("tokens"));
    assert_eq!(claims["https://example.com/protocol"], "redirect-callback");
    assert_eq!(claims["https://example.com/answer"], "yes");
}

#[test]
fn a_confidential_client_needs_its_secret_even_with_pkce() {
    let s = start();
    let (t, token, _) = spa(&s, &["authorization_code"]);
    let (st, web) = api(
        reqwest::Method::POST,
        format!("{t}/api/v2/clients"),
        &token,
        Some(json!({"name": "web", "app_type": "regular_web",
                    "grant_types": ["authorization_code"], "callbacks": [CALLBACK]})),
    );
    assert_eq!(st, 201, "{web}");
    let web_id = web["client_id"].as_str().expect("id");
    let to = location(&log_in(&t, web_id));
    let r = exchange(&t, web_id, &to, Some(CALLBACK));
    assert_eq!(r.status(), 401);
    let body: Value = r.json().expect("error");
    assert_eq!(body["error"], "invalid_client", "{body}");
    // A caller who could not authenticate did not spend the code.
    let code = query_param(&to, "code").expect("code");
    let r = http()
        .post(format!("{t}/oauth/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", web_id),
            (
                "client_secret",
                web["client_secret"].as_str().expect("secret"),
            ),
            ("code", &code),
            ("code_verifier", VERIFIER),
            ("redirect_uri", CALLBACK),
        ])
        .send()
        .expect("exchange");
    assert_eq!(r.status(), 200);
}

#[test]
fn codes_and_paused_logins_are_worth_nothing_at_another_tenant() {
    let s = start();
    let (t, token, spa_id) = spa(&s, &["authorization_code"]);
    create_deploy_bind(
        &t,
        &token,
        "idv",
        "post-login",
        "exports.onExecutePostLogin = async (event, api) => {\n  if (!event.user.app_metadata.verified) api.redirect.sendUserTo('https://idv.example/start');\n};\nexports.onContinuePostLogin = async (event, api) => {\n  api.user.setAppMetadata('verified', true);\n};",
    );
    let (o, _, other_spa) = tenant_with_client(
        &s,
        "other",
        json!({"name": "SPA", "app_type": "spa", "token_endpoint_auth_method": "none",
                "grant_types": ["authorization_code"], "callbacks": [CALLBACK]}),
    );
    let other_id = other_spa["client_id"].as_str().expect("id");

    // A paused login's state, replayed at the other tenant's /continue: unknown there,
    // and not used up by the attempt.
    let to = location(&log_in(&t, &spa_id));
    assert!(to.starts_with("https://idv.example/start"), "{to}");
    let r = come_back(&o, &to, &[]);
    assert_eq!(r.status(), 400);
    assert!(r.text().expect("page").contains("Unknown or expired"));
    let back = location(&come_back(&t, &to, &[]));
    assert!(back.starts_with(CALLBACK), "{back}");

    // The code that login earned, redeemed at the other tenant: with the victim's
    // client id there is no such client, with the other's own there is no such code.
    let r = exchange(&o, &spa_id, &back, Some(CALLBACK));
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<Value>().expect("error")["error"], "invalid_client");
    let r = exchange(&o, other_id, &back, Some(CALLBACK));
    assert_eq!(r.status(), 403);
    assert_eq!(r.json::<Value>().expect("error")["error"], "invalid_grant");
    // Neither attempt spent it: the victim's own exchange still works, once.
    let r = exchange(&t, &spa_id, &back, Some(CALLBACK));
    assert_eq!(r.status(), 200);
    assert!(
        r.json::<Value>().expect("tokens")["id_token"].is_string(),
        "tokens"
    );
    assert_eq!(exchange(&t, &spa_id, &back, Some(CALLBACK)).status(), 403);
}
