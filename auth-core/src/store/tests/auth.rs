//! Refresh tokens, authorization codes and brute-force counters.

use std::time::{Duration, SystemTime};

use super::super::{NewAuthCode, NewRefreshToken, StoreError};
use super::*;

struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
    client_id: String,
    user_id: String,
}

async fn fixture() -> Fixture {
    let (dir, store) = store_with_tenant().await;
    let client_id = client(&store, "acme", "app").await.client_id;
    let user_id = user(&store, "acme", DB, "a@example.com").await.user_id;
    Fixture {
        _dir: dir,
        store,
        client_id,
        user_id,
    }
}

fn in_an_hour() -> SystemTime {
    SystemTime::now() + Duration::from_secs(3600)
}

fn refresh<'a>(f: &'a Fixture, hash: &'a str, family: Option<&'a str>) -> NewRefreshToken<'a> {
    NewRefreshToken {
        token_hash: hash,
        client_id: &f.client_id,
        user_id: &f.user_id,
        scope: "openid offline_access",
        audience: Some("https://api.example.com/"),
        expires_at: in_an_hour(),
        family_expires_at: in_an_hour(),
        family_id: family,
    }
}

#[tokio::test]
async fn refresh_token_rotation_detects_reuse() {
    let f = fixture().await;
    let first = f
        .store
        .insert_refresh_token("acme", refresh(&f, "h1", None))
        .await
        .expect("insert");
    assert_eq!(first.scope, "openid offline_access");
    assert_eq!(first.audience.as_deref(), Some("https://api.example.com/"));

    // Rotation: take h1, issue h2 in the same family.
    let taken = f
        .store
        .take_refresh_token("acme", "h1")
        .await
        .expect("take")
        .expect("known token");
    assert_eq!(taken.family_id, first.family_id);
    assert_eq!(taken.user_id, f.user_id);
    let second = f
        .store
        .insert_refresh_token("acme", refresh(&f, "h2", Some(&taken.family_id)))
        .await
        .expect("rotate");
    assert_eq!(second.family_id, first.family_id);

    // Replaying h1 is detected and revokes the family, including h2.
    let err = f
        .store
        .take_refresh_token("acme", "h1")
        .await
        .expect_err("reuse");
    assert!(
        matches!(&err, StoreError::Conflict(m) if m == "refresh token reuse"),
        "{err:?}"
    );
    assert_eq!(
        f.store
            .take_refresh_token("acme", "h2")
            .await
            .expect("revoked"),
        None
    );
    // The family cannot be continued after revocation.
    let err = f
        .store
        .insert_refresh_token("acme", refresh(&f, "h3", Some(&first.family_id)))
        .await
        .expect_err("revoked family");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    // Further replays are just unknown, not new reuse events.
    assert_eq!(
        f.store
            .take_refresh_token("acme", "h1")
            .await
            .expect("replay"),
        None
    );

    // Other families are unaffected.
    f.store
        .insert_refresh_token("acme", refresh(&f, "other", None))
        .await
        .expect("other family");
    assert!(
        f.store
            .take_refresh_token("acme", "other")
            .await
            .expect("take")
            .is_some()
    );
    assert_eq!(
        f.store
            .take_refresh_token("acme", "unknown")
            .await
            .expect("unknown"),
        None
    );
}

