//! Which custom claims an Action or Rule may put into a token.
//!
//! Auth0 never lets extensibility code change what a token *is*: the claims
//! it uses itself (issuer, subject, audience, scope, grant type, ...) and the
//! standard claims it already set cannot be customised. A colliding claim is
//! dropped and the login goes on ("the transaction won't fail, but your custom
//! claim won't be added"). Without this an Action could, for instance, give a
//! user's token `gty: client-credentials` or a wider `scope`.

use serde_json::{Map, Value};

/// Auth0's published list of restricted claim names.
const RESTRICTED: &[&str] = &[
    "acr",
    "act",
    "active",
    "amr",
    "at_hash",
    "ath",
    "attest",
    "aud",
    "auth_time",
    "authorization_details",
    "azp",
    "c_hash",
    "client_id",
    "cnf",
    "cty",
    "dest",
    "entitlements",
    "events",
    "exp",
    "groups",
    "gty",
    "htm",
    "htu",
    "iat",
    "internalService",
    "iss",
    "jcard",
    "jku",
    "jti",
    "jwe",
    "jwk",
    "kid",
    "may_act",
    "mky",
    "nbf",
    "nonce",
    "object_id",
    "org_id",
    "org_name",
    "orig",
    "origid",
    "permissions",
    "roles",
    "rph",
    "s_hash",
    "scope",
    "sid",
    "sip_callid",
    "sip_cseq_num",
    "sip_date",
    "sip_from_tag",
    "sip_via_branch",
    "sub",
    "sub_jwk",
    "toe",
    "txn",
    "typ",
    "uuid",
    "vot",
    "vtm",
    "x5t#S256",
];

/// Whether `name` is one a tenant's code may not set.
pub fn is_restricted(name: &str) -> bool {
    RESTRICTED.contains(&name)
}

/// Adds `custom` to a token's `claims`, leaving out restricted names and any
/// claim the token already carries.
pub fn merge(claims: &mut Map<String, Value>, custom: Map<String, Value>) {
    for (name, value) in custom {
        if is_restricted(&name) || claims.contains_key(&name) {
            tracing::debug!(claim = %name, "custom claim collides with a reserved one: left out");
            continue;
        }
        claims.insert(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn reserved_and_present_claims_are_left_out() {
        let mut claims =
            map(json!({"iss": "https://t/", "sub": "auth0|1", "scope": "openid", "email": "a@b"}));
        merge(
            &mut claims,
            map(json!({
                "sub": "x@clients", "gty": "client-credentials", "scope": "read:users",
                "permissions": ["all"], "email": "other@b",
                "https://example.com/roles": ["admin"], "plan": "gold",
            })),
        );
        assert_eq!(
            Value::Object(claims),
            json!({"iss": "https://t/", "sub": "auth0|1", "scope": "openid", "email": "a@b",
                   "https://example.com/roles": ["admin"], "plan": "gold"})
        );
    }
}
