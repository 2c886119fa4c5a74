//! Administrators must pass multi-factor authentication.
//!
//! After Auth0's "Multifactor for roles" template: the role comes from RBAC
//! (`event.authorization.roles`) or, for tenants that predate RBAC, from
//! `app_metadata.roles`.

use rulebox_sdk::{Api, Event, Value};

const ADMIN_ROLE: &str = "admin";

/// `"any"` lets the user choose among the factors they enrolled.
const MFA_PROVIDER: &str = "any";

fn on_post_login(event: &Event, api: &mut Api) {
    // Asking again in a session that already did MFA would prompt the user
    // twice for no gain.
    if is_admin(event) && !event.authentication.has_method("mfa") {
        api.multifactor().enable(MFA_PROVIDER, None);
    }
}

fn is_admin(event: &Event) -> bool {
    let rbac = event.authorization.roles.iter().any(|r| r == ADMIN_ROLE);
    let metadata = event
        .user
        .app_metadata
        .get("roles")
        .and_then(Value::as_array)
        .is_some_and(|roles| roles.iter().any(|r| r.as_str() == Some(ADMIN_ROLE)));
    rbac || metadata
}

rulebox_sdk::export_post_login!(on_post_login);

#[cfg(test)]
mod tests {
    use super::*;
    use rulebox_sdk::Command;

    fn run(event: &str) -> Vec<Command> {
        rulebox_sdk::run_handler(on_post_login, event)
    }

    fn mfa() -> Vec<Command> {
        vec![Command::EnableMfa {
            provider: "any".into(),
            options: None,
        }]
    }

    #[test]
    fn admins_are_sent_to_mfa() {
        assert_eq!(
            run(r#"{"authorization":{"roles":["editor","admin"]}}"#),
            mfa()
        );
        assert_eq!(
            run(r#"{"user":{"app_metadata":{"roles":["admin"]}}}"#),
            mfa()
        );
        assert_eq!(
            run(
                r#"{"authorization":{"roles":["admin"]},"authentication":{"methods":[{"name":"pwd"}]}}"#
            ),
            mfa()
        );
    }

    #[test]
    fn others_and_admins_who_did_mfa_are_left_alone() {
        assert!(run("{}").is_empty());
        assert!(run(r#"{"authorization":{"roles":["editor"]}}"#).is_empty());
        assert!(run(r#"{"user":{"app_metadata":{"roles":"admin"}}}"#).is_empty());
        assert!(
            run(r#"{"authorization":{"roles":["admin"]},"authentication":{"methods":[{"name":"pwd"},{"name":"mfa"}]}}"#)
                .is_empty()
        );
    }
}
