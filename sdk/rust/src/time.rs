//! Wall-clock helpers without a date library.
//!
//! On `wasm32-wasip1` the clock is WASI's `clock_time_get`, which the host
//! controls: tests can pin the time, and a rule cannot learn more about the
//! host than the host chooses to tell it.

use std::time::{SystemTime, UNIX_EPOCH};

/// Day numbers returned by [`weekday_utc`], as JavaScript's `Date.getUTCDay()`
/// counts them, so rules ported from Auth0 templates keep their constants.
pub const SUNDAY: u8 = 0;
pub const MONDAY: u8 = 1;
pub const TUESDAY: u8 = 2;
pub const WEDNESDAY: u8 = 3;
pub const THURSDAY: u8 = 4;
pub const FRIDAY: u8 = 5;
pub const SATURDAY: u8 = 6;

const MS_PER_DAY: u64 = 86_400_000;

/// Milliseconds since the Unix epoch, like JavaScript's `Date.now()`.
/// A clock set before 1970 reads 0 rather than failing the rule.
pub fn now_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Day of the week in UTC, 0 = Sunday … 6 = Saturday.
pub fn weekday_utc(unix_ms: u64) -> u8 {
    // 1970-01-01 was a Thursday (4).
    let day = (unix_ms / MS_PER_DAY + u64::from(THURSDAY)) % 7;
    // `day` < 7, so the narrowing is lossless.
    day as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weekdays_of_known_dates() {
        assert_eq!(weekday_utc(0), THURSDAY); // 1970-01-01
        assert_eq!(weekday_utc(86_399_999), THURSDAY); // last ms of that day
        assert_eq!(weekday_utc(86_400_000), FRIDAY);
        assert_eq!(weekday_utc(946_684_800_000), SATURDAY); // 2000-01-01
        assert_eq!(weekday_utc(1_704_067_200_000), MONDAY); // 2024-01-01
        assert_eq!(weekday_utc(1_709_164_800_000), THURSDAY); // 2024-02-29
        assert_eq!(weekday_utc(1_735_603_200_000), TUESDAY); // 2024-12-31
        assert_eq!(weekday_utc(1_795_824_000_000), SATURDAY); // 2026-11-28
        assert_eq!(weekday_utc(1_795_910_400_000), SUNDAY); // 2026-11-29
        assert_eq!(weekday_utc(1_795_996_799_999), SUNDAY); // 2026-11-29T23:59:59.999Z
        assert_eq!(weekday_utc(1_795_996_800_000), MONDAY); // 2026-11-30
    }

    #[test]
    fn now_is_after_2020() {
        assert!(now_unix_ms() > 1_577_836_800_000);
    }
}
