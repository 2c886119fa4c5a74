//! Checking a username and password against a connection: the local user
//! store (bcrypt), or a custom database's `login` script in the sandbox with
//! optional lazy migration. Repeated failures per user and per IP are
//! throttled and logged.

use crate::app::AppState;
use crate::authn::attempts;
use crate::crypto::password::{hash_password, verify_password};
use crate::error::{ApiError, ErrorKind};
use crate::store::{Connection, NewUser, StoreError, User};
use crate::tenant::TenantCtx;
use serde_json::{Value, json};
use std::sync::Arc;

const WRONG: &str = "Wrong email or password.";
const BLOCKED: &str = "Your account has been blocked after multiple consecutive login attempts.";

/// Brute-force keys of one attempt: the user from this IP (Auth0's brute-force
/// protection: an attacker elsewhere cannot lock the user out), and the IP whatever
/// the user (suspicious-IP throttling: one address guessing across many accounts).
struct AttemptKeys {
    user_ip: String,
    ip: String,
}

impl AttemptKeys {
    /// The username is normalized as the user lookup normalizes it: a spelling that
    /// reaches the same account (case, surrounding spaces) must share its counter.
    fn new(conn: &Connection, username: &str, ip: &str) -> Self {
        let ip = network(ip);
        Self {
            user_ip: format!(
                "user:{}:{}:ip:{ip}",
                conn.name,
                crate::store::normalize_email(username)
            ),
            ip: format!("ip:{ip}"),
        }
    }
}

/// What brute-force protection counts as one source: an IPv4 address, or an IPv6
/// /64 — one subscriber's prefix, inside which an attacker can use a fresh address
/// for every guess.
fn network(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        _ => ip.to_owned(),
    }
}

/// Longest username a login may name (emails are at most 254 bytes): what is longer is
/// no account's, and would only bloat the attempt keys and logs it is written into.
const MAX_USERNAME_BYTES: usize = 512;

pub use crate::code::custom_db::script as custom_script;

pub(crate) fn import_mode(conn: &Connection) -> bool {
    conn.options
        .get("import_mode")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

pub(crate) fn bcrypt_cost(app: &AppState, conn: &Connection) -> u32 {
    conn.options
        .get("bcrypt_cost")
        .and_then(Value::as_u64)
        .and_then(|c| u32::try_from(c).ok())
        .unwrap_or(app.settings.bcrypt_cost)
}

/// Who is logging in, from where, through which application.
pub struct Attempt<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub ip: &'a str,
    pub client_id: &'a str,
}

/// Checks the credentials under brute-force protection. Failures land in the
/// tenant's logs as Auth0's log events: `fp` for each, `limit_wc` when one user
/// from one IP reaches the threshold, `limit_mu` when one IP does (best effort:
/// concurrent attempts can step over the exact count; the limit itself holds).
pub async fn authenticate(
    app: &Arc<AppState>,
    t: &TenantCtx,
    conn: &Connection,
    attempt: &Attempt<'_>,
) -> Result<User, ApiError> {
    if attempt.username.len() > MAX_USERNAME_BYTES {
        return Err(ApiError::invalid_request("username is too long"));
    }
    let keys = AttemptKeys::new(conn, attempt.username, attempt.ip);
    let limits = [
        attempts::Limit {
            key: &keys.user_ip,
            max: app.settings.brute_force_threshold,
        },
        attempts::Limit {
            key: &keys.ip,
            max: app.settings.brute_force_ip_threshold,
        },
    ];
    // A caller already blocked is answered from a read: no rows, no log lines,
    // nothing an attacker can make the database write at will.
    let Some(recorded) = attempts::record(app, t.id(), &limits).await? else {
        tracing::debug!(tenant = t.id(), connection = %conn.name, ip = attempt.ip, "login throttled (brute-force protection)");
        return Err(ApiError::too_many_attempts(BLOCKED));
    };
    let (pair_id, ip_id) = (recorded.ids[0].as_str(), recorded.ids[1].as_str());
    let (pairs, ips) = (recorded.counts[0], recorded.counts[1]);
    let result = check(app, t, conn, attempt.username, attempt.password).await;
    match &result {
        Ok(user) => {
            // The counter is the account's only if the name typed is its email or
            // username: a custom database's script may accept a name that is not
            // the account's own, and that success must not wipe the guesses
            // counted under the name.
            let typed = crate::store::normalize_email(attempt.username);
            let same = [user.email.as_deref(), user.username.as_deref()]
                .into_iter()
                .flatten()
                .any(|n| crate::store::normalize_email(n) == typed);
            if same {
                app.store
                    .clear_login_attempts(t.id(), &keys.user_ip)
                    .await?;
            } else {
                attempts::withdraw(app, t.id(), pair_id).await?;
            }
            attempts::withdraw(app, t.id(), ip_id).await?;
        }
        // Not a guess: the server or the sandbox could not answer, or the account
        // is blocked whatever the password.
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::ServerError
                    | ErrorKind::TooManyRequests
                    | ErrorKind::TemporarilyUnavailable
                    | ErrorKind::Unauthorized
            ) =>
        {
            attempts::withdraw_all(app, t.id(), &recorded).await?;
        }
        // Anything else the credentials were refused for counts, whatever error a
        // custom database's script chose to report it with.
        Err(e) => {
            let description = e.message();
            tracing::info!(tenant = t.id(), connection = %conn.name, ip = attempt.ip, "failed login");
            log_event(
                app,
                t,
                conn,
                attempt,
                "fp",
                "wrong_credentials",
                description,
            )
            .await;
            if pairs == limits[0].max {
                log_event(app, t, conn, attempt, "limit_wc", "blocked", BLOCKED).await;
            }
            if ips == limits[1].max {
                let why = "Too many failed logins from this IP address: it is blocked.";
                log_event(app, t, conn, attempt, "limit_mu", "blocked", why).await;
            }
        }
    }
    result
}

