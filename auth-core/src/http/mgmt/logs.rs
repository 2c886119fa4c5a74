//! Execution logs (one per run of tenant code): `GET /api/v2/logs`, paged.
//! `logs_tail` streams them as they happen.

use super::caller::{Caller, Res};
use super::paging::{CLASSIC_PER_PAGE, Paging};
use crate::app::AppState;
use axum::extract::Query;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

pub(super) fn router() -> Router<Arc<AppState>> {
    Router::new().route("/api/v2/logs", get(list_logs))
}

async fn list_logs(
    c: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Res<Json<Value>> {
    let (app, t) = c.require("read:logs")?;
    let paging = Paging::parse(&q, CLASSIC_PER_PAGE)?;
    let action = q.get("action_id").map(String::as_str);
    // Logs of logins this node just answered may still be queued.
    app.logs.flush().await;
    let logs = app
        .store
        .list_execution_logs(t.id(), paging.page, paging.per_page, action)
        .await?;
    // Counting costs a query; only a caller that asked for totals pays it.
    let total = if paging.wants_totals() {
        app.store.count_execution_logs(t.id(), action).await?
    } else {
        0
    };
    Ok(Json(paging.classic("logs", logs, total)))
}
