//! Signing keys and their public JWK / JWKS form.
//!
//! A tenant's signing key is stored as a [`KeyPair`]: the private half as a
//! PKCS#8 PEM (the format every tool can read back) and the public half as
//! the exact JWK we publish at `/.well-known/jwks.json`, so the JWKS endpoint
//! never has to touch private key material.
//!
//! Key ids are RFC 7638 JWK thumbprints (SHA-256, base64url, 43 chars): they
//! depend only on the public key, so re-deriving a JWK from a stored private
//! key always yields the same `kid`, and two tenants can never publish the
//! same `kid` for different keys.

use std::fmt;
use std::str::FromStr;

use p256::elliptic_curve::sec1::ToEncodedPoint;
use rand::rngs::OsRng;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rsa::traits::PublicKeyParts;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{CryptoError, b64url};

/// RSA modulus size for new keys. 2048 bits is what Auth0 issues and what
/// every OIDC client library accepts; larger keys cost ~4x per signature.
pub const RSA_BITS: usize = 2048;

/// JWS signing algorithms we issue tokens with. Auth0 offers RS256 (the
/// default) and ES256 is the cheap-to-sign alternative; HS256 is
/// intentionally absent because it would require sharing secrets with
/// every API that validates our tokens.
#[allow(clippy::upper_case_acronyms)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3), RSA-2048.
    RS256,
    /// ECDSA P-256 with SHA-256 (RFC 7518 §3.4), 64-byte `r || s` signatures.
    ES256,
}

impl Alg {
    /// The JOSE `alg` name.
    pub fn as_str(self) -> &'static str {
        match self {
            Alg::RS256 => "RS256",
            Alg::ES256 => "ES256",
        }
    }

    /// The JWK `kty` a key for this algorithm must have.
    pub fn kty(self) -> &'static str {
        match self {
            Alg::RS256 => "RSA",
            Alg::ES256 => "EC",
        }
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Alg {
    type Err = CryptoError;

    /// Case-sensitive, like JOSE `alg` values (RFC 7515 §4.1.1).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "RS256" => Ok(Alg::RS256),
            "ES256" => Ok(Alg::ES256),
            other => Err(CryptoError::InvalidKey(format!(
                "unsupported algorithm {other:?} (expected RS256 or ES256)"
            ))),
        }
    }
}

/// A signing key as stored per tenant.
///
/// `Debug` redacts `private_pem` so that logging a key (or a struct holding
/// one) cannot leak it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyPair {
    /// RFC 7638 thumbprint of the public key; also the `kid` member of
    /// `public_jwk` and the `kid` header of every token signed with it.
    pub kid: String,
    pub alg: Alg,
    /// PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), LF line endings.
    pub private_pem: String,
    /// The public JWK exactly as published in the JWKS.
    pub public_jwk: Value,
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("private_pem", &"<redacted>")
            .field("public_jwk", &self.public_jwk)
            .finish()
    }
}

impl KeyPair {
    /// Generates a fresh key from the OS RNG: RSA-2048 with e = 65537 for
    /// RS256, a P-256 key for ES256.
    ///
    /// RSA generation searches for two 1024-bit primes: ~50-200 ms in a
    /// release build but several seconds in an unoptimised (debug) build, so
    /// do it once per tenant (or at startup) and keep the result.
    pub fn generate(alg: Alg) -> Result<KeyPair, CryptoError> {
        let key = match alg {
            Alg::RS256 => PrivateKey::Rsa(Box::new(
                rsa::RsaPrivateKey::new(&mut OsRng, RSA_BITS)
                    .map_err(|e| CryptoError::KeyGeneration(e.to_string()))?,
            )),
            Alg::ES256 => PrivateKey::Ec(p256::SecretKey::random(&mut OsRng)),
        };
        key.into_key_pair().map_err(|e| match e {
            CryptoError::InvalidKey(m) => CryptoError::KeyGeneration(m),
            other => other,
        })
    }

    /// Rebuilds a key pair from a stored private key, recomputing the public
    /// JWK and `kid`. Accepts PKCS#8 PEM (what [`KeyPair::generate`] writes)
    /// as well as the traditional `RSA PRIVATE KEY` / `EC PRIVATE KEY` PEMs
    /// so that keys made with older `openssl` invocations can be imported;
    /// the returned `private_pem` is always normalised to PKCS#8.
    pub fn from_private_pem(alg: Alg, pem: &str) -> Result<KeyPair, CryptoError> {
        PrivateKey::from_pem(alg, pem)?.into_key_pair()
    }
}

