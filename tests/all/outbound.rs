//! Issue 6: outbound HTTP from tenant code, through `rulebox run` (the same
//! sandbox and capability code as production) against a real HTTP server
//! this test starts on loopback.

use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

/// A tiny HTTP/1.1 server: `/user` answers JSON, `/redirect-inside` redirects
/// to a private address, `/slow` answers after 5 s. Returns its port.
fn upstream() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    return;
                }
                let mut auth = String::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).map_or(true, |n| n == 0) || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("authorization:") {
                        auth = v.trim().to_owned();
                    }
                }
                let path = request_line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or("/")
                    .to_owned();
                let (status, extra, body) = match path.as_str() {
                    "/user" => (
                        "200 OK",
                        String::new(),
                        format!(r#"{{"plan":"gold","auth":"{auth}"}}"#),
                    ),
                    p if p.starts_with("/hop-to/") => (
                        "302 Found",
                        format!(
                            "Location: http://127.0.0.1:{}/user\r\n",
                            &p["/hop-to/".len()..]
                        ),
                        String::new(),
                    ),
                    "/redirect-inside" => (
                        "302 Found",
                        "Location: http://10.0.0.1/steal\r\n".to_owned(),
                        String::new(),
                    ),
                    "/slow" => {
                        std::thread::sleep(Duration::from_secs(5));
                        ("200 OK", String::new(), "late".to_owned())
                    }
                    _ => ("404 Not Found", String::new(), "{}".to_owned()),
                };
                let mut out = stream;
                let _ = write!(
                    out,
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    port
}

/// Runs `code` as a post-login Action; returns the outcome JSON and the wall time.
fn run_action(code: &str, extra: &[&str]) -> (Value, Duration) {
    let dir = tempfile::tempdir().expect("tempdir");
    let action = dir.path().join("action.js");
    std::fs::write(&action, code).expect("write action");
    let event = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/rules-examples/events/post-login.json"
    );
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_rulebox"))
        .arg("run")
        .arg(&action)
        .args(["--trigger", "post-login", "--event", event, "--no-cache"])
        .args(extra)
        .output()
        .expect("rulebox run");
    let took = start.elapsed();
    let outcome: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (outcome, took)
}

fn fetching(url: &str) -> String {
    format!(
        "exports.onExecutePostLogin = async (event, api) => {{\n  const res = await fetch('{url}', {{ headers: {{ Authorization: 'Bearer s3cret' }} }});\n  const body = await res.json();\n  api.idToken.setCustomClaim('https://example.com/plan', body.plan);\n  api.idToken.setCustomClaim('https://example.com/status', res.status);\n}};"
    )
}

#[test]
fn an_allow_listed_upstream_is_reachable() {
    let port = upstream();
    let (o, _) = run_action(
        &fetching(&format!("http://127.0.0.1:{port}/user")),
        &["--allow-host", &format!("127.0.0.1:{port}")],
    );
    assert_eq!(o["outcome"], "ok", "{o}");
    let claims: Vec<&Value> = o["commands"].as_array().expect("commands").iter().collect();
    assert!(
        claims
            .iter()
            .any(|c| c["name"] == "https://example.com/plan" && c["value"] == "gold"),
        "{o}"
    );
    assert!(
        claims
            .iter()
            .any(|c| c["name"] == "https://example.com/status" && c["value"] == 200),
        "{o}"
    );
}

