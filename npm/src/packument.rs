//! A package's registry metadata (the packument) and the choice of one of
//! its versions for a range, as npm makes it.

use crate::NpmError;
use nodejs_semver::{Range, Version};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The abbreviated packument (`application/vnd.npm.install-v1+json`): what
/// installing needs and no more.
#[derive(Debug, Clone, Deserialize)]
pub struct Packument {
    #[serde(rename = "dist-tags", default)]
    pub dist_tags: BTreeMap<String, String>,
    #[serde(default)]
    pub versions: BTreeMap<String, Manifest>,
}

/// One version of a package.
#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    #[serde(default)]
    pub dependencies: BTreeMap<String, String>,
    pub dist: Dist,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Dist {
    pub tarball: String,
    /// Subresource Integrity, usually `sha512-…`.
    #[serde(default)]
    pub integrity: Option<String>,
    /// The SHA-1 hex digest older packages carry instead.
    #[serde(default)]
    pub shasum: Option<String>,
}

impl Dist {
    /// The integrity a tarball is checked against: `dist.integrity`, else the
    /// SHA-1 `shasum` in SRI form.
    pub fn integrity(&self) -> Option<String> {
        if let Some(i) = self.integrity.as_ref().filter(|i| !i.is_empty()) {
            return Some(i.clone());
        }
        let hex = self.shasum.as_deref()?;
        ssri::Integrity::from_hex(hex, ssri::Algorithm::Sha1)
            .ok()
            .map(|i| i.to_string())
    }
}

impl Packument {
    /// The version `range` names: a dist-tag's version, else the `latest`
    /// tag's version when it satisfies the range (npm's preference), else
    /// the highest satisfying version. Pre-releases only when the range asks.
    pub fn pick(&self, name: &str, range: &str) -> Result<(String, &Manifest), NpmError> {
        let range = range.trim();
        let none = || NpmError::NoMatchingVersion {
            name: name.to_owned(),
            range: range.to_owned(),
        };
        let found = |v: &str| self.versions.get(v).map(|m| (v.to_owned(), m));
        if let Some(tagged) = self.dist_tags.get(range) {
            return found(tagged).ok_or_else(none);
        }
        let wanted: Range = if range.is_empty() { "*" } else { range }
            .parse()
            .map_err(|_| NpmError::InvalidRange {
                name: name.to_owned(),
                range: range.to_owned(),
            })?;
        if let Some(latest) = self.dist_tags.get("latest")
            && let Ok(v) = latest.parse::<Version>()
            && v.satisfies(&wanted)
            && let Some(hit) = found(latest)
        {
            return Ok(hit);
        }
        let best = self
            .versions
            .keys()
            .filter_map(|k| Some((k.parse::<Version>().ok()?, k)))
            .filter(|(v, _)| v.satisfies(&wanted))
            .max_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, k)| k.as_str());
        best.and_then(found).ok_or_else(none)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packument(versions: &[&str], latest: &str) -> Packument {
        let versions = versions
            .iter()
            .map(|v| {
                let dist = format!(r#"{{"dist": {{"tarball": "http://x/{v}.tgz"}}}}"#);
                (
                    v.to_string(),
                    serde_json::from_str(&dist).expect("manifest"),
                )
            })
            .collect();
        Packument {
            dist_tags: [("latest".to_owned(), latest.to_owned())].into(),
            versions,
        }
    }

    #[test]
    fn ranges_pick_as_npm_does() {
        let p = packument(
            &["1.0.0", "1.2.0", "1.3.0-beta.1", "2.0.0", "2.1.0"],
            "2.0.0",
        );
        let pick = |r: &str| p.pick("x", r).map(|(v, _)| v);
        assert_eq!(pick("latest").as_deref(), Ok("2.0.0"));
        assert_eq!(pick("^1.0.0").as_deref(), Ok("1.2.0"));
        // `latest` wins when it satisfies, even over a higher match.
        assert_eq!(pick("^2.0.0").as_deref(), Ok("2.0.0"));
        assert_eq!(pick(">=2.0.1").as_deref(), Ok("2.1.0"));
        assert_eq!(pick("1.x").as_deref(), Ok("1.2.0"));
        assert_eq!(pick("*").as_deref(), Ok("2.0.0"));
        assert_eq!(pick("1.3.0-beta.1").as_deref(), Ok("1.3.0-beta.1"));
        assert_eq!(
            pick("^3"),
            Err(NpmError::NoMatchingVersion {
                name: "x".into(),
                range: "^3".into()
            })
        );
        assert!(matches!(
            pick("git+https://example/x.git"),
            Err(NpmError::InvalidRange { .. })
        ));
    }
}
