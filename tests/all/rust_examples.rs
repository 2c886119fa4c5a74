//! The example rules and the hostile set, built from source and run through
//! the sandbox exactly as the platform runs them.

use rulebox_abi::Command;
use rulebox_runtime::{
    Invocation, Limits, Outcome, OutcomeKind, Runtime, RuntimeConfig, Trigger, WallClock,
};
use rulebox_test_guests as guests;
use serde_json::{Value, json};
use std::sync::LazyLock;
use std::time::{Duration, UNIX_EPOCH};

static RT: LazyLock<Runtime> = LazyLock::new(|| {
    Runtime::new(RuntimeConfig {
        pool_slots: 16,
        max_concurrent: 8,
        ..RuntimeConfig::default()
    })
    .expect("runtime starts")
});

fn sample_event() -> Value {
    let text = include_str!("../../rules-examples/events/post-login.json");
    serde_json::from_str(text).expect("sample event parses")
}

fn event_with(path: &[&str], value: Value) -> Value {
    let mut e = sample_event();
    let mut slot = &mut e;
    for key in &path[..path.len() - 1] {
        slot = &mut slot[*key];
    }
    slot[path[path.len() - 1]] = value;
    e
}

fn run_at(module: &str, event: &Value, clock: WallClock) -> Outcome {
    let bytes = std::fs::read(module).expect("example module was built");
    let input = serde_json::to_vec(event).expect("json");
    RT.run_module(
        &bytes,
        Trigger::PostLogin,
        &input,
        &Limits::default(),
        clock,
    )
}

fn run(module: &str, event: &Value) -> Outcome {
    run_at(module, event, WallClock::System)
}

fn commands(module: &str, event: &Value) -> Vec<Command> {
    let o = run(module, event);
    assert_eq!(
        o.kind,
        OutcomeKind::Ok,
        "{module}: {:?} {:?}",
        o.error,
        o.logs
    );
    o.commands().to_vec()
}

fn deny(reason: &str) -> Vec<Command> {
    vec![Command::Deny {
        reason: reason.into(),
        code: None,
    }]
}

#[test]
fn email_domain_allowlist() {
    let m = guests::EMAIL_DOMAIN_ALLOWLIST;
    assert_eq!(commands(m, &sample_event()), vec![]);
    assert_eq!(
        commands(
            m,
            &event_with(&["user", "email"], json!("Boss@EXAMPLE.org"))
        ),
        vec![]
    );
    let denied = deny("Access denied: email domain not allowed");
    assert_eq!(
        commands(m, &event_with(&["user", "email"], json!("eve@evil.com"))),
        denied
    );
    assert_eq!(
        commands(
            m,
            &event_with(&["user", "email"], json!("eve@sub.example.com"))
        ),
        denied
    );
    assert_eq!(commands(m, &json!({})), denied, "no email is no pass");
}

#[test]
fn ip_allowlist() {
    let m = guests::IP_ALLOWLIST;
    for ip in ["192.168.1.20", "10.200.3.4", "2001:db8::7"] {
        assert_eq!(
            commands(m, &event_with(&["request", "ip"], json!(ip))),
            vec![],
            "{ip}"
        );
    }
    let denied = deny("Access denied: IP address not allowed");
    for ip in ["192.168.2.1", "8.8.8.8", "2001:db9::1", "not-an-ip"] {
        assert_eq!(
            commands(m, &event_with(&["request", "ip"], json!(ip))),
            denied,
            "{ip}"
        );
    }
}

#[test]
fn geoip_country_claims() {
    let m = guests::GEOIP_COUNTRY_CLAIMS;
    let claim = |name: &str, v: &str, id: bool| {
        let (name, value) = (name.to_owned(), json!(v));
        if id {
            Command::SetIdTokenClaim { name, value }
        } else {
            Command::SetAccessTokenClaim { name, value }
        }
    };
    assert_eq!(
        commands(m, &sample_event()),
        vec![
            claim("https://example.com/country", "DE", true),
            claim("https://example.com/country", "DE", false),
            claim("https://example.com/country_name", "Germany", true),
            claim("https://example.com/country_name", "Germany", false),
        ]
    );
    assert_eq!(
        commands(m, &event_with(&["request", "geoip"], Value::Null)),
        vec![]
    );
}

#[test]
fn mfa_for_admins() {
    let m = guests::MFA_FOR_ADMINS;
    let mfa = vec![Command::EnableMfa {
        provider: "any".into(),
        options: None,
    }];
    let admin = event_with(&["authorization", "roles"], json!(["admin"]));
    assert_eq!(commands(m, &admin), mfa);
    let legacy_admin = event_with(&["user", "app_metadata"], json!({"roles": ["admin"]}));
    assert_eq!(commands(m, &legacy_admin), mfa);
    assert_eq!(
        commands(m, &sample_event()),
        vec![],
        "editors are left alone"
    );
    let mut done = admin.clone();
    done["authentication"]["methods"] = json!([{"name": "pwd"}, {"name": "mfa"}]);
    assert_eq!(
        commands(m, &done),
        vec![],
        "no second prompt in one session"
    );
}

