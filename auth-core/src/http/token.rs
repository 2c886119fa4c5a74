//! `POST /oauth/token`: the password, password-realm, client-credentials
//! and refresh-token grants (the code grant is in `authorize`, the MFA
//! grants in `mfa`).

use super::client_ip::ClientIp;
use crate::app::AppState;
use crate::bootstrap::MANAGEMENT_AUDIENCE;
use crate::code::pipeline::{self, RequestInfo};
use crate::crypto::random::{constant_time_eq, random_token, sha256_hex};
use crate::error::{ApiError, ErrorKind};
use crate::store::{Client, Connection, NewRefreshToken, StoreError, User};
use crate::tenant::TenantCtx;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::{Extension, Json};
use base64::Engine;
use rulebox_runtime_api::Trigger;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tracing::Instrument;

const PASSWORD_REALM: &str = "http://auth0.com/oauth/grant-type/password-realm";

#[derive(Debug, Default, Deserialize)]
pub struct TokenRequest {
    pub grant_type: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub realm: Option<String>,
    pub scope: Option<String>,
    pub audience: Option<String>,
    pub refresh_token: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    /// The MFA grants: the token `mfa_required` handed out, and the proof.
    pub mfa_token: Option<String>,
    pub otp: Option<String>,
    pub recovery_code: Option<String>,
    /// What the tenant's code sees as `event.request.body`.
    #[serde(skip)]
    pub event_body: Map<String, Value>,
}

/// Parameters that prove something are never shown to the tenant's code (its
/// console output lands in logs), whatever Auth0 passes along. By pattern, not
/// by a list of today's grants: `client_secret`, `password`, `*_token`
/// (refresh, mfa, subject, actor, id, access, device...), `*code*` (code,
/// code_verifier, device_code, oob_code, binding_code, recovery_code),
/// `*assertion`, `otp`, `auth_req_id`. A harmless parameter caught by a
/// pattern is only left out.
fn is_secret_param(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["secret", "password", "token", "code", "assertion"]
        .iter()
        .any(|p| n.contains(p))
        || matches!(n.as_str(), "otp" | "auth_req_id" | "pin")
}

/// The request's parameters as `event.request.body`, secrets left out.
fn event_body(headers: &HeaderMap, body: &Bytes) -> Map<String, Value> {
    let mut map: Map<String, Value> = parse_body(headers, body).unwrap_or_default();
    map.retain(|k, _| !is_secret_param(k));
    map
}

/// Auth0 accepts both JSON (its SDKs) and form bodies (OAuth libraries).
pub fn parse_body<T: for<'de> Deserialize<'de> + Default>(
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<T, ApiError> {
    if body.is_empty() {
        return Ok(T::default());
    }
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if json {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::invalid_request(format!("malformed JSON body: {e}")))
    } else {
        serde_urlencoded::from_bytes(body)
            .map_err(|e| ApiError::invalid_request(format!("malformed form body: {e}")))
    }
}

pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub fn request_info(headers: &HeaderMap, ip: ClientIp, protocol: &str) -> RequestInfo {
    let h = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    RequestInfo {
        ip: ip.0.to_string(),
        hostname: h("host"),
        user_agent: h("user-agent"),
        method: "POST".into(),
        protocol: protocol.into(),
        ..RequestInfo::default()
    }
}

/// Authenticates the calling client (secret in the body or HTTP Basic). A public
/// client (`token_endpoint_auth_method: none`) has no secret; a confidential one
/// always needs it, and `require_secret` demands it of every client.
pub(crate) async fn authenticate_client(
    app: &AppState,
    t: &TenantCtx,
    headers: &HeaderMap,
    req: &TokenRequest,
    require_secret: bool,
) -> Result<Client, ApiError> {
    let mut id = req.client_id.clone();
    let mut secret = req.client_secret.clone();
    if let Some(basic) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        && let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(basic.trim())
        && let Ok(text) = String::from_utf8(decoded)
        && let Some((i, s)) = text.split_once(':')
    {
        id = Some(i.to_owned());
        secret = Some(s.to_owned());
    }
    let id =
        id.ok_or_else(|| ApiError::invalid_request("Missing required parameter: client_id"))?;
    let entry = app
        .client(t.id(), &id)
        .await
        .map_err(|_| ApiError::invalid_client("Unknown client."))?;
    let client = entry.client.clone();
    let stored = entry.secret_hash.clone();
    let public = client.token_endpoint_auth_method == "none";
    match (secret, stored) {
        (Some(s), Some(h)) if !constant_time_eq(sha256_hex(&s).as_bytes(), h.as_bytes()) => {
            return Err(ApiError::invalid_client("Unauthorized"));
        }
        // PKCE proves a code's redeemer started the login; it does not stand in for
        // a confidential client's secret (RFC 7636 leaves client authentication as is).
        (None, _) if require_secret || !public => {
            return Err(ApiError::invalid_client(
                "Client authentication is required",
            ));
        }
        // A client stored without a secret hash cannot authenticate with one.
        (Some(_), None) if require_secret || !public => {
            return Err(ApiError::invalid_client("Unauthorized"));
        }
        _ => {}
    }
    Ok(client)
}

