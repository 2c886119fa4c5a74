//! The periodic sweep that keeps the database from growing without bound: execution logs
//! past their retention, expired refresh tokens and authorization codes, and failed-login
//! records older than any brute-force window.
//!
//! It runs on every auth-core node; the deletes are idempotent, so two nodes sweeping the same
//! database only repeat each other's work.

use crate::app::AppState;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tracing::Instrument;

/// The longest pause between sweeps: with a 30-day retention, logs outlive it by ten
/// minutes at most.
const MAX_INTERVAL: Duration = Duration::from_secs(600);

/// Sweeps a quarter of the retention apart (bounded), so a short retention set for a
/// demo or test is honoured within a fraction of itself.
pub fn interval(retention: Duration) -> Duration {
    (retention / 4).clamp(Duration::from_millis(250), MAX_INTERVAL)
}

/// Sweeps until the node starts draining. The first sweep runs at once: a node started
/// after a long stop should not serve a week of expired logs.
pub fn spawn(app: Arc<AppState>) -> tokio::task::JoinHandle<()> {
    let every = interval(app.settings.log_retention);
    let mut draining = app.draining.subscribe();
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = draining.wait_for(|d| *d) => return,
            }
            sweep(&app)
                .instrument(tracing::info_span!("housekeeping"))
                .await;
        }
    })
}

/// One pass over every tenant. A failure for one tenant is logged and does not stop the others.
pub async fn sweep(app: &AppState) {
    let tenants = match app.store.list_tenants().await {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "housekeeping: cannot list tenants");
            return;
        }
    };
    let now = SystemTime::now();
    let logs_before = now.checked_sub(app.settings.log_retention).unwrap_or(now);
    let attempts_before = now
        .checked_sub(Duration::from_secs(app.settings.brute_force_window_secs))
        .unwrap_or(now);
    for tenant in tenants {
        match app
            .store
            .prune_execution_logs(&tenant.id, logs_before)
            .await
        {
            Ok(n) => count("execution_logs", n),
            Err(e) => tracing::warn!(tenant = %tenant.id, error = %e, "pruning execution logs"),
        }
        match app
            .store
            .purge_expired(&tenant.id, now, attempts_before)
            .await
        {
            Ok(s) => {
                count("refresh_tokens", s.refresh_tokens);
                count("auth_codes", s.auth_codes);
                count("login_attempts", s.login_attempts);
            }
            Err(e) => tracing::warn!(tenant = %tenant.id, error = %e, "purging expired tokens"),
        }
    }
}

fn count(kind: &'static str, n: u64) {
    if n > 0 {
        metrics::counter!("rulebox_housekeeping_deleted_total", "kind" => kind).increment(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_follows_the_retention_within_bounds() {
        assert_eq!(interval(Duration::from_secs(2)), Duration::from_millis(500));
        assert_eq!(
            interval(Duration::from_millis(100)),
            Duration::from_millis(250)
        );
        assert_eq!(interval(Duration::from_secs(30 * 86_400)), MAX_INTERVAL);
    }
}
