//! The resolver and installer against a registry this test serves on
//! loopback: packuments and tarballs made here from fixture packages, so
//! nothing depends on the network. Every way an install can fail ends in
//! its own error kind.

use rulebox_npm::testing::{FixturePackage, FixtureRegistry, sha512, tgz};
use rulebox_npm::{Dependency, Limits, NpmError, Registry, RegistryConfig, Tree, install, resolve};
use serde_json::{Value, json};
use std::time::Duration;

fn pkg(name: &str, version: &str, deps: &[(&str, &str)]) -> FixturePackage {
    FixturePackage::new(name, version, deps)
}

async fn serve(pkgs: Vec<FixturePackage>, latest: &[(&str, &str)]) -> FixtureRegistry {
    FixtureRegistry::start(&pkgs, latest)
}

fn registry(url: &str, cache: Option<&std::path::Path>) -> Registry {
    Registry::new(RegistryConfig {
        url: url.to_owned(),
        cache_dir: cache.map(|p| p.to_path_buf()),
        timeout: Duration::from_secs(5),
    })
}

fn dep(spec: &str) -> Dependency {
    Dependency::parse(spec).expect("spec")
}

fn paths(tree: &Tree) -> Vec<(String, String)> {
    tree.packages
        .iter()
        .map(|p| (p.path.clone(), p.version.clone()))
        .collect()
}

#[tokio::test]
async fn a_tree_resolves_with_npm_placement_and_installs_from_its_record() {
    let reg = serve(
        vec![
            pkg(
                "a",
                "1.0.0",
                &[
                    ("b", "^1.0.0"),
                    ("@s/util", "~2.1.0"),
                    ("b-old", "npm:b@1.0.0"),
                ],
            ),
            pkg("b", "1.0.0", &[]),
            pkg("b", "1.4.2", &[]),
            pkg("b", "2.0.0", &[]),
            pkg("c", "1.0.0", &[("b", "^2.0.0")]),
            pkg("@s/util", "2.1.3", &[("a", "^1.0.0")]),
        ],
        &[("b", "1.4.2")],
    )
    .await;
    let cache = tempfile::tempdir().expect("cache");
    let r = registry(&reg.url, Some(cache.path()));
    let tree = resolve(&r, &[dep("a@^1"), dep("c")], Limits::default())
        .await
        .expect("resolve");
    assert_eq!(
        paths(&tree),
        [
            ("node_modules/@s/util", "2.1.3"),
            ("node_modules/a", "1.0.0"),
            // `latest` (1.4.2) satisfies a's ^1.0.0, so it is taken over the
            // highest match; the root holds it, and c's ^2 nests under c.
            ("node_modules/b", "1.4.2"),
            // An alias (`npm:b@1.0.0`) is the package b under another name.
            ("node_modules/b-old", "1.0.0"),
            ("node_modules/c", "1.0.0"),
            ("node_modules/c/node_modules/b", "2.0.0"),
        ]
        .map(|(p, v)| (p.to_owned(), v.to_owned()))
    );
    assert!(
        tree.packages
            .iter()
            .all(|p| p.integrity.starts_with("sha512-"))
    );

    let installed = install(&r, &tree, Limits::default())
        .await
        .expect("install");
    assert_eq!(
        installed
            .files
            .get("node_modules/c/node_modules/b/index.js")
            .map(Vec::as_slice),
        Some(&b"module.exports = 1;"[..])
    );
    let manifest: Value = serde_json::from_slice(&installed.files["node_modules/b/package.json"])
        .expect("package.json");
    assert_eq!(manifest["version"], "1.4.2");
    assert_eq!(installed.files.len(), 12);
    let old: Value = serde_json::from_slice(&installed.files["node_modules/b-old/package.json"])
        .expect("package.json");
    assert_eq!(
        (old["name"].as_str(), old["version"].as_str()),
        (Some("b"), Some("1.0.0"))
    );

    // The record is enough: with the registry gone, the cache (by integrity)
    // installs the same files, and resolving is what fails.
    reg.served.lock().expect("lock").clear();
    let again = install(&r, &tree, Limits::default())
        .await
        .expect("from cache");
    assert_eq!(again, installed);
    assert_eq!(
        resolve(&r, &[dep("a@^1")], Limits::default()).await,
        Err(NpmError::UnknownPackage("a".into()))
    );
}

