//! Flows: the Actions bound to a trigger compiled into one snapshot and run
//! in one instance, each step under its own budgets and with its own result.

use rulebox_runtime::{
    Command, Invocation, JsKind, Limits, Outcome, OutcomeKind, Runtime, RuntimeConfig, Trigger,
};
use serde_json::{Value, json};
use std::sync::LazyLock;
use std::time::Duration;

static RT: LazyLock<Runtime> = LazyLock::new(|| {
    Runtime::new(RuntimeConfig {
        pool_slots: 8,
        max_concurrent: 4,
        ..RuntimeConfig::default()
    })
    .expect("runtime starts")
});

fn flow(sources: &[&str], input: Value, limits: &Limits, flow_ms: Option<u64>) -> Outcome {
    let source = serde_json::to_string(sources).expect("json");
    let id = match RT.load_js(&JsKind::Flow, &source) {
        Ok(id) => id,
        Err(e) => panic!("flow should load: {e}"),
    };
    let input = serde_json::to_vec(&input).expect("json");
    let mut inv = Invocation::new(&id, Trigger::PostLogin, &input, limits);
    inv.flow_timeout = flow_ms.map(Duration::from_millis);
    RT.invoke(&inv)
}

fn steps(n: usize) -> Vec<Value> {
    (0..n)
        .map(
            |i| json!({"index": i, "entry": "post-login", "secrets": {"N": format!("secret-{i}")}}),
        )
        .collect()
}

fn claims(o: &Outcome) -> Vec<(String, Value)> {
    o.commands()
        .iter()
        .filter_map(|c| match c {
            Command::SetIdTokenClaim { name, value } => Some((name.clone(), value.clone())),
            _ => None,
        })
        .collect()
}

const SET_META: &str = "exports.onExecutePostLogin = async (event, api) => {
  console.log('first sees', event.secrets.N);
  api.user.setAppMetadata('plan', 'gold');
  api.cache.set('k', 'v1');
  api.idToken.setCustomClaim('a', 1);
};";
const READ_META: &str = "exports.onExecutePostLogin = async (event, api) => {
  console.log('second sees', event.secrets.N);
  api.idToken.setCustomClaim('plan', event.user.app_metadata.plan);
  api.idToken.setCustomClaim('cached', api.cache.get('k').value);
};";
const DENY: &str = "exports.onExecutePostLogin = async (event, api) => { api.access.deny('no'); };";
const NEVER: &str = "exports.onExecutePostLogin = async (event, api) => { api.idToken.setCustomClaim('ran', true); };";
const SPIN: &str = "exports.onExecutePostLogin = async () => { while (true) {} };";
const BUSY: &str = "exports.onExecutePostLogin = async (event, api) => {
  let x = 0; for (let i = 0; i < 2000; i++) x += i;
  api.idToken.setCustomClaim('x', x);
};";

#[test]
fn each_step_has_its_own_commands_logs_and_secrets_and_sees_earlier_metadata() {
    let event = json!({"user": {"user_id": "u1", "app_metadata": {}}, "__rb_cache": {}});
    let o = flow(
        &[SET_META, READ_META],
        json!({"event": event, "steps": steps(2)}),
        &Limits::default(),
        None,
    );
    assert_eq!(o.kind, OutcomeKind::Ok, "{:?}", o.error);
    assert_eq!(o.steps.len(), 2, "two steps filed");
    assert!(
        o.commands().is_empty(),
        "nothing after the last step: {:?}",
        o.commands()
    );
    let (first, second) = (&o.steps[0], &o.steps[1]);
    assert_eq!(claims(first), vec![("a".to_owned(), json!(1))]);
    assert_eq!(
        claims(second),
        vec![
            ("plan".to_owned(), json!("gold")),
            ("cached".to_owned(), json!("v1"))
        ]
    );
    assert!(first.commands().contains(&Command::SetAppMetadata {
        name: "plan".into(),
        value: json!("gold")
    }));
    assert_eq!(first.logs.len(), 1);
    assert_eq!(first.logs[0].message, "first sees secret-0");
    assert_eq!(second.logs.len(), 1);
    assert_eq!(second.logs[0].message, "second sees secret-1");
    assert!(first.fuel_used > 0 && second.fuel_used > 0);
}

