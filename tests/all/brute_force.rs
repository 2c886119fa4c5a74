//! Brute-force protection over real HTTP: failures are counted per user *and* IP,
//! concurrent guesses cannot slip under the threshold, and the tenant's logs show
//! each failure and block.

use crate::support::*;
use serde_json::{Value, json};

const ATTACKER: &str = "198.51.100.1";
const ELSEWHERE: &str = "198.51.100.2";

/// The server sits "behind a proxy", so the test can speak from several IPs.
fn server() -> Server {
    start_with(&[], &[("RULEBOX_SERVER__TRUSTED_PROXIES", "1")])
}

fn login_from(t: &str, client: &Value, ip: &str, email: &str, password: &str) -> (u16, Value) {
    let r = http()
        .post(format!("{t}/oauth/token"))
        .header("x-forwarded-for", format!("203.0.113.50, {ip}"))
        .json(
            &json!({"grant_type": "password", "username": email, "password": password,
                      "client_id": client["client_id"], "client_secret": client["client_secret"],
                      "scope": "openid"}),
        )
        .send()
        .expect("login");
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(Value::Null))
}

fn login_logs(t: &str, token: &str) -> Vec<Value> {
    let (st, logs) = api(
        reqwest::Method::GET,
        format!("{t}/api/v2/logs?per_page=100"),
        token,
        None,
    );
    assert_eq!(st, 200, "{logs}");
    logs.as_array()
        .expect("logs")
        .iter()
        .filter(|l| l["type"] == "login")
        .cloned()
        .collect()
}

#[test]
fn failures_lock_one_user_from_one_ip_and_are_logged() {
    let s = server();
    let (t, token, client) = login_fixture(&s, &["alice@example.com", "bob@example.com"]);
    for _ in 0..10 {
        let (st, body) = login_from(&t, &client, ATTACKER, "alice@example.com", "wrong guess");
        assert_eq!(
            (st, body["error"].as_str()),
            (403, Some("invalid_grant")),
            "{body}"
        );
    }
    // The eleventh attempt from that IP is refused even with the right password,
    // however the address is spelled, and refusing it writes nothing.
    for spelling in [
        "alice@example.com",
        " ALICE@Example.com ",
        "alice@example.com\t",
    ] {
        let (st, body) = login_from(&t, &client, ATTACKER, spelling, PASSWORD);
        assert_eq!(st, 429, "{spelling:?}: {body}");
        assert_eq!(body["error"], "too_many_attempts");
    }
    let (st, body) = login_from(&t, &client, ATTACKER, &"a".repeat(600), PASSWORD);
    assert_eq!(
        (st, body["error"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );
    // The attacker cannot lock Alice out: from her own IP she still logs in...
    let (st, body) = login_from(&t, &client, ELSEWHERE, "alice@example.com", PASSWORD);
    assert_eq!(st, 200, "{body}");
    // ...and the attacker's IP is not blocked for everybody.
    let (st, body) = login_from(&t, &client, ATTACKER, "bob@example.com", PASSWORD);
    assert_eq!(st, 200, "{body}");

    let logs = login_logs(&t, &token);
    let named = |code: &str| logs.iter().filter(|l| l["name"] == code).count();
    assert_eq!(named("fp"), 10, "{logs:?}");
    assert_eq!(named("limit_wc"), 1, "{logs:?}");
    let blocked = logs
        .iter()
        .find(|l| l["name"] == "limit_wc")
        .expect("block");
    assert_eq!(blocked["client_id"], client["client_id"]);
    let detail = blocked["error"].as_str().expect("detail");
    assert!(
        detail.contains(ATTACKER) && detail.contains("alice@example.com"),
        "{detail}"
    );
}

#[test]
fn parallel_guesses_cannot_outrun_the_threshold() {
    let s = server();
    let (t, _token, client) = login_fixture(&s, &["carol@example.com"]);
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..24)
            .map(|_| {
                scope.spawn(|| login_from(&t, &client, ATTACKER, "carol@example.com", "guess").0)
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let checked = statuses.iter().filter(|&&s| s == 403).count();
    let throttled = statuses.iter().filter(|&&s| s == 429).count();
    assert_eq!(checked + throttled, 24, "{statuses:?}");
    assert!(
        checked <= 10,
        "{checked} guesses were checked: {statuses:?}"
    );
}

#[test]
fn a_blocked_user_is_refused_as_auth0_does_and_that_is_no_failure() {
    let s = server();
    let (t, token, client) = login_fixture(&s, &["dave@example.com"]);
    let (st, users) = api(
        reqwest::Method::GET,
        format!("{t}/api/v2/users-by-email?email=dave@example.com"),
        &token,
        None,
    );
    assert_eq!(st, 200);
    let uid = users[0]["user_id"].as_str().expect("uid").to_owned();
    let set_blocked = |blocked: bool| {
        let (st, body) = api(
            reqwest::Method::PATCH,
            format!("{t}/api/v2/users/{uid}"),
            &token,
            Some(json!({ "blocked": blocked })),
        );
        assert_eq!(st, 200, "{body}");
    };
    set_blocked(true);
    for _ in 0..12 {
        let (st, body) = login_from(&t, &client, ATTACKER, "dave@example.com", PASSWORD);
        assert_eq!(st, 401, "{body}");
        assert_eq!(body["error"], "unauthorized");
        assert_eq!(body["error_description"], "user is blocked");
    }
    set_blocked(false);
    let (st, body) = login_from(&t, &client, ATTACKER, "dave@example.com", PASSWORD);
    assert_eq!(st, 200, "blocked logins must not count as guesses: {body}");
}
