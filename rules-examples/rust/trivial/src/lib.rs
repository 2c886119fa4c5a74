//! The smallest useful rule: one claim, no parsing beyond the SDK's own.
//! Benchmarks use it to measure the fixed cost of a call.

use rulebox_sdk::{Api, Event};

fn on_post_login(_event: &Event, api: &mut Api) {
    api.id_token()
        .set_custom_claim("https://example.com/trivial", true);
}

rulebox_sdk::export_post_login!(on_post_login);
