//! JWT (compact JWS) signing and verification.
//!
//! Signing does not go through `jsonwebtoken::encode`: with the RustCrypto
//! backend that re-parses the DER private key and re-validates the RSA key
//! on every call. [`Signer`] parses the PEM once into an `aws-lc-rs` key
//! pair and pre-encodes the (constant) header, so a signature costs only the
//! hash and the private-key operation, the login path's largest fixed cost.
//! Measured on the 2-core bench machine (AMD EPYC with AVX-512 IFMA), per
//! core: RS256 ~780 signatures/s with RustCrypto, ~2,300 with `ring`, ~4,650
//! with `aws-lc-rs` (its RSA uses the IFMA instructions); ES256 ~8,400,
//! ~73,000 and ~the same with `aws-lc-rs`
//! (`cargo bench -p rulebox-auth-core --bench jwt_signing`).
//!
//! Verification uses `jsonwebtoken` (signature check plus `exp`/`iss`/`aud`
//! validation), with the key picked from a JWKS by `kid` and a strict
//! algorithm allow-list so a token cannot choose how it is verified
//! (no `none`, no HS256-with-the-public-key confusion).

use std::fmt;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self as lc_sig, EcdsaKeyPair, RsaKeyPair};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use super::keys::{Alg, KeyPair, PrivateKey, jwk_thumbprint};
use super::{CryptoError, b64url, b64url_decode};

/// Clock skew tolerated on `exp` (and `nbf`), in seconds.
pub const LEEWAY_SECS: u64 = 60;

/// Signs tokens with one tenant key. Build it once per key (parsing and
/// validating an RSA key costs far more than it should per token) and share
/// it (`Arc<Signer>`); it is `Send + Sync` and signing takes `&self`.
pub struct Signer {
    kid: String,
    alg: Alg,
    /// base64url of `{"alg":..,"typ":"JWT","kid":..}`, identical for every token.
    header_b64: String,
    key: SigningKey,
    rng: SystemRandom,
}

