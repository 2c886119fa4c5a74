//! A tenant addressed by its own domain in the `Host` header (issue 4, item 1), and the
//! forwarded headers that may only move the issuer behind declared proxies.

use crate::support::*;
use serde_json::{Value, json};

const DOMAIN: &str = "login.acme.test";

fn discovery(url: &str, headers: &[(&str, &str)]) -> Value {
    let mut req = http().get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().expect("discovery");
    assert_eq!(r.status(), 200);
    r.json().expect("json")
}

#[test]
fn a_tenant_is_reached_by_its_domain_and_issues_tokens_for_it() {
    let s = start();
    let acme = create_tenant(&s, "acme", &["--domain", DOMAIN]);
    let base = &s.base;
    let by_host = discovery(
        &format!("{base}/.well-known/openid-configuration"),
        &[("host", DOMAIN)],
    );
    assert_eq!(by_host["issuer"], format!("http://{DOMAIN}/"));
    // The management client of the tenant logs in by domain; its token names that issuer.
    let r = http()
        .post(format!("{base}/oauth/token"))
        .header("host", DOMAIN)
        .json(
            &json!({"grant_type": "client_credentials", "client_id": acme["client_id"],
                      "client_secret": acme["client_secret"],
                      "audience": format!("http://{DOMAIN}/api/v2/")}),
        )
        .send()
        .expect("token");
    assert_eq!(r.status(), 200);
    let token: Value = r.json().expect("json");
    let jwks: Value = http()
        .get(format!("{base}/.well-known/jwks.json"))
        .header("host", DOMAIN)
        .send()
        .expect("jwks")
        .json()
        .expect("json");
    let claims = rulebox_auth_core::crypto::jwt::verify(
        token["access_token"].as_str().expect("token"),
        &jwks,
        &format!("http://{DOMAIN}/"),
        &format!("http://{DOMAIN}/api/v2/"),
    )
    .expect("verifies with the domain's issuer");
    assert_eq!(claims["gty"], "client-credentials");
    // An unknown domain is no tenant.
    let r = http()
        .get(format!("{base}/.well-known/jwks.json"))
        .header("host", "nobody.test")
        .send()
        .expect("jwks");
    assert_eq!(r.status(), 404);
}

#[test]
fn forwarded_headers_move_the_issuer_only_behind_declared_proxies() {
    let forged = [
        ("x-forwarded-host", "evil.example"),
        ("x-forwarded-proto", "https"),
    ];
    let direct = start();
    let d = discovery(
        &format!("{}/t/default/.well-known/openid-configuration", direct.base),
        &forged,
    );
    assert_eq!(
        d["issuer"],
        format!("{}/t/default/", direct.base),
        "ignored"
    );

    let proxied = start_with(&[], &[("RULEBOX_SERVER__TRUSTED_PROXIES", "1")]);
    let d = discovery(
        &format!(
            "{}/t/default/.well-known/openid-configuration",
            proxied.base
        ),
        &[
            ("x-forwarded-host", "login.example.com"),
            ("x-forwarded-proto", "https"),
        ],
    );
    assert_eq!(d["issuer"], "https://login.example.com/t/default/");
}
