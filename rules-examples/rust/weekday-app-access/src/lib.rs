//! One application is closed at weekends.
//!
//! After Auth0's "Allow Access during weekdays for a specific App" template.
//! The day is taken in UTC from the clock the sandbox provides; other
//! applications are never affected.

use rulebox_sdk::time::{SATURDAY, SUNDAY, now_unix_ms, weekday_utc};
use rulebox_sdk::{Api, Event};

const PAYROLL_CLIENT_ID: &str = "payroll-app";

const DENY_REASON: &str = "This app is available during the week";

fn on_post_login(event: &Event, api: &mut Api) {
    decide(event, api, now_unix_ms());
}

/// The decision with the time passed in, so tests need not wait for a weekend.
fn decide(event: &Event, api: &mut Api, now_ms: u64) {
    if event.client.client_id.as_deref() != Some(PAYROLL_CLIENT_ID) {
        return;
    }
    let day = weekday_utc(now_ms);
    if day == SATURDAY || day == SUNDAY {
        api.access().deny(DENY_REASON);
    }
}

rulebox_sdk::export_post_login!(on_post_login);

#[cfg(test)]
mod tests {
    use super::*;

    const FRIDAY_2026_11_27: u64 = 1_795_737_600_000;
    const SATURDAY_2026_11_28: u64 = 1_795_824_000_000;
    const SUNDAY_2026_11_29_LATE: u64 = 1_795_996_799_999;
    const MONDAY_2026_11_30: u64 = 1_795_996_800_000;

    fn denied(client_id: Option<&str>, now_ms: u64) -> bool {
        let mut event = Event::default();
        event.client.client_id = client_id.map(str::to_owned);
        let mut api = Api::new();
        decide(&event, &mut api, now_ms);
        api.is_denied()
    }

    #[test]
    fn payroll_is_closed_at_weekends_only() {
        assert!(!denied(Some(PAYROLL_CLIENT_ID), FRIDAY_2026_11_27));
        assert!(denied(Some(PAYROLL_CLIENT_ID), SATURDAY_2026_11_28));
        assert!(denied(Some(PAYROLL_CLIENT_ID), SUNDAY_2026_11_29_LATE));
        assert!(!denied(Some(PAYROLL_CLIENT_ID), MONDAY_2026_11_30));
    }

    #[test]
    fn other_apps_are_never_affected() {
        for now in [
            FRIDAY_2026_11_27,
            SATURDAY_2026_11_28,
            SUNDAY_2026_11_29_LATE,
        ] {
            assert!(!denied(Some("other-app"), now));
            assert!(!denied(None, now));
        }
    }
}
