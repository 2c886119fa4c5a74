//! The post-login `api`, with Auth0's names.
//!
//! Calls record [`Command`]s instead of acting: the host applies them after
//! the handler returns, in order. That is Auth0's own model (code after
//! `api.access.deny` still runs and its claims are still recorded), and it is
//! what makes a rule unit-testable on the host: call the handler with an
//! [`Api::new`], then inspect [`Api::commands`].

use rulebox_abi::{Command, Output};
use serde_json::Value;

/// The decisions a handler has made so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Api {
    commands: Vec<Command>,
}

impl Api {
    pub fn new() -> Self {
        Self::default()
    }

    /// `api.access`: allow or refuse the login.
    pub fn access(&mut self) -> Access<'_> {
        Access { api: self }
    }

    /// `api.idToken`: claims for the application.
    pub fn id_token(&mut self) -> IdToken<'_> {
        IdToken { api: self }
    }

    /// `api.accessToken`: claims and scopes for the API being called.
    pub fn access_token(&mut self) -> AccessToken<'_> {
        AccessToken { api: self }
    }

    /// `api.user`: metadata to persist on the user profile.
    pub fn user(&mut self) -> UserApi<'_> {
        UserApi { api: self }
    }

    /// `api.multifactor`: step up to MFA.
    pub fn multifactor(&mut self) -> Multifactor<'_> {
        Multifactor { api: self }
    }

    /// `api.redirect`: send the user elsewhere before the login completes.
    pub fn redirect(&mut self) -> Redirect<'_> {
        Redirect { api: self }
    }

    /// `api.transaction`: data for later Actions of the same login.
    pub fn transaction(&mut self) -> TransactionApi<'_> {
        TransactionApi { api: self }
    }

    /// The commands recorded so far, in call order.
    pub fn commands(&self) -> &[Command] {
        &self.commands
    }

    /// Whether any `deny` was recorded; later commands do not undo it.
    pub fn is_denied(&self) -> bool {
        self.commands
            .iter()
            .any(|c| matches!(c, Command::Deny { .. }))
    }

    /// The document the guest writes through `output_write`.
    pub fn into_output(self) -> Output {
        Output {
            commands: self.commands,
            result: None,
        }
    }

    fn push(&mut self, command: Command) {
        self.commands.push(command);
    }
}

// Values are `impl Into<Value>` rather than `impl Serialize`: conversion into
// a `Value` cannot fail, so a handler never has to handle an error for setting
// a claim. Any `Serialize` type goes through `serde_json::to_value` first.

/// `api.access`
pub struct Access<'a> {
    api: &'a mut Api,
}

impl Access<'_> {
    /// `api.access.deny(reason)`: the login ends with `access_denied` and this
    /// reason. Like Auth0, it does not stop the handler.
    pub fn deny(&mut self, reason: impl Into<String>) -> &mut Self {
        self.api.push(Command::Deny {
            reason: reason.into(),
            code: None,
        });
        self
    }
}

/// `api.idToken`
pub struct IdToken<'a> {
    api: &'a mut Api,
}

impl IdToken<'_> {
    /// `api.idToken.setCustomClaim(name, value)`. Auth0 expects a namespaced
    /// name (`https://example.com/role`) for anything that could collide with
    /// an OIDC claim.
    pub fn set_custom_claim(
        &mut self,
        name: impl Into<String>,
        value: impl Into<Value>,
    ) -> &mut Self {
        self.api.push(Command::SetIdTokenClaim {
            name: name.into(),
            value: value.into(),
        });
        self
    }
}

/// `api.accessToken`
pub struct AccessToken<'a> {
    api: &'a mut Api,
}

impl AccessToken<'_> {
    /// `api.accessToken.setCustomClaim(name, value)`
    pub fn set_custom_claim(
        &mut self,
        name: impl Into<String>,
        value: impl Into<Value>,
    ) -> &mut Self {
        self.api.push(Command::SetAccessTokenClaim {
            name: name.into(),
            value: value.into(),
        });
        self
    }

    /// `api.accessToken.addScope(scope)`
    pub fn add_scope(&mut self, scope: impl Into<String>) -> &mut Self {
        self.api.push(Command::AddScope {
            scope: scope.into(),
        });
        self
    }

    /// `api.accessToken.removeScope(scope)`
    pub fn remove_scope(&mut self, scope: impl Into<String>) -> &mut Self {
        self.api.push(Command::RemoveScope {
            scope: scope.into(),
        });
        self
    }
}

/// `api.user`
pub struct UserApi<'a> {
    api: &'a mut Api,
}

impl UserApi<'_> {
    /// `api.user.setAppMetadata(name, value)`: persisted at the end of the
    /// flow even if a later step denies, as in Auth0. `Value::Null` deletes.
    pub fn set_app_metadata(
        &mut self,
        name: impl Into<String>,
        value: impl Into<Value>,
    ) -> &mut Self {
        self.api.push(Command::SetAppMetadata {
            name: name.into(),
            value: value.into(),
        });
        self
    }

    /// `api.user.setUserMetadata(name, value)`; `Value::Null` deletes.
    pub fn set_user_metadata(
        &mut self,
        name: impl Into<String>,
        value: impl Into<Value>,
    ) -> &mut Self {
        self.api.push(Command::SetUserMetadata {
            name: name.into(),
            value: value.into(),
        });
        self
    }
}

/// `api.multifactor`
pub struct Multifactor<'a> {
    api: &'a mut Api,
}

impl Multifactor<'_> {
    /// `api.multifactor.enable(provider, options)`; provider `"any"` lets the
    /// user pick among enrolled factors.
    pub fn enable(&mut self, provider: impl Into<String>, options: Option<Value>) -> &mut Self {
        self.api.push(Command::EnableMfa {
            provider: provider.into(),
            options,
        });
        self
    }
}

/// `api.redirect`
pub struct Redirect<'a> {
    api: &'a mut Api,
}

impl Redirect<'_> {
    /// `api.redirect.sendUserTo(url, { query })`
    pub fn send_user_to(&mut self, url: impl Into<String>, query: Option<Value>) -> &mut Self {
        self.api.push(Command::Redirect {
            url: url.into(),
            query,
        });
        self
    }
}

/// `api.transaction`
pub struct TransactionApi<'a> {
    api: &'a mut Api,
}

impl TransactionApi<'_> {
    /// `api.transaction.setMetadata(name, value)`
    pub fn set_metadata(&mut self, name: impl Into<String>, value: impl Into<Value>) -> &mut Self {
        self.api.push(Command::SetTransactionMetadata {
            name: name.into(),
            value: value.into(),
        });
        self
    }
}

/// Runs `handler` on an event given as JSON and returns the commands it
/// recorded: a rule's unit tests run on the host with plain `cargo test`,
/// no sandbox or server needed (what Auth0 Rules make hard).
///
/// Panics if `event_json` is not a valid event: it is test input.
pub fn run_handler(handler: fn(&crate::Event, &mut Api), event_json: &str) -> Vec<Command> {
    let event = match crate::Event::from_json(event_json.as_bytes()) {
        Ok(e) => e,
        Err(e) => panic!("test event does not parse: {e}"),
    };
    let mut api = Api::new();
    handler(&event, &mut api);
    api.commands().to_vec()
}
