//! The post-login pipeline: the tenant's bound Actions, in binding order,
//! each under the tenant's limits and one shared deadline — all in one
//! sandbox call once their flow snapshot is ready (`docs/design/action-flows.md`),
//! one call each until then. Their commands are collected and applied as
//! Auth0 applies them.

use crate::app::AppState;
use crate::code::loader;
use crate::error::ApiError;
use crate::store::{Action, ActionVersion, ExecutionLogInput};
use crate::tenant::TenantCtx;
use crate::tenant::{FlowPlan, LoginSnapshot, RuleSet};
use rulebox_abi::Command;
use rulebox_runtime_api::{
    Call, JsKind, Limits, ModuleId, OutcomeKind, Quota, TenantPolicy, Trigger,
};
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the login is, as the event describes it.
#[derive(Debug, Clone, Default)]
pub struct RequestInfo {
    pub ip: String,
    pub hostname: String,
    pub user_agent: String,
    pub method: String,
    pub protocol: String,
    pub requested_scopes: Vec<String>,
    pub audience: Option<String>,
    pub redirect_uri: Option<String>,
    /// `event.request.query`: the `/authorize` parameters, or on the return
    /// from a redirect the parameters `/continue` was called with.
    pub query: Map<String, Value>,
    /// `event.request.body`: a token-endpoint request's parameters, without
    /// its secrets (see `http::token::event_body`).
    pub body: Map<String, Value>,
}

/// The decisions of all Actions of one login, to apply to its tokens.
#[derive(Debug, Clone, Default)]
pub struct Decisions {
    pub denied: Option<String>,
    /// The OAuth error a credentials-exchange Action denied with
    /// (`api.access.deny(code, reason)`).
    pub denied_code: Option<String>,
    pub id_claims: Map<String, Value>,
    pub access_claims: Map<String, Value>,
    pub add_scopes: Vec<String>,
    pub remove_scopes: Vec<String>,
    pub app_metadata: Map<String, Value>,
    pub user_metadata: Map<String, Value>,
    pub mfa: Option<String>,
    pub redirect: Option<String>,
    /// Binding position of the Action whose redirect paused the flow.
    pub redirect_at: Option<usize>,
    /// A Rule set `context.redirect`: the login pauses after the Rules, and on
    /// return the Rules run again (Actions are not repeated).
    pub redirect_by_rule: bool,
}

impl Decisions {
    fn apply(&mut self, cmd: &Command) {
        match cmd {
            Command::Deny { reason, code } => {
                if self.denied.is_none() {
                    self.denied = Some(reason.clone());
                    self.denied_code = code.clone();
                }
            }
            Command::SetIdTokenClaim { name, value } => {
                self.id_claims.insert(name.clone(), value.clone());
            }
            Command::SetAccessTokenClaim { name, value } => {
                self.access_claims.insert(name.clone(), value.clone());
            }
            Command::AddScope { scope } => self.add_scopes.push(scope.clone()),
            Command::RemoveScope { scope } => self.remove_scopes.push(scope.clone()),
            Command::SetAppMetadata { name, value } => {
                self.app_metadata.insert(name.clone(), value.clone());
            }
            Command::SetUserMetadata { name, value } => {
                self.user_metadata.insert(name.clone(), value.clone());
            }
            Command::EnableMfa { provider, .. } => self.mfa = Some(provider.clone()),
            Command::Redirect { url, query } => {
                let mut target = url.clone();
                if let Some(q) = query.as_ref().and_then(Value::as_object) {
                    let pairs: Vec<(String, String)> = q
                        .iter()
                        .map(|(k, v)| {
                            (
                                k.clone(),
                                v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                            )
                        })
                        .collect();
                    if let Ok(encoded) = serde_urlencoded::to_string(&pairs) {
                        target.push(if target.contains('?') { '&' } else { '?' });
                        target.push_str(&encoded);
                    }
                }
                self.redirect = Some(target);
            }
            // Transaction metadata and cache writes have no effect on tokens.
            Command::SetTransactionMetadata { .. }
            | Command::CacheSet { .. }
            | Command::CacheDelete { .. } => {}
        }
    }
}

