//! Issue 7: every service exposes Prometheus metrics at `/metrics`: logins by
//! result, sandbox calls by tenant, trigger and outcome, latency, fuel and
//! memory histograms, HTTP responses by status.

mod support;

use serde_json::json;
use support::{api, create_deploy_bind, http, mgmt_token, spawn_rulebox, start};

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
    let t = format!("{}/t/default", s.base);
    let token = mgmt_token(
        &s.base,
        "default",
        s.creds["client_id"].as_str().expect("id"),
        s.creds["client_secret"].as_str().expect("secret"),
    );
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
    for email in ["ok@example.com", "no@evil.test"] {
        api(
            post.clone(),
            format!("{t}/api/v2/users"),
            &token,
            Some(json!({"connection": "db", "email": email, "password": "long enough pw"})),
        );
    }
    create_deploy_bind(
        &t,
        &token,
        "gate",
        "post-login",
        "exports.onExecutePostLogin = async (event, api) => { if (event.user.email.endsWith('@evil.test')) api.access.deny('no'); };",
    );
    let login = |email: &str, password: &str| {
        http()
            .post(format!("{t}/oauth/token"))
            .json(&json!({"grant_type": "password", "username": email, "password": password,
                          "client_id": client["client_id"], "client_secret": client["client_secret"]}))
            .send()
            .expect("login")
            .status()
            .as_u16()
    };
    assert_eq!(login("ok@example.com", "long enough pw"), 200);
    assert_eq!(login("ok@example.com", "long enough pw"), 200);
    assert_eq!(login("no@evil.test", "long enough pw"), 403);
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
