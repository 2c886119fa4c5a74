//! `GET /api/v2/logs/tail`: the tenant's execution logs as they happen, as
//! server-sent events (one `data:` JSON object per log), for
//! `rulebox logs tail` and the dashboard. Needs `read:logs`.

use super::mgmt::Caller;
use crate::app::AppState;
use crate::error::ApiError;
use crate::tenancy::TenantCtx;
use axum::Extension;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{Stream, StreamExt};
use std::convert::Infallible;
use std::sync::Arc;
use tokio_stream::wrappers::BroadcastStream;

pub async fn tail(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    c: Caller,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    c.require("read:logs")?;
    let tenant = t.id().to_owned();
    let stream = BroadcastStream::new(app.logs.subscribe()).filter_map(move |item| {
        let event = match item {
            Ok((for_tenant, log)) if for_tenant == tenant => {
                Some(Ok(Event::default().event("log").data(log.to_string())))
            }
            Ok(_) => None,
            // The reader fell behind: say so instead of silently skipping. Not how many: the
            // channel carries every tenant's logs, and the count would tell this tenant about
            // the others' traffic. The stored logs (`GET /api/v2/logs`) have them all.
            Err(tokio_stream::wrappers::errors::BroadcastStreamRecvError::Lagged(_)) => {
                Some(Ok(Event::default().event("lagged").data(
                    r#"{"message":"some logs were skipped; GET /api/v2/logs has them"}"#,
                )))
            }
        };
        std::future::ready(event)
    });
    let mut draining = app.draining.subscribe();
    let stop = async move {
        let _ = draining.wait_for(|d| *d).await;
    };
    Ok(Sse::new(stream.take_until(stop)).keep_alive(KeepAlive::default()))
}
