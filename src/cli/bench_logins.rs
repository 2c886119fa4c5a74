//! `rulebox bench-logins`: logins per second through HTTP on loopback
//! against a real in-process server, with three JavaScript post-login
//! Actions bound; password grant (bcrypt) and refresh-token grant, RS256
//! and ES256; plus the signing limit of the JWT code in the same run.

use super::load_client::JsonPoster;
use anyhow::{Context, bail};
use clap::Args;
use rulebox_auth_core::crypto::jwt::Signer;
use rulebox_auth_core::crypto::keys::{Alg, KeyPair};
use rulebox_auth_core::store::Store;
use rulebox_auth_core::{AppState, Settings, bootstrap};
use rulebox_proxy::{Node, Proxy, ProxyConfig};
use rulebox_runtime::{Runtime, RuntimeConfig};
use serde_json::{Value, json};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Args)]
pub struct BenchLoginsArgs {
    /// Seconds of load per (grant, algorithm).
    #[arg(long, default_value_t = 8.0)]
    pub seconds: f64,
    /// Concurrent clients.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// bcrypt cost of the users' password hashes.
    #[arg(long, default_value_t = 10)]
    pub bcrypt_cost: u32,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Only this signing algorithm: RS256 or ES256 (default: both).
    #[arg(long)]
    pub alg: Option<String>,
    /// Only this grant: `password` or `refresh_token` (default: both).
    #[arg(long)]
    pub grant: Option<String>,
    /// Runtime nodes behind the proxy, each served over HTTP on loopback from this
    /// process; 0 (default) is `rulebox serve`'s in-process node.
    #[arg(long, default_value_t = 0)]
    pub runtimes: usize,
    /// An empty database to run on instead of a fresh SQLite file (e.g. `postgres://...`,
    /// with RULEBOX_SECRETS_KEY set).
    #[arg(long)]
    pub database_url: Option<String>,
}

const ACTIONS: [&str; 3] = [
    "exports.onExecutePostLogin = async (event, api) => {\n  const allowed = ['example.com', 'example.org'];\n  const domain = (event.user.email || '').split('@')[1];\n  if (!allowed.includes(domain)) api.access.deny('domain not allowed');\n};",
    "exports.onExecutePostLogin = async (event, api) => {\n  const roles = (event.user.app_metadata && event.user.app_metadata.roles) || [];\n  api.idToken.setCustomClaim('https://example.com/roles', roles);\n  api.accessToken.setCustomClaim('https://example.com/roles', roles);\n};",
    "exports.onExecutePostLogin = async (event, api) => {\n  api.idToken.setCustomClaim('https://example.com/logins', event.stats.logins_count);\n  if (event.request.geoip) api.idToken.setCustomClaim('https://example.com/country', event.request.geoip.countryCode);\n};",
];

