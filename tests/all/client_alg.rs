//! A client's `jwt_configuration` (Auth0's per-application token settings) over real
//! HTTP: its ID tokens are signed with the algorithm it chose, live as long as it
//! asked, and verify against the tenant's JWKS, also across a key rotation.

use crate::support::*;
use serde_json::{Value, json};

fn header(jwt: &str) -> Value {
    use base64::Engine;
    let part = jwt.split('.').next().expect("header");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("base64");
    serde_json::from_slice(&bytes).expect("json")
}

fn login(t: &str, client: &Value) -> Value {
    let r = password_login(t, client, "al@example.com", PASSWORD);
    assert_eq!(r.status(), 200);
    r.json().expect("tokens")
}

#[test]
fn id_tokens_follow_the_clients_jwt_configuration() {
    let s = start();
    let (t, token, default_client) = login_fixture(&s, &["al@example.com"]);
    let create = |body: Value| {
        api(
            reqwest::Method::POST,
            format!("{t}/api/v2/clients"),
            &token,
            Some(body),
        )
    };
    // HS256 would sign with the client secret, which is stored only hashed.
    let (st, err) = create(json!({"name": "hs", "jwt_configuration": {"alg": "HS256"}}));
    assert_eq!(st, 400, "{err}");
    let (st, err) =
        create(json!({"name": "expired", "jwt_configuration": {"lifetime_in_seconds": 0}}));
    assert_eq!(st, 400, "ID tokens born expired: {err}");
    let ec_keys = |jwks: &Value| {
        jwks["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .filter(|k| k["kty"] == "EC")
            .count()
    };
    assert_eq!(ec_keys(&jwks(&t)), 0, "an RS256 tenant");
    let (st, es_client) = create(json!({"name": "es", "grant_types": ["password"],
        "jwt_configuration": {"alg": "ES256", "lifetime_in_seconds": 600}}));
    assert_eq!(st, 201, "{es_client}");
    assert_eq!(ec_keys(&jwks(&t)), 1, "published before the first token");

    let issuer = format!("{t}/");
    let verify = |tokens: &Value, client: &Value| {
        let id = tokens["id_token"].as_str().expect("id token");
        let claims = rulebox_auth_core::crypto::jwt::verify(
            id,
            &jwks(&t),
            &issuer,
            client["client_id"].as_str().expect("id"),
        )
        .expect("the ID token verifies against the JWKS");
        (header(id), claims)
    };
    let tokens = login(&t, &es_client);
    let (h, claims) = verify(&tokens, &es_client);
    assert_eq!(h["alg"], "ES256");
    assert_eq!(
        claims["exp"].as_u64().expect("exp") - claims["iat"].as_u64().expect("iat"),
        600
    );
    assert_eq!(
        header(tokens["access_token"].as_str().expect("access"))["alg"],
        "RS256",
        "access tokens keep the tenant's algorithm"
    );
    let (h, claims) = verify(&login(&t, &default_client), &default_client);
    assert_eq!(h["alg"], "RS256");
    assert_eq!(
        claims["exp"].as_u64().expect("exp") - claims["iat"].as_u64().expect("iat"),
        36_000,
        "Auth0's default lifetime"
    );

    // A rotation renews both algorithms; old and new tokens verify.
    let before = h["kid"].clone();
    let old_es = login(&t, &es_client);
    let (st, rotated) = api(
        reqwest::Method::POST,
        format!("{t}/api/v2/keys/signing/rotate"),
        &token,
        None,
    );
    assert_eq!(st, 201, "{rotated}");
    assert_eq!(ec_keys(&jwks(&t)), 2);
    let (h, _) = verify(&login(&t, &es_client), &es_client);
    assert_eq!(h["alg"], "ES256");
    assert_ne!(
        h["kid"],
        header(old_es["id_token"].as_str().expect("id"))["kid"]
    );
    verify(&old_es, &es_client);
    let (h, _) = verify(&login(&t, &default_client), &default_client);
    assert_ne!(h["kid"], before);
    assert_eq!(
        rotated["kid"], h["kid"],
        "the answer names the tenant's new key"
    );
}

#[test]
fn a_tenants_default_algorithm_can_change_and_old_tokens_still_verify() {
    let s = start();
    let (t, token, client) = login_fixture(&s, &["al@example.com"]);
    let settings = |body: Value| {
        api(
            reqwest::Method::PATCH,
            format!("{t}/api/v2/tenants/settings"),
            &token,
            Some(body),
        )
    };
    let before = login(&t, &client);
    assert_eq!(
        header(before["access_token"].as_str().expect("at"))["alg"],
        "RS256"
    );

    for bad in [json!({"signing_alg": "HS256"}), json!({"signing_alg": 256})] {
        let (st, err) = settings(bad);
        assert_eq!(st, 400, "{err}");
    }
    let (st, out) = settings(json!({"signing_alg": "ES256"}));
    assert_eq!(st, 200, "{out}");
    assert_eq!(out["signing_alg"], "ES256");
    let (_, read) = api(
        reqwest::Method::GET,
        format!("{t}/api/v2/tenants/settings"),
        &token,
        None,
    );
    assert_eq!(read["signing_alg"], "ES256");

    let after = login(&t, &client);
    let issuer = format!("{t}/");
    let keys = jwks(&t);
    for (tokens, alg) in [(&before, "RS256"), (&after, "ES256")] {
        for kind in ["access_token", "id_token"] {
            let jwt = tokens[kind].as_str().expect("token");
            assert_eq!(header(jwt)["alg"], alg, "{kind}");
            let audience = if kind == "id_token" {
                client["client_id"].as_str().expect("id").to_owned()
            } else {
                format!("{t}/userinfo")
            };
            rulebox_auth_core::crypto::jwt::verify(jwt, &keys, &issuer, &audience)
                .unwrap_or_else(|e| panic!("{alg} {kind} does not verify: {e}"));
        }
    }
}
