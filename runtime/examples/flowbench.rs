use rulebox_runtime::{Invocation, JsKind, Limits, Runtime, RuntimeConfig, Trigger};
use std::time::Instant;
fn main() {
    let rt = Runtime::new(RuntimeConfig::default()).unwrap();
    let a0 = [
        "exports.onExecutePostLogin = async (event, api) => {\n  const allowed = ['example.com', 'example.org'];\n  const domain = (event.user.email || '').split('@')[1];\n  if (!allowed.includes(domain)) api.access.deny('domain not allowed');\n};",
        "exports.onExecutePostLogin = async (event, api) => {\n  const roles = (event.user.app_metadata && event.user.app_metadata.roles) || [];\n  api.idToken.setCustomClaim('https://example.com/roles', roles);\n  api.accessToken.setCustomClaim('https://example.com/roles', roles);\n};",
        "exports.onExecutePostLogin = async (event, api) => {\n  api.idToken.setCustomClaim('https://example.com/logins', event.stats.logins_count);\n  if (event.request.geoip) api.idToken.setCustomClaim('https://example.com/country', event.request.geoip.countryCode);\n};",
    ];
    let a: Vec<&str> = if std::env::var("EMPTY").is_ok() {
        vec![
            "exports.onExecutePostLogin = async () => {};";
            std::env::var("EMPTY").unwrap().parse().unwrap()
        ]
    } else {
        a0.to_vec()
    };
    let event: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(std::env::args().nth(1).unwrap()).unwrap())
            .unwrap();
    let src = serde_json::to_string(&a).unwrap();
    let id = rt.load_js(&JsKind::Flow, &src).unwrap();
    let steps: Vec<_> = (0..a.len())
        .map(|i| serde_json::json!({"index": i, "entry": "post-login", "secrets": {}}))
        .collect();
    let input = serde_json::to_vec(&serde_json::json!({"event": event, "steps": steps})).unwrap();
    println!("input bytes {}", input.len());
    let limits = Limits::default();
    let mut times = vec![];
    let mut fuel = 0;
    for _ in 0..3000 {
        let t = Instant::now();
        let o = rt.invoke(&Invocation::new(&id, Trigger::PostLogin, &input, &limits));
        times.push(t.elapsed().as_micros());
        assert!(o.is_ok(), "{:?}", o.error);
        fuel = o.steps.iter().map(|s| s.fuel_used).sum::<u64>() + o.fuel_used;
    }
    times.sort();
    println!(
        "flow p50 {}us p90 {}us fuel {}",
        times[1500], times[2700], fuel
    );
}
