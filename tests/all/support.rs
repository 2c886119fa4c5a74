//! A real `rulebox serve` process for end-to-end tests, and small HTTP helpers.
#![allow(dead_code)]

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Server {
    /// The `rulebox serve` process (SIGKILLed on drop).
    pub proc: Proc,
    pub base: String,
    pub creds: Value,
    pub data: tempfile::TempDir,
}

impl Server {
    /// A Management API token of the bootstrapped tenant `default`.
    pub fn mgmt_token(&self) -> String {
        mgmt_token(
            &self.base,
            "default",
            self.creds["client_id"].as_str().expect("client id"),
            self.creds["client_secret"].as_str().expect("client secret"),
        )
    }

    /// `kill -9`, then a new `rulebox serve` on the same data directory; `base` is updated.
    pub fn kill9_and_restart(&mut self) {
        self.proc.kill9();
        self.proc = serve(self.data.path(), &[], &[], false);
        self.base = self.proc.base.clone();
    }
}

/// `rulebox serve` on `data`, on a free port, bcrypt cost 4 for speed.
fn serve(data: &std::path::Path, args: &[&str], env: &[(&str, &str)], first_run: bool) -> Proc {
    let dir = data.to_str().expect("utf-8 path");
    let mut all = vec![
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--bcrypt-cost",
        "4",
        "--data-dir",
        dir,
    ];
    all.extend_from_slice(args);
    spawn_rulebox_env(&all, env, "rulebox listening on", first_run)
}

pub fn start() -> Server {
    start_with(&[], &[])
}

/// `rulebox serve` with more arguments and environment variables, on a new data directory;
/// its first-run credentials in `creds`.
pub fn start_with(args: &[&str], env: &[(&str, &str)]) -> Server {
    let data = tempfile::tempdir().expect("tempdir");
    let proc = serve(data.path(), args, env, true);
    let creds: Value = serde_json::from_str(proc.first_stdout.as_deref().expect("bootstrap"))
        .expect("credentials are JSON");
    Server {
        base: proc.base.clone(),
        proc,
        creds,
        data,
    }
}

pub fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client")
}

pub fn mgmt_token(base: &str, tenant: &str, client_id: &str, secret: &str) -> String {
    let r = http()
        .post(format!("{base}/t/{tenant}/oauth/token"))
        .json(&json!({
            "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret,
            "audience": format!("{base}/t/{tenant}/api/v2/"),
        }))
        .send()
        .expect("token request");
    assert_eq!(r.status(), 200);
    r.json::<Value>().expect("json")["access_token"]
        .as_str()
        .expect("token")
        .to_owned()
}

pub fn api(method: reqwest::Method, url: String, token: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = http().request(method, url).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().expect("api request");
    let status = r.status().as_u16();
    (status, r.json::<Value>().unwrap_or(Value::Null))
}

/// Creates an Action for `trigger`, deploys it and binds it as the trigger's
/// only Action, asserting each step; returns its id.
pub fn create_deploy_bind(t: &str, token: &str, name: &str, trigger: &str, code: &str) -> String {
    let (st, action) = api(
        reqwest::Method::POST,
        format!("{t}/api/v2/actions/actions"),
        token,
        Some(
            json!({"name": name, "supported_triggers": [{"id": trigger, "version": "v3"}], "code": code}),
        ),
    );
    assert_eq!(st, 201, "create {name}: {action}");
    let id = action["id"].as_str().expect("action id").to_owned();
    let (st, v) = api(
        reqwest::Method::POST,
        format!("{t}/api/v2/actions/actions/{id}/deploy"),
        token,
        None,
    );
    assert_eq!(st, 202, "deploy {name}: {v}");
    let (st, b) = api(
        reqwest::Method::PATCH,
        format!("{t}/api/v2/actions/triggers/{trigger}/bindings"),
        token,
        Some(
            json!({"bindings": [{"ref": {"type": "action_id", "value": id}, "display_name": name}]}),
        ),
    );
    assert_eq!(st, 200, "bind {name}: {b}");
    id
}

