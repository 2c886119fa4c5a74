//! Issue 6: a custom-database `login` script authenticates against a legacy
//! user service over HTTP (a small service this test starts), and after the
//! first login the user lives locally: with the service gone, logins go on.

use crate::support;

use crate::support::{api, http, start};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The legacy service: `POST /authenticate` with `{"email","password"}` answers the
/// profile for ada@legacy.example / "old password", 401 otherwise; `POST /users` with
/// `{"email"}` answers ada's profile, 404 for anyone else. Counts calls; refuses
/// connections once `down` is set.
fn legacy_service(down: Arc<AtomicBool>, calls: Arc<AtomicUsize>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            if down.load(Ordering::SeqCst) {
                drop(stream);
                continue;
            }
            calls.fetch_add(1, Ordering::SeqCst);
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut request_line = String::new();
            let _ = reader.read_line(&mut request_line);
            let lookup = request_line.starts_with("POST /users ");
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).map_or(true, |n| n == 0) || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; len];
            let _ = reader.read_exact(&mut body);
            let req: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let ada = json!({"id": "legacy-42", "email": "ada@legacy.example", "name": "Ada", "plan": "gold"});
            let (status, out) = if lookup {
                if req["email"] == "ada@legacy.example" {
                    ("200 OK", ada)
                } else {
                    ("404 Not Found", json!({"error": "no such user"}))
                }
            } else if req["email"] == "ada@legacy.example" && req["password"] == "old password" {
                ("200 OK", ada)
            } else {
                ("401 Unauthorized", json!({"error": "wrong credentials"}))
            };
            let out = out.to_string();
            let mut s = stream;
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{out}",
                out.len()
            );
        }
    });
    port
}

const LOGIN: &str = r#"function login(email, password, callback) {
  fetch(configuration.LEGACY_URL + '/authenticate', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: email, password: password }),
  })
    .then(function (res) {
      if (res.status === 401) return callback(new WrongUsernameOrPasswordError(email));
      return res.json().then(function (u) {
        callback(null, { user_id: u.id, email: u.email, name: u.name, app_metadata: { plan: u.plan } });
      });
    })
    .catch(function (err) { callback(err); });
}"#;

const GET_USER: &str = r#"function getUser(email, callback) {
  fetch(configuration.LEGACY_URL + '/users', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: email }),
  })
    .then(function (res) {
      if (res.status === 404) return callback(null);
      return res.json().then(function (u) { callback(null, { user_id: u.id, email: u.email }); });
    })
    .catch(function (err) { callback(err); });
}"#;