/// The tenant's stored policy (limits and quota overrides).
pub fn tenant_policy(tenant_limits: &Value) -> TenantPolicy {
    serde_json::from_value(tenant_limits.clone()).unwrap_or_default()
}

/// One request's tenant code: whose it is, for whom, under which limits and
/// until when — resolved once (the tenant's stored policy is parsed here,
/// not per call) and passed down to every call, log line and error.
pub struct Scope<'a> {
    pub app: &'a Arc<AppState>,
    pub t: &'a TenantCtx,
    /// The tenant's limits over the platform defaults, for each call.
    pub limits: Limits,
    pub quota: Quota,
    /// One deadline for all of the request's tenant code: the Rules after the
    /// Actions get what is left, not a fresh budget.
    pub deadline: Instant,
    pub client_id: Option<&'a str>,
    pub user_id: Option<&'a str>,
}

impl<'a> Scope<'a> {
    pub fn new(
        app: &'a Arc<AppState>,
        t: &'a TenantCtx,
        client_id: Option<&'a str>,
        user_id: Option<&'a str>,
    ) -> Self {
        let policy = tenant_policy(&t.tenant.limits);
        Self {
            app,
            t,
            limits: Limits::resolve(
                &app.settings.default_limits,
                &policy,
                &Limits::ceiling(u64::MAX),
            ),
            quota: policy.quota(),
            deadline: Instant::now() + Duration::from_millis(app.settings.pipeline_deadline_ms),
            client_id,
            user_id,
        }
    }

    /// The tenant's limits for one call, its timeout cut to what is left of the deadline.
    pub fn step_limits(&self) -> Limits {
        limits_until(&self.limits, self.deadline)
    }
}

/// One call of tenant code, carrying the tenant for routing and its quota. Every call site
/// goes through here; every way a call ends is an outcome.
pub async fn call_sandbox(
    s: &Scope<'_>,
    module: ModuleId,
    trigger: Trigger,
    input: Vec<u8>,
    limits: Limits,
) -> rulebox_runtime_api::Outcome {
    call_with_budget(s, module, trigger, input, limits, None).await
}

/// [`call_sandbox`] for a flow: `limits` bound each of its steps, `flow_timeout_ms` the call.
async fn call_with_budget(
    s: &Scope<'_>,
    module: ModuleId,
    trigger: Trigger,
    input: Vec<u8>,
    limits: Limits,
    flow_timeout_ms: Option<u64>,
) -> rulebox_runtime_api::Outcome {
    let call = Call {
        tenant: s.t.id().to_owned(),
        quota: s.quota,
        module,
        trigger,
        input,
        limits,
        now: None,
        flow_timeout_ms,
    };
    // The sandbox picks the thread: a short call runs right here, a long one
    // on a blocking thread, a remote one is awaited over the network.
    s.app.sandbox.clone().call(call).await
}