/// One authentication event in the tenant's logs, next to its code's executions.
async fn log_event(
    app: &AppState,
    t: &TenantCtx,
    conn: &Connection,
    attempt: &Attempt<'_>,
    code: &str,
    outcome: &str,
    detail: &str,
) {
    let log = crate::store::ExecutionLogInput {
        kind: "login".into(),
        name: code.into(),
        trigger_id: conn.name.clone(),
        outcome: outcome.into(),
        error: Some(format!(
            "{detail} (user {}, ip {})",
            attempt.username, attempt.ip
        )),
        client_id: Some(attempt.client_id.to_owned()),
        ..Default::default()
    };
    app.logs.record(t.id(), log).await;
}

async fn check(
    app: &Arc<AppState>,
    t: &TenantCtx,
    conn: &Connection,
    username: &str,
    password: &str,
) -> Result<User, ApiError> {
    let local = match app.store.user_by_email(t.id(), &conn.name, username).await {
        Ok(u) => Some(u),
        Err(StoreError::NotFound(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let script = custom_script(conn, "login");
    // A custom database without import mode is the source of truth: the
    // script decides every login. With import mode, local users win.
    if let Some(user) = local
        && (script.is_none() || import_mode(conn))
    {
        let hash = app
            .store
            .password_hash(t.id(), &user.user_id)
            .await
            .ok()
            .flatten()
            .unwrap_or_default();
        let pw = password.to_owned();
        let ok = tokio::task::spawn_blocking(move || verify_password(&pw, &hash))
            .await
            .unwrap_or(false);
        if user.blocked {
            return Err(ApiError::user_blocked());
        }
        return if ok {
            Ok(user)
        } else {
            Err(ApiError::invalid_grant(WRONG))
        };
    }
    let Some(source) = script else {
        // As slow as a wrong password, so that timing does not tell which
        // accounts exist.
        let cost = bcrypt_cost(app, conn);
        let pw = password.to_owned();
        let _ = tokio::task::spawn_blocking(move || hash_password(&pw, cost)).await;
        return Err(ApiError::invalid_grant(WRONG));
    };
    let profile = run_login_script(app, t, conn, source, username, password).await?;
    let user_id = profile
        .get("user_id")
        .or_else(|| profile.get("id"))
        .map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .ok_or_else(|| {
            ApiError::access_denied("the login script returned a profile without user_id")
        })?;
    let user_id = if user_id.contains('|') {
        user_id
    } else {
        format!("auth0|{user_id}")
    };
    let email = profile
        .get("email")
        .and_then(Value::as_str)
        .unwrap_or(username)
        .to_owned();
    // With import mode this is the lazy migration: the user now lives here, same id,
    // our own hash of the password that just proved valid, and the script is not
    // asked again. Without it the row is the profile Auth0 also keeps for such
    // users (no password: the script stays the judge), so that logins are counted
    // and a code or redirect round trip can find the user again.
    let password_hash = if import_mode(conn) {
        let cost = bcrypt_cost(app, conn);
        let pw = password.to_owned();
        let hash = tokio::task::spawn_blocking(move || hash_password(&pw, cost)).await??;
        Some(hash)
    } else {
        None
    };
    let text = |key: &str| profile.get(key).and_then(Value::as_str).map(str::to_owned);
    let new = NewUser {
        connection: conn.name.clone(),
        user_id: Some(user_id.clone()),
        email: Some(email),
        email_verified: profile
            .get("email_verified")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        name: text("name"),
        nickname: text("nickname"),
        app_metadata: profile.get("app_metadata").cloned(),
        user_metadata: profile.get("user_metadata").cloned(),
        password_hash,
        ..NewUser::default()
    };
    let user = match app.store.create_user(t.id(), new).await {
        Ok(u) => {
            tracing::info!(tenant = t.id(), user = %u.user_id, import = import_mode(conn), "custom database user stored");
            u
        }
        // Seen before: the stored profile (with what Actions saved into it).
        Err(StoreError::Conflict(_)) => app.store.get_user(t.id(), &user_id).await?,
        Err(e) => return Err(e.into()),
    };
    if user.blocked {
        return Err(ApiError::user_blocked());
    }
    Ok(user)
}

/// Runs the connection's `login` script; the profile, or the login's error.
async fn run_login_script(
    app: &Arc<AppState>,
    t: &TenantCtx,
    conn: &Connection,
    source: &str,
    username: &str,
    password: &str,
) -> Result<Value, ApiError> {
    let result = crate::code::custom_db::run_script(
        app,
        t,
        conn,
        "login",
        source,
        json!([username, password]),
    )
    .await?;
    if let Some(err) = result.error {
        let message = err.message.as_deref().unwrap_or(WRONG);
        return Err(match err.kind.as_deref() {
            Some("WrongUsernameOrPasswordError") => ApiError::invalid_grant(message),
            _ => ApiError::access_denied(message),
        });
    }
    result.profile.ok_or_else(|| ApiError::invalid_grant(WRONG))
}

#[cfg(test)]
mod tests {
    use super::network;

    #[test]
    fn ipv6_sources_are_counted_per_64_and_ipv4_per_address() {
        assert_eq!(network("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(network("2001:db8:1:2:bbbb::9"), "2001:db8:1:2::/64");
        assert_ne!(network("2001:db8:1:3::1"), network("2001:db8:1:2::1"));
        assert_eq!(network("198.51.100.7"), "198.51.100.7");
    }
}
