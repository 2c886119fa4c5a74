//! Tenant isolation on every Management API route: a tenant's token gets 401 on
//! another tenant's API, and on its own API the other tenant's ids are 404 and its
//! lists show none of them; the victim's data stays byte-for-byte what it was.

use crate::support::{
    PASSWORD, Server, api, create_deploy_bind, create_tenant, http, id_claims, mgmt_token,
    password_login, start,
};
use reqwest::Method;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::sync::mpsc;
use std::time::Duration;

const EMAIL: &str = "victim@example.com";
const VALUE: &str = "victim-config-value";
/// What no answer to the other tenant may show, even naming the victim's ids itself.
const HIDDEN: [&str; 5] = [
    VALUE,
    "victim-app",
    "victim-action",
    "victim-rule",
    "victim action ran",
];
const ACTION: &str = "exports.onExecutePostLogin = async (event, api) => { console.log('victim action ran'); api.idToken.setCustomClaim('https://victim.example/action', 'served'); };";
const RULE: &str = "function (user, context, callback) { context.idToken['https://victim.example/cfg'] = configuration.VICTIM_KEY; callback(null, user, context); }";

/// What a request carries (see [`World::send`]).
#[derive(Clone, Copy)]
enum B {
    No,
    Name,
    Grant,
    NewConn,
    Options,
    NewUser,
    Password,
    Verified,
    NewAction,
    Code,
    Test,
    Wasm,
    Unbind,
    NewRule,
    Disable,
    Config,
    Limits,
    Scope,
}

/// Every Management API route and method of `mgmt::routes()`: method, path (`{cid}`,
/// `{conn}`, `{uid}`, `{a}` = `actions/actions/{aid}`, `{vid}`, `{rule}` are the victim's
/// ids), body, and whether it names a victim resource (then 404 on the other's own API).
const ROUTES: &[(&str, &str, B, bool)] = &[
    ("GET", "clients", B::No, false),
    ("POST", "clients", B::Name, false),
    ("GET", "clients/{cid}", B::No, true),
    ("PATCH", "clients/{cid}", B::Name, true),
    ("DELETE", "clients/{cid}", B::No, true),
    ("POST", "clients/{cid}/rotate-secret", B::No, true),
    ("GET", "client-grants", B::No, false),
    ("POST", "client-grants", B::Grant, true),
    ("PATCH", "client-grants/{grant}", B::Scope, true),
    ("DELETE", "client-grants/{grant}", B::No, true),
    ("GET", "actions/triggers", B::No, false),
    ("GET", "connections", B::No, false),
    ("POST", "connections", B::NewConn, false),
    ("GET", "connections/{conn}", B::No, true),
    ("PATCH", "connections/{conn}", B::Options, true),
    ("DELETE", "connections/{conn}", B::No, true),
    ("GET", "users", B::No, false),
    ("POST", "users", B::NewUser, true),
    (
        "GET",
        "users-by-email?email=victim@example.com",
        B::No,
        false,
    ),
    ("GET", "users/{uid}", B::No, true),
    ("PATCH", "users/{uid}", B::Verified, true),
    ("PATCH", "users/{uid}", B::Password, true),
    ("GET", "users/{uid}/enrollments", B::No, true),
    ("DELETE", "users/{uid}/authenticators", B::No, true),
    ("DELETE", "users/{uid}", B::No, true),
    ("GET", "actions/actions", B::No, false),
    ("POST", "actions/actions", B::NewAction, false),
    ("GET", "{a}", B::No, true),
    ("PATCH", "{a}", B::Code, true),
    ("DELETE", "{a}?force=true", B::No, true),
    ("POST", "{a}/deploy", B::No, true),
    ("POST", "{a}/test", B::Test, true),
    ("GET", "{a}/versions", B::No, true),
    ("POST", "{a}/versions", B::Wasm, true),
    ("GET", "{a}/versions/{vid}", B::No, true),
    ("POST", "{a}/versions/{vid}/deploy", B::No, true),
    ("GET", "actions/triggers/post-login/bindings", B::No, false),
    (
        "PATCH",
        "actions/triggers/post-login/bindings",
        B::Unbind,
        false,
    ),
    ("GET", "rules", B::No, false),
    ("POST", "rules", B::NewRule, false),
    ("GET", "rules/{rule}", B::No, true),
    ("PATCH", "rules/{rule}", B::Disable, true),
    ("DELETE", "rules/{rule}", B::No, true),
    ("GET", "rules-configs", B::No, false),
    ("PUT", "rules-configs/VICTIM_KEY", B::Config, false),
    ("DELETE", "rules-configs/VICTIM_KEY", B::No, true),
    ("GET", "logs", B::No, false),
    ("GET", "logs/tail", B::No, false),
    ("GET", "keys/signing", B::No, false),
    ("POST", "keys/signing/rotate", B::No, false),
    ("GET", "keys/signing/{kid}", B::No, true),
    ("PUT", "keys/signing/{kid}/revoke", B::No, true),
    ("GET", "tenants/settings", B::No, false),
    ("PATCH", "tenants/settings", B::Limits, false),
    ("GET", "audit", B::No, false),
];