enum SigningKey {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// Parses `key.private_pem` and checks that it matches `key.public_jwk`
    /// and `key.kid`: a mismatch would issue tokens that no client can
    /// verify against our JWKS, so it is refused here rather than
    /// discovered by users.
    pub fn new(key: &KeyPair) -> Result<Signer, CryptoError> {
        let private = PrivateKey::from_pem(key.alg, &key.private_pem)?;
        let derived = jwk_thumbprint(&Value::Object(private.public_members()?))?;
        let published = jwk_thumbprint(&key.public_jwk)
            .map_err(|e| CryptoError::InvalidKey(format!("public JWK: {e}")))?;
        if derived != published {
            return Err(CryptoError::InvalidKey(
                "private key does not match the public JWK".into(),
            ));
        }
        if key.public_jwk.get("kid").and_then(Value::as_str) != Some(key.kid.as_str()) {
            return Err(CryptoError::InvalidKey(
                "kid does not match the public JWK's kid".into(),
            ));
        }
        if let Some(alg) = key.public_jwk.get("alg")
            && alg.as_str() != Some(key.alg.as_str())
        {
            return Err(CryptoError::InvalidKey(format!(
                "public JWK alg {alg} does not match {}",
                key.alg
            )));
        }

        let rng = SystemRandom::new();
        let rejected = |e: &dyn fmt::Display| CryptoError::InvalidKey(format!("signing key: {e}"));
        let signing_key = match private {
            PrivateKey::Rsa(k) => {
                use rsa::pkcs1::EncodeRsaPrivateKey as _;
                let der = k.to_pkcs1_der().map_err(|e| rejected(&e))?;
                SigningKey::Rsa(RsaKeyPair::from_der(der.as_bytes()).map_err(|e| rejected(&e))?)
            }
            PrivateKey::Ec(k) => {
                use p256::elliptic_curve::sec1::ToEncodedPoint as _;
                let public = k.public_key().to_encoded_point(false);
                SigningKey::Ec(
                    EcdsaKeyPair::from_private_key_and_public_key(
                        &lc_sig::ECDSA_P256_SHA256_FIXED_SIGNING,
                        &k.to_bytes(),
                        public.as_bytes(),
                    )
                    .map_err(|e| rejected(&e))?,
                )
            }
        };
        // Built by hand to fix the member order; kid goes through the JSON
        // serialiser so any character in it is escaped correctly.
        let header = format!(
            r#"{{"alg":"{}","typ":"JWT","kid":{}}}"#,
            key.alg.as_str(),
            Value::from(key.kid.as_str())
        );
        Ok(Signer {
            kid: key.kid.clone(),
            alg: key.alg,
            header_b64: b64url(header),
            key: signing_key,
            rng,
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn alg(&self) -> Alg {
        self.alg
    }

    /// Signs `claims` (which must be a JSON object, RFC 7519 §7.2) into a
    /// compact JWS `header.payload.signature`. The claims are serialised as
    /// given: the caller sets `iss`, `aud`, `exp`, `iat`, ...
    ///
    /// RS256 signatures use RSA blinding (fresh randomness per signature)
    /// against timing attacks on the private key; ES256 nonces mix the key,
    /// the message and system randomness (AWS-LC's hedged nonces), so a weak
    /// RNG alone cannot leak the key.
    pub fn sign(&self, claims: &Value) -> Result<String, CryptoError> {
        if !claims.is_object() {
            return Err(CryptoError::Sign("claims must be a JSON object".into()));
        }
        let payload = serde_json::to_vec(claims).map_err(|e| CryptoError::Sign(e.to_string()))?;
        let mut token = String::with_capacity(
            self.header_b64.len() + payload.len() * 4 / 3 + 2 + self.signature_b64_len(),
        );
        token.push_str(&self.header_b64);
        token.push('.');
        token.push_str(&b64url(&payload));
        let failed = |e: aws_lc_rs::error::Unspecified| CryptoError::Sign(e.to_string());
        let signature = match &self.key {
            SigningKey::Rsa(k) => {
                let mut sig = vec![0; k.public_modulus_len()];
                k.sign(
                    &lc_sig::RSA_PKCS1_SHA256,
                    &self.rng,
                    token.as_bytes(),
                    &mut sig,
                )
                .map_err(failed)?;
                sig
            }
            // Fixed-size `r || s` as JWS wants (RFC 7518 §3.4), not DER.
            SigningKey::Ec(k) => k
                .sign(&self.rng, token.as_bytes())
                .map_err(failed)?
                .as_ref()
                .to_vec(),
        };
        token.push('.');
        token.push_str(&b64url(signature));
        Ok(token)
    }

    fn signature_b64_len(&self) -> usize {
        match self.alg {
            Alg::RS256 => 342,
            Alg::ES256 => 86,
        }
    }
}

fn invalid(reason: impl Into<String>) -> CryptoError {
    CryptoError::InvalidToken(reason.into())
}

fn malformed(what: impl fmt::Display) -> CryptoError {
    CryptoError::InvalidToken(format!("malformed: {what}"))
}

/// Verifies a compact JWS issued by us and returns its claims.
///
/// * the key is the JWKS entry whose `kid` equals the token header's `kid`;
///   the header `alg` must be RS256/ES256 and agree with that key's `kty`
///   (and its `alg`, when the JWK has one);
/// * the signature must verify;
/// * `exp`, `iss` and `aud` must be present; `exp` may be up to
///   [`LEEWAY_SECS`] in the past; `iss` must equal `issuer`; `aud` must be
///   `audience` or an array containing it (Auth0 access tokens with
///   `openid` scope carry `[api, "https://tenant/userinfo"]`); `nbf`, if
///   present, is honoured with the same leeway.
///
/// On failure returns [`CryptoError::InvalidToken`] with one of the reasons
/// `expired`, `bad signature`, `wrong issuer`, `wrong audience`,
/// `unknown kid`, `not yet valid`, `missing claim <exp|iss|aud>`,
/// `unsupported algorithm <alg>`, `algorithm does not match key`,
/// `unusable key: ..` (the JWKS entry is broken) or `malformed: ..`.
pub fn verify(
    token: &str,
    jwks: &Value,
    issuer: &str,
    audience: &str,
) -> Result<Value, CryptoError> {
    let header = parse_header(token)?;
    let alg: Alg = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("header has no alg"))?
        .parse()
        .map_err(|_| {
            invalid(format!(
                "unsupported algorithm {}",
                header.get("alg").map(Value::to_string).unwrap_or_default()
            ))
        })?;
    // RFC 7515 §4.1.11: extensions we do not understand must be rejected.
    if header.get("crit").is_some() {
        return Err(malformed("unsupported crit header"));
    }
    let kid = header
        .get("kid")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("header has no kid"))?;

    let jwk = jwks
        .get("keys")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|k| k.get("kid").and_then(Value::as_str) == Some(kid))
        .ok_or_else(|| invalid("unknown kid"))?;
    let decoding_key = decoding_key(jwk, alg)?;

