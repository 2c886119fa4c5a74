//! Logs far more than any log budget, then succeeds.
//!
//! Tests use it to check that logs past the budget are dropped, the result
//! says `logs_truncated`, and the call still succeeds with its claim. Lines
//! are numbered so a test can see which ones were kept, and cheap to build
//! (no formatting machinery, no re-validation) so that the rule finishes well
//! within the default fuel budget.

use rulebox_sdk::{Api, Event, log};

const LINES: u32 = 10_000;
const LINE_BYTES: usize = 100;
const PREFIX: &str = "log-flood line ";
const PADDING: &str =
    " ...............................................................................";
const _: () = assert!(PREFIX.len() + 5 + PADDING.len() == LINE_BYTES);

fn on_post_login(_event: &Event, api: &mut Api) {
    let mut line = String::with_capacity(LINE_BYTES);
    for i in 0..LINES {
        line.clear();
        line.push_str(PREFIX);
        for place in [10_000, 1_000, 100, 10, 1] {
            // The digit is < 10, so the narrowing is lossless.
            line.push(char::from(b'0' + (i / place % 10) as u8));
        }
        line.push_str(PADDING);
        log::info(&line);
    }
    api.id_token()
        .set_custom_claim("https://example.com/log_lines", LINES);
}

rulebox_sdk::export_post_login!(on_post_login);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_its_claim_after_logging() {
        let mut api = Api::new();
        on_post_login(&Event::default(), &mut api);
        assert_eq!(
            api.commands(),
            [rulebox_sdk::Command::SetIdTokenClaim {
                name: "https://example.com/log_lines".into(),
                value: rulebox_sdk::json!(10_000),
            }]
        );
    }
}
