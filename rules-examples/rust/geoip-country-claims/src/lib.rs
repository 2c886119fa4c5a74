//! Tells the application and the API where the login comes from.
//!
//! After Auth0's "Add country to the user profile" template, as token claims
//! instead of a profile write: the location belongs to this login, not to
//! the user. Claims are namespaced, as Auth0 requires for custom claims.

use rulebox_sdk::{Api, Event};

const COUNTRY_CLAIM: &str = "https://example.com/country";
const COUNTRY_NAME_CLAIM: &str = "https://example.com/country_name";

fn on_post_login(event: &Event, api: &mut Api) {
    // Private and unknown addresses have no location; the login goes on
    // without the claims rather than with made-up ones.
    let Some(geoip) = &event.request.geoip else {
        return;
    };
    let claims = [
        (COUNTRY_CLAIM, geoip.country_code.as_deref()),
        (COUNTRY_NAME_CLAIM, geoip.country_name.as_deref()),
    ];
    for (claim, value) in claims {
        if let Some(value) = value {
            api.id_token().set_custom_claim(claim, value);
            api.access_token().set_custom_claim(claim, value);
        }
    }
}

rulebox_sdk::export_post_login!(on_post_login);

#[cfg(test)]
mod tests {
    use super::*;
    use rulebox_sdk::{Command, json};

    fn run(event: &str) -> Vec<Command> {
        rulebox_sdk::run_handler(on_post_login, event)
    }

    #[test]
    fn country_claims_go_to_both_tokens() {
        let commands = run(r#"{"request":{"geoip":{"countryCode":"DE","countryName":"Germany"}}}"#);
        assert_eq!(
            commands,
            [
                Command::SetIdTokenClaim {
                    name: COUNTRY_CLAIM.into(),
                    value: json!("DE")
                },
                Command::SetAccessTokenClaim {
                    name: COUNTRY_CLAIM.into(),
                    value: json!("DE")
                },
                Command::SetIdTokenClaim {
                    name: COUNTRY_NAME_CLAIM.into(),
                    value: json!("Germany")
                },
                Command::SetAccessTokenClaim {
                    name: COUNTRY_NAME_CLAIM.into(),
                    value: json!("Germany")
                },
            ]
        );
    }

    #[test]
    fn no_geoip_means_no_claims_and_no_deny() {
        assert!(run("{}").is_empty());
        assert!(run(r#"{"request":{"ip":"10.0.0.1"}}"#).is_empty());
        assert!(run(r#"{"request":{"geoip":{}}}"#).is_empty());
    }
}
