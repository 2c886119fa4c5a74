//! Used from build scripts to compile guest crates (the JavaScript engine,
//! the example rules) for `wasm32-wasip1`, so tests and the binary always
//! run guests built from the sources in this repository — no `.wasm` is
//! ever committed.

use std::path::{Path, PathBuf};
use std::process::Command;

pub const TARGET: &str = "wasm32-wasip1";

/// Environment of the outer build that must not leak into the nested one:
/// flags for the host target would break a wasm build, and sharing the
/// jobserver or target directory can deadlock.
const LEAKY_ENV: &[&str] = &[
    "CARGO_ENCODED_RUSTFLAGS",
    "RUSTFLAGS",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET",
    "CARGO_BUILD_RUSTFLAGS",
    "CARGO_MAKEFLAGS",
    "MAKEFLAGS",
    "MFLAGS",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "CARGO_LLVM_COV",
    "LLVM_PROFILE_FILE",
];

/// The directory where guest builds go: beside the host's `target/`, shared
/// by debug and release host builds so a guest is compiled once.
pub fn guest_target_dir(workspace_root: &Path, name: &str) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root.join("target"))
        .join(name)
}

/// A sysroot folder for Debian's wasi-libc (`/usr/include/wasm32-wasi`,
/// `/usr/lib/wasm32-wasi`), as clang's `--sysroot` expects it.
pub fn debian_wasi_sysroot(out_dir: &Path) -> Result<PathBuf, String> {
    let include = Path::new("/usr/include/wasm32-wasi");
    let lib = Path::new("/usr/lib/wasm32-wasi");
    if !include.exists() || !lib.exists() {
        return Err(
            "wasi-libc is not installed (/usr/include/wasm32-wasi): run `bash scripts/setup.sh` \
             (apt-get install clang-19 lld-19 llvm-19 wasi-libc libclang-rt-19-dev-wasm32)"
                .into(),
        );
    }
    let root = out_dir.join("wasi-sysroot");
    std::fs::create_dir_all(&root).map_err(|e| e.to_string())?;
    for (name, target) in [("include", include), ("lib", lib)] {
        let link = root.join(name);
        if std::fs::read_link(&link).ok().as_deref() != Some(target) {
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink(target, &link).map_err(|e| e.to_string())?;
        }
    }
    Ok(root)
}

/// Runs `cargo build --release --target wasm32-wasip1` for the workspace at
/// `manifest` into `target_dir`; returns the directory holding the `.wasm`s.
pub fn build(
    manifest: &Path,
    target_dir: &Path,
    env: &[(&str, String)],
) -> Result<PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.arg("build")
        .arg("--release")
        .arg("--locked")
        .arg("--target")
        .arg(TARGET)
        .arg("--manifest-path")
        .arg(manifest)
        .arg("--target-dir")
        .arg(target_dir);
    for var in LEAKY_ENV {
        cmd.env_remove(var);
    }
    for (k, _) in std::env::vars() {
        if k.starts_with("CARGO_PROFILE_")
            || k.starts_with("CARGO_CFG_")
            || k.starts_with("CARGO_FEATURE_")
        {
            cmd.env_remove(k);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let status = cmd
        .status()
        .map_err(|e| format!("could not run cargo for {}: {e}", manifest.display()))?;
    if !status.success() {
        return Err(format!(
            "building {} for {TARGET} failed (is the target installed? `rustup target add {TARGET}`, \
             or run `bash scripts/setup.sh`)",
            manifest.display()
        ));
    }
    Ok(target_dir.join(TARGET).join("release"))
}

/// Tells cargo to rebuild when anything under `dir` changes (skipping build output).
pub fn rerun_if_changed_tree(dir: &Path) {
    println!("cargo:rerun-if-changed={}", dir.display());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.file_name().is_some_and(|n| n == "target") {
            continue;
        }
        if p.is_dir() {
            rerun_if_changed_tree(&p);
        } else {
            println!("cargo:rerun-if-changed={}", p.display());
        }
    }
}
