//! One deadline for all of a login's tenant code: legacy Rules after the Actions get
//! what is left of it, not a fresh per-call budget.

use crate::support::*;
use serde_json::{Value, json};

#[test]
fn a_spinning_rule_is_stopped_by_the_login_deadline_not_its_own_timeout() {
    // Each call may take 20 s and burn plenty of fuel; the whole login only 400 ms.
    let s = start_with(
        &[],
        &[
            ("RULEBOX_TOKENS__PIPELINE_DEADLINE", "400ms"),
            ("RULEBOX_LIMITS__TIMEOUT_MS", "20000"),
            ("RULEBOX_LIMITS__FUEL", "10000000000"),
        ],
    );
    let (t, token, client) = login_fixture(&s, &["ann@example.com"]);
    let (st, rule) = api(
        reqwest::Method::POST,
        format!("{t}/api/v2/rules"),
        &token,
        Some(json!({"name": "spin", "enabled": true,
                    "script": "function (user, context, callback) { while (true) {} }"})),
    );
    assert_eq!(st, 201, "{rule}");
    let started = std::time::Instant::now();
    let r = password_login(&t, &client, "ann@example.com", PASSWORD);
    let took = started.elapsed();
    assert_eq!(r.status(), 403);
    let body: Value = r.json().expect("error body");
    assert_eq!(body["error"], "access_denied", "{body}");
    let description = body["error_description"].as_str().expect("description");
    assert!(
        description.contains("Rule 'spin' failed (timeout)"),
        "{description}"
    );
    // The rule's own limit (20 s) never came into play.
    assert!(took.as_secs() < 10, "the login took {took:?}");
    // The tenant sees the failure in its logs, under the Rule.
    let (st, logs) = api(
        reqwest::Method::GET,
        format!("{t}/api/v2/logs"),
        &token,
        None,
    );
    assert_eq!(st, 200);
    let run = logs
        .as_array()
        .expect("logs")
        .iter()
        .find(|l| l["type"] == "rule")
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(run["name"], "spin", "{logs}");
    assert_eq!(run["rule_id"], rule["id"], "{run}");
    assert_eq!(run["outcome"], "timeout", "{run}");
    assert!(run["duration_us"].as_u64().is_some_and(|d| d > 0), "{run}");
}