fn scopes(s: Option<&str>) -> Vec<String> {
    s.unwrap_or("")
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

pub async fn token(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    ip: ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let mut req: TokenRequest = parse_body(&headers, &body)?;
    req.event_body = event_body(&headers, &body);
    let grant = req
        .grant_type
        .clone()
        .ok_or_else(|| ApiError::invalid_request("Missing required parameter: grant_type"))?;
    let span = tracing::info_span!("token", tenant = t.id(), grant = %grant);
    let result = async {
        match grant.as_str() {
            "password" | PASSWORD_REALM => {
                password_grant(&app, &t, &headers, ip, req, grant == PASSWORD_REALM).await
            }
            "client_credentials" => client_credentials(&app, &t, &headers, ip, req).await,
            "refresh_token" => refresh_grant(&app, &t, &headers, ip, req).await,
            "authorization_code" => super::authorize::code_grant(&app, &t, &headers, req).await,
            super::mfa::OTP_GRANT | super::mfa::RECOVERY_CODE_GRANT => {
                super::mfa::grant(&app, &t, &headers, req, &grant).await
            }
            other => Err(ApiError::unsupported_grant_type(format!(
                "Unsupported grant type: {other}"
            ))),
        }
    }
    .instrument(span)
    .await;
    // Logins by tenant, grant and result: `success` or the error code (Auth0's
    // failure reasons: access_denied, invalid_grant, mfa_required, ...).
    let outcome = match &result {
        Ok(_) => "success",
        Err(e) => e.kind().oauth_error(),
    };
    let grant_label = match grant.as_str() {
        "password"
        | PASSWORD_REALM
        | "client_credentials"
        | "refresh_token"
        | "authorization_code"
        | super::mfa::OTP_GRANT
        | super::mfa::RECOVERY_CODE_GRANT => grant.clone(),
        _ => "other".to_owned(),
    };
    metrics::counter!("rulebox_logins_total", "tenant" => t.id().to_owned(), "grant" => grant_label,
        "result" => outcome)
    .increment(1);
    result
}

pub(crate) fn grant_allowed(client: &Client, grant: &str) -> Result<(), ApiError> {
    if client.grant_types.iter().any(|g| g == grant) {
        Ok(())
    } else {
        Err(ApiError::unauthorized_client(format!(
            "Grant type '{grant}' not allowed for the client."
        )))
    }
}

/// The database connection a password login is for: the `realm`, else the
/// first database connection enabled for the client.
pub(crate) async fn login_connection(
    app: &AppState,
    t: &TenantCtx,
    client: &Client,
    realm: Option<&str>,
) -> Result<Connection, ApiError> {
    let all = app.store.list_connections(t.id()).await?;
    let enabled = |c: &Connection| {
        c.enabled_clients.is_empty() || c.enabled_clients.iter().any(|id| id == &client.client_id)
    };
    let found = match realm {
        Some(r) => all.into_iter().find(|c| c.name == r),
        None => all
            .into_iter()
            .find(|c| c.strategy == "auth0" && enabled(c)),
    };
    let conn = found.ok_or_else(|| ApiError::invalid_request("connection not found"))?;
    if !enabled(&conn) {
        return Err(ApiError::unauthorized_client(
            "the connection is not enabled for this client",
        ));
    }
    Ok(conn)
}

async fn password_grant(
    app: &Arc<AppState>,
    t: &TenantCtx,
    headers: &HeaderMap,
    ip: ClientIp,
    req: TokenRequest,
    realm_grant: bool,
) -> Result<Json<Value>, ApiError> {
    let client = authenticate_client(app, t, headers, &req, false).await?;
    let grant_name = if realm_grant {
        PASSWORD_REALM
    } else {
        "password"
    };
    grant_allowed(&client, grant_name)?;
    let username = req
        .username
        .clone()
        .ok_or_else(|| ApiError::invalid_request("Missing required parameter: username"))?;
    let password = req
        .password
        .clone()
        .ok_or_else(|| ApiError::invalid_request("Missing required parameter: password"))?;
    if realm_grant && req.realm.is_none() {
        return Err(ApiError::invalid_request(
            "Missing required parameter: realm",
        ));
    }
    let conn = login_connection(app, t, &client, req.realm.as_deref()).await?;
    let mut info = request_info(headers, ip, "oauth2-password");
    info.requested_scopes = scopes(req.scope.as_deref());
    info.audience = req.audience.clone();
    info.body = req.event_body.clone();

    let attempt = crate::authn::login::Attempt {
        username: &username,
        password: &password,
        ip: &info.ip,
        client_id: &client.client_id,
    };
    let user = crate::authn::login::authenticate(app, t, &conn, &attempt).await?;
    finish_login(app, t, &client, &conn, user, info, true).await
}

/// What a token-endpoint login (no browser to send anywhere) makes of the flow's
/// decisions: a deny, an MFA requirement or a redirect all end it without tokens.
fn token_endpoint_outcome(decisions: &pipeline::Decisions) -> Result<(), ApiError> {
    if let Some(reason) = &decisions.denied {
        return Err(ApiError::access_denied(reason.clone()));
    }
    // A redirect first: a second factor proven later must not skip it.
    if decisions.redirect.is_some() {
        return Err(ApiError::access_denied(
            "The login was redirected, which this grant cannot follow; use /authorize",
        ));
    }
    if decisions.mfa.is_some() {
        return Err(ApiError::mfa_required(
            "Multifactor authentication required",
        ));
    }
    Ok(())
}

/// The user as the tokens describe them: re-read when the flow changed metadata.
async fn fresh_user(
    app: &AppState,
    t: &TenantCtx,
    user: User,
    decisions: &pipeline::Decisions,
) -> User {
    if decisions.app_metadata.is_empty() && decisions.user_metadata.is_empty() {
        user
    } else {
        app.store
            .get_user(t.id(), &user.user_id)
            .await
            .unwrap_or(user)
    }
}

/// Everything after the user is known: the pipeline, then tokens.
pub async fn finish_login(
    app: &Arc<AppState>,
    t: &TenantCtx,
    client: &Client,
    conn: &Connection,
    user: User,
    info: RequestInfo,
    count_login: bool,
) -> Result<Json<Value>, ApiError> {
    let user = if count_login {
        app.store
            .record_login(t.id(), &user.user_id, &info.ip)
            .await?;
        app.store
            .get_user(t.id(), &user.user_id)
            .await
            .unwrap_or(user)
    } else {
        user
    };
    let decisions = post_login(app, t, client, conn, &user, &info).await?;
    if decisions.denied.is_none() && decisions.redirect.is_none() && decisions.mfa.is_some() {
        // The client continues at the MFA API with the token; the tokens it then
        // gets are the ones this flow decided.
        let user = fresh_user(app, t, user, &decisions).await;
        let local = match app.store.get_user(t.id(), &user.user_id).await {
            Ok(_) => true,
            Err(StoreError::NotFound(_)) => false,
            Err(e) => return Err(e.into()),
        };
        let tx = crate::authn::mfa::MfaTransaction {
            local,
            client_id: client.client_id.clone(),
            connection: conn.name.clone(),
            scope: decisions.scopes(&info.requested_scopes),
            audience: info.audience.clone(),
            id_claims: decisions.id_claims,
            access_claims: decisions.access_claims,
            user,
        };
        let mfa_token = crate::authn::mfa::begin(app, t.id(), &tx).await?;
        return Err(ApiError::mfa_required_with(mfa_token));
    }
    token_endpoint_outcome(&decisions)?;
    let user = fresh_user(app, t, user, &decisions).await;
    let scope = decisions.scopes(&info.requested_scopes);
    issue_user_tokens(
        app,
        t,
        client,
        &user,
        &scope,
        info.audience.as_deref(),
        decisions.id_claims,
        decisions.access_claims,
        true,
        LoginFacts::default(),
    )
    .await
}

/// The code flow's token issue: the claims were decided at `/authorize`.
#[allow(clippy::too_many_arguments)]
pub async fn finish_tokens(
    app: &Arc<AppState>,
    t: &TenantCtx,
    client: &Client,
    user: &User,
    scope: &[String],
    audience: Option<&str>,
    id_claims: Map<String, Value>,
    access_claims: Map<String, Value>,
    facts: LoginFacts<'_>,
) -> Result<Json<Value>, ApiError> {
    issue_user_tokens(
        app,
        t,
        client,
        user,
        scope,
        audience,
        id_claims,
        access_claims,
        true,
        facts,
    )
    .await
}

/// The post-login flow of an `/authorize` login, or its resumption after
/// an Action's redirect. Rules run once the Actions have all finished.
pub async fn post_login_resume(
    app: &Arc<AppState>,
    t: &TenantCtx,
    pending: &crate::authn::parked::PendingLogin,
    info: &RequestInfo,
) -> Result<pipeline::Decisions, ApiError> {
    let client = app.store.get_client(t.id(), &pending.client_id).await?;
    let conn = login_connection(app, t, &client, Some(&pending.connection)).await?;
    let user = app.store.get_user(t.id(), &pending.user_id).await?;
    let (start, resume) = match pending.resume_at {
        _ if pending.rules_only => (usize::MAX, false),
        Some(at) => (at, true),
        None => (0, false),
    };
    login_flow(app, t, &client, &conn, &user, info, start, resume).await
}

/// Actions, then legacy Rules, then the batched metadata write.
pub async fn post_login(
    app: &Arc<AppState>,
    t: &TenantCtx,
    client: &Client,
    conn: &Connection,
    user: &User,
    info: &RequestInfo,
) -> Result<pipeline::Decisions, ApiError> {
    login_flow(app, t, client, conn, user, info, 0, false).await
}

/// Actions from `start_at` (resuming a redirect when `resume`); once they
/// all ran, legacy Rules; then the batched metadata write, which happens
/// even when the flow denied.
#[allow(clippy::too_many_arguments)]
async fn login_flow(
    app: &Arc<AppState>,
    t: &TenantCtx,
    client: &Client,
    conn: &Connection,
    user: &User,
    info: &RequestInfo,
    start_at: usize,
    resume: bool,
) -> Result<pipeline::Decisions, ApiError> {
    let event = pipeline::post_login_event(t, client, conn, user, info, Map::new());
    let mut decisions = pipeline::run_from(
        app,
        t,
        Trigger::PostLogin,
        event,
        Some(&client.client_id),
        Some(&user.user_id),
        start_at,
        resume,
    )
    .await?;
    let mut rules = Ok(());
    if decisions.redirect_at.is_none() {
        rules = pipeline::run_rules(
            app,
            t,
            &mut decisions,
            || {
                let user_json = serde_json::to_value(user).unwrap_or(Value::Null);
                (
                    user_json,
                    pipeline::rule_context(t, client, conn, user, info),
                )
            },
            &client.client_id,
            &user.user_id,
        )
        .await;
    }
    pipeline::persist_metadata(app, t, &decisions, Some(&user.user_id)).await?;
    rules?;
    Ok(decisions)
}

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

/// The algorithm a client's ID tokens are signed with, when it chose one other than
/// the tenant's default. Validated when the client was stored.
fn client_alg(client: &Client) -> Option<crate::crypto::keys::Alg> {
    client
        .jwt_configuration
        .alg
        .as_deref()
        .and_then(|a| a.parse().ok())
}

/// ID-token claims that come from how the user logged in, not from the flow.
#[derive(Debug, Default, Clone, Copy)]
pub struct LoginFacts<'a> {
    /// The `/authorize` request's nonce.
    pub nonce: Option<&'a str>,
    /// Proven with a second factor: `amr: ["mfa"]`, as Auth0 marks it.
    pub mfa: bool,
}

