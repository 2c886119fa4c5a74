//! JavaScript on the engine guest: Actions, legacy Rules, custom-DB scripts,
//! isolation between calls, and hostile code ending in its exact outcome.

use rulebox_runtime::{
    Command, Invocation, JsKind, Limits, Outcome, OutcomeKind, Runtime, RuntimeConfig, Trigger,
};
use serde_json::{Value, json};
use std::sync::LazyLock;

/// One runtime for the whole file: the instrumented engine is compiled once.
static RT: LazyLock<Runtime> = LazyLock::new(|| {
    Runtime::new(RuntimeConfig {
        pool_slots: 16,
        max_concurrent: 8,
        ..RuntimeConfig::default()
    })
    .expect("runtime starts")
});

fn call(kind: JsKind, source: &str, trigger: Trigger, input: Value, limits: &Limits) -> Outcome {
    let id = match RT.load_js(&kind, source) {
        Ok(id) => id,
        Err(e) => panic!("source should load: {e}"),
    };
    let input = serde_json::to_vec(&input).expect("json");
    RT.invoke(&Invocation::new(&id, trigger, &input, limits))
}

fn action(source: &str, event: Value) -> Outcome {
    call(
        JsKind::Action,
        source,
        Trigger::PostLogin,
        event,
        &Limits::default(),
    )
}

fn rule(source: &str, input: Value) -> Outcome {
    call(
        JsKind::Rule,
        source,
        Trigger::PostLogin,
        input,
        &Limits::default(),
    )
}

fn script(name: &str, source: &str, args: Value) -> Outcome {
    let kind = JsKind::CustomDb {
        script: name.into(),
    };
    call(
        kind,
        source,
        Trigger::CustomDb,
        json!({"args": args, "configuration": {"k": "v"}}),
        &Limits::default(),
    )
}

fn ok(o: &Outcome) {
    assert_eq!(o.kind, OutcomeKind::Ok, "{:?} logs={:?}", o.error, o.logs);
}

#[test]
fn action_deny_is_recorded_and_code_after_it_still_runs() {
    let o = action(
        r#"exports.onExecutePostLogin = async (event, api) => {
             api.access.deny('nope');
             api.idToken.setCustomClaim('https://x/after', event.user.email);
           };"#,
        json!({"user": {"email": "a@b.c"}}),
    );
    ok(&o);
    assert_eq!(
        o.commands(),
        &[
            Command::Deny {
                reason: "nope".into(),
                code: None
            },
            Command::SetIdTokenClaim {
                name: "https://x/after".into(),
                value: json!("a@b.c")
            },
        ]
    );
}

#[test]
fn action_api_surface_maps_to_commands() {
    let o = action(
        r#"exports.onExecutePostLogin = async (event, api) => {
             api.accessToken.setCustomClaim('https://x/plan', 'pro').addScope('read:a').removeScope('write:b');
             api.user.setAppMetadata('seen', true).setUserMetadata('theme', 'dark');
             api.multifactor.enable('any', { allowRememberBrowser: false });
             api.redirect.sendUserTo('https://idv.example/start', { query: { u: event.user.user_id } });
             api.transaction.setMetadata('step', 1);
             const hit = api.cache.get('k');
             api.cache.set('k', 'v', { ttl: 1000 });
             api.idToken.setCustomClaim('https://x/secret', event.secrets.API_KEY);
             api.idToken.setCustomClaim('https://x/cached', hit ? hit.value : null);
           };"#,
        json!({"user": {"user_id": "u1"}, "secrets": {"API_KEY": "s3"}, "__rb_cache": {"k": {"value": "old"}}}),
    );
    ok(&o);
    let ops: Vec<Value> = o
        .commands()
        .iter()
        .map(|c| serde_json::to_value(c).expect("json"))
        .collect();
    let names: Vec<&str> = ops.iter().filter_map(|c| c["op"].as_str()).collect();
    assert_eq!(
        names,
        [
            "set_access_token_claim",
            "add_scope",
            "remove_scope",
            "set_app_metadata",
            "set_user_metadata",
            "enable_mfa",
            "redirect",
            "set_transaction_metadata",
            "cache_set",
            "set_id_token_claim",
            "set_id_token_claim"
        ]
    );
    assert_eq!(ops[5]["options"], json!({"allowRememberBrowser": false}));
    assert_eq!(ops[6]["query"], json!({"u": "u1"}));
    assert_eq!(
        ops[8],
        json!({"op": "cache_set", "key": "k", "value": "v", "ttl_ms": 1000})
    );
    assert_eq!(ops[9]["value"], json!("s3"));
    assert_eq!(ops[10]["value"], json!("old"));
}

