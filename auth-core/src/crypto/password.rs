//! Password hashing with bcrypt, the scheme Auth0 database connections use
//! (and the one its user import accepts), so imported `$2a$`/`$2b$`/`$2y$`
//! hashes keep working.
//!
//! **bcrypt only looks at the first 72 bytes of a password** (UTF-8 bytes,
//! not characters): two passwords that share their first 72 bytes hash and
//! verify identically. The sign-up / change-password code should therefore
//! reject passwords longer than [`MAX_PASSWORD_BYTES`] instead of silently
//! ignoring the tail.
//!
//! Both functions are deliberately slow (cost 10 ≈ 50 ms in release,
//! ~125 ms in debug builds): call them from `spawn_blocking`.

use super::CryptoError;

/// Bytes of a password that bcrypt actually uses.
pub const MAX_PASSWORD_BYTES: usize = 72;

/// Cost for new hashes. Auth0 uses 10; each +1 doubles the time.
pub const DEFAULT_COST: u32 = 10;

/// Highest cost [`verify_password`] will attempt. Hashes can come from user
/// imports, and a hash claiming cost 31 would take days to check: refusing
/// it turns a denial-of-service vector into a failed login. Cost 16 is
/// already ~3 s per attempt in release builds.
pub const MAX_VERIFY_COST: u32 = 16;

/// Why `password` may not become a user's password (the Management API and signup
/// share this policy): under 8 characters is too weak (Auth0's default "fair" policy),
/// over [`MAX_PASSWORD_BYTES`] would be silently cut short by bcrypt.
pub fn policy_violation(password: &str) -> Option<String> {
    if password.chars().count() < 8 {
        Some("PasswordStrengthError: Password is too weak".into())
    } else if password.len() > MAX_PASSWORD_BYTES {
        Some(format!(
            "PasswordStrengthError: Password is too long (at most {MAX_PASSWORD_BYTES} bytes)"
        ))
    } else {
        None
    }
}

/// Hashes `password` with a fresh random salt, returning a `$2b$` modular
/// crypt string (60 chars). `cost` must be in 4..=31; tests use 4, which is
/// ~1 ms. Bytes past [`MAX_PASSWORD_BYTES`] are ignored (see module docs).
pub fn hash_password(password: &str, cost: u32) -> Result<String, CryptoError> {
    bcrypt::hash(password, cost).map_err(|e| CryptoError::Hash(e.to_string()))
}

/// Checks `password` against a bcrypt hash. The final comparison is
/// constant-time (done inside `bcrypt`). Any malformed or unsupported hash,
/// including one with a cost above [`MAX_VERIFY_COST`], yields `false`:
/// callers treat it exactly like a wrong password and never panic.
pub fn verify_password(password: &str, hash: &str) -> bool {
    // `$2b$10$<53 chars>`: check the cost before bcrypt starts spending it.
    let cost = hash.split('$').nth(2).and_then(|c| c.parse::<u32>().ok());
    match cost {
        Some(cost) if cost <= MAX_VERIFY_COST => bcrypt::verify(password, hash).unwrap_or(false),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_refuses_short_and_truncated_passwords() {
        assert!(policy_violation("short").is_some_and(|e| e.contains("too weak")));
        assert_eq!(policy_violation("eight ch"), None);
        assert_eq!(policy_violation(&"x".repeat(MAX_PASSWORD_BYTES)), None);
        assert!(
            policy_violation(&"x".repeat(MAX_PASSWORD_BYTES + 1))
                .is_some_and(|e| e.contains("too long"))
        );
        // Bytes, not characters: 36 two-byte characters fill bcrypt's 72 bytes.
        assert_eq!(policy_violation(&"é".repeat(36)), None);
        assert!(policy_violation(&"é".repeat(37)).is_some());
    }

    #[test]
    fn round_trip() {
        let h = hash_password("correct horse battery staple", 4).expect("hash");
        assert!(h.starts_with("$2b$04$"), "{h}");
        assert_eq!(h.len(), 60);
        assert!(verify_password("correct horse battery staple", &h));
        assert!(!verify_password("correct horse battery stapler", &h));
        assert!(!verify_password("", &h));
        // Fresh salt each time.
        assert_ne!(
            h,
            hash_password("correct horse battery staple", 4).expect("hash")
        );
    }

    #[test]
    fn unicode_and_empty_passwords() {
        let h = hash_password("pässwörd✓", 4).expect("hash");
        assert!(verify_password("pässwörd✓", &h));
        assert!(!verify_password("passwoerd", &h));
        let h = hash_password("", 4).expect("hash");
        assert!(verify_password("", &h));
        assert!(!verify_password(" ", &h));
    }

    #[test]
    fn hashes_from_other_implementations() {
        // Produced by Python's `bcrypt` (`$2a$`), the format of hashes
        // imported from Auth0/Node.
        assert!(verify_password(
            "password",
            "$2a$04$UuTkLRZZ6QofpDOlMz32MuuxEHA43WOemOYHPz6.SjsVsyO1tDU96"
        ));
        assert!(!verify_password(
            "Password",
            "$2a$04$UuTkLRZZ6QofpDOlMz32MuuxEHA43WOemOYHPz6.SjsVsyO1tDU96"
        ));
    }

    #[test]
    fn truncates_at_72_bytes() {
        let base = "a".repeat(MAX_PASSWORD_BYTES);
        let h = hash_password(&format!("{base}-tail-one"), 4).expect("hash");
        // Documented bcrypt behaviour: the tail is ignored.
        assert!(verify_password(&format!("{base}-tail-two"), &h));
        assert!(!verify_password(&"a".repeat(MAX_PASSWORD_BYTES - 1), &h));
    }

    #[test]
    fn malformed_hashes_are_false() {
        for bad in [
            "",
            "$",
            "$$$",
            "plaintext",
            "$2b$04$",
            "$2b$04$tooshort",
            "$2b$xx$UuTkLRZZ6QofpDOlMz32MuuxEHA43WOemOYHPz6.SjsVsyO1tDU96",
            "$2b$-4$UuTkLRZZ6QofpDOlMz32MuuxEHA43WOemOYHPz6.SjsVsyO1tDU96",
            "$2b$03$UuTkLRZZ6QofpDOlMz32MuuxEHA43WOemOYHPz6.SjsVsyO1tDU96",
            "$9z$04$UuTkLRZZ6QofpDOlMz32MuuxEHA43WOemOYHPz6.SjsVsyO1tDU96",
            "$2a$04$UuTkLRZZ6QofpDOlMz32MuuxEHA43WOemOYHPz6.SjsVsyO1tDU9",
            "$2a$04$UuTkLRZZ6QofpDOlMz32MuuxEHA43WOemOYHPz6.SjsVsyO1tDU96x",
            "$2a$04$UuTkLRZZ6QofpDOlMz32MuuxEHA43WOemOYHPz6.SjsVsyO1tDÜ9",
            "$2a$04$!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
            "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
            // Would take days: refused up front.
            "$2b$31$UuTkLRZZ6QofpDOlMz32MuuxEHA43WOemOYHPz6.SjsVsyO1tDU96",
            "$2b$99$UuTkLRZZ6QofpDOlMz32MuuxEHA43WOemOYHPz6.SjsVsyO1tDU96",
        ] {
            assert!(!verify_password("password", bad), "{bad:?}");
        }
    }

    #[test]
    fn bad_cost_is_an_error() {
        assert!(matches!(hash_password("x", 3), Err(CryptoError::Hash(_))));
        assert!(matches!(hash_password("x", 32), Err(CryptoError::Hash(_))));
    }
}