#[tokio::test]
async fn refresh_tokens_expire_and_revoke() {
    let f = fixture().await;
    let expired = NewRefreshToken {
        expires_at: SystemTime::now() - Duration::from_secs(1),
        family_expires_at: SystemTime::now() - Duration::from_secs(1),
        ..refresh(&f, "old", None)
    };
    f.store
        .insert_refresh_token("acme", expired)
        .await
        .expect("insert expired");
    assert_eq!(
        f.store
            .take_refresh_token("acme", "old")
            .await
            .expect("expired"),
        None
    );

    f.store
        .insert_refresh_token("acme", refresh(&f, "r1", None))
        .await
        .expect("insert");
    assert!(
        f.store
            .revoke_refresh_token("acme", "r1")
            .await
            .expect("revoke")
    );
    assert!(
        !f.store
            .revoke_refresh_token("acme", "nope")
            .await
            .expect("unknown")
    );
    assert_eq!(
        f.store
            .take_refresh_token("acme", "r1")
            .await
            .expect("revoked"),
        None
    );

    f.store
        .insert_refresh_token("acme", refresh(&f, "r2", None))
        .await
        .expect("insert");
    f.store
        .insert_refresh_token("acme", refresh(&f, "r3", None))
        .await
        .expect("insert");
    // r2, r3 and the expired "old" token; r1 was already revoked.
    assert_eq!(
        f.store
            .revoke_user_refresh_tokens("acme", &f.user_id)
            .await
            .expect("revoke all"),
        3
    );
    assert_eq!(
        f.store
            .take_refresh_token("acme", "r2")
            .await
            .expect("revoked"),
        None
    );

    assert_conflict(
        f.store
            .insert_refresh_token("acme", refresh(&f, "r2", None))
            .await,
    );
    let unknown_user = NewRefreshToken {
        user_id: "auth0|missing",
        ..refresh(&f, "r4", None)
    };
    assert_invalid(f.store.insert_refresh_token("acme", unknown_user).await);

    let stats = f
        .store
        .purge_expired("acme", SystemTime::now(), SystemTime::now())
        .await
        .expect("purge");
    assert_eq!(stats.refresh_tokens, 1);

    // Deleting the user deletes their tokens.
    f.store
        .insert_refresh_token("acme", refresh(&f, "r5", None))
        .await
        .expect("insert");
    f.store
        .delete_user("acme", &f.user_id)
        .await
        .expect("delete user");
    assert!(
        !f.store
            .revoke_refresh_token("acme", "r5")
            .await
            .expect("gone")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refresh_takes_have_one_winner() {
    let f = fixture().await;
    f.store
        .insert_refresh_token("acme", refresh(&f, "race", None))
        .await
        .expect("insert");
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = f.store.clone();
        tasks.push(tokio::spawn(async move {
            store.take_refresh_token("acme", "race").await
        }));
    }
    let (mut wins, mut reuse) = (0, 0);
    for task in tasks {
        match task.await.expect("join") {
            Ok(Some(_)) => wins += 1,
            Err(StoreError::Conflict(_)) => reuse += 1,
            Ok(None) => {}
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }
    assert_eq!(wins, 1);
    assert!(reuse >= 1);
}

fn code<'a>(f: &'a Fixture, hash: &'a str, expires_at: SystemTime) -> NewAuthCode<'a> {
    NewAuthCode {
        code_hash: hash,
        client_id: &f.client_id,
        user_id: &f.user_id,
        redirect_uri: "https://app.example.com/cb",
        scope: "openid profile",
        audience: None,
        nonce: Some("n-0S6_WzA2Mj"),
        code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
        code_challenge_method: Some("S256"),
        expires_at,
        claims: Some(r#"{"id":{"https://x/c":1},"access":{}}"#),
    }
}

#[tokio::test]
async fn auth_codes_are_single_use() {
    let f = fixture().await;
    f.store
        .insert_auth_code("acme", code(&f, "c1", in_an_hour()))
        .await
        .expect("insert");
    let record = f
        .store
        .take_auth_code("acme", "c1")
        .await
        .expect("take")
        .expect("record");
    assert_eq!(record.redirect_uri, "https://app.example.com/cb");
    assert_eq!(record.nonce.as_deref(), Some("n-0S6_WzA2Mj"));
    assert_eq!(record.code_challenge_method.as_deref(), Some("S256"));
    assert_eq!(record.audience, None);
    assert_eq!(
        record.claims.as_deref(),
        Some(r#"{"id":{"https://x/c":1},"access":{}}"#)
    );
    assert_eq!(
        f.store
            .take_auth_code("acme", "c1")
            .await
            .expect("second take"),
        None
    );
    assert_eq!(
        f.store
            .take_auth_code("other", "c1")
            .await
            .expect("other tenant"),
        None
    );

    f.store
        .insert_auth_code(
            "acme",
            code(&f, "stale", SystemTime::now() - Duration::from_secs(1)),
        )
        .await
        .expect("insert expired");
    assert_eq!(
        f.store
            .take_auth_code("acme", "stale")
            .await
            .expect("expired"),
        None
    );
    assert_conflict(
        f.store
            .insert_auth_code("acme", code(&f, "c1", in_an_hour()))
            .await,
    );

    f.store
        .insert_auth_code("acme", code(&f, "race", in_an_hour()))
        .await
        .expect("insert");
    let (a, b) = tokio::join!(
        f.store.take_auth_code("acme", "race"),
        f.store.take_auth_code("acme", "race")
    );
    let winners = [a.expect("a"), b.expect("b")]
        .iter()
        .filter(|r| r.is_some())
        .count();
    assert_eq!(winners, 1);

    let stats = f
        .store
        .purge_expired("acme", SystemTime::now(), SystemTime::now())
        .await
        .expect("purge");
    assert_eq!(stats.auth_codes, 1);
}

#[tokio::test]
async fn failed_login_counters() {
    let (_dir, store) = store_with_tenant().await;
    let now = SystemTime::now();
    let key = "user:a@example.com";
    for minutes in [30, 10, 5, 1] {
        store
            .record_login_attempt("acme", key, now - Duration::from_secs(60 * minutes))
            .await
            .expect("record");
    }
    store
        .record_login_attempt("acme", "ip:10.0.0.1", now)
        .await
        .expect("record ip");
    let withdrawn = store
        .record_login_attempt("acme", "ip:10.0.0.1", now)
        .await
        .expect("record ip");
    store
        .withdraw_login_attempt("acme", &withdrawn)
        .await
        .expect("withdraw");
    assert_eq!(
        store
            .login_attempts_since("acme", key, now - Duration::from_secs(15 * 60))
            .await
            .expect("count"),
        3
    );
    assert_eq!(
        store
            .login_attempts_since("acme", key, now - Duration::from_secs(3600))
            .await
            .expect("count"),
        4
    );
    assert_eq!(
        store
            .login_attempts_since("other", key, now - Duration::from_secs(3600))
            .await
            .expect("count"),
        0
    );

    let stats = store
        .purge_expired("acme", now, now - Duration::from_secs(20 * 60))
        .await
        .expect("purge");
    assert_eq!(stats.login_attempts, 1);

    store
        .clear_login_attempts("acme", key)
        .await
        .expect("clear");
    assert_eq!(
        store
            .login_attempts_since("acme", key, now - Duration::from_secs(3600))
            .await
            .expect("count"),
        0
    );
    assert_eq!(
        store
            .login_attempts_since("acme", "ip:10.0.0.1", now)
            .await
            .expect("ip untouched"),
        1
    );
}

#[tokio::test]
async fn rotation_stores_the_successor_in_the_same_family_and_replay_revokes_it() {
    let f = fixture().await;
    f.store
        .insert_refresh_token("acme", refresh(&f, "g1", None))
        .await
        .expect("insert");
    let old = f
        .store
        .rotate_refresh_token("acme", "g1", "g2", in_an_hour())
        .await
        .expect("rotate")
        .expect("known token");
    // The successor inherits everything but its hash.
    let next = f
        .store
        .take_refresh_token("acme", "g2")
        .await
        .expect("take")
        .expect("successor is live");
    assert_eq!(next.family_id, old.family_id);
    assert_eq!(next.client_id, old.client_id);
    assert_eq!(next.scope, old.scope);
    assert_eq!(next.audience, old.audience);
    f.store
        .insert_refresh_token("acme", refresh(&f, "g3", Some(&old.family_id)))
        .await
        .expect("continue family");
    // Replaying g1 revokes the family, g3 included, and stores no successor.
    assert!(matches!(
        f.store
            .rotate_refresh_token("acme", "g1", "g4", in_an_hour())
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        f.store
            .take_refresh_token("acme", "g3")
            .await
            .expect("take"),
        None
    );
    assert_eq!(
        f.store
            .take_refresh_token("acme", "g4")
            .await
            .expect("take"),
        None
    );
    // Unknown tokens store nothing either.
    assert_eq!(
        f.store
            .rotate_refresh_token("acme", "nope", "g5", in_an_hour())
            .await
            .expect("rotate"),
        None
    );
    assert_eq!(
        f.store
            .take_refresh_token("acme", "g5")
            .await
            .expect("take"),
        None
    );
}

#[tokio::test]
async fn a_paused_login_resumes_once_for_its_tenant_and_not_after_expiry() {
    let f = fixture().await;
    f.store.create_tenant("other", None).await.expect("tenant");
    let login = serde_json::json!({"client_id": f.client_id, "resume_at": 1});
    f.store
        .park_login("acme", "s1", &login, in_an_hour())
        .await
        .expect("park");
    assert_eq!(
        f.store
            .take_parked_login("other", "s1")
            .await
            .expect("take"),
        None,
        "another tenant cannot resume it"
    );
    assert_eq!(
        f.store.take_parked_login("acme", "s1").await.expect("take"),
        Some(login.clone())
    );
    assert_eq!(
        f.store.take_parked_login("acme", "s1").await.expect("take"),
        None,
        "single use"
    );
    f.store
        .park_login(
            "acme",
            "s2",
            &login,
            SystemTime::now() - Duration::from_secs(1),
        )
        .await
        .expect("park");
    assert_eq!(
        f.store.take_parked_login("acme", "s2").await.expect("take"),
        None,
        "expired"
    );
}

#[tokio::test]
async fn peeking_a_refresh_token_does_not_use_it_up() {
    let f = fixture().await;
    f.store
        .insert_refresh_token("acme", refresh(&f, "p1", None))
        .await
        .expect("insert");
    for _ in 0..2 {
        let seen = f
            .store
            .peek_refresh_token("acme", "p1")
            .await
            .expect("peek");
        let (token, user) = seen.expect("live");
        assert_eq!(token.token_hash, "p1");
        assert_eq!(
            user.user_id, token.user_id,
            "the token's user comes with it"
        );
        assert_eq!(token.client_id, f.client_id);
    }
    assert_eq!(
        f.store
            .peek_refresh_token("other", "p1")
            .await
            .expect("peek")
            .map(|(t, _)| t),
        None
    );
    f.store
        .take_refresh_token("acme", "p1")
        .await
        .expect("take")
        .expect("still live after peeks");
    assert_eq!(
        f.store
            .peek_refresh_token("acme", "p1")
            .await
            .expect("peek")
            .map(|(t, _)| t),
        None,
        "used"
    );
}

#[tokio::test]
async fn one_group_commit_rotates_many_tokens_and_still_catches_a_replay_inside_it() {
    let f = fixture().await;
    // More tokens than one batched UPDATE takes, each in its own family.
    let hashes: Vec<String> = (0..40).map(|i| format!("b{i}")).collect();
    for h in &hashes {
        f.store
            .insert_refresh_token("acme", refresh(&f, h, None))
            .await
            .expect("insert");
    }
    // Queued together (nothing runs until the test awaits), so one commit
    // applies them all: every token once, `b0` a second time, one unknown token.
    let mut calls: Vec<(String, String)> = hashes
        .iter()
        .map(|h| (h.clone(), format!("{h}-next")))
        .collect();
    calls.push(("b0".into(), "b0-replayed".into()));
    calls.push(("unknown".into(), "unknown-next".into()));
    let tasks: Vec<_> = calls
        .iter()
        .map(|(old, next)| {
            let (store, old, next) = (f.store.clone(), old.clone(), next.clone());
            tokio::spawn(async move {
                store
                    .rotate_refresh_token("acme", &old, &next, in_an_hour())
                    .await
            })
        })
        .collect();
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.expect("task"));
    }
    let b0: Vec<_> = results
        .iter()
        .zip(&calls)
        .filter(|(_, (old, _))| old == "b0")
        .map(|(r, _)| r)
        .collect();
    assert!(
        b0.iter().any(|r| matches!(r, Ok(Some(_))))
            && b0.iter().any(|r| matches!(r, Err(StoreError::Conflict(_)))),
        "one presentation of b0 wins, the other is a replay: {b0:?}"
    );
    for ((old, next), result) in calls.iter().zip(&results) {
        let live = f
            .store
            .take_refresh_token("acme", next)
            .await
            .expect("take")
            .is_some();
        match old.as_str() {
            // The replay revoked b0's family, the successor it got included.
            "b0" | "unknown" => assert!(!live, "{next} must not be live"),
            _ => {
                let redeemed = result.as_ref().expect("rotated").as_ref().expect("known");
                assert_eq!(&redeemed.token_hash, old);
                assert!(live, "{next} is the live successor of {old}");
            }
        }
    }
    assert!(matches!(results.last(), Some(Ok(None))), "unknown token");
}

#[tokio::test]
async fn an_idle_token_expires_before_its_family_and_rotation_never_outlives_the_family() {
    let f = fixture().await;
    let family_end = SystemTime::now() + Duration::from_secs(600);
    let soon = NewRefreshToken {
        expires_at: SystemTime::now() + Duration::from_secs(60),
        family_expires_at: family_end,
        ..refresh(&f, "i1", None)
    };
    f.store
        .insert_refresh_token("acme", soon)
        .await
        .expect("insert");
    // A rotation asking for more than the family has gets the family's end.
    let old = f
        .store
        .rotate_refresh_token("acme", "i1", "i2", in_an_hour())
        .await
        .expect("rotate")
        .expect("known");
    let ms = |t: SystemTime| super::super::time::system_time_ms(t);
    assert_eq!(
        ms(old.expires),
        ms(family_end),
        "the record names the family's end"
    );
    let (next, _) = f
        .store
        .peek_refresh_token("acme", "i2")
        .await
        .expect("peek")
        .expect("live");
    assert_eq!(ms(next.expires), ms(family_end), "inherited");
    assert_eq!(
        next.expires_at,
        super::super::time::rfc3339_from_ms(ms(family_end)),
        "capped at the family's end"
    );
    // A token past its idle deadline is dead although its family is not.
    let idle = NewRefreshToken {
        expires_at: SystemTime::now() - Duration::from_secs(1),
        family_expires_at: family_end,
        ..refresh(&f, "i3", None)
    };
    f.store
        .insert_refresh_token("acme", idle)
        .await
        .expect("insert");
    assert!(
        f.store
            .peek_refresh_token("acme", "i3")
            .await
            .expect("peek")
            .is_none()
    );
    assert!(
        f.store
            .rotate_refresh_token("acme", "i3", "i4", in_an_hour())
            .await
            .expect("rotate")
            .is_none()
    );
}

#[tokio::test]
async fn a_token_written_by_a_node_from_before_the_idle_lifetime_still_rotates() {
    let f = fixture().await;
    f.store
        .insert_refresh_token("acme", refresh(&f, "old-node", None))
        .await
        .expect("insert");
    // What an older node's INSERT leaves during a rolling upgrade: the column's default.
    sqlx::query("UPDATE refresh_tokens SET family_expires_at = 0 WHERE token_hash = 'old-node'")
        .execute(&mut *f.store.conn().await.expect("conn"))
        .await
        .expect("update");
    let (record, _) = f
        .store
        .peek_refresh_token("acme", "old-node")
        .await
        .expect("peek")
        .expect("live");
    assert!(
        record.expires > SystemTime::now(),
        "its own expiry is the family's"
    );
    f.store
        .rotate_refresh_token("acme", "old-node", "new-node", in_an_hour())
        .await
        .expect("rotate")
        .expect("known");
    let (next, _) = f
        .store
        .peek_refresh_token("acme", "new-node")
        .await
        .expect("peek")
        .expect("the successor is live, not born expired");
    assert!(next.expires > SystemTime::now());
}
