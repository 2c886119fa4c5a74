//! Behaviour of the sandbox on small hand-written modules: every outcome
//! kind, isolation between calls, limits, and the artifact cache.

use rulebox_runtime::{
    Invocation, Limits, OutcomeKind, Runtime, RuntimeConfig, Trigger, WallClock,
};
use std::time::{Duration, Instant};

fn runtime() -> Runtime {
    Runtime::new(RuntimeConfig {
        pool_slots: 16,
        max_concurrent: 8,
        ..RuntimeConfig::default()
    })
    .expect("runtime starts")
}

fn wasm(src: &str) -> Vec<u8> {
    wat::parse_str(src).expect("test WAT parses")
}

/// A handler body wrapped in the ABI boilerplate, with `$out` and `$log` imported.
fn module(body: &str, extra: &str) -> Vec<u8> {
    wasm(&format!(
        r#"(module
            (import "rulebox" "output_write" (func $out (param i32 i32) (result i32)))
            (import "rulebox" "log" (func $log (param i32 i32 i32)))
            (import "rulebox" "input_len" (func $input_len (result i32)))
            (import "rulebox" "input_read" (func $input_read (param i32 i32) (result i32)))
            (memory (export "memory") 1)
            (func (export "rulebox_abi_v1"))
            {extra}
            (func (export "on_post_login") (result i32) {body}))"#
    ))
}

const EVENT: &[u8] = br#"{"user":{"email":"a@example.com"}}"#;

fn call(rt: &Runtime, bytes: &[u8], limits: &Limits) -> rulebox_runtime::Outcome {
    rt.run_module(bytes, Trigger::PostLogin, EVENT, limits, WallClock::System)
}

#[test]
fn ok_call_returns_commands_logs_and_stats() {
    let rt = runtime();
    let json = r#"{"commands":[{"op":"deny","reason":"no"},{"op":"add_scope","scope":"x"}]}"#;
    let m = module(
        &format!(
            "(call $log (i32.const 3) (i32.const 512) (i32.const 4))
             (drop (call $out (i32.const 0) (i32.const {})))
             i32.const 0",
            json.len()
        ),
        &format!(
            r#"(data (i32.const 0) "{}") (data (i32.const 512) "oops")"#,
            json.replace('"', "\\\"")
        ),
    );
    let o = call(&rt, &m, &Limits::default());
    assert_eq!(o.kind, OutcomeKind::Ok, "{:?}", o.error);
    assert_eq!(o.commands().len(), 2, "deny does not stop later commands");
    assert_eq!(o.logs.len(), 1);
    assert_eq!(o.logs[0].message, "oops");
    assert!(o.fuel_used > 0);
    assert_eq!(o.peak_memory_bytes, 65536);
    assert!(o.error.is_none());
}

#[test]
fn the_guest_reads_exactly_the_input() {
    let rt = runtime();
    // Echo the input back as the output: proves input_len/input_read.
    let m = module(
        "(drop (call $input_read (i32.const 1024) (call $input_len)))
         (drop (call $out (i32.const 1024) (call $input_len)))
         i32.const 0",
        "",
    );
    let input = br#"{"commands":[{"op":"add_scope","scope":"echo"}]}"#;
    let o = rt.run_module(
        &m,
        Trigger::PostLogin,
        input,
        &Limits::default(),
        WallClock::System,
    );
    assert_eq!(o.kind, OutcomeKind::Ok, "{:?}", o.error);
    assert_eq!(
        o.commands(),
        &[rulebox_runtime::Command::AddScope {
            scope: "echo".into()
        }]
    );
}

#[test]
fn infinite_loop_exhausts_fuel() {
    let rt = runtime();
    let o = call(
        &rt,
        &module("(loop br 0) i32.const 0", ""),
        &Limits::default(),
    );
    assert_eq!(o.kind, OutcomeKind::FuelExhausted);
    assert_eq!(o.fuel_used, Limits::default().fuel);
}