/// A parsed private key. Parsing (and, for RSA, validating and
/// precomputing CRT values) is the expensive part of loading a key, so
/// [`super::jwt::Signer`] does it once.
pub(crate) enum PrivateKey {
    // Boxed: ~10x the size of a P-256 scalar.
    Rsa(Box<rsa::RsaPrivateKey>),
    Ec(p256::SecretKey),
}

impl PrivateKey {
    pub(crate) fn from_pem(alg: Alg, pem: &str) -> Result<PrivateKey, CryptoError> {
        let pem = pem.trim();
        match alg {
            Alg::RS256 => {
                let key = rsa::RsaPrivateKey::from_pkcs8_pem(pem)
                    .or_else(|_| rsa::RsaPrivateKey::from_pkcs1_pem(pem))
                    .map_err(|e| {
                        CryptoError::InvalidKey(format!("not an RSA private key PEM: {e}"))
                    })?;
                // Anything below 2048 bits is rejected by many JWT libraries
                // (and by NIST since 2013); refuse to sign with it.
                if key.size() * 8 < RSA_BITS {
                    return Err(CryptoError::InvalidKey(format!(
                        "RSA key is {} bits; RS256 needs at least {RSA_BITS}",
                        key.size() * 8
                    )));
                }
                Ok(PrivateKey::Rsa(Box::new(key)))
            }
            Alg::ES256 => {
                let key = p256::SecretKey::from_pkcs8_pem(pem)
                    .or_else(|_| p256::SecretKey::from_sec1_pem(pem))
                    .map_err(|e| {
                        CryptoError::InvalidKey(format!("not a P-256 private key PEM: {e}"))
                    })?;
                Ok(PrivateKey::Ec(key))
            }
        }
    }

    pub(crate) fn alg(&self) -> Alg {
        match self {
            PrivateKey::Rsa(_) => Alg::RS256,
            PrivateKey::Ec(_) => Alg::ES256,
        }
    }

    /// The RFC 7638 "required members" of the public key (`kty` plus the
    /// key material), from which both the thumbprint and the published JWK
    /// are built.
    pub(crate) fn public_members(&self) -> Result<Map<String, Value>, CryptoError> {
        let mut m = Map::new();
        match self {
            PrivateKey::Rsa(key) => {
                m.insert("kty".into(), "RSA".into());
                m.insert("n".into(), b64url(key.n().to_bytes_be()).into());
                m.insert("e".into(), b64url(key.e().to_bytes_be()).into());
            }
            PrivateKey::Ec(key) => {
                let point = key.public_key().to_encoded_point(false);
                let (Some(x), Some(y)) = (point.x(), point.y()) else {
                    // Only the identity point lacks coordinates, and a
                    // valid secret key never maps to it.
                    return Err(CryptoError::InvalidKey(
                        "EC public key is the identity point".into(),
                    ));
                };
                m.insert("kty".into(), "EC".into());
                m.insert("crv".into(), "P-256".into());
                m.insert("x".into(), b64url(x).into());
                m.insert("y".into(), b64url(y).into());
            }
        }
        Ok(m)
    }

    fn to_pkcs8_pem(&self) -> Result<String, CryptoError> {
        let pem = match self {
            PrivateKey::Rsa(key) => key.to_pkcs8_pem(LineEnding::LF),
            PrivateKey::Ec(key) => key.to_pkcs8_pem(LineEnding::LF),
        }
        .map_err(|e| CryptoError::InvalidKey(format!("PKCS#8 encoding failed: {e}")))?;
        Ok(pem.as_str().to_owned())
    }

    fn into_key_pair(self) -> Result<KeyPair, CryptoError> {
        let alg = self.alg();
        let members = self.public_members()?;
        let kid = thumbprint_of(&members)?;
        let mut jwk = members;
        jwk.insert("use".into(), "sig".into());
        jwk.insert("alg".into(), alg.as_str().into());
        jwk.insert("kid".into(), kid.clone().into());
        Ok(KeyPair {
            kid,
            alg,
            private_pem: self.to_pkcs8_pem()?,
            public_jwk: Value::Object(jwk),
        })
    }
}

/// RFC 7638 JWK thumbprint (SHA-256, base64url without padding) of an RSA
/// or EC public JWK. Only the required members take part, so `kid`, `use`
/// and `alg` do not change it.
pub fn jwk_thumbprint(jwk: &Value) -> Result<String, CryptoError> {
    let obj = jwk
        .as_object()
        .ok_or_else(|| CryptoError::InvalidKey("JWK is not a JSON object".into()))?;
    thumbprint_of(obj)
}

