//! Time-based one-time passwords (RFC 6238) for the MFA API, through `totp-rs`.
//!
//! The parameters are the ones every authenticator app assumes when an
//! `otpauth://` URI does not say otherwise (SHA-1, 6 digits, 30 s), plus one
//! step of clock skew either way, as Auth0's Guardian accepts.

use totp_rs::{Algorithm, Builder, Secret, Totp};

/// Bytes of a new secret: 160 bits, the HMAC-SHA1 block RFC 4226 recommends.
const SECRET_BYTES: usize = 20;

/// A fresh random secret for one enrollment.
pub fn new_secret() -> Vec<u8> {
    use rand::RngCore;
    let mut bytes = vec![0u8; SECRET_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes
}

/// The secret as the user types it into an app: base32, no padding.
pub fn base32(secret: &[u8]) -> String {
    Secret::from(secret.to_vec())
        .to_base32()
        .trim_end_matches('=')
        .to_owned()
}

/// A stored base32 secret back to its bytes.
pub fn from_base32(text: &str) -> Option<Vec<u8>> {
    Secret::try_from_base32(text)
        .ok()
        .map(|s| s.as_bytes().to_vec())
}

fn totp(secret: &[u8], issuer: &str, account: &str) -> Result<Totp, String> {
    // A ':' separates issuer and account in the URI's label; neither may hold one.
    let clean = |s: &str| s.replace(':', "");
    let account = match clean(account) {
        a if a.is_empty() => "user".to_owned(),
        a => a,
    };
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(secret.to_vec())
        .with_issuer(Some(clean(issuer)))
        .with_account_name(account)
        .build()
        .map_err(|e| e.to_string())
}

/// The `otpauth://totp/...` URI an app scans (Auth0's `barcode_uri`).
pub fn otpauth_uri(secret: &[u8], issuer: &str, account: &str) -> Result<String, String> {
    totp(secret, issuer, account)?
        .to_url()
        .map_err(|e| e.to_string())
}

/// The time step `code` is valid for at `now` (seconds since the epoch), if any.
/// Callers accept each step once (RFC 6238 §5.2): a code seen on the wire must
/// not log anyone in a second time.
pub fn matching_step(secret: &[u8], code: &str, now: u64) -> Option<u64> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    totp(secret, "rulebox", "user").ok()?.check(code, now)
}

/// The code an app shows at `now`; tests and the CLI play the user's app with it.
pub fn code_at(secret: &[u8], now: u64) -> Option<String> {
    Some(
        totp(secret, "rulebox", "user")
            .ok()?
            .generate(now)
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_accepted_for_its_step_and_one_either_side_only() {
        let secret = new_secret();
        let now = 1_800_000_015;
        let code = code_at(&secret, now).expect("code");
        assert_eq!(matching_step(&secret, &code, now), Some(now / 30));
        assert_eq!(matching_step(&secret, &code, now + 30), Some(now / 30));
        assert_eq!(matching_step(&secret, &code, now - 30), Some(now / 30));
        assert_eq!(matching_step(&secret, &code, now + 90), None);
        assert_eq!(matching_step(&secret, "12345", now), None);
        assert_eq!(matching_step(&secret, "abcdef", now), None);
    }

    #[test]
    fn rfc_6238_test_vector() {
        // RFC 6238 appendix B, SHA-1, T = 59: 94287082 (8 digits); 6 digits: 287082.
        let secret = b"12345678901234567890";
        assert_eq!(code_at(secret, 59).as_deref(), Some("287082"));
    }

    #[test]
    fn the_uri_names_issuer_and_account_and_carries_the_secret() {
        let secret = new_secret();
        let uri = otpauth_uri(&secret, "acme", "kim:x@example.com").expect("uri");
        assert!(
            uri.starts_with("otpauth://totp/acme:kimx%40example.com?"),
            "{uri}"
        );
        assert!(
            uri.contains(&format!("secret={}", base32(&secret))),
            "{uri}"
        );
        assert_eq!(from_base32(&base32(&secret)), Some(secret));
    }
}
