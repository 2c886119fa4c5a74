//! The tenant's signing keys: `GET /api/v2/keys/signing`,
//! `GET /api/v2/keys/signing/{kid}`, `POST /api/v2/keys/signing/rotate` and
//! `PUT /api/v2/keys/signing/{kid}/revoke`. Only public parts are shown.

use super::caller::{Caller, Res};
use crate::app::AppState;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::{Value, json};
use std::sync::Arc;

pub(super) fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v2/keys/signing", get(list_signing_keys))
        .route("/api/v2/keys/signing/rotate", post(rotate_signing_key))
        .route("/api/v2/keys/signing/{kid}", get(get_signing_key))
        .route("/api/v2/keys/signing/{kid}/revoke", put(revoke_signing_key))
}

/// Auth0's signing-key shape: public parts only.
fn key_json(k: &crate::store::SigningKey) -> Value {
    let mut key = json!({
        "kid": k.kid,
        "alg": k.alg,
        "current": k.state == "current",
        "next": k.state == "next",
        "previous": k.state == "previous",
        "revoked": k.state == "revoked",
        "jwk": k.public_jwk,
        "created_at": k.created_at,
    });
    if let Some(at) = &k.revoked_at {
        key["revoked_at"] = json!(at);
    }
    key
}

async fn list_signing_keys(
    c: Caller,
) -> Res<Json<Value>> {
    let (app, t) = c.require("read:signing_keys")?;
    let keys = app.store.signing_keys_with_revoked(t.id()).await?;
    Ok(Json(Value::Array(keys.iter().map(key_json).collect())))
}

async fn get_signing_key(
    c: Caller,
    Path(kid): Path<String>,
) -> Res<Json<Value>> {
    let (app, t) = c.require("read:signing_keys")?;
    let key = app.store.signing_key(t.id(), &kid).await?;
    Ok(Json(key_json(&key)))
}

/// `PUT /keys/signing/{kid}/revoke`: a previously used key leaves the JWKS,
/// so tokens it signed stop verifying (a leaked key's answer).
async fn revoke_signing_key(
    c: Caller,
    Path(kid): Path<String>,
) -> Res<Json<Value>> {
    let (app, t) = c.require("update:signing_keys")?;
    let key = app.store.revoke_signing_key(t.id(), &kid).await?;
    Ok(Json(json!({"cert": null, "kid": key.kid})))
}

/// `POST /keys/signing/rotate`: new keys sign from now on — one per algorithm the
/// tenant signs with (its own, and any its clients chose); the previous ones stay
/// in the JWKS so tokens they signed keep verifying until they expire.
async fn rotate_signing_key(
    c: Caller,
) -> Res<(StatusCode, Json<Value>)> {
    use crate::crypto::keys::Alg;
    let (app, t) = c.require("create:signing_keys")?;
    let tenant_alg: Alg = t.tenant.signing_alg.parse().unwrap_or(Alg::RS256);
    let current = app.store.signing_keys(t.id()).await?;
    let mut algs: Vec<Alg> = current
        .iter()
        .filter(|k| k.state == "current")
        .filter_map(|k| k.alg.parse().ok())
        .collect();
    if !algs.contains(&tenant_alg) {
        algs.push(tenant_alg);
    }
    let mut primary_kid = None;
    for alg in algs {
        let pair = crate::tenant::generate_key(alg).await?;
        let new = crate::store::NewSigningKey {
            kid: pair.kid.clone(),
            alg: pair.alg.to_string(),
            private_pem: pair.private_pem.clone(),
            public_jwk: pair.public_jwk.clone(),
        };
        let key = app.store.rotate_signing_keys(t.id(), &new).await?;
        if alg == tenant_alg {
            primary_kid = Some(key.kid);
        }
    }
    Ok((
        StatusCode::CREATED,
        Json(json!({"cert": null, "kid": primary_kid})),
    ))
}
