//! Issue 7: `rulebox actions deploy|test|rollback` against a running server.

use crate::support;

use crate::support::{api, start};
use serde_json::{Value, json};
use std::process::Command;

fn cli(s: &support::Server, args: &[&str]) -> (bool, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rulebox"))
        .args(args)
        .args(["--tenant", "default", "--server", &s.base])
        .env(
            "RULEBOX_CLIENT_ID",
            s.creds["client_id"].as_str().expect("id"),
        )
        .env(
            "RULEBOX_CLIENT_SECRET",
            s.creds["client_secret"].as_str().expect("secret"),
        )
        .output()
        .expect("rulebox actions");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let json = serde_json::from_str(stdout.trim()).unwrap_or(Value::Null);
    (
        out.status.success(),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn deploy_test_and_rollback_from_the_terminal() {
    let s = start();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("greeting.js");
    let write = |claim: &str| {
        std::fs::write(
            &file,
            format!("exports.onExecutePostLogin = async (event, api) => {{ api.idToken.setCustomClaim('https://example.com/v', '{claim}'); }};"),
        )
        .expect("write action");
    };
    let path = file.to_str().expect("utf-8").to_owned();

    write("one");
    let (ok, out, err) = cli(&s, &["actions", "deploy", &path, "--trigger", "post-login"]);
    assert!(ok, "{err}");
    assert!(err.contains("==> deploying"), "progress on stderr: {err}");
    assert_eq!(out["name"], "greeting");
    assert_eq!(out["version"], 1);

    write("two");
    let (ok, out, err) = cli(&s, &["actions", "deploy", &path]);
    assert!(ok, "{err}");
    assert_eq!(out["version"], 2);
    assert!(err.contains("already bound"), "{err}");

    // Server-side test of the file against an event.
    let event = dir.path().join("event.json");
    std::fs::write(
        &event,
        json!({"user": {"email": "a@example.com"}}).to_string(),
    )
    .expect("event");
    let (ok, out, err) = cli(
        &s,
        &[
            "actions",
            "test",
            &path,
            "--event",
            event.to_str().expect("utf-8"),
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(out["outcome"], "ok", "{out}");
    assert_eq!(out["commands"][0]["value"], "two", "{out}");

    // Roll back to version 1: the binding now runs version 1's code.
    let (ok, out, err) = cli(&s, &["actions", "rollback", "greeting"]);
    assert!(ok, "{err}");
    assert_eq!(out["version"], 1);
    let t = format!("{}/t/default", s.base);
    let token = s.mgmt_token();
    let (_, bindings) = api(
        reqwest::Method::GET,
        format!("{t}/api/v2/actions/triggers/post-login/bindings"),
        &token,
        None,
    );
    assert_eq!(
        bindings["bindings"].as_array().map(Vec::len),
        Some(1),
        "{bindings}"
    );
    let (_, versions) = api(
        reqwest::Method::GET,
        format!(
            "{t}/api/v2/actions/actions/{}/versions",
            out["id"].as_str().expect("id")
        ),
        &token,
        None,
    );
    let deployed: Vec<&Value> = versions["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .filter(|v| v["deployed"] == true)
        .collect();
    assert_eq!(deployed.len(), 1, "{versions}");
    assert!(
        deployed[0]["code"].as_str().unwrap_or("").contains("'one'"),
        "{versions}"
    );
}