/// Tenant `default` (the victim) with one of each resource, and tenant `other`.
struct World {
    _s: Server,
    /// The victim's and the other tenant's Management API (`.../t/T/api/v2`), and tokens.
    d: String,
    o: String,
    victim: String,
    other: String,
    client: Value,
    /// `{cid}` etc. of [`ROUTES`], and every other id of the victim's.
    ids: Vec<(&'static str, String)>,
}

fn id(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} in {v}"))
        .to_owned()
}

fn world() -> World {
    let s = start();
    let oc = create_tenant(&s, "other", &["--public-url", &s.base]);
    let other = mgmt_token(
        &s.base,
        "other",
        &id(&oc, "client_id"),
        &id(&oc, "client_secret"),
    );
    let victim = s.mgmt_token();
    let t = format!("{}/t/default", s.base);
    let d = format!("{t}/api/v2");
    let write = |method: Method, path: &str, body: Value| {
        let (st, v) = api(method, format!("{d}/{path}"), &victim, Some(body));
        assert!(st == 200 || st == 201, "{path}: {st} {v}");
        v
    };
    let client = write(
        Method::POST,
        "clients",
        json!({"name": "victim-app", "grant_types": ["password"]}),
    );
    let cid = id(&client, "client_id");
    let grant =
        json!({"client_id": cid, "audience": "https://victim.example/api", "scope": ["read:x"]});
    let grant = write(Method::POST, "client-grants", grant);
    let conn = json!({"name": "victim-db", "strategy": "auth0", "enabled_clients": [cid]});
    let conn = write(Method::POST, "connections", conn);
    let user = json!({"connection": "victim-db", "email": EMAIL, "password": PASSWORD});
    let user = write(Method::POST, "users", user);
    let action = create_deploy_bind(&t, &victim, "victim-action", "post-login", ACTION);
    let path = format!("{d}/actions/actions/{action}/versions");
    let (_, versions) = api(Method::GET, path, &victim, None);
    write(
        Method::PUT,
        "rules-configs/VICTIM_KEY",
        json!({"value": VALUE}),
    );
    let rule = write(
        Method::POST,
        "rules",
        json!({"name": "victim-rule", "script": RULE}),
    );
    let mut ids = vec![
        ("{cid}", cid),
        ("{conn}", id(&conn, "id")),
        ("{uid}", id(&user, "user_id")),
        ("{a}", format!("actions/actions/{action}")),
        ("{vid}", id(&versions["versions"][0], "id")),
        ("{rule}", id(&rule, "id")),
        ("{aid}", action),
        ("{grant}", id(&grant, "id")),
        ("#grant", id(&grant, "id")),
        ("#secret", id(&client, "client_secret")),
    ];
    let (_, keys) = api(Method::GET, format!("{d}/keys/signing"), &victim, None);
    ids.push(("{kid}", id(&keys[0], "kid")));
    ids.extend(
        keys.as_array()
            .expect("keys")
            .iter()
            .map(|k| ("#kid", id(k, "kid"))),
    );
    let o = format!("{}/t/other/api/v2", s.base);
    let w = World {
        _s: s,
        d,
        o,
        victim,
        other,
        client,
        ids,
    };
    w.login_serves(); // logs, and the user's login stats, before any snapshot
    w
}

impl World {
    fn fill(&self, path: &str) -> String {
        self.ids
            .iter()
            .fold(path.to_owned(), |p, (k, v)| p.replace(k, v))
    }

