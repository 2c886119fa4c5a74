//! `post-user-registration`: notifications after a signup stored its user.
//! Its decisions end nothing — the user exists; a failure is only logged.

use crate::store::User;
use serde_json::Value;

/// Auth0's post-user-registration `event`: the pre-registration event with
/// the stored user.
pub fn event(mut pre_event: Value, user: &User) -> Value {
    pre_event["user"] = serde_json::to_value(user).unwrap_or(Value::Null);
    pre_event
}
