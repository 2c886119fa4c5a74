//! Issue 7: every management change is in the audit trail — who, what, when,
//! code hashes before and after — and no secret value ever is.

use crate::support::{api, mgmt_token, start};
use serde_json::json;

#[test]
fn management_changes_are_audited_without_secret_values() {
    let s = start();
    let t = format!("{}/t/default", s.base);
    let client_id = s.creds["client_id"].as_str().expect("id");
    let token = mgmt_token(
        &s.base,
        "default",
        client_id,
        s.creds["client_secret"].as_str().expect("s"),
    );
    let secret = "sk_audit_me_not_42";
    let (st, action) = api(
        reqwest::Method::POST,
        format!("{t}/api/v2/actions/actions"),
        &token,
        Some(
            json!({"name": "audited", "supported_triggers": [{"id": "post-login", "version": "v3"}],
                    "code": "exports.onExecutePostLogin = async () => {};",
                    "secrets": [{"name": "KEY", "value": secret}]}),
        ),
    );
    assert_eq!(st, 201, "{action}");
    let id = action["id"].as_str().expect("id");
    let (st, _) = api(
        reqwest::Method::PATCH,
        format!("{t}/api/v2/actions/actions/{id}"),
        &token,
        Some(
            json!({"code": "exports.onExecutePostLogin = async (e, api) => { api.access.deny('x'); };"}),
        ),
    );
    assert_eq!(st, 200);
    // A refused change is recorded too, with its status.
    let (st, _) = api(
        reqwest::Method::PATCH,
        format!("{t}/api/v2/actions/actions/{id}"),
        &token,
        Some(json!({"code": "exports.onExecutePostLogin = async (e, api) => { let = ; };"})),
    );
    assert_eq!(st, 400);

    let (st, events) = api(
        reqwest::Method::GET,
        format!("{t}/api/v2/audit"),
        &token,
        None,
    );
    assert_eq!(st, 200, "{events}");
    let events = events.as_array().expect("a list").clone();
    assert!(
        !serde_json::to_string(&events)
            .expect("json")
            .contains(secret),
        "{events:?}"
    );
    // Newest first: the refused PATCH, the PATCH, the create.
    assert_eq!(events.len(), 3, "{events:?}");
    let (refused, patched, created) = (&events[0], &events[1], &events[2]);
    for e in [refused, patched, created] {
        // Auth0 names a machine caller `{client_id}@clients`.
        assert_eq!(e["actor"], format!("{client_id}@clients"), "{e}");
        assert!(
            e["date"].as_str().is_some_and(|d| d.starts_with("20")),
            "{e}"
        );
        assert!(
            e["body_hmac"].as_str().is_some_and(|h| h.len() == 64),
            "{e}"
        );
    }
    assert_eq!(created["method"], "POST");
    assert_eq!(created["path"], "/api/v2/actions/actions");
    assert_eq!(created["status"], 201);
    assert_eq!(patched["path"], format!("/api/v2/actions/actions/{id}"));
    assert_eq!(patched["status"], 200);
    assert_ne!(
        patched["code_before_sha256"], patched["code_after_sha256"],
        "{patched}"
    );
    assert_eq!(refused["status"], 400);
    assert_eq!(
        refused["code_before_sha256"], refused["code_after_sha256"],
        "nothing changed: {refused}"
    );
    assert_eq!(refused["code_before_sha256"], patched["code_after_sha256"]);
}