#[test]
fn promises_and_timers_resolve_inside_the_call() {
    let o = action(
        r#"const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
           exports.onExecutePostLogin = async (event, api) => {
             const order = [];
             setTimeout(() => order.push('late'), 50);
             await sleep(10);
             order.push('early');
             await sleep(100);
             await Promise.all([1, 2].map(async (n) => order.push('n' + n)));
             api.idToken.setCustomClaim('order', order);
           };"#,
        json!({}),
    );
    ok(&o);
    assert_eq!(
        o.commands(),
        &[Command::SetIdTokenClaim {
            name: "order".into(),
            value: json!(["early", "late", "n1", "n2"])
        }]
    );
}

#[test]
fn other_triggers_get_their_own_api() {
    let src = r#"exports.onExecuteCredentialsExchange = async (event, api) => {
                   if (event.client.client_id === 'bad') api.access.deny('invalid_request', 'client blocked');
                   api.accessToken.setCustomClaim('https://x/c', event.client.client_id);
                 };"#;
    let o = call(
        JsKind::Action,
        src,
        Trigger::CredentialsExchange,
        json!({"client": {"client_id": "bad"}}),
        &Limits::default(),
    );
    ok(&o);
    assert_eq!(
        o.commands()[0],
        Command::Deny {
            reason: "client blocked".into(),
            code: Some("invalid_request".into())
        }
    );
    let o = call(
        JsKind::Action,
        src,
        Trigger::PostLogin,
        json!({}),
        &Limits::default(),
    );
    assert_eq!(
        o.kind,
        OutcomeKind::AbiViolation,
        "no post-login handler: {:?}",
        o.error
    );
}

#[test]
fn uncaught_errors_fail_the_call_with_their_message() {
    let o = action(
        "exports.onExecutePostLogin = async () => { throw new Error('upstream down'); };",
        json!({}),
    );
    assert_eq!(o.kind, OutcomeKind::Trap);
    assert_eq!(o.error.as_deref(), Some("Error: upstream down"));
}

#[test]
fn rule_claims_mfa_and_redirect_come_from_the_context() {
    let o = rule(
        r#"function (user, context, callback) {
             const ns = 'https://example.com/';
             context.idToken[ns + 'roles'] = user.app_metadata.roles;
             context.accessToken[ns + 'tenant'] = context.tenant;
             if (user.app_metadata.roles.includes('admin')) context.multifactor = { provider: 'any', allowRememberBrowser: false };
             if (configuration.REDIRECT) context.redirect = { url: configuration.REDIRECT };
             user.touched = true;
             callback(null, user, context);
           }"#,
        json!({"user": {"app_metadata": {"roles": ["admin"]}}, "context": {"tenant": "acme"},
               "configuration": {"REDIRECT": "https://r.example"}}),
    );
    ok(&o);
    let ops: Vec<Value> = o
        .commands()
        .iter()
        .map(|c| serde_json::to_value(c).expect("json"))
        .collect();
    assert_eq!(
        ops[0],
        json!({"op": "set_id_token_claim", "name": "https://example.com/roles", "value": ["admin"]})
    );
    assert_eq!(
        ops[1],
        json!({"op": "set_access_token_claim", "name": "https://example.com/tenant", "value": "acme"})
    );
    assert_eq!(
        ops[2],
        json!({"op": "enable_mfa", "provider": "any", "options": {"allowRememberBrowser": false}})
    );
    assert_eq!(
        ops[3],
        json!({"op": "redirect", "url": "https://r.example"})
    );
    let result = o
        .output
        .as_ref()
        .and_then(|o| o.result.clone())
        .expect("result");
    assert_eq!(result["user"]["touched"], json!(true));
    assert_eq!(result["context"]["tenant"], json!("acme"));
}