/// Signs the access token (and, with `openid`, the ID token; with
/// `offline_access`, a rotating refresh token).
#[allow(clippy::too_many_arguments)]
pub async fn issue_user_tokens(
    app: &Arc<AppState>,
    t: &TenantCtx,
    client: &Client,
    user: &User,
    scope: &[String],
    audience: Option<&str>,
    id_claims: Map<String, Value>,
    access_claims: Map<String, Value>,
    allow_refresh: bool,
    facts: LoginFacts<'_>,
) -> Result<Json<Value>, ApiError> {
    // Auth0's jwt_configuration.alg picks the ID token's algorithm; access tokens
    // keep the tenant's.
    let id_alg = client_alg(client);
    let keys = match id_alg {
        Some(alg) => app.keys_with(&t.tenant, alg).await?,
        None => app.keys(&t.tenant).await?,
    };
    let id_signer = id_alg
        .and_then(|alg| keys.signer_for(alg))
        .unwrap_or(&keys.signer);
    let now = now_secs();
    let scope = &*user_scopes(t, scope, audience);
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
    Ok(Json(out))
}

/// When a refresh token issued now expires if it is not used.
fn idle_deadline(app: &AppState) -> SystemTime {
    SystemTime::now() + Duration::from_secs(app.settings.refresh_token_idle_ttl_secs)
}

