//! Issue 6: `api.cache` keeps values between logins (per tenant and trigger)
//! and later Actions of the same flow see what earlier ones set.

use crate::support::{
    PASSWORD, create_deploy_bind, id_claims, login_fixture, password_login, start,
};
use serde_json::{Value, json};

#[test]
fn api_cache_survives_between_logins() {
    let s = start();
    let (t, token, client) = login_fixture(&s, &["c@example.com"]);
    // Counts logins in the cache (as a cached upstream token would be reused).
    create_deploy_bind(
        &t,
        &token,
        "counter",
        "post-login",
        "exports.onExecutePostLogin = async (event, api) => {\n  const hit = api.cache.get('logins');\n  const n = hit ? Number(hit.value) + 1 : 1;\n  api.cache.set('logins', String(n), { ttl: 60000 });\n  api.idToken.setCustomClaim('https://example.com/seen', n);\n};",
    );
    let seen = || {
        let r = password_login(&t, &client, "c@example.com", PASSWORD);
        assert_eq!(r.status(), 200);
        let body: Value = r.json().expect("json");
        id_claims(&body)["https://example.com/seen"].clone()
    };
    assert_eq!(seen(), json!(1), "first login: a miss");
    assert_eq!(
        seen(),
        json!(2),
        "the value set by the first login is there"
    );
    assert_eq!(seen(), json!(3));
}