#[test]
fn requests_outside_the_policy_end_the_call_with_capability_denied() {
    let port = upstream();
    let allow = format!("127.0.0.1:{port}");
    let cases = [
        // Not on the allow-list at all.
        (
            format!("http://127.0.0.1:{port}/user"),
            vec![],
            "allow-list",
        ),
        // Loopback on another port than the one allowed.
        (
            "http://127.0.0.1:1/user".to_owned(),
            vec!["--allow-host", allow.as_str()],
            "allow-list",
        ),
        // Cloud metadata, even with a wildcard for something else.
        (
            "http://169.254.169.254/latest/meta-data/".to_owned(),
            vec!["--allow-host", "*.example.com"],
            "allow-list",
        ),
        // A name on the allow-list that resolves to loopback.
        (
            format!("http://localhost:{port}/user"),
            vec!["--allow-host", "localhost"],
            "internal address",
        ),
        // An allowed upstream that redirects to a private address: the hop is checked too.
        (
            format!("http://127.0.0.1:{port}/redirect-inside"),
            vec!["--allow-host", allow.as_str()],
            "10.0.0.1",
        ),
    ];
    for (url, flags, why) in cases {
        let (o, _) = run_action(&fetching(&url), &flags);
        assert_eq!(o["outcome"], "capability_denied", "{url}: {o}");
        assert!(
            o["error"].as_str().unwrap_or("").contains(why),
            "{url}: error should say {why:?}: {o}"
        );
    }
}

#[test]
fn a_slow_upstream_does_not_hold_the_call_past_its_deadline() {
    let port = upstream();
    let (o, _) = run_action(
        &fetching(&format!("http://127.0.0.1:{port}/slow")),
        &[
            "--allow-host",
            &format!("127.0.0.1:{port}"),
            "--timeout-ms",
            "500",
        ],
    );
    assert!(
        o["outcome"] == "timeout",
        "the call ends at its deadline: {o}"
    );
    // The upstream answers after 5 s; the call's budget is 500 ms.
    assert!(
        o["duration_us"].as_u64().unwrap_or(u64::MAX) < 1_500_000,
        "{o}"
    );
}

#[test]
fn a_rust_rule_calls_its_profile_api_through_the_sdk() {
    let port = upstream();
    let dir = tempfile::tempdir().expect("tempdir");
    let secrets = dir.path().join("secrets.json");
    std::fs::write(
        &secrets,
        format!(r#"{{"PROFILE_API": "http://127.0.0.1:{port}/user#", "PROFILE_API_KEY": "k"}}"#),
    )
    .expect("secrets");
    let event = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/rules-examples/events/post-login.json"
    );
    let run = |allow: &[&str]| -> Value {
        let out = Command::new(env!("CARGO_BIN_EXE_rulebox"))
            .arg("run")
            .arg(rulebox_test_guests::PROFILE_API_CLAIMS)
            .args(["--event", event, "--secrets"])
            .arg(&secrets)
            .args(allow)
            .output()
            .expect("rulebox run");
        serde_json::from_slice(&out.stdout).expect("outcome JSON")
    };
    // The `#` turns the rule's `/users/{id}` suffix into a fragment: it asks for /user.
    let o = run(&["--allow-host", &format!("127.0.0.1:{port}")]);
    assert_eq!(o["outcome"], "ok", "{o}");
    assert_eq!(o["commands"][0]["value"], "gold", "{o}");
    let o = run(&[]);
    assert_eq!(o["outcome"], "capability_denied", "{o}");
}

#[test]
fn credentials_do_not_follow_a_redirect_to_another_origin() {
    let (a, b) = (upstream(), upstream());
    let code = |url: String| {
        format!(
            "exports.onExecutePostLogin = async (event, api) => {{\n  const res = await fetch('{url}', {{ headers: {{ Authorization: 'Bearer s3cret' }} }});\n  api.idToken.setCustomClaim('auth', (await res.json()).auth);\n}};"
        )
    };
    let allow = [
        "--allow-host".to_owned(),
        format!("127.0.0.1:{a}"),
        "--allow-host".to_owned(),
        format!("127.0.0.1:{b}"),
    ];
    let allow: Vec<&str> = allow.iter().map(String::as_str).collect();
    let auth = |o: &Value| o["commands"][0]["value"].clone();
    let (same, _) = run_action(&code(format!("http://127.0.0.1:{a}/hop-to/{a}")), &allow);
    assert_eq!(auth(&same), "bearer s3cret", "same origin keeps it: {same}");
    let (other, _) = run_action(&code(format!("http://127.0.0.1:{a}/hop-to/{b}")), &allow);
    assert_eq!(auth(&other), "", "another origin does not get it: {other}");
}