fn thumbprint_of(jwk: &Map<String, Value>) -> Result<String, CryptoError> {
    // RFC 7638 §3.2: required members only, in lexicographic order, no
    // whitespace. The member names below are already sorted.
    let names: &[&str] = match jwk.get("kty").and_then(Value::as_str) {
        Some("RSA") => &["e", "kty", "n"],
        Some("EC") => &["crv", "kty", "x", "y"],
        Some(other) => {
            return Err(CryptoError::InvalidKey(format!(
                "unsupported JWK kty {other:?}"
            )));
        }
        None => return Err(CryptoError::InvalidKey("JWK has no kty".into())),
    };
    let mut canonical = String::from("{");
    for (i, name) in names.iter().enumerate() {
        let value = jwk
            .get(*name)
            .and_then(Value::as_str)
            .ok_or_else(|| CryptoError::InvalidKey(format!("JWK member {name:?} missing")))?;
        if i > 0 {
            canonical.push(',');
        }
        // serde_json's string serialisation is the JSON escaping RFC 7638
        // asks for; serialising a &str cannot fail.
        canonical.push('"');
        canonical.push_str(name);
        canonical.push_str("\":");
        canonical.push_str(&Value::from(value).to_string());
    }
    canonical.push('}');
    Ok(b64url(Sha256::digest(canonical.as_bytes())))
}

/// Something that has a public JWK to publish: a [`KeyPair`] or a JWK
/// `serde_json::Value` (e.g. a rotated-out key kept only for verification).
pub trait PublicJwk {
    fn public_jwk(&self) -> &Value;
}

impl PublicJwk for KeyPair {
    fn public_jwk(&self) -> &Value {
        &self.public_jwk
    }
}

impl PublicJwk for Value {
    fn public_jwk(&self) -> &Value {
        self
    }
}

impl<T: PublicJwk + ?Sized> PublicJwk for &T {
    fn public_jwk(&self) -> &Value {
        (**self).public_jwk()
    }
}