#[test]
fn a_deny_ends_the_flow_after_that_action() {
    let o = flow(
        &[DENY, NEVER],
        json!({"event": {"user": {}}, "steps": steps(2)}),
        &Limits::default(),
        None,
    );
    assert_eq!(o.kind, OutcomeKind::Ok);
    assert_eq!(o.steps.len(), 1, "the second Action never ran");
    assert!(matches!(o.steps[0].commands(), [Command::Deny { reason, .. }] if reason == "no"));
}

#[test]
fn a_resumed_flow_starts_where_it_is_told() {
    let cont = "exports.onExecutePostLogin = async () => {};
exports.onContinuePostLogin = async (event, api) => { api.idToken.setCustomClaim('back', true); };";
    let input = json!({"event": {"user": {}}, "steps": [
        {"index": 1, "entry": "continue-post-login", "secrets": {}},
        {"index": 2, "entry": "post-login", "secrets": {}},
    ]});
    let o = flow(&[DENY, cont, NEVER], input, &Limits::default(), None);
    assert_eq!(o.kind, OutcomeKind::Ok, "{:?}", o.error);
    assert_eq!(o.steps.len(), 2);
    assert_eq!(claims(&o.steps[0]), vec![("back".to_owned(), json!(true))]);
    assert_eq!(claims(&o.steps[1]), vec![("ran".to_owned(), json!(true))]);
}

#[test]
fn fuel_is_per_step_and_a_failing_step_keeps_the_ones_before_it() {
    // One step's worth of fuel: each busy step fits, their sum would not.
    let one = flow(
        &[BUSY],
        json!({"event": {}, "steps": steps(1)}),
        &Limits::default(),
        None,
    );
    assert_eq!(one.kind, OutcomeKind::Ok, "{:?}", one.error);
    let per_step = one.steps[0].fuel_used;
    let limits = Limits {
        fuel: per_step * 3 / 2,
        ..Limits::default()
    };
    let o = flow(
        &[BUSY, BUSY, BUSY, SPIN],
        json!({"event": {}, "steps": steps(4)}),
        &limits,
        Some(5_000),
    );
    assert_eq!(o.kind, OutcomeKind::FuelExhausted, "{:?}", o.error);
    assert_eq!(o.steps.len(), 3, "three steps finished before the spin");
    for s in &o.steps {
        assert_eq!(s.kind, OutcomeKind::Ok);
        assert!(s.fuel_used <= limits.fuel);
    }
    assert_eq!(
        o.fuel_used, limits.fuel,
        "the spin used its own step's fuel"
    );
}

#[test]
fn each_step_has_its_own_timeout_and_the_flow_its_budget() {
    let limits = Limits {
        fuel: u64::MAX / 2,
        timeout_ms: 150,
        ..Limits::default()
    };
    let o = flow(
        &[NEVER, SPIN],
        json!({"event": {}, "steps": steps(2)}),
        &limits,
        Some(10_000),
    );
    assert_eq!(o.kind, OutcomeKind::Timeout, "{:?}", o.error);
    assert_eq!(o.steps.len(), 1);
    assert!(
        o.duration_us < 2_000_000,
        "the step's own 150 ms ended it, not the flow's 10 s: {} us",
        o.duration_us
    );
}

#[test]
fn a_step_index_outside_the_flow_is_an_abi_violation() {
    let o = flow(
        &[NEVER],
        json!({"event": {}, "steps": [{"index": 5, "entry": "post-login"}]}),
        &Limits::default(),
        None,
    );
    assert_eq!(o.kind, OutcomeKind::AbiViolation, "{:?}", o.error);
    assert!(o.steps.is_empty());
}

#[test]
fn flows_are_validated_when_loaded() {
    let bad = |source: &str| {
        RT.load_js(&JsKind::Flow, source)
            .expect_err("refused")
            .to_string()
    };
    assert!(bad("not json").contains("JSON array"));
    assert!(bad("[]").contains("1 to"));
    let syntax =
        bad(&serde_json::to_string(&[NEVER, "exports.onExecutePostLogin = ("]).expect("json"));
    assert!(syntax.contains("Action 2 of the flow"), "{syntax}");
    let big = "x".repeat(rulebox_runtime::MAX_JS_SOURCE_BYTES + 1);
    assert!(bad(&serde_json::to_string(&[big]).expect("json")).contains("bytes"));
}
