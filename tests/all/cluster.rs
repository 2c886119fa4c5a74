//! Issue 5 topology over real processes on loopback: runtime nodes, a
//! proxy and two auth-core nodes sharing one PostgreSQL database. Nodes are
//! killed with SIGKILL while logins stream through.

use crate::support;

use crate::support::{Proc, api, http, mgmt_token, spawn_rulebox, spawn_rulebox_env};
use rulebox_test_pg::{Postgres, SECRETS_KEY};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const ACTION_V1: &str = "exports.onExecutePostLogin = async (event, api) => {\n  api.idToken.setCustomClaim('https://example.com/version', 'v1');\n  api.user.setAppMetadata('plan', 'gold');\n};";
const ACTION_V2: &str = "exports.onExecutePostLogin = async (event, api) => {\n  api.idToken.setCustomClaim('https://example.com/version', 'v2');\n};";

fn runtime_node(dir: &std::path::Path, listen: &str) -> Proc {
    spawn_rulebox(
        &[
            "runtime",
            "--listen",
            listen,
            "--data-dir",
            dir.to_str().expect("utf-8 path"),
        ],
        "rulebox runtime listening on",
        false,
    )
}

/// An auth-core node on the database at `db` (`postgres://...` or `sqlite://...`).
fn auth_core(db: &str, proxy: &str, bootstrap: bool) -> Proc {
    spawn_rulebox_env(
        &[
            "auth-core",
            "--listen",
            "127.0.0.1:0",
            "--proxy",
            proxy,
            "--bcrypt-cost",
            "4",
            "--database-url",
            db,
        ],
        &[("RULEBOX_SECRETS_KEY", SECRETS_KEY)],
        "rulebox listening on",
        bootstrap,
    )
}

fn sqlite(dir: &std::path::Path) -> String {
    format!("sqlite://{}", dir.join("rulebox.db").display())
}

struct Setup {
    client_id: String,
    client_secret: String,
    token: String,
}

/// Client, database connection, users, and `ACTION_V1` bound — through `base`.
fn set_up_tenant(base: &str, creds: &Value, users: usize) -> Setup {
    let t = format!("{base}/t/default");
    let token = mgmt_token(
        base,
        "default",
        creds["client_id"].as_str().expect("id"),
        creds["client_secret"].as_str().expect("secret"),
    );
    let (st, client) = api(
        reqwest::Method::POST,
        format!("{t}/api/v2/clients"),
        &token,
        Some(
            json!({"name": "app", "grant_types": ["password", "http://auth0.com/oauth/grant-type/password-realm"]}),
        ),
    );
    assert_eq!(st, 201, "{client}");
    let (st, c) = api(
        reqwest::Method::POST,
        format!("{t}/api/v2/connections"),
        &token,
        Some(json!({"name": "db", "strategy": "auth0"})),
    );
    assert_eq!(st, 201, "{c}");
    for i in 0..users {
        let (st, u) = api(
            reqwest::Method::POST,
            format!("{t}/api/v2/users"),
            &token,
            Some(
                json!({"connection": "db", "email": format!("u{i}@example.com"), "password": "long enough pw"}),
            ),
        );
        assert_eq!(st, 201, "{u}");
    }
    support::create_deploy_bind(&t, &token, "versioned", "post-login", ACTION_V1);
    Setup {
        client_id: client["client_id"].as_str().expect("id").to_owned(),
        client_secret: client["client_secret"].as_str().expect("secret").to_owned(),
        token,
    }
}

/// One password login; `None` if the auth-core could not be reached at all.
fn login(base: &str, s: &Setup, user: usize) -> Option<(u16, Value)> {
    let r = http()
        .post(format!("{base}/t/default/oauth/token"))
        .json(&json!({
            "grant_type": "http://auth0.com/oauth/grant-type/password-realm", "realm": "db",
            "username": format!("u{user}@example.com"), "password": "long enough pw",
            "client_id": s.client_id, "client_secret": s.client_secret, "scope": "openid",
        }))
        .send()
        .ok()?;
    let status = r.status().as_u16();
    Some((status, r.json().unwrap_or(Value::Null)))
}

