//! The hosted login's second factor: when the flow of an `/authorize` login
//! requires MFA, the page asks for the code of the user's authenticator app
//! (enrolling one first, as Auth0's Universal Login does) before the
//! authorization code is issued. Codes are checked as the MFA API checks
//! them: each step once, recovery codes once, wrong codes throttled per user.

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::pages::{code_redirect, error_page, escape};
use crate::app::AppState;
use crate::authn::mfa_factors::{
    EnrollError, check_otp, enroll, recovery_code_matches, spend_recovery_code, under_guard,
};
use crate::authn::parked::{self, PendingLogin};
use crate::crypto::{otp, random_token};
use crate::error::ApiError;
use crate::store::mfa::OTP;
use crate::tenant::TenantCtx;

/// Parked page states live apart from `/continue` states: a state of this
/// page given to `/continue` would otherwise resume the login past its MFA.
fn page_key(state: &str) -> String {
    format!("mfa-page:{state}")
}

/// What the page shows a user who has no confirmed app yet.
struct Enrollment {
    secret: String,
    barcode_uri: String,
    /// Shown once, when first created; only its hash is kept.
    recovery_code: Option<String>,
}

/// What the page shows to enroll, if the user has no confirmed app: the secret
/// this login's page created before (shown again after a wrong code), or a
/// fresh one. Another login never sees a secret it did not create: someone
/// with only the password must not learn the app the user is setting up.
async fn enrollment(
    app: &AppState,
    t: &TenantCtx,
    pending: &mut PendingLogin,
) -> Result<Option<Enrollment>, ApiError> {
    let factors = app
        .store
        .mfa_authenticators(t.id(), &pending.user_id)
        .await?;
    let app_factor = factors.iter().find(|a| a.authenticator_type == OTP);
    if app_factor.is_some_and(|a| a.active) {
        return Ok(None);
    }
    // A page shown again (a wrong code) keeps the secret the user already scanned.
    if let Some(pending_factor) = app_factor
        && pending.mfa_enrollment.as_deref() == Some(pending_factor.id.as_str())
        && let Some(secret) = otp::from_base32(&pending_factor.secret)
    {
        return Ok(Some(Enrollment {
            barcode_uri: otp::otpauth_uri(&secret, t.id(), &account(app, t, pending).await)
                .map_err(ApiError::server_error)?,
            secret: pending_factor.secret.clone(),
            recovery_code: None,
        }));
    }
    let factor = match enroll(app, t, &pending.user_id, &account(app, t, pending).await).await {
        Ok(f) => f,
        // Confirmed since the list above was read (another login): nothing to enroll.
        Err(EnrollError::AlreadyEnrolled(_)) => return Ok(None),
        Err(EnrollError::Failed(e)) => return Err(e),
    };
    pending.mfa_enrollment = Some(factor.id);
    Ok(Some(Enrollment {
        barcode_uri: factor.barcode_uri,
        secret: factor.secret,
        recovery_code: Some(factor.recovery_code),
    }))
}

/// The name the authenticator app shows for the account: its email, else its id.
async fn account(app: &AppState, t: &TenantCtx, pending: &PendingLogin) -> String {
    match app.store.get_user(t.id(), &pending.user_id).await {
        Ok(u) => u.email.unwrap_or(u.user_id),
        Err(_) => pending.user_id.clone(),
    }
}

