//! Builds the JavaScript engine guest (QuickJS-ng via rquickjs, C compiled by
//! Debian's clang-19 against Debian's wasi-libc) and embeds it.

use std::path::{Path, PathBuf};

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default());
    let engine_dir = manifest_dir.join("js-engine");
    rulebox_guest_build::rerun_if_changed_tree(&engine_dir.join("src"));
    println!(
        "cargo:rerun-if-changed={}",
        engine_dir.join("Cargo.toml").display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        engine_dir.join("Cargo.lock").display()
    );

    let root = manifest_dir
        .parent()
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let result = rulebox_guest_build::debian_wasi_sysroot(&out_dir).and_then(|sysroot| {
        let env = [
            // rquickjs-sys would otherwise download a wasi-sdk, which cannot work offline.
            ("RQUICKJS_SYS_NO_WASI_SDK", "1".to_string()),
            ("CC_wasm32_wasip1", "clang-19".to_string()),
            ("AR_wasm32_wasip1", "llvm-ar-19".to_string()),
            (
                "CFLAGS_wasm32_wasip1",
                format!("--sysroot={}", sysroot.display()),
            ),
        ];
        rulebox_guest_build::build(
            &engine_dir.join("Cargo.toml"),
            &rulebox_guest_build::guest_target_dir(&root, "js-engine"),
            &env,
        )
    });
    let dir = match result {
        Ok(d) => d,
        Err(e) => panic!("cannot build the JavaScript engine guest: {e}"),
    };
    let wasm = dir.join("rulebox_js_engine.wasm");
    if let Err(e) = std::fs::copy(&wasm, out_dir.join("js_engine.wasm")) {
        panic!(
            "the JavaScript engine guest was not produced at {}: {e}",
            wasm.display()
        );
    }
}