    fn body(&self, b: B) -> Option<Value> {
        let a = "exports.onExecutePostLogin = async () => {};";
        let trig = json!([{"id": "post-login", "version": "v3"}]);
        Some(match b {
            B::No | B::Wasm => return None,
            B::Name => json!({"name": "intruder"}),
            B::Grant => json!({"client_id": self.fill("{cid}"), "audience": "https://x.example/"}),
            B::NewConn => json!({"name": "intruder-db", "strategy": "auth0"}),
            B::Options => json!({"options": {}}),
            B::NewUser => json!({"connection": "victim-db", "email": EMAIL, "password": PASSWORD}),
            B::Password => json!({"password": "pwned password"}),
            B::Verified => json!({"email_verified": true}),
            B::NewAction => json!({"name": "intruder", "supported_triggers": trig, "code": a}),
            B::Code => json!({"code": a}),
            B::Test => json!({"payload": {}}),
            B::Unbind => json!({"bindings": []}),
            B::NewRule => json!({"name": "intruder", "script": RULE}),
            B::Disable => json!({"enabled": false}),
            B::Config => json!({"value": "pwned"}),
            B::Limits => json!({"sandbox_limits": {"allow_hosts": ["evil.example"]}}),
            B::Scope => json!({"scope": []}),
        })
    }

    /// One request to `api` (`self.d` or `self.o`); its status and body as sent.
    fn send(&self, api: &str, token: &str, method: &str, path: &str, b: B) -> (u16, String) {
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = http().request(method, format!("{api}/{}", self.fill(path)));
        req = req.bearer_auth(token);
        if let Some(v) = self.body(b) {
            req = req.json(&v);
        }
        if let B::Wasm = b {
            let wasm = std::fs::read(rulebox_test_guests::TRIVIAL).expect("trivial.wasm built");
            req = req.header("content-type", "application/wasm").body(wasm);
        }
        let r = req.send().expect("request");
        (r.status().as_u16(), r.text().unwrap_or_default())
    }

    /// A password login at the victim runs its Action, and its Rule with its configuration.
    fn login_serves(&self) {
        let r = password_login(
            self.d.trim_end_matches("/api/v2"),
            &self.client,
            EMAIL,
            PASSWORD,
        );
        assert_eq!(r.status(), 200);
        let claims = id_claims(&r.json().expect("tokens"));
        assert_eq!(
            claims["https://victim.example/action"], "served",
            "{claims}"
        );
        assert_eq!(claims["https://victim.example/cfg"], VALUE, "{claims}");
    }

    /// Everything the victim can read about itself, as the server sends it.
    fn snapshot(&self) -> Vec<(String, String)> {
        let reads = ROUTES.iter().filter(|r| r.0 == "GET" && r.1 != "logs/tail");
        let jwks = "../../.well-known/jwks.json";
        let mut out = Vec::new();
        for path in reads.map(|r| r.1).chain([jwks]) {
            let (st, body) = self.send(&self.d, &self.victim, "GET", path, B::No);
            assert_eq!(st, 200, "the victim's GET {path}: {body}");
            out.push((path.to_owned(), body));
        }
        out
    }

    /// The victim's own reads show what [`Self::shows_nothing_of_the_victim`] looks for
    /// (all but the write-only secret and config value), so its checks are not vacuous.
    fn check_markers(&self, snapshot: &[(String, String)]) {
        let all: String = snapshot.iter().map(|(_, b)| b.as_str()).collect();
        let ids = self.ids.iter().filter(|(k, _)| *k != "#secret");
        for m in ids
            .map(|(_, v)| v.as_str())
            .chain([EMAIL, "VICTIM_KEY", "victim action ran"])
        {
            assert!(all.contains(m), "the victim's reads show {m}");
        }
    }

    fn assert_unchanged(&self, before: &[(String, String)]) {
        for ((p, was), (_, now)) in before.iter().zip(self.snapshot()) {
            assert_eq!(was, &now, "the victim's {p} changed");
        }
        self.login_serves();
    }

    /// Fails if `text` shows any id, name or value only the victim's data holds.
    fn shows_nothing_of_the_victim(&self, what: &str, text: &str) {
        let ids = self.ids.iter().map(|(_, v)| v.as_str());
        for m in ids.chain([EMAIL, "VICTIM_KEY", "victim-"]).chain(HIDDEN) {
            assert!(!text.contains(m), "{what} shows the victim's {m}: {text}");
        }
    }
}

