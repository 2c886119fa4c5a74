//! Users and their second factors: `GET/POST /api/v2/users`,
//! `GET /api/v2/users-by-email`, `GET/PATCH/DELETE /api/v2/users/{id}`,
//! `GET /api/v2/users/{id}/enrollments` and
//! `DELETE /api/v2/users/{id}/authenticators`.

use super::body::{json_body, str_field};
use super::caller::{Caller, Res};
use super::paging::{CLASSIC_PER_PAGE, Paging};
use crate::app::AppState;
use crate::error::ApiError;
use crate::store::{Connection, NewUser, StoreError};
use crate::tenant::TenantCtx;
use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

pub(super) fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v2/users", get(list_users).post(create_user))
        .route("/api/v2/users-by-email", get(users_by_email))
        .route(
            "/api/v2/users/{id}",
            get(get_user).patch(update_user).delete(delete_user),
        )
        .route("/api/v2/users/{id}/enrollments", get(list_enrollments))
        .route(
            "/api/v2/users/{id}/authenticators",
            delete(reset_authenticators),
        )
}

async fn list_users(
    c: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Res<Json<Value>> {
    let (app, t) = c.require("read:users")?;
    let paging = Paging::parse(&q, CLASSIC_PER_PAGE)?;
    let (users, total) = app
        .store
        .list_users(
            t.id(),
            paging.page,
            paging.per_page,
            q.get("q").map(String::as_str),
        )
        .await?;
    Ok(Json(paging.classic("users", users, total)))
}

async fn users_by_email(
    c: Caller,
    Query(mut q): Query<HashMap<String, String>>,
) -> Res<Json<Value>> {
    let (app, t) = c.require("read:users")?;
    let email = q.remove("email").ok_or_else(|| {
        ApiError::bad_request("Query validation error: Missing required property: email")
    })?;
    Ok(Json(json!(app.store.users_by_email(t.id(), &email).await?)))
}

async fn create_user(
    c: Caller,
    body: Bytes,
) -> Res<(StatusCode, Json<Value>)> {
    let (app, t) = c.require("create:users")?;
    let v = json_body(&body)?;
    let connection = str_field(&v, "connection")?.to_owned();
    let conn = app.store.connection_by_name(t.id(), &connection).await?;
    let email = str_field(&v, "email")?.to_owned();
    let password = str_field(&v, "password")?.to_owned();
    let hash = hash_new_password(app, &conn, password).await?;
    let new = NewUser {
        connection,
        email: Some(email),
        email_verified: v
            .get("email_verified")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        username: v.get("username").and_then(Value::as_str).map(str::to_owned),
        name: v.get("name").and_then(Value::as_str).map(str::to_owned),
        given_name: v
            .get("given_name")
            .and_then(Value::as_str)
            .map(str::to_owned),
        family_name: v
            .get("family_name")
            .and_then(Value::as_str)
            .map(str::to_owned),
        nickname: v.get("nickname").and_then(Value::as_str).map(str::to_owned),
        app_metadata: v.get("app_metadata").cloned(),
        user_metadata: v.get("user_metadata").cloned(),
        password_hash: Some(hash),
        ..NewUser::default()
    };
    let user = app.store.create_user(t.id(), new).await?;
    Ok((StatusCode::CREATED, Json(json!(user))))
}

async fn get_user(
    c: Caller,
    Path(id): Path<String>,
) -> Res<Json<Value>> {
    let (app, t) = c.require("read:users")?;
    Ok(Json(json!(app.store.get_user(t.id(), &id).await?)))
}

/// 404 unless the tenant knows the user locally or holds second factors for them
/// (a custom database's users outside import mode enroll without a local row).
async fn known_user(app: &AppState, t: &TenantCtx, id: &str, has_factors: bool) -> Res<()> {
    match app.store.get_user(t.id(), id).await {
        Ok(_) => Ok(()),
        Err(StoreError::NotFound(_)) if has_factors => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// `GET /users/{id}/enrollments`: the user's authenticator app, if enrolled.
async fn list_enrollments(
    c: Caller,
    Path(id): Path<String>,
) -> Res<Json<Value>> {
    let (app, t) = c.require("read:users")?;
    let factors = app.store.mfa_authenticators(t.id(), &id).await?;
    known_user(app, t, &id, !factors.is_empty()).await?;
    Ok(Json(Value::Array(
        factors
            .iter()
            .filter(|a| a.authenticator_type == crate::store::mfa::OTP)
            .map(|a| {
                json!({"id": a.id, "status": if a.active { "confirmed" } else { "pending" },
                       "type": "authenticator",
                       "enrolled_at": crate::store::time::rfc3339_from_ms(a.created_at)})
            })
            .collect(),
    )))
}

/// `DELETE /users/{id}/authenticators`: resets the user's MFA (a lost phone);
/// their next login that needs MFA enrolls anew.
async fn reset_authenticators(
    c: Caller,
    Path(id): Path<String>,
) -> Res<StatusCode> {
    let (app, t) = c.require("delete:guardian_enrollments")?;
    let removed = app.store.delete_mfa_authenticators(t.id(), &id).await?;
    known_user(app, t, &id, removed > 0).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn update_user(
    c: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Res<Json<Value>> {
    let (app, t) = c.require("update:users")?;
    let mut patch = json_body(&body)?;
    let new_password = match patch.as_object_mut().and_then(|m| m.remove("password")) {
        Some(pw) => Some(
            pw.as_str()
                .ok_or_else(|| ApiError::bad_request("password must be a string"))?
                .to_owned(),
        ),
        None => None,
    };
    // Everything is checked before anything is written: a PATCH that is refused
    // must not have changed the password already.
    let hash = match new_password {
        Some(pw) => {
            let user = app.store.get_user(t.id(), &id).await?;
            let conn = app
                .store
                .connection_by_name(t.id(), &user.connection)
                .await?;
            Some(hash_new_password(app, &conn, pw).await?)
        }
        None => None,
    };
    let user = app
        .store
        .update_user_and_password(t.id(), &id, patch, hash.as_deref())
        .await?;
    Ok(Json(json!(user)))
}

/// A password the Management API sets, checked against the policy and hashed at the
/// connection's bcrypt cost.
async fn hash_new_password(app: &AppState, conn: &Connection, password: String) -> Res<String> {
    if let Some(why) = crate::crypto::password::policy_violation(&password) {
        return Err(ApiError::bad_request(why).into());
    }
    let cost = crate::authn::login::bcrypt_cost(app, conn);
    tokio::task::spawn_blocking(move || crate::crypto::password::hash_password(&password, cost))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .map_err(|e| ApiError::internal(e.to_string()).into())
}

async fn delete_user(
    c: Caller,
    Path(id): Path<String>,
) -> Res<StatusCode> {
    let (app, t) = c.require("delete:users")?;
    app.store.delete_user(t.id(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
