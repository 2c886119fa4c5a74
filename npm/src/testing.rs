//! A registry for tests (feature `fixture-registry`): packuments and tarballs
//! made from fixture packages, served on loopback by a thread of its own, so
//! tests of installing need no network and can make the registry misbehave.

use axum::Router;
use axum::http::{StatusCode, Uri};
use axum::response::IntoResponse;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// One fixture package version.
#[derive(Debug, Clone)]
pub struct FixturePackage {
    pub name: String,
    pub version: String,
    pub dependencies: Vec<(String, String)>,
    /// Files besides package.json, by path inside the package.
    pub files: Vec<(String, String)>,
    /// Extra package.json fields.
    pub manifest: Value,
}

impl FixturePackage {
    /// `name@version` with `index.js` exporting 1.
    pub fn new(name: &str, version: &str, dependencies: &[(&str, &str)]) -> Self {
        Self {
            name: name.to_owned(),
            version: version.to_owned(),
            dependencies: dependencies
                .iter()
                .map(|(n, r)| (n.to_string(), r.to_string()))
                .collect(),
            files: vec![("index.js".into(), "module.exports = 1;".into())],
            manifest: json!({}),
        }
    }

    pub fn with_files(mut self, files: &[(&str, &str)]) -> Self {
        self.files = files
            .iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect();
        self
    }

    pub fn with_manifest(mut self, extra: Value) -> Self {
        self.manifest = extra;
        self
    }

    fn dependencies_json(&self) -> serde_json::Map<String, Value> {
        self.dependencies
            .iter()
            .map(|(n, r)| (n.clone(), json!(r)))
            .collect()
    }

    /// The package's tarball, as `npm pack` lays it out (`package/...`).
    pub fn tarball(&self) -> Vec<u8> {
        let mut manifest = json!({"name": self.name, "version": self.version,
            "dependencies": self.dependencies_json()});
        if let (Some(m), Some(extra)) = (manifest.as_object_mut(), self.manifest.as_object()) {
            m.extend(extra.clone());
        }
        let mut entries = vec![(
            "package/package.json".to_owned(),
            manifest.to_string().into_bytes(),
        )];
        for (f, text) in &self.files {
            entries.push((format!("package/{f}"), text.as_bytes().to_vec()));
        }
        tgz(&entries)
    }
}

/// A gzipped tar of `entries`, paths written as given (a hostile `../x` too).
pub fn tgz(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (path, bytes) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        let name = &mut h.as_old_mut().name;
        let n = path.len().min(name.len());
        name[..n].copy_from_slice(&path.as_bytes()[..n]);
        h.set_cksum();
        // Appending to a Vec cannot fail.
        let _ = tar.append(&h, bytes.as_slice());
    }
    let tar = tar.into_inner().unwrap_or_default();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let _ = gz.write_all(&tar);
    gz.finish().unwrap_or_default()
}

/// The integrity npm publishes: SHA-512.
pub fn sha512(bytes: &[u8]) -> String {
    ssri::IntegrityOpts::new()
        .algorithm(ssri::Algorithm::Sha512)
        .chain(bytes)
        .result()
        .to_string()
}

/// A running registry: `GET /{name}` (scoped names `@s%2fn`) and
/// `GET /tarballs/{name}-{version}.tgz`. [`FixtureRegistry::served`] can be
/// changed to serve other bytes than the packuments' integrities name.
pub struct FixtureRegistry {
    pub url: String,
    pub served: Arc<Mutex<HashMap<String, Vec<u8>>>>,
}

impl FixtureRegistry {
    /// Serves `packages`; the last version listed of each is its `latest`,
    /// unless `latest` names another.
    pub fn start(packages: &[FixturePackage], latest: &[(&str, &str)]) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("local address"));
        let mut served: HashMap<String, Vec<u8>> = HashMap::new();
        let mut packuments: HashMap<String, Value> = HashMap::new();
        for p in packages {
            let bytes = p.tarball();
            let file = format!("/tarballs/{}-{}.tgz", p.name.replace('/', "-"), p.version);
            let entry = packuments
                .entry(p.name.clone())
                .or_insert_with(|| json!({"name": p.name, "dist-tags": {}, "versions": {}}));
            entry["versions"][&p.version] = json!({"name": p.name, "version": p.version,
                "dependencies": p.dependencies_json(),
                "dist": {"tarball": format!("{url}{file}"), "integrity": sha512(&bytes)}});
            entry["dist-tags"]["latest"] = json!(p.version);
            served.insert(file, bytes);
        }
        for (name, version) in latest {
            if let Some(p) = packuments.get_mut(*name) {
                p["dist-tags"]["latest"] = json!(version);
            }
        }
        for (name, p) in packuments {
            served.insert(
                format!("/{}", name.replace('/', "%2f")),
                p.to_string().into_bytes(),
            );
        }
        let served = Arc::new(Mutex::new(served));
        let state = served.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the fixture registry");
            rt.block_on(async move {
                listener.set_nonblocking(true).expect("nonblocking");
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let app = Router::new().fallback(move |uri: Uri| {
                    let state = state.clone();
                    async move {
                        let found = state.lock().ok().and_then(|s| s.get(uri.path()).cloned());
                        match found {
                            Some(b) => (StatusCode::OK, b).into_response(),
                            None => StatusCode::NOT_FOUND.into_response(),
                        }
                    }
                });
                let _ = axum::serve(listener, app).await;
            });
        });
        Self { url, served }
    }
}
