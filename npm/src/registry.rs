//! The npm registry as an HTTP client: packuments and tarballs, with a local
//! cache of tarballs by integrity (a tarball named by its hash can never be
//! stale, so the cache needs no expiry and is shared by every tenant).

use crate::NpmError;
use crate::packument::Packument;
use crate::spec::{check_name, registry_path};
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::time::Duration;

/// Where packages come from (`[npm]` in the platform config).
#[derive(Debug, Clone)]
pub struct RegistryConfig {
    /// The registry's base URL, e.g. `https://registry.npmjs.org`.
    pub url: String,
    /// Downloaded tarballs by integrity; `None` keeps nothing.
    pub cache_dir: Option<PathBuf>,
    /// Per request.
    pub timeout: Duration,
}

/// A registry client.
#[derive(Debug, Clone)]
pub struct Registry {
    base: String,
    http: reqwest::Client,
    cache_dir: Option<PathBuf>,
}

impl Registry {
    pub fn new(config: RegistryConfig) -> Self {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .user_agent(concat!("rulebox/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Self {
            base: config.url.trim_end_matches('/').to_owned(),
            http,
            cache_dir: config.cache_dir,
        }
    }

    /// A package's metadata.
    #[tracing::instrument(skip(self), level = "debug")]
    pub(crate) async fn packument(&self, name: &str) -> Result<Packument, NpmError> {
        check_name(name)?;
        let url = format!("{}/{}", self.base, registry_path(name));
        let unreachable = |e: reqwest::Error| NpmError::RegistryUnreachable {
            name: name.to_owned(),
            reason: e.without_url().to_string(),
        };
        let answer = self
            .http
            .get(&url)
            .header(
                "accept",
                "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8",
            )
            .send()
            .await
            .map_err(unreachable)?;
        match answer.status().as_u16() {
            200 => {}
            404 => return Err(NpmError::UnknownPackage(name.to_owned())),
            status => {
                return Err(NpmError::RegistryError {
                    name: name.to_owned(),
                    status,
                });
            }
        }
        let body = answer.bytes().await.map_err(unreachable)?;
        serde_json::from_slice(&body).map_err(|e| NpmError::BadPackument {
            name: name.to_owned(),
            reason: e.to_string(),
        })
    }

    /// A version's tarball, checked against `integrity`; at most `max_bytes`
    /// are downloaded (a larger tarball could not fit the unpacked limit).
    #[tracing::instrument(skip(self, url, integrity), level = "debug")]
    pub(crate) async fn tarball(
        &self,
        name: &str,
        version: &str,
        url: &str,
        integrity: &str,
        max_bytes: u64,
    ) -> Result<Vec<u8>, NpmError> {
        let cached = self.cache_path(integrity);
        if let Some(path) = &cached
            && let Ok(bytes) = tokio::fs::read(path).await
            && check(&bytes, integrity)
        {
            return Ok(bytes);
        }
        let unreachable = |e: reqwest::Error| NpmError::RegistryUnreachable {
            name: name.to_owned(),
            reason: e.without_url().to_string(),
        };
        let mut answer = self.http.get(url).send().await.map_err(unreachable)?;
        if !answer.status().is_success() {
            return Err(NpmError::RegistryError {
                name: format!("{name}@{version}"),
                status: answer.status().as_u16(),
            });
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = answer.chunk().await.map_err(unreachable)? {
            bytes.extend_from_slice(&chunk);
            if bytes.len() as u64 > max_bytes {
                return Err(NpmError::TreeTooLarge {
                    name: format!("{name}@{version}"),
                    limit: max_bytes,
                });
            }
        }
        if !check(&bytes, integrity) {
            return Err(NpmError::IntegrityMismatch {
                name: name.to_owned(),
                version: version.to_owned(),
                expected: integrity.to_owned(),
            });
        }
        if let Some(path) = cached {
            // Best effort: a cache that cannot be written only costs a download.
            if let Some(dir) = path.parent() {
                let _ = tokio::fs::create_dir_all(dir).await;
            }
            let tmp = path.with_extension(format!("tmp{}", std::process::id()));
            if tokio::fs::write(&tmp, &bytes).await.is_ok() {
                let _ = tokio::fs::rename(&tmp, &path).await;
            }
        }
        Ok(bytes)
    }

    fn cache_path(&self, integrity: &str) -> Option<PathBuf> {
        let dir = self.cache_dir.as_ref()?;
        let key = hex::encode(Sha256::digest(integrity.as_bytes()));
        Some(dir.join(format!("{key}.tgz")))
    }
}

/// Whether `bytes` match the Subresource Integrity string.
fn check(bytes: &[u8], integrity: &str) -> bool {
    integrity
        .parse::<ssri::Integrity>()
        .is_ok_and(|i| i.check(bytes).is_ok())
}
