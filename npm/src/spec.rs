//! A dependency as tenants write it: Auth0's `{name, version}` (a semver
//! range, an exact version or a dist-tag such as `latest`), or a Rule's
//! `require('name@version')` form.

use crate::NpmError;
use serde::{Deserialize, Serialize};

/// One requested package: Auth0's Action `dependencies` entry shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dependency {
    pub name: String,
    /// A semver range (`^1.2.0`, `1.x`, `>=2 <3`), an exact version, or a
    /// dist-tag (`latest`).
    pub version: String,
}

impl Dependency {
    /// `name@range`, `@scope/name@range` or a bare name (meaning `latest`), as
    /// `rulebox run --dependency` and a Rule's `require('name@version')` write it.
    pub fn parse(spec: &str) -> Result<Self, NpmError> {
        // A scoped name starts with `@`: the version separator is a later one.
        let (name, version) = match spec.rfind('@') {
            Some(at) if at > 0 => (&spec[..at], &spec[at + 1..]),
            _ => (spec, "latest"),
        };
        let version = if version.trim().is_empty() {
            "latest"
        } else {
            version.trim()
        };
        check_name(name)?;
        Ok(Self {
            name: name.to_owned(),
            version: version.to_owned(),
        })
    }
}

/// npm's rules for a new package name: at most 214 characters, lower case,
/// URL-safe, not starting with `.` or `_`, optionally `@scope/`. Checked
/// before a name goes into a registry URL.
pub fn check_name(name: &str) -> Result<(), NpmError> {
    let bad = || NpmError::InvalidName(name.to_owned());
    if name.is_empty() || name.len() > 214 {
        return Err(bad());
    }
    let part_ok = |p: &str| {
        !p.is_empty()
            && !p.starts_with('.')
            && !p.starts_with('_')
            && p.bytes().all(|b| {
                b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || matches!(b, b'-' | b'.' | b'_' | b'~')
            })
    };
    let ok = match name.strip_prefix('@') {
        Some(scoped) => match scoped.split_once('/') {
            Some((scope, pkg)) => part_ok(scope) && part_ok(pkg),
            None => false,
        },
        None => part_ok(name),
    };
    if ok { Ok(()) } else { Err(bad()) }
}

/// The registry path of a package's metadata: a scoped name's `/` is encoded,
/// as npm's own client does.
pub fn registry_path(name: &str) -> String {
    name.replacen('/', "%2f", 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_as_npm_writes_them() {
        let d = Dependency::parse("lodash@^4.17.0").expect("plain");
        assert_eq!((d.name.as_str(), d.version.as_str()), ("lodash", "^4.17.0"));
        let d = Dependency::parse("@auth0/rule-utilities@1.2.0").expect("scoped");
        assert_eq!(
            (d.name.as_str(), d.version.as_str()),
            ("@auth0/rule-utilities", "1.2.0")
        );
        let d = Dependency::parse("uuid").expect("bare");
        assert_eq!(d.version, "latest");
        let d = Dependency::parse("@scope/pkg").expect("bare scoped");
        assert_eq!(
            (d.name.as_str(), d.version.as_str()),
            ("@scope/pkg", "latest")
        );
    }

    #[test]
    fn names_that_could_escape_a_url_or_a_path_are_refused() {
        for bad in [
            "", "../etc", ".hidden", "_x", "a/b", "UPPER", "a b", "@scope", "@/x", "a?b", "a#b",
        ] {
            assert_eq!(
                check_name(bad),
                Err(NpmError::InvalidName(bad.to_owned())),
                "{bad}"
            );
        }
        assert_eq!(registry_path("@scope/pkg"), "@scope%2fpkg");
    }
}
