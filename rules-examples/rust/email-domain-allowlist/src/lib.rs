//! Only users whose email domain is on an allow-list may log in.
//!
//! After Auth0's "Email domain whitelist" rule template. The configuration is
//! compiled in, as the template hard-codes it: changing it means deploying a
//! new version of the rule, which is what keeps it reviewable.

use rulebox_sdk::{Api, Event};

/// Compared case-insensitively and exactly: `sub.example.com` is not
/// `example.com`.
const ALLOWED_DOMAINS: &[&str] = &["example.com", "example.org"];

/// Turn on where users can sign up with a password: an unverified address
/// proves nothing about the domain (anyone can register `ceo@example.com`).
/// Off by default, as in the template, which leaves verification to a
/// separate rule.
const REQUIRE_VERIFIED_EMAIL: bool = false;

const DENY_REASON: &str = "Access denied: email domain not allowed";
const UNVERIFIED_REASON: &str = "Access denied: email not verified";

fn on_post_login(event: &Event, api: &mut Api) {
    // No email at all cannot be matched against the list: refuse rather than
    // let accounts without an address through an allow-list.
    let domain = event
        .user
        .email
        .as_deref()
        .and_then(|email| email.rsplit_once('@'))
        .map(|(_, domain)| domain);
    let allowed = domain.is_some_and(|d| ALLOWED_DOMAINS.iter().any(|a| a.eq_ignore_ascii_case(d)));
    if !allowed {
        api.access().deny(DENY_REASON);
    } else if REQUIRE_VERIFIED_EMAIL && !event.user.email_verified {
        api.access().deny(UNVERIFIED_REASON);
    }
}

rulebox_sdk::export_post_login!(on_post_login);

#[cfg(test)]
mod tests {
    use super::*;
    use rulebox_sdk::Command;

    fn run(event: &str) -> Vec<Command> {
        rulebox_sdk::run_handler(on_post_login, event)
    }

    fn denied() -> Vec<Command> {
        vec![Command::Deny {
            reason: DENY_REASON.into(),
            code: None,
        }]
    }

    #[test]
    fn allowed_domains_pass_in_any_case() {
        assert!(run(r#"{"user":{"email":"a@example.com","email_verified":true}}"#).is_empty());
        assert!(run(r#"{"user":{"email":"B@Example.ORG","email_verified":true}}"#).is_empty());
    }

    #[test]
    fn other_domains_and_missing_emails_are_denied() {
        assert_eq!(run(r#"{"user":{"email":"a@evil.com"}}"#), denied());
        assert_eq!(run(r#"{"user":{"email":"a@sub.example.com"}}"#), denied());
        assert_eq!(run(r#"{"user":{"email":"a@evil.com@example"}}"#), denied());
        assert_eq!(run(r#"{"user":{"email":"example.com"}}"#), denied());
        assert_eq!(run(r#"{"user":{}}"#), denied());
        assert_eq!(run("{}"), denied());
    }
}
