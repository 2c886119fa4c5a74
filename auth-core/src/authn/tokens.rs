//! Issuing a user's tokens, the last step of every user grant: the access
//! token, the ID token (with `openid`) and a rotating refresh token (with
//! `offline_access`), signed with the tenant's keys, with the custom claims
//! the flow decided.

use crate::app::AppState;
use crate::crypto::random::{random_token, sha256_hex};
use crate::error::ApiError;
use crate::store::{Client, NewRefreshToken, User};
use crate::tenant::{TenantCtx, TenantKeys};
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What a user's login may be granted. For the Management API that is the
/// OpenID scopes and the `current_user` ones, as at Auth0: the management
/// scopes proper belong to machine clients' client grants.
fn user_scopes<'a>(
    t: &TenantCtx,
    requested: &'a [String],
    audience: Option<&str>,
) -> std::borrow::Cow<'a, [String]> {
    // Most logins name no audience: no allocation for them.
    if audience.is_none_or(|a| a != t.management_audience()) {
        return std::borrow::Cow::Borrowed(requested);
    }
    const OPENID: [&str; 6] = [
        "openid",
        "profile",
        "email",
        "address",
        "phone",
        "offline_access",
    ];
    requested
        .iter()
        .filter(|s| {
            OPENID.contains(&s.as_str())
                || s.ends_with(":current_user")
                || s.contains(":current_user_")
        })
        .cloned()
        .collect::<Vec<_>>()
        .into()
}

/// Which scopes a user's tokens are granted.
#[derive(Debug, Clone, Copy)]
pub enum Scopes<'a> {
    /// Decided by a flow: what the login asked for (the OpenID defaults when it
    /// asked for none), with its Actions' `addScope` and `removeScope`.
    Decided {
        requested: &'a [String],
        add: &'a [String],
        remove: &'a [String],
    },
    /// Decided when the flow ran, and stored with an MFA transaction or a code.
    Stored(&'a [String]),
}

impl Default for Scopes<'_> {
    fn default() -> Self {
        Scopes::Stored(&[])
    }
}

impl<'a> Scopes<'a> {
    /// The flow's decision on the scopes (the Management API audience narrows
    /// what is then issued, see [`user_scopes`]).
    pub fn granted(&self) -> std::borrow::Cow<'a, [String]> {
        match *self {
            Scopes::Stored(scope) => std::borrow::Cow::Borrowed(scope),
            Scopes::Decided {
                requested,
                add,
                remove,
            } => {
                let mut scope = if requested.is_empty() {
                    vec!["openid".into(), "profile".into(), "email".into()]
                } else {
                    requested.to_vec()
                };
                for s in add {
                    if !scope.contains(s) {
                        scope.push(s.clone());
                    }
                }
                scope.retain(|s| !remove.contains(s));
                std::borrow::Cow::Owned(scope)
            }
        }
    }
}

/// ID-token claims that come from how the user logged in, not from the flow.
#[derive(Debug, Default, Clone, Copy)]
pub struct LoginFacts<'a> {
    /// The `/authorize` request's nonce.
    pub nonce: Option<&'a str>,
    /// Proven with a second factor: `amr: ["mfa"]`, as Auth0 marks it.
    pub mfa: bool,
}

/// What a user's tokens say: decided by the login's flow (or stored with a
/// code or an MFA transaction), issued by [`issue_user_tokens`].
#[derive(Debug, Default)]
pub struct UserGrant<'a> {
    /// The scopes granted, computed when the tokens are issued.
    pub scope: Scopes<'a>,
    pub audience: Option<&'a str>,
    pub id_claims: Map<String, Value>,
    pub access_claims: Map<String, Value>,
    /// Whether `offline_access` may start a new refresh-token family (a refresh
    /// rotates its own instead).
    pub allow_refresh: bool,
    pub facts: LoginFacts<'a>,
}