#[test]
fn infinite_loop_with_ample_fuel_times_out_on_time() {
    let rt = runtime();
    let limits = Limits {
        fuel: u64::MAX,
        timeout_ms: 50,
        ..Limits::default()
    };
    let t = Instant::now();
    let o = call(&rt, &module("(loop br 0) i32.const 0", ""), &limits);
    assert_eq!(o.kind, OutcomeKind::Timeout);
    let took = t.elapsed();
    assert!(took >= Duration::from_millis(50), "{took:?}");
    assert!(
        took < Duration::from_millis(500),
        "timeout overshot: {took:?}"
    );
}

#[test]
fn memory_growth_past_the_cap_is_memory_limit() {
    let rt = runtime();
    let m = module(
        "(loop (drop (memory.grow (i32.const 16))) br 0) i32.const 0",
        "",
    );
    let o = call(&rt, &m, &Limits::default());
    assert_eq!(o.kind, OutcomeKind::MemoryLimit, "{:?}", o.error);
    assert!(o.peak_memory_bytes <= Limits::default().memory_bytes);
    assert!(o.peak_memory_bytes > 9 << 20, "{}", o.peak_memory_bytes);
}

#[test]
fn initial_memory_over_the_cap_is_memory_limit() {
    let rt = runtime();
    let m = wasm(
        r#"(module (memory (export "memory") 1000) (func (export "rulebox_abi_v1"))
           (func (export "on_post_login") (result i32) i32.const 0))"#,
    );
    let o = call(&rt, &m, &Limits::default());
    assert_eq!(o.kind, OutcomeKind::MemoryLimit, "{:?}", o.error);
}

#[test]
fn unbounded_recursion_is_stack_overflow() {
    let rt = runtime();
    let m = module(
        "(call $rec (i32.const 0))",
        "(func $rec (param i32) (result i32) (call $rec (i32.add (local.get 0) (i32.const 1))))",
    );
    let o = call(&rt, &m, &Limits::default());
    assert_eq!(o.kind, OutcomeKind::StackOverflow, "{:?}", o.error);
}

#[test]
fn unreachable_is_a_trap_with_message() {
    let rt = runtime();
    let o = call(&rt, &module("unreachable", ""), &Limits::default());
    assert_eq!(o.kind, OutcomeKind::Trap);
    assert!(
        o.error.as_deref().unwrap_or("").contains("unreachable"),
        "{:?}",
        o.error
    );
}

#[test]
fn nonzero_return_is_a_trap_naming_the_code_and_last_error_log() {
    let rt = runtime();
    let m = module(
        "(call $log (i32.const 3) (i32.const 0) (i32.const 4)) i32.const 7",
        r#"(data (i32.const 0) "boom")"#,
    );
    let o = call(&rt, &m, &Limits::default());
    assert_eq!(o.kind, OutcomeKind::Trap);
    assert_eq!(o.error.as_deref(), Some("handler returned 7: boom"));
}

