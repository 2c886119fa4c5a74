//! Resolving ranges to a placed tree: every package's exact version, its
//! integrity, and its directory under `node_modules`, laid out the way npm
//! (3 and later) hoists, so Node's resolution finds each package's own
//! dependency versions.

use crate::packument::Packument;
use crate::registry::Registry;
use crate::{Dependency, NpmError};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, VecDeque};

/// Bounds on one code version's dependencies (per tenant overridable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_packages: usize,
    /// Bytes of all unpacked files together.
    pub max_unpacked_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_packages: 500,
            max_unpacked_bytes: 10 << 20,
        }
    }
}

/// One installed package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placed {
    /// Its directory: `node_modules/a`, or `node_modules/a/node_modules/b`
    /// when the root holds another version of `b`.
    pub path: String,
    /// The name it is required by (its directory's name).
    pub name: String,
    /// The registry package behind an alias (`"x": "npm:real@^1"`); `None`
    /// when it is `name` itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias_of: Option<String>,
    pub version: String,
    /// Subresource Integrity of its tarball.
    pub integrity: String,
    pub tarball: String,
}

/// A resolved dependency tree, recorded with the code version it belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tree {
    /// By path.
    pub packages: Vec<Placed>,
}

/// Resolves `deps` and everything they depend on (`dependencies` only:
/// optional dependencies are platform-specific builds that cannot load in
/// the sandbox, and peers are the tenant's to list).
#[tracing::instrument(skip_all, fields(deps = deps.len()))]
pub async fn resolve(
    registry: &Registry,
    deps: &[Dependency],
    limits: Limits,
) -> Result<Tree, NpmError> {
    let mut packuments: HashMap<String, Packument> = HashMap::new();
    let mut placed: BTreeMap<String, Placed> = BTreeMap::new();
    // (the directory whose code asks, the name, the range)
    let mut queue: VecDeque<(String, String, String)> = deps
        .iter()
        .map(|d| (String::new(), d.name.clone(), d.version.clone()))
        .collect();
    while let Some((from, name, range)) = queue.pop_front() {
        // `npm:real@range` installs the package `real` under the name `name`.
        let (package, range) = match range.strip_prefix("npm:") {
            Some(aliased) => {
                let real = Dependency::parse(aliased)?;
                (real.name, real.version)
            }
            None => (name.clone(), range),
        };
        if !packuments.contains_key(&package) {
            let p = registry.packument(&package).await?;
            packuments.insert(package.clone(), p);
        }
        let Some(packument) = packuments.get(&package) else {
            continue;
        };
        let (version, manifest) = packument.pick(&package, &range)?;
        let alias_of = (package != name).then_some(package);
        let Some(dir) = placement(&placed, &from, &name, alias_of.as_deref(), &version) else {
            continue; // already reachable from `from` at this version
        };
        if placed.len() >= limits.max_packages {
            return Err(NpmError::TooManyPackages {
                name,
                limit: limits.max_packages,
            });
        }
        let integrity = manifest
            .dist
            .integrity()
            .ok_or_else(|| NpmError::BadPackument {
                name: name.clone(),
                reason: format!("{version} has no dist.integrity or dist.shasum"),
            })?;
        for (dep, dep_range) in &manifest.dependencies {
            queue.push_back((dir.clone(), dep.clone(), dep_range.clone()));
        }
        placed.insert(
            dir.clone(),
            Placed {
                path: dir,
                name: name.clone(),
                alias_of,
                version,
                integrity,
                tarball: manifest.dist.tarball.clone(),
            },
        );
    }
    Ok(Tree {
        packages: placed.into_values().collect(),
    })
}

/// Where `name@version`, needed by the code in directory `from`, goes: the
/// directory closest to the root from which Node's upward search from `from`
/// finds it and nothing shadows it. `None`: the search already finds that
/// version.
fn placement(
    placed: &BTreeMap<String, Placed>,
    from: &str,
    name: &str,
    alias_of: Option<&str>,
    version: &str,
) -> Option<String> {
    let mut best = child(from, name);
    let mut dir = Some(from.to_owned());
    while let Some(d) = dir {
        let here = child(&d, name);
        match placed.get(&here) {
            Some(p) if p.version == version && p.alias_of.as_deref() == alias_of => return None,
            Some(_) => break, // another version here shadows anything higher
            None => best = here,
        }
        dir = parent(&d);
    }
    Some(best)
}

/// `dir/node_modules/name` (`node_modules/name` at the root).
fn child(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        format!("node_modules/{name}")
    } else {
        format!("{dir}/node_modules/{name}")
    }
}

/// The package directory that holds `dir` (the root holds top-level ones).
fn parent(dir: &str) -> Option<String> {
    if dir.is_empty() {
        return None;
    }
    match dir.rfind("/node_modules/") {
        Some(cut) => Some(dir[..cut].to_owned()),
        None => Some(String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_walk_up_to_the_root() {
        assert_eq!(parent("node_modules/a"), Some(String::new()));
        assert_eq!(
            parent("node_modules/a/node_modules/b"),
            Some("node_modules/a".into())
        );
        assert_eq!(
            parent("node_modules/@s/a/node_modules/b"),
            Some("node_modules/@s/a".into())
        );
        assert_eq!(parent(""), None);
    }
}