/// Private-key members of RSA/EC/oct JWKs (RFC 7518 §6). [`jwks`] strips
/// them so that a caller handing it the wrong JWK cannot publish a secret.
const PRIVATE_JWK_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// Renders a JWK Set (RFC 7517 §5): `{"keys":[...]}` in the given order,
/// the document served at `/.well-known/jwks.json`.
///
/// Accepts anything iterable over [`PublicJwk`]s: `jwks([&a, &b])`,
/// `jwks(&[&a, &b])`, `jwks(&vec_of_key_pairs)`, `jwks(&vec_of_values)`.
/// Entries that are not JSON objects are skipped (they are not JWKs).
pub fn jwks<'a, K, I>(keys: I) -> Value
where
    K: PublicJwk + ?Sized + 'a,
    I: IntoIterator<Item = &'a K>,
{
    let keys: Vec<Value> = keys
        .into_iter()
        .filter_map(|k| k.public_jwk().as_object())
        .map(|obj| {
            let mut obj = obj.clone();
            for member in PRIVATE_JWK_MEMBERS {
                obj.remove(*member);
            }
            Value::Object(obj)
        })
        .collect();
    serde_json::json!({ "keys": keys })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::b64url_decode;
    use crate::crypto::test_keys::{EC_A, RSA_A};
    use serde_json::json;

    fn assert_b64url_no_pad(s: &str) {
        assert!(!s.is_empty());
        assert!(
            s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "not base64url without padding: {s}"
        );
    }

    #[test]
    fn rsa_jwk_shape() {
        let k = &*RSA_A;
        let jwk = &k.public_jwk;
        assert_eq!(k.alg, Alg::RS256);
        assert_eq!(jwk["kty"], "RSA");
        assert_eq!(jwk["use"], "sig");
        assert_eq!(jwk["alg"], "RS256");
        assert_eq!(jwk["kid"], k.kid.as_str());
        assert_eq!(jwk["e"], "AQAB");
        let n = jwk["n"].as_str().expect("n");
        assert_b64url_no_pad(n);
        let n = b64url_decode(n).expect("n decodes");
        assert_eq!(n.len(), 256, "2048-bit modulus without leading zero");
        assert_ne!(n[0], 0);
        // Exactly the published members: no private material, no x5c/x5t.
        let mut names: Vec<_> = jwk.as_object().expect("object").keys().cloned().collect();
        names.sort();
        assert_eq!(names, ["alg", "e", "kid", "kty", "n", "use"]);
        assert!(k.private_pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert_b64url_no_pad(&k.kid);
        assert_eq!(k.kid.len(), 43);
    }

    #[test]
    fn ec_jwk_shape() {
        let k = &*EC_A;
        let jwk = &k.public_jwk;
        assert_eq!(k.alg, Alg::ES256);
        assert_eq!(jwk["kty"], "EC");
        assert_eq!(jwk["use"], "sig");
        assert_eq!(jwk["alg"], "ES256");
        assert_eq!(jwk["crv"], "P-256");
        assert_eq!(jwk["kid"], k.kid.as_str());
        for c in ["x", "y"] {
            let v = jwk[c].as_str().expect("coordinate");
            assert_b64url_no_pad(v);
            assert_eq!(v.len(), 43);
            assert_eq!(b64url_decode(v).expect("decodes").len(), 32);
        }
        let mut names: Vec<_> = jwk.as_object().expect("object").keys().cloned().collect();
        names.sort();
        assert_eq!(names, ["alg", "crv", "kid", "kty", "use", "x", "y"]);
        assert!(k.private_pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        // p256's own JWK parser (an independent implementation) accepts it
        // and finds the same public key as our private key.
        // (p256 refuses members it does not know, so pass the key members.)
        let key_only = json!({"kty": jwk["kty"], "crv": jwk["crv"], "x": jwk["x"], "y": jwk["y"]});
        let parsed =
            p256::PublicKey::from_jwk_str(&key_only.to_string()).expect("p256 parses our JWK");
        let sk = p256::SecretKey::from_pkcs8_pem(&k.private_pem).expect("pkcs8");
        assert_eq!(parsed, sk.public_key());
    }

    #[test]
    fn kid_is_stable_across_reload() {
        for k in [&*RSA_A, &*EC_A] {
            let again = KeyPair::from_private_pem(k.alg, &k.private_pem).expect("reload");
            assert_eq!(&again, k);
            assert_eq!(jwk_thumbprint(&k.public_jwk).expect("thumbprint"), k.kid);
        }
    }

    #[test]
    fn generated_keys_differ() {
        let a = KeyPair::generate(Alg::ES256).expect("gen");
        let b = KeyPair::generate(Alg::ES256).expect("gen");
        assert_ne!(a.kid, b.kid);
        assert_ne!(a.private_pem, b.private_pem);
    }

    #[test]
    fn rfc7638_example_thumbprint() {
        // RFC 7638 §3.1.
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        assert_eq!(
            jwk_thumbprint(&jwk).expect("thumbprint"),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
        assert!(jwk_thumbprint(&json!({"kty": "oct", "k": "AA"})).is_err());
        assert!(jwk_thumbprint(&json!({"kty": "EC", "crv": "P-256", "x": "AA"})).is_err());
        assert!(jwk_thumbprint(&json!("nope")).is_err());
    }

    #[test]
    fn jwks_document() {
        let set = jwks([&*RSA_A, &*EC_A]);
        let keys = set["keys"].as_array().expect("keys array");
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0], RSA_A.public_jwk);
        assert_eq!(keys[1], EC_A.public_jwk);
        // Slices of references and plain JWK values work too.
        assert_eq!(jwks(&[&*RSA_A, &*EC_A]), set);
        let values = vec![RSA_A.public_jwk.clone(), EC_A.public_jwk.clone()];
        assert_eq!(jwks(&values), set);
        // Private members never leak, non-objects are skipped.
        let mut leaky = EC_A.public_jwk.clone();
        leaky["d"] = json!("secret");
        let set = jwks(&[leaky, json!(42)]);
        assert_eq!(set, json!({ "keys": [EC_A.public_jwk.clone()] }));
        assert_eq!(jwks(Vec::<&KeyPair>::new()), json!({ "keys": [] }));
    }

    #[test]
    fn alg_names() {
        assert_eq!("RS256".parse::<Alg>().expect("parse"), Alg::RS256);
        assert_eq!("ES256".parse::<Alg>().expect("parse"), Alg::ES256);
        assert!("rs256".parse::<Alg>().is_err());
        assert!("HS256".parse::<Alg>().is_err());
        assert_eq!(Alg::ES256.to_string(), "ES256");
        assert_eq!(
            serde_json::to_value(Alg::RS256).expect("ser"),
            json!("RS256")
        );
        assert_eq!(
            serde_json::from_value::<Alg>(json!("ES256")).expect("de"),
            Alg::ES256
        );
        assert!(serde_json::from_value::<Alg>(json!("none")).is_err());
    }

    #[test]
    fn bad_private_keys_rejected() {
        assert!(matches!(
            KeyPair::from_private_pem(Alg::RS256, "garbage"),
            Err(CryptoError::InvalidKey(_))
        ));
        // An EC key is not an RSA key and vice versa.
        assert!(KeyPair::from_private_pem(Alg::RS256, &EC_A.private_pem).is_err());
        assert!(KeyPair::from_private_pem(Alg::ES256, &RSA_A.private_pem).is_err());
    }

    #[test]
    fn debug_redacts_private_key() {
        let s = format!("{:?}", *EC_A);
        assert!(s.contains("<redacted>"));
        assert!(!s.contains("PRIVATE KEY"));
    }
}
