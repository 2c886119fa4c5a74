//! Second factors: one enrollment per user, confirmed once, steps and recovery
//! codes each accepted once, gone with the user.

use super::super::mfa::{NewEnrollment, OTP, RECOVERY_CODE};
use super::*;

fn enrollment<'a>(user_id: &'a str, otp_id: &'a str, hash: &'a str) -> NewEnrollment<'a> {
    NewEnrollment {
        user_id,
        otp_id,
        otp_secret: "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
        recovery_id: &otp_id[otp_id.len() - 1..],
        recovery_hash: hash,
    }
}

#[tokio::test]
async fn an_enrollment_is_confirmed_once_and_each_step_and_code_is_used_once() {
    let (_dir, store) = store_with_tenant().await;
    let u = user(&store, "acme", DB, "kim@example.com").await;
    let id = u.user_id.as_str();
    store
        .enroll_mfa("acme", enrollment(id, "totp|dev_a", "h1"))
        .await
        .expect("enroll");
    // Unconfirmed: may be redone, replacing the first.
    store
        .enroll_mfa("acme", enrollment(id, "totp|dev_b", "h1"))
        .await
        .expect("enroll again");
    let list = store.mfa_authenticators("acme", id).await.expect("list");
    let ids: Vec<_> = list.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(ids.contains(&"totp|dev_b") && ids.contains(&"b"), "{ids:?}");
    let app = list
        .iter()
        .find(|a| a.authenticator_type == OTP)
        .expect("otp");
    assert_eq!(app.secret, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "opened");
    assert!(list.iter().all(|a| !a.active));
    // Not active yet: the recovery code does not work.
    assert!(
        !store
            .rotate_recovery_code("acme", id, "h1", "h2")
            .await
            .expect("rotate")
    );

    assert!(
        store
            .accept_otp_step("acme", id, "totp|dev_b", 100)
            .await
            .expect("step")
    );
    assert!(
        !store
            .accept_otp_step("acme", id, "totp|dev_b", 100)
            .await
            .expect("replay")
    );
    assert!(
        !store
            .accept_otp_step("acme", id, "totp|dev_b", 99)
            .await
            .expect("older")
    );
    assert!(
        store
            .accept_otp_step("acme", id, "totp|dev_b", 101)
            .await
            .expect("next")
    );
    let list = store.mfa_authenticators("acme", id).await.expect("list");
    assert!(
        list.iter().all(|a| a.active),
        "confirming the app confirms the code too"
    );
    // Confirmed: a second enrollment is refused.
    assert!(matches!(
        store
            .enroll_mfa("acme", enrollment(id, "totp|dev_c", "h9"))
            .await,
        Err(StoreError::Conflict(_))
    ));

    assert!(
        store
            .rotate_recovery_code("acme", id, "h1", "h2")
            .await
            .expect("rotate")
    );
    assert!(
        !store
            .rotate_recovery_code("acme", id, "h1", "h3")
            .await
            .expect("spent")
    );
    let codes: Vec<_> = store
        .mfa_authenticators("acme", id)
        .await
        .expect("list")
        .into_iter()
        .filter(|a| a.authenticator_type == RECOVERY_CODE)
        .map(|a| a.secret)
        .collect();
    assert_eq!(codes, ["h2"]);

    // Another tenant's user of the same id sees none of it.
    assert!(
        store
            .mfa_authenticators("other", id)
            .await
            .expect("list")
            .is_empty()
    );
    assert_eq!(
        store
            .delete_mfa_authenticators("other", id)
            .await
            .expect("delete"),
        0
    );

    // Deleting the user deletes their factors.
    store.delete_user("acme", id).await.expect("delete user");
    assert!(
        store
            .mfa_authenticators("acme", id)
            .await
            .expect("list")
            .is_empty()
    );
}

#[tokio::test]
async fn a_reset_lets_the_user_enroll_again() {
    let (_dir, store) = store_with_tenant().await;
    let u = user(&store, "acme", DB, "lee@example.com").await;
    let id = u.user_id.as_str();
    store
        .enroll_mfa("acme", enrollment(id, "totp|dev_a", "h1"))
        .await
        .expect("enroll");
    assert!(
        store
            .accept_otp_step("acme", id, "totp|dev_a", 5)
            .await
            .expect("step")
    );
    assert_eq!(
        store
            .delete_mfa_authenticators("acme", id)
            .await
            .expect("reset"),
        2
    );
    store
        .enroll_mfa("acme", enrollment(id, "totp|dev_b", "h2"))
        .await
        .expect("enroll after reset");
}

#[tokio::test]
async fn deleting_a_connection_deletes_its_users_factors() {
    let (_dir, store) = store_with_tenant().await;
    let u = user(&store, "acme", DB, "max@example.com").await;
    let id = u.user_id.as_str();
    store
        .enroll_mfa("acme", enrollment(id, "totp|dev_a", "h1"))
        .await
        .expect("enroll");
    let conn = store
        .list_connections("acme")
        .await
        .expect("connections")
        .into_iter()
        .find(|c| c.name == DB)
        .expect("db");
    store
        .delete_connection("acme", &conn.id)
        .await
        .expect("delete");
    assert!(
        store
            .mfa_authenticators("acme", id)
            .await
            .expect("list")
            .is_empty()
    );
}
