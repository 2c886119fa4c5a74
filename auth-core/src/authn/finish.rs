//! Finishing a login once the user is known: the post-login flow, what a
//! login without a browser makes of its decisions (a deny, MFA, a redirect),
//! and the tokens. Shared by the password grant, signup and `/authorize`.

use crate::app::AppState;
use crate::authn::tokens::{LoginFacts, Scopes, UserGrant, issue_user_tokens};
use crate::code::pipeline::{self, RequestInfo};
use crate::code::post_login;
use crate::code::triggers::post_login::token_endpoint_outcome;
use crate::error::ApiError;
use crate::store::{Client, Connection, StoreError, User};
use crate::tenant::{LoginSnapshot, TenantCtx};
use serde_json::Value;
use std::sync::Arc;

/// The database connection a password login is for: the `realm`, else the
/// first database connection enabled for the client.
pub async fn login_connection(
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

/// Everything after the user is known: the pipeline, then tokens, over one
/// snapshot of the tenant's configuration.
pub async fn finish_login(
    app: &Arc<AppState>,
    t: &TenantCtx,
    snap: &LoginSnapshot,
    user: User,
    info: RequestInfo,
    count_login: bool,
) -> Result<Value, ApiError> {
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
    let decisions = post_login::run(&post_login::Login {
        app,
        t,
        snap,
        user: &user,
        info: &info,
    })
    .await?;
    let (client, conn) = (snap.client(), &*snap.conn);
    let scope = Scopes::Decided {
        requested: &info.requested_scopes,
        add: &decisions.add_scopes,
        remove: &decisions.remove_scopes,
    };
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
            scope: scope.granted().into_owned(),
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
    issue_user_tokens(
        app,
        t,
        client,
        &snap.keys,
        &user,
        UserGrant {
            scope,
            audience: info.audience.as_deref(),
            id_claims: decisions.id_claims,
            access_claims: decisions.access_claims,
            allow_refresh: true,
            facts: LoginFacts::default(),
        },
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
    let client = app.client(t.id(), &pending.client_id).await?;
    let conn = login_connection(app, t, &client, Some(&pending.connection)).await?;
    let user = app.store.get_user(t.id(), &pending.user_id).await?;
    let snap = app.login_snapshot(t, client, Arc::new(conn)).await?;
    let (start, resume) = match pending.resume_at {
        _ if pending.rules_only => (usize::MAX, false),
        Some(at) => (at, true),
        None => (0, false),
    };
    let login = post_login::Login {
        app,
        t,
        snap: &snap,
        user: &user,
        info,
    };
    post_login::run_from(&login, start, resume).await
}