/// Parks the login and shows the code form (with the enrollment, if needed).
pub(super) async fn ask(
    app: &Arc<AppState>,
    t: &TenantCtx,
    mut pending: PendingLogin,
    error: Option<&str>,
) -> Response {
    let enroll = match enrollment(app, t, &mut pending).await {
        Ok(e) => e,
        Err(e) => return error_page(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let state = random_token(24);
    if let Err(e) = parked::park(app, t.id(), &page_key(&state), &pending).await {
        return error_page(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string());
    }
    let err = error
        .map(|e| format!("<p id=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    let (intro, recovery_input) = match &enroll {
        Some(e) => {
            let recovery = e
                .recovery_code
                .as_deref()
                .map(|c| {
                    format!(
                        "<p>Keep this recovery code somewhere safe; it logs you in once without the app: \
                         <code id=\"recovery_code\">{}</code></p>",
                        escape(c)
                    )
                })
                .unwrap_or_default();
            (
                format!(
                    "<p>Add this account to your authenticator app: <a id=\"barcode_uri\" href=\"{uri}\">{uri}</a>, \
                     or type the key <code id=\"secret\">{secret}</code>.</p>{recovery}",
                    uri = escape(&e.barcode_uri),
                    secret = escape(&e.secret),
                ),
                String::new(),
            )
        }
        None => (
            "<p>Enter the code your authenticator app shows.</p>".to_owned(),
            "<label>Or a recovery code <input id=\"recovery_code_input\" name=\"recovery_code\" autocomplete=\"off\"></label>"
                .to_owned(),
        ),
    };
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Verify your identity</title></head><body>\
         <h1>Verify your identity</h1>{err}{intro}\
         <form method=\"post\" action=\"{base}/authorize/mfa\">\
         <input type=\"hidden\" name=\"state\" value=\"{state}\">\
         <label>Code <input id=\"otp\" name=\"otp\" inputmode=\"numeric\" autocomplete=\"one-time-code\"></label>\
         {recovery_input}<button id=\"submit\" type=\"submit\">Continue</button></form></body></html>",
        base = escape(t.base()),
        state = escape(&state),
    );
    let status = if error.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    private((status, Html(body)).into_response())
}

/// Pages that show a secret or carry a code: never cached (a shared machine's
/// back button), never framed (clickjacking).
fn private(mut page: Response) -> Response {
    let h = page.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("frame-ancestors 'none'"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    page
}

/// The login's user as they are now: deleted or blocked since the password, no further.
async fn still_allowed(
    app: &AppState,
    t: &TenantCtx,
    pending: &PendingLogin,
) -> Result<(), Response> {
    match app.store.get_user(t.id(), &pending.user_id).await {
        Ok(u) if u.blocked => Err(error_page(StatusCode::UNAUTHORIZED, "user is blocked")),
        Ok(_) => Ok(()),
        Err(crate::store::StoreError::NotFound(_)) => Err(error_page(
            StatusCode::BAD_REQUEST,
            "Unknown or expired login transaction",
        )),
        Err(e) => Err(error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            &e.to_string(),
        )),
    }
}

#[derive(Debug, Default, Deserialize)]
struct CodeForm {
    state: Option<String>,
    otp: Option<String>,
    recovery_code: Option<String>,
}

/// `POST /authorize/mfa`: checks the code; the callback with an authorization
/// code, or the page again with what was wrong.
pub async fn submit(
    State(app): State<Arc<AppState>>,
    Extension(t): Extension<TenantCtx>,
    body: Bytes,
) -> Response {
    let form: CodeForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let pending = match form.state.as_deref() {
        Some(state) => parked::unpark(&app, t.id(), &page_key(state)).await,
        None => None,
    };
    let Some(pending) = pending else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Unknown or expired login transaction",
        );
    };
    if let Err(page) = still_allowed(&app, &t, &pending).await {
        return page;
    }
    let given = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let (otp_code, recovery) = (given(form.otp), given(form.recovery_code));
    let user_id = pending.user_id.clone();
    let checked = under_guard(&app, &t, &user_id, async {
        match (&otp_code, &recovery) {
            (Some(code), _) => check_otp(&app, &t, &user_id, code).await.map(|()| None),
            (None, Some(code)) => recovery_code_matches(&app, &t, &user_id, code)
                .await
                .map(|()| Some(code.clone())),
            (None, None) => Err(ApiError::invalid_request("Enter the code your app shows.")),
        }
    })
    .await;
    match checked {
        Ok(used_recovery) => {
            let url = match code_redirect(&app, &t, &pending, true).await {
                Ok(url) => url,
                Err(page) => return page,
            };
            let Some(used) = used_recovery else {
                return Redirect::to(&url).into_response();
            };
            // Spent only once the code for the app exists: a failure before keeps it.
            match spend_recovery_code(&app, &t, &user_id, &used).await {
                Err(e) if e.mfa_token().is_none() => {
                    error_page(StatusCode::UNAUTHORIZED, e.message())
                }
                Err(e) => error_page(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
                // The spent recovery code's successor is shown once, then on to the app.
                Ok(code) => private(Html(format!(
                    "<!doctype html><html><head><meta charset=\"utf-8\"><title>New recovery code</title></head><body>\
                     <h1>Your new recovery code</h1><p>The one you used is spent. Keep this one: \
                     <code id=\"recovery_code\">{}</code></p><p><a id=\"continue\" href=\"{}\">Continue</a></p></body></html>",
                    escape(&code),
                    escape(&url)
                ))
                .into_response()),
            }
        }
        Err(e) if (400..500).contains(&e.kind().status()) && e.mfa_token().is_none() => {
            ask(&app, &t, pending, Some(e.message())).await
        }
        Err(e) => error_page(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}