fn claim(body: &Value, name: &str) -> Value {
    let id_token = body["id_token"].as_str().unwrap_or("");
    let payload = id_token.split('.').nth(1).unwrap_or("");
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap_or_default();
    serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null)[name].clone()
}

/// Logins round-robin over the live auth-cores, as a load balancer would;
/// one that cannot be reached is skipped. Returns failures among the logins
/// that reached an auth-core.
fn stream(auth: &[&str], s: &Setup, n: usize, users: usize) -> usize {
    let mut failures = 0;
    for i in 0..n {
        let mut answered = false;
        for k in 0..auth.len() {
            let base = auth[(i + k) % auth.len()];
            if let Some((status, body)) = login(base, s, i % users) {
                answered = true;
                if status != 200 || claim(&body, "https://example.com/version") != json!("v1") {
                    eprintln!("login {i} via {base} failed: {status} {body}");
                    failures += 1;
                }
                break;
            }
        }
        assert!(answered, "no auth-core answered login {i}");
    }
    failures
}

fn wait_healthy(base: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if http()
            .get(format!("{base}/healthz"))
            .send()
            .is_ok_and(|r| r.status().is_success())
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{base} did not become healthy");
}

/// Runtime nodes, a proxy over them and two auth-core nodes on one fresh PostgreSQL
/// database; `a1` bootstrapped the tenant `default` (its credentials in `creds`).
struct Topology {
    /// The runtime nodes' data directories (a restarted node reuses its own).
    dirs: Vec<tempfile::TempDir>,
    runtimes: Vec<Proc>,
    urls: Vec<String>,
    proxy: Proc,
    a1: Proc,
    a2: Proc,
    creds: Value,
}

impl Topology {
    fn start(runtime_nodes: usize) -> Topology {
        let dirs: Vec<_> = (0..runtime_nodes)
            .map(|_| tempfile::tempdir().expect("tempdir"))
            .collect();
        let runtimes: Vec<Proc> = dirs
            .iter()
            .map(|d| runtime_node(d.path(), "127.0.0.1:0"))
            .collect();
        let urls: Vec<String> = runtimes.iter().map(|r| r.base.clone()).collect();
        let proxy = spawn_rulebox(
            &[
                "proxy",
                "--listen",
                "127.0.0.1:0",
                "--runtimes",
                &urls.join(","),
            ],
            "rulebox proxy listening on",
            false,
        );
        let db = Postgres::get().database();
        let a1 = auth_core(&db, &proxy.base, true);
        let creds: Value =
            serde_json::from_str(a1.first_stdout.as_deref().expect("bootstrap")).expect("json");
        let a2 = auth_core(&db, &proxy.base, false);
        Topology {
            dirs,
            runtimes,
            urls,
            proxy,
            a1,
            a2,
            creds,
        }
    }
}

#[test]
fn logins_survive_a_killed_runtime_and_a_killed_auth_core() {
    let Topology {
        dirs,
        mut runtimes,
        urls,
        proxy: _proxy,
        mut a1,
        a2,
        creds,
    } = Topology::start(3);
    const USERS: usize = 5;
    let s = set_up_tenant(&a1.base, &creds, USERS);
    let (b1, b2) = (a1.base.clone(), a2.base.clone());
    let both = [b1.as_str(), b2.as_str()];

    assert_eq!(stream(&both, &s, 20, USERS), 0, "healthy pool");

    // Kill the node the tenant's calls go to: the proxy must fail over.
    let primary = rulebox_proxy::affinity::ranking(&urls, "default")[0];
    let port = urls[primary].rsplit(':').next().expect("port").to_owned();
    runtimes[primary].kill9();
    assert_eq!(
        stream(&both, &s, 20, USERS),
        0,
        "after kill -9 of the tenant's runtime"
    );

    // Bring it back on its address: it is used again (and re-fed the code).
    runtimes[primary] = runtime_node(dirs[primary].path(), &format!("127.0.0.1:{port}"));
    wait_healthy(&urls[primary]);
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(
        stream(&both, &s, 20, USERS),
        0,
        "after the runtime restarted"
    );

    // Kill one auth-core: logins that reach the other still all succeed.
    a1.kill9();
    assert_eq!(
        stream(&both, &s, 20, USERS),
        0,
        "after kill -9 of an auth-core"
    );

    // Nothing was lost or duplicated: every user is there once, metadata as the Action set it.
    // (A token a1 issued names a1's address as its issuer; ask a2 for one.)
    let token = mgmt_token(
        &a2.base,
        "default",
        creds["client_id"].as_str().expect("id"),
        creds["client_secret"].as_str().expect("secret"),
    );
    let (st, users) = api(
        reqwest::Method::GET,
        format!("{}/t/default/api/v2/users?per_page=100", a2.base),
        &token,
        None,
    );
    assert_eq!(st, 200, "{users}");
    let users = users.as_array().expect("user list");
    assert_eq!(users.len(), USERS, "{users:?}");
    for u in users {
        assert_eq!(u["app_metadata"], json!({"plan": "gold"}), "{u}");
    }
}

