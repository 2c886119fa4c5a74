use super::*;
use serde_json::json;

const FULL_EVENT: &str = r#"{
  "user": {
    "user_id": "auth0|64f1c2a9e4b0a1b2c3d4e5f6",
    "email": "jane.doe@example.com",
    "email_verified": true,
    "username": "jane",
    "name": "Jane Doe",
    "given_name": "Jane",
    "family_name": "Doe",
    "nickname": "jane.doe",
    "picture": "https://s.gravatar.com/avatar/0123?s=480",
    "phone_number": "+14155550123",
    "phone_verified": false,
    "app_metadata": {"roles": ["admin"], "plan": "pro"},
    "user_metadata": {"locale": "en-US"},
    "identities": [
      {"provider": "auth0", "user_id": "64f1c2a9e4b0a1b2c3d4e5f6", "connection": "Username-Password-Authentication", "isSocial": false},
      {"provider": "github", "user_id": 1234567, "connection": "github", "isSocial": true, "profileData": {"login": "jane"}}
    ],
    "multifactor": ["guardian"],
    "created_at": "2025-03-01T10:00:00.000Z",
    "updated_at": "2026-11-27T08:30:00.000Z",
    "last_password_reset": "2026-01-15T12:00:00.000Z",
    "some_future_field": {"ignored": true}
  },
  "client": {"client_id": "payroll-app", "name": "Payroll", "metadata": {"tier": "internal"}},
  "connection": {"id": "con_1", "name": "Username-Password-Authentication", "strategy": "auth0", "metadata": {}},
  "request": {
    "ip": "2001:db8::1",
    "hostname": "login.example.com",
    "method": "POST",
    "query": {"scope": "openid"},
    "body": {},
    "language": "en-US",
    "user_agent": "Mozilla/5.0",
    "geoip": {
      "cityName": "Berlin", "continentCode": "EU", "countryCode": "DE", "countryCode3": "DEU",
      "countryName": "Germany", "latitude": 52.52, "longitude": 13.405,
      "subdivisionCode": "BE", "subdivisionName": "Berlin", "timeZone": "Europe/Berlin"
    }
  },
  "transaction": {
    "protocol": "oidc-basic-profile",
    "requested_scopes": ["openid", "profile"],
    "redirect_uri": "https://app.example.com/callback",
    "state": "xyz",
    "prompt": ["login"],
    "metadata": {"step": 1}
  },
  "authentication": {"methods": [{"name": "pwd", "timestamp": "2026-11-28T09:00:00.000Z"},
                                 {"name": "mfa", "timestamp": "2026-11-28T09:00:05.000Z", "type": "otp"}]},
  "authorization": {"roles": ["admin", "editor"]},
  "stats": {"logins_count": 42},
  "tenant": {"id": "acme"},
  "secrets": {"API_KEY": "s3cret"},
  "organization": {"id": "org_1", "name": "acme", "display_name": "ACME", "metadata": {"tier": "gold"}},
  "resource_server": {"identifier": "https://api.example.com"}
}"#;

#[test]
fn full_auth0_event_parses() {
    let e = Event::from_json(FULL_EVENT.as_bytes()).expect("full event parses");
    assert_eq!(
        e.user.user_id.as_deref(),
        Some("auth0|64f1c2a9e4b0a1b2c3d4e5f6")
    );
    assert_eq!(e.user.email.as_deref(), Some("jane.doe@example.com"));
    assert!(e.user.email_verified);
    assert!(!e.user.phone_verified);
    assert_eq!(e.user.family_name.as_deref(), Some("Doe"));
    assert_eq!(e.user.app_metadata["roles"], json!(["admin"]));
    assert_eq!(e.user.user_metadata["locale"], "en-US");
    assert_eq!(e.user.identities.len(), 2);
    assert_eq!(e.user.identities[1].user_id.as_deref(), Some("1234567"));
    assert!(e.user.identities[1].is_social);
    assert_eq!(e.user.multifactor, ["guardian"]);
    assert_eq!(
        e.user.last_password_reset.as_deref(),
        Some("2026-01-15T12:00:00.000Z")
    );
    assert_eq!(e.client.client_id.as_deref(), Some("payroll-app"));
    assert_eq!(e.client.metadata["tier"], "internal");
    assert_eq!(e.connection.strategy.as_deref(), Some("auth0"));
    assert_eq!(e.request.ip.as_deref(), Some("2001:db8::1"));
    assert_eq!(e.request.query, Some(json!({"scope": "openid"})));
    let geo = e.request.geoip.as_ref().expect("geoip");
    assert_eq!(geo.country_code.as_deref(), Some("DE"));
    assert_eq!(geo.country_code3.as_deref(), Some("DEU"));
    assert_eq!(geo.country_name.as_deref(), Some("Germany"));
    assert_eq!(geo.city_name.as_deref(), Some("Berlin"));
    assert_eq!(geo.time_zone.as_deref(), Some("Europe/Berlin"));
    assert_eq!(geo.latitude, Some(52.52));
    let tx = e.transaction.as_ref().expect("transaction");
    assert_eq!(tx.requested_scopes, ["openid", "profile"]);
    assert_eq!(tx.prompt, Some(json!(["login"])));
    assert_eq!(tx.metadata["step"], 1);
    assert!(e.authentication.has_method("mfa"));
    assert_eq!(e.authentication.methods[1].kind.as_deref(), Some("otp"));
    assert_eq!(e.authorization.roles, ["admin", "editor"]);
    assert_eq!(e.stats.logins_count, 42);
    assert_eq!(e.tenant.id.as_deref(), Some("acme"));
    assert_eq!(e.secrets.get("API_KEY").map(String::as_str), Some("s3cret"));
    let org = e.organization.as_ref().expect("organization");
    assert_eq!(org.display_name.as_deref(), Some("ACME"));
    assert_eq!(
        e.resource_server.and_then(|r| r.identifier).as_deref(),
        Some("https://api.example.com")
    );
}

