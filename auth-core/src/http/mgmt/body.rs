//! Request bodies of the Management API: how large one may be, and the checks
//! every resource makes of a JSON body (an object; required string properties).

use super::caller::Res;
use crate::error::ApiError;
use axum::body::Bytes;
use serde_json::{Value, json};

/// Largest body the recorder reads (uploads of wasm modules included).
/// Largest Management API body: a 16 MiB wasm module (the runtime's limit) sent as
/// base64 in a JSON `module` field, with room to spare.
pub(super) const MAX_BODY: usize = 24 << 20;

/// A JSON body as an object; an empty body is `{}`.
pub(super) fn json_body(body: &Bytes) -> Res<Value> {
    if body.is_empty() {
        return Ok(json!({}));
    }
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!("Payload validation error: invalid JSON: {e}"))
    })?;
    if !v.is_object() {
        return Err(ApiError::bad_request("Payload validation error: expected an object").into());
    }
    Ok(v)
}

/// The non-empty string property `name` of a body, or a 400 naming it.
pub(super) fn str_field<'a>(v: &'a Value, name: &str) -> Res<&'a str> {
    v.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "Payload validation error: Missing required property: {name}"
            ))
            .into()
        })
}
