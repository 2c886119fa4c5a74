//! Reaching what the policy allowed: name resolution that never yields an
//! internal address, one shared client connecting to the checked IP, and
//! redirects followed one hop at a time so each hop is checked again.
//!
//! Apart from policy so that the rules are pure and testable, and apart from
//! the glue so that nothing here knows guest memory or the ABI's JSON.

use super::policy::{Refusal, is_internal};
use super::state::{OutboundState, Request};
use std::collections::BTreeMap;
use std::io::Read;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Redirects followed per request.
const MAX_REDIRECTS: u32 = 5;

/// The answer to a request, after its redirects.
pub(crate) struct Response {
    pub(crate) status: u16,
    /// The URL that answered (the last redirect target).
    pub(crate) url: String,
    pub(crate) headers: BTreeMap<String, String>,
    pub(crate) body: Vec<u8>,
}

/// Why a request has no answer.
#[derive(Debug)]
pub(crate) enum RequestError {
    /// The policy refused it: ends the call.
    Denied(Refusal),
    /// It failed on the way (bad URL, network, limits): the guest sees this
    /// message and may handle it.
    Failed(String),
}

fn failed(msg: impl Into<String>) -> Result<Response, RequestError> {
    Err(RequestError::Failed(msg.into()))
}

/// Resolves names and drops internal addresses, so no allowed name can be
/// made to point inside.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio_lookup(&host).await?;
            let public: Vec<SocketAddr> =
                found.into_iter().filter(|a| !is_internal(a.ip())).collect();
            if public.is_empty() {
                return Err(format!("{host} resolves only to internal addresses").into());
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

async fn tokio_lookup(
    host: &str,
) -> Result<Vec<SocketAddr>, Box<dyn std::error::Error + Send + Sync>> {
    Ok(tokio::net::lookup_host((host, 0)).await?.collect())
}

/// One client for the process: connection pools and TLS set-up are shared.
fn client() -> Result<&'static reqwest::blocking::Client, String> {
    static CLIENT: OnceLock<Result<reqwest::blocking::Client, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::blocking::Client::builder()
                // A system proxy would resolve names itself, past the resolver below.
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .dns_resolver(Arc::new(PublicOnly))
                .user_agent("rulebox")
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// The addresses of `name`, or `None` if the system resolver has not answered within `limit`.
/// getaddrinfo cannot be cancelled, so it runs on its own thread, which a hung resolver keeps
/// until it gives up; the call goes on (and fails) by its deadline either way. A failed
/// look-up is an empty list: the request itself then reports the error.
fn lookup_within(name: &str, port: u16, limit: Duration) -> Option<Vec<IpAddr>> {
    let (tx, rx) = std::sync::mpsc::channel();
    let name = name.to_owned();
    std::thread::Builder::new()
        .name("rulebox-dns".into())
        .spawn(move || {
            let ips = std::net::ToSocketAddrs::to_socket_addrs(&(name.as_str(), port))
                .map(|found| found.map(|a| a.ip()).collect())
                .unwrap_or_default();
            let _ = tx.send(ips);
        })
        .ok()?;
    rx.recv_timeout(limit).ok()
}

/// Performs the guest's request, following redirects, each hop checked by
/// the state's policy and counted against its budget.
pub(crate) fn perform(state: &mut OutboundState, req: Request) -> Result<Response, RequestError> {
    // A malformed URL or method is the guest's mistake, not a protocol breach:
    // `fetch` rejects, as it does in a browser.
    let mut url = match reqwest::Url::parse(&req.url) {
        Ok(u) => u,
        Err(e) => return failed(format!("invalid URL {:?}: {e}", req.url)),
    };
    let Ok(mut method) = reqwest::Method::from_bytes(req.method.to_ascii_uppercase().as_bytes())
    else {
        return failed(format!("invalid method {:?}", req.method));
    };
    let mut body = req.body;
    let origin = url.origin();
    let mut cross_origin = false;
    for hop in 0..=MAX_REDIRECTS {
        state
            .policy
            .check_budget(state.requests)
            .map_err(RequestError::Denied)?;
        state.policy.check_url(&url).map_err(RequestError::Denied)?;
        // A name that only leads inside is refused outright (and visibly); the
        // resolver filters again at connect time, so a rebinding between this
        // look-up and the connection cannot get through either.
        if let Some(url::Host::Domain(name)) = url.host() {
            let port = url.port_or_known_default().unwrap_or(0);
            let remaining = state.deadline.saturating_duration_since(Instant::now());
            let Some(found) = lookup_within(name, port, remaining) else {
                return failed(format!(
                    "looking up {name} took longer than the call's deadline"
                ));
            };
            state
                .policy
                .check_resolved(name, &found)
                .map_err(RequestError::Denied)?;
        }
        state.requests += 1;
        let remaining = state.deadline.saturating_duration_since(Instant::now());
        let timeout = remaining.min(state.policy.request_timeout());
        if timeout.is_zero() {
            return failed("the call's deadline has passed");
        }
        let client = match client() {
            Ok(c) => c,
            Err(e) => return failed(e),
        };
        let mut builder = client.request(method.clone(), url.clone()).timeout(timeout);
        for (k, v) in &req.headers {
            // Credentials go only to the origin the code addressed, as browsers do.
            if cross_origin && is_credential_header(k) {
                continue;
            }
            builder = builder.header(k, v);
        }
        if let Some(b) = &body {
            builder = builder.body(b.clone());
        }
        let response = match builder.send() {
            Ok(r) => r,
            Err(e) => return failed(error_chain(&e)),
        };
        let status = response.status();
        if status.is_redirection()
            && let Some(next) = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| url.join(l).ok())
        {
            if hop == MAX_REDIRECTS {
                return failed("too many redirects");
            }
            // 303 (and 301/302 after a POST, as browsers do) continue as GET.
            if status == reqwest::StatusCode::SEE_OTHER
                || (method == reqwest::Method::POST && status.as_u16() <= 302)
            {
                method = reqwest::Method::GET;
                body = None;
            }
            if next.origin() != origin {
                cross_origin = true;
            }
            url = next;
            continue;
        }
        let headers = response
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
        let final_url = response.url().to_string();
        let max = state.policy.max_response_bytes();
        let mut bytes = Vec::new();
        if let Err(e) = response.take(max + 1).read_to_end(&mut bytes) {
            return failed(format!("reading the response: {e}"));
        }
        if bytes.len() as u64 > max {
            return failed(format!("response body exceeds {max} bytes"));
        }
        return Ok(Response {
            status: status.as_u16(),
            url: final_url,
            headers,
            body: bytes,
        });
    }
    failed("too many redirects")
}

fn is_credential_header(name: &str) -> bool {
    ["authorization", "cookie", "proxy-authorization"]
        .iter()
        .any(|h| name.eq_ignore_ascii_case(h))
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lookup_answers_within_its_limit() {
        let found = lookup_within("localhost", 80, Duration::from_secs(5)).expect("answered");
        assert!(
            found.iter().all(|ip| ip.is_loopback()) && !found.is_empty(),
            "{found:?}"
        );
        let none = lookup_within("no-such-host.invalid", 80, Duration::from_secs(5));
        assert_eq!(
            none,
            Some(vec![]),
            "a failed look-up is an empty answer, not a timeout"
        );
    }
}
