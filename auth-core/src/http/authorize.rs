//! The authorization-code flow: `GET /authorize` (hosted login page),
//! `POST /authorize` (the form), `GET /continue` (the return from an
//! Action's redirect) and the `authorization_code` grant with PKCE.

use super::client_ip::ClientIp;
use super::token::{
    TokenRequest, finish_tokens, login_connection, post_login_resume, request_info,
};
use crate::app::AppState;
use crate::authn::parked::{self, PendingLogin};
use crate::crypto::pkce::verify_pkce;
use crate::crypto::random::{random_token, sha256_hex};
use crate::error::ApiError;
use crate::store::{Client, NewAuthCode};
use crate::tenant::TenantCtx;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// How long an authorization code stays redeemable.
const CODE_TTL: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct AuthorizeParams {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub audience: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub connection: Option<String>,
    pub prompt: Option<String>,
    #[serde(skip_serializing)]
    pub username: Option<String>,
    #[serde(skip_serializing)]
    pub password: Option<String>,
}

pub(super) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

pub(super) fn error_page(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<!doctype html><title>Error</title><h1>Login error</h1><p id=\"error\">{}</p>",
        escape(message)
    );
    (status, Html(body)).into_response()
}

fn login_page(
    t: &TenantCtx,
    p: &AuthorizeParams,
    client: &Client,
    error: Option<&str>,
) -> Response {
    let hidden: String = serde_json::to_value(p)
        .ok()
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(k, v)| {
            v.as_str().map(|s| {
                format!(
                    "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                    escape(&k),
                    escape(s)
                )
            })
        })
        .collect();
    let err = error
        .map(|e| format!("<p id=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Log in to {app}</title></head><body>\
         <h1>Log in to {app}</h1>{err}\
         <form method=\"post\" action=\"{base}/authorize\">{hidden}\
         <label>Email <input id=\"username\" name=\"username\" type=\"email\" autocomplete=\"username\" required></label>\
         <label>Password <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required></label>\
         <button id=\"submit\" type=\"submit\">Continue</button></form></body></html>",
        app = escape(&client.name),
        base = escape(t.base()),
    );
    let status = if error.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    (status, Html(body)).into_response()
}

/// Checks what must hold before anything may be sent to `redirect_uri`.
async fn client_and_redirect(
    app: &AppState,
    t: &TenantCtx,
    p: &AuthorizeParams,
) -> Result<(Client, String), Response> {
    let Some(client_id) = p.client_id.as_deref() else {
        return Err(error_page(
            StatusCode::BAD_REQUEST,
            "Missing required parameter: client_id",
        ));
    };
    let Ok(client) = app.store.get_client(t.id(), client_id).await else {
        return Err(error_page(StatusCode::BAD_REQUEST, "Unknown client"));
    };
    let redirect = p
        .redirect_uri
        .clone()
        .or_else(|| client.callbacks.first().cloned());
    let Some(redirect) = redirect.filter(|r| client.callbacks.iter().any(|c| c == r)) else {
        return Err(error_page(
            StatusCode::BAD_REQUEST,
            "The redirect_uri is not in the client's allowed callback URLs",
        ));
    };
    // The redirect is trusted from here on: errors go back to the application.
    let refuse = |error: &str, description: &str| {
        redirect_with(
            &redirect,
            &[
                ("error", Some(error)),
                ("error_description", Some(description)),
                ("state", p.state.as_deref()),
            ],
        )
    };
    if p.response_type.as_deref() != Some("code") {
        return Err(refuse(
            "unsupported_response_type",
            "Only response_type=code is supported",
        ));
    }
    if !client.grant_types.iter().any(|g| g == "authorization_code") {
        return Err(refuse(
            "unauthorized_client",
            "Grant type 'authorization_code' not allowed for the client.",
        ));
    }
    // Auth0 supports S256 only: `plain` (also what a missing method means)
    // sends the verifier itself through the browser.
    if p.code_challenge.is_some() && p.code_challenge_method.as_deref() != Some("S256") {
        return Err(refuse(
            "invalid_request",
            "code_challenge_method must be S256",
        ));
    }
    Ok((client, redirect))
}

