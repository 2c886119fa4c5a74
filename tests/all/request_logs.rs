//! `--log-format json`: every request is a span carrying its tenant and a request id, so one
//! login's lines can be found in a log pipeline by either.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[test]
fn json_logs_carry_the_request_span_with_tenant_and_request_id() {
    let data = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_rulebox"))
        .args(["--log-format", "json", "serve", "--listen", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(data.path())
        .env("RULEBOX_LOG", "info,tower_http=debug")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rulebox serve starts");
    let (tx, lines) = mpsc::channel();
    let stderr = child.stderr.take().expect("stderr");
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let base = loop {
        let line = lines
            .recv_timeout(Duration::from_secs(60))
            .expect("the server announces itself");
        if let Some(rest) = line.split("rulebox listening on ").nth(1) {
            break rest.trim().to_owned();
        }
    };
    let r = reqwest::blocking::get(format!("{base}/t/default/.well-known/openid-configuration"))
        .expect("discovery");
    assert_eq!(r.status(), 200);

    let deadline = Instant::now() + Duration::from_secs(10);
    let found = loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let line = lines
            .recv_timeout(remaining)
            .expect("a JSON log line of the discovery request");
        let Ok(event) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        let span = &event["span"];
        // The `/t/{tenant}` prefix is stripped before routing; the span names the route.
        if span["name"] == "request"
            && span["path"] == "/.well-known/openid-configuration"
            && event["fields"]["message"] == "finished processing request"
        {
            break event;
        }
    };
    let span = &found["span"];
    assert_eq!(span["tenant"], "default", "{found}");
    let id = span["request_id"].as_str().expect("a request id");
    assert_eq!(id.len(), 36, "a UUID: {id}");
    assert!(
        found["level"].is_string() && found["timestamp"].is_string(),
        "{found}"
    );
    let _ = child.kill();
    let _ = child.wait();
}
