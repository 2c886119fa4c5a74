//! Management API edges over real HTTP: a refused PATCH changes nothing, passwords
//! follow one policy, log totals are totals, and running an Action's code takes
//! more than the right to read it.

use crate::support::*;
use serde_json::{Value, json};

#[test]
fn a_refused_user_patch_changes_nothing_and_passwords_follow_the_policy() {
    let s = start();
    let (t, token, client) = login_fixture(&s, &["pam@example.com"]);
    let (_, users) = api(
        reqwest::Method::GET,
        format!("{t}/api/v2/users-by-email?email=pam@example.com"),
        &token,
        None,
    );
    let uid = users[0]["user_id"].as_str().expect("uid").to_owned();
    let patch = |body: Value| {
        api(
            reqwest::Method::PATCH,
            format!("{t}/api/v2/users/{uid}"),
            &token,
            Some(body),
        )
    };
    // A valid new password next to an invalid field: refused as a whole.
    let (st, err) = patch(json!({"password": "brand new secret", "blocked": "yes"}));
    assert_eq!(st, 400, "{err}");
    assert_eq!(
        password_login(&t, &client, "pam@example.com", PASSWORD).status(),
        200,
        "the old password still works"
    );
    for bad in ["short", &"z".repeat(73)] {
        let (st, err) = patch(json!({ "password": bad }));
        assert_eq!(st, 400, "{err}");
        assert!(
            err["message"]
                .as_str()
                .is_some_and(|m| m.contains("PasswordStrengthError"))
        );
    }
    let (st, err) = api(
        reqwest::Method::POST,
        format!("{t}/api/v2/users"),
        &token,
        Some(json!({"connection": "db", "email": "long@example.com", "password": "z".repeat(73)})),
    );
    assert_eq!(st, 400, "{err}");
    let (st, _) = patch(json!({"password": "brand new secret", "name": "Pam"}));
    assert_eq!(st, 200);
    assert_eq!(
        password_login(&t, &client, "pam@example.com", "brand new secret").status(),
        200
    );
    assert_eq!(
        password_login(&t, &client, "pam@example.com", PASSWORD).status(),
        403
    );
}

#[test]
fn log_totals_count_every_log_and_test_needs_create_actions() {
    let s = start();
    let (t, token, client) = login_fixture(&s, &["lou@example.com"]);
    let action_id = create_deploy_bind(
        &t,
        &token,
        "noop",
        "post-login",
        "exports.onExecutePostLogin = async (event, api) => { console.log('hi'); };",
    );
    for _ in 0..3 {
        assert_eq!(
            password_login(&t, &client, "lou@example.com", PASSWORD).status(),
            200
        );
    }
    let logs = |query: &str| {
        let (st, out) = api(
            reqwest::Method::GET,
            format!("{t}/api/v2/logs?{query}"),
            &token,
            None,
        );
        assert_eq!(st, 200, "{out}");
        out
    };
    let page = logs("per_page=1&include_totals=true");
    assert_eq!(page["length"], 1, "{page}");
    assert_eq!(page["total"], 3, "{page}");
    let far = logs("page=4294967295&per_page=100&include_totals=true");
    assert_eq!(far["length"], 0, "{far}");
    assert_eq!(far["start"], 4_294_967_295u64 * 100, "{far}");

    // A machine client that may only read Actions cannot run them.
    let (st, reader) = api(
        reqwest::Method::POST,
        format!("{t}/api/v2/clients"),
        &token,
        Some(json!({"name": "reader", "app_type": "non_interactive"})),
    );
    assert_eq!(st, 201, "{reader}");
    let (st, grant) = api(
        reqwest::Method::POST,
        format!("{t}/api/v2/client-grants"),
        &token,
        Some(
            json!({"client_id": reader["client_id"], "audience": format!("{t}/api/v2/"),
                    "scope": ["read:actions"]}),
        ),
    );
    assert_eq!(st, 201, "{grant}");
    let reader_token = mgmt_token(
        &s.base,
        "default",
        reader["client_id"].as_str().expect("id"),
        reader["client_secret"].as_str().expect("secret"),
    );
    let test = |bearer: &str| {
        api(
            reqwest::Method::POST,
            format!("{t}/api/v2/actions/actions/{action_id}/test"),
            bearer,
            Some(json!({"payload": {}})),
        )
    };
    let (st, body) = test(&reader_token);
    assert_eq!(st, 403, "{body}");
    assert_eq!(body["errorCode"], "insufficient_scope");
    let (st, got) = api(
        reqwest::Method::GET,
        format!("{t}/api/v2/actions/actions/{action_id}"),
        &reader_token,
        None,
    );
    assert_eq!(st, 200, "reading is allowed: {got}");
    let (st, body) = test(&token);
    assert_eq!(st, 200, "{body}");
}