#[test]
fn rule_errors_deny_access_with_the_message() {
    for err in [
        "new UnauthorizedError('blocked user')",
        "new Error('blocked user')",
        "'blocked user'",
    ] {
        let o = rule(
            &format!("function (user, context, callback) {{ callback({err}); }}"),
            json!({"user": {}, "context": {}}),
        );
        ok(&o);
        assert_eq!(
            o.commands(),
            &[Command::Deny {
                reason: "blocked user".into(),
                code: None
            }],
            "{err}"
        );
    }
}

#[test]
fn rule_that_never_calls_back_is_a_timeout() {
    let o = rule(
        "function (user, context, callback) { /* forgot */ }",
        json!({}),
    );
    assert_eq!(o.kind, OutcomeKind::Timeout, "{:?}", o.error);
}

#[test]
fn rule_that_calls_back_twice_is_an_abi_violation() {
    let o = rule(
        "function (user, context, callback) { callback(null, user, context); setTimeout(() => callback(null, user, context), 5); }",
        json!({}),
    );
    assert_eq!(o.kind, OutcomeKind::AbiViolation);
    assert_eq!(
        o.error.as_deref(),
        Some("callback was called more than once")
    );
}

const LOGIN: &str = r#"function login(email, password, callback) {
  const users = { 'a@b.c': { pw: 'right', id: 7 } };
  const u = users[email];
  if (!u || u.pw !== password) return callback(new WrongUsernameOrPasswordError(email, 'Wrong email or password.'));
  callback(null, { user_id: 'legacy|' + u.id, email: email, email_verified: true, app_metadata: { from: configuration.k } });
}"#;

#[test]
fn custom_db_login_returns_the_profile_or_the_typed_error() {
    let o = script("login", LOGIN, json!(["a@b.c", "right"]));
    ok(&o);
    let r = o.output.and_then(|o| o.result).expect("result");
    assert_eq!(r["profile"]["user_id"], json!("legacy|7"));
    assert_eq!(r["profile"]["app_metadata"]["from"], json!("v"));
    let o = script("login", LOGIN, json!(["a@b.c", "wrong"]));
    ok(&o);
    let r = o.output.and_then(|o| o.result).expect("result");
    assert_eq!(
        r["error"],
        json!({"type": "WrongUsernameOrPasswordError", "message": "Wrong email or password.", "email": "a@b.c"})
    );
}

#[test]
fn custom_db_scripts_report_values_and_validation_errors() {
    let create = "function create(user, callback) { if (user.email === 'dup@b.c') return callback(new ValidationError('user_exists', 'the user already exists')); callback(null); }";
    let r = script("create", create, json!([{"email": "dup@b.c"}]))
        .output
        .and_then(|o| o.result)
        .expect("result");
    assert_eq!(
        r["error"],
        json!({"type": "ValidationError", "message": "the user already exists", "code": "user_exists"})
    );
    let r = script("create", create, json!([{"email": "new@b.c"}]))
        .output
        .and_then(|o| o.result)
        .expect("result");
    assert_eq!(r, json!({"value": null}));
    let get_user = "function getUser(email, callback) { callback(null); }";
    let r = script("getUser", get_user, json!(["x@b.c"]))
        .output
        .and_then(|o| o.result)
        .expect("result");
    assert_eq!(
        r,
        json!({"profile": null}),
        "callback(null) means not found"
    );
}

#[test]
fn syntax_errors_are_refused_at_load_with_line_and_column() {
    let err = RT
        .load_js(
            &JsKind::Action,
            "exports.onExecutePostLogin = async (event, api) => {\n  let x = ;\n};\n",
        )
        .expect_err("refused");
    assert_eq!(err.kind(), OutcomeKind::InvalidModule);
    let rulebox_runtime::ValidationError::Script {
        message,
        line,
        column,
    } = &err
    else {
        panic!("expected a script error, got {err:?}");
    };
    assert!(message.starts_with("SyntaxError"), "{message}");
    assert_eq!((*line, *column), (Some(2), Some(11)));

    let err = RT
        .load_js(&JsKind::Action, "exports.somethingElse = 1;")
        .expect_err("no handler");
    assert!(err.to_string().contains("exports no handler"), "{err}");
    let err = RT.load_js(&JsKind::Rule, "42").expect_err("not a function");
    assert!(err.to_string().contains("one function expression"), "{err}");
    let err = RT
        .load_js(
            &JsKind::CustomDb {
                script: "hack".into(),
            },
            "function hack(cb) {}",
        )
        .expect_err("unknown script");
    assert!(
        err.to_string().contains("unknown custom database script"),
        "{err}"
    );
    let err = RT
        .load_js(&JsKind::Action, &"x".repeat(200_000))
        .expect_err("too large");
    assert_eq!(err.kind(), OutcomeKind::InvalidModule);
}

