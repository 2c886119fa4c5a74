//! Second factors: enrolling an authenticator app (and its recovery code),
//! checking a one-time code (each time step once) or a recovery code, and the
//! per-user limit on wrong codes. Shared by the MFA API, the MFA grants and
//! the hosted MFA page.

use crate::app::AppState;
use crate::authn::attempts;
use crate::authn::tokens::now_secs;
use crate::crypto::{constant_time_eq, otp, sha256_hex};
use crate::error::{ApiError, ErrorKind};
use crate::store::mfa::{NewEnrollment, OTP, RECOVERY_CODE};
use crate::store::{StoreError, ids};
use crate::tenant::TenantCtx;

const WRONG_OTP: &str = "Invalid otp_code.";
const WRONG_RECOVERY_CODE: &str = "Invalid recovery_code.";
const TOO_MANY: &str = "Too many invalid codes: try again later.";

/// A new, unconfirmed enrollment: what the user is shown once.
pub struct NewFactor {
    /// The app's authenticator id.
    pub id: String,
    /// base32, to type into the app.
    pub secret: String,
    /// The `otpauth://` URI to scan.
    pub barcode_uri: String,
    pub recovery_code: String,
}

pub enum EnrollError {
    /// The user has a confirmed app; an administrator resets it first.
    AlreadyEnrolled(String),
    Failed(ApiError),
}

/// Enrolls a fresh authenticator app and recovery code for `user_id` (replacing
/// an unconfirmed enrollment), for the MFA API and the hosted page alike.
pub async fn enroll(
    app: &AppState,
    t: &TenantCtx,
    user_id: &str,
    account: &str,
) -> Result<NewFactor, EnrollError> {
    let secret = otp::new_secret();
    let barcode_uri = otp::otpauth_uri(&secret, t.id(), account)
        .map_err(|e| EnrollError::Failed(ApiError::server_error(e)))?;
    let factor = NewFactor {
        id: format!("totp|dev_{}", ids::random_alphanumeric(16)),
        secret: otp::base32(&secret),
        barcode_uri,
        recovery_code: new_recovery_code(),
    };
    let enrolled = app
        .store
        .enroll_mfa(
            t.id(),
            NewEnrollment {
                user_id,
                otp_id: &factor.id,
                otp_secret: &factor.secret,
                recovery_id: &format!("recovery-code|dev_{}", ids::random_alphanumeric(16)),
                recovery_hash: &recovery_hash(&factor.recovery_code),
            },
        )
        .await;
    match enrolled {
        Ok(()) => Ok(factor),
        Err(StoreError::Conflict(m)) => Err(EnrollError::AlreadyEnrolled(m)),
        Err(e) => Err(EnrollError::Failed(e.into())),
    }
}

/// Runs one code check under the user's failed-code limit (the brute-force
/// threshold and window of password logins): recorded before the check, so
/// parallel guesses count against each other; withdrawn when it succeeds.
pub async fn under_guard<T>(
    app: &AppState,
    t: &TenantCtx,
    user_id: &str,
    check: impl Future<Output = Result<T, ApiError>>,
) -> Result<T, ApiError> {
    let key = format!("mfa:{user_id}");
    let limits = [attempts::Limit {
        key: &key,
        max: app.settings.brute_force_threshold,
    }];
    let Some(recorded) = attempts::record(app, t.id(), &limits).await? else {
        return Err(ApiError::too_many_attempts(TOO_MANY));
    };
    let result = check.await;
    match &result {
        Err(e) if e.kind() == ErrorKind::InvalidGrant => {}
        // A success, or a failure that was no guess (a missing field, the server).
        _ => attempts::withdraw_all(app, t.id(), &recorded).await?,
    }
    result
}

pub async fn check_otp(
    app: &AppState,
    t: &TenantCtx,
    user_id: &str,
    code: &str,
) -> Result<(), ApiError> {
    let list = app.store.mfa_authenticators(t.id(), user_id).await?;
    let app_factor = list
        .iter()
        .find(|a| a.authenticator_type == OTP)
        .ok_or_else(|| {
            ApiError::invalid_grant("User is not enrolled: enroll with /mfa/associate")
        })?;
    let secret = otp::from_base32(&app_factor.secret)
        .ok_or_else(|| ApiError::server_error("a stored authenticator secret is unreadable"))?;
    let step = otp::matching_step(&secret, code, now_secs())
        .and_then(|s| i64::try_from(s).ok())
        .ok_or_else(|| ApiError::invalid_grant(WRONG_OTP))?;
    // Each step once: a code read over someone's shoulder is already spent.
    let fresh = app
        .store
        .accept_otp_step(t.id(), user_id, &app_factor.id, step)
        .await?;
    if fresh {
        Ok(())
    } else {
        Err(ApiError::invalid_grant(WRONG_OTP))
    }
}

/// Whether `code` is the user's active recovery code (nothing is spent).
pub async fn recovery_code_matches(
    app: &AppState,
    t: &TenantCtx,
    user_id: &str,
    code: &str,
) -> Result<(), ApiError> {
    let hash = recovery_hash(code);
    let list = app.store.mfa_authenticators(t.id(), user_id).await?;
    let matches = list.iter().any(|a| {
        a.authenticator_type == RECOVERY_CODE
            && a.active
            && constant_time_eq(a.secret.as_bytes(), hash.as_bytes())
    });
    if matches {
        Ok(())
    } else {
        Err(ApiError::invalid_grant(WRONG_RECOVERY_CODE))
    }
}

/// Replaces the user's recovery code `code` with a new one, which it returns;
/// `invalid_grant` if `code` was spent meanwhile.
pub async fn spend_recovery_code(
    app: &AppState,
    t: &TenantCtx,
    user_id: &str,
    code: &str,
) -> Result<String, ApiError> {
    let next = new_recovery_code();
    let swapped = app
        .store
        .rotate_recovery_code(t.id(), user_id, &recovery_hash(code), &recovery_hash(&next))
        .await?;
    if swapped {
        Ok(next)
    } else {
        Err(ApiError::invalid_grant(WRONG_RECOVERY_CODE))
    }
}

/// 24 characters from an alphabet without look-alikes, like Auth0's codes.
pub fn new_recovery_code() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rngs::OsRng;
    (0..24)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}

/// Typed back as shown, give or take case and spaces.
pub fn recovery_hash(code: &str) -> String {
    let canonical: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect::<String>()
        .to_ascii_uppercase();
    sha256_hex(&canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_are_compared_as_typed_back() {
        let code = new_recovery_code();
        assert_eq!(code.len(), 24);
        let spaced = format!(" {} {} ", &code[..12].to_lowercase(), &code[12..]);
        assert_eq!(recovery_hash(&spaced), recovery_hash(&code));
        assert_ne!(recovery_hash(&new_recovery_code()), recovery_hash(&code));
    }
}