#[test]
fn minimal_event_parses_to_defaults() {
    let e = Event::from_json(b"{}").expect("empty object parses");
    assert_eq!(e, Event::default());
    assert!(e.user.email.is_none());
    assert!(!e.user.email_verified);
    assert!(e.request.geoip.is_none());
    assert!(e.transaction.is_none());
    assert!(e.authorization.roles.is_empty());
    assert!(!e.authentication.has_method("mfa"));
}

#[test]
fn nulls_read_as_absent() {
    let e = Event::from_json(
        br#"{"user": {"email": null, "email_verified": null, "app_metadata": null,
                      "identities": null, "multifactor": null},
             "client": null, "request": {"geoip": null, "query": null},
             "authorization": {"roles": null}, "stats": {"logins_count": null},
             "secrets": null, "organization": null, "transaction": null}"#,
    )
    .expect("nulls parse");
    assert_eq!(e, Event::default());
}

#[test]
fn non_objects_are_refused() {
    assert!(Event::from_json(b"[]").is_err());
    assert!(Event::from_json(b"not json").is_err());
    assert!(Event::from_json(br#"{"user": {"email": 5}}"#).is_err());
}

#[test]
fn api_records_commands_in_call_order() {
    let mut api = Api::new();
    api.access_token()
        .add_scope("read:a")
        .remove_scope("write:a");
    api.id_token().set_custom_claim("https://x/n", 1);
    api.user()
        .set_app_metadata("plan", "pro")
        .set_user_metadata("theme", json!({"dark": true}));
    api.multifactor().enable("any", None);
    api.redirect()
        .send_user_to("https://x/consent", Some(json!({"a": "b"})));
    api.transaction().set_metadata("k", vec![1, 2]);
    assert_eq!(
        api.commands(),
        [
            Command::AddScope {
                scope: "read:a".into()
            },
            Command::RemoveScope {
                scope: "write:a".into()
            },
            Command::SetIdTokenClaim {
                name: "https://x/n".into(),
                value: json!(1)
            },
            Command::SetAppMetadata {
                name: "plan".into(),
                value: json!("pro")
            },
            Command::SetUserMetadata {
                name: "theme".into(),
                value: json!({"dark": true})
            },
            Command::EnableMfa {
                provider: "any".into(),
                options: None
            },
            Command::Redirect {
                url: "https://x/consent".into(),
                query: Some(json!({"a": "b"}))
            },
            Command::SetTransactionMetadata {
                name: "k".into(),
                value: json!([1, 2])
            },
        ]
    );
    assert!(!api.is_denied());
}

#[test]
fn deny_then_claims_keeps_both() {
    let mut api = Api::new();
    api.access().deny("no");
    api.id_token().set_custom_claim("a", true);
    api.access_token().set_custom_claim("b", "c");
    assert!(api.is_denied());
    let out = api.into_output();
    assert_eq!(out.result, None);
    assert_eq!(
        serde_json::to_value(&out).expect("serialises"),
        json!({"commands": [
            {"op": "deny", "reason": "no"},
            {"op": "set_id_token_claim", "name": "a", "value": true},
            {"op": "set_access_token_claim", "name": "b", "value": "c"},
        ]})
    );
}

fn sample_handler(event: &Event, api: &mut Api) {
    if event.user.email.is_none() {
        api.access().deny("no email");
    }
    api.id_token()
        .set_custom_claim("n", event.stats.logins_count);
}

// The macros must expand on the host too, where they only type-check the
// handler; a handler may share its name with the export, and be a closure.
mod macro_expansion {
    use crate::{Api, Event};

    fn on_post_login(event: &Event, api: &mut Api) {
        super::sample_handler(event, api);
    }

    crate::export_handlers!(post_login: on_post_login, credentials_exchange: |_, _| {});
}

#[test]
fn glue_turns_an_event_into_abi_output() {
    let out = guest::handle(br#"{"stats": {"logins_count": 3}}"#, sample_handler).expect("runs");
    let parsed: Output = serde_json::from_slice(&out).expect("valid ABI output");
    assert_eq!(
        parsed.commands,
        [
            Command::Deny {
                reason: "no email".into(),
                code: None
            },
            Command::SetIdTokenClaim {
                name: "n".into(),
                value: json!(3)
            },
        ]
    );
    assert_eq!(out, br#"{"commands":[{"op":"deny","reason":"no email"},{"op":"set_id_token_claim","name":"n","value":3}]}"#);
}

#[test]
fn glue_reports_unreadable_input_without_calling_the_handler() {
    let err = guest::handle(b"{\"user\": 1}", |_, _| panic!("must not run")).expect_err("fails");
    assert!(err.contains("not an event"), "{err}");
}

#[test]
fn import_names_match_the_abi_crate() {
    // `sys.rs` spells the imports as Rust identifiers; this keeps them in
    // step with the names the host links.
    assert_eq!(rulebox_abi::IMPORT_MODULE, "rulebox");
    assert_eq!(
        rulebox_abi::imports::CORE,
        ["input_len", "input_read", "output_write", "log", "step_end"]
    );
}