#[test]
fn weekday_app_access() {
    let m = guests::WEEKDAY_APP_ACCESS;
    let saturday = WallClock::Fixed(UNIX_EPOCH + Duration::from_millis(1_795_824_000_000));
    let monday = WallClock::Fixed(UNIX_EPOCH + Duration::from_millis(1_795_996_800_000));
    let payroll = event_with(&["client", "client_id"], json!("payroll-app"));
    let o = run_at(m, &payroll, saturday);
    assert_eq!(
        o.commands(),
        deny("This app is available during the week").as_slice()
    );
    assert_eq!(run_at(m, &payroll, monday).commands(), &[]);
    assert_eq!(
        run_at(m, &sample_event(), saturday).commands(),
        &[],
        "other apps are unaffected"
    );
}

#[test]
fn the_sdk_reports_events_it_cannot_read() {
    let o = run(
        guests::EMAIL_DOMAIN_ALLOWLIST,
        &json!({"user": {"email": 5}}),
    );
    assert_eq!(o.kind, OutcomeKind::Trap);
    assert!(!o.error.unwrap_or_default().is_empty());
}

#[test]
fn every_call_starts_from_a_clean_instance() {
    for _ in 0..5 {
        let c = commands(guests::STATE_PROBE, &sample_event());
        assert_eq!(
            c,
            vec![
                Command::SetIdTokenClaim {
                    name: "calls".into(),
                    value: json!(1)
                },
                Command::SetIdTokenClaim {
                    name: "vec_len".into(),
                    value: json!(1)
                },
            ]
        );
    }
}

#[test]
fn a_log_flood_is_truncated_and_the_call_still_succeeds() {
    let o = run(guests::LOG_FLOOD, &sample_event());
    assert_eq!(o.kind, OutcomeKind::Ok, "{:?}", o.error);
    assert!(o.logs_truncated);
    assert!(
        o.logs.iter().map(|l| l.message.len()).sum::<usize>()
            <= Limits::default().max_log_bytes as usize
    );
}

/// Every hostile module, its exact outcome, and proof the process serves a
/// normal call right after.
#[test]
fn hostile_modules_end_in_their_exact_outcome() {
    let expected = [
        ("infinite-loop", OutcomeKind::FuelExhausted),
        ("memory-bomb", OutcomeKind::MemoryLimit),
        ("huge-initial-memory", OutcomeKind::MemoryLimit),
        ("deep-recursion", OutcomeKind::StackOverflow),
        ("oversized-output", OutcomeKind::AbiViolation),
        ("malformed-output", OutcomeKind::AbiViolation),
        ("no-output", OutcomeKind::AbiViolation),
        ("bad-pointer", OutcomeKind::AbiViolation),
        ("missing-exports", OutcomeKind::AbiViolation),
        ("no-abi-marker", OutcomeKind::AbiViolation),
        ("wasi-filesystem", OutcomeKind::CapabilityDenied),
        ("wasi-socket", OutcomeKind::CapabilityDenied),
        ("trap", OutcomeKind::Trap),
        ("handler-error", OutcomeKind::Trap),
        ("counter", OutcomeKind::Ok),
        ("ok-minimal", OutcomeKind::Ok),
    ];
    assert_eq!(
        expected.len(),
        guests::HOSTILE.len(),
        "every hostile module has an expectation"
    );
    let input = serde_json::to_vec(&sample_event()).expect("json");
    for (name, kind) in expected {
        let wasm = wat::parse_file(guests::hostile(name)).expect("hostile WAT parses");
        let o = RT.run_module(
            &wasm,
            Trigger::PostLogin,
            &input,
            &Limits::default(),
            WallClock::System,
        );
        assert_eq!(o.kind, kind, "{name}: {:?}", o.error);
        assert!(
            o.kind == OutcomeKind::Ok || o.error.is_some(),
            "{name} explains itself"
        );
        let after = commands(guests::TRIVIAL, &sample_event());
        assert_eq!(after.len(), 1, "a normal call right after {name}");
    }
}

#[test]
fn an_oversized_event_is_refused_before_running() {
    let mut e = sample_event();
    e["user"]["user_metadata"]["blob"] = json!("x".repeat(200 << 10));
    let o = run(guests::TRIVIAL, &e);
    assert_eq!(o.kind, OutcomeKind::InputTooLarge);
}

#[test]
fn loading_by_hash_then_invoking_by_id() {
    let bytes = std::fs::read(guests::TRIVIAL).expect("built");
    let id = RT.load(&bytes).expect("valid");
    assert_eq!(id, rulebox_runtime::ModuleId::of(&bytes));
    let input = serde_json::to_vec(&sample_event()).expect("json");
    let limits = Limits::default();
    let o = RT.invoke(&Invocation::new(&id, Trigger::PostLogin, &input, &limits));
    assert_eq!(o.kind, OutcomeKind::Ok);
}
