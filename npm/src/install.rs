//! Installing a recorded tree: each tarball fetched (or taken from the
//! cache), checked against the integrity the tree recorded, and unpacked
//! under its directory. Nothing is resolved again, so a version's tree is
//! the same at every install.

use crate::registry::Registry;
use crate::tarball::unpack;
use crate::{Limits, NpmError, Tree};
use std::collections::BTreeMap;

/// An installed tree's files, by path from the code's root
/// (`node_modules/a/index.js`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Installed {
    pub files: BTreeMap<String, Vec<u8>>,
    pub unpacked_bytes: u64,
}

impl Installed {
    /// The files `require` can load (JavaScript and JSON), as text: what the
    /// sandbox gets. Type declarations, source maps, docs and binaries stay out
    /// of the snapshot.
    /// Consumes the tree: its files are moved, not copied (a tree can be tens of MB).
    pub fn into_scripts(self) -> BTreeMap<String, String> {
        self.files
            .into_iter()
            .filter(|(path, _)| {
                [".js", ".cjs", ".mjs", ".json"]
                    .iter()
                    .any(|ext| path.ends_with(ext))
            })
            .filter_map(|(path, bytes)| Some((path, String::from_utf8(bytes).ok()?)))
            .collect()
    }
}

#[tracing::instrument(skip_all, fields(packages = tree.packages.len()))]
pub async fn install(
    registry: &Registry,
    tree: &Tree,
    limits: Limits,
) -> Result<Installed, NpmError> {
    if tree.packages.len() > limits.max_packages {
        let name = tree
            .packages
            .last()
            .map(|p| p.name.clone())
            .unwrap_or_default();
        return Err(NpmError::TooManyPackages {
            name,
            limit: limits.max_packages,
        });
    }
    let mut budget = limits.max_unpacked_bytes;
    let mut files = BTreeMap::new();
    for p in &tree.packages {
        let tgz = registry
            .tarball(
                &p.name,
                &p.version,
                &p.tarball,
                &p.integrity,
                limits.max_unpacked_bytes,
            )
            .await?;
        for (rel, bytes) in unpack(
            &p.name,
            &p.version,
            &tgz,
            &mut budget,
            limits.max_unpacked_bytes,
        )? {
            files.insert(format!("{}/{rel}", p.path), bytes);
        }
    }
    Ok(Installed {
        files,
        unpacked_bytes: limits.max_unpacked_bytes - budget,
    })
}