/// `uri` with `params` added to its query (`None` values left out).
fn url_with(uri: &str, params: &[(&str, Option<&str>)]) -> String {
    let pairs: Vec<(&str, &str)> = params
        .iter()
        .filter_map(|(k, v)| v.map(|v| (*k, v)))
        .collect();
    let q = serde_urlencoded::to_string(pairs).unwrap_or_default();
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}{q}")
}

fn redirect_with(uri: &str, params: &[(&str, Option<&str>)]) -> Response {
    Redirect::to(&url_with(uri, params)).into_response()
}

pub async fn authorize_page(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    query: Result<Query<AuthorizeParams>, QueryRejection>,
) -> Response {
    let Query(p) = match query {
        Ok(q) => q,
        Err(e) => return error_page(StatusCode::BAD_REQUEST, &e.body_text()),
    };
    match client_and_redirect(&app, &t, &p).await {
        // There are no sessions to log in silently with.
        Ok((_, redirect)) if p.prompt.as_deref() == Some("none") => redirect_with(
            &redirect,
            &[
                ("error", Some("login_required")),
                ("error_description", Some("Login required")),
                ("state", p.state.as_deref()),
            ],
        ),
        Ok((client, _)) => login_page(&t, &p, &client, None),
        Err(r) => r,
    }
}

