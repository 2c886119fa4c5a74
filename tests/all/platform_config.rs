//! The platform configuration end to end: `rulebox config check` on good and bad files, and a
//! server started with `--config` plus environment overrides that applies the file's tenant
//! defaults, lets a tenant override them without a restart, and deletes execution logs once
//! the configured retention has passed.

use crate::support::{
    PASSWORD, api, create_deploy_bind, login_fixture, password_login, start_with,
};
use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};

fn check(file: &std::path::Path, env: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rulebox"))
        .args(["config", "check"])
        .arg(file)
        .envs(env.iter().copied())
        .output()
        .expect("rulebox config check runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn config_check_accepts_a_good_file_and_names_every_problem_of_a_bad_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        "[limits]\nfuel = 5000000\nallow_hosts = [\"*.example.com\"]\n[logs]\nretention = \"7d\"\n",
    )
    .expect("write");
    let (code, out, err) = check(&good, &[("RULEBOX_LIMITS__TIMEOUT_MS", "250")]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("ok"), "{out}");
    let effective: toml::Table = out
        .lines()
        .filter(|l| !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
        .parse()
        .expect("the effective configuration is TOML");
    assert_eq!(effective["limits"]["fuel"].as_integer(), Some(5_000_000));
    assert_eq!(effective["limits"]["timeout_ms"].as_integer(), Some(250));
    assert_eq!(effective["logs"]["retention"].as_str(), Some("7days"));

    let typo = dir.path().join("typo.toml");
    std::fs::write(&typo, "[limits]\ntimout_ms = 200\n").expect("write");
    let (code, _, err) = check(&typo, &[]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("timout_ms") && err.contains("typo.toml"),
        "{err}"
    );

    let syntax = dir.path().join("syntax.toml");
    std::fs::write(&syntax, "[limits\nfuel = 1\n").expect("write");
    let (code, _, err) = check(&syntax, &[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("line 1"), "{err}");

    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[server]\nbcrypt_cost = 40\n[limits]\nmemory_mb = 4096\n[runtime]\npool_slots = 1\n",
    )
    .expect("write");
    let (code, _, err) = check(&bad, &[]);
    assert_eq!(code, 1, "{err}");
    for key in [
        "server.bcrypt_cost",
        "limits.memory_mb",
        "runtime.pool_slots",
    ] {
        assert!(err.contains(key), "{key} not named in {err}");
    }
    assert!(err.contains("3 problems"), "{err}");

    // A bad environment override is named by its variable.
    let (code, _, err) = check(&good, &[("RULEBOX_LIMITS__FUEL", "plenty")]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("RULEBOX_LIMITS__FUEL"), "{err}");

    // A server refuses to start on a bad file instead of running with a guess.
    let out = Command::new(env!("CARGO_BIN_EXE_rulebox"))
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&typo)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .output()
        .expect("serve runs");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("timout_ms"));
}

fn logs_of(t: &str, token: &str) -> Vec<Value> {
    let (st, logs) = api(
        reqwest::Method::GET,
        format!("{t}/api/v2/logs"),
        token,
        None,
    );
    assert_eq!(st, 200, "{logs}");
    logs.as_array().cloned().unwrap_or_default()
}

#[test]
fn the_file_sets_tenant_defaults_and_log_retention() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("rulebox.toml");
    // Too little fuel for any JavaScript Action: the platform default must be what runs.
    std::fs::write(&file, "[limits]\nfuel = 20000\n").expect("write");
    let path = file.to_str().expect("utf-8 path");
    let s = start_with(&["--config", path], &[("RULEBOX_LOGS__RETENTION", "3s")]);
    let (t, token, client) = login_fixture(&s, &["ann@example.com"]);
    create_deploy_bind(
        &t,
        &token,
        "claims",
        "post-login",
        "exports.onExecutePostLogin = async (event, api) => { api.idToken.setCustomClaim('https://example.com/x', 1); };",
    );

    let r = password_login(&t, &client, "ann@example.com", PASSWORD);
    assert_eq!(r.status(), 403, "the file's fuel default applies");
    let body: Value = r.json().expect("json");
    assert_eq!(body["error"], "access_denied", "{body}");
    let logs = logs_of(&t, &token);
    assert!(
        logs.iter().any(|l| l["outcome"] == "fuel_exhausted"),
        "{logs:?}"
    );

    // The tenant's own limit beats the platform default on the next call, no restart.
    let out = Command::new(env!("CARGO_BIN_EXE_rulebox"))
        .args([
            "tenants",
            "limits",
            "set",
            "default",
            "--fuel",
            "50000000",
            "--data-dir",
        ])
        .arg(s.data.path())
        .output()
        .expect("limits set");
    assert!(out.status.success(), "{out:?}");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let r = password_login(&t, &client, "ann@example.com", PASSWORD);
        if r.status() == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the tenant's fuel never applied");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(logs_of(&t, &token).iter().any(|l| l["outcome"] == "ok"));

    // RULEBOX_LOGS__RETENTION=3s: housekeeping removes every log within a few seconds.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let logs = logs_of(&t, &token);
        if logs.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "logs outlived their retention: {logs:?}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    // Retention removed logs only: the user and the Action are still there.
    let r = password_login(&t, &client, "ann@example.com", PASSWORD);
    assert_eq!(r.status(), 200);
}
