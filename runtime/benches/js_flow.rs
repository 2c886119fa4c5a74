//! Three post-login Actions as one flow call beside the same three Actions
//! as one call each, on the sample event: what running a trigger's Actions in
//! one instance saves per login (BENCHMARKS.md).
//! `cargo bench -p rulebox-runtime --bench js_flow`.

use criterion::{Criterion, criterion_group, criterion_main};
use rulebox_runtime::{Invocation, JsKind, Limits, Runtime, RuntimeConfig, Trigger};
use serde_json::{Value, json};
use std::hint::black_box;

const ACTIONS: [&str; 3] = [
    "exports.onExecutePostLogin = async (event, api) => {\n  const allowed = ['example.com', 'example.org'];\n  const domain = (event.user.email || '').split('@')[1];\n  if (!allowed.includes(domain)) api.access.deny('domain not allowed');\n};",
    "exports.onExecutePostLogin = async (event, api) => {\n  const roles = (event.user.app_metadata && event.user.app_metadata.roles) || [];\n  api.idToken.setCustomClaim('https://example.com/roles', roles);\n  api.accessToken.setCustomClaim('https://example.com/roles', roles);\n};",
    "exports.onExecutePostLogin = async (event, api) => {\n  api.idToken.setCustomClaim('https://example.com/logins', event.stats.logins_count);\n  if (event.request.geoip) api.idToken.setCustomClaim('https://example.com/country', event.request.geoip.countryCode);\n};",
];

fn flows(c: &mut Criterion) {
    let rt = Runtime::new(RuntimeConfig::default()).expect("runtime");
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../rules-examples/events/post-login.json"
    );
    let mut event: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("sample event")).expect("json");
    // An address the first Action admits, so all three run.
    event["user"]["email"] = json!("someone@example.com");
    let limits = Limits::default();

    let singles: Vec<_> = ACTIONS
        .iter()
        .map(|a| rt.load_js(&JsKind::Action, a).expect("action loads"))
        .collect();
    let single_input = serde_json::to_vec(&event).expect("json");
    let flow = rt
        .load_js(
            &JsKind::Flow,
            &serde_json::to_string(&ACTIONS).expect("json"),
        )
        .expect("flow loads");
    let steps: Vec<Value> = (0..ACTIONS.len())
        .map(|i| json!({"index": i, "entry": "post-login", "secrets": {}}))
        .collect();
    let flow_input = serde_json::to_vec(&json!({"event": event, "steps": steps})).expect("json");

    let mut group = c.benchmark_group("three post-login Actions");
    group.bench_function("one call each", |b| {
        b.iter(|| {
            for id in &singles {
                let o = rt.invoke(&Invocation::new(
                    id,
                    Trigger::PostLogin,
                    &single_input,
                    &limits,
                ));
                assert!(o.is_ok(), "{:?}", o.error);
                black_box(o);
            }
        })
    });
    group.bench_function("one flow call", |b| {
        b.iter(|| {
            let o = rt.invoke(&Invocation::new(
                &flow,
                Trigger::PostLogin,
                &flow_input,
                &limits,
            ));
            assert!(o.is_ok() && o.steps.len() == ACTIONS.len(), "{:?}", o.error);
            black_box(o)
        })
    });
    group.finish();
}

criterion_group!(benches, flows);
criterion_main!(benches);