pub async fn authorize_submit(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    ip: ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let p: AuthorizeParams = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let (client, redirect) = match client_and_redirect(&app, &t, &p).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let (Some(username), Some(password)) = (p.username.clone(), p.password.clone()) else {
        return login_page(&t, &p, &client, Some("Enter your email and password."));
    };
    let conn = match login_connection(&app, &t, &client, p.connection.as_deref()).await {
        Ok(c) => c,
        Err(e) => return error_page(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let mut info = request_info(&headers, ip, "oidc-basic-profile");
    info.requested_scopes = p
        .scope
        .as_deref()
        .unwrap_or("openid")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    info.audience = p.audience.clone();
    info.redirect_uri = Some(redirect.clone());
    let params = serde_json::to_value(&p).unwrap_or(Value::Null);
    info.query = params.as_object().cloned().unwrap_or_default();
    let attempt = crate::authn::login::Attempt {
        username: &username,
        password: &password,
        ip: &info.ip,
        client_id: &client.client_id,
    };
    let user = match crate::authn::login::authenticate(&app, &t, &conn, &attempt).await {
        Ok(u) => u,
        Err(e) if e.mfa_token().is_none() => {
            return login_page(&t, &p, &client, Some(e.message()));
        }
        Err(e) => return error_page(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    if let Err(e) = app
        .store
        .record_login(t.id(), &user.user_id, &info.ip)
        .await
    {
        return error_page(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string());
    }
    let pending = PendingLogin {
        params,
        client_id: client.client_id.clone(),
        user_id: user.user_id.clone(),
        connection: conn.name.clone(),
        redirect_uri: redirect,
        resume_at: None,
        rules_only: false,
        id_claims: Map::new(),
        access_claims: Map::new(),
        add_scopes: Vec::new(),
        remove_scopes: Vec::new(),
        mfa: None,
        mfa_enrollment: None,
    };
    complete(&app, &t, pending, info).await
}

/// Runs (or resumes) the post-login flow, then redirects with a code, an
/// error, or to the URL an Action asked for.
async fn complete(
    app: &Arc<AppState>,
    t: &TenantCtx,
    mut pending: PendingLogin,
    info: crate::code::pipeline::RequestInfo,
) -> Response {
    let state = pending
        .params
        .get("state")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let result = post_login_resume(app, t, &pending, &info).await;
    let decisions = match result {
        Ok(d) => d,
        Err(e) if e.mfa_token().is_none() => {
            return redirect_with(
                &pending.redirect_uri,
                &[
                    ("error", Some(e.kind().oauth_error())),
                    ("error_description", Some(e.message())),
                    ("state", state.as_deref()),
                ],
            );
        }
        Err(e) => return error_page(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    // What was decided before a pause holds after it.
    pending.id_claims.extend(decisions.id_claims.clone());
    pending
        .access_claims
        .extend(decisions.access_claims.clone());
    pending
        .add_scopes
        .extend(decisions.add_scopes.iter().cloned());
    pending
        .remove_scopes
        .extend(decisions.remove_scopes.iter().cloned());
    if pending.mfa.is_none() {
        pending.mfa = decisions.mfa.clone();
    }
    if let Some(reason) = &decisions.denied {
        return redirect_with(
            &pending.redirect_uri,
            &[
                ("error", Some("access_denied")),
                ("error_description", Some(reason)),
                ("state", state.as_deref()),
            ],
        );
    }
    // Only an Action's first handler or a Rule may pause the login: a redirect asked
    // for by onContinuePostLogin has nowhere to return to and is ignored, as before.
    if let Some(url) = &decisions.redirect
        && (decisions.redirect_at.is_some() || decisions.redirect_by_rule)
    {
        // Paused: the user visits the URL an Action (or a Rule, through
        // `context.redirect`) asked for, which sends them back to
        // /continue?state=... to finish the flow.
        pending.resume_at = decisions.redirect_at;
        pending.rules_only = decisions.redirect_at.is_none();
        let key = random_token(24);
        if let Err(e) = parked::park(app, t.id(), &key, &pending).await {
            return e.into_response();
        }
        return redirect_with(url, &[("state", Some(&key))]);
    }
    if pending.mfa.is_some() {
        // The hosted page asks for the second factor before any code is issued.
        return super::authorize_mfa::ask(app, t, pending, None).await;
    }
    match issue_code(app, t, &pending, false).await {
        Ok(url) => Redirect::to(&url).into_response(),
        Err(page) => page,
    }
}

/// Stores an authorization code for the finished login; the callback URL that
/// carries it (with the request's `state`). `mfa`: a second factor was proven.
pub(super) async fn issue_code(
    app: &AppState,
    t: &TenantCtx,
    pending: &PendingLogin,
    mfa: bool,
) -> Result<String, Response> {
    let code = random_token(32);
    let hash = sha256_hex(&code);
    let p = &pending.params;
    let get = |k: &str| p.get(k).and_then(Value::as_str);
    let requested: Vec<String> = get("scope")
        .unwrap_or("openid")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let all = crate::code::pipeline::Decisions {
        add_scopes: pending.add_scopes.clone(),
        remove_scopes: pending.remove_scopes.clone(),
        ..Default::default()
    };
    let scope = all.scopes(&requested).join(" ");
    // A code from an /authorize that named its redirect_uri is redeemed only with it.
    let claims = json!({"id": pending.id_claims, "access": pending.access_claims,
        "redirect_uri_required": get("redirect_uri").is_some(), "mfa": mfa})
    .to_string();
    let stored = app
        .store
        .insert_auth_code(
            t.id(),
            NewAuthCode {
                code_hash: &hash,
                client_id: &pending.client_id,
                user_id: &pending.user_id,
                redirect_uri: &pending.redirect_uri,
                scope: &scope,
                audience: get("audience"),
                nonce: get("nonce"),
                code_challenge: get("code_challenge"),
                code_challenge_method: get("code_challenge_method"),
                expires_at: SystemTime::now() + CODE_TTL,
                claims: Some(&claims),
            },
        )
        .await;
    if let Err(e) = stored {
        return Err(error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            &e.to_string(),
        ));
    }
    Ok(url_with(
        &pending.redirect_uri,
        &[("code", Some(&code)), ("state", get("state"))],
    ))
}

pub async fn continue_login(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    ip: ClientIp,
    headers: HeaderMap,
    query: Result<Query<Map<String, Value>>, QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return error_page(StatusCode::BAD_REQUEST, "Malformed query string");
    };
    // A `/continue` state is a random token (base64url): with a ':' it would name
    // another kind of parked login (an MFA page's, an mfa_token's) and take it.
    let pending = match query.get("state").and_then(Value::as_str) {
        Some(state) if !state.contains(':') => parked::unpark(&app, t.id(), state).await,
        _ => None,
    };
    let Some(pending) = pending else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Unknown or expired login transaction",
        );
    };
    let protocol = if pending.rules_only {
        "redirect-callback"
    } else {
        "oidc-basic-profile"
    };
    let mut info = request_info(&headers, ip, protocol);
    info.redirect_uri = Some(pending.redirect_uri.clone());
    info.query = query;
    complete(&app, &t, pending, info).await
}

/// `grant_type=authorization_code` (with PKCE when the code was bound to a challenge).
pub async fn code_grant(
    app: &Arc<AppState>,
    t: &TenantCtx,
    headers: &HeaderMap,
    req: TokenRequest,
) -> Result<Json<Value>, ApiError> {
    let code = req
        .code
        .clone()
        .ok_or_else(|| ApiError::invalid_request("Missing required parameter: code"))?;
    // The client proves itself before the code is spent: a caller who cannot
    // authenticate must not be able to burn another's code.
    let client = super::token::authenticate_client(app, t, headers, &req, false).await?;
    let record = app
        .store
        .take_auth_code(t.id(), &sha256_hex(&code))
        .await?
        .ok_or_else(|| ApiError::invalid_grant("Invalid authorization code"))?;
    if client.client_id != record.client_id {
        return Err(ApiError::invalid_grant("Invalid authorization code"));
    }
    super::token::grant_allowed(&client, "authorization_code")?;
    let claims: Value = record
        .claims
        .as_deref()
        .and_then(|c| serde_json::from_str(c).ok())
        .unwrap_or_else(|| json!({}));
    let redirect_required = claims["redirect_uri_required"].as_bool().unwrap_or(false);
    match req.redirect_uri.as_deref() {
        Some(r) if r != record.redirect_uri => {
            return Err(ApiError::invalid_grant(
                "redirect_uri does not match the authorization request",
            ));
        }
        None if redirect_required => {
            return Err(ApiError::invalid_grant(
                "redirect_uri is required: the authorization request named one",
            ));
        }
        _ => {}
    }
    if let Some(challenge) = &record.code_challenge {
        let verifier = req
            .code_verifier
            .as_deref()
            .ok_or_else(|| ApiError::invalid_grant("Missing code_verifier"))?;
        let method = record.code_challenge_method.as_deref().unwrap_or("S256");
        if !verify_pkce(verifier, challenge, method) {
            return Err(ApiError::invalid_grant("Failed to verify code verifier"));
        }
    }
    let user = app
        .store
        .get_user(t.id(), &record.user_id)
        .await
        .map_err(|_| ApiError::invalid_grant("Invalid authorization code"))?;
    if user.blocked {
        return Err(ApiError::user_blocked());
    }
    let as_map = |v: &Value| v.as_object().cloned().unwrap_or_default();
    let scope: Vec<String> = record.scope.split_whitespace().map(str::to_owned).collect();
    finish_tokens(
        app,
        t,
        &client,
        &user,
        &scope,
        record.audience.as_deref(),
        as_map(&claims["id"]),
        as_map(&claims["access"]),
        super::token::LoginFacts {
            nonce: record.nonce.as_deref(),
            mfa: claims["mfa"].as_bool().unwrap_or(false),
        },
    )
    .await
}