fn signs_per_sec(alg: Alg) -> anyhow::Result<f64> {
    let key = KeyPair::generate(alg)?;
    let signer = Signer::new(&key)?;
    let claims = json!({"iss": "https://bench/", "sub": "auth0|abc", "aud": "x", "iat": 1, "exp": 2, "scope": "openid profile email"});
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(1) {
        signer.sign(&claims)?;
        n += 1;
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

struct Tenant {
    base: String,
    client_id: String,
    client_secret: String,
}

async fn setup(
    http: &reqwest::Client,
    base: &str,
    creds: &bootstrap::TenantCredentials,
) -> anyhow::Result<Tenant> {
    let t = format!("{base}/t/{}", creds.tenant);
    let token: Value = http
        .post(format!("{t}/oauth/token"))
        .json(&json!({"grant_type": "client_credentials", "client_id": creds.client_id, "client_secret": creds.client_secret, "audience": format!("{t}/api/v2/")}))
        .send()
        .await?
        .json()
        .await?;
    let token = token["access_token"]
        .as_str()
        .context("management token")?
        .to_owned();
    let call = |method: reqwest::Method, path: &str, body: Value| {
        http.request(method, format!("{t}/api/v2/{path}"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let client: Value = call(reqwest::Method::POST, "clients", json!({"name": "bench", "grant_types": ["password", "http://auth0.com/oauth/grant-type/password-realm", "refresh_token"]})).await?.json().await?;
    let client_id = client["client_id"]
        .as_str()
        .context("client id")?
        .to_owned();
    let client_secret = client["client_secret"]
        .as_str()
        .context("client secret")?
        .to_owned();
    call(
        reqwest::Method::POST,
        "connections",
        json!({"name": "db", "strategy": "auth0", "enabled_clients": [client_id]}),
    )
    .await?;
    let r = call(reqwest::Method::POST, "users", json!({"connection": "db", "email": "bench@example.com", "password": "bench password 1", "app_metadata": {"roles": ["admin"]}})).await?;
    if !r.status().is_success() {
        bail!("creating the user: {}", r.text().await?);
    }
    let mut ids = Vec::new();
    for (i, code) in ACTIONS.iter().enumerate() {
        let a: Value = call(reqwest::Method::POST, "actions/actions", json!({"name": format!("bench-{i}"), "supported_triggers": [{"id": "post-login", "version": "v3"}], "code": code})).await?.json().await?;
        let id = a["id"].as_str().context("action id")?.to_owned();
        call(
            reqwest::Method::POST,
            &format!("actions/actions/{id}/deploy"),
            json!({}),
        )
        .await?;
        ids.push(json!({"ref": {"type": "action_id", "value": id}}));
    }
    call(
        reqwest::Method::PATCH,
        "actions/triggers/post-login/bindings",
        json!({"bindings": ids}),
    )
    .await?;
    Ok(Tenant {
        base: t,
        client_id,
        client_secret,
    })
}

fn password_body(t: &Tenant) -> Value {
    json!({"grant_type": "http://auth0.com/oauth/grant-type/password-realm", "realm": "db", "username": "bench@example.com",
           "password": "bench password 1", "client_id": t.client_id, "client_secret": t.client_secret, "scope": "openid profile email offline_access"})
}

/// CPU time this process has used (all threads, user and system): divided by
/// logins, a figure that noisy neighbours on a shared machine disturb far
/// less than logins per second.
fn process_cpu() -> Duration {
    // SAFETY: getrusage writes one rusage through a valid pointer.
    let usage = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut u) != 0 {
            return Duration::ZERO;
        }
        u
    };
    let tv = |t: libc::timeval| {
        Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
            + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// What one load run measured.
struct Measured {
    rate: f64,
    p50_ms: f64,
    p99_ms: f64,
    failures: u64,
    cpu_us_per_login: f64,
}

/// The part of a token answer the load generator needs.
#[derive(serde::Deserialize)]
struct TokenAnswer {
    refresh_token: Option<String>,
}

/// Runs `concurrency` clients for `seconds`; each refresh client keeps its own rotating token.
async fn load(
    t: &Arc<Tenant>,
    refresh: bool,
    concurrency: usize,
    seconds: f64,
) -> anyhow::Result<Measured> {
    // Every client gets its first refresh token (a bcrypt login) before the
    // clock starts, so the refresh figures hold no password checks.
    let start_line = Arc::new(tokio::sync::Barrier::new(concurrency + 1));
    let until = Arc::new(std::sync::OnceLock::<Instant>::new());
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (t, start_line, until) = (t.clone(), start_line.clone(), until.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut failures = 0u64;
            let mut rt = None;
            // A client that fails before the start line must still reach it, or
            // every other client would wait there forever.
            let ready = async {
                let mut http = JsonPoster::connect(&t.base).await?;
                if refresh {
                    let (_, answer) = http.post("/oauth/token", serde_json::to_vec(&password_body(&t))?).await?;
                    let answer: TokenAnswer = serde_json::from_slice(&answer)?;
                    rt = answer.refresh_token;
                }
                anyhow::Ok(http)
            }
            .await;
            start_line.wait().await;
            let mut http = ready?;
            let until = *until.get_or_init(|| Instant::now() + Duration::from_secs_f64(seconds));
            while Instant::now() < until {
                let body = match &rt {
                    Some(token) => json!({"grant_type": "refresh_token", "refresh_token": token, "client_id": t.client_id, "client_secret": t.client_secret}),
                    None => password_body(&t),
                };
                let start = Instant::now();
                let (status, answer) = http.post("/oauth/token", serde_json::to_vec(&body)?).await?;
                lat.push(start.elapsed());
                match serde_json::from_slice::<TokenAnswer>(&answer) {
                    Ok(answer) if status.is_success() => {
                        if refresh {
                            rt = answer.refresh_token;
                        }
                    }
                    _ => failures += 1,
                }
            }
            anyhow::Ok((lat, failures))
        }));
    }
    start_line.wait().await;
    let cpu_start = process_cpu();
    let mut all = Vec::new();
    let mut failures = 0;
    for t in tasks {
        let (lat, f) = t.await??;
        all.extend(lat);
        failures += f;
    }
    let cpu = process_cpu().saturating_sub(cpu_start);
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len().max(1) - 1) as f64 * p).round() as usize)
            .map_or(0.0, |d| d.as_secs_f64() * 1e3)
    };
    Ok(Measured {
        rate: all.len() as f64 / seconds,
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
        failures,
        cpu_us_per_login: cpu.as_secs_f64() * 1e6 / all.len().max(1) as f64,
    })
}