#[test]
fn output_violations_are_abi_violations() {
    let rt = runtime();
    let cases = [
        ("i32.const 0", "handler returned without writing output"),
        (
            "(drop (call $out (i32.const 0) (i32.const 8))) i32.const 0",
            "malformed output",
        ),
        (
            "(drop (call $out (i32.const 0) (i32.const 30000))) i32.const 0",
            "exceeds the 20480-byte output limit",
        ),
        (
            "(drop (call $out (i32.const -16) (i32.const 100))) i32.const 0",
            "negative pointer",
        ),
        (
            "(drop (call $out (i32.const 65500) (i32.const 100))) i32.const 0",
            "outside guest memory",
        ),
    ];
    for (body, expect) in cases {
        let o = call(
            &rt,
            &module(body, r#"(data (i32.const 0) "not json")"#),
            &Limits::default(),
        );
        assert_eq!(o.kind, OutcomeKind::AbiViolation, "{body}");
        let err = o.error.unwrap_or_default();
        assert!(err.contains(expect), "{body}: {err}");
    }
}

#[test]
fn upload_problems_map_to_their_kinds() {
    let rt = runtime();
    let limits = Limits::default();
    let garbage = call(&rt, b"\0asm\x01\0\0\0garbage", &limits);
    assert_eq!(garbage.kind, OutcomeKind::InvalidModule);
    let no_handler =
        wasm(r#"(module (memory (export "memory") 1) (func (export "rulebox_abi_v1")))"#);
    assert_eq!(
        call(&rt, &no_handler, &limits).kind,
        OutcomeKind::AbiViolation
    );
    let socket = wasm(
        r#"(module (import "wasi_snapshot_preview1" "sock_accept" (func (param i32 i32 i32) (result i32)))
           (memory (export "memory") 1) (func (export "rulebox_abi_v1"))
           (func (export "on_post_login") (result i32) i32.const 0))"#,
    );
    let o = call(&rt, &socket, &limits);
    assert_eq!(o.kind, OutcomeKind::CapabilityDenied);
    assert!(o.error.unwrap_or_default().contains("sock_accept"));
    let wrong_sig = wasm(
        r#"(module (import "rulebox" "log" (func (param i32)))
           (memory (export "memory") 1) (func (export "rulebox_abi_v1"))
           (func (export "on_post_login") (result i32) i32.const 0))"#,
    );
    assert_eq!(
        call(&rt, &wrong_sig, &limits).kind,
        OutcomeKind::AbiViolation
    );
}

#[test]
fn oversized_input_is_refused_before_running() {
    let rt = runtime();
    let m = module("unreachable", "");
    let id = rt.load(&m).expect("loads");
    let big = vec![b' '; 200 << 10];
    let limits = Limits::default();
    let o = rt.invoke(&Invocation::new(&id, Trigger::PostLogin, &big, &limits));
    assert_eq!(o.kind, OutcomeKind::InputTooLarge);
    assert_eq!(o.fuel_used, 0);
}

#[test]
fn missing_trigger_handler_is_an_abi_violation() {
    let rt = runtime();
    let id = rt.load(&module("i32.const 0", "")).expect("loads");
    let limits = Limits::default();
    let o = rt.invoke(&Invocation::new(
        &id,
        Trigger::CredentialsExchange,
        EVENT,
        &limits,
    ));
    assert_eq!(o.kind, OutcomeKind::AbiViolation);
}

#[test]
fn logs_are_bounded_and_flagged() {
    let rt = runtime();
    let m = module(
        "(local $i i32)
         (loop (call $log (i32.const 1) (i32.const 0) (i32.const 100))
               (local.set $i (i32.add (local.get $i) (i32.const 1)))
               (br_if 0 (i32.lt_u (local.get $i) (i32.const 1000))))
         (drop (call $out (i32.const 200) (i32.const 15))) i32.const 0",
        r#"(data (i32.const 200) "{\"commands\":[]}")"#,
    );
    let o = call(&rt, &m, &Limits::default());
    assert_eq!(o.kind, OutcomeKind::Ok, "{:?}", o.error);
    assert!(o.logs_truncated);
    let kept: usize = o.logs.iter().map(|l| l.message.len()).sum();
    assert!(kept <= Limits::default().max_log_bytes as usize, "{kept}");
}

#[test]
fn nothing_a_call_leaves_in_memory_or_globals_is_seen_by_the_next() {
    let rt = runtime();
    // Each call bumps a global and a memory cell; a fresh instance sees 1 + 1.
    let m = module(
        "(global.set $g (i32.add (global.get $g) (i32.const 1)))
         (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1)))
         (if (i32.eq (i32.add (global.get $g) (i32.load (i32.const 0))) (i32.const 2))
           (then (drop (call $out (i32.const 100) (i32.const 15))))
           (else (drop (call $out (i32.const 200) (i32.const 16)))))
         i32.const 0",
        r#"(global $g (mut i32) (i32.const 0))
           (data (i32.const 100) "{\"commands\":[]}")
           (data (i32.const 200) "{\"stale\":true}  ")"#,
    );
    for _ in 0..5 {
        let o = call(&rt, &m, &Limits::default());
        assert_eq!(o.kind, OutcomeKind::Ok, "state leaked: {:?}", o.error);
    }
}

