//! WAL checkpoints of a SQLite file, off the write path.
//!
//! By default SQLite checkpoints inside the commit that pushes the WAL past
//! 1,000 pages: that writer copies the WAL into the database and fsyncs it
//! while holding the write lock, so every login waiting on a write stalls with
//! it (on the refresh path that showed as idle CPU under full load, with the
//! WAL written at ~80 MB/s). A background task checkpoints passively instead:
//! it never blocks readers or writers, and pages written many times between
//! two checkpoints are copied once. The in-commit checkpoint stays as a
//! backstop at a much larger WAL.

use sqlx::AnyPool;
use std::time::Duration;

/// WAL pages past which a committing writer checkpoints anyway (about 80 MB):
/// only reached if the background checkpoints fall behind.
pub(super) const BACKSTOP_PAGES: u32 = 20_000;

/// How often the background task checkpoints.
const INTERVAL: Duration = Duration::from_millis(250);

/// Checkpoints `pool`'s database until the pool is closed.
pub(super) fn spawn(pool: AnyPool) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if pool.is_closed() {
                return;
            }
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&pool)
                .await
            {
                if pool.is_closed() {
                    return;
                }
                tracing::warn!(error = %e, "background WAL checkpoint failed");
            }
        }
    });
}