/// Makes sure the sandbox has the deployed version's code compiled.
pub async fn ensure_loaded(
    app: &Arc<AppState>,
    tenant: &str,
    action: &Action,
    version: &ActionVersion,
) -> Result<ModuleId, String> {
    if let Some(id) = version
        .module_hash
        .as_deref()
        .and_then(|h| h.parse::<ModuleId>().ok())
        && app.sandbox.is_loaded(&id)
    {
        return Ok(id);
    }
    let loaded = if crate::store::is_wasm(&version.runtime) {
        let bytes = app
            .store
            .action_version_module(tenant, &action.id, &version.id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("the deployed version has no module")?;
        loader::load_module(&app.sandbox, bytes).await
    } else {
        loader::load_js(&app.sandbox, JsKind::Action, version.code.clone()).await
    };
    loaded.map_err(|e| e.to_string())
}

/// Runs the bound Actions of `trigger`. A sandbox failure fails the login
/// closed (`access_denied` naming the Action) and is logged for the tenant.
pub async fn run(s: &Scope<'_>, trigger: Trigger, event: Value) -> Result<Decisions, ApiError> {
    let config = FlowConfig::load(s, trigger, false).await?;
    run_from(s, &config, trigger, event, 0, false).await
}

/// The tenant configuration a flow runs on, read once at its start: the
/// trigger's bound Actions and, for a login, the Rules after them.
pub struct FlowConfig {
    /// The trigger whose bindings these are (`post-login` for its continuation too).
    plan_trigger: Trigger,
    plan: FlowPlan,
    rules: Option<Arc<RuleSet>>,
}

impl FlowConfig {
    /// A user's login's post-login Actions and Rules, from its snapshot.
    pub fn post_login(snap: &LoginSnapshot) -> Self {
        Self {
            plan_trigger: Trigger::PostLogin,
            plan: snap.plan.clone(),
            rules: Some(snap.rules.clone()),
        }
    }

    pub async fn load(s: &Scope<'_>, trigger: Trigger, with_rules: bool) -> Result<Self, ApiError> {
        // Bindings live under the trigger a flow starts with.
        let plan_trigger = if trigger == Trigger::ContinuePostLogin {
            Trigger::PostLogin
        } else {
            trigger
        };
        let tenant = s.t.id();
        let plan = s.app.flow_plan(tenant, plan_trigger.id()).await?;
        let rules = if with_rules {
            let set = s.app.rule_set(tenant).await;
            Some(set.map_err(|e| ApiError::server_error(format!("rules: {e}")))?)
        } else {
            None
        };
        Ok(Self {
            plan_trigger,
            plan,
            rules,
        })
    }
}

/// Runs the bound Actions from position `start_at`. With `resume`, the
/// Action at `start_at` gets `onContinuePostLogin` (the return from its
/// redirect) and the rest of the flow continues as usual. A redirect pauses
/// the flow after the Action that asked for it (`Decisions::redirect_at`).
pub async fn run_from(
    s: &Scope<'_>,
    config: &FlowConfig,
    trigger: Trigger,
    mut event: Value,
    start_at: usize,
    resume: bool,
) -> Result<Decisions, ApiError> {
    let (app, t) = (s.app, s.t);
    let tenant = t.id();
    let (plan, plan_trigger) = (&config.plan, config.plan_trigger);
    let flow = Flow {
        plan,
        plan_trigger,
        trigger,
        start_at,
        resume,
    };
    // Two or more JavaScript Actions to run: one sandbox call for all of them,
    // once their flow snapshot is ready (see `flow_modules`).
    if plan.len().saturating_sub(start_at) >= 2
        && let Some(module) = app.flow_modules.get(&app.sandbox, plan)
    {
        metrics::counter!("rulebox_action_flow_runs_total", "mode" => "one_call").increment(1);
        return run_flow(s, &flow, module, event).await;
    }
    if !plan.is_empty() {
        metrics::counter!("rulebox_action_flow_runs_total", "mode" => "per_action").increment(1);
    }
    let mut decisions = Decisions::default();
    for (index, (action, version, secrets)) in plan.iter().enumerate().skip(start_at) {
        let trigger = flow.trigger_at(index);
        let module = match ensure_loaded(app, tenant, action, version).await {
            Ok(module) => module,
            Err(e) => {
                let error = format!("could not be loaded: {e}");
                let who = flow.subject(index);
                return Err(record_load_failure(s, error, trigger, who).await);
            }
        };
        event["secrets"] = Value::Object(secrets.clone());
        event["__rb_cache"] = Value::Object(app.action_cache.snapshot(tenant, plan_trigger.id()));
        let input = serde_json::to_vec(&event)?;
        let outcome = call_sandbox(s, module, trigger, input, s.step_limits()).await;
        let outcome = record_outcome(s, outcome, trigger, flow.subject(index)).await?;
        // Later Actions see metadata set by earlier ones, as in Auth0.
        for cmd in outcome.commands() {
            match cmd {
                Command::SetAppMetadata { name, value } => {
                    event["user"]["app_metadata"][name] = value.clone()
                }
                Command::SetUserMetadata { name, value } => {
                    event["user"]["user_metadata"][name] = value.clone()
                }
                _ => {}
            }
        }
        if !flow.apply(app, tenant, &mut decisions, &outcome, index) {
            break;
        }
    }
    Ok(decisions)
}

/// Milliseconds left until `deadline`; at least 1, so a call past it still gets a
/// (failing) budget rather than an unlimited one.
fn ms_until(deadline: Instant) -> u64 {
    let left = deadline.saturating_duration_since(Instant::now());
    u64::try_from(left.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// `limits` with the timeout cut to what is left of the login's deadline: every
/// Action and Rule of one login shares it.
fn limits_until(limits: &Limits, deadline: Instant) -> Limits {
    Limits {
        timeout_ms: limits.timeout_ms.min(ms_until(deadline)),
        ..limits.clone()
    }
}

/// One run of a trigger's Actions: what every step of it shares.
struct Flow<'a> {
    plan: &'a FlowPlan,
    plan_trigger: Trigger,
    trigger: Trigger,
    start_at: usize,
    resume: bool,
}

impl<'a> Flow<'a> {
    /// The handler the Action at `index` runs: `onContinuePostLogin` for the
    /// one whose redirect is being returned from.
    fn trigger_at(&self, index: usize) -> Trigger {
        if self.resume && index == self.start_at {
            Trigger::ContinuePostLogin
        } else {
            self.trigger
        }
    }

    fn subject(&self, index: usize) -> Subject<'a> {
        let plan: &'a FlowPlan = self.plan;
        let (action, _, secrets) = &plan[index.min(plan.len().saturating_sub(1))];
        Subject {
            kind: "action",
            id: &action.id,
            name: &action.name,
            secrets,
        }
    }

    /// Applies the Action at `index`'s outcome as Auth0 does; says whether
    /// the flow goes on (not after a deny, nor after a redirect it must pause for).
    fn apply(
        &self,
        app: &AppState,
        tenant: &str,
        decisions: &mut Decisions,
        outcome: &rulebox_runtime_api::Outcome,
        index: usize,
    ) -> bool {
        app.action_cache
            .apply(tenant, self.plan_trigger.id(), outcome.commands());
        for cmd in outcome.commands() {
            decisions.apply(cmd);
        }
        if decisions.denied.is_some() {
            return false;
        }
        if decisions.redirect.is_some() && self.trigger_at(index) != Trigger::ContinuePostLogin {
            decisions.redirect_at = Some(index);
            return false;
        }
        true
    }
}

/// A flow call's input (`rulebox_runtime_api::JsKind::Flow`), serialized
/// straight from the event it borrows.
#[derive(serde::Serialize)]
struct FlowInput<'a> {
    event: &'a Value,
    steps: &'a [FlowStep<'a>],
}

