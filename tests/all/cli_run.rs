//! `rulebox run` as a tenant uses it: one JSON object on stdout, exit code 0
//! only for `ok`.

use serde_json::Value;
use std::process::Command;

fn rulebox(args: &[&str]) -> (i32, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rulebox"))
        .args(args)
        .output()
        .expect("rulebox runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let json = serde_json::from_str(stdout.trim()).unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const EVENT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/rules-examples/events/post-login.json"
);

#[test]
fn a_good_rule_prints_the_documented_shape_and_exits_zero() {
    let (code, json, err) = rulebox(&[
        "run",
        rulebox_test_guests::GEOIP_COUNTRY_CLAIMS,
        "--event",
        EVENT,
        "--no-cache",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json["outcome"], "ok");
    for key in [
        "commands",
        "logs",
        "fuel_used",
        "peak_memory_bytes",
        "duration_us",
        "error",
    ] {
        assert!(json.get(key).is_some(), "missing {key}: {json}");
    }
    assert_eq!(json["commands"][0]["op"], "set_id_token_claim");
    assert!(json["fuel_used"].as_u64().unwrap_or(0) > 0);
    assert!(json["error"].is_null());
}

#[test]
fn hostile_modules_exit_nonzero_with_their_outcome() {
    let loop_wat = rulebox_test_guests::hostile("infinite-loop");
    let path = loop_wat.to_str().expect("utf-8 path");
    let (code, json, _) = rulebox(&["run", path, "--event", EVENT, "--no-cache"]);
    assert_eq!(code, 1);
    assert_eq!(json["outcome"], "fuel_exhausted");
    let (_, json, _) = rulebox(&[
        "run",
        path,
        "--event",
        EVENT,
        "--no-cache",
        "--fuel",
        "100000000000",
        "--timeout-ms",
        "30",
    ]);
    assert_eq!(json["outcome"], "timeout");
    let bomb = rulebox_test_guests::hostile("memory-bomb");
    let (_, json, _) = rulebox(&[
        "run",
        bomb.to_str().expect("utf-8"),
        "--event",
        EVENT,
        "--no-cache",
        "--memory-mb",
        "2",
    ]);
    assert_eq!(json["outcome"], "memory_limit");
    assert!(json["peak_memory_bytes"].as_u64().unwrap_or(u64::MAX) <= 2 << 20);
}

#[test]
fn the_event_can_come_from_stdin() {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_rulebox"))
        .args([
            "run",
            rulebox_test_guests::TRIVIAL,
            "--event",
            "-",
            "--no-cache",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawns");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(br#"{"user":{"email":"a@b.c"}}"#)
        .expect("writes");
    let out = child.wait_with_output().expect("finishes");
    assert!(out.status.success());
    let json: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["commands"][0]["name"], "https://example.com/trivial");
}

#[test]
fn usage_errors_are_exit_two_with_a_message() {
    let (code, _, err) = rulebox(&["run", "/nonexistent.wasm", "--event", EVENT]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent.wasm"), "{err}");
    let (code, _, err) = rulebox(&[
        "run",
        rulebox_test_guests::TRIVIAL,
        "--event",
        EVENT,
        "--trigger",
        "pre-login",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown trigger"), "{err}");
}

#[test]
fn the_pooling_allocator_falls_back_under_a_small_address_space_limit() {
    // 4 GiB of address space cannot hold the pool's reservations.
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v 4000000 && RULEBOX_LOG=warn '{}' run '{}' --event '{}' --no-cache",
            env!("CARGO_BIN_EXE_rulebox"),
            rulebox_test_guests::TRIVIAL,
            EVENT
        ))
        .output()
        .expect("sh runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("falling back to on-demand"), "{stderr}");
    let json: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["outcome"], "ok");
}