#[test]
fn refused_code_leaves_the_deployed_version_serving() {
    let s = start();
    let (t, token, client) = login_fixture(&s, &["vic@example.com"]);
    let claim = |version: &str| {
        format!(
            "exports.onExecutePostLogin = async (event, api) => {{ api.idToken.setCustomClaim('https://example.com/v', '{version}'); }};"
        )
    };
    let id = create_deploy_bind(&t, &token, "versioned", "post-login", &claim("v1"));
    let served = || {
        let r = password_login(&t, &client, "vic@example.com", PASSWORD);
        assert_eq!(r.status(), 200);
        id_claims(&r.json().expect("tokens"))["https://example.com/v"].clone()
    };
    assert_eq!(served(), "v1");
    // Broken JavaScript is refused with where it is broken.
    let (st, err) = api(
        reqwest::Method::PATCH,
        format!("{t}/api/v2/actions/actions/{id}"),
        &token,
        Some(json!({"code": "exports.onExecutePostLogin = async (event, api) => {"})),
    );
    assert_eq!(st, 400, "{err}");
    assert!(
        err["message"].as_str().is_some_and(|m| m.contains("line")),
        "{err}"
    );
    // A module that is not wasm, and one too large to run, are refused as well.
    let upload = |bytes: Vec<u8>| {
        let r = http()
            .post(format!("{t}/api/v2/actions/actions/{id}/versions"))
            .bearer_auth(&token)
            .header("content-type", "application/wasm")
            .body(bytes)
            .send()
            .expect("upload");
        let status = r.status().as_u16();
        (status, r.json::<Value>().unwrap_or(Value::Null))
    };
    let (st, err) = upload(b"not wasm at all".to_vec());
    assert_eq!(st, 400, "{err}");
    // Over axum's default body limit (2 MiB) but within the runtime's (16 MiB): judged
    // as a module, not refused as a body.
    let (st, err) = upload(vec![0u8; 3 << 20]);
    assert_eq!(st, 400, "{err}");
    assert!(
        err["message"]
            .as_str()
            .is_some_and(|m| m.contains("invalid") && !m.contains("large")),
        "{err}"
    );
    let (st, err) = upload(vec![0u8; 17 << 20]);
    assert_eq!(st, 400, "{err}");
    assert!(
        err["message"]
            .as_str()
            .is_some_and(|m| m.contains("over the 16777216-byte limit")),
        "{err}"
    );
    // Deploying again deploys the last good code: v1 still serves.
    let (st, v) = api(
        reqwest::Method::POST,
        format!("{t}/api/v2/actions/actions/{id}/deploy"),
        &token,
        None,
    );
    assert_eq!(st, 202, "{v}");
    assert_eq!(served(), "v1");
}

