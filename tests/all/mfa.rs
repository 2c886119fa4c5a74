//! The MFA API over real HTTP: a login an Action answers with `mfa_required`
//! continues with its `mfa_token` through enrollment, a one-time code from an
//! authenticator app (played here by `totp-rs` reading the `barcode_uri`) or a
//! recovery code, to the tokens the flow decided, marked `amr: ["mfa"]`.

use crate::support::*;
use serde_json::{Value, json};

const OTP_GRANT: &str = "http://auth0.com/oauth/grant-type/mfa-otp";
const RECOVERY_GRANT: &str = "http://auth0.com/oauth/grant-type/mfa-recovery-code";

struct Tenant {
    t: String,
    token: String,
    client: Value,
}

fn tenant(s: &Server) -> Tenant {
    let (t, token, _) = login_fixture(s, &["kim@example.com", "lee@example.com"]);
    let (st, client) = api(
        reqwest::Method::POST,
        format!("{t}/api/v2/clients"),
        &token,
        Some(json!({"name": "mfa app",
            "grant_types": ["password", "refresh_token", OTP_GRANT, RECOVERY_GRANT]})),
    );
    assert_eq!(st, 201, "{client}");
    create_deploy_bind(
        &t,
        &token,
        "require-mfa",
        "post-login",
        "exports.onExecutePostLogin = async (event, api) => {\n  api.idToken.setCustomClaim('https://example.com/role', 'admin');\n  api.accessToken.addScope('read:reports');\n  api.multifactor.enable('any');\n};",
    );
    Tenant { t, token, client }
}

fn post(url: String, body: Value) -> (u16, Value) {
    let r = http().post(url).json(&body).send().expect("post");
    (r.status().as_u16(), r.json().unwrap_or(Value::Null))
}

impl Tenant {
    /// A password login that must stop at `mfa_required`; its `mfa_token`.
    fn mfa_token(&self, email: &str) -> String {
        let (st, body) = post(
            format!("{}/oauth/token", self.t),
            json!({"grant_type": "password", "username": email, "password": PASSWORD,
                   "client_id": self.client["client_id"], "client_secret": self.client["client_secret"],
                   "scope": "openid offline_access"}),
        );
        assert_eq!(
            (st, body["error"].as_str()),
            (403, Some("mfa_required")),
            "{body}"
        );
        assert_eq!(
            body["error_description"],
            "Multifactor authentication required"
        );
        assert!(body.get("access_token").is_none(), "{body}");
        body["mfa_token"].as_str().expect("mfa_token").to_owned()
    }

