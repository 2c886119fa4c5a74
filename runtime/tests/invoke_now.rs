//! `Runtime::invoke_now`: a call runs on the caller's thread only when it is
//! sure to be short; everything else is left to `invoke` on a blocking thread.

use rulebox_runtime::{Invocation, JsKind, Limits, OutcomeKind, Runtime, RuntimeConfig, Trigger};

const LIGHT: &str =
    "exports.onExecutePostLogin = async (event, api) => { api.idToken.setCustomClaim('a', 1); };";
const BURNS: &str = "exports.onExecutePostLogin = async (event, api) => {
  if (event.burn) { let x = 0; for (let i = 0; i < 200000; i++) x += i; }
};";

#[test]
fn only_light_calls_without_network_run_on_the_callers_thread() {
    let rt = Runtime::new(RuntimeConfig {
        pool_slots: 4,
        max_concurrent: 4,
        ..RuntimeConfig::default()
    })
    .expect("runtime");
    let limits = Limits::default();
    let light = rt.load_js(&JsKind::Action, LIGHT).expect("loads");
    let o = rt
        .invoke_now(&Invocation::new(&light, Trigger::PostLogin, b"{}", &limits))
        .expect("a light call runs now");
    assert_eq!(o.kind, OutcomeKind::Ok, "{:?}", o.error);

    // A call that may reach the network is never run inline.
    let mut networked = limits.clone();
    networked.outbound.allow_hosts = vec!["api.example.com".into()];
    assert!(
        rt.invoke_now(&Invocation::new(
            &light,
            Trigger::PostLogin,
            b"{}",
            &networked
        ))
        .is_none()
    );

    // A module whose last call was heavy goes back to the blocking path until
    // a call of it is light again.
    let burns = rt.load_js(&JsKind::Action, BURNS).expect("loads");
    let big = Limits {
        fuel: 1_000_000_000,
        timeout_ms: 10_000,
        ..Limits::default()
    };
    let heavy = rt.invoke(&Invocation::new(
        &burns,
        Trigger::PostLogin,
        br#"{"burn": true}"#,
        &big,
    ));
    assert_eq!(heavy.kind, OutcomeKind::Ok, "{:?}", heavy.error);
    assert!(
        heavy.fuel_used > 3_000_000,
        "heavy enough: {}",
        heavy.fuel_used
    );
    assert!(
        rt.invoke_now(&Invocation::new(&burns, Trigger::PostLogin, b"{}", &big))
            .is_none()
    );
    let light_again = rt.invoke(&Invocation::new(&burns, Trigger::PostLogin, b"{}", &big));
    assert_eq!(light_again.kind, OutcomeKind::Ok);
    assert!(
        rt.invoke_now(&Invocation::new(&burns, Trigger::PostLogin, b"{}", &big))
            .is_some()
    );

    // Refusals are left to `invoke`, which reports them.
    let missing = "0".repeat(64).parse().expect("an id");
    assert!(
        rt.invoke_now(&Invocation::new(
            &missing,
            Trigger::PostLogin,
            b"{}",
            &limits
        ))
        .is_none()
    );
}

/// A call run on the caller's thread that asks for the network (and is
/// refused: it may reach nothing) gives its core back like any other call.
#[test]
fn a_refused_request_on_the_callers_thread_gives_its_core_back() {
    let rt = Runtime::new(RuntimeConfig {
        pool_slots: 4,
        max_concurrent: 4,
        cpu_slots: 1,
        ..RuntimeConfig::default()
    })
    .expect("runtime");
    let req = r#"{"url":"https://api.example.com/"}"#;
    let asks = wat::parse_str(format!(
        r#"(module
            (import "rulebox" "http_request" (func $req (param i32 i32) (result i32)))
            (memory (export "memory") 1)
            (func (export "rulebox_abi_v1"))
            (data (i32.const 0) "{}")
            (func (export "on_post_login") (result i32)
              (drop (call $req (i32.const 0) (i32.const {})))
              i32.const 0))"#,
        req.replace('"', "\\\""),
        req.len()
    ))
    .expect("wat");
    let id = rt.load(&asks).expect("loads");
    let limits = Limits {
        timeout_ms: 500,
        ..Limits::default()
    };
    for _ in 0..3 {
        let o = rt
            .invoke_now(&Invocation::new(&id, Trigger::PostLogin, b"{}", &limits))
            .or_else(|| Some(rt.invoke(&Invocation::new(&id, Trigger::PostLogin, b"{}", &limits))))
            .expect("an outcome");
        assert_eq!(o.kind, OutcomeKind::CapabilityDenied, "{:?}", o.error);
    }
}