#[test]
fn an_action_needs_a_handler_for_each_trigger_it_supports() {
    let s = start();
    let (t, token, client) = login_fixture(&s, &["wes@example.com"]);
    let post = reqwest::Method::POST;
    let patch = reqwest::Method::PATCH;
    let triggers = |ids: &[&str]| -> Value {
        ids.iter()
            .map(|id| json!({"id": id, "version": "v3"}))
            .collect()
    };
    let message = |err: &Value| err["message"].as_str().unwrap_or_default().to_owned();
    let exchange_only = "exports.onExecuteCredentialsExchange = async (event, api) => { api.accessToken.setCustomClaim('x', 1); };";
    let actions_named = |name: &str| {
        let (st, list) = api(
            reqwest::Method::GET,
            format!("{t}/api/v2/actions/actions?actionName={name}"),
            &token,
            None,
        );
        assert_eq!(st, 200, "{list}");
        list["total"].clone()
    };

    // Code that exports another trigger's handler is refused at creation, saying which.
    let (st, err) = api(
        post.clone(),
        format!("{t}/api/v2/actions/actions"),
        &token,
        Some(
            json!({"name": "mismatch", "supported_triggers": triggers(&["post-login"]), "code": exchange_only}),
        ),
    );
    assert_eq!(st, 400, "{err}");
    assert_eq!(err["error"], "Bad Request", "{err}");
    assert!(
        message(&err).contains("`post-login`") && message(&err).contains("onExecutePostLogin"),
        "{err}"
    );
    assert_eq!(actions_named("mismatch"), 0, "nothing was stored");
    // A trigger this server never runs is refused rather than silently never run.
    let (st, err) = api(
        post.clone(),
        format!("{t}/api/v2/actions/actions"),
        &token,
        Some(
            json!({"name": "sms", "supported_triggers": triggers(&["send-phone-message"]), "code": exchange_only}),
        ),
    );
    assert_eq!(st, 400, "{err}");
    assert!(message(&err).contains("send-phone-message"), "{err}");
    assert_eq!(actions_named("sms"), 0);
    // Both handlers for both triggers is fine.
    let both = format!(
        "{exchange_only}\nexports.onExecutePostLogin = async (event, api) => {{ api.idToken.setCustomClaim('https://example.com/both', true); }};"
    );
    let (st, made) = api(
        post.clone(),
        format!("{t}/api/v2/actions/actions"),
        &token,
        Some(
            json!({"name": "both", "supported_triggers": triggers(&["post-login", "credentials-exchange"]), "code": both}),
        ),
    );
    assert_eq!(st, 201, "{made}");

    // A deployed Action keeps serving when a change would break its trigger:
    // new code without the handler, or a trigger its code does not handle.
    let id = create_deploy_bind(
        &t,
        &token,
        "served",
        "post-login",
        "exports.onExecutePostLogin = async (event, api) => { api.idToken.setCustomClaim('https://example.com/served', true); };",
    );
    let url = format!("{t}/api/v2/actions/actions/{id}");
    let (st, err) = api(
        patch.clone(),
        url.clone(),
        &token,
        Some(json!({"code": exchange_only})),
    );
    assert_eq!(st, 400, "{err}");
    assert!(message(&err).contains("onExecutePostLogin"), "{err}");
    let (st, err) = api(
        patch.clone(),
        url.clone(),
        &token,
        Some(json!({"supported_triggers": triggers(&["post-login", "credentials-exchange"])})),
    );
    assert_eq!(st, 400, "{err}");
    assert!(
        message(&err).contains("`credentials-exchange`")
            && message(&err).contains("onExecuteCredentialsExchange"),
        "{err}"
    );
    let (st, err) = api(
        patch.clone(),
        url.clone(),
        &token,
        Some(json!({"supported_triggers": "post-login"})),
    );
    assert_eq!(st, 400, "{err}");
    let (st, action) = api(reqwest::Method::GET, url.clone(), &token, None);
    assert_eq!(st, 200);
    assert_eq!(action["supported_triggers"], triggers(&["post-login"]));
    let r = password_login(&t, &client, "wes@example.com", PASSWORD);
    assert_eq!(r.status(), 200);
    assert_eq!(
        id_claims(&r.json().expect("tokens"))["https://example.com/served"],
        true
    );

    // A compiled module is held to the same rule: the example rule exports
    // only `on_post_login`.
    let (st, made) = api(
        post,
        format!("{t}/api/v2/actions/actions"),
        &token,
        Some(
            json!({"name": "exchange-wasm", "supported_triggers": triggers(&["credentials-exchange"]),
                    "code": exchange_only}),
        ),
    );
    assert_eq!(st, 201, "{made}");
    let wasm_id = made["id"].as_str().expect("id");
    let trivial = std::fs::read(rulebox_test_guests::TRIVIAL).expect("trivial.wasm built");
    let r = http()
        .post(format!("{t}/api/v2/actions/actions/{wasm_id}/versions"))
        .bearer_auth(&token)
        .header("content-type", "application/wasm")
        .body(trivial.clone())
        .send()
        .expect("upload");
    assert_eq!(r.status(), 400);
    let err: Value = r.json().expect("json");
    assert!(message(&err).contains("`on_credentials_exchange`"), "{err}");
    // As base64 in `module` on a PATCH too; the draft keeps its JavaScript.
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&trivial);
    let (st, err) = api(
        patch,
        format!("{t}/api/v2/actions/actions/{wasm_id}"),
        &token,
        Some(json!({"module": b64})),
    );
    assert_eq!(st, 400, "{err}");
    let (_, action) = api(
        reqwest::Method::GET,
        format!("{t}/api/v2/actions/actions/{wasm_id}"),
        &token,
        None,
    );
    assert_eq!(action["runtime"], "node18", "{action}");
}

