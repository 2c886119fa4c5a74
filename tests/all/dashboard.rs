//! The tenant-admin dashboard, clicked through in headless Chromium (Debian's
//! `chromium` and `chromium-driver`, driven over WebDriver): sign in, create an
//! Action, write its code, save, deploy, bind it, run Test, then watch a real
//! login arrive in the live log. Screenshots are taken along the way; what
//! they show is asserted on the DOM.

use crate::support::{PASSWORD, api, id_claims, login_fixture, password_login, start};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ACTION: &str = "dash-claims";
const CLAIM: &str = "https://example.com/dash";
const EMAIL: &str = "dash@example.com";
const CODE: &str = "exports.onExecutePostLogin = async (event, api) => {
  console.log(\"dashboard hello \" + event.user.email);
  api.idToken.setCustomClaim(\"https://example.com/dash\", true);
};
";

/// How long one UI step may take (a deploy compiles the code in the sandbox;
/// debug builds on a busy 2-core machine are slow).
const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a login may take to show up in the live log.
const LIVE_TIMEOUT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(100);

/// Where screenshots and the chromedriver log go.
fn artefacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard");
    std::fs::create_dir_all(&dir).expect("create the screenshot directory");
    dir
}

/// A program the test cannot run without: its path (overridable through
/// `var`), or a failure that says what to install.
fn required_binary(var: &str, default: &str, package: &str) -> PathBuf {
    let path = std::env::var_os(var).map_or_else(|| PathBuf::from(default), PathBuf::from);
    assert!(
        path.is_file(),
        "{} is missing: the dashboard test drives headless Chromium through WebDriver. \
         Install Debian's `chromium` and `chromium-driver` (apt-get install {package}, \
         or `make setup-test`), or point {var} at the binary.",
        path.display()
    );
    path
}

/// A `chromedriver` process on a free port, killed on drop.
struct ChromeDriver {
    child: Child,
    url: String,
}

impl ChromeDriver {
    fn start() -> Self {
        let binary = required_binary("CHROMEDRIVER", "/usr/bin/chromedriver", "chromium-driver");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let log_path = artefacts().join("chromedriver.log");
        let log = std::fs::File::create(&log_path).expect("chromedriver log file");
        let child = Command::new(&binary)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let mut driver = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = driver.child.try_wait() {
                panic!(
                    "chromedriver exited ({status}) before listening; see {}",
                    log_path.display()
                );
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on port {port} within 20 s; see {}",
                log_path.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        driver
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn open_browser(driver: &ChromeDriver, chromium: &Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("chrome"));
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            // Tests run as root, where Chromium's sandbox cannot start.
            "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--window-size=1280,900"],
        }),
    );
    let mut builder = ClientBuilder::new(HttpConnector::new());
    builder.capabilities(caps);
    builder
        .connect(&driver.url)
        .await
        .unwrap_or_else(|e| panic!("no Chromium session from {}: {e}", driver.url))
}