#[tokio::test]
async fn each_failure_is_its_own_kind() {
    let native = pkg("gyp", "1.0.0", &[]).with_files(&[("binding.gyp", "{}"), ("index.js", "")]);
    let prebuilt = pkg("prebuilt", "1.0.0", &[])
        .with_manifest(json!({"scripts": {"install": "prebuild-install || node-gyp rebuild"}}));
    let big = pkg("big", "1.0.0", &[]).with_files(&[("blob.txt", include_str!("registry.rs"))]);
    let reg = serve(
        vec![
            pkg("ok", "1.0.0", &[]),
            pkg("chain-1", "1.0.0", &[("chain-2", "*")]),
            pkg("chain-2", "1.0.0", &[("chain-3", "*")]),
            pkg("chain-3", "1.0.0", &[]),
            native,
            prebuilt,
            big,
        ],
        &[],
    )
    .await;
    let r = registry(&reg.url, None);
    let limits = Limits::default();
    let install_one = |spec: &'static str, limits: Limits| {
        let r = r.clone();
        async move {
            let tree = resolve(&r, &[dep(spec)], limits).await?;
            install(&r, &tree, limits).await
        }
    };

    assert_eq!(
        install_one("missing", limits).await,
        Err(NpmError::UnknownPackage("missing".into()))
    );
    assert_eq!(
        install_one("ok@^2", limits).await,
        Err(NpmError::NoMatchingVersion {
            name: "ok".into(),
            range: "^2".into()
        })
    );
    assert!(matches!(
        install_one("gyp", limits).await,
        Err(NpmError::NativeAddon { name, why, .. }) if name == "gyp" && why.contains("binding.gyp")
    ));
    assert!(matches!(
        install_one("prebuilt", limits).await,
        Err(NpmError::NativeAddon { name, why, .. }) if name == "prebuilt" && why.contains("install script")
    ));
    let small = Limits {
        max_unpacked_bytes: 4096,
        ..limits
    };
    assert!(matches!(
        install_one("big", small).await,
        Err(NpmError::TreeTooLarge { name, limit: 4096 }) if name == "big@1.0.0"
    ));
    let few = Limits {
        max_packages: 2,
        ..limits
    };
    assert_eq!(
        install_one("chain-1", few).await,
        Err(NpmError::TooManyPackages {
            name: "chain-3".into(),
            limit: 2
        })
    );
    assert!(install_one("chain-1", limits).await.is_ok());

    // A tarball that is not the one the packument's integrity names.
    let file = "/tarballs/ok-1.0.0.tgz".to_owned();
    reg.served
        .lock()
        .expect("lock")
        .insert(file, pkg("ok", "1.0.1", &[]).tarball());
    assert!(matches!(
        install_one("ok", limits).await,
        Err(NpmError::IntegrityMismatch { name, version, .. }) if name == "ok" && version == "1.0.0"
    ));

    // A tarball whose file climbs out of its package directory.
    let hostile = tgz(&[
        ("package/package.json".into(), br#"{"name":"ok"}"#.to_vec()),
        ("package/../../escape.js".into(), b"x".to_vec()),
    ]);
    let integrity = sha512(&hostile);
    reg.served
        .lock()
        .expect("lock")
        .insert("/tarballs/ok-1.0.0.tgz".into(), hostile);
    let tree = Tree {
        packages: vec![rulebox_npm::Placed {
            path: "node_modules/ok".into(),
            name: "ok".into(),
            alias_of: None,
            version: "1.0.0".into(),
            integrity,
            tarball: format!("{}/tarballs/ok-1.0.0.tgz", reg.url),
        }],
    };
    assert!(matches!(
        install(&r, &tree, limits).await,
        Err(NpmError::BadTarball { reason, .. }) if reason.contains("unsafe path")
    ));

    // Names that could reach outside the registry's package paths.
    assert_eq!(
        resolve(
            &r,
            &[Dependency {
                name: "../admin".into(),
                version: "1".into()
            }],
            limits
        )
        .await,
        Err(NpmError::InvalidName("../admin".into()))
    );
}

#[tokio::test]
async fn a_registry_that_is_down_is_unreachable_not_unknown() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    drop(listener);
    let r = registry(&url, None);
    assert!(matches!(
        resolve(&r, &[dep("lodash")], Limits::default()).await,
        Err(NpmError::RegistryUnreachable { name, .. }) if name == "lodash"
    ));
}
