//! Issue 7: `rulebox logs tail --tenant T` streams execution logs live.

use crate::support::{api, create_deploy_bind, http, mgmt_token, start};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn logs_tail_prints_each_execution_as_it_happens() {
    let s = start();
    let t = format!("{}/t/default", s.base);
    let (id, secret) = (
        s.creds["client_id"].as_str().expect("id"),
        s.creds["client_secret"].as_str().expect("secret"),
    );
    let token = mgmt_token(&s.base, "default", id, secret);
    let post = reqwest::Method::POST;
    let (_, client) = api(
        post.clone(),
        format!("{t}/api/v2/clients"),
        &token,
        Some(json!({"name": "app", "grant_types": ["password"]})),
    );
    api(
        post.clone(),
        format!("{t}/api/v2/connections"),
        &token,
        Some(json!({"name": "db", "strategy": "auth0"})),
    );
    api(
        post,
        format!("{t}/api/v2/users"),
        &token,
        Some(json!({"connection": "db", "email": "l@example.com", "password": "long enough pw"})),
    );
    create_deploy_bind(
        &t,
        &token,
        "chatty",
        "post-login",
        "exports.onExecutePostLogin = async (event, api) => { console.log('hello from', event.user.email); };",
    );

    let mut tail = Command::new(env!("CARGO_BIN_EXE_rulebox"))
        .args([
            "logs",
            "tail",
            "--tenant",
            "default",
            "--server",
            &s.base,
            "--client-id",
            id,
            "--client-secret",
            secret,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rulebox logs tail");
    // Wait until it is connected (it says so on stderr).
    let mut err = BufReader::new(tail.stderr.take().expect("stderr"));
    let mut line = String::new();
    err.read_line(&mut line).expect("tail started");
    assert!(line.contains("tailing"), "{line}");

    let login = http()
        .post(format!("{t}/oauth/token"))
        .json(&json!({"grant_type": "password", "username": "l@example.com", "password": "long enough pw",
                      "client_id": client["client_id"], "client_secret": client["client_secret"]}))
        .send()
        .expect("login");
    assert_eq!(login.status(), 200);

    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = tail.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let first = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("a live log line");
    let _ = tail.kill();
    let _ = tail.wait();
    let log: Value = serde_json::from_str(&first).expect("one JSON object per line");
    assert_eq!(log["name"], "chatty", "{log}");
    assert_eq!(log["outcome"], "ok", "{log}");
    assert_eq!(log["trigger_id"], "post-login", "{log}");
    assert!(
        log["logs"].to_string().contains("hello from l@example.com"),
        "{log}"
    );
    assert!(log["fuel_used"].as_u64().unwrap_or(0) > 0, "{log}");
}