/// Signs the access token (and, with `openid`, the ID token; with
/// `offline_access`, a rotating refresh token).
pub async fn issue_user_tokens(
    app: &Arc<AppState>,
    t: &TenantCtx,
    client: &Client,
    keys: &TenantKeys,
    user: &User,
    grant: UserGrant<'_>,
) -> Result<Value, ApiError> {
    let UserGrant {
        scope,
        audience,
        id_claims,
        access_claims,
        allow_refresh,
        facts,
    } = grant;
    // Auth0's jwt_configuration.alg picks the ID token's algorithm (`keys` holds a
    // key of it); access tokens keep the tenant's.
    let id_signer = crate::app::client_alg(client)
        .and_then(|alg| keys.signer_for(alg))
        .unwrap_or(&keys.signer);
    let now = now_secs();
    let granted = scope.granted();
    let scope = &*user_scopes(t, &granted, audience);
    // An API audience plus userinfo, or userinfo alone (never twice).
    let userinfo = format!("{}userinfo", t.issuer);
    let aud = match audience {
        Some(api) if api != userinfo => json!([api, userinfo]),
        _ => json!(userinfo),
    };
    let mut access = json!({
        "iss": t.issuer, "sub": user.user_id, "aud": aud,
        "iat": now, "exp": now + app.settings.access_token_ttl_secs,
        "scope": scope.join(" "), "azp": client.client_id,
    });
    if let Some(map) = access.as_object_mut() {
        crate::authn::custom_claims::merge(map, access_claims);
    }
    let access_token = keys.signer.sign(&access)?;
    let mut out = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": app.settings.access_token_ttl_secs,
        "scope": scope.join(" "),
    });
    if scope.iter().any(|s| s == "openid") {
        // The client's choice, up to the platform's ceiling.
        let id_lifetime = client
            .jwt_configuration
            .lifetime_in_seconds
            .min(app.settings.id_token_ttl_secs);
        let mut id = json!({
            "iss": t.issuer, "sub": user.user_id, "aud": client.client_id,
            "iat": now, "exp": now + id_lifetime, "auth_time": now,
            "email": user.email, "email_verified": user.email_verified,
            "name": user.name, "nickname": user.nickname, "picture": user.picture,
            "updated_at": user.updated_at,
        });
        if let Some(map) = id.as_object_mut() {
            // Profile and email claims only for the scopes that ask for them (OIDC Core 5.4).
            let has = |s: &str| scope.iter().any(|g| g == s);
            let (profile, email) = (has("profile"), has("email"));
            map.retain(|k, v| {
                !v.is_null()
                    && match k.as_str() {
                        "name" | "nickname" | "picture" | "updated_at" => profile,
                        "email" | "email_verified" => email,
                        _ => true,
                    }
            });
            if let Some(n) = facts.nonce {
                map.insert("nonce".into(), json!(n));
            }
            if facts.mfa {
                map.insert("amr".into(), json!(["mfa"]));
            }
            crate::authn::custom_claims::merge(map, id_claims);
        }
        out["id_token"] = json!(id_signer.sign(&id)?);
    }
    if allow_refresh
        && scope.iter().any(|s| s == "offline_access")
        && client.grant_types.iter().any(|g| g == "refresh_token")
    {
        let token = random_token(48);
        let hash = sha256_hex(&token);
        let scope_text = scope.join(" ");
        let family_end =
            SystemTime::now() + Duration::from_secs(app.settings.refresh_token_ttl_secs);
        app.store
            .insert_refresh_token(
                t.id(),
                NewRefreshToken {
                    token_hash: &hash,
                    client_id: &client.client_id,
                    user_id: &user.user_id,
                    scope: &scope_text,
                    audience,
                    expires_at: idle_deadline(app).min(family_end),
                    family_expires_at: family_end,
                    family_id: None,
                },
            )
            .await?;
        out["refresh_token"] = json!(token);
    }
    Ok(out)
}

/// When a refresh token issued now expires if it is not used.
pub(crate) fn idle_deadline(app: &AppState) -> SystemTime {
    SystemTime::now() + Duration::from_secs(app.settings.refresh_token_idle_ttl_secs)
}

pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