    let mut validation = Validation::new(match alg {
        Alg::RS256 => Algorithm::RS256,
        Alg::ES256 => Algorithm::ES256,
    });
    validation.leeway = LEEWAY_SECS;
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.validate_aud = true;
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);

    let data = jsonwebtoken::decode::<Value>(token, &decoding_key, &validation)
        .map_err(|e| map_jwt_error(e.into_kind()))?;
    // jsonwebtoken also accepts an array `iss` containing the issuer; an
    // issuer is a single StringOrURI (RFC 7519 §4.1.1), so insist on it.
    if data.claims.get("iss").and_then(Value::as_str) != Some(issuer) {
        return Err(invalid("wrong issuer"));
    }
    Ok(data.claims)
}

/// Decodes the protected header ourselves (rather than with
/// `jsonwebtoken::decode_header`) so an unknown `alg` such as `none` or
/// `HS256` gets a precise reason instead of a JSON error.
fn parse_header(token: &str) -> Result<serde_json::Map<String, Value>, CryptoError> {
    let mut parts = token.split('.');
    let (Some(header), Some(_payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("expected three dot-separated segments"));
    };
    let bytes = b64url_decode(header).map_err(|e| malformed(format!("header: {e}")))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(malformed("header is not a JSON object")),
        Err(e) => Err(malformed(format!("header: {e}"))),
    }
}

/// Builds the verification key from a JWKS entry, refusing entries whose
/// type does not fit the token's `alg` (RFC 8725 §3.1: the key, not the
/// token, decides the algorithm).
fn decoding_key(jwk: &Value, alg: Alg) -> Result<DecodingKey, CryptoError> {
    let member = |name: &str| jwk.get(name).and_then(Value::as_str);
    if member("kty") != Some(alg.kty()) {
        return Err(invalid("algorithm does not match key"));
    }
    if let Some(jwk_alg) = jwk.get("alg")
        && jwk_alg.as_str() != Some(alg.as_str())
    {
        return Err(invalid("algorithm does not match key"));
    }
    if let Some(usage) = jwk.get("use")
        && usage.as_str() != Some("sig")
    {
        return Err(invalid("unusable key: JWK use is not sig"));
    }
    let missing = |name: &str| invalid(format!("unusable key: JWK has no {name}"));
    let bad = |e: jsonwebtoken::errors::Error| invalid(format!("unusable key: {e}"));
    match alg {
        Alg::RS256 => {
            let n = member("n").ok_or_else(|| missing("n"))?;
            let e = member("e").ok_or_else(|| missing("e"))?;
            DecodingKey::from_rsa_components(n, e).map_err(bad)
        }
        Alg::ES256 => {
            if member("crv") != Some("P-256") {
                return Err(invalid("algorithm does not match key"));
            }
            let x = member("x").ok_or_else(|| missing("x"))?;
            let y = member("y").ok_or_else(|| missing("y"))?;
            DecodingKey::from_ec_components(x, y).map_err(bad)
        }
    }
}

