//! Issue 7: every service exposes Prometheus metrics at `/metrics`: logins by
//! result, sandbox calls by tenant, trigger and outcome, latency, fuel and
//! memory histograms, HTTP responses by status.

use crate::support::{
    PASSWORD, create_deploy_bind, http, login_fixture, password_login, spawn_rulebox, start,
};
use serde_json::json;

fn scrape(base: &str) -> String {
    let r = http()
        .get(format!("{base}/metrics"))
        .send()
        .expect("metrics");
    assert_eq!(r.status(), 200);
    r.text().expect("text")
}

/// The value of the first sample whose line contains every one of `parts`.
fn sample(text: &str, name: &str, parts: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(name) && parts.iter().all(|p| l.contains(p)))
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
}

#[test]
fn logins_and_sandbox_calls_show_in_metrics() {
    let s = start();
    let (t, token, client) = login_fixture(&s, &["ok@example.com", "no@evil.test"]);
    create_deploy_bind(
        &t,
        &token,
        "gate",
        "post-login",
        "exports.onExecutePostLogin = async (event, api) => { if (event.user.email.endsWith('@evil.test')) api.access.deny('no'); };",
    );
    let login = |email: &str, password: &str| {
        password_login(&t, &client, email, password)
            .status()
            .as_u16()
    };
    assert_eq!(login("ok@example.com", PASSWORD), 200);
    assert_eq!(login("ok@example.com", PASSWORD), 200);
    assert_eq!(login("no@evil.test", PASSWORD), 403);
    assert_eq!(login("ok@example.com", "wrong"), 403);

    let m = scrape(&s.base);
    let logins = |result: &str| {
        sample(
            &m,
            "rulebox_logins_total",
            &[
                "tenant=\"default\"",
                "grant=\"password\"",
                &format!("result=\"{result}\""),
            ],
        )
    };
    assert_eq!(logins("success"), Some(2.0), "{m}");
    assert_eq!(logins("access_denied"), Some(1.0), "{m}");
    assert_eq!(logins("invalid_grant"), Some(1.0), "{m}");
    assert_eq!(
        sample(
            &m,
            "rulebox_proxy_calls_total",
            &[
                "tenant=\"default\"",
                "trigger=\"post-login\"",
                "outcome=\"ok\""
            ]
        ),
        Some(3.0),
        "the Action ran for the three logins that passed the password check: {m}"
    );
    assert_eq!(
        sample(
            &m,
            "rulebox_runtime_invocations_total",
            &["trigger=\"post-login\"", "outcome=\"ok\""]
        ),
        Some(3.0),
        "{m}"
    );
    for histogram in [
        "rulebox_runtime_invocation_duration_seconds_bucket",
        "rulebox_runtime_invocation_fuel_bucket",
        "rulebox_runtime_invocation_peak_memory_bytes_bucket",
        "rulebox_proxy_call_duration_seconds_bucket",
    ] {
        assert!(m.contains(histogram), "{histogram} missing: {m}");
    }
    assert!(
        sample(
            &m,
            "rulebox_http_responses_total",
            &["route=\"/oauth/token\"", "status=\"200\""]
        ) >= Some(2.0),
        "{m}"
    );
}

#[test]
fn a_runtime_node_serves_metrics_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = spawn_rulebox(
        &[
            "runtime",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            dir.path().to_str().expect("utf-8"),
        ],
        "rulebox runtime listening on",
        false,
    );
    // One call through the runtime protocol, then its counters are there.
    let loaded: serde_json::Value = http()
        .post(format!("{}/v1/modules", node.base))
        .json(&json!({"type": "js", "js_kind": {"kind": "action"},
                      "source": "exports.onExecutePostLogin = async (event, api) => {};"}))
        .send()
        .expect("load")
        .json()
        .expect("json");
    let module = loaded["id"].as_str().expect("module id");
    let limits = serde_json::to_value(rulebox_runtime::Limits::default()).expect("limits");
    let outcome: serde_json::Value = http()
        .post(format!("{}/v1/invoke", node.base))
        .json(
            &json!({"tenant": "t1", "module": module, "trigger": "post-login",
                      "input": "{\"user\":{}}", "limits": limits}),
        )
        .send()
        .expect("invoke")
        .json()
        .expect("json");
    assert_eq!(outcome["outcome"], "ok", "{outcome}");
    let m = scrape(&node.base);
    assert_eq!(
        sample(
            &m,
            "rulebox_runtime_invocations_total",
            &["trigger=\"post-login\"", "outcome=\"ok\""]
        ),
        Some(1.0),
        "{m}"
    );
}
