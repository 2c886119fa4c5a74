//! The official Auth0 Python SDK (auth0-python 4.x with `protocol="http"`)
//! drives a real `rulebox serve`: its management clients create and deploy
//! an Action, `GetToken.login` logs in, and its `TokenVerifier` verifies the
//! ID token against our JWKS. A user the Action sends to MFA gets the SDK's
//! `Auth0Error(mfa_required)` with an `mfa_token`, enrolls, proves a code
//! computed by the script's own RFC 6238 implementation, and the SDK's user
//! client lists and resets the enrollment. The script is
//! `tests/sdk/auth0_python_flow.py`.
//!
//! The pinned SDK of `tests/sdk/requirements.txt` is used from the `python3`
//! on PATH (or `$PYTHON`) when that has it; otherwise it is installed with
//! `pip install --target` under cargo's target directory, which needs no
//! virtualenv, works where the system Python is "externally managed"
//! (PEP 668: Debian 12, Ubuntu 24.04) and leaves the machine's Python alone.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;

const REQUIREMENTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sdk/requirements.txt");
const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/sdk/auth0_python_flow.py"
);

fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

/// `PYTHONPATH` with `dir` first, when there is a `dir`.
fn python_cmd(extra_path: Option<&Path>) -> Command {
    let mut cmd = Command::new(python());
    if let Some(dir) = extra_path {
        let mut paths = vec![dir.to_path_buf()];
        if let Some(old) = std::env::var_os("PYTHONPATH") {
            paths.extend(std::env::split_paths(&old));
        }
        cmd.env(
            "PYTHONPATH",
            std::env::join_paths(paths).expect("PYTHONPATH"),
        );
    }
    cmd
}

/// The `auth0-python==X` pin of requirements.txt.
fn pinned_version() -> String {
    std::fs::read_to_string(REQUIREMENTS)
        .expect("tests/sdk/requirements.txt")
        .lines()
        .find_map(|l| l.trim().strip_prefix("auth0-python=="))
        .map(|v| v.trim().to_owned())
        .expect("requirements.txt pins auth0-python==X")
}

/// Whether `python` (with `extra_path`) imports the SDK at exactly `version`.
fn has_sdk(extra_path: Option<&Path>, version: &str) -> bool {
    python_cmd(extra_path)
        .args([
            "-c",
            "import sys, auth0, jwt; sys.exit(auth0.__version__ != sys.argv[1])",
            version,
        ])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Makes the pinned SDK importable; returns the directory to put on
/// `PYTHONPATH`, or `None` when the interpreter already has it.
fn ensure_sdk() -> Option<PathBuf> {
    let version = pinned_version();
    if has_sdk(None, &version) {
        return None;
    }
    let py_version = python_cmd(None)
        .args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
        .output()
        .unwrap_or_else(|e| panic!("`{}` does not run: {e}", python()));
    assert!(
        py_version.status.success(),
        "`{}` does not run: {}",
        python(),
        String::from_utf8_lossy(&py_version.stderr)
    );
    let py_version = String::from_utf8_lossy(&py_version.stdout)
        .trim()
        .to_owned();
    let name = format!("auth0-python-{version}-py{py_version}");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(&name);
    if has_sdk(Some(&dir), &version) {
        return Some(dir);
    }
    // Into a fresh directory, renamed into place only once complete.
    let partial = dir.with_file_name(format!("{name}.partial"));
    let _ = std::fs::remove_dir_all(&partial);
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!("installing auth0-python=={version} into {}", dir.display());
    let out = python_cmd(None)
        .args([
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "--no-input",
            "--target",
        ])
        .arg(&partial)
        .args(["-r", REQUIREMENTS])
        .output()
        .unwrap_or_else(|e| panic!("`{} -m pip` does not run: {e}", python()));
    assert!(
        out.status.success(),
        "`{} -m pip install --target {} -r {REQUIREMENTS}` failed ({}):\n{}\n{}",
        python(),
        partial.display(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::rename(&partial, &dir).expect("move the installed SDK into place");
    assert!(
        has_sdk(Some(&dir), &version),
        "pip installed auth0-python=={version} into {} but `{}` cannot import it",
        dir.display(),
        python()
    );
    Some(dir)
}

#[test]
fn the_official_auth0_python_sdk_works_against_rulebox() {
    let sdk_path = ensure_sdk();
    let s = support::start();
    let field = |k: &str| {
        s.creds[k]
            .as_str()
            .unwrap_or_else(|| panic!("bootstrap credential {k} in {}", s.creds))
            .to_owned()
    };
    let out = python_cmd(sdk_path.as_deref())
        .arg(SCRIPT)
        .args([
            s.base.clone(),
            field("tenant"),
            field("client_id"),
            field("client_secret"),
        ])
        .output()
        .unwrap_or_else(|e| panic!("`{}` does not run: {e}", python()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}{stderr}");
    assert!(
        out.status.success(),
        "auth0_python_flow.py exited with {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    assert!(stdout.contains("flow ok"), "{stdout}");
}