/// The operator allow-lists the legacy service's loopback address for tenant `default`.
fn allow_legacy(s: &support::Server, port: u16) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rulebox"))
        .args([
            "tenants",
            "limits",
            "set",
            "default",
            "--allow-host",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(s.data.path())
        .output()
        .expect("limits set");
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn signup_asks_get_user_and_caches_only_when_the_connection_opts_in() {
    let calls = Arc::new(AtomicUsize::new(0));
    let port = legacy_service(Arc::new(AtomicBool::new(false)), calls.clone());
    let s = start();
    allow_legacy(&s, port);
    let t = format!("{}/t/default", s.base);
    let token = s.mgmt_token();
    let (_, client) = api(
        reqwest::Method::POST,
        format!("{t}/api/v2/clients"),
        &token,
        Some(json!({"name": "app"})),
    );
    let connection = |name: &str, ttl: Option<u64>| {
        let mut options = json!({"enabledDatabaseCustomization": true, "import_mode": true,
            "customScripts": {"login": LOGIN, "get_user": GET_USER},
            "configuration": {"LEGACY_URL": format!("http://127.0.0.1:{port}")}});
        if let Some(ttl) = ttl {
            options["get_user_cache_ttl"] = json!(ttl);
        }
        let (st, conn) = api(
            reqwest::Method::POST,
            format!("{t}/api/v2/connections"),
            &token,
            Some(json!({"name": name, "strategy": "auth0", "options": options})),
        );
        assert_eq!(st, 201, "{conn}");
        conn
    };
    let signup = |conn: &str, email: &str| {
        let r = http()
            .post(format!("{t}/dbconnections/signup"))
            .json(
                &json!({"client_id": client["client_id"], "connection": conn,
                          "email": email, "password": "a long password"}),
            )
            .send()
            .expect("signup");
        (
            r.status().as_u16(),
            r.json::<Value>().unwrap_or(Value::Null),
        )
    };
    let legacy_calls = || calls.load(Ordering::SeqCst);

    // Without opting in, every signup asks the legacy store.
    connection("uncached", None);
    let (st, body) = signup("uncached", "ada@legacy.example");
    assert_eq!(st, 400, "{body}");
    assert_eq!(body["error"], "user_exists", "{body}");
    signup("uncached", "ada@legacy.example");
    assert_eq!(legacy_calls(), 2, "no cache without get_user_cache_ttl");

    // With a TTL, the second question is answered from the cache.
    let cached = connection("cached", Some(60));
    let before = legacy_calls();
    assert_eq!(signup("cached", "ada@legacy.example").0, 400);
    assert_eq!(signup("cached", "ADA@legacy.example").0, 400);
    assert_eq!(legacy_calls(), before + 1, "one look-up, then the cache");
    // Someone the legacy store does not know signs up here.
    let (st, body) = signup("cached", "new@legacy.example");
    assert_eq!(st, 200, "{body}");
    assert_eq!(legacy_calls(), before + 2);

    // Changing the connection forgets what this node remembered of it.
    let id = cached["id"].as_str().expect("connection id");
    let (st, _) = api(
        reqwest::Method::PATCH,
        format!("{t}/api/v2/connections/{id}"),
        &token,
        Some(json!({"options": cached["options"].clone()})),
    );
    assert_eq!(st, 200);
    assert_eq!(signup("cached", "ada@legacy.example").0, 400);
    assert_eq!(legacy_calls(), before + 3, "asked again after the change");
}

#[test]
fn a_login_script_reaches_the_legacy_service_then_the_user_is_local() {
    let down = Arc::new(AtomicBool::new(false));
    let calls = Arc::new(AtomicUsize::new(0));
    let port = legacy_service(down.clone(), calls.clone());
    let s = start();
    let t = format!("{}/t/default", s.base);
    let token = s.mgmt_token();
    // Tenants manage their allow-list by host name; an address (the only way to
    // reach a loopback or private service) is the operator's to grant.
    let (st, bad) = api(
        reqwest::Method::PATCH,
        format!("{t}/api/v2/tenants/settings"),
        &token,
        Some(json!({"sandbox_limits": {"allow_hosts": [format!("127.0.0.1:{port}")]}})),
    );
    assert_eq!(st, 400, "{bad}");
    let (st, bad) = api(
        reqwest::Method::PATCH,
        format!("{t}/api/v2/tenants/settings"),
        &token,
        Some(json!({"sandbox_limits": {"fuel": 1}})),
    );
    assert_eq!(st, 400, "the fence is the operator's: {bad}");
    let (st, settings) = api(
        reqwest::Method::PATCH,
        format!("{t}/api/v2/tenants/settings"),
        &token,
        Some(json!({"sandbox_limits": {"allow_hosts": ["legacy.example.com"]}})),
    );
    assert_eq!(st, 200, "{settings}");
    allow_legacy(&s, port);
    let (_, read) = api(
        reqwest::Method::GET,
        format!("{t}/api/v2/tenants/settings"),
        &token,
        None,
    );
    assert_eq!(
        read["sandbox_limits"]["allow_hosts"][0],
        format!("127.0.0.1:{port}")
    );
    let post = reqwest::Method::POST;
    let (_, client) = api(
        post.clone(),
        format!("{t}/api/v2/clients"),
        &token,
        Some(
            json!({"name": "app", "grant_types": ["http://auth0.com/oauth/grant-type/password-realm"]}),
        ),
    );
    let (st, conn) = api(
        post.clone(),
        format!("{t}/api/v2/connections"),
        &token,
        Some(json!({
            "name": "legacy-db", "strategy": "auth0",
            "options": {"enabledDatabaseCustomization": true, "import_mode": true,
                        "customScripts": {"login": LOGIN},
                        "configuration": {"LEGACY_URL": format!("http://127.0.0.1:{port}")}},
        })),
    );
    assert_eq!(st, 201, "{conn}");

    let login = |password: &str| {
        http()
            .post(format!("{t}/oauth/token"))
            .json(&json!({"grant_type": "http://auth0.com/oauth/grant-type/password-realm", "realm": "legacy-db",
                          "username": "ada@legacy.example", "password": password,
                          "client_id": client["client_id"], "client_secret": client["client_secret"], "scope": "openid"}))
            .send()
            .expect("login")
    };
    let r = login("wrong");
    assert_eq!(r.status(), 403, "{}", r.text().unwrap_or_default());
    let r = login("old password");
    assert_eq!(r.status(), 200, "{}", r.text().unwrap_or_default());
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "both went to the legacy service"
    );

    // The service goes away; the migrated user logs in locally.
    down.store(true, Ordering::SeqCst);
    let r = login("old password");
    assert_eq!(r.status(), 200, "{}", r.text().unwrap_or_default());
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "the script was not called again"
    );
    let (_, users) = api(
        reqwest::Method::GET,
        format!("{t}/api/v2/users-by-email?email=ada@legacy.example"),
        &token,
        None,
    );
    assert_eq!(users[0]["user_id"], "auth0|legacy-42", "{users}");
}
