//! The packages tenants use most, installed for real from the registry this
//! machine is configured with (`RULEBOX_NPM_REGISTRY`, else npm's own
//! `registry` setting): their trees resolve, every tarball matches its
//! integrity, and none of them needs a native add-on.

use rulebox_npm::{Dependency, Limits, Registry, RegistryConfig, install, resolve};
use std::process::Command;
use std::time::Duration;

fn configured_registry() -> String {
    if let Ok(url) = std::env::var("RULEBOX_NPM_REGISTRY") {
        return url;
    }
    let out = Command::new("npm")
        .args(["config", "get", "registry"])
        .output()
        .expect("npm runs (make setup installs Node and npm)");
    let url = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(url.starts_with("http"), "npm's registry setting: {url:?}");
    url
}

#[tokio::test]
async fn the_packages_tenants_use_install_from_the_configured_registry() {
    let cache = tempfile::tempdir().expect("cache");
    let registry = Registry::new(RegistryConfig {
        url: configured_registry(),
        cache_dir: Some(cache.path().to_path_buf()),
        timeout: Duration::from_secs(60),
    });
    let wanted = ["axios", "jsonwebtoken", "jose", "lodash", "uuid", "auth0"];
    let deps: Vec<Dependency> = wanted
        .iter()
        .map(|n| Dependency::parse(n).expect("name"))
        .collect();
    // The auth0 SDK alone unpacks to several MiB: this test is about
    // fidelity, the default 10 MiB limit has its own test.
    let limits = Limits {
        max_packages: 500,
        max_unpacked_bytes: 256 << 20,
    };
    let tree = resolve(&registry, &deps, limits).await.expect("resolve");
    for name in wanted {
        let top = tree
            .packages
            .iter()
            .find(|p| p.path == format!("node_modules/{name}"))
            .unwrap_or_else(|| panic!("{name} is not at the top of the tree: {tree:?}"));
        assert!(top.integrity.starts_with("sha512-"), "{top:?}");
    }
    let installed = install(&registry, &tree, limits).await.expect("install");
    for p in &tree.packages {
        let manifest = installed
            .files
            .get(&format!("{}/package.json", p.path))
            .unwrap_or_else(|| panic!("{} has no package.json", p.path));
        let manifest: serde_json::Value = serde_json::from_slice(manifest).expect("json");
        assert_eq!(
            manifest["name"],
            p.alias_of.as_ref().unwrap_or(&p.name).as_str()
        );
        assert_eq!(manifest["version"], p.version.as_str());
    }
    println!(
        "{} packages, {} files, {} bytes unpacked",
        tree.packages.len(),
        installed.files.len(),
        installed.unpacked_bytes
    );
    // A second install of the recorded tree comes from the cache, byte for byte.
    let again = install(&registry, &tree, limits).await.expect("again");
    assert_eq!(again, installed);
}