#[derive(serde::Serialize)]
struct FlowStep<'a> {
    index: usize,
    entry: &'static str,
    secrets: &'a Map<String, Value>,
}

/// The Actions of `flow` in one sandbox call of their flow snapshot: each
/// step is logged and applied as if it had been a call of its own, and a
/// step that failed fails the login closed under its Action's name.
async fn run_flow(
    s: &Scope<'_>,
    flow: &Flow<'_>,
    module: ModuleId,
    mut event: Value,
) -> Result<Decisions, ApiError> {
    let (app, tenant) = (s.app, s.t.id());
    event["secrets"] = json!({});
    event["__rb_cache"] = Value::Object(app.action_cache.snapshot(tenant, flow.plan_trigger.id()));
    let steps: Vec<FlowStep<'_>> = flow
        .plan
        .iter()
        .enumerate()
        .skip(flow.start_at)
        .map(|(index, (_, _, secrets))| FlowStep {
            index,
            entry: flow.trigger_at(index).id(),
            secrets,
        })
        .collect();
    let input = serde_json::to_vec(&FlowInput {
        event: &event,
        steps: &steps,
    })?;
    let first = flow.trigger_at(flow.start_at);
    let budget = Some(ms_until(s.deadline));
    let mut outcome = call_with_budget(s, module, first, input, s.step_limits(), budget).await;
    let steps = std::mem::take(&mut outcome.steps);
    let ran = steps.len();
    let mut decisions = Decisions::default();
    for (index, step) in (flow.start_at..flow.plan.len()).zip(steps) {
        let trigger = flow.trigger_at(index);
        let step = record_outcome(s, step, trigger, flow.subject(index)).await?;
        if !flow.apply(app, tenant, &mut decisions, &step, index) {
            return Ok(decisions);
        }
    }
    if outcome.kind != OutcomeKind::Ok {
        // The flow stopped inside the Action after the last one it finished.
        let index = flow.start_at + ran;
        record_outcome(s, outcome, flow.trigger_at(index), flow.subject(index)).await?;
    }
    Ok(decisions)
}