/// A credentials-exchange Action's `api.access.deny(code, reason)`: Auth0 answers
/// with the code it chose (`invalid_scope`, `invalid_request`, `server_error`).
fn exchange_denied(code: Option<&str>, reason: String) -> ApiError {
    let kind = match code {
        Some("invalid_scope") => ErrorKind::InvalidScope,
        Some("invalid_request") => ErrorKind::InvalidRequest,
        Some("server_error") => ErrorKind::ServerError,
        _ => ErrorKind::AccessDenied,
    };
    ApiError::new(kind, reason)
}

async fn client_credentials(
    app: &Arc<AppState>,
    t: &TenantCtx,
    headers: &HeaderMap,
    ip: ClientIp,
    req: TokenRequest,
) -> Result<Json<Value>, ApiError> {
    let client = authenticate_client(app, t, headers, &req, true).await?;
    grant_allowed(&client, "client_credentials")?;
    let audience = req
        .audience
        .clone()
        .ok_or_else(|| ApiError::invalid_request("Missing required parameter: audience"))?;
    let grant_audience = if audience == t.management_audience() {
        MANAGEMENT_AUDIENCE
    } else {
        audience.as_str()
    };
    let grant = app
        .store
        .find_client_grant(t.id(), &client.client_id, grant_audience)
        .await
        .map_err(|_| {
            ApiError::access_denied(format!("Client has not been granted scopes: {audience}"))
        })?;
    let requested = scopes(req.scope.as_deref());
    let granted: Vec<String> = if requested.is_empty() {
        grant.scope.clone()
    } else {
        requested
            .into_iter()
            .filter(|s| grant.scope.contains(s))
            .collect()
    };
    // Credentials-exchange Actions see the client and may deny or add claims.
    let event = json!({
        "client": {"client_id": client.client_id, "name": client.name, "metadata": client.client_metadata},
        "request": {"ip": request_info(headers, ip, "oauth2-client-credentials").ip, "hostname": t.base(),
            "body": req.event_body},
        "resource_server": {"identifier": audience},
        "accessToken": {"scope": granted},
        "tenant": {"id": t.id()},
        "transaction": {"requested_scopes": granted},
    });
    let decisions = pipeline::run(
        app,
        t,
        Trigger::CredentialsExchange,
        event,
        Some(&client.client_id),
        None,
    )
    .await?;
    if let Some(reason) = decisions.denied {
        return Err(exchange_denied(decisions.denied_code.as_deref(), reason));
    }
    let keys = app.keys(&t.tenant).await?;
    let now = now_secs();
    let mut claims = json!({
        "iss": t.issuer, "sub": format!("{}@clients", client.client_id), "aud": audience,
        "iat": now, "exp": now + app.settings.access_token_ttl_secs,
        "scope": granted.join(" "), "gty": "client-credentials", "azp": client.client_id,
    });
    if let Some(map) = claims.as_object_mut() {
        crate::authn::custom_claims::merge(map, decisions.access_claims);
    }
    let token = keys.signer.sign(&claims)?;
    Ok(Json(json!({
        "access_token": token, "token_type": "Bearer",
        "expires_in": app.settings.access_token_ttl_secs, "scope": granted.join(" "),
    })))
}

