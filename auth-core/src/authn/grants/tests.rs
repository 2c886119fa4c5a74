//! The grants in process, as Spin's `factors-test` runs its factors: an
//! in-memory store and a sandbox that records every call and answers with the
//! commands the test gives it. No server, no wasm: what is under test is the
//! grants' own steps and the pipeline between them.

use super::{Requester, TokenRequest, run};
use crate::app::{AppState, Settings};
use crate::authn::client_auth::ClientCredentials;
use crate::crypto::keys::Alg;
use crate::crypto::random::sha256_hex;
use crate::error::ErrorKind;
use crate::store::{NewClient, NewUser, Store};
use crate::tenant::TenantCtx;
use rulebox_abi::{Command, Output};
use rulebox_runtime_api::{
    Call, Code, LoadError, Loaded, ModuleId, Outcome, OutcomeKind, Pending, Sandbox, Trigger,
};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// A sandbox that runs nothing: it records each call's trigger and event and
/// answers with `answer`.
#[derive(Default)]
struct RecordingSandbox {
    calls: Mutex<Vec<(Trigger, Value)>>,
    answer: Mutex<Vec<Command>>,
}

impl RecordingSandbox {
    fn answer_with(&self, commands: Vec<Command>) {
        *self.answer.lock().expect("lock") = commands;
    }
    fn calls(&self) -> Vec<(Trigger, Value)> {
        self.calls.lock().expect("lock").clone()
    }
}

impl Sandbox for RecordingSandbox {
    fn load_code(self: Arc<Self>, code: Code) -> Pending<Result<Loaded, LoadError>> {
        let id = match &code {
            Code::Wasm(bytes) => ModuleId::of(bytes),
            Code::Js { source, .. } => ModuleId::of(source.as_bytes()),
        };
        Box::pin(std::future::ready(Ok(Loaded { id, handlers: None })))
    }
    fn is_loaded(&self, _module: &ModuleId) -> bool {
        true
    }
    fn call(self: Arc<Self>, call: Call) -> Pending<Outcome> {
        let event = serde_json::from_slice(&call.input).unwrap_or(Value::Null);
        self.calls.lock().expect("lock").push((call.trigger, event));
        Box::pin(std::future::ready(Outcome {
            kind: OutcomeKind::Ok,
            output: Some(Output {
                commands: self.answer.lock().expect("lock").clone(),
                result: None,
            }),
            error: None,
            logs: Vec::new(),
            logs_truncated: false,
            fuel_used: 1,
            peak_memory_bytes: 0,
            duration_us: 1,
            steps: Vec::new(),
        }))
    }
}

struct Tenant {
    app: Arc<AppState>,
    t: TenantCtx,
    sandbox: Arc<RecordingSandbox>,
    /// The management (machine) client bootstrap made.
    machine: ClientCredentials,
}

async fn tenant() -> Tenant {
    let store = Store::open_in_memory().await.expect("store");
    let creds = crate::bootstrap::create_tenant_with(&store, "acme", None, "http://x", Alg::ES256)
        .await
        .expect("tenant");
    let tenant = store.get_tenant("acme").await.expect("tenant row");
    let sandbox = Arc::new(RecordingSandbox::default());
    let settings = Settings {
        bcrypt_cost: 4,
        ..Settings::default()
    };
    let app = Arc::new(AppState::new(store, sandbox.clone(), settings));
    Tenant {
        app,
        t: TenantCtx {
            tenant: Arc::new(tenant),
            issuer: creds.issuer.clone(),
        },
        sandbox,
        machine: ClientCredentials {
            id: Some(creds.client_id),
            secret: Some(creds.client_secret),
        },
    }
}

async fn bind_exchange(x: &Tenant) {
    let code = "exports.onExecuteCredentialsExchange = async () => {};";
    bind(&x.app, Trigger::CredentialsExchange, code).await;
}

/// Binds a deployed JavaScript Action to `trigger`.
async fn bind(app: &AppState, trigger: Trigger, code: &str) {
    let store = &app.store;
    let body = json!({"name": format!("a-{}", trigger.id()), "code": code,
        "supported_triggers": [{"id": trigger.id(), "version": "v3"}]});
    let action = store
        .create_action("acme", body, None)
        .await
        .expect("action");
    store
        .deploy_action("acme", &action.id, None)
        .await
        .expect("deploy");
    store
        .set_bindings("acme", trigger.id(), vec![action.id])
        .await
        .expect("bind");
    app.forget_tenant_config("acme");
}

/// A client-credentials request for the tenant's Management API.
fn to_management(x: &Tenant) -> TokenRequest {
    TokenRequest {
        audience: Some(x.t.management_audience()),
        ..TokenRequest::default()
    }
}

fn from(client: &ClientCredentials) -> Requester {
    let mut r = Requester {
        client: client.clone(),
        ..Requester::default()
    };
    r.info.ip = "203.0.113.7".into();
    r
}

async fn claims(app: &AppState, t: &TenantCtx, token: &Value, audience: &str) -> Value {
    let jwks = app.keys(&t.tenant).await.expect("keys").jwks.clone();
    crate::crypto::jwt::verify(token.as_str().expect("a token"), &jwks, &t.issuer, audience)
        .expect("the token verifies")
}

