//! The official Auth0 Python SDK (auth0-python 4.x with `protocol="http"`)
//! drives a real `rulebox serve`: its management clients create and deploy
//! an Action, `GetToken.login` logs in, and its `TokenVerifier` verifies the
//! ID token against our JWKS. The script is `tests/sdk/auth0_python_flow.py`.

mod support;

use std::process::Command;

fn ensure_sdk() {
    let have = Command::new("python3")
        .args(["-c", "import auth0, jwt"])
        .status()
        .is_ok_and(|s| s.success());
    if have {
        return;
    }
    let reqs = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sdk/requirements.txt");
    let out = Command::new("python3")
        .args(["-m", "pip", "install", "-q", "-r", reqs])
        .output()
        .expect("python3 -m pip runs");
    assert!(
        out.status.success(),
        "installing auth0-python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_official_auth0_python_sdk_works_against_rulebox() {
    ensure_sdk();
    let s = support::start();
    let field = |k: &str| {
        s.creds[k]
            .as_str()
            .expect("bootstrap credential")
            .to_owned()
    };
    let out = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/sdk/auth0_python_flow.py"
        ))
        .args([
            s.base.clone(),
            field("tenant"),
            field("client_id"),
            field("client_secret"),
        ])
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("auth0-python flow ok"), "{stdout}");
}
