//! Brute-force protection's one mechanism, for passwords and second factors
//! alike: an attempt is recorded under each of its keys *before* the secret is
//! checked, then counted again, so of concurrent guesses only those within the
//! limit are checked; an attempt that was no guess is withdrawn afterwards.

use crate::app::AppState;
use crate::error::ApiError;
use std::time::{Duration, SystemTime};

/// One key an attempt counts under, and how many attempts it may have in the window.
#[derive(Debug, Clone, Copy)]
pub struct Limit<'a> {
    pub key: &'a str,
    pub max: u32,
}

/// An attempt recorded under its keys: one id per key, in the order given,
/// and each key's count with it.
#[derive(Debug)]
pub struct Recorded {
    pub ids: Vec<String>,
    pub counts: Vec<u32>,
}

/// The start of the window attempts are counted in.
fn window_start(app: &AppState, now: SystemTime) -> SystemTime {
    now.checked_sub(Duration::from_secs(app.settings.brute_force_window_secs))
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

async fn counts(
    app: &AppState,
    tenant: &str,
    limits: &[Limit<'_>],
    since: SystemTime,
) -> Result<Vec<u32>, ApiError> {
    Ok(futures_util::future::try_join_all(
        limits
            .iter()
            .map(|l| app.store.login_attempts_since(tenant, l.key, since)),
    )
    .await?)
}

/// Records an attempt under every key; `None` (nothing recorded) when a key is
/// already at its limit or the attempt lost the race to concurrent ones. A
/// caller already throttled is answered from a read: no rows written.
pub async fn record(
    app: &AppState,
    tenant: &str,
    limits: &[Limit<'_>],
) -> Result<Option<Recorded>, ApiError> {
    let now = SystemTime::now();
    let since = window_start(app, now);
    let before = counts(app, tenant, limits, since).await?;
    if limits.iter().zip(&before).any(|(l, &n)| n >= l.max) {
        return Ok(None);
    }
    let mut ids = Vec::with_capacity(limits.len());
    for l in limits {
        ids.push(app.store.record_login_attempt(tenant, l.key, now).await?);
    }
    let counts = counts(app, tenant, limits, since).await?;
    let recorded = Recorded { ids, counts };
    if limits.iter().zip(&recorded.counts).any(|(l, &n)| n > l.max) {
        // Lost the race to the guesses counted before it: not checked, not counted.
        withdraw_all(app, tenant, &recorded).await?;
        return Ok(None);
    }
    Ok(Some(recorded))
}

/// Takes back one key's attempt (the attempt was no guess there).
pub async fn withdraw(app: &AppState, tenant: &str, id: &str) -> Result<(), ApiError> {
    Ok(app.store.withdraw_login_attempt(tenant, id).await?)
}

/// Takes back the attempt under every key.
pub async fn withdraw_all(app: &AppState, tenant: &str, r: &Recorded) -> Result<(), ApiError> {
    for id in &r.ids {
        withdraw(app, tenant, id).await?;
    }
    Ok(())
}