#[test]
fn a_deploy_on_one_auth_core_is_served_through_the_other_within_a_second() {
    // Every field bound: the processes of unbound ones would be killed at once.
    let Topology {
        dirs: _dirs,
        runtimes: _runtimes,
        urls: _urls,
        proxy: _proxy,
        a1,
        a2,
        creds,
    } = Topology::start(2);
    let s = set_up_tenant(&a1.base, &creds, 1);
    let version = |base: &str| {
        let (st, body) = login(base, &s, 0).expect("reachable");
        assert_eq!(st, 200, "{body}");
        claim(&body, "https://example.com/version")
    };
    assert_eq!(version(&a2.base), json!("v1"));

    // The live tail on a2 shows a login that a1 served: both read the shared database.
    let mut tail = std::process::Command::new(env!("CARGO_BIN_EXE_rulebox"))
        .args(["logs", "tail", "--tenant", "default", "--server", &a2.base])
        .args(["--client-id", creds["client_id"].as_str().expect("id")])
        .args([
            "--client-secret",
            creds["client_secret"].as_str().expect("secret"),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("rulebox logs tail");
    let mut started = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(tail.stderr.take().expect("stderr")),
        &mut started,
    )
    .expect("tail started");
    assert!(started.contains("tailing"), "{started}");
    let (tx, lines) = std::sync::mpsc::channel();
    let stdout = tail.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)).map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    assert_eq!(version(&a1.base), json!("v1"));
    let seen = lines
        .recv_timeout(Duration::from_secs(10))
        .expect("a2's tail printed the login served by a1");
    let _ = tail.kill();
    let _ = tail.wait();
    let log: Value = serde_json::from_str(&seen).expect("one JSON log per line");
    assert_eq!(log["name"], "versioned", "{log}");
    assert_eq!(log["outcome"], "ok", "{log}");

    // Deploy v2 on a1 (update the code, deploy); a2 must serve it within a second.
    let t1 = format!("{}/t/default", a1.base);
    let (st, list) = api(
        reqwest::Method::GET,
        format!("{t1}/api/v2/actions/actions"),
        &s.token,
        None,
    );
    assert_eq!(st, 200, "{list}");
    let id = list["actions"][0]["id"]
        .as_str()
        .expect("action id")
        .to_owned();
    // The pool's nodes say what code handles, so an upload through the proxy
    // is held to its triggers as in one process.
    let (st, err) = api(
        reqwest::Method::PATCH,
        format!("{t1}/api/v2/actions/actions/{id}"),
        &s.token,
        Some(json!({"code": "exports.onExecuteCredentialsExchange = async () => {};"})),
    );
    assert_eq!(st, 400, "{err}");
    assert!(
        err["message"]
            .as_str()
            .is_some_and(|m| m.contains("onExecutePostLogin")),
        "{err}"
    );
    let (st, v) = api(
        reqwest::Method::PATCH,
        format!("{t1}/api/v2/actions/actions/{id}"),
        &s.token,
        Some(json!({"code": ACTION_V2})),
    );
    assert_eq!(st, 200, "{v}");
    let (st, v) = api(
        reqwest::Method::POST,
        format!("{t1}/api/v2/actions/actions/{id}/deploy"),
        &s.token,
        None,
    );
    assert_eq!(st, 202, "{v}");
    let deployed = Instant::now();
    assert_eq!(version(&a1.base), json!("v2"), "the deploying node at once");
    loop {
        if version(&a2.base) == json!("v2") {
            break;
        }
        assert!(
            deployed.elapsed() < Duration::from_secs(1),
            "a2 still served v1 a second after the deploy"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    // A signing-key rotation on a1 shows in a2's JWKS within a second too.
    let keys = |base: &str| {
        let jwks: Value = http()
            .get(format!("{base}/t/default/.well-known/jwks.json"))
            .send()
            .expect("jwks")
            .json()
            .expect("json");
        jwks["keys"].as_array().map_or(0, Vec::len)
    };
    assert_eq!(keys(&a2.base), 1);
    let (st, v) = api(
        reqwest::Method::POST,
        format!("{t1}/api/v2/keys/signing/rotate"),
        &s.token,
        None,
    );
    assert!(st == 200 || st == 201, "{st} {v}");
    let rotated = Instant::now();
    while keys(&a2.base) != 2 {
        assert!(
            rotated.elapsed() < Duration::from_secs(1),
            "a2's JWKS lacked the new key a second after the rotation"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn p99(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[((v.len() - 1) as f64 * 0.99).round() as usize]
}

#[test]
fn a_tenant_flooding_the_pool_hits_its_own_limit_and_not_its_neighbours() {
    let dirs: Vec<_> = (0..2)
        .map(|_| tempfile::tempdir().expect("tempdir"))
        .collect();
    let runtime = runtime_node(dirs[0].path(), "127.0.0.1:0");
    let proxy = spawn_rulebox(
        &[
            "proxy",
            "--listen",
            "127.0.0.1:0",
            "--runtimes",
            &runtime.base,
            "--tenant-concurrency",
            "2",
        ],
        "rulebox proxy listening on",
        false,
    );
    let auth = auth_core(&sqlite(dirs[1].path()), &proxy.base, true);
    let creds: Value =
        serde_json::from_str(auth.first_stdout.as_deref().expect("bootstrap")).expect("json");
    // The neighbour: `default` with a normal Action.
    let good = set_up_tenant(&auth.base, &creds, 1);
    // The flooder: tenant `flood`, whose Action never returns.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rulebox"))
        .args(["tenants", "create", "flood", "--json", "--data-dir"])
        .arg(dirs[1].path())
        .output()
        .expect("tenants create");
    assert!(out.status.success(), "{out:?}");
    let fc: Value = serde_json::from_slice(&out.stdout).expect("json");
    let ft = format!("{}/t/flood", auth.base);
    let ftoken = mgmt_token(
        &auth.base,
        "flood",
        fc["client_id"].as_str().expect("id"),
        fc["client_secret"].as_str().expect("secret"),
    );
    let (st, fclient) = api(
        reqwest::Method::POST,
        format!("{ft}/api/v2/clients"),
        &ftoken,
        Some(
            json!({"name": "x", "grant_types": ["http://auth0.com/oauth/grant-type/password-realm"]}),
        ),
    );
    assert_eq!(st, 201, "{fclient}");
    let (st, _) = api(
        reqwest::Method::POST,
        format!("{ft}/api/v2/connections"),
        &ftoken,
        Some(json!({"name": "db", "strategy": "auth0"})),
    );
    assert_eq!(st, 201);
    let (st, _) = api(
        reqwest::Method::POST,
        format!("{ft}/api/v2/users"),
        &ftoken,
        Some(json!({"connection": "db", "email": "f@example.com", "password": "long enough pw"})),
    );
    assert_eq!(st, 201);
    // Its calls may spin for a whole second each (the default fuel would end them in a
    // few milliseconds): the flood is sandbox time, not HTTP requests.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rulebox"))
        .args([
            "tenants",
            "limits",
            "set",
            "flood",
            "--fuel",
            "10000000000",
            "--timeout-ms",
            "1000",
            "--data-dir",
        ])
        .arg(dirs[1].path())
        .output()
        .expect("tenants limits set");
    assert!(out.status.success(), "{out:?}");
    support::create_deploy_bind(
        &ft,
        &ftoken,
        "spin",
        "post-login",
        "exports.onExecutePostLogin = async (event, api) => { while (true) {} };",
    );

    let measure = |n: usize| -> Vec<Duration> {
        (0..n)
            .map(|_| {
                let start = Instant::now();
                let (st, body) = login(&auth.base, &good, 0).expect("reachable");
                assert_eq!(st, 200, "{body}");
                start.elapsed()
            })
            .collect()
    };
    measure(5);
    let alone = p99(measure(60));

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Four clients keep the tenant's spinning Action busy beyond its quota of two calls
    // in flight; like the Auth0 SDKs they back off briefly on 429.
    let flooders: Vec<_> = (0..4)
        .map(|_| {
            let (stop, ft, fclient) = (stop.clone(), ft.clone(), fclient.clone());
            std::thread::spawn(move || {
                let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let r = http()
                        .post(format!("{ft}/oauth/token"))
                        .json(&json!({
                            "grant_type": "http://auth0.com/oauth/grant-type/password-realm", "realm": "db",
                            "username": "f@example.com", "password": "long enough pw",
                            "client_id": fclient["client_id"], "client_secret": fclient["client_secret"],
                        }))
                        .send()
                        .expect("flood login");
                    let status = r.status().as_u16();
                    *statuses.entry(status).or_default() += 1;
                    if status == 429 {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                }
                statuses
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let flooded = p99(measure(60));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for f in flooders {
        for (k, v) in f.join().expect("flooder") {
            *statuses.entry(k).or_default() += v;
        }
    }
    eprintln!(
        "neighbour p99 alone {alone:?}, with the flood {flooded:?}; flood statuses {statuses:?}"
    );
    // The flooder's own logins fail: its spinning Action (403, fails closed) and,
    // beyond its 2 calls in flight, its quota (429).
    assert!(statuses.get(&429).copied().unwrap_or(0) > 0, "{statuses:?}");
    assert!(statuses.get(&403).copied().unwrap_or(0) > 0, "{statuses:?}");
    assert_eq!(statuses.get(&200), None, "{statuses:?}");
    assert!(
        flooded <= alone * 3,
        "neighbour p99 {flooded:?} is more than 3x its unloaded {alone:?}"
    );
}

#[test]
fn sigterm_fails_readiness_first_then_the_node_exits() {
    let dirs: Vec<_> = (0..2)
        .map(|_| tempfile::tempdir().expect("tempdir"))
        .collect();
    let mut runtime = runtime_node(dirs[0].path(), "127.0.0.1:0");
    let mut auth = auth_core(&sqlite(dirs[1].path()), &runtime.base, true);
    for node in [&mut runtime, &mut auth] {
        let ready = |base: &str| {
            http()
                .get(format!("{base}/readyz"))
                .send()
                .map(|r| r.status().as_u16())
        };
        assert_eq!(ready(&node.base).expect("up"), 200);
        let term = std::process::Command::new("kill")
            .args(["-TERM", &node.child.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(term.success());
        // Draining: not ready, still alive.
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            match ready(&node.base) {
                Ok(503) => break,
                Ok(200) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                other => panic!("{} while draining: {other:?}", node.base),
            }
        }
        let health = http()
            .get(format!("{}/healthz", node.base))
            .send()
            .expect("alive");
        assert_eq!(health.status(), 200);
        // Then it exits on its own, cleanly.
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(s) = node.child.try_wait().expect("wait") {
                break s;
            }
            assert!(Instant::now() < deadline, "{} did not exit", node.base);
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(status.success(), "{status:?}");
    }
}
