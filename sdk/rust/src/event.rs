//! The post-login `event`, typed after Auth0's Actions documentation.
//!
//! The host passes the event through as JSON that tenants and older tooling
//! produce, so the types here are deliberately forgiving: every field may be
//! absent or `null` (the containing struct then holds its default), fields the
//! SDK does not know are ignored, and free-form data (metadata, query, body)
//! stays a [`serde_json::Value`]. A rule should never fail to start because an
//! identity provider left out an attribute.

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Free-form JSON object, as Auth0 stores `app_metadata`, `user_metadata` and
/// the various `metadata` fields.
pub type Metadata = Map<String, Value>;

/// Auth0 sends `null` for empty objects and arrays in places; serde's
/// `#[serde(default)]` only covers a *missing* field, so non-`Option` fields
/// route through this to treat `null` the same as absent.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Identifiers are strings in Auth0's documentation, yet social providers
/// hand out numeric ids that some exports keep as JSON numbers; accepting
/// both keeps such users from failing every rule.
fn string_or_number<'de, D>(deserializer: D) -> Result<Option<String>, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(match Option::<Value>::deserialize(deserializer)? {
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

/// `event`: what a post-login (or credentials-exchange) handler is told about
/// the login in progress.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Event {
    #[serde(deserialize_with = "null_as_default")]
    pub user: User,
    #[serde(deserialize_with = "null_as_default")]
    pub client: Client,
    #[serde(deserialize_with = "null_as_default")]
    pub connection: Connection,
    #[serde(deserialize_with = "null_as_default")]
    pub request: Request,
    /// Absent for flows without an authorization transaction (refresh tokens,
    /// some machine-to-machine exchanges), which a rule may need to tell apart.
    pub transaction: Option<Transaction>,
    #[serde(deserialize_with = "null_as_default")]
    pub authentication: Authentication,
    #[serde(deserialize_with = "null_as_default")]
    pub authorization: Authorization,
    #[serde(deserialize_with = "null_as_default")]
    pub stats: Stats,
    #[serde(deserialize_with = "null_as_default")]
    pub tenant: Tenant,
    /// The Action's secrets: the way to keep API keys out of the rule's code.
    #[serde(deserialize_with = "null_as_default")]
    pub secrets: BTreeMap<String, String>,
    /// Present only when the user logs in through an organization.
    pub organization: Option<Organization>,
    /// Present only when an API (audience) was requested.
    pub resource_server: Option<ResourceServer>,
}

impl Event {
    /// Parses the input JSON the host hands to the guest; also the way to
    /// build an event in a unit test from a captured payload.
    pub fn from_json(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        // serde's derived structs also accept a JSON array of positional
        // fields; the ABI promises an object, so anything else is refused
        // rather than read by position.
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        if first.is_some_and(|&b| b == b'[') {
            return Err(serde::de::Error::custom("the event must be a JSON object"));
        }
        serde_json::from_slice(bytes)
    }
}

/// `event.user`
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct User {
    #[serde(deserialize_with = "string_or_number")]
    pub user_id: Option<String>,
    pub email: Option<String>,
    /// `false` when absent: an unknown verification state must not pass a
    /// check that requires a verified address.
    #[serde(deserialize_with = "null_as_default")]
    pub email_verified: bool,
    pub username: Option<String>,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub nickname: Option<String>,
    pub picture: Option<String>,
    pub phone_number: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub phone_verified: bool,
    #[serde(deserialize_with = "null_as_default")]
    pub app_metadata: Metadata,
    #[serde(deserialize_with = "null_as_default")]
    pub user_metadata: Metadata,
    #[serde(deserialize_with = "null_as_default")]
    pub identities: Vec<Identity>,
    /// Enrolled MFA factors (`"guardian"`, `"google-authenticator"`, ...).
    #[serde(deserialize_with = "null_as_default")]
    pub multifactor: Vec<String>,
    /// ISO-8601 timestamps, kept as text: the SDK has no date library and
    /// most rules only compare or forward them.
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    pub last_password_reset: Option<String>,
}

/// One entry of `event.user.identities`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Identity {
    pub provider: Option<String>,
    #[serde(deserialize_with = "string_or_number")]
    pub user_id: Option<String>,
    pub connection: Option<String>,
    #[serde(rename = "isSocial", deserialize_with = "null_as_default")]
    pub is_social: bool,
    #[serde(rename = "profileData")]
    pub profile_data: Option<Value>,
}

/// `event.client`: the application the user is logging in to.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Client {
    pub client_id: Option<String>,
    pub name: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub metadata: Metadata,
}

/// `event.connection`
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Connection {
    pub id: Option<String>,
    pub name: Option<String>,
    pub strategy: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub metadata: Metadata,
}

/// `event.request`: the HTTP request that started the login.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Request {
    /// The client's address as text; parse it with `std::net::IpAddr` so a
    /// malformed value is a decision of the rule, not a parse failure here.
    pub ip: Option<String>,
    pub hostname: Option<String>,
    pub method: Option<String>,
    pub query: Option<Value>,
    pub body: Option<Value>,
    pub language: Option<String>,
    pub user_agent: Option<String>,
    /// Absent when the address could not be located (private ranges, tests).
    pub geoip: Option<GeoIp>,
}

/// `event.request.geoip`. Actions use camelCase here, unlike legacy Rules'
/// `country_code`; the Rust names are snake_case and serde maps them.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[non_exhaustive]
pub struct GeoIp {
    pub city_name: Option<String>,
    pub continent_code: Option<String>,
    pub country_code: Option<String>,
    #[serde(rename = "countryCode3")]
    pub country_code3: Option<String>,
    pub country_name: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub subdivision_code: Option<String>,
    pub subdivision_name: Option<String>,
    pub time_zone: Option<String>,
}

/// `event.transaction`: the authorization request being served.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Transaction {
    pub protocol: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub requested_scopes: Vec<String>,
    pub redirect_uri: Option<String>,
    pub state: Option<String>,
    /// An array of prompt values in Actions, a space-separated string in some
    /// captured payloads; kept raw rather than guessing.
    pub prompt: Option<Value>,
    #[serde(deserialize_with = "null_as_default")]
    pub metadata: Metadata,
}

/// `event.authentication`
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Authentication {
    #[serde(deserialize_with = "null_as_default")]
    pub methods: Vec<AuthenticationMethod>,
}

impl Authentication {
    /// Whether the session already passed a method (e.g. `"mfa"`), which is
    /// how a rule avoids prompting for MFA twice in one session.
    pub fn has_method(&self, name: &str) -> bool {
        self.methods.iter().any(|m| m.name.as_deref() == Some(name))
    }
}

/// One completed authentication method (`"pwd"`, `"federated"`, `"mfa"`, ...).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct AuthenticationMethod {
    pub name: Option<String>,
    /// ISO-8601 time the method completed.
    pub timestamp: Option<String>,
    /// The MFA factor type, for `name == "mfa"`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// `event.authorization`
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Authorization {
    /// RBAC role names assigned to the user.
    #[serde(deserialize_with = "null_as_default")]
    pub roles: Vec<String>,
}

/// `event.stats`
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Stats {
    /// Counts this login too, so a first login reads 1.
    #[serde(deserialize_with = "null_as_default")]
    pub logins_count: u64,
}

/// `event.tenant`
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Tenant {
    pub id: Option<String>,
}

/// `event.organization`
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Organization {
    pub id: Option<String>,
    pub name: Option<String>,
    pub display_name: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub metadata: Metadata,
}

/// `event.resource_server`: the API the requested access token is for.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ResourceServer {
    pub identifier: Option<String>,
}