#[test]
fn lists_page_filter_and_count_as_auth0_does() {
    let s = start();
    let t = format!("{}/t/default", s.base);
    let token = s.mgmt_token();
    let post = reqwest::Method::POST;
    let get = |path: &str| {
        api(
            reqwest::Method::GET,
            format!("{t}/api/v2/{path}"),
            &token,
            None,
        )
    };
    for i in 0..4 {
        let (st, c) = api(
            post.clone(),
            format!("{t}/api/v2/clients"),
            &token,
            Some(json!({"name": format!("app-{i}")})),
        );
        assert_eq!(st, 201, "{c}");
    }
    // Classic collections: a bare page, or with include_totals the page and its place.
    let (st, first) = get("clients?per_page=2&page=0&include_totals=true");
    assert_eq!(st, 200, "{first}");
    let total = first["total"].as_u64().expect("total");
    assert!(
        total >= 5,
        "the four new clients and the management one: {first}"
    );
    assert_eq!(
        (&first["start"], &first["limit"], &first["length"]),
        (&json!(0), &json!(2), &json!(2)),
        "{first}"
    );
    let mut ids = std::collections::BTreeSet::new();
    for page in 0..total.div_ceil(2) {
        let (st, items) = get(&format!("clients?per_page=2&page={page}"));
        assert_eq!(st, 200, "{items}");
        for c in items.as_array().expect("a bare array without totals") {
            ids.insert(c["client_id"].as_str().expect("id").to_owned());
        }
    }
    assert_eq!(ids.len() as u64, total, "the pages cover every client once");
    let (_, past) = get("clients?per_page=2&page=1000");
    assert_eq!(past, json!([]));
    for bad in [
        "clients?per_page=two",
        "clients?page=-1",
        "actions/actions?per_page=x",
    ] {
        let (st, err) = get(bad);
        assert_eq!(st, 400, "{bad}: {err}");
        assert!(
            err["message"]
                .as_str()
                .is_some_and(|m| m.contains("Query validation error")),
            "{err}"
        );
    }
    // fields / include_fields pick the properties.
    let (_, slim) = get("clients?fields=client_id,name&per_page=100");
    for c in slim.as_array().expect("array") {
        let keys: Vec<&String> = c.as_object().expect("object").keys().collect();
        assert_eq!(keys, ["client_id", "name"], "{c}");
    }
    let (_, without) = get("clients?fields=name&include_fields=false");
    assert!(without[0].get("name").is_none() && without[0].get("client_id").is_some());

    // Rules filter on `enabled` (the SDKs send enabled=true by default).
    for (name, enabled) in [("on", true), ("off", false)] {
        let (st, r) = api(
            post.clone(),
            format!("{t}/api/v2/rules"),
            &token,
            Some(json!({"name": name, "enabled": enabled,
                "script": "function (user, context, callback) { callback(null, user, context); }"})),
        );
        assert_eq!(st, 201, "{r}");
    }
    let (_, on) = get("rules?enabled=true&include_totals=true");
    assert_eq!(on["total"], 1, "{on}");
    assert_eq!(on["rules"][0]["name"], "on", "{on}");
    let (_, all) = get("rules");
    assert_eq!(all.as_array().map(Vec::len), Some(2), "{all}");
    let (_, conns) = get("connections?include_totals=true&per_page=1");
    assert!(
        conns["connections"].is_array() && conns["total"].is_u64(),
        "{conns}"
    );

    // The Actions API always answers totals; `deployed` filters.
    let code = "exports.onExecutePostLogin = async () => {};";
    let deployed = create_deploy_bind(&t, &token, "deployed", "post-login", code);
    for name in ["draft-1", "draft-2"] {
        let (st, a) = api(
            post.clone(),
            format!("{t}/api/v2/actions/actions"),
            &token,
            Some(
                json!({"name": name, "supported_triggers": [{"id": "post-login", "version": "v3"}], "code": code}),
            ),
        );
        assert_eq!(st, 201, "{a}");
    }
    let (_, p0) = get("actions/actions?per_page=2");
    assert_eq!(
        (&p0["total"], &p0["page"], &p0["per_page"]),
        (&json!(3), &json!(0), &json!(2)),
        "{p0}"
    );
    assert_eq!(p0["actions"].as_array().map(Vec::len), Some(2));
    let (_, p1) = get("actions/actions?per_page=2&page=1");
    assert_eq!(p1["actions"].as_array().map(Vec::len), Some(1), "{p1}");
    let (_, only) = get("actions/actions?deployed=true");
    assert_eq!(only["total"], 1, "{only}");
    assert_eq!(only["actions"][0]["id"], deployed.as_str());
    let (_, none) = get("actions/actions?installed=true");
    assert_eq!(none["total"], 0, "no marketplace Actions here: {none}");
    let (_, drafts) = get("actions/actions?deployed=false&installed=false");
    assert_eq!(drafts["total"], 2, "{drafts}");
    let (_, b) = get("actions/triggers/post-login/bindings?per_page=1");
    assert_eq!((&b["total"], &b["per_page"]), (&json!(1), &json!(1)), "{b}");
}

