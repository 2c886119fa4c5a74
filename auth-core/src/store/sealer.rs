//! Secrets at rest: Action secrets and rules `configuration` values are
//! sealed with AES-256-GCM (aws-lc-rs) before they reach the database.
//!
//! Why AEAD with the row's identity as associated data: a leaked database
//! (a backup, a dump, a copied file) yields no secret, and a sealed value
//! copied into another row (another tenant's Action) fails to open instead
//! of handing that tenant the secret.
//!
//! The key comes from `RULEBOX_SECRETS_KEY` (base64 of 32 bytes) when set —
//! the way to keep it off the database's disk and share it between nodes —
//! and otherwise from a key file created next to the database on first use
//! (mode 0600).

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use std::path::Path;

use super::{StoreError, StoreResult};

/// Marks a sealed value (and its format version).
const PREFIX: &str = "sealed:v1:";

/// The environment variable holding the key.
pub const KEY_ENV: &str = "RULEBOX_SECRETS_KEY";

pub struct SecretSealer {
    key: LessSafeKey,
    /// Keyed fingerprints (audit trail): a plain hash of a body holding a
    /// low-entropy secret could be guessed offline; an HMAC cannot.
    mac: aws_lc_rs::hmac::Key,
    rng: SystemRandom,
}

impl std::fmt::Debug for SecretSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretSealer(..)")
    }
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

fn key_error(msg: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(format!("secrets key: {msg}"))
}

impl SecretSealer {
    pub fn from_key(bytes: &[u8]) -> StoreResult<Self> {
        let unbound =
            UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| key_error("must be 32 bytes"))?;
        let mac_key = aws_lc_rs::hmac::sign(
            &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, bytes),
            b"rulebox fingerprint v1",
        );
        Ok(Self {
            key: LessSafeKey::new(unbound),
            mac: aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, mac_key.as_ref()),
            rng: SystemRandom::new(),
        })
    }

    /// A fresh random key (in-memory stores, tests).
    pub fn ephemeral() -> StoreResult<Self> {
        let mut key = [0u8; 32];
        SystemRandom::new()
            .fill(&mut key)
            .map_err(|_| key_error("no randomness"))?;
        Self::from_key(&key)
    }

    /// The key from [`KEY_ENV`], if it is set.
    pub fn from_env() -> StoreResult<Option<Self>> {
        match std::env::var(KEY_ENV) {
            Ok(text) => {
                let bytes = b64()
                    .decode(text.trim())
                    .map_err(|e| key_error(format!("{KEY_ENV} is not base64: {e}")))?;
                Self::from_key(&bytes).map(Some)
            }
            Err(_) => Ok(None),
        }
    }

    /// The key from [`KEY_ENV`], else from `key_file` (created with a new key if missing).
    pub fn load(key_file: &Path) -> StoreResult<Self> {
        if let Some(sealer) = Self::from_env()? {
            return Ok(sealer);
        }
        let read = |text: String| {
            let bytes = b64()
                .decode(text.trim())
                .map_err(|e| key_error(format!("{}: {e}", key_file.display())))?;
            Self::from_key(&bytes)
        };
        match std::fs::read_to_string(key_file) {
            Ok(text) => read(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                SystemRandom::new()
                    .fill(&mut key)
                    .map_err(|_| key_error("no randomness"))?;
                match write_private(key_file, &b64().encode(key)) {
                    Ok(()) => Self::from_key(&key),
                    // Another process sharing the database created it first: its key is
                    // the one the stored secrets will be sealed with.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        read(std::fs::read_to_string(key_file).map_err(|e| {
                            key_error(format!("reading {}: {e}", key_file.display()))
                        })?)
                    }
                    Err(e) => Err(key_error(format!("writing {}: {e}", key_file.display()))),
                }
            }
            Err(e) => Err(key_error(format!("reading {}: {e}", key_file.display()))),
        }
    }

    /// HMAC-SHA256 of `data` under a key derived from the secrets key, hex.
    pub fn fingerprint(&self, data: &[u8]) -> String {
        let tag = aws_lc_rs::hmac::sign(&self.mac, data);
        tag.as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Seals `plaintext`, bound to `context` (the row it belongs to).
    pub fn seal(&self, context: &str, plaintext: &str) -> StoreResult<String> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng
            .fill(&mut nonce)
            .map_err(|_| key_error("no randomness"))?;
        let mut buf = plaintext.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut buf,
            )
            .map_err(|_| key_error("sealing failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(format!("{PREFIX}{}", b64().encode(out)))
    }

    /// Opens a value sealed for `context`. A value stored before sealing existed (no
    /// prefix) is returned as it is, so upgrading keeps old secrets readable until their
    /// next write seals them.
    pub fn open(&self, context: &str, stored: &str) -> StoreResult<String> {
        let Some(sealed) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_owned());
        };
        let corrupt = |what: &str| StoreError::corrupt("secret", what);
        let raw = b64().decode(sealed).map_err(|_| corrupt("not base64"))?;
        if raw.len() < NONCE_LEN {
            return Err(corrupt("too short"));
        }
        let (nonce, body) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| corrupt("bad nonce"))?;
        let mut body = body.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut body)
            .map_err(|_| corrupt("cannot be opened with this key (wrong key or moved value)"))?;
        String::from_utf8(plain.to_vec()).map_err(|_| corrupt("not UTF-8"))
    }
}