#[test]
fn fixed_clock_reaches_the_guest() {
    let rt = runtime();
    // clock_time_get(realtime) → i64 at 0; report whether it equals 1e18 ns.
    let m = wasm(
        r#"(module
            (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
            (import "rulebox" "output_write" (func $out (param i32 i32) (result i32)))
            (memory (export "memory") 1)
            (data (i32.const 100) "{\"commands\":[]}")
            (func (export "rulebox_abi_v1"))
            (func (export "on_post_login") (result i32)
              (drop (call $clock (i32.const 0) (i64.const 1) (i32.const 0)))
              (if (i64.eq (i64.load (i32.const 0)) (i64.const 1000000000000000000))
                (then (drop (call $out (i32.const 100) (i32.const 15)))))
              i32.const 0))"#,
    );
    let at = std::time::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    let o = rt.run_module(
        &m,
        Trigger::PostLogin,
        EVENT,
        &Limits::default(),
        WallClock::Fixed(at),
    );
    assert_eq!(o.kind, OutcomeKind::Ok, "{:?}", o.error);
}

#[test]
fn compiled_artifacts_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = RuntimeConfig {
        pool_slots: 4,
        max_concurrent: 2,
        artifact_dir: Some(dir.path().to_path_buf()),
        ..RuntimeConfig::default()
    };
    let m = module(
        "(drop (call $out (i32.const 0) (i32.const 15))) i32.const 0",
        r#"(data (i32.const 0) "{\"commands\":[]}")"#,
    );
    let id = {
        let rt = Runtime::new(config.clone()).expect("runtime");
        rt.load(&m).expect("loads")
    };
    let files: Vec<_> = walk(dir.path());
    assert!(
        files.iter().any(|p| p.ends_with(format!("{id}.cwasm"))),
        "artifact written: {files:?}"
    );
    // A new process-equivalent runtime serves the id without the bytes.
    let rt = Runtime::new(config).expect("runtime");
    assert!(rt.is_loaded(&id));
    let limits = Limits::default();
    let o = rt.invoke(&Invocation::new(&id, Trigger::PostLogin, EVENT, &limits));
    assert_eq!(o.kind, OutcomeKind::Ok, "{:?}", o.error);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn an_unloaded_module_is_reported_not_panicked() {
    let rt = runtime();
    let id = rulebox_runtime::ModuleId::of(b"never loaded");
    let limits = Limits::default();
    let o = rt.invoke(&Invocation::new(&id, Trigger::PostLogin, EVENT, &limits));
    assert_eq!(o.kind, OutcomeKind::InvalidModule);
}

#[test]
fn pooling_falls_back_to_on_demand_when_the_reservation_fails() {
    // Millions of 4 GiB slots cannot be reserved on any machine.
    let rt = Runtime::new(RuntimeConfig {
        pool_slots: 10_000_000,
        ..RuntimeConfig::default()
    })
    .expect("falls back instead of failing");
    assert_eq!(rt.allocator(), rulebox_runtime::AllocatorKind::OnDemand);
    let o = call(&rt, &module("unreachable", ""), &Limits::default());
    assert_eq!(o.kind, OutcomeKind::Trap);
    assert_eq!(
        runtime().allocator(),
        rulebox_runtime::AllocatorKind::Pooling
    );
}

#[test]
fn tenant_policy_is_clamped_to_the_platform_ceiling() {
    let rt = runtime();
    let l = rt.limits_for(&rulebox_runtime::TenantPolicy {
        memory_bytes: Some(1 << 40),
        fuel: Some(42),
        ..Default::default()
    });
    assert_eq!(l.memory_bytes, rt.config().max_memory_bytes);
    assert_eq!(l.fuel, 42);
}