/// Whose code a sandbox call runs, for the execution log and the error.
pub(crate) struct Subject<'a> {
    /// `action`, `rule` or `custom_db`.
    pub kind: &'static str,
    pub id: &'a str,
    /// The Action's or Rule's name; the script's name for `custom_db`.
    pub name: &'a str,
    /// Secret values the code was given: they never reach the logs.
    pub secrets: &'a Map<String, Value>,
}

impl Subject<'_> {
    /// How errors a login's client sees name this code.
    fn label(&self) -> String {
        match self.kind {
            "rule" => format!("Rule '{}'", self.name),
            "custom_db" => format!("the {} script", self.name),
            _ => format!("Action '{}'", self.name),
        }
    }
}

/// Code that could not even be loaded (it compiled when uploaded, but not
/// now: a changed engine, a corrupt module) fails the login like code that
/// failed running, and is logged the same way.
pub(crate) async fn record_load_failure(
    s: &Scope<'_>,
    error: String,
    trigger: Trigger,
    who: Subject<'_>,
) -> ApiError {
    let outcome = rulebox_runtime_api::Outcome::refused(OutcomeKind::InvalidModule, error, 0);
    match record_outcome(s, outcome, trigger, who).await {
        Err(e) => e,
        Ok(_) => ApiError::server_error("a failed load was recorded as a success"),
    }
}

/// Replaces every secret value (of 4+ characters; shorter ones would
/// redact ordinary words) in `text`, longest first so a secret that
/// contains another is not left half visible.
pub fn redact(text: &str, secrets: &Map<String, Value>) -> String {
    let mut values: Vec<&str> = secrets
        .values()
        .filter_map(Value::as_str)
        .filter(|s| s.len() >= 4)
        .collect();
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    let mut out = text.to_owned();
    for v in values {
        if out.contains(v) {
            out = out.replace(v, "[redacted]");
        }
    }
    out
}

/// The client-facing error of a sandbox outcome that is not `ok`: quota and
/// capacity answers stay retryable (429, 503), everything else fails closed.
pub fn outcome_error(kind: OutcomeKind, what: &str, detail: &str) -> ApiError {
    match kind {
        OutcomeKind::RateLimited => {
            ApiError::too_many_requests(format!("{what} was not run: {detail}"))
        }
        OutcomeKind::Unavailable => {
            ApiError::temporarily_unavailable(format!("{what} was not run: {detail}"))
        }
        _ => ApiError::access_denied(format!("{what} failed ({kind}): {detail}")),
    }
}