#[test]
fn another_tenants_token_is_refused_on_every_route_of_the_victim() {
    let w = world();
    let before = w.snapshot();
    w.check_markers(&before);
    for &(m, path, b, _) in ROUTES {
        let (st, text) = w.send(&w.d, &w.other, m, path, b);
        assert_eq!(
            st, 401,
            "other's token, {m} /t/default/api/v2/{path}: {text}"
        );
        assert!(text.contains("Invalid token"), "{m} {path}: {text}");
        w.shows_nothing_of_the_victim(&format!("{m} {path}"), &text);
    }
    w.assert_unchanged(&before);
}

/// The `data:` lines of a tenant's live log tail.
fn tail(api: &str, token: &str) -> mpsc::Receiver<String> {
    let r = http()
        .get(format!("{api}/logs/tail"))
        .bearer_auth(token)
        .send()
        .expect("tail");
    assert_eq!(r.status(), 200);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines().map_while(Result::ok) {
            if line.starts_with("data:") && tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

#[test]
fn another_tenants_own_api_finds_none_of_the_victims_ids() {
    let w = world();
    let before = w.snapshot();
    w.check_markers(&before);
    let (victim_tail, other_tail) = (tail(&w.d, &w.victim), tail(&w.o, &w.other));

    // Every list, also filtered by the victim's ids and names: none of them.
    let filtered = [
        "client-grants?client_id={cid}",
        "connections?name=victim-db",
        "actions/actions?actionName=victim-action",
        "logs?action_id={aid}",
    ];
    let lists = ROUTES
        .iter()
        .filter(|r| r.0 == "GET" && !r.3 && r.1 != "logs/tail");
    for path in lists.map(|r| r.1).chain(filtered) {
        let (st, text) = w.send(&w.o, &w.other, "GET", path, B::No);
        assert_eq!(st, 200, "GET /t/other/api/v2/{path}: {text}");
        w.shows_nothing_of_the_victim(&format!("/t/other/api/v2/{path}"), &text);
    }

    // Every route naming a victim resource: not found. What the request itself named
    // may be echoed; nothing else of the victim's may.
    let hidden = |text: &str| {
        for m in HIDDEN {
            assert!(!text.contains(m), "shows the victim's {m}: {text}");
        }
    };
    for &(m, path, b, _) in ROUTES.iter().filter(|r| r.3) {
        let (st, text) = w.send(&w.o, &w.other, m, path, b);
        assert_eq!(
            st, 404,
            "{m} /t/other/api/v2/{path} with the victim's id: {text}"
        );
        assert!(text.contains("does not exist"), "{m} {path}: {text}");
        hidden(&text);
    }
    // Binding the victim's Action to the other's trigger: an unknown action (400).
    let bindings = "actions/triggers/post-login/bindings";
    let bind = json!({"bindings": [{"ref": {"type": "action_id", "value": w.fill("{aid}")}}]});
    let (st, v) = api(
        Method::PATCH,
        format!("{}/{bindings}", w.o),
        &w.other,
        Some(bind),
    );
    assert_eq!(st, 400, "{v}");
    assert!(v.to_string().contains("does not exist"), "{v}");
    hidden(&v.to_string());
    let (_, v) = api(Method::GET, format!("{}/{bindings}", w.o), &w.other, None);
    assert_eq!(v["bindings"], json!([]), "{v}");
    // Nor can the other's connection name the victim's client as enabled.
    let conn =
        json!({"name": "borrowed", "strategy": "auth0", "enabled_clients": [w.fill("{cid}")]});
    let (st, v) = api(
        Method::POST,
        format!("{}/connections", w.o),
        &w.other,
        Some(conn),
    );
    assert_eq!(st, 400, "{v}");
    hidden(&v.to_string());

    // The other's writes to its own namespace (same config key) touch only its own data.
    let own = [
        ("PUT", "rules-configs/VICTIM_KEY", B::Config, 200),
        ("POST", "keys/signing/rotate", B::No, 201),
        ("PATCH", "tenants/settings", B::Limits, 200),
    ];
    for (m, path, b, want) in own {
        let (st, text) = w.send(&w.o, &w.other, m, path, b);
        assert_eq!(st, want, "{m} /t/other/api/v2/{path}: {text}");
    }

    w.assert_unchanged(&before); // logs in once more: the victim's tail sees it, not other's
    let line = victim_tail
        .recv_timeout(Duration::from_secs(10))
        .expect("the victim's tail");
    assert!(line.contains("victim action ran"), "{line}");
    std::thread::sleep(Duration::from_secs(1)); // four polls of the other's tail
    let leaked: Vec<String> = other_tail.try_iter().collect();
    assert!(leaked.is_empty(), "the other tenant's tail saw {leaked:?}");
}
