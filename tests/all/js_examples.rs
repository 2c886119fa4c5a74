//! The JavaScript examples in `rules-examples/js` behave exactly as their test
//! table (`rules-examples/js/cases.json`) says: every case's outcome, command
//! list, result and logs, on the real engine. Also drives the `rulebox run`
//! binary the way a tenant would, on a few of the same examples.

use rulebox_runtime::{Invocation, JsKind, Limits, Runtime, RuntimeConfig, Trigger, WallClock};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One example file and its cases.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExampleFile {
    /// Path relative to `rules-examples/js`.
    file: String,
    /// `action`, `rule` or `custom-db`.
    kind: String,
    /// Action trigger id; `post-login` when absent.
    #[serde(default)]
    trigger: Option<String>,
    /// Custom-DB script name (`login`, `getUser`, ...).
    #[serde(default)]
    script: Option<String>,
    /// Fixed guest clock (RFC 3339) for every case of the file.
    #[serde(default)]
    now: Option<String>,
    cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    /// Overrides the file's `now` for this case.
    #[serde(default)]
    now: Option<String>,
    input: Value,
    expect: Expect,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    /// Outcome kind, e.g. `ok`, `trap`.
    outcome: String,
    /// The exact command list.
    commands: Vec<Value>,
    /// The exact `result` (rules: `{user, context}` or `{error, ...}`;
    /// custom-DB: `{profile}`, `{value}` or `{error}`); unchecked when absent.
    #[serde(default)]
    result: Option<Value>,
    /// The exact log lines (`{level, message}`); unchecked when absent.
    #[serde(default)]
    logs: Option<Vec<Value>>,
    /// The outcome's error message; unchecked when absent.
    #[serde(default)]
    error: Option<String>,
}

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("rules-examples")
        .join("js")
}

fn load_table() -> Vec<ExampleFile> {
    let path = examples_dir().join("cases.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not a valid test table: {e}", path.display()))
}

/// What the engine is told the source is, and which handler to call.
fn kind_and_trigger(f: &ExampleFile) -> Result<(JsKind, Trigger), String> {
    match f.kind.as_str() {
        "action" => {
            let id = f.trigger.as_deref().unwrap_or("post-login");
            let trigger = Trigger::from_id(id).ok_or_else(|| format!("unknown trigger `{id}`"))?;
            Ok((JsKind::Action, trigger))
        }
        "rule" => Ok((JsKind::Rule, Trigger::PostLogin)),
        "custom-db" => {
            let script = f.script.clone().ok_or("a custom-db entry needs `script`")?;
            Ok((JsKind::CustomDb { script }, Trigger::CustomDb))
        }
        other => Err(format!("unknown kind `{other}` (action, rule, custom-db)")),
    }
}

fn clock(now: Option<&str>) -> Result<WallClock, String> {
    match now {
        None => Ok(WallClock::System),
        Some(t) => humantime::parse_rfc3339(t)
            .map(WallClock::Fixed)
            .map_err(|e| format!("`now` {t:?} is not RFC 3339: {e}")),
    }
}

fn to_values<T: serde::Serialize>(items: &[T]) -> Vec<Value> {
    items
        .iter()
        .map(|c| serde_json::to_value(c).expect("commands and logs serialize"))
        .collect()
}

/// Runs one case; `Err` describes every way it differs from its expectation.
fn run_case(
    rt: &Runtime,
    id: &rulebox_runtime::ModuleId,
    trigger: Trigger,
    file_now: Option<&str>,
    case: &Case,
) -> Result<(), String> {
    let input = serde_json::to_vec(&case.input).map_err(|e| format!("input: {e}"))?;
    let limits = Limits::default();
    let mut inv = Invocation::new(id, trigger, &input, &limits);
    inv.clock = clock(case.now.as_deref().or(file_now))?;
    let o = rt.invoke(&inv);

    let want = &case.expect;
    let mut diffs = Vec::new();
    if o.kind.as_str() != want.outcome {
        diffs.push(format!(
            "outcome: expected {}, got {} (error: {:?})",
            want.outcome, o.kind, o.error
        ));
    }
    let commands = to_values(o.commands());
    if commands != want.commands {
        diffs.push(format!(
            "commands:\n      expected {}\n      got      {}",
            Value::from(want.commands.clone()),
            Value::from(commands)
        ));
    }
    if let Some(result) = &want.result {
        let got = o.output.as_ref().and_then(|out| out.result.clone());
        if got.as_ref() != Some(result) {
            diffs.push(format!(
                "result:\n      expected {result}\n      got      {}",
                got.map_or("(none)".to_string(), |v| v.to_string())
            ));
        }
    }
    if let Some(logs) = &want.logs {
        let got = to_values(&o.logs);
        if &got != logs {
            diffs.push(format!(
                "logs:\n      expected {}\n      got      {}",
                Value::from(logs.clone()),
                Value::from(got)
            ));
        }
    }
    if want.error.is_some() && o.error != want.error {
        diffs.push(format!(
            "error: expected {:?}, got {:?}",
            want.error, o.error
        ));
    }
    if diffs.is_empty() {
        Ok(())
    } else {
        let logs: Vec<String> = o.logs.iter().map(|l| l.message.clone()).collect();
        diffs.push(format!("(guest logs: {logs:?})"));
        Err(diffs.join("\n    "))
    }
}

