//! `GET /api/v2/logs/tail`: the tenant's execution logs as they happen, as
//! server-sent events (one `data:` JSON object per log), for
//! `rulebox logs tail` and the dashboard. Needs `read:logs`.
//!
//! The tail polls the database rather than listening to this node's own log
//! writer: behind a load balancer the logins of a tenant land on every
//! auth-core node, and the shared database is the one place that sees them
//! all.

use super::caller::Caller;
use crate::app::AppState;
use crate::http::errors::MgmtError;
use crate::store::ExecutionLog;
use axum::routing::get;
use axum::Router;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::Stream;
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

/// How often the database is asked for new logs.
const POLL: Duration = Duration::from_millis(250);
/// Logs are dated when queued and stored a little later, by this node's batch writer or by
/// another node's: each poll looks this far back so a late row is not skipped.
const LOOKBACK_MS: i64 = 2_000;
/// Rows one poll reads at most; a tenant logging more than this per lookback window gets a
/// `lagged` event instead of an ever-growing scan.
const MAX_ROWS: u32 = 1_000;

pub(super) fn router() -> Router<Arc<AppState>> {
    Router::new().route("/api/v2/logs/tail", get(tail))
}

async fn tail(
    c: Caller,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, MgmtError> {
    c.require("read:logs")?;
    let (app, tenant) = (c.app.clone(), c.t.id().to_owned());
    let start = crate::store::time::now_ms();
    let (tx, rx) = tokio::sync::mpsc::channel::<Event>(64);
    let mut draining = app.draining.subscribe();
    tokio::spawn(async move {
        let mut cursor = Cursor::new(start);
        let mut ticker = tokio::time::interval(POLL);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = draining.wait_for(|d| *d) => return,
                _ = tx.closed() => return,
            }
            let rows = match app
                .store
                .execution_logs_since(&tenant, cursor.scan_from(), MAX_ROWS)
                .await
            {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::warn!(tenant = %tenant, error = %e, "log tail: reading logs");
                    continue;
                }
            };
            let lagged = rows.len() >= MAX_ROWS as usize;
            for log in cursor.fresh(rows) {
                let data = serde_json::to_string(&log).unwrap_or_default();
                if tx
                    .send(Event::default().event("log").data(data))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            if lagged {
                // Not how many: the reader only needs to know to look at the stored logs.
                let note = r#"{"message":"some logs were skipped; GET /api/v2/logs has them"}"#;
                let _ = tx.send(Event::default().event("lagged").data(note)).await;
                cursor.skip_to_now();
            }
        }
    });
    let stream =
        futures_util::stream::unfold(
            rx,
            |mut rx| async move { rx.recv().await.map(|e| (Ok(e), rx)) },
        );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// Which logs the tail has sent: from its start on, the newest date seen, and the ids
/// within the lookback window (the rows the next poll reads again).
struct Cursor {
    start: i64,
    newest: i64,
    sent: HashMap<String, i64>,
}

/// A log's date in milliseconds: the first 15 digits of its id (see `ids::log_id`).
fn date_ms(log: &ExecutionLog) -> Option<i64> {
    log.id.get(..15)?.parse().ok()
}

impl Cursor {
    fn new(start_ms: i64) -> Self {
        Self {
            start: start_ms,
            newest: start_ms,
            sent: HashMap::new(),
        }
    }

    fn scan_from(&self) -> i64 {
        self.start.max(self.newest - LOOKBACK_MS)
    }

    /// The rows not sent yet.
    fn fresh(&mut self, rows: Vec<ExecutionLog>) -> Vec<ExecutionLog> {
        let mut out = Vec::new();
        for log in rows {
            if self.sent.contains_key(&log.id) {
                continue;
            }
            let date = date_ms(&log).unwrap_or(self.newest);
            self.newest = self.newest.max(date);
            self.sent.insert(log.id.clone(), date);
            out.push(log);
        }
        let floor = self.newest - LOOKBACK_MS;
        self.sent.retain(|_, d| *d >= floor);
        out
    }

    fn skip_to_now(&mut self) {
        self.newest = self.newest.max(crate::store::time::now_ms());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(date: i64, n: u32) -> ExecutionLog {
        serde_json::from_value(serde_json::json!({
            "id": format!("{date:015}{n:09}abcdefgh"), "date": "", "type": "action",
            "name": "a", "trigger_id": "post-login", "outcome": "ok", "duration_us": 1,
            "fuel_used": 1, "peak_memory_bytes": 1, "logs": []
        }))
        .expect("log")
    }

    #[test]
    fn each_log_is_sent_once_and_late_rows_within_the_lookback_still_are() {
        let mut c = Cursor::new(10_000);
        assert_eq!(c.scan_from(), 10_000);
        assert_eq!(c.fresh(vec![log(10_100, 1), log(10_200, 2)]).len(), 2);
        // The next poll reads them again, plus one that another node stored late.
        let again = c.fresh(vec![log(10_100, 1), log(10_150, 3), log(10_200, 2)]);
        assert_eq!(again.len(), 1);
        assert_eq!(date_ms(&again[0]), Some(10_150));
        c.fresh(vec![log(20_000, 4)]);
        assert_eq!(c.scan_from(), 20_000 - LOOKBACK_MS);
        assert!(
            c.sent.len() == 1,
            "ids older than the lookback are forgotten"
        );
    }
}