/// Records one run of tenant code in the tenant's execution logs. A run
/// that did not end `ok` fails the login closed.
pub(crate) async fn record_outcome(
    s: &Scope<'_>,
    mut outcome: rulebox_runtime_api::Outcome,
    trigger: Trigger,
    who: Subject<'_>,
) -> Result<rulebox_runtime_api::Outcome, ApiError> {
    let t = s.t;
    // Secrets never reach the logs, nor the error a client may see.
    if !who.secrets.is_empty() {
        for line in &mut outcome.logs {
            line.message = redact(&line.message, who.secrets);
        }
        outcome.error = outcome.error.map(|e| redact(&e, who.secrets));
    }
    let log = ExecutionLogInput {
        kind: who.kind.into(),
        action_id: (who.kind == "action").then(|| who.id.to_owned()),
        rule_id: (who.kind == "rule").then(|| who.id.to_owned()),
        name: who.name.to_owned(),
        trigger_id: trigger.id().into(),
        outcome: outcome.kind.as_str().into(),
        error: outcome.error.clone(),
        duration_us: outcome.duration_us,
        fuel_used: outcome.fuel_used,
        peak_memory_bytes: outcome.peak_memory_bytes,
        logs: serde_json::to_value(&outcome.logs).unwrap_or(Value::Null),
        client_id: s.client_id.map(str::to_owned),
        user_id: s.user_id.map(str::to_owned),
    };
    s.app.logs.record(t.id(), log).await;
    if outcome.kind != OutcomeKind::Ok {
        tracing::warn!(tenant = t.id(), kind = who.kind, name = who.name, outcome = %outcome.kind, "tenant code failed; login fails closed");
        return Err(outcome_error(
            outcome.kind,
            &who.label(),
            outcome.error.as_deref().unwrap_or_default(),
        ));
    }
    Ok(outcome)
}

/// Legacy Rules, after the Actions, in `order`: each gets the `user` and the
/// `context` the previous one left. Same fail-closed rule as Actions.
pub async fn run_rules(
    s: &Scope<'_>,
    config: &FlowConfig,
    decisions: &mut Decisions,
    user_and_context: impl FnOnce() -> (Value, Value),
) -> Result<(), ApiError> {
    let (app, tenant) = (s.app, s.t.id());
    let Some(set) = &config.rules else {
        return Ok(());
    };
    if set.rules.is_empty() || decisions.denied.is_some() {
        return Ok(());
    }
    // Built only for a tenant that has Rules: most logins have none.
    let (mut user, mut context) = user_and_context();
    let configuration = &set.configuration;
    for rule in &set.rules {
        let who = Subject {
            kind: "rule",
            id: &rule.id,
            name: &rule.name,
            secrets: configuration,
        };
        let loaded = loader::load_js(&app.sandbox, JsKind::Rule, rule.script.clone()).await;
        let module = match loaded {
            Ok(module) => module,
            Err(e) => {
                let error = format!("could not be loaded: {e}");
                return Err(record_load_failure(s, error, Trigger::PostLogin, who).await);
            }
        };
        let input = serde_json::to_vec(&json!({"user": user, "context": context,
            "configuration": configuration, "__rb_global": app.rules_global.get(tenant)}))?;
        let outcome = call_sandbox(s, module, Trigger::PostLogin, input, s.step_limits()).await;
        let outcome = record_outcome(s, outcome, Trigger::PostLogin, who).await?;
        for cmd in outcome.commands() {
            decisions.apply(cmd);
            if matches!(cmd, Command::Redirect { .. }) {
                decisions.redirect_by_rule = true;
            }
        }
        if decisions.denied.is_some() {
            break;
        }
        if let Some(global) = outcome
            .output
            .as_ref()
            .and_then(|o| o.result.as_ref())
            .and_then(|r| r.get("global"))
        {
            app.rules_global.put(tenant, global);
        }
        if let Some(result) = outcome.output.and_then(|o| o.result) {
            if let Some(u) = result.get("user") {
                user = u.clone();
            }
            if let Some(c) = result.get("context") {
                // Claims already became commands; the next rule starts clean.
                context = c.clone();
                context["idToken"] = json!({});
                context["accessToken"] = json!({});
            }
        }
    }
    Ok(())
}

/// Persists the metadata the pipeline batched, once, at the end of the flow.
pub async fn persist_metadata(s: &Scope<'_>, decisions: &Decisions) -> Result<(), ApiError> {
    let (app, tenant) = (s.app, s.t.id());
    // Metadata is persisted once, at the end of the flow, even when denied.
    if let Some(uid) = s.user_id
        && (!decisions.app_metadata.is_empty() || !decisions.user_metadata.is_empty())
    {
        app.store
            .merge_metadata(
                tenant,
                uid,
                decisions.app_metadata.clone(),
                decisions.user_metadata.clone(),
            )
            .await
            .map_err(|e| ApiError::server_error(format!("metadata: {e}")))?;
    }
    Ok(())
}