async fn refresh_grant(
    app: &Arc<AppState>,
    t: &TenantCtx,
    headers: &HeaderMap,
    ip: ClientIp,
    req: TokenRequest,
) -> Result<Json<Value>, ApiError> {
    let client = authenticate_client(app, t, headers, &req, false).await?;
    grant_allowed(&client, "refresh_token")?;
    let presented = req
        .refresh_token
        .clone()
        .ok_or_else(|| ApiError::invalid_request("Missing required parameter: refresh_token"))?;
    let invalid = || ApiError::invalid_grant("Unknown or invalid refresh token.");
    let presented_hash = sha256_hex(&presented);
    // The token is only looked at until the login has succeeded: a login that
    // fails (denied, or 429/503 that a client retries) must not use it up.
    let (record, user) = match app.store.peek_refresh_token(t.id(), &presented_hash).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            // Unknown, expired, revoked — or already used: a replay, which
            // taking it again detects and answers by revoking its family.
            let _ = app.store.take_refresh_token(t.id(), &presented_hash).await;
            return Err(invalid());
        }
        Err(e) => return Err(e.into()),
    };
    if record.client_id != client.client_id {
        return Err(invalid());
    }
    // Blocking a user ends their sessions: no new tokens from old grants.
    if user.blocked {
        return Err(ApiError::user_blocked());
    }
    let conn = app.connection(t.id(), &user.connection).await?;
    let mut info = request_info(headers, ip, "oauth2-refresh-token");
    info.requested_scopes = scopes(Some(&record.scope));
    info.audience = record.audience.clone();
    info.body = req.event_body;
    let decisions = post_login(app, t, &client, &conn, &user, &info).await?;
    // A refresh is a login without a browser too: an Action that asks for MFA or a
    // redirect must not be skipped by refreshing instead of logging in.
    token_endpoint_outcome(&decisions)?;
    // The stored grant stays as it was; each refresh applies the Actions anew.
    let mut out = issue_user_tokens(
        app,
        t,
        &client,
        &user,
        &decisions.scopes(&info.requested_scopes),
        record.audience.as_deref(),
        decisions.id_claims,
        decisions.access_claims,
        false,
        LoginFacts::default(),
    )
    .await?;
    // Rotation: the presented token is redeemed and its successor stored in one
    // (group-committed) transaction. Losing a race to a concurrent redemption
    // of the same token is a replay: no tokens.
    let next = random_token(48);
    match app
        .store
        .rotate_refresh_token(
            t.id(),
            &presented_hash,
            &sha256_hex(&next),
            // The successor lives for the idle lifetime, and never past the login's
            // grant: rotation must not keep a stolen family alive for ever (Auth0's
            // absolute lifetime).
            idle_deadline(app).min(record.expires),
        )
        .await
    {
        Ok(Some(_)) => {}
        Ok(None) | Err(StoreError::NotFound(_)) | Err(StoreError::Conflict(_)) => {
            return Err(invalid());
        }
        Err(e) => return Err(e.into()),
    }
    out.0["refresh_token"] = json!(next);
    Ok(out)
}