/// Creates `path` (mode 0600) holding `text`, or fails with `AlreadyExists` and changes
/// nothing. Written beside it first and then linked into place, so a second process starting
/// at the same moment finds either no file or the whole key — never a half-written one that
/// it would reject, or replace with its own key.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)?;
    }
    let mut unique = [0u8; 8];
    SystemRandom::new()
        .fill(&mut unique)
        .map_err(|_| std::io::Error::other("no randomness"))?;
    let mut staging = path.as_os_str().to_owned();
    staging.push(format!(".{}.tmp", u64::from_le_bytes(unique)));
    let staging = std::path::PathBuf::from(staging);
    let written = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&staging)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        // A hard link fails if the name exists: the atomic "create only if absent".
        std::fs::hard_link(&staging, path)
    })();
    let _ = std::fs::remove_file(&staging);
    written
}

/// The associated data of an Action secret.
pub(crate) fn action_secret_context(tenant: &str, action_id: &str, name: &str) -> String {
    format!("action-secret\0{tenant}\0{action_id}\0{name}")
}

/// The associated data of a rules `configuration` value.
pub(crate) fn rules_config_context(tenant: &str, key: &str) -> String {
    format!("rules-config\0{tenant}\0{key}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_in_their_own_row_and_with_their_key() {
        let s = SecretSealer::ephemeral().expect("key");
        let sealed = s.seal("row-a", "hunter2").expect("seal");
        assert!(sealed.starts_with(PREFIX));
        assert!(!sealed.contains("hunter2"));
        assert_ne!(
            sealed,
            s.seal("row-a", "hunter2").expect("seal"),
            "fresh nonce each time"
        );
        assert_eq!(s.open("row-a", &sealed).expect("open"), "hunter2");
        assert!(s.open("row-b", &sealed).is_err(), "moved to another row");
        let other = SecretSealer::ephemeral().expect("key");
        assert!(other.open("row-a", &sealed).is_err(), "another key");
        assert_eq!(
            s.open("row-a", "legacy plain").expect("open"),
            "legacy plain"
        );
    }

    #[test]
    fn fingerprints_are_stable_per_key_and_unguessable_without_it() {
        let a = SecretSealer::ephemeral().expect("key");
        let b = SecretSealer::ephemeral().expect("key");
        let body = br#"{"value":"1234"}"#;
        assert_eq!(a.fingerprint(body), a.fingerprint(body));
        assert_eq!(a.fingerprint(body).len(), 64);
        assert_ne!(a.fingerprint(body), b.fingerprint(body), "keyed");
        let plain: String = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, body)
            .as_ref()
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect();
        assert_ne!(
            a.fingerprint(body),
            plain,
            "not a plain hash anyone can recompute"
        );
    }

    #[test]
    fn the_key_file_is_created_once_and_private() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("secrets.key");
        let a = SecretSealer::load(&path).expect("create");
        let sealed = a.seal("x", "v").expect("seal");
        let b = SecretSealer::load(&path).expect("reload");
        assert_eq!(
            b.open("x", &sealed).expect("open"),
            "v",
            "same key after reload"
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn processes_starting_together_agree_on_one_key() {
        for _ in 0..20 {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("secrets.key");
            let sealers: Vec<SecretSealer> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..8)
                    .map(|_| s.spawn(|| SecretSealer::load(&path).expect("load")))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("thread"))
                    .collect()
            });
            let sealed = sealers[0].seal("x", "v").expect("seal");
            for other in &sealers[1..] {
                assert_eq!(other.open("x", &sealed).expect("same key"), "v");
            }
            let leftovers = std::fs::read_dir(dir.path()).expect("dir").count();
            assert_eq!(leftovers, 1, "no staging files left behind");
        }
    }
}