#[test]
fn client_grants_change_what_new_tokens_may_do() {
    let s = start();
    let t = format!("{}/t/default", s.base);
    let token = s.mgmt_token();
    let cid = s.creds["client_id"].as_str().expect("id").to_owned();
    let (st, grants) = api(
        reqwest::Method::GET,
        format!(
            "{t}/api/v2/client-grants?client_id={cid}&audience={t}/api/v2/&include_totals=true"
        ),
        &token,
        None,
    );
    assert_eq!(st, 200, "{grants}");
    assert_eq!(grants["total"], 1, "found by its public audience: {grants}");
    let grant = &grants["client_grants"][0];
    assert_eq!(grant["audience"], format!("{t}/api/v2/"), "{grant}");
    let gid = grant["id"].as_str().expect("id").to_owned();
    let all: Vec<Value> = grant["scope"].as_array().expect("scope").clone();
    let url = format!("{t}/api/v2/client-grants/{gid}");

    // Scopes the Management API does not define are refused; nothing changes.
    let (st, err) = api(
        reqwest::Method::PATCH,
        url.clone(),
        &token,
        Some(json!({"scope": ["read:clients", "root:everything"]})),
    );
    assert_eq!(st, 400, "{err}");
    assert!(
        err["message"]
            .as_str()
            .is_some_and(|m| m.contains("root:everything")),
        "{err}"
    );
    let (st, err) = api(
        reqwest::Method::PATCH,
        url.clone(),
        &token,
        Some(json!({"scope": "read:clients"})),
    );
    assert_eq!(st, 400, "{err}");
    // A body without `scope` keeps the scopes (the SDKs send other fields).
    let (st, kept) = api(
        reqwest::Method::PATCH,
        url.clone(),
        &token,
        Some(json!({"allow_any_organization": false})),
    );
    assert_eq!(st, 200, "{kept}");
    assert_eq!(kept["scope"], json!(all), "{kept}");

    // Narrowed: new tokens lose the scope; restored: they have it again.
    let narrowed: Vec<Value> = all
        .iter()
        .filter(|s| *s != "read:signing_keys")
        .cloned()
        .collect();
    let (st, g) = api(
        reqwest::Method::PATCH,
        url.clone(),
        &token,
        Some(json!({"scope": narrowed})),
    );
    assert_eq!(st, 200, "{g}");
    let narrow_token = s.mgmt_token();
    let (st, _) = api(
        reqwest::Method::GET,
        format!("{t}/api/v2/keys/signing"),
        &narrow_token,
        None,
    );
    assert_eq!(st, 403);
    let (st, g) = api(
        reqwest::Method::PATCH,
        url.clone(),
        &token,
        Some(json!({"scope": all})),
    );
    assert_eq!(st, 200, "{g}");
    let (st, _) = api(
        reqwest::Method::GET,
        format!("{t}/api/v2/keys/signing"),
        &s.mgmt_token(),
        None,
    );
    assert_eq!(st, 200);

    // A deleted grant stops client_credentials for its audience.
    let (st, app) = api(
        reqwest::Method::POST,
        format!("{t}/api/v2/clients"),
        &token,
        Some(
            json!({"name": "m2m", "app_type": "non_interactive", "grant_types": ["client_credentials"]}),
        ),
    );
    assert_eq!(st, 201, "{app}");
    let (st, g) = api(
        reqwest::Method::POST,
        format!("{t}/api/v2/client-grants"),
        &token,
        Some(
            json!({"client_id": app["client_id"], "audience": "https://api.example/", "scope": ["read:x"]}),
        ),
    );
    assert_eq!(st, 201, "{g}");
    let m2m = || {
        http()
            .post(format!("{t}/oauth/token"))
            .json(
                &json!({"grant_type": "client_credentials", "client_id": app["client_id"],
                "client_secret": app["client_secret"], "audience": "https://api.example/"}),
            )
            .send()
            .expect("token")
            .status()
            .as_u16()
    };
    assert_eq!(m2m(), 200);
    let (st, _) = api(
        reqwest::Method::DELETE,
        format!("{t}/api/v2/client-grants/{}", g["id"].as_str().expect("id")),
        &token,
        None,
    );
    assert_eq!(st, 204);
    assert_eq!(m2m(), 403);
    let (st, _) = api(
        reqwest::Method::DELETE,
        format!("{t}/api/v2/client-grants/{}", g["id"].as_str().expect("id")),
        &token,
        None,
    );
    assert_eq!(st, 404);
}
