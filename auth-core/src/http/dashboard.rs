//! `GET /dashboard`: the tenant admins' page (Actions, bindings, test runs,
//! live logs). It is one static file that signs in with a management client
//! and then uses only the Management API of the tenant it was loaded from, so
//! it needs no session, template or endpoint of its own.

use axum::http::header;
use axum::response::IntoResponse;

/// Compiled in, so a binary serves the page without files beside it and the
/// page always matches the API of the build that serves it.
const PAGE: &str = include_str!("dashboard.html");

/// The page holds a management token in its session storage. It loads
/// nothing from anywhere (its script and style are inline) and talks only to
/// its own origin, so everything else is refused: an injected script or
/// image cannot load, the token cannot be sent elsewhere, and no other site
/// can frame the page to click on it.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'unsafe-inline'; \
     style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// `no-store`: a cached copy would outlive a deploy that changed the API it calls.
pub async fn page() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
            (header::CACHE_CONTROL, "no-store"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        PAGE,
    )
}
