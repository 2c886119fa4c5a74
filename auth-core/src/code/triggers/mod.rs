//! Each trigger's host side: how its event is built and how its decisions
//! end the request, one file per trigger. What a trigger *is* — its id, its
//! handler exports, whether Actions bind to it — is declared once in
//! `rulebox_abi::for_each_trigger!`; the upload check, `GET
//! /api/v2/actions/triggers`, `rulebox run` and the guests read that list.

pub mod credentials_exchange;
pub mod post_login;
pub mod post_user_registration;
pub mod pre_user_registration;

use rulebox_runtime_api::Trigger;

/// Where each declared trigger runs. Exhaustive on purpose: a trigger added
/// to the declaration but wired to no flow does not compile.
pub fn runs_in(trigger: Trigger) -> &'static str {
    match trigger {
        Trigger::PostLogin => {
            "every user login: the password, refresh-token and authorization-code flows"
        }
        Trigger::ContinuePostLogin => "the return from a post-login redirect (`/continue`)",
        Trigger::CredentialsExchange => "the client-credentials grant",
        Trigger::PreUserRegistration => "a database signup, before the user is stored",
        Trigger::PostUserRegistration => "a database signup, after the user is stored",
        Trigger::CustomDb => "the scripts of custom-database connections",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The architecture notes list every trigger an Action can bind to: the
    /// docs read the same declaration as the code.
    #[test]
    fn every_bindable_trigger_is_documented() {
        let docs = include_str!("../../../../docs/architecture.md");
        for t in Trigger::bindable() {
            assert!(
                docs.contains(&format!("`{}`", t.id())),
                "docs/architecture.md does not mention `{}` ({})",
                t.id(),
                runs_in(t)
            );
        }
    }
}