/// What the page shows in `#error` (empty when it is hidden).
async fn page_error(b: &Client) -> String {
    match b.find(Locator::Css("#error")).await {
        Ok(e) => e.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Polls the visible text of `selector` until `ready` accepts it; returns it.
async fn wait_text(
    b: &Client,
    selector: &str,
    timeout: Duration,
    ready: impl Fn(&str) -> bool,
) -> String {
    let deadline = Instant::now() + timeout;
    let mut last = None;
    loop {
        // The page re-renders lists, so an element found may be gone a moment later.
        if let Ok(e) = b.find(Locator::Css(selector)).await
            && let Ok(text) = e.text().await
        {
            if ready(&text) {
                return text;
            }
            last = Some(text);
        }
        if Instant::now() >= deadline {
            let error = page_error(b).await;
            panic!(
                "`{selector}` did not get there within {timeout:?}: it shows {last:?}; \
                 #error shows {error:?}"
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

async fn click(b: &Client, selector: &str) {
    b.find(Locator::Css(selector))
        .await
        .unwrap_or_else(|e| panic!("no `{selector}` to click: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("clicking `{selector}`: {e}"));
}

async fn type_into(b: &Client, selector: &str, text: &str) {
    let field = b
        .find(Locator::Css(selector))
        .await
        .unwrap_or_else(|e| panic!("no `{selector}` to type into: {e}"));
    field
        .clear()
        .await
        .unwrap_or_else(|e| panic!("clearing `{selector}`: {e}"));
    field
        .send_keys(text)
        .await
        .unwrap_or_else(|e| panic!("typing into `{selector}`: {e}"));
}

/// Scrolls the element with `id` into view, takes a screenshot, checks it is
/// a real PNG of the window and writes it to `name`.
async fn screenshot(b: &Client, id: &str, name: &str) -> PathBuf {
    b.execute(
        "document.getElementById(arguments[0]).scrollIntoView({block: 'center'});",
        vec![json!(id)],
    )
    .await
    .unwrap_or_else(|e| panic!("scrolling #{id} into view: {e}"));
    let png = b.screenshot().await.expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{name} is not a PNG");
    assert!(
        png.len() > 20_000,
        "{name} is only {} bytes: a blank page?",
        png.len()
    );
    // IHDR, right after the signature: width and height, big-endian.
    let dimension =
        |at: usize| u32::from_be_bytes([png[at], png[at + 1], png[at + 2], png[at + 3]]);
    let (width, height) = (dimension(16), dimension(20));
    assert!(
        width >= 1000 && height >= 600,
        "{name} is {width}x{height}, not the 1280x900 window"
    );
    let path = artefacts().join(name);
    std::fs::write(&path, &png).expect("write the screenshot");
    path
}

/// What the browser session needs from the server set up before it.
struct Fixture {
    dashboard: String,
    tenant_base: String,
    mgmt_token: String,
    mgmt_client_id: String,
    mgmt_client_secret: String,
    app_client: Value,
}

async fn click_through(b: Client, f: Fixture) {
    b.goto(&f.dashboard).await.expect("open the dashboard");
    let title = b.title().await.expect("page title");
    assert!(title.contains("rulebox"), "title {title:?}");

    // Sign in with the management client.
    type_into(&b, "#client-id", &f.mgmt_client_id).await;
    type_into(&b, "#client-secret", &f.mgmt_client_secret).await;
    click(&b, "#sign-in").await;
    wait_text(&b, "#actions", STEP_TIMEOUT, |t| {
        t.contains("No Actions yet")
    })
    .await;
    wait_text(&b, "#bindings", STEP_TIMEOUT, |t| {
        t.contains("No Actions bound")
    })
    .await;

    // Create the Action through the form; it opens in the editor.
    type_into(&b, "#new-action-name", ACTION).await;
    click(&b, "#new-action-create").await;
    wait_text(&b, "#editor-title", STEP_TIMEOUT, |t| t == ACTION).await;
    let listed = format!("#actions li[data-action-name=\"{ACTION}\"]");
    wait_text(&b, &listed, STEP_TIMEOUT, |t| t.contains("not deployed")).await;

    // Write the code, save, deploy.
    type_into(&b, "#code", CODE).await;
    let typed = b
        .find(Locator::Css("#code"))
        .await
        .expect("#code")
        .prop("value")
        .await
        .expect("#code value");
    assert_eq!(
        typed.as_deref(),
        Some(CODE),
        "the editor holds what was typed"
    );
    let gutter = wait_text(&b, "#gutter", STEP_TIMEOUT, |t| !t.is_empty()).await;
    assert_eq!(
        gutter.lines().last(),
        Some(CODE.split('\n').count().to_string().as_str()),
        "one gutter number per line: {gutter:?}"
    );
    click(&b, "#save").await;
    wait_text(&b, "#status", STEP_TIMEOUT, |t| t == "Saved").await;
    click(&b, "#deploy").await;
    let status = wait_text(&b, "#status", STEP_TIMEOUT, |t| {
        t.starts_with("Deployed version")
    })
    .await;
    assert_eq!(status, "Deployed version 1");
    wait_text(&b, &listed, STEP_TIMEOUT, |t| t.contains("v1 deployed")).await;

    // Bind it to post-login and save the flow.
    let trigger = b
        .find(Locator::Css("#bindings-trigger"))
        .await
        .expect("#bindings-trigger")
        .prop("value")
        .await
        .expect("trigger value");
    assert_eq!(trigger.as_deref(), Some("post-login"));
    click(&b, "#bind").await;
    let bound = format!("#bindings li[data-action-name=\"{ACTION}\"]");
    wait_text(&b, &bound, STEP_TIMEOUT, |t| t == ACTION).await;
    click(&b, "#save-bindings").await;
    wait_text(&b, "#bindings-status", STEP_TIMEOUT, |t| {
        t.starts_with("Saved")
    })
    .await;
    let (t, token) = (f.tenant_base.clone(), f.mgmt_token.clone());
    let (status, bindings) = tokio::task::spawn_blocking(move || {
        api(
            reqwest::Method::GET,
            format!("{t}/api/v2/actions/triggers/post-login/bindings"),
            &token,
            None,
        )
    })
    .await
    .expect("bindings request");
    assert_eq!(status, 200, "{bindings}");
    assert_eq!(
        bindings["bindings"][0]["action"]["name"], ACTION,
        "the server has the flow the page saved: {bindings}"
    );

    // Test: the sample event is prefilled; the result shows commands, logs, fuel, duration.
    let sample = b
        .find(Locator::Css("#test-event"))
        .await
        .expect("#test-event")
        .prop("value")
        .await
        .expect("#test-event value")
        .unwrap_or_default();
    let sample: Value = serde_json::from_str(&sample).expect("the sample event is JSON");
    let sample_email = sample["user"]["email"]
        .as_str()
        .expect("the sample event has a user with an email")
        .to_owned();
    click(&b, "#run-test").await;
    let outcome = wait_text(&b, "#test-outcome", STEP_TIMEOUT, |t| !t.is_empty()).await;
    let error = page_error(&b).await;
    assert_eq!(outcome, "ok", "#error: {error:?}");
    let commands = wait_text(&b, "#test-commands", STEP_TIMEOUT, |t| !t.is_empty()).await;
    assert!(
        commands.contains("api.idToken.setCustomClaim") && commands.contains(CLAIM),
        "commands: {commands:?}"
    );
    let logs = wait_text(&b, "#test-logs", STEP_TIMEOUT, |t| !t.is_empty()).await;
    assert!(
        logs.contains(&format!("dashboard hello {sample_email}")),
        "console: {logs:?}"
    );
    let fuel = wait_text(&b, "#test-fuel", STEP_TIMEOUT, |t| !t.is_empty()).await;
    let fuel: u64 = fuel
        .parse()
        .unwrap_or_else(|e| panic!("#test-fuel {fuel:?} is not a number: {e}"));
    assert!(fuel > 0, "a run costs fuel");
    let duration = wait_text(&b, "#test-duration", STEP_TIMEOUT, |t| !t.is_empty()).await;
    assert!(
        duration.ends_with(" ms") || duration.ends_with(" µs"),
        "duration {duration:?}"
    );
    let shot = screenshot(&b, "test-result", "after-test.png").await;
    eprintln!("screenshot: {}", shot.display());

    // Live logs: connect, then log in for real over HTTP.
    click(&b, "#live-start").await;
    wait_text(&b, "#live-state", STEP_TIMEOUT, |t| {
        t.starts_with("Connected")
    })
    .await;
    let (t, app) = (f.tenant_base.clone(), f.app_client.clone());
    let tokens = tokio::task::spawn_blocking(move || {
        let r = password_login(&t, &app, EMAIL, PASSWORD);
        let status = r.status();
        let body: Value = r.json().expect("token response JSON");
        assert_eq!(status, 200, "login: {body}");
        body
    })
    .await
    .expect("login request");
    assert_eq!(
        id_claims(&tokens)[CLAIM],
        true,
        "the deployed, bound Action set the claim"
    );
    let live = wait_text(&b, "#live-logs", LIVE_TIMEOUT, |t| {
        t.contains(&format!("dashboard hello {EMAIL}"))
    })
    .await;
    assert!(live.contains(ACTION), "live log names the Action: {live:?}");
    let entry = format!("#live-logs li[data-action-name=\"{ACTION}\"]");
    let outcome = b
        .find(Locator::Css(&entry))
        .await
        .expect("a live log entry for the Action")
        .attr("data-outcome")
        .await
        .expect("data-outcome");
    assert_eq!(outcome.as_deref(), Some("ok"), "{live:?}");
    let shot = screenshot(&b, "live-logs", "after-live-log.png").await;
    eprintln!("screenshot: {}", shot.display());

    let error = page_error(&b).await;
    assert_eq!(error, "", "no error along the way");
}

#[test]
fn dashboard_deploy_test_and_live_log() {
    // Fail before anything else when the browser is not installed.
    let chromium = required_binary("CHROMIUM", "/usr/bin/chromium", "chromium");
    let driver = ChromeDriver::start();

    let s = start();
    let (tenant_base, mgmt_token, app_client) = login_fixture(&s, &[EMAIL]);
    let fixture = Fixture {
        dashboard: format!("{tenant_base}/dashboard"),
        tenant_base,
        mgmt_token,
        mgmt_client_id: s.creds["client_id"].as_str().expect("id").to_owned(),
        mgmt_client_secret: s.creds["client_secret"]
            .as_str()
            .expect("secret")
            .to_owned(),
        app_client,
    };

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    // The steps run as a task so that a failed assertion still closes the browser
    // (killing chromedriver alone would leave Chromium running); a local one, as
    // nothing here needs to move between threads.
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async {
        let browser = open_browser(&driver, &chromium).await;
        let steps = tokio::task::spawn_local(click_through(browser.clone(), fixture)).await;
        let _ = browser.close().await;
        if let Err(e) = steps {
            match e.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(e) => panic!("the browser steps did not finish: {e}"),
            }
        }
    });
}