/// A `rulebox` process of a multi-process topology; killed (SIGKILL) on drop.
pub struct Proc {
    pub child: Child,
    /// `http://ADDR` it announced.
    pub base: String,
    /// The first line it printed on stdout, if it was asked for (bootstrap credentials).
    pub first_stdout: Option<String>,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proc {
    /// `kill -9`, then wait for the process to be gone.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `rulebox ARGS...` and waits until it prints `ANNOUNCE http://ADDR` on stderr; the
/// rest of stderr is drained on a thread so the child never blocks or fails on a full pipe.
pub fn spawn_rulebox(args: &[&str], announce: &str, read_first_stdout: bool) -> Proc {
    spawn_rulebox_env(args, &[], announce, read_first_stdout)
}

/// [`spawn_rulebox`] with environment variables.
pub fn spawn_rulebox_env(
    args: &[&str],
    env: &[(&str, &str)],
    announce: &str,
    read_first_stdout: bool,
) -> Proc {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rulebox"))
        .args(args)
        .envs(env.iter().copied())
        .stdout(if read_first_stdout {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stderr(Stdio::piped())
        .spawn()
        .expect("rulebox starts");
    let first_stdout = child.stdout.take().map(|out| {
        let mut line = String::new();
        BufReader::new(out)
            .read_line(&mut line)
            .expect("first stdout line");
        line
    });
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let needle = format!("{announce} ");
    let base = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| l.split(&needle).nth(1).map(|b| b.trim().to_owned()))
        .unwrap_or_else(|| panic!("rulebox {args:?} never announced itself"));
    std::thread::spawn(move || for _ in lines.by_ref() {});
    Proc {
        child,
        base,
        first_stdout,
    }
}

/// The password every fixture user has.
pub const PASSWORD: &str = "long enough pw";

/// A tenant ready for logins on `s`: a client allowed the password grant, the database
/// connection `db` and one user per email. Returns `(tenant base URL, management token,
/// the client as created)`.
pub fn login_fixture(s: &Server, emails: &[&str]) -> (String, String, Value) {
    let t = format!("{}/t/default", s.base);
    let token = s.mgmt_token();
    let post = reqwest::Method::POST;
    let (st, client) = api(
        post.clone(),
        format!("{t}/api/v2/clients"),
        &token,
        Some(json!({"name": "app", "grant_types": ["password"]})),
    );
    assert_eq!(st, 201, "{client}");
    let (st, conn) = api(
        post.clone(),
        format!("{t}/api/v2/connections"),
        &token,
        Some(json!({"name": "db", "strategy": "auth0"})),
    );
    assert_eq!(st, 201, "{conn}");
    for email in emails {
        let (st, u) = api(
            post.clone(),
            format!("{t}/api/v2/users"),
            &token,
            Some(json!({"connection": "db", "email": email, "password": PASSWORD})),
        );
        assert_eq!(st, 201, "{u}");
    }
    (t, token, client)
}

/// A password-grant login at tenant base `t` with a fixture client.
pub fn password_login(
    t: &str,
    client: &Value,
    email: &str,
    password: &str,
) -> reqwest::blocking::Response {
    http()
        .post(format!("{t}/oauth/token"))
        .json(
            &json!({"grant_type": "password", "username": email, "password": password,
                      "client_id": client["client_id"], "client_secret": client["client_secret"],
                      "scope": "openid"}),
        )
        .send()
        .expect("login")
}

/// The claims of the ID token in a token response (decoded, not verified).
pub fn id_claims(tokens: &Value) -> Value {
    use base64::Engine;
    let payload = tokens["id_token"]
        .as_str()
        .and_then(|t| t.split('.').nth(1))
        .expect("an ID token");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

/// The legacy store of `rules-examples/js/custom-db/legacy`, as its test table configures it.
pub fn legacy_configuration() -> Value {
    let cases: Value = serde_json::from_str(include_str!("../../rules-examples/js/cases.json"))
        .expect("cases.json");
    cases
        .as_array()
        .and_then(|files| {
            files.iter().find(|f| {
                f["file"]
                    .as_str()
                    .is_some_and(|p| p.ends_with("legacy/login.js"))
            })
        })
        .map(|f| f["cases"][0]["input"]["configuration"].clone())
        .expect("the legacy login cases configure a store")
}

/// The hosted login page's form: where it posts, and its hidden fields.
pub fn form_fields(html: &str) -> (String, Vec<(String, String)>) {
    let action = html
        .split("<form method=\"post\" action=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("a login form")
        .replace("&amp;", "&");
    let mut fields = Vec::new();
    for part in html.split("<input type=\"hidden\" name=\"").skip(1) {
        let name = part.split('"').next().unwrap_or("").to_owned();
        let value = part
            .split("value=\"")
            .nth(1)
            .and_then(|v| v.split('"').next())
            .unwrap_or("")
            .replace("&amp;", "&");
        fields.push((name, value));
    }
    (action, fields)
}

/// One query parameter of a URL.
pub fn query_param(url: &str, key: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

/// `rulebox tenants create NAME --json` on the server's data directory (with `extra`
/// flags): the one object it prints.
pub fn create_tenant(s: &Server, name: &str, extra: &[&str]) -> Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rulebox"))
        .args(["tenants", "create", name, "--json"])
        .args(extra)
        .arg("--data-dir")
        .arg(s.data.path())
        .output()
        .expect("tenants create");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

/// Another tenant `name` on `s`, with one client created from `client` through its
/// own Management API: `(its base URL, its management token, the client as created)`.
pub fn tenant_with_client(s: &Server, name: &str, client: Value) -> (String, String, Value) {
    let created = create_tenant(s, name, &[]);
    let base = format!("{}/t/{name}", s.base);
    let token = mgmt_token(
        &s.base,
        name,
        created["client_id"].as_str().expect("id"),
        created["client_secret"].as_str().expect("secret"),
    );
    let (st, made) = api(
        reqwest::Method::POST,
        format!("{base}/api/v2/clients"),
        &token,
        Some(client),
    );
    assert_eq!(st, 201, "{made}");
    (base, token, made)
}

/// The JWKS a tenant at base URL `t` publishes.
pub fn jwks(t: &str) -> Value {
    http()
        .get(format!("{t}/.well-known/jwks.json"))
        .send()
        .expect("jwks")
        .json()
        .expect("json")
}
