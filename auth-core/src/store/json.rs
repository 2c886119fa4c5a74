//! JSON helpers shared by the entity modules: decoding JSON TEXT columns, Auth0 PATCH semantics
//! and one-level metadata merging.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::{StoreError, StoreResult};

/// Decodes a JSON TEXT column; a bad value is reported as corrupt data, not a panic.
pub(crate) fn decode<T: DeserializeOwned>(text: &str, what: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| StoreError::corrupt(what, e))
}

/// Encodes a value for a JSON TEXT column.
pub(crate) fn encode<T: Serialize + ?Sized>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value)
        .map_err(|e| StoreError::Invalid(format!("cannot encode JSON: {e}")))
}

/// The object inside a PATCH body, or `Invalid` if the body is not an object.
pub(crate) fn patch_object(patch: &Value) -> StoreResult<&Map<String, Value>> {
    patch.as_object().ok_or_else(|| {
        StoreError::Invalid("Payload validation error: body must be a JSON object".into())
    })
}

/// Rejects fields the resource does not allow to be patched, with Auth0's wording.
pub(crate) fn check_allowed(patch: &Map<String, Value>, allowed: &[&str]) -> StoreResult<()> {
    match patch.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(StoreError::Invalid(format!(
            "Payload validation error: 'Additional properties not allowed: {k}'"
        ))),
        None => Ok(()),
    }
}

/// Auth0 PATCH semantics: every top-level field present in `patch` replaces the stored value
/// (`null` clears optional fields); fields not in `allowed` are refused. The result is
/// re-validated by deserializing, so a wrong type becomes `Invalid` instead of stored garbage.
pub(crate) fn apply_patch<T: Serialize + DeserializeOwned>(
    current: &T,
    patch: &Value,
    allowed: &[&str],
    what: &str,
) -> StoreResult<T> {
    let patch = patch_object(patch)?;
    check_allowed(patch, allowed)?;
    let mut merged = serde_json::to_value(current)
        .map_err(|e| StoreError::Invalid(format!("cannot encode {what}: {e}")))?;
    let Some(fields) = merged.as_object_mut() else {
        return Err(StoreError::Invalid(format!("{what} is not a JSON object")));
    };
    for (key, value) in patch {
        fields.insert(key.clone(), value.clone());
    }
    serde_json::from_value(merged)
        .map_err(|e| StoreError::Invalid(format!("Payload validation error: invalid {what}: {e}")))
}

/// Auth0 metadata merge: top-level keys of `changes` replace those of `target` (no deep
/// merge), and a `null` value deletes the key.
pub(crate) fn merge_metadata(target: &mut Map<String, Value>, changes: &Map<String, Value>) {
    for (key, value) in changes {
        if value.is_null() {
            target.remove(key);
        } else {
            target.insert(key.clone(), value.clone());
        }
    }
}

/// Requires `value` to be a JSON object (metadata, options, limits).
pub(crate) fn require_object(value: Value, field: &str) -> StoreResult<Map<String, Value>> {
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(StoreError::Invalid(format!(
            "Payload validation error: '{field}' must be an object"
        ))),
    }
}