fn map_jwt_error(kind: ErrorKind) -> CryptoError {
    match kind {
        ErrorKind::InvalidSignature => invalid("bad signature"),
        ErrorKind::ExpiredSignature => invalid("expired"),
        ErrorKind::ImmatureSignature => invalid("not yet valid"),
        ErrorKind::InvalidIssuer => invalid("wrong issuer"),
        ErrorKind::InvalidAudience => invalid("wrong audience"),
        ErrorKind::MissingRequiredClaim(claim) => invalid(format!("missing claim {claim}")),
        ErrorKind::InvalidClaimFormat(claim) => malformed(format!("claim {claim} has a bad type")),
        ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => {
            invalid("algorithm does not match key")
        }
        ErrorKind::InvalidEcdsaKey | ErrorKind::InvalidRsaKey(_) | ErrorKind::InvalidKeyFormat => {
            invalid("unusable key: bad key material in JWK")
        }
        ErrorKind::Base64(e) => malformed(format!("base64: {e}")),
        ErrorKind::Json(e) => malformed(format!("JSON: {e}")),
        ErrorKind::Utf8(e) => malformed(format!("UTF-8: {e}")),
        other => malformed(format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::keys::jwks;
    use crate::crypto::test_keys::{EC_A, EC_B, RSA_A, RSA_B};
    use serde_json::json;
    use std::time::{SystemTime, UNIX_EPOCH};

    const ISS: &str = "https://tenant.example.com/";
    const AUD: &str = "https://api.example.com";

    fn now() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970")
            .as_secs()
    }

    fn claims() -> Value {
        json!({
            "iss": ISS,
            "sub": "auth0|123",
            "aud": AUD,
            "iat": now(),
            "exp": now() + 3600,
            "scope": "openid profile",
        })
    }

    fn reason(r: Result<Value, CryptoError>) -> String {
        match r {
            Err(CryptoError::InvalidToken(reason)) => reason,
            other => panic!("expected InvalidToken, got {other:?}"),
        }
    }

    fn segments(token: &str) -> Vec<String> {
        token.split('.').map(str::to_owned).collect()
    }

    fn decode_segment(seg: &str) -> Value {
        serde_json::from_slice(&b64url_decode(seg).expect("b64")).expect("json")
    }

    /// Every behaviour test runs for both algorithms.
    fn both() -> [(&'static KeyPair, &'static KeyPair); 2] {
        [(&*RSA_A, &*RSA_B), (&*EC_A, &*EC_B)]
    }

    #[test]
    fn round_trip_and_header() {
        for (a, _) in both() {
            let signer = Signer::new(a).expect("signer");
            assert_eq!(signer.kid(), a.kid);
            let c = claims();
            let token = signer.sign(&c).expect("sign");
            let segs = segments(&token);
            assert_eq!(segs.len(), 3);
            assert_eq!(
                decode_segment(&segs[0]),
                json!({"alg": a.alg.as_str(), "typ": "JWT", "kid": a.kid})
            );
            let sig = b64url_decode(&segs[2]).expect("sig b64");
            assert_eq!(sig.len(), if a.alg == Alg::RS256 { 256 } else { 64 });
            let got = verify(&token, &jwks([a]), ISS, AUD).expect("verify");
            assert_eq!(got, c);
            // Other keys in the set do not get in the way.
            let set = jwks([&*RSA_B, &*EC_B, &*RSA_A, &*EC_A]);
            assert_eq!(verify(&token, &set, ISS, AUD).expect("verify"), c);
        }
    }

    #[test]
    fn audience_array() {
        for (a, _) in both() {
            let signer = Signer::new(a).expect("signer");
            let mut c = claims();
            c["aud"] = json!([AUD, format!("{ISS}userinfo")]);
            let token = signer.sign(&c).expect("sign");
            let set = jwks([a]);
            assert!(verify(&token, &set, ISS, AUD).is_ok());
            assert!(verify(&token, &set, ISS, &format!("{ISS}userinfo")).is_ok());
            assert_eq!(
                reason(verify(&token, &set, ISS, "https://other")),
                "wrong audience"
            );
        }
    }

    #[test]
    fn tampering_fails() {
        for (a, _) in both() {
            let token = Signer::new(a)
                .expect("signer")
                .sign(&claims())
                .expect("sign");
            let set = jwks([a]);
            let segs = segments(&token);

            let mut forged = decode_segment(&segs[1]);
            forged["sub"] = json!("auth0|admin");
            let forged_payload = b64url(serde_json::to_vec(&forged).expect("json"));
            let t = format!("{}.{}.{}", segs[0], forged_payload, segs[2]);
            assert_eq!(reason(verify(&t, &set, ISS, AUD)), "bad signature");

            let mut sig = b64url_decode(&segs[2]).expect("b64");
            sig[10] ^= 1;
            let t = format!("{}.{}.{}", segs[0], segs[1], b64url(&sig));
            assert_eq!(reason(verify(&t, &set, ISS, AUD)), "bad signature");

            let t = format!("{}.{}.", segs[0], segs[1]);
            assert_eq!(reason(verify(&t, &set, ISS, AUD)), "bad signature");
        }
    }

    #[test]
    fn wrong_issuer_and_audience() {
        for (a, _) in both() {
            let token = Signer::new(a)
                .expect("signer")
                .sign(&claims())
                .expect("sign");
            let set = jwks([a]);
            assert_eq!(
                reason(verify(&token, &set, "https://evil.example.com/", AUD)),
                "wrong issuer"
            );
            // Trailing-slash differences matter, as in Auth0 SDKs.
            assert_eq!(
                reason(verify(&token, &set, ISS.trim_end_matches('/'), AUD)),
                "wrong issuer"
            );
            assert_eq!(
                reason(verify(&token, &set, ISS, "https://other.example.com")),
                "wrong audience"
            );
        }
    }

    #[test]
    fn issuer_array_rejected() {
        let mut c = claims();
        c["iss"] = json!([ISS, "https://other/"]);
        let token = Signer::new(&EC_A).expect("signer").sign(&c).expect("sign");
        assert_eq!(
            reason(verify(&token, &jwks([&*EC_A]), ISS, AUD)),
            "wrong issuer"
        );
    }

    #[test]
    fn expiry_with_leeway() {
        for (a, _) in both() {
            let signer = Signer::new(a).expect("signer");
            let set = jwks([a]);
            let mut c = claims();
            c["exp"] = json!(now() - 2 * LEEWAY_SECS);
            assert_eq!(
                reason(verify(&signer.sign(&c).expect("sign"), &set, ISS, AUD)),
                "expired"
            );
            // Within the leeway: still accepted.
            c["exp"] = json!(now() - LEEWAY_SECS / 2);
            assert!(verify(&signer.sign(&c).expect("sign"), &set, ISS, AUD).is_ok());
            // nbf in the future (beyond leeway).
            let mut c = claims();
            c["nbf"] = json!(now() + 10 * LEEWAY_SECS);
            assert_eq!(
                reason(verify(&signer.sign(&c).expect("sign"), &set, ISS, AUD)),
                "not yet valid"
            );
        }
    }

    #[test]
    fn required_claims() {
        let signer = Signer::new(&EC_A).expect("signer");
        let set = jwks([&*EC_A]);
        for claim in ["exp", "iss", "aud"] {
            let mut c = claims();
            c.as_object_mut().expect("object").remove(claim);
            assert_eq!(
                reason(verify(&signer.sign(&c).expect("sign"), &set, ISS, AUD)),
                format!("missing claim {claim}")
            );
        }
        // A non-numeric exp does not count as an exp.
        let mut c = claims();
        c["exp"] = json!("tomorrow");
        let r = reason(verify(&signer.sign(&c).expect("sign"), &set, ISS, AUD));
        assert!(
            r == "missing claim exp" || r.starts_with("malformed"),
            "{r}"
        );
    }

    #[test]
    fn unknown_kid_and_foreign_key() {
        for (a, b) in both() {
            let token = Signer::new(a)
                .expect("signer")
                .sign(&claims())
                .expect("sign");
            // Only key B published: A's kid is unknown.
            assert_eq!(reason(verify(&token, &jwks([b]), ISS, AUD)), "unknown kid");
            assert_eq!(
                reason(verify(&token, &json!({"keys": []}), ISS, AUD)),
                "unknown kid"
            );
            assert_eq!(reason(verify(&token, &json!({}), ISS, AUD)), "unknown kid");
            // Key B published under A's kid (substitution): the signature
            // must still be checked against the actual key material.
            let mut impostor = b.public_jwk.clone();
            impostor["kid"] = json!(a.kid);
            assert_eq!(
                reason(verify(&token, &jwks(&[impostor]), ISS, AUD)),
                "bad signature"
            );
        }
    }

    #[test]
    fn algorithm_confusion_rejected() {
        let rsa_token = Signer::new(&RSA_A)
            .expect("signer")
            .sign(&claims())
            .expect("sign");
        let segs = segments(&rsa_token);
        let with_header = |h: Value| format!("{}.{}.{}", b64url(h.to_string()), segs[1], segs[2]);
        let set = jwks([&*RSA_A, &*EC_A]);
        // The token claims ES256 but names the RSA key.
        let t = with_header(json!({"alg": "ES256", "typ": "JWT", "kid": RSA_A.kid}));
        assert_eq!(
            reason(verify(&t, &set, ISS, AUD)),
            "algorithm does not match key"
        );
        // HS256 (would use the public key as an HMAC secret) and none.
        let t = with_header(json!({"alg": "HS256", "typ": "JWT", "kid": RSA_A.kid}));
        assert_eq!(
            reason(verify(&t, &set, ISS, AUD)),
            "unsupported algorithm \"HS256\""
        );
        let t = format!(
            "{}.{}.",
            b64url(json!({"alg": "none", "kid": RSA_A.kid}).to_string()),
            segs[1]
        );
        assert_eq!(
            reason(verify(&t, &set, ISS, AUD)),
            "unsupported algorithm \"none\""
        );
        // A JWK restricted to another alg, or for encryption, is not used.
        let mut jwk = RSA_A.public_jwk.clone();
        jwk["alg"] = json!("RS512");
        assert_eq!(
            reason(verify(&rsa_token, &jwks(&[jwk]), ISS, AUD)),
            "algorithm does not match key"
        );
        let mut jwk = RSA_A.public_jwk.clone();
        jwk["use"] = json!("enc");
        assert!(reason(verify(&rsa_token, &jwks(&[jwk]), ISS, AUD)).starts_with("unusable key"));
        // Critical header extensions are refused.
        let t =
            with_header(json!({"alg": "RS256", "kid": RSA_A.kid, "crit": ["b64"], "b64": false}));
        assert!(reason(verify(&t, &set, ISS, AUD)).starts_with("malformed"));
    }

    #[test]
    fn malformed_tokens() {
        let set = jwks([&*EC_A]);
        for t in [
            "",
            "abc",
            "a.b",
            "a.b.c.d",
            "!!!.e30.sig",
            "e30.e30.sig", // header {} has no alg
        ] {
            assert!(
                reason(verify(t, &set, ISS, AUD)).starts_with("malformed"),
                "{t:?}"
            );
        }
        // Valid header, garbage payload.
        let token = Signer::new(&EC_A)
            .expect("signer")
            .sign(&claims())
            .expect("sign");
        let segs = segments(&token);
        let t = format!("{}.not-json.{}", segs[0], segs[2]);
        // The signature covers the payload, so this fails before parsing.
        assert_eq!(reason(verify(&t, &set, ISS, AUD)), "bad signature");
        // A broken JWK is reported as such, not as a bad token.
        let mut jwk = EC_A.public_jwk.clone();
        jwk["x"] = json!("AAAA");
        assert!(reason(verify(&token, &jwks(&[jwk]), ISS, AUD)).starts_with("unusable key"));
    }

    #[test]
    fn signer_rejects_inconsistent_key_pair() {
        let mut mixed = RSA_A.clone();
        mixed.public_jwk = RSA_B.public_jwk.clone();
        assert!(matches!(
            Signer::new(&mixed),
            Err(CryptoError::InvalidKey(_))
        ));
        let mut wrong_kid = EC_A.clone();
        wrong_kid.kid = EC_B.kid.clone();
        assert!(matches!(
            Signer::new(&wrong_kid),
            Err(CryptoError::InvalidKey(_))
        ));
        let mut wrong_alg = EC_A.clone();
        wrong_alg.alg = Alg::RS256;
        assert!(matches!(
            Signer::new(&wrong_alg),
            Err(CryptoError::InvalidKey(_))
        ));
    }

    #[test]
    fn signer_is_shareable() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Signer>();
    }

    #[test]
    fn sign_requires_object_claims() {
        let signer = Signer::new(&EC_A).expect("signer");
        assert!(matches!(
            signer.sign(&json!("x")),
            Err(CryptoError::Sign(_))
        ));
        assert!(matches!(
            signer.sign(&json!([1])),
            Err(CryptoError::Sign(_))
        ));
    }

    /// Verifies our RS256 output without jsonwebtoken: the modulus and
    /// exponent from the published JWK, the `rsa` crate's PKCS#1 v1.5
    /// verification over SHA-256 of `header.payload`. This is what every
    /// Auth0 SDK does with our JWKS.
    #[test]
    fn rs256_interop_via_jwk_components() {
        use rsa::{BigUint, Pkcs1v15Sign, RsaPublicKey};
        use sha2::Digest;

        let token = Signer::new(&RSA_A)
            .expect("signer")
            .sign(&claims())
            .expect("sign");
        let (signing_input, sig_b64) = token.rsplit_once('.').expect("two dots");
        let jwk = &jwks([&*RSA_A])["keys"][0];
        let n = b64url_decode(jwk["n"].as_str().expect("n")).expect("n b64");
        let e = b64url_decode(jwk["e"].as_str().expect("e")).expect("e b64");
        let public = RsaPublicKey::new(BigUint::from_bytes_be(&n), BigUint::from_bytes_be(&e))
            .expect("public key from JWK");
        let digest = sha2::Sha256::digest(signing_input.as_bytes());
        let sig = b64url_decode(sig_b64).expect("sig b64");
        public
            .verify(Pkcs1v15Sign::new::<sha2::Sha256>(), &digest, &sig)
            .expect("PKCS#1 v1.5 signature verifies with the published JWK");
        // And fails for any other message.
        let other = sha2::Sha256::digest(b"something else");
        assert!(
            public
                .verify(Pkcs1v15Sign::new::<sha2::Sha256>(), &other, &sig)
                .is_err()
        );
    }

    /// Same for ES256, through p256's own JWK parser.
    #[test]
    fn es256_interop_via_jwk() {
        use p256::ecdsa::signature::Verifier as _;

        let token = Signer::new(&EC_A)
            .expect("signer")
            .sign(&claims())
            .expect("sign");
        let (signing_input, sig_b64) = token.rsplit_once('.').expect("two dots");
        let jwk = &jwks([&*EC_A])["keys"][0];
        // p256's parser refuses members it does not know (kid, use, alg),
        // so hand it the key members only.
        let key_only = json!({"kty": jwk["kty"], "crv": jwk["crv"], "x": jwk["x"], "y": jwk["y"]});
        let public = p256::PublicKey::from_jwk_str(&key_only.to_string()).expect("p256 JWK");
        let vk = p256::ecdsa::VerifyingKey::from(public);
        let sig = p256::ecdsa::Signature::from_slice(&b64url_decode(sig_b64).expect("b64"))
            .expect("r||s");
        vk.verify(signing_input.as_bytes(), &sig)
            .expect("ES256 signature verifies with the published JWK");
    }
}