    fn with_bearer(
        &self,
        method: reqwest::Method,
        path: &str,
        mfa_token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut r = http()
            .request(method, format!("{}{path}", self.t))
            .bearer_auth(mfa_token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().expect("mfa api");
        (r.status().as_u16(), r.json().unwrap_or(Value::Null))
    }

    fn associate(&self, mfa_token: &str) -> (u16, Value) {
        self.with_bearer(
            reqwest::Method::POST,
            "/mfa/associate",
            mfa_token,
            Some(json!({"authenticator_types": ["otp"]})),
        )
    }

    fn prove(&self, grant: &str, mfa_token: &str, field: &str, value: &str) -> (u16, Value) {
        post(
            format!("{}/oauth/token", self.t),
            json!({"grant_type": grant, "mfa_token": mfa_token, field: value,
                   "client_id": self.client["client_id"], "client_secret": self.client["client_secret"]}),
        )
    }
}

/// What the user's authenticator app shows now, from the URI it scanned.
fn app_code(barcode_uri: &str) -> String {
    let totp = totp_rs::Totp::from_url(barcode_uri).expect("an otpauth URI an app accepts");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    totp.generate(now).to_string()
}

/// A code that is none of the three the server accepts now.
fn wrong_code(right: &str) -> String {
    let n: u32 = right.parse().expect("digits");
    format!("{:06}", (n + 500_000) % 1_000_000)
}

#[test]
fn an_mfa_login_enrolls_proves_a_code_and_gets_the_flows_tokens() {
    let s = start();
    let x = tenant(&s);
    let mfa_token = x.mfa_token("kim@example.com");

    // Nothing enrolled yet; a challenge says so.
    let (st, list) = x.with_bearer(
        reqwest::Method::GET,
        "/mfa/authenticators",
        &mfa_token,
        None,
    );
    assert_eq!((st, list.clone()), (200, json!([])), "{list}");
    let (st, body) = post(
        format!("{}/mfa/challenge", x.t),
        json!({"client_id": x.client["client_id"], "client_secret": x.client["client_secret"],
               "mfa_token": mfa_token, "challenge_type": "otp"}),
    );
    assert_eq!(
        (st, body["error"].as_str()),
        (400, Some("unsupported_challenge_type")),
        "{body}"
    );

    // Enrollment: a secret, the URI an app scans, one recovery code.
    let (st, enrolled) = x.associate(&mfa_token);
    assert_eq!(st, 200, "{enrolled}");
    assert_eq!(enrolled["authenticator_type"], "otp");
    let uri = enrolled["barcode_uri"].as_str().expect("barcode_uri");
    assert!(
        uri.starts_with("otpauth://totp/default:kim%40example.com?"),
        "{uri}"
    );
    assert!(
        uri.contains(enrolled["secret"].as_str().expect("secret")),
        "{uri}"
    );
    let recovery = enrolled["recovery_codes"][0]
        .as_str()
        .expect("recovery code")
        .to_owned();
    let (_, list) = x.with_bearer(
        reqwest::Method::GET,
        "/mfa/authenticators",
        &mfa_token,
        None,
    );
    assert_eq!(list.as_array().map(Vec::len), Some(2), "{list}");
    assert!(
        list.as_array()
            .expect("list")
            .iter()
            .all(|a| a["active"] == false),
        "{list}"
    );

    let (st, body) = post(
        format!("{}/mfa/challenge", x.t),
        json!({"client_id": x.client["client_id"], "client_secret": x.client["client_secret"],
               "mfa_token": mfa_token, "challenge_type": "otp"}),
    );
    assert_eq!((st, body), (200, json!({"challenge_type": "otp"})));

    // A wrong code: refused, and the mfa_token is still good.
    let code = app_code(uri);
    let (st, body) = x.prove(OTP_GRANT, &mfa_token, "otp", &wrong_code(&code));
    assert_eq!(
        (st, body["error"].as_str()),
        (403, Some("invalid_grant")),
        "{body}"
    );
    assert_eq!(body["error_description"], "Invalid otp_code.");
    // Another client cannot use this login's token.
    let (st, other) = api(
        reqwest::Method::POST,
        format!("{}/api/v2/clients", x.t),
        &x.token,
        Some(json!({"name": "other", "grant_types": [OTP_GRANT]})),
    );
    assert_eq!(st, 201, "{other}");
    let (st, body) = post(
        format!("{}/oauth/token", x.t),
        json!({"grant_type": OTP_GRANT, "mfa_token": mfa_token, "otp": code,
               "client_id": other["client_id"], "client_secret": other["client_secret"]}),
    );
    assert_eq!(
        (st, body["error"].as_str()),
        (403, Some("invalid_grant")),
        "{body}"
    );

    // The right code: the tokens the flow decided, marked as proven with MFA.
    let (st, tokens) = x.prove(OTP_GRANT, &mfa_token, "otp", &code);
    assert_eq!(st, 200, "{tokens}");
    let claims = id_claims(&tokens);
    assert_eq!(claims["amr"], json!(["mfa"]), "{claims}");
    assert_eq!(claims["https://example.com/role"], "admin", "{claims}");
    assert!(
        tokens["scope"]
            .as_str()
            .expect("scope")
            .split(' ')
            .any(|s| s == "read:reports"),
        "{tokens}"
    );
    assert!(
        tokens["refresh_token"].is_string(),
        "offline_access was asked for: {tokens}"
    );
    // Verifiable against the tenant's JWKS like any ID token.
    let kid = tokens["id_token"]
        .as_str()
        .and_then(|t| t.split('.').next())
        .map(|h| {
            use base64::Engine;
            let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(h)
                .expect("header");
            serde_json::from_slice::<Value>(&bytes).expect("json")["kid"].clone()
        });
    assert!(
        jwks(&x.t)["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .any(|k| Some(&k["kid"]) == kid.as_ref())
    );

    // The token is spent; the enrollment is confirmed and cannot be redone over it.
    let (st, body) = x.prove(OTP_GRANT, &mfa_token, "otp", &code);
    assert_eq!(
        (st, body["error"].as_str()),
        (403, Some("invalid_grant")),
        "{body}"
    );
    let next = x.mfa_token("kim@example.com");
    let (st, body) = x.associate(&next);
    assert_eq!(
        (st, body["error"].as_str()),
        (403, Some("access_denied")),
        "{body}"
    );
    // The same code again, on a new login: each step logs in once.
    let (st, body) = x.prove(OTP_GRANT, &next, "otp", &code);
    assert_eq!(
        (st, body["error"].as_str()),
        (403, Some("invalid_grant")),
        "{body}"
    );

    // The recovery code logs in once, and the answer carries the next one.
    let (st, tokens) = x.prove(
        RECOVERY_GRANT,
        &next,
        "recovery_code",
        &recovery.to_lowercase(),
    );
    assert_eq!(st, 200, "{tokens}");
    assert_eq!(id_claims(&tokens)["amr"], json!(["mfa"]));
    let fresh = tokens["recovery_code"]
        .as_str()
        .expect("next recovery code")
        .to_owned();
    assert_ne!(fresh, recovery);
    let third = x.mfa_token("kim@example.com");
    let (st, body) = x.prove(RECOVERY_GRANT, &third, "recovery_code", &recovery);
    assert_eq!(
        (st, body["error"].as_str()),
        (403, Some("invalid_grant")),
        "{body}"
    );
    let (st, _) = x.prove(RECOVERY_GRANT, &third, "recovery_code", &fresh);
    assert_eq!(st, 200);

    // An administrator sees the enrollment and resets it (a lost phone); the next
    // login enrolls anew.
    let kim = user_id(&x, "kim@example.com");
    let (st, list) = api(
        reqwest::Method::GET,
        format!("{}/api/v2/users/{kim}/enrollments", x.t),
        &x.token,
        None,
    );
    assert_eq!(st, 200, "{list}");
    assert_eq!(list[0]["status"], "confirmed", "{list}");
    let (st, _) = api(
        reqwest::Method::DELETE,
        format!("{}/api/v2/users/{kim}/authenticators", x.t),
        &x.token,
        None,
    );
    assert_eq!(st, 204);
    let fourth = x.mfa_token("kim@example.com");
    let (st, again) = x.associate(&fourth);
    assert_eq!(st, 200, "{again}");
    assert_ne!(again["secret"], enrolled["secret"]);
}

fn user_id(x: &Tenant, email: &str) -> String {
    let (_, users) = api(
        reqwest::Method::GET,
        format!("{}/api/v2/users-by-email?email={email}", x.t),
        &x.token,
        None,
    );
    users[0]["user_id"].as_str().expect("user_id").to_owned()
}

#[test]
fn guessing_codes_is_throttled_and_bad_input_is_refused_cleanly() {
    let s = start();
    let x = tenant(&s);
    let mfa_token = x.mfa_token("lee@example.com");
    let (st, enrolled) = x.associate(&mfa_token);
    assert_eq!(st, 200, "{enrolled}");
    let code = app_code(enrolled["barcode_uri"].as_str().expect("uri"));

    // Malformed requests: typed errors, not guesses.
    let (st, body) = x.prove(OTP_GRANT, &mfa_token, "otp_code", &code);
    assert_eq!(
        (st, body["error"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );
    let (st, body) = x.prove(OTP_GRANT, "not-a-token", "otp", &code);
    assert_eq!(
        (st, body["error"].as_str()),
        (403, Some("invalid_grant")),
        "{body}"
    );
    let (st, body) = x.with_bearer(
        reqwest::Method::GET,
        "/mfa/authenticators",
        "not-a-token",
        None,
    );
    assert_eq!(
        (st, body["error"].as_str()),
        (401, Some("invalid_token")),
        "{body}"
    );
    let (st, body) = x.with_bearer(
        reqwest::Method::POST,
        "/mfa/associate",
        &mfa_token,
        Some(json!({"authenticator_types": ["oob"]})),
    );
    assert_eq!(
        (st, body["error"].as_str()),
        (400, Some("unsupported_challenge_type")),
        "{body}"
    );
    // A client not allowed the MFA grant.
    let (st, plain) = api(
        reqwest::Method::POST,
        format!("{}/api/v2/clients", x.t),
        &x.token,
        Some(json!({"name": "plain", "grant_types": ["password"]})),
    );
    assert_eq!(st, 201, "{plain}");
    let (st, body) = post(
        format!("{}/oauth/token", x.t),
        json!({"grant_type": OTP_GRANT, "mfa_token": mfa_token, "otp": code,
               "client_id": plain["client_id"], "client_secret": plain["client_secret"]}),
    );
    assert_eq!(
        (st, body["error"].as_str()),
        (403, Some("unauthorized_client")),
        "{body}"
    );

    // Ten wrong codes, then even the right one is refused for the window.
    for _ in 0..10 {
        let (st, body) = x.prove(OTP_GRANT, &mfa_token, "otp", &wrong_code(&code));
        assert_eq!(
            (st, body["error"].as_str()),
            (403, Some("invalid_grant")),
            "{body}"
        );
    }
    let (st, body) = x.prove(OTP_GRANT, &mfa_token, "otp", &code);
    assert_eq!(
        (st, body["error"].as_str()),
        (429, Some("too_many_attempts")),
        "{body}"
    );
    // Another user's codes are not throttled by it.
    let other = x.mfa_token("kim@example.com");
    let (st, body) = x.associate(&other);
    assert_eq!(st, 200, "{body}");
    let (st, tokens) = x.prove(
        OTP_GRANT,
        &other,
        "otp",
        &app_code(body["barcode_uri"].as_str().expect("uri")),
    );
    assert_eq!(st, 200, "{tokens}");
}

#[test]
fn a_user_deleted_or_blocked_after_the_password_gets_no_further() {
    let s = start();
    let x = tenant(&s);
    // Enrolled and confirmed, with a recovery code.
    let first = x.mfa_token("kim@example.com");
    let (_, enrolled) = x.associate(&first);
    let uri = enrolled["barcode_uri"].as_str().expect("uri").to_owned();
    let recovery = enrolled["recovery_codes"][0]
        .as_str()
        .expect("code")
        .to_owned();
    let (st, _) = x.prove(OTP_GRANT, &first, "otp", &app_code(&uri));
    assert_eq!(st, 200);

    // Blocked after the password: refused, and the recovery code is not used up.
    let kim = user_id(&x, "kim@example.com");
    let block = |blocked: bool| {
        let (st, body) = api(
            reqwest::Method::PATCH,
            format!("{}/api/v2/users/{kim}", x.t),
            &x.token,
            Some(json!({"blocked": blocked})),
        );
        assert_eq!(st, 200, "{body}");
    };
    let waiting = x.mfa_token("kim@example.com");
    block(true);
    let (st, body) = x.prove(RECOVERY_GRANT, &waiting, "recovery_code", &recovery);
    assert_eq!(
        (st, body["error"].as_str()),
        (401, Some("unauthorized")),
        "{body}"
    );
    let (st, body) = x.with_bearer(reqwest::Method::GET, "/mfa/authenticators", &waiting, None);
    assert_eq!(st, 401, "{body}");
    block(false);
    let again = x.mfa_token("kim@example.com");
    let (st, tokens) = x.prove(RECOVERY_GRANT, &again, "recovery_code", &recovery);
    assert_eq!(st, 200, "the code survived the refused attempt: {tokens}");

    // Deleted after the password: the token opens nothing, not even a new enrollment.
    let lee = x.mfa_token("lee@example.com");
    let lee_id = user_id(&x, "lee@example.com");
    let (st, _) = api(
        reqwest::Method::DELETE,
        format!("{}/api/v2/users/{lee_id}", x.t),
        &x.token,
        None,
    );
    assert_eq!(st, 204);
    // The scheme is case-insensitive; the answer is still no.
    let r = http()
        .post(format!("{}/mfa/associate", x.t))
        .header("authorization", format!("bearer {lee}"))
        .json(&json!({"authenticator_types": ["otp"]}))
        .send()
        .expect("associate");
    assert_eq!(r.status(), 401);
    let (st, body) = x.prove(OTP_GRANT, &lee, "otp", "123456");
    assert_eq!(
        (st, body["error"].as_str()),
        (403, Some("invalid_grant")),
        "{body}"
    );
}

#[test]
fn an_action_redirect_is_not_skipped_by_proving_a_factor() {
    let s = start();
    let x = tenant(&s);
    create_deploy_bind(
        &x.t,
        &x.token,
        "terms",
        "post-login",
        "exports.onExecutePostLogin = async (event, api) => {\n  api.redirect.sendUserTo('https://terms.example/accept');\n};",
    );
    let (st, body) = post(
        format!("{}/oauth/token", x.t),
        json!({"grant_type": "password", "username": "kim@example.com", "password": PASSWORD,
               "client_id": x.client["client_id"], "client_secret": x.client["client_secret"],
               "scope": "openid"}),
    );
    assert_eq!(
        (st, body["error"].as_str()),
        (403, Some("access_denied")),
        "{body}"
    );
    assert!(body.get("mfa_token").is_none(), "{body}");
}

#[test]
fn an_mfa_token_is_worth_nothing_at_another_tenant() {
    let s = start();
    let x = tenant(&s);
    let mfa_token = x.mfa_token("kim@example.com");
    let (o, _, other_client) = tenant_with_client(
        &s,
        "other",
        json!({"name": "app", "grant_types": [OTP_GRANT]}),
    );
    for (method, path, body) in [
        (reqwest::Method::GET, "/mfa/authenticators", None),
        (
            reqwest::Method::POST,
            "/mfa/associate",
            Some(json!({"authenticator_types": ["otp"]})),
        ),
    ] {
        let mut r = http()
            .request(method, format!("{o}{path}"))
            .bearer_auth(&mfa_token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().expect("other tenant");
        assert_eq!(r.status(), 401, "{path}");
    }
    let (st, body) = post(
        format!("{o}/oauth/token"),
        json!({"grant_type": OTP_GRANT, "mfa_token": mfa_token, "otp": "123456",
               "client_id": other_client["client_id"], "client_secret": other_client["client_secret"]}),
    );
    assert_eq!(
        (st, body["error"].as_str()),
        (403, Some("invalid_grant")),
        "{body}"
    );
    // Untouched at home: nothing was enrolled, and the token still works there.
    let (st, list) = x.with_bearer(
        reqwest::Method::GET,
        "/mfa/authenticators",
        &mfa_token,
        None,
    );
    assert_eq!((st, list), (200, json!([])));
    let (st, _) = x.associate(&mfa_token);
    assert_eq!(st, 200);
}

#[test]
fn hostile_input_to_the_mfa_endpoints_gets_typed_errors() {
    let s = start();
    let x = tenant(&s);
    let mfa_token = x.mfa_token("kim@example.com");
    let raw = |path: &str, content_type: &str, body: Vec<u8>| {
        let r = http()
            .post(format!("{}{path}", x.t))
            .bearer_auth(&mfa_token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .expect("post");
        let status = r.status().as_u16();
        let text = r.text().unwrap_or_default();
        (
            status,
            serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text)),
        )
    };
    for (body, what) in [
        (b"{not json".to_vec(), "malformed JSON"),
        (
            br#"{"authenticator_types": "otp"}"#.to_vec(),
            "a string for the list",
        ),
        (
            br#"{"authenticator_types": [1, 2]}"#.to_vec(),
            "numbers in the list",
        ),
    ] {
        let (st, body) = raw("/mfa/associate", "application/json", body);
        assert_eq!(
            (st, body["error"].as_str()),
            (400, Some("invalid_request")),
            "{what}: {body}"
        );
    }
    let (st, body) = raw("/mfa/challenge", "application/json", b"[]".to_vec());
    assert_eq!(
        (st, body["error"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );
    // Codes that are no code: refused as wrong, whatever their size or script.
    let (_, enrolled) = x.associate(&mfa_token);
    assert!(enrolled["secret"].is_string(), "{enrolled}");
    for otp in ["１２３４５６", "12345678", "-12345", &"9".repeat(100_000)] {
        let (st, body) = x.prove(OTP_GRANT, &mfa_token, "otp", otp);
        assert_eq!(
            (st, body["error"].as_str()),
            (403, Some("invalid_grant")),
            "{body}"
        );
    }
    // The hosted page's form with no or a forged state: a clean 400 page.
    for form in ["", "state=forged&otp=123456", "state=%ZZ"] {
        let r = http()
            .post(format!("{}/authorize/mfa", x.t))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .expect("page");
        assert_eq!(r.status(), 400, "{form}");
        assert!(
            r.text().expect("html").contains("Unknown or expired"),
            "{form}"
        );
    }
    // The server is still serving, and the real code still works.
    let (st, _) = x.prove(
        OTP_GRANT,
        &mfa_token,
        "otp",
        &app_code(enrolled["barcode_uri"].as_str().expect("uri")),
    );
    assert_eq!(st, 200);
}