#[test]
fn top_level_code_that_never_ends_is_refused_at_load() {
    let err = RT
        .load_js(
            &JsKind::Action,
            "while (true) {}\nexports.onExecutePostLogin = async () => {};",
        )
        .expect_err("refused");
    assert!(err.to_string().contains("did not finish"), "{err}");
}

#[test]
fn prototype_pollution_and_module_state_never_reach_the_next_call() {
    let src = r#"let calls = 0;
      exports.onExecutePostLogin = async (event, api) => {
        calls += 1;
        api.idToken.setCustomClaim('calls', calls);
        api.idToken.setCustomClaim('polluted', ({}).isAdmin === true);
        api.idToken.setCustomClaim('global', typeof globalThis.leak);
        Object.prototype.isAdmin = true;
        globalThis.leak = 'x';
        Array.prototype.push = function () { throw new Error('poisoned'); };
      };"#;
    for _ in 0..3 {
        let o = action(src, json!({}));
        ok(&o);
        assert_eq!(
            o.commands(),
            &[
                Command::SetIdTokenClaim {
                    name: "calls".into(),
                    value: json!(1)
                },
                Command::SetIdTokenClaim {
                    name: "polluted".into(),
                    value: json!(false)
                },
                Command::SetIdTokenClaim {
                    name: "global".into(),
                    value: json!("undefined")
                },
            ]
        );
    }
    // Another tenant's (or version's) source runs on its own snapshot.
    let other = action(
        "exports.onExecutePostLogin = async (e, api) => { api.idToken.setCustomClaim('p', ({}).isAdmin === undefined); };",
        json!({}),
    );
    assert_eq!(
        other.commands(),
        &[Command::SetIdTokenClaim {
            name: "p".into(),
            value: json!(true)
        }]
    );
}

#[test]
fn infinite_loop_exhausts_fuel_or_times_out() {
    let src = "exports.onExecutePostLogin = async () => { while (true) {} };";
    let o = action(src, json!({}));
    assert_eq!(o.kind, OutcomeKind::FuelExhausted);
    let limits = Limits {
        fuel: u64::MAX,
        timeout_ms: 100,
        ..Limits::default()
    };
    let o = call(JsKind::Action, src, Trigger::PostLogin, json!({}), &limits);
    assert_eq!(o.kind, OutcomeKind::Timeout);
}

#[test]
fn unbounded_growth_is_memory_limit() {
    let limits = Limits {
        fuel: 5_000_000_000,
        ..Limits::default()
    };
    for body in [
        "let s = 'x'; while (true) { s = (s + s).toUpperCase(); }",
        "let s = 'x'; while (true) { s = s + s; }",
        "const a = []; while (true) { a.push({ n: a.length, s: 'yyyyyyyy' }); }",
    ] {
        let src = format!("exports.onExecutePostLogin = async () => {{ {body} }};");
        let o = call(JsKind::Action, &src, Trigger::PostLogin, json!({}), &limits);
        assert_eq!(o.kind, OutcomeKind::MemoryLimit, "{body}: {:?}", o.error);
    }
}

#[test]
fn deep_recursion_is_stack_overflow() {
    let o = action(
        "function f(n) { return f(n + 1) + 1; }\nexports.onExecutePostLogin = async () => { f(0); };",
        json!({}),
    );
    assert_eq!(o.kind, OutcomeKind::StackOverflow, "{:?}", o.error);
}

#[test]
fn huge_console_output_is_truncated_not_fatal() {
    let o = action(
        "exports.onExecutePostLogin = async (e, api) => { for (let i = 0; i < 300; i++) console.log('x'.repeat(200)); api.idToken.setCustomClaim('done', true); };",
        json!({}),
    );
    ok(&o);
    assert!(o.logs_truncated);
    assert!(
        o.logs.iter().map(|l| l.message.len()).sum::<usize>()
            <= Limits::default().max_log_bytes as usize
    );
}

