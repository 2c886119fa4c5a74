//! A login's post-login code: its Actions (from a position, when resuming a
//! redirect), then legacy Rules, then the one batched metadata write.

use crate::app::AppState;
use crate::code::pipeline::{self, RequestInfo, Scope};
use crate::code::triggers;
use crate::error::ApiError;
use crate::store::User;
use crate::tenant::{LoginSnapshot, TenantCtx};
use rulebox_runtime_api::Trigger;
use serde_json::{Map, Value};
use std::sync::Arc;

/// A user's login as its post-login code sees it: one value passed down
/// instead of its parts.
#[derive(Clone, Copy)]
pub struct Login<'a> {
    pub app: &'a Arc<AppState>,
    pub t: &'a TenantCtx,
    /// The tenant's configuration, read once for the whole login.
    pub snap: &'a LoginSnapshot,
    pub user: &'a User,
    pub info: &'a RequestInfo,
}

/// Actions, then legacy Rules, then the batched metadata write.
pub async fn run(login: &Login<'_>) -> Result<pipeline::Decisions, ApiError> {
    run_from(login, 0, false).await
}

/// Actions from `start_at` (resuming a redirect when `resume`); once they
/// all ran, legacy Rules; then the batched metadata write, which happens
/// even when the flow denied.
pub async fn run_from(
    login: &Login<'_>,
    start_at: usize,
    resume: bool,
) -> Result<pipeline::Decisions, ApiError> {
    let Login {
        app,
        t,
        snap,
        user,
        info,
    } = *login;
    let (client, conn) = (snap.client(), &*snap.conn);
    let scope = Scope::new(app, t, Some(&client.client_id), Some(&user.user_id));
    let event = triggers::post_login::event(t, client, conn, user, info, Map::new());
    let config = pipeline::FlowConfig::post_login(snap);
    let mut decisions =
        pipeline::run_from(&scope, &config, Trigger::PostLogin, event, start_at, resume).await?;
    let mut rules = Ok(());
    if decisions.redirect_at.is_none() {
        rules = pipeline::run_rules(&scope, &config, &mut decisions, || {
            let user_json = serde_json::to_value(user).unwrap_or(Value::Null);
            (
                user_json,
                triggers::post_login::rule_context(t, client, conn, user, info),
            )
        })
        .await;
    }
    pipeline::persist_metadata(&scope, &decisions).await?;
    rules?;
    Ok(decisions)
}