pub fn bench_logins(args: BenchLoginsArgs) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let rs_signs = signs_per_sec(Alg::RS256)?;
        let es_signs = signs_per_sec(Alg::ES256)?;
        let dir = std::env::temp_dir().join(format!("rulebox-bench-logins-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let store = match &args.database_url {
            Some(url) => Store::connect(url).await?,
            None => Store::open(&dir.join("rulebox.db")).await?,
        };
        let backend = format!("{:?}", store.backend());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let rs = bootstrap::create_tenant_with(&store, "bench-rs", None, &base, Alg::RS256).await?;
        let es = bootstrap::create_tenant_with(&store, "bench-es", None, &base, Alg::ES256).await?;
        let nodes = if args.runtimes == 0 {
            let runtime = Runtime::new(RuntimeConfig { artifact_dir: Some(dir.join("artifacts")), ..RuntimeConfig::default() })?;
            vec![Node::Local(Arc::new(runtime))]
        } else {
            let mut nodes = Vec::new();
            for i in 0..args.runtimes {
                let runtime = Runtime::new(RuntimeConfig { artifact_dir: Some(dir.join(format!("artifacts-{i}"))), ..RuntimeConfig::default() })?;
                let l = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
                nodes.push(Node::Remote(format!("http://{}", l.local_addr()?)));
                tokio::spawn(rulebox_proxy::service::serve(l, Arc::new(runtime), None, std::future::pending()));
            }
            nodes
        };
        let settings = Settings { bcrypt_cost: args.bcrypt_cost, brute_force_threshold: u32::MAX, brute_force_ip_threshold: u32::MAX, ..Settings::default() };
        // What `rulebox serve` runs (the proxy over an in-process runtime), or the proxy
        // over runtime nodes reached by HTTP.
        let sandbox = Proxy::new(nodes, ProxyConfig::default());
        let app = Arc::new(AppState::new(store, sandbox, settings));
        let server = tokio::spawn(rulebox_auth_core::http::serve(listener, app, std::future::pending()));
        let http = reqwest::Client::builder().pool_max_idle_per_host(args.concurrency).build()?;
        let mut rows = Vec::new();
        let algs: Vec<_> = [("RS256", &rs, rs_signs), ("ES256", &es, es_signs)]
            .into_iter()
            .filter(|(a, _, _)| args.alg.as_deref().is_none_or(|want| want == *a))
            .collect();
        for (alg, creds, signs) in algs {
            let t = Arc::new(setup(&http, &base, creds).await?);
            // Warm: snapshots compiled, connections open — at full concurrency, so the
            // nodes the proxy spills to hold the code before the clock starts.
            load(&t, false, 2, 1.0).await?;
            load(&t, true, args.concurrency, 2.0).await?;
            let limit = signs * cores as f64 / 2.0;
            for (grant, refresh) in [("password (bcrypt)", false), ("refresh_token", true)] {
                let wanted = match args.grant.as_deref() {
                    Some("password") => !refresh,
                    Some("refresh_token") => refresh,
                    _ => true,
                };
                if !wanted {
                    continue;
                }
                let m = load(&t, refresh, args.concurrency, args.seconds).await?;
                rows.push(json!({"alg": alg, "grant": grant, "logins_per_sec": m.rate, "p50_ms": m.p50_ms, "p99_ms": m.p99_ms,
                    "failures": m.failures, "signing_limit_logins_per_sec": limit, "fraction_of_signing_limit": m.rate / limit,
                    "cpu_us_per_login": m.cpu_us_per_login}));
            }
        }
        server.abort();
        let _ = std::fs::remove_dir_all(&dir);
        let report = json!({"cores": cores, "database": backend, "runtime_nodes": args.runtimes, "concurrency": args.concurrency, "bcrypt_cost": args.bcrypt_cost, "actions_bound": 3,
            "signatures_per_sec_one_core": {"RS256": rs_signs, "ES256": es_signs}, "rows": rows});
        if args.json {
            println!("{report}");
        } else {
            let nodes = if args.runtimes == 0 { "in-process runtime".to_owned() } else { format!("{} runtime nodes over HTTP", args.runtimes) };
            println!("{cores} cores, {backend}, {nodes}, {} concurrent clients, 3 JS post-login Actions bound, bcrypt cost {}", args.concurrency, args.bcrypt_cost);
            println!("signing, one core: RS256 {rs_signs:.0}/s, ES256 {es_signs:.0}/s (a login signs 2 tokens)");
            println!("{:<6} {:<18} {:>10} {:>9} {:>9} {:>14} {:>9} {:>12}", "alg", "grant", "logins/s", "p50 ms", "p99 ms", "signing limit", "failures", "CPU us/login");
            for r in &rows {
                println!(
                    "{:<6} {:<18} {:>10.0} {:>9.2} {:>9.2} {:>8.0} ({:>3.0}%) {:>9} {:>12.0}",
                    r["alg"].as_str().unwrap_or(""), r["grant"].as_str().unwrap_or(""),
                    r["logins_per_sec"].as_f64().unwrap_or(0.0), r["p50_ms"].as_f64().unwrap_or(0.0), r["p99_ms"].as_f64().unwrap_or(0.0),
                    r["signing_limit_logins_per_sec"].as_f64().unwrap_or(0.0), 100.0 * r["fraction_of_signing_limit"].as_f64().unwrap_or(0.0),
                    r["failures"].as_u64().unwrap_or(0), r["cpu_us_per_login"].as_f64().unwrap_or(0.0)
                );
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