#[derive(Debug, Default, Deserialize)]
pub struct RevokeRequest {
    client_id: Option<String>,
    client_secret: Option<String>,
    token: Option<String>,
}

/// `POST /oauth/revoke`: revokes a refresh token and every token rotated
/// from it. Answers 200 for unknown tokens too (RFC 7009), so it cannot be
/// used to probe which tokens exist.
pub async fn revoke(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let req: RevokeRequest = parse_body(&headers, &body)?;
    let token = req
        .token
        .ok_or_else(|| ApiError::invalid_request("Missing required parameter: token"))?;
    let as_token_request = TokenRequest {
        client_id: req.client_id,
        client_secret: req.client_secret,
        ..TokenRequest::default()
    };
    let client = authenticate_client(&app, &t, &headers, &as_token_request, false).await?;
    let hash = sha256_hex(&token);
    let owner = app.store.refresh_token_client(t.id(), &hash).await?;
    match owner {
        // RFC 7009: an unknown token is no error, there is just nothing to do.
        None => return Ok(Json(json!({}))),
        // One application must not end another's sessions.
        Some(owner) if owner != client.client_id => {
            return Err(ApiError::invalid_grant(
                "The refresh token was issued to another client.",
            ));
        }
        Some(_) => {}
    }
    app.store.revoke_refresh_token(t.id(), &hash).await?;
    Ok(Json(json!({})))
}

#[cfg(test)]
mod tests {
    use super::is_secret_param;

    #[test]
    fn every_kind_of_credential_parameter_is_secret() {
        for name in [
            "client_secret",
            "password",
            "refresh_token",
            "mfa_token",
            "subject_token",
            "actor_token",
            "id_token",
            "access_token",
            "code",
            "code_verifier",
            "device_code",
            "oob_code",
            "binding_code",
            "recovery_code",
            "client_assertion",
            "assertion",
            "otp",
            "auth_req_id",
            "Password",
            "CLIENT_SECRET",
        ] {
            assert!(is_secret_param(name), "{name}");
        }
        for name in [
            "grant_type",
            "client_id",
            "scope",
            "audience",
            "username",
            "realm",
            "device",
        ] {
            assert!(!is_secret_param(name), "{name}");
        }
    }
}
