//! Concurrent management writes and logins against one `rulebox serve` on its SQLite
//! file (issue 4, item 6): nothing is lost, nothing fails, and all of it survives a
//! restart.

use crate::support::*;
use serde_json::json;

#[test]
fn management_writes_and_logins_in_parallel_lose_nothing() {
    let mut s = start();
    let (t, token, client) = login_fixture(&s, &["busy@example.com"]);
    // Every login persists app_metadata while the API merges user_metadata into the
    // same row: neither may overwrite the other.
    create_deploy_bind(
        &t,
        &token,
        "count",
        "post-login",
        "exports.onExecutePostLogin = async (event, api) => { api.user.setAppMetadata('seen', event.stats.logins_count); };",
    );
    let (_, users) = api(
        reqwest::Method::GET,
        format!("{t}/api/v2/users-by-email?email=busy@example.com"),
        &token,
        None,
    );
    let uid = users[0]["user_id"].as_str().expect("uid").to_owned();
    const LOGINS: usize = 3 * 15;
    std::thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| {
                for _ in 0..15 {
                    let r = password_login(&t, &client, "busy@example.com", PASSWORD);
                    assert_eq!(r.status(), 200, "a login during writes");
                }
            });
        }
        scope.spawn(|| {
            for i in 0..30 {
                let (st, body) = api(
                    reqwest::Method::PATCH,
                    format!("{t}/api/v2/users/{uid}"),
                    &token,
                    Some(json!({"user_metadata": {format!("k{i}"): i}})),
                );
                assert_eq!(st, 200, "{body}");
            }
        });
        scope.spawn(|| {
            for i in 0..20 {
                let (st, body) = api(
                    reqwest::Method::POST,
                    format!("{t}/api/v2/users"),
                    &token,
                    Some(
                        json!({"connection": "db", "email": format!("new{i}@example.com"),
                                "password": PASSWORD}),
                    ),
                );
                assert_eq!(st, 201, "{body}");
            }
        });
    });
    let check = |base: &str, token: &str| {
        let t = format!("{base}/t/default");
        let (st, user) = api(
            reqwest::Method::GET,
            format!("{t}/api/v2/users/{uid}"),
            token,
            None,
        );
        assert_eq!(st, 200);
        let md = user["user_metadata"].as_object().expect("user_metadata");
        for i in 0..30 {
            assert_eq!(
                md.get(&format!("k{i}")),
                Some(&json!(i)),
                "k{i} lost: {user}"
            );
        }
        assert_eq!(user["logins_count"], LOGINS as u64, "{user}");
        assert!(user["app_metadata"]["seen"].is_number(), "{user}");
        let (_, all) = api(
            reqwest::Method::GET,
            format!("{t}/api/v2/users?per_page=100&include_totals=true"),
            token,
            None,
        );
        assert_eq!(all["total"], 21, "{all}");
    };
    check(&s.base, &token);
    s.kill9_and_restart();
    let token = s.mgmt_token();
    check(&s.base, &token);
}
