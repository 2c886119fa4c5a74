//! What the Authentication API reads off a request besides its route: the
//! body (JSON or form, as Auth0 accepts both), the credentials in its
//! `Authorization` header, and what tenant code sees of it
//! (`event.request`, without secrets).

use super::client_ip::ClientIp;
use crate::authn::client_auth::ClientCredentials;
use crate::code::pipeline::RequestInfo;
use crate::error::ApiError;
use axum::body::Bytes;
use axum::http::{HeaderMap, header};
use base64::Engine;
use serde::Deserialize;
use serde_json::{Map, Value};

/// Parameters that prove something are never shown to the tenant's code (its
/// console output lands in logs), whatever Auth0 passes along. By pattern, not
/// by a list of today's grants: `client_secret`, `password`, `*_token`
/// (refresh, mfa, subject, actor, id, access, device...), `*code*` (code,
/// code_verifier, device_code, oob_code, binding_code, recovery_code),
/// `*assertion`, `otp`, `auth_req_id`. A harmless parameter caught by a
/// pattern is only left out.
pub(super) fn is_secret_param(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["secret", "password", "token", "code", "assertion"]
        .iter()
        .any(|p| n.contains(p))
        || matches!(n.as_str(), "otp" | "auth_req_id" | "pin")
}

/// The request's parameters as `event.request.body`, secrets left out.
pub fn event_body(headers: &HeaderMap, body: &Bytes) -> Map<String, Value> {
    let mut map: Map<String, Value> = parse_body(headers, body).unwrap_or_default();
    map.retain(|k, _| !is_secret_param(k));
    map
}

/// Auth0 accepts both JSON (its SDKs) and form bodies (OAuth libraries).
pub fn parse_body<T: for<'de> Deserialize<'de> + Default>(
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<T, ApiError> {
    if body.is_empty() {
        return Ok(T::default());
    }
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if json {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::invalid_request(format!("malformed JSON body: {e}")))
    } else {
        serde_urlencoded::from_bytes(body)
            .map_err(|e| ApiError::invalid_request(format!("malformed form body: {e}")))
    }
}

pub fn request_info(headers: &HeaderMap, ip: ClientIp, protocol: &str) -> RequestInfo {
    let h = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    RequestInfo {
        ip: ip.0.to_string(),
        hostname: h("host"),
        user_agent: h("user-agent"),
        method: "POST".into(),
        protocol: protocol.into(),
        ..RequestInfo::default()
    }
}

/// The `Authorization: Bearer` token of a request. The scheme is
/// case-insensitive (RFC 7235 §2.1); an empty token is none.
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|v| !v.is_empty())
}

/// The client's credentials: HTTP Basic (`client_secret_basic`) when the
/// request sends it, else the body's `client_id`/`client_secret`.
pub fn client_credentials(
    headers: &HeaderMap,
    body_id: Option<String>,
    body_secret: Option<String>,
) -> ClientCredentials {
    if let Some(basic) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        && let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(basic.trim())
        && let Ok(text) = String::from_utf8(decoded)
        && let Some((i, s)) = text.split_once(':')
    {
        return ClientCredentials {
            id: Some(i.to_owned()),
            secret: Some(s.to_owned()),
        };
    }
    ClientCredentials {
        id: body_id,
        secret: body_secret,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue, header};

    #[test]
    fn every_kind_of_credential_parameter_is_secret() {
        for name in [
            "client_secret",
            "password",
            "refresh_token",
            "mfa_token",
            "subject_token",
            "actor_token",
            "id_token",
            "access_token",
            "code",
            "code_verifier",
            "device_code",
            "oob_code",
            "binding_code",
            "recovery_code",
            "client_assertion",
            "assertion",
            "otp",
            "auth_req_id",
            "Password",
            "CLIENT_SECRET",
        ] {
            assert!(is_secret_param(name), "{name}");
        }
        for name in [
            "grant_type",
            "client_id",
            "scope",
            "audience",
            "username",
            "realm",
            "device",
        ] {
            assert!(!is_secret_param(name), "{name}");
        }
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        let mut h = HeaderMap::new();
        for (value, token) in [
            ("Bearer abc", Some("abc")),
            ("bearer abc", Some("abc")),
            ("BEARER  abc ", Some("abc")),
            ("Basic abc", None),
            ("Bearer ", None),
            ("Bearerabc", None),
        ] {
            h.insert(header::AUTHORIZATION, HeaderValue::from_static(value));
            assert_eq!(bearer(&h), token, "{value:?}");
        }
    }
}
