//! Enriches the tokens from the company's profile API, as many of Auth0's
//! rule templates do: the API's URL and key are Action secrets, the host
//! must be on the tenant's outbound allow-list.
//!
//! If the API cannot be reached the login goes on without the claim: a
//! profile service outage should not lock everyone out.

use rulebox_sdk::http::Request;
use rulebox_sdk::{Api, Event, Value};

const PLAN_CLAIM: &str = "https://example.com/plan";

fn on_post_login(event: &Event, api: &mut Api) {
    let Some(base) = event.secrets.get("PROFILE_API") else {
        rulebox_sdk::log::warn("PROFILE_API secret is not set");
        return;
    };
    let Some(user_id) = event.user.user_id.as_deref() else {
        return;
    };
    let url = format!("{base}/users/{user_id}");
    let mut request = Request::get(&url);
    if let Some(key) = event.secrets.get("PROFILE_API_KEY") {
        request = request.header("authorization", &format!("Bearer {key}"));
    }
    match request.send() {
        Ok(res) if res.status == 200 => {
            if let Ok(profile) = res.json::<Value>()
                && let Some(plan) = profile.get("plan")
            {
                api.id_token().set_custom_claim(PLAN_CLAIM, plan.clone());
            }
        }
        Ok(res) => rulebox_sdk::log::warn(&format!("profile API answered {}", res.status)),
        Err(e) => rulebox_sdk::log::warn(&format!("profile API unreachable: {e}")),
    }
}

rulebox_sdk::export_post_login!(on_post_login);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_the_secret_or_the_sandbox_the_login_goes_on() {
        assert!(rulebox_sdk::run_handler(on_post_login, "{}").is_empty());
        // On the host there is no network capability: a warning, no claim, no deny.
        let event =
            r#"{"user":{"user_id":"auth0|1"},"secrets":{"PROFILE_API":"https://api.example.com"}}"#;
        assert!(rulebox_sdk::run_handler(on_post_login, event).is_empty());
    }
}