#[test]
fn every_example_behaves_as_its_cases_say() {
    let table = load_table();
    let rt = Runtime::new(RuntimeConfig {
        max_concurrent: 1,
        pool_slots: 2,
        ..RuntimeConfig::default()
    })
    .expect("runtime starts");

    let mut failures = Vec::new();
    let mut ran = 0;
    for f in &table {
        let path = examples_dir().join(&f.file);
        let source = match std::fs::read_to_string(&path) {
            Ok(s) => s,
            Err(e) => {
                failures.push(format!("{}: cannot read {}: {e}", f.file, path.display()));
                continue;
            }
        };
        let (kind, trigger) = match kind_and_trigger(f) {
            Ok(kt) => kt,
            Err(e) => {
                failures.push(format!("{}: {e}", f.file));
                continue;
            }
        };
        let id = match rt.load_js(&kind, &source) {
            Ok(id) => id,
            Err(e) => {
                failures.push(format!("{}: does not load: {e}", f.file));
                continue;
            }
        };
        for case in &f.cases {
            ran += 1;
            if let Err(why) = run_case(&rt, &id, trigger, f.now.as_deref(), case) {
                failures.push(format!("{} / {}:\n    {why}", f.file, case.name));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {ran} cases failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

fn js_files(dir: &Path, root: &Path, out: &mut BTreeSet<String>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            js_files(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "js") {
            let rel = path.strip_prefix(root).expect("under the examples dir");
            out.insert(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}

#[test]
fn every_example_is_in_the_table_with_contrasting_cases() {
    let table = load_table();
    let root = examples_dir();
    let mut on_disk = BTreeSet::new();
    js_files(&root, &root, &mut on_disk);
    let listed: BTreeSet<String> = table.iter().map(|f| f.file.clone()).collect();
    assert_eq!(
        listed.len(),
        table.len(),
        "a file is listed twice in cases.json"
    );
    let untested: Vec<&String> = on_disk.difference(&listed).collect();
    assert!(
        untested.is_empty(),
        "examples without cases in cases.json: {untested:?}"
    );
    let missing: Vec<&String> = listed.difference(&on_disk).collect();
    assert!(
        missing.is_empty(),
        "cases.json names files that do not exist: {missing:?}"
    );

    for script in [
        "login",
        "get_user",
        "create",
        "verify",
        "change_password",
        "delete",
        "change_email",
    ] {
        let file = format!("custom-db/legacy/{script}.js");
        assert!(
            listed.contains(&file),
            "the legacy custom-DB set lacks {file}"
        );
    }

    // Each example must show at least two different behaviours (allowed and
    // denied, success and failure), or a broken branch could go unnoticed.
    for f in &table {
        let behaviours: BTreeSet<String> = f
            .cases
            .iter()
            .map(|c| json!([c.expect.outcome, c.expect.commands, c.expect.result]).to_string())
            .collect();
        assert!(
            behaviours.len() >= 2,
            "{}: its cases expect only one behaviour; add a contrasting case",
            f.file
        );
        let names: BTreeSet<&str> = f.cases.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names.len(),
            f.cases.len(),
            "{}: case names must be unique",
            f.file
        );
    }
}

// ------------------------------------------------------ the binary, as a tenant runs it

/// Runs `rulebox run ...` from the repository root; returns the parsed one-line
/// JSON stdout and whether the process exited successfully.
fn rulebox_run(args: &[&str]) -> (Value, bool) {
    let out = Command::new(env!("CARGO_BIN_EXE_rulebox"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("run")
        .args(args)
        .arg("--no-cache")
        .output()
        .expect("rulebox starts");
    let stdout = String::from_utf8(out.stdout).expect("stdout is UTF-8");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stdout.lines().count(),
        1,
        "one line of JSON expected; stdout: {stdout:?}, stderr: {stderr}"
    );
    let value: Value = serde_json::from_str(stdout.trim_end())
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {stdout:?}, stderr: {stderr}"));
    (value, out.status.success())
}

fn write_json(dir: &Path, name: &str, value: &Value) -> String {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec(value).expect("json")).expect("writing a temp file");
    path.to_str().expect("temp path is UTF-8").to_owned()
}

#[test]
fn cli_runs_an_action_with_secrets() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let event = write_json(
        tmp.path(),
        "event.json",
        &json!({"user": {"user_id": "auth0|u1", "email": "mallory@evil.test", "email_verified": true}}),
    );
    let secrets = write_json(
        tmp.path(),
        "secrets.json",
        &json!({"ALLOWED_DOMAINS": "example.com"}),
    );
    let (out, success) = rulebox_run(&[
        "rules-examples/js/actions/email-domain-allowlist.js",
        "--trigger",
        "post-login",
        "--event",
        &event,
        "--secrets",
        &secrets,
    ]);
    assert!(success, "a denied login is still a successful run: {out}");
    assert_eq!(out["outcome"], "ok", "{out}");
    assert_eq!(
        out["commands"],
        json!([{"op": "deny", "reason": "Access denied: your email domain is not allowed to use this application."}])
    );
    assert_eq!(
        out["logs"][0]["message"], "denied login for domain \"evil.test\"",
        "{out}"
    );
    assert!(out.get("result").is_none(), "Actions have no result: {out}");

    let allowed = write_json(
        tmp.path(),
        "allowed.json",
        &json!({"user": {"user_id": "auth0|u2", "email": "jane@example.com"}}),
    );
    let (out, success) = rulebox_run(&[
        "rules-examples/js/actions/email-domain-allowlist.js",
        "--trigger",
        "post-login",
        "--event",
        &allowed,
        "--secrets",
        &secrets,
    ]);
    assert!(success, "{out}");
    assert_eq!(out["commands"], json!([]), "{out}");
}

#[test]
fn cli_runs_a_rule_with_configuration() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let input = write_json(
        tmp.path(),
        "input.json",
        &json!({
            "user": {"user_id": "auth0|u1", "email": "jane@example.com"},
            "context": {"clientID": "app1", "request": {"ip": "192.168.1.20",
                        "geoip": {"country_code": "DE", "time_zone": "Europe/Berlin"}}}
        }),
    );
    let cfg = write_json(
        tmp.path(),
        "cfg.json",
        &json!({"BLOCKED_COUNTRIES": "KP, IR"}),
    );
    let (out, success) = rulebox_run(&[
        "rules-examples/js/rules/geoip-country-claims.js",
        "--kind",
        "rule",
        "--event",
        &input,
        "--configuration",
        &cfg,
    ]);
    assert!(success, "{out}");
    assert_eq!(out["outcome"], "ok", "{out}");
    assert_eq!(
        out["commands"],
        json!([
            {"op": "set_id_token_claim", "name": "https://example.com/country", "value": "DE"},
            {"op": "set_id_token_claim", "name": "https://example.com/timezone", "value": "Europe/Berlin"},
            {"op": "set_access_token_claim", "name": "https://example.com/country", "value": "DE"}
        ])
    );
    assert_eq!(out["result"]["user"]["email"], "jane@example.com", "{out}");
    assert_eq!(out["result"]["context"]["clientID"], "app1", "{out}");
    assert_eq!(
        out["result"]["context"]["idToken"]["https://example.com/country"], "DE",
        "{out}"
    );

    let blocked_cfg = write_json(
        tmp.path(),
        "blocked.json",
        &json!({"BLOCKED_COUNTRIES": "DE"}),
    );
    let (out, success) = rulebox_run(&[
        "rules-examples/js/rules/geoip-country-claims.js",
        "--kind",
        "rule",
        "--event",
        &input,
        "--configuration",
        &blocked_cfg,
    ]);
    assert!(success, "{out}");
    assert_eq!(
        out["commands"],
        json!([{"op": "deny", "reason": "Access from your country is not allowed."}])
    );
    assert_eq!(out["result"]["error"]["type"], "UnauthorizedError", "{out}");
    assert_eq!(out["result"]["user"]["email"], "jane@example.com", "{out}");
}

#[test]
fn cli_runs_the_legacy_login_script() {
    // The legacy store (users with their legacy password hashes) as the table has it.
    let table = load_table();
    let login = table
        .iter()
        .find(|f| f.file == "custom-db/legacy/login.js")
        .expect("login.js is in cases.json");
    let configuration = login.cases[0].input["configuration"].clone();
    assert!(
        configuration["LEGACY_USERS"].is_string(),
        "the first login case carries LEGACY_USERS"
    );

    let tmp = tempfile::tempdir().expect("temp dir");
    let cfg = write_json(tmp.path(), "cfg.json", &configuration);
    let run = |args: &str| {
        rulebox_run(&[
            "rules-examples/js/custom-db/legacy/login.js",
            "--kind",
            "custom-db",
            "--script",
            "login",
            "--args",
            args,
            "--configuration",
            &cfg,
        ])
    };

    let (out, success) = run(r#"["ada@legacy.example","correct horse battery staple"]"#);
    assert!(success, "{out}");
    assert_eq!(out["outcome"], "ok", "{out}");
    assert_eq!(out["commands"], json!([]));
    assert_eq!(out["result"]["profile"]["user_id"], "legacy|1001", "{out}");
    assert_eq!(
        out["result"]["profile"]["email"], "ada@legacy.example",
        "{out}"
    );
    assert_eq!(out["result"]["profile"]["email_verified"], true, "{out}");

    let (out, success) = run(r#"["ada@legacy.example","pw"]"#);
    assert!(
        success,
        "a wrong password is a successful run with an error result: {out}"
    );
    assert_eq!(
        out["result"],
        json!({"error": {"type": "WrongUsernameOrPasswordError", "message": "Wrong email or password.",
                         "email": "ada@legacy.example"}})
    );
}
