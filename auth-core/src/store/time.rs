//! Timestamps. The database stores BIGINT milliseconds since the Unix epoch (portable, and
//! comparable in SQL for expiry checks); the API shapes expose RFC 3339 UTC strings with
//! millisecond precision, e.g. `2026-11-28T10:00:00.000Z`, as Auth0 does.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch for `t` (negative before 1970).
pub fn system_time_ms(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_millis()).map_or(i64::MIN, |ms| -ms),
    }
}

/// The current time in milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    system_time_ms(SystemTime::now())
}

/// The current time as RFC 3339 UTC with millisecond precision, e.g. for
/// `authentication.methods[].timestamp`.
pub fn now_rfc3339() -> String {
    rfc3339_from_ms(now_ms())
}

/// The `SystemTime` for a millisecond timestamp.
pub fn ms_to_system_time(ms: i64) -> SystemTime {
    if ms >= 0 {
        UNIX_EPOCH + Duration::from_millis(ms.unsigned_abs())
    } else {
        UNIX_EPOCH - Duration::from_millis(ms.unsigned_abs())
    }
}

/// Formats `t` as RFC 3339 UTC with millisecond precision.
pub fn rfc3339(t: SystemTime) -> String {
    rfc3339_from_ms(system_time_ms(t))
}

/// Formats milliseconds since the epoch as RFC 3339 UTC with millisecond precision.
pub fn rfc3339_from_ms(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let ms_of_day = ms.rem_euclid(86_400_000);
    let (year, month, day) = civil_from_days(days);
    let (hour, rest) = (ms_of_day / 3_600_000, ms_of_day % 3_600_000);
    let (minute, rest) = (rest / 60_000, rest % 60_000);
    let (second, milli) = (rest / 1000, rest % 1000);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{milli:03}Z")
}

/// Proleptic Gregorian date for a count of days since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339_from_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            rfc3339_from_ms(1_795_860_000_000),
            "2026-11-28T10:00:00.000Z"
        );
        assert_eq!(rfc3339_from_ms(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(rfc3339_from_ms(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn system_time_round_trips() {
        let t = ms_to_system_time(1_795_860_000_123);
        assert_eq!(system_time_ms(t), 1_795_860_000_123);
        assert_eq!(rfc3339(t), "2026-11-28T10:00:00.123Z");
    }
}
