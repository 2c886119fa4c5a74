//! A login's post-login code: its Actions (from a position, when resuming a
//! redirect), then legacy Rules, then the one batched metadata write.

use crate::app::AppState;
use crate::code::pipeline::{self, RequestInfo};
use crate::code::triggers;
use crate::error::ApiError;
use crate::store::{Client, Connection, User};
use crate::tenant::TenantCtx;
use rulebox_runtime_api::Trigger;
use serde_json::{Map, Value};
use std::sync::Arc;

/// Actions, then legacy Rules, then the batched metadata write.
pub async fn run(
    app: &Arc<AppState>,
    t: &TenantCtx,
    client: &Client,
    conn: &Connection,
    user: &User,
    info: &RequestInfo,
) -> Result<pipeline::Decisions, ApiError> {
    run_from(app, t, client, conn, user, info, 0, false).await
}

/// Actions from `start_at` (resuming a redirect when `resume`); once they
/// all ran, legacy Rules; then the batched metadata write, which happens
/// even when the flow denied.
#[allow(clippy::too_many_arguments)]
pub async fn run_from(
    app: &Arc<AppState>,
    t: &TenantCtx,
    client: &Client,
    conn: &Connection,
    user: &User,
    info: &RequestInfo,
    start_at: usize,
    resume: bool,
) -> Result<pipeline::Decisions, ApiError> {
    let event = triggers::post_login::event(t, client, conn, user, info, Map::new());
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
                    triggers::post_login::rule_context(t, client, conn, user, info),
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
