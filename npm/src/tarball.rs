//! Unpacking a package's tarball in memory, refusing what cannot or must not
//! come into the sandbox: links, paths that climb out of the package, and
//! native add-ons.

use crate::NpmError;
use std::io::Read;

/// A package's files, by path inside the package.
pub(crate) type Files = Vec<(String, Vec<u8>)>;

/// Unpacks `tgz`, spending from `budget` (bytes of the whole tree still
/// allowed); the first path component (`package/` by npm's convention) is
/// dropped.
pub(crate) fn unpack(
    name: &str,
    version: &str,
    tgz: &[u8],
    budget: &mut u64,
    limit: u64,
) -> Result<Files, NpmError> {
    let bad = |reason: String| NpmError::BadTarball {
        name: name.to_owned(),
        version: version.to_owned(),
        reason,
    };
    let native = |why: &str| NpmError::NativeAddon {
        name: name.to_owned(),
        version: version.to_owned(),
        why: why.to_owned(),
    };
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(tgz));
    let mut files = Files::new();
    for entry in archive.entries().map_err(|e| bad(e.to_string()))? {
        let mut entry = entry.map_err(|e| bad(e.to_string()))?;
        let kind = entry.header().entry_type();
        if kind.is_dir() || kind.is_pax_global_extensions() || kind.is_pax_local_extensions() {
            continue;
        }
        if !kind.is_file() {
            // Links could point anywhere; npm packages have no need of them.
            continue;
        }
        let path = entry.path().map_err(|e| bad(e.to_string()))?;
        let mut parts = Vec::new();
        for c in path.components().skip(1) {
            match c {
                std::path::Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
                _ => return Err(bad(format!("unsafe path {}", path.display()))),
            }
        }
        if parts.is_empty() {
            continue;
        }
        let rel = parts.join("/");
        if rel == "binding.gyp" {
            return Err(native("it has a binding.gyp"));
        }
        if rel.ends_with(".node") {
            return Err(native(&format!("it ships the compiled module {rel}")));
        }
        let size = entry.header().size().map_err(|e| bad(e.to_string()))?;
        if size > *budget {
            return Err(NpmError::TreeTooLarge {
                name: format!("{name}@{version}"),
                limit,
            });
        }
        *budget -= size;
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| bad(e.to_string()))?;
        files.push((rel, bytes));
    }
    if let Some((_, manifest)) = files.iter().find(|(p, _)| p == "package.json") {
        let manifest: serde_json::Value =
            serde_json::from_slice(manifest).map_err(|e| bad(format!("package.json: {e}")))?;
        if manifest["gypfile"].as_bool() == Some(true) {
            return Err(native("its package.json sets gypfile"));
        }
        for script in ["preinstall", "install", "postinstall"] {
            let text = manifest["scripts"][script].as_str().unwrap_or("");
            if ["node-gyp", "prebuild-install", "node-pre-gyp", "cmake-js"]
                .iter()
                .any(|tool| text.contains(tool))
            {
                return Err(native(&format!("its {script} script builds one")));
            }
        }
    } else {
        return Err(bad("no package.json".into()));
    }
    Ok(files)
}
