//! The hosted login of the authorization-code flow: `GET /authorize` (the
//! login page), `POST /authorize` (the form) and `GET /continue` (the return
//! from an Action's redirect). The code itself is issued and redeemed by
//! `authn::grants::authorization_code`.

use super::client_ip::ClientIp;
use super::pages::{code_redirect, error_page, escape, url_with};
use super::request::request_info;
use crate::app::AppState;
use crate::authn::finish::{login_connection, post_login_resume};
use crate::authn::parked::{self, PendingLogin};
use crate::crypto::random::random_token;
use crate::store::Client;
use crate::tenant::TenantCtx;
use axum::Extension;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::sync::Arc;

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
    match code_redirect(app, t, &pending, false).await {
        Ok(url) => Redirect::to(&url).into_response(),
        Err(page) => page,
    }
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
