//! PKCE (RFC 7636): binds an authorization code to the client instance that
//! started the flow, as Auth0 requires for SPAs and native apps.

use sha2::{Digest, Sha256};

use super::b64url;
use super::random::constant_time_eq;

/// RFC 7636 §4.1: `code_verifier = 43*128unreserved`, where
/// `unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"`.
pub fn is_valid_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Checks a `code_challenge` at `/authorize` time, so a client gets its
/// error before the login rather than at the token exchange: an `S256`
/// challenge is a base64url SHA-256 (43 chars), a `plain` one follows the
/// verifier syntax. Other methods are refused.
pub fn is_valid_challenge(challenge: &str, method: &str) -> bool {
    match method {
        "S256" => {
            challenge.len() == 43
                && challenge
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        }
        "plain" => is_valid_verifier(challenge),
        _ => false,
    }
}

/// Verifies a `code_verifier` against the `code_challenge` stored with the
/// authorization code (RFC 7636 §4.6):
/// * `S256`: `base64url(SHA-256(ASCII(verifier))) == challenge`;
/// * `plain`: `verifier == challenge`.
///
/// Method names are case-sensitive; any other method, or a verifier that is
/// not 43-128 unreserved characters, fails. When the client sent no
/// `code_challenge_method` the method is `plain` (§4.3): the caller passes
/// `"plain"` in that case. Comparisons are constant-time.
pub fn verify_pkce(verifier: &str, challenge: &str, method: &str) -> bool {
    if !is_valid_verifier(verifier) {
        return false;
    }
    match method {
        "S256" => {
            let computed = b64url(Sha256::digest(verifier.as_bytes()));
            constant_time_eq(computed.as_bytes(), challenge.as_bytes())
        }
        "plain" => constant_time_eq(verifier.as_bytes(), challenge.as_bytes()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn s256_rfc7636_appendix_b() {
        assert!(verify_pkce(VERIFIER, CHALLENGE, "S256"));
        assert!(is_valid_challenge(CHALLENGE, "S256"));
        // One character off, either side.
        assert!(!verify_pkce(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl",
            CHALLENGE,
            "S256"
        ));
        assert!(!verify_pkce(
            VERIFIER,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN",
            "S256"
        ));
        // The challenge is not itself accepted as a verifier, and padding
        // is not tolerated.
        assert!(!verify_pkce(VERIFIER, VERIFIER, "S256"));
        assert!(!verify_pkce(VERIFIER, &format!("{CHALLENGE}="), "S256"));
    }

    #[test]
    fn plain() {
        assert!(verify_pkce(VERIFIER, VERIFIER, "plain"));
        assert!(!verify_pkce(VERIFIER, CHALLENGE, "plain"));
        let v = "a-b.c_d~".repeat(16); // 128 chars, every punctuation mark allowed
        assert!(verify_pkce(&v, &v, "plain"));
        assert!(is_valid_challenge(&v, "plain"));
    }

    #[test]
    fn rejects() {
        // Unknown or wrongly-cased methods.
        for m in ["", "s256", "SHA256", "S512", "PLAIN", "none"] {
            assert!(!verify_pkce(VERIFIER, CHALLENGE, m), "{m}");
            assert!(!verify_pkce(VERIFIER, VERIFIER, m), "{m}");
            assert!(!is_valid_challenge(CHALLENGE, m), "{m}");
        }
        // Length limits: 43 and 128 accepted, 42 and 129 refused.
        assert!(verify_pkce(&"a".repeat(43), &"a".repeat(43), "plain"));
        assert!(verify_pkce(&"a".repeat(128), &"a".repeat(128), "plain"));
        assert!(!verify_pkce(&"a".repeat(42), &"a".repeat(42), "plain"));
        assert!(!verify_pkce(&"a".repeat(129), &"a".repeat(129), "plain"));
        let short = "abc";
        let short_challenge = b64url(Sha256::digest(short));
        assert!(!verify_pkce(short, &short_challenge, "S256"));
        // Characters outside the unreserved set (including non-ASCII).
        for bad in [
            format!("{}+", "a".repeat(42)),
            format!("{}/", "a".repeat(42)),
            format!("{}=", "a".repeat(42)),
            format!("{} ", "a".repeat(42)),
            format!("{}é", "a".repeat(42)),
        ] {
            let challenge = b64url(Sha256::digest(&bad));
            assert!(!verify_pkce(&bad, &challenge, "S256"), "{bad:?}");
            assert!(!verify_pkce(&bad, &bad, "plain"), "{bad:?}");
        }
        assert!(!verify_pkce(VERIFIER, "", "S256"));
        assert!(!is_valid_challenge("", "S256"));
        assert!(!is_valid_challenge(&format!("{CHALLENGE}="), "S256"));
    }
}
