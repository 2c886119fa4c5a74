//! Clients (applications): `GET/POST /api/v2/clients`,
//! `GET/PATCH/DELETE /api/v2/clients/{id}` and
//! `POST /api/v2/clients/{id}/rotate-secret`. A client's secret is shown once,
//! when it is made or rotated, and stored only as its SHA-256.

use super::body::{json_body, str_field};
use super::caller::{Caller, Res};
use super::paging::{CLASSIC_PER_PAGE, Paging};
use crate::app::AppState;
use crate::crypto::random::{random_token, sha256_hex};
use crate::error::ApiError;
use crate::store::NewClient;
use crate::tenant::TenantCtx;
use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

pub(super) fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v2/clients", get(list_clients).post(create_client))
        .route(
            "/api/v2/clients/{id}",
            get(get_client).patch(update_client).delete(delete_client),
        )
        .route(
            "/api/v2/clients/{id}/rotate-secret",
            post(rotate_client_secret),
        )
}

async fn list_clients(
    c: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Res<Json<Value>> {
    let (app, t) = c.require("read:clients")?;
    let paging = Paging::parse(&q, CLASSIC_PER_PAGE)?;
    let clients = app.store.list_clients(t.id()).await?;
    let (clients, total) = paging.slice(clients);
    Ok(Json(paging.classic("clients", clients, total)))
}

async fn create_client(
    c: Caller,
    body: Bytes,
) -> Res<(StatusCode, Json<Value>)> {
    let (app, t) = c.require("create:clients")?;
    let v = json_body(&body)?;
    let mut new: NewClient = serde_json::from_value(v.clone())
        .map_err(|e| ApiError::bad_request(format!("Payload validation error: {e}")))?;
    str_field(&v, "name")?;
    new.client_id = None;
    // Before the client exists: a failure here must not lose the secret shown once below.
    publish_client_key(
        app,
        t,
        new.jwt_configuration
            .as_ref()
            .and_then(|j| j.alg.as_deref()),
    )
    .await?;
    let secret = random_token(48);
    let client = app
        .store
        .create_client(t.id(), new, &sha256_hex(&secret))
        .await?;
    let mut out = json!(client);
    out["client_secret"] = json!(secret);
    Ok((StatusCode::CREATED, Json(out)))
}

async fn get_client(
    c: Caller,
    Path(id): Path<String>,
) -> Res<Json<Value>> {
    let (app, t) = c.require("read:clients")?;
    Ok(Json(json!(app.store.get_client(t.id(), &id).await?)))
}

async fn update_client(
    c: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Res<Json<Value>> {
    let (app, t) = c.require("update:clients")?;
    let patch = json_body(&body)?;
    let alg = patch
        .get("jwt_configuration")
        .and_then(|j| j.get("alg"))
        .and_then(Value::as_str);
    publish_client_key(app, t, alg).await?;
    let client = app.store.update_client(t.id(), &id, patch).await?;
    Ok(Json(json!(client)))
}

/// A client that chose an ID-token algorithm the tenant has no key of gets that key
/// now, so that the JWKS has it before the first token: verifiers that cached the
/// JWKS would otherwise meet an unknown `kid`.
async fn publish_client_key(app: &AppState, t: &TenantCtx, alg: Option<&str>) -> Res<()> {
    if let Some(alg) = alg {
        let alg = alg.parse().map_err(|_| {
            ApiError::bad_request(format!(
                "Payload validation error: jwt_configuration.alg must be RS256 or ES256 (got {alg})"
            ))
        })?;
        app.keys_with(&t.tenant, alg).await?;
    }
    Ok(())
}

async fn delete_client(
    c: Caller,
    Path(id): Path<String>,
) -> Res<StatusCode> {
    let (app, t) = c.require("delete:clients")?;
    app.store.delete_client(t.id(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /clients/{id}/rotate-secret`: a new secret, shown once; the old one stops working.
async fn rotate_client_secret(
    c: Caller,
    Path(id): Path<String>,
) -> Res<Json<Value>> {
    let (app, t) = c
        .require("update:client_keys")
        .or_else(|_| c.require("update:clients"))?;
    let secret = random_token(48);
    app.store
        .set_client_secret_hash(t.id(), &id, &sha256_hex(&secret))
        .await?;
    let mut out = json!(app.store.get_client(t.id(), &id).await?);
    out["client_secret"] = json!(secret);
    Ok(Json(out))
}
