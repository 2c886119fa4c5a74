//! A trigger's JavaScript Actions run in one sandbox call once their flow
//! snapshot is built; until then, one call each. Both ways must give the same
//! tokens, the same per-Action logs and the same fail-closed errors.

use crate::support::{PASSWORD, api, http, id_claims, login_fixture, password_login, start};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const FIRST: &str = "exports.onExecutePostLogin = async (event, api) => {
  console.log('first ran');
  api.user.setAppMetadata('tier', 'gold');
  api.cache.set('seen', 'yes');
};";
const SECOND: &str = "exports.onExecutePostLogin = async (event, api) => {
  api.idToken.setCustomClaim('https://x/tier', event.user.app_metadata.tier);
  api.idToken.setCustomClaim('https://x/key', event.secrets.KEY.length);
  api.idToken.setCustomClaim('https://x/cache', (api.cache.get('seen') || {}).value || null);
};";
const THIRD: &str = "exports.onExecutePostLogin = async (event, api) => {
  if (event.user.email.startsWith('boom')) throw new Error('kaboom');
  if (event.user.email.startsWith('deny')) api.access.deny('not today');
  api.idToken.setCustomClaim('https://x/own_secrets_only', event.secrets.KEY === undefined);
};";

fn one_call_runs(base: &str) -> f64 {
    let text = http()
        .get(format!("{base}/metrics"))
        .send()
        .and_then(|r| r.text())
        .expect("metrics");
    text.lines()
        .filter(|l| l.starts_with("rulebox_action_flow_runs_total") && l.contains("one_call"))
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0.0)
}

fn custom(claims: &Value) -> Vec<(String, Value)> {
    claims
        .as_object()
        .expect("claims")
        .iter()
        .filter(|(k, _)| k.starts_with("https://x/"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[test]
fn a_flow_in_one_call_matches_the_actions_run_one_by_one() {
    let s = start();
    let emails = ["ok@example.com", "boom@example.com", "deny@example.com"];
    let (t, token, client) = login_fixture(&s, &emails);
    let mut bindings = Vec::new();
    for (name, code) in [("first", FIRST), ("second", SECOND), ("third", THIRD)] {
        let mut body = json!({"name": name, "supported_triggers": [{"id": "post-login", "version": "v3"}], "code": code});
        if name == "second" {
            body["secrets"] = json!([{"name": "KEY", "value": "twelve chars"}]);
        }
        let (st, a) = api(
            reqwest::Method::POST,
            format!("{t}/api/v2/actions/actions"),
            &token,
            Some(body),
        );
        assert_eq!(st, 201, "{a}");
        let id = a["id"].as_str().expect("id").to_owned();
        let (st, _) = api(
            reqwest::Method::POST,
            format!("{t}/api/v2/actions/actions/{id}/deploy"),
            &token,
            None,
        );
        assert_eq!(st, 202);
        bindings.push(json!({"ref": {"type": "action_id", "value": id}}));
    }
    let (st, _) = api(
        reqwest::Method::PATCH,
        format!("{t}/api/v2/actions/triggers/post-login/bindings"),
        &token,
        Some(json!({"bindings": bindings})),
    );
    assert_eq!(st, 200);

    let expected = vec![
        ("https://x/cache".to_owned(), json!("yes")),
        ("https://x/key".to_owned(), json!(12)),
        ("https://x/own_secrets_only".to_owned(), json!(true)),
        ("https://x/tier".to_owned(), json!("gold")),
    ];
    // The first login asks for the flow snapshot and runs the Actions one by
    // one; logins after the snapshot is ready run them in one call.
    assert_eq!(one_call_runs(&s.base), 0.0);
    let r = password_login(&t, &client, "ok@example.com", PASSWORD);
    assert_eq!(r.status(), 200);
    assert_eq!(custom(&id_claims(&r.json().expect("json"))), expected);
    let until = Instant::now() + Duration::from_secs(60);
    while one_call_runs(&s.base) == 0.0 {
        assert!(
            Instant::now() < until,
            "the flow snapshot never became ready"
        );
        std::thread::sleep(Duration::from_millis(200));
        let r = password_login(&t, &client, "ok@example.com", PASSWORD);
        assert_eq!(r.status(), 200);
        assert_eq!(custom(&id_claims(&r.json().expect("json"))), expected);
    }

    // A failing Action fails the login closed under its own name, after the
    // ones before it ran and were logged.
    let before = one_call_runs(&s.base);
    let r = password_login(&t, &client, "boom@example.com", PASSWORD);
    assert_eq!(r.status(), 403);
    let body: Value = r.json().expect("json");
    assert_eq!(body["error"], "access_denied");
    let text = body["error_description"].as_str().expect("description");
    assert!(
        text.contains("Action 'third'") && text.contains("kaboom"),
        "{text}"
    );
    // A deny stops the flow and is Auth0's access_denied with the reason.
    let r = password_login(&t, &client, "deny@example.com", PASSWORD);
    assert_eq!(r.status(), 403);
    let body: Value = r.json().expect("json");
    assert_eq!(body["error_description"], "not today");
    assert_eq!(one_call_runs(&s.base), before + 2.0, "both ran as flows");

    // One execution log per Action of the failed login, as if each had been a call.
    let boom = {
        let (_, users) = api(
            reqwest::Method::GET,
            format!("{t}/api/v2/users-by-email?email=boom@example.com"),
            &token,
            None,
        );
        users[0]["user_id"].as_str().expect("user id").to_owned()
    };
    let until = Instant::now() + Duration::from_secs(10);
    let logs = loop {
        let (st, logs) = api(
            reqwest::Method::GET,
            format!("{t}/api/v2/logs?per_page=100"),
            &token,
            None,
        );
        assert_eq!(st, 200);
        let mine: Vec<Value> = logs
            .as_array()
            .expect("a list")
            .iter()
            .filter(|l| l["user_id"] == boom.as_str())
            .cloned()
            .collect();
        if mine.len() >= 3 || Instant::now() > until {
            break mine;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let by_name = |name: &str| {
        logs.iter()
            .find(|l| l["name"] == name)
            .unwrap_or_else(|| panic!("no log for {name}: {logs:?}"))
            .clone()
    };
    let (first, second, third) = (by_name("first"), by_name("second"), by_name("third"));
    assert_eq!(first["outcome"], "ok");
    assert_eq!(first["logs"][0]["message"], "first ran");
    assert_eq!(second["outcome"], "ok");
    assert_eq!(
        second["logs"],
        json!([]),
        "each Action's console output is its own"
    );
    assert_eq!(third["outcome"], "trap");
    assert!(
        third["error"]
            .as_str()
            .is_some_and(|e| e.contains("kaboom")),
        "{third}"
    );
    for l in [&first, &second, &third] {
        assert!(l["fuel_used"].as_u64().is_some_and(|f| f > 0), "{l}");
    }
}