#[test]
fn snapshots_are_reused_and_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = RuntimeConfig {
        pool_slots: 4,
        max_concurrent: 2,
        artifact_dir: Some(dir.path().to_path_buf()),
        ..RuntimeConfig::default()
    };
    let src =
        "exports.onExecutePostLogin = async (e, api) => { api.idToken.setCustomClaim('v', 1); };
exports.onExecuteCredentialsExchange = async () => {};";
    // The engine exports every handler; what the script exports is what counts.
    let exported = vec![Trigger::PostLogin, Trigger::CredentialsExchange];
    let id = {
        let rt = Runtime::new(config.clone()).expect("runtime");
        let (id, handlers) = rt.load_js_handlers(&JsKind::Action, src).expect("loads");
        assert_eq!(handlers, exported);
        assert_eq!(rt.load_js(&JsKind::Action, src).expect("cached"), id);
        id
    };
    let index: Vec<_> = std::fs::read_dir(dir.path().join("js-index"))
        .expect("index dir")
        .flatten()
        .collect();
    assert_eq!(index.len(), 1, "one snapshot recorded");
    let rt = Runtime::new(config).expect("runtime");
    assert!(rt.is_loaded(&id), "the compiled snapshot is on disk");
    assert_eq!(
        rt.load_js_handlers(&JsKind::Action, src)
            .expect("from index"),
        (id, exported),
        "the index keeps the handlers"
    );
    let rule = "function (user, context, callback) { callback(null, user, context); }";
    let (_, handlers) = rt.load_js_handlers(&JsKind::Rule, rule).expect("rule");
    assert_eq!(handlers, vec![Trigger::PostLogin]);
}

#[test]
fn math_random_is_fresh_per_call_and_replayable_with_a_seed() {
    let src = "exports.onExecutePostLogin = async (event, api) => { api.idToken.setCustomClaim('r', Math.random()); };";
    let id = RT.load_js(&JsKind::Action, src).expect("load");
    let input = serde_json::to_vec(&json!({"user": {}})).expect("json");
    let limits = Limits::default();
    let draw = |seed: Option<u64>| {
        let mut inv = Invocation::new(&id, Trigger::PostLogin, &input, &limits);
        inv.random_seed = seed;
        let o = RT.invoke(&inv);
        ok(&o);
        serde_json::to_value(o.commands()).expect("commands")[0]["value"].clone()
    };
    let (a, b) = (draw(None), draw(None));
    assert!(a.as_f64().is_some_and(|x| (0.0..1.0).contains(&x)), "{a}");
    assert_ne!(
        a, b,
        "the snapshot's generator state must not repeat across calls"
    );
    assert_eq!(
        draw(Some(7)),
        draw(Some(7)),
        "a fixed seed replays the same numbers"
    );
    assert_ne!(draw(Some(7)), draw(Some(8)));
}

#[test]
fn a_rules_global_is_handed_back_to_the_host_and_restored() {
    let src = "function (user, context, callback) {\n  global.calls = (global.calls || 0) + 1;\n  global.fn = function () {};\n  context.idToken['https://example.com/calls'] = global.calls;\n  callback(null, user, context);\n}";
    let first = rule(src, json!({"user": {}, "context": {}}));
    ok(&first);
    let result = first
        .output
        .as_ref()
        .and_then(|o| o.result.clone())
        .expect("result");
    assert_eq!(
        result["global"],
        json!({"calls": 1}),
        "functions are not kept"
    );
    // The host passes it back: the next call continues from it.
    let second = rule(
        src,
        json!({"user": {}, "context": {}, "__rb_global": result["global"]}),
    );
    ok(&second);
    let result = second
        .output
        .as_ref()
        .and_then(|o| o.result.clone())
        .expect("result");
    assert_eq!(result["global"], json!({"calls": 2}));
    // Without it (another node, a restart) the cache is simply empty.
    let fresh = rule(src, json!({"user": {}, "context": {}}));
    let result = fresh
        .output
        .as_ref()
        .and_then(|o| o.result.clone())
        .expect("result");
    assert_eq!(result["global"], json!({"calls": 1}));
}