#[tokio::test]
async fn client_credentials_runs_the_exchange_actions_and_signs_their_claims() {
    let x = tenant().await;
    bind_exchange(&x).await;
    x.sandbox.answer_with(vec![Command::SetAccessTokenClaim {
        name: "https://example.com/tier".into(),
        value: json!("gold"),
    }]);
    let audience = x.t.management_audience();
    let req = TokenRequest {
        audience: Some(audience.clone()),
        scope: Some("read:users".into()),
        ..TokenRequest::default()
    };
    let out = run(&x.app, &x.t, from(&x.machine), "client_credentials", req)
        .await
        .expect("tokens");
    let calls = x.sandbox.calls();
    assert_eq!(calls.len(), 1, "one Action, one call");
    let (trigger, event) = &calls[0];
    assert_eq!(*trigger, Trigger::CredentialsExchange);
    assert_eq!(event["client"]["client_id"], json!(x.machine.id));
    assert_eq!(event["resource_server"]["identifier"], json!(audience));
    assert_eq!(event["accessToken"]["scope"], json!(["read:users"]));
    assert_eq!(event["request"]["ip"], "203.0.113.7");
    let token = claims(&x.app, &x.t, &out["access_token"], &audience).await;
    assert_eq!(token["https://example.com/tier"], "gold");
    assert_eq!(token["gty"], "client-credentials");
    assert_eq!(out["scope"], "read:users");
}

#[tokio::test]
async fn an_exchange_deny_answers_with_the_code_the_action_chose() {
    let x = tenant().await;
    bind_exchange(&x).await;
    x.sandbox.answer_with(vec![Command::Deny {
        reason: "not this scope".into(),
        code: Some("invalid_scope".into()),
    }]);
    let req = to_management(&x);
    let err = run(&x.app, &x.t, from(&x.machine), "client_credentials", req)
        .await
        .expect_err("denied");
    assert_eq!(
        (err.kind(), err.message()),
        (ErrorKind::InvalidScope, "not this scope")
    );
}

#[tokio::test]
async fn a_wrong_secret_runs_no_tenant_code() {
    let x = tenant().await;
    bind_exchange(&x).await;
    let wrong = ClientCredentials {
        secret: Some("not the secret".into()),
        ..x.machine.clone()
    };
    let req = to_management(&x);
    let err = run(&x.app, &x.t, from(&wrong), "client_credentials", req)
        .await
        .expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::InvalidClient);
    assert!(x.sandbox.calls().is_empty());
}

#[tokio::test]
async fn password_then_refresh_run_post_login_each_time_and_rotate_once() {
    let x = tenant().await;
    let store = &x.app.store;
    store
        .create_connection("acme", "db", "auth0", json!({}), vec![])
        .await
        .expect("connection");
    let secret = "web-secret";
    let web = store
        .create_client(
            "acme",
            NewClient {
                name: "web".into(),
                grant_types: vec!["password".into(), "refresh_token".into()],
                ..NewClient::default()
            },
            &sha256_hex(secret),
        )
        .await
        .expect("client");
    let hash = crate::crypto::password::hash_password("correct horse 9!", 4).expect("hash");
    store
        .create_user(
            "acme",
            NewUser {
                connection: "db".into(),
                email: Some("ada@example.com".into()),
                password_hash: Some(hash),
                ..NewUser::default()
            },
        )
        .await
        .expect("user");
    bind(
        &x.app,
        Trigger::PostLogin,
        "exports.onExecutePostLogin = async () => {};",
    )
    .await;
    x.sandbox.answer_with(vec![Command::SetIdTokenClaim {
        name: "https://example.com/role".into(),
        value: json!("admin"),
    }]);
    let web_creds = ClientCredentials {
        id: Some(web.client_id.clone()),
        secret: Some(secret.into()),
    };
    let login = TokenRequest {
        username: Some("ada@example.com".into()),
        password: Some("correct horse 9!".into()),
        scope: Some("openid offline_access".into()),
        ..TokenRequest::default()
    };
    let first = run(&x.app, &x.t, from(&web_creds), "password", login)
        .await
        .expect("login");
    let id = claims(&x.app, &x.t, &first["id_token"], &web.client_id).await;
    assert_eq!(id["https://example.com/role"], "admin");
    let refresh = first["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_owned();

    let again = |token: &str| TokenRequest {
        refresh_token: Some(token.to_owned()),
        ..TokenRequest::default()
    };
    let second = run(
        &x.app,
        &x.t,
        from(&web_creds),
        "refresh_token",
        again(&refresh),
    )
    .await
    .expect("refresh");
    let rotated = second["refresh_token"].as_str().expect("rotated");
    assert_ne!(rotated, refresh);
    let calls = x.sandbox.calls();
    let protocols: Vec<&Value> = calls
        .iter()
        .map(|(trigger, event)| {
            assert_eq!(*trigger, Trigger::PostLogin);
            &event["transaction"]["protocol"]
        })
        .collect();
    assert_eq!(
        protocols,
        [&json!("oauth2-password"), &json!("oauth2-refresh-token")]
    );
    let replay = run(
        &x.app,
        &x.t,
        from(&web_creds),
        "refresh_token",
        again(&refresh),
    )
    .await
    .expect_err("a used token is spent");
    assert_eq!(replay.kind(), ErrorKind::InvalidGrant);
    assert_eq!(x.sandbox.calls().len(), 2, "a replay runs no tenant code");
}
