//! The outbound-HTTP capability: `rulebox.http_request` and
//! `rulebox.http_response_read`.
//!
//! Fencing, in the order a request meets it:
//! * the call's request budget (`max_requests`, redirects included);
//! * the tenant's allow-list, by host (and port) of the URL and of every
//!   redirect target — redirects are followed here, one hop at a time, so each
//!   is checked like the first request;
//! * addresses: an IP literal in the URL that is loopback, private,
//!   link-local, unspecified or cloud metadata is refused unless the
//!   allow-list names that literal; a host *name* is resolved by a resolver
//!   that drops every such address, so the connection can only go to a public
//!   IP (DNS rebinding cannot point an allowed name at the metadata service);
//! * time: each request's timeout is cut to the call's deadline, and the call
//!   gives up its core while it waits on the network.
//!
//! A refusal ends the call with `capability_denied` naming what was refused;
//! a network failure (refused connection, timeout, oversized body) is an
//! ordinary error the guest sees and may handle.

use super::capability::{CallContext, Capability, StepStart};
use super::guest::{GuestMemory, memory, oob, range};
use crate::admission::{CoreHold, CoreLost};
use crate::outcome::{DeadlineExceeded, HostTrap};
use rulebox_abi::{IMPORT_MODULE, imports};
use rulebox_runtime_api::Outbound;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Read;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Redirects followed per request.
const MAX_REDIRECTS: u32 = 5;

/// Per-call state of the capability.
pub(crate) struct OutboundState {
    /// The tenant's policy, resolved into the call's limits.
    policy: Outbound,
    /// The current step's deadline; no request outlives it.
    deadline: Instant,
    /// Requests made in the current step, redirects included.
    requests: u32,
    /// The last answer, until the guest reads it.
    response: Vec<u8>,
}

impl OutboundState {
    pub(crate) fn new(policy: Outbound, deadline: Instant) -> Self {
        Self {
            policy,
            deadline,
            requests: 0,
            response: Vec::new(),
        }
    }
}

/// What the capability's host functions see of store data: its own state and
/// the call's hold on a core, which it gives up while it waits.
pub(crate) struct OutboundCtx<'a> {
    pub(crate) state: &'a mut OutboundState,
    pub(crate) core: &'a mut CoreHold,
}

/// The projection of store data its host functions see.
pub(crate) trait OutboundView: GuestMemory {
    fn outbound(&mut self) -> OutboundCtx<'_>;
}

impl Capability for OutboundState {
    const NAME: &'static str = "http";
    const IMPORTS: &'static [&'static str] = &[imports::HTTP_REQUEST, imports::HTTP_RESPONSE_READ];

    /// The policy is the tenant's, resolved into the call's limits.
    fn arm(call: &CallContext<'_>) -> Self {
        Self::new(call.limits.outbound.clone(), call.deadline)
    }

    /// Each step gets the whole request budget again, up to its own deadline.
    fn next_step(&mut self, step: &StepStart) {
        self.deadline = step.deadline;
        self.requests = 0;
    }

    fn add_to_linker(linker: &mut wasmtime::Linker<super::HostState>) -> wasmtime::Result<()> {
        add_to_linker(linker)
    }
}

#[cfg(test)]
impl OutboundState {
    pub(crate) fn requests(&self) -> u32 {
        self.requests
    }

    pub(crate) fn deadline(&self) -> Instant {
        self.deadline
    }

    pub(crate) fn count_request(&mut self) {
        self.requests += 1;
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct GuestRequest {
    #[serde(default = "get")]
    method: String,
    url: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    body: Option<String>,
}

fn get() -> String {
    "GET".into()
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
enum GuestResponse {
    Ok {
        status: u16,
        url: String,
        headers: BTreeMap<String, String>,
        body: String,
    },
    Failed {
        error: String,
    },
}

/// Addresses tenant code never reaches by name, and only by an allow-listed literal.
pub(crate) fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                // 0/8 "this network", 100.64/10 carrier-grade NAT, 192.0.0/24 IETF,
                // 198.18/15 benchmarking, 240/4 reserved.
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                || (o[0] == 198 && (o[1] & 0xfe) == 18)
                || o[0] >= 240
        }
        IpAddr::V6(v6) => {
            let seg = v6.segments();
            // IPv6 forms that carry an IPv4 address: judge the IPv4 address.
            let embedded = if let Some(v4) = v6.to_ipv4_mapped() {
                Some(v4)
            } else if seg[..6] == [0; 6] && !v6.is_loopback() && !v6.is_unspecified() {
                // IPv4-compatible ::a.b.c.d
                v6.to_ipv4()
            } else if seg[0] == 0x64 && seg[1] == 0xff9b {
                // NAT64 64:ff9b::/96 and 64:ff9b:1::/48: the last 32 bits.
                Some(std::net::Ipv4Addr::from(
                    ((seg[6] as u32) << 16) | seg[7] as u32,
                ))
            } else if seg[0] == 0x2002 {
                // 6to4 2002:AABB:CCDD::/48
                Some(std::net::Ipv4Addr::from(
                    ((seg[1] as u32) << 16) | seg[2] as u32,
                ))
            } else {
                None
            };
            if let Some(v4) = embedded {
                return is_internal(IpAddr::V4(v4));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00 // unique local (AWS metadata fd00:ec2::254 too)
                || (seg[0] & 0xffc0) == 0xfe80 // link local
                || (seg[0] & 0xffc0) == 0xfec0 // site local (deprecated, still routed somewhere)
        }
    }
}

/// Whether `pattern` (an allow-list entry) admits `host:port`.
fn admits(pattern: &str, host: &str, port: u16) -> bool {
    let pattern = pattern.trim().to_ascii_lowercase();
    let (p_host, p_port) = match pattern.rsplit_once(':') {
        // A bare IPv6 literal has colons but no port.
        Some((h, p)) if !h.contains(':') || h.ends_with(']') => match p.parse::<u16>() {
            Ok(p) => (h.trim_matches(['[', ']']).to_owned(), Some(p)),
            Err(_) => return false,
        },
        _ => (pattern.trim_matches(['[', ']']).to_owned(), None),
    };
    if p_port.is_some_and(|p| p != port) {
        return false;
    }
    match p_host.strip_prefix("*.") {
        Some(suffix) => host.len() > suffix.len() + 1 && host.ends_with(&format!(".{suffix}")),
        None => p_host == host,
    }
}

/// Why a URL may not be requested; `None` if it may.
pub(crate) fn refusal(policy: &Outbound, url: &reqwest::Url) -> Option<String> {
    if !matches!(url.scheme(), "http" | "https") {
        return Some(format!("{}: only http and https are allowed", url.scheme()));
    }
    let Some(host) = url.host_str() else {
        return Some("URL without a host".into());
    };
    let host = host.trim_matches(['[', ']']).to_ascii_lowercase();
    let port = url.port_or_known_default().unwrap_or(0);
    if !policy.allow_hosts.iter().any(|p| admits(p, &host, port)) {
        return Some(format!(
            "{host}:{port} is not on the tenant's outbound allow-list"
        ));
    }
    if let Ok(ip) = host.parse::<IpAddr>()
        && is_internal(ip)
        && !policy.allow_hosts.iter().any(|p| {
            let p = p.trim().trim_matches(['[', ']']);
            p == host || p == format!("{host}:{port}") || p == format!("[{host}]:{port}")
        })
    {
        return Some(format!(
            "{ip} is an internal address (allow-list it by address to reach it)"
        ));
    }
    None
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

fn denied(msg: String) -> wasmtime::Error {
    tracing::warn!(reason = %msg, "outbound request refused");
    wasmtime::Error::new(HostTrap::CapabilityDenied(msg))
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

/// Performs the guest's request (following redirects); `Err` only for refusals.
pub(crate) fn perform(state: &mut OutboundState, req: GuestRequest) -> wasmtime::Result<Vec<u8>> {
    // A malformed URL or method is the guest's mistake, not a protocol breach:
    // `fetch` rejects, as it does in a browser.
    let mut url = match reqwest::Url::parse(&req.url) {
        Ok(u) => u,
        Err(e) => return Ok(failed(&format!("invalid URL {:?}: {e}", req.url))),
    };
    let Ok(mut method) = reqwest::Method::from_bytes(req.method.to_ascii_uppercase().as_bytes())
    else {
        return Ok(failed(&format!("invalid method {:?}", req.method)));
    };
    let mut body = req.body;
    let origin = url.origin();
    let mut cross_origin = false;
    for hop in 0..=MAX_REDIRECTS {
        if state.requests >= state.policy.max_requests {
            return Err(denied(format!(
                "more than {} outbound requests in one call",
                state.policy.max_requests
            )));
        }
        if let Some(why) = refusal(&state.policy, &url) {
            return Err(denied(why));
        }
        // A name that only leads inside is refused outright (and visibly); the
        // resolver filters again at connect time, so a rebinding between this
        // look-up and the connection cannot get through either.
        if let Some(url::Host::Domain(name)) = url.host() {
            let port = url.port_or_known_default().unwrap_or(0);
            let remaining = state.deadline.saturating_duration_since(Instant::now());
            let Some(found) = lookup_within(name, port, remaining) else {
                return Ok(failed(&format!(
                    "looking up {name} took longer than the call's deadline"
                )));
            };
            if let Some(ip) = found.first()
                && found.iter().all(|ip| is_internal(*ip))
            {
                return Err(denied(format!(
                    "{name} resolves to the internal address {ip}"
                )));
            }
        }
        state.requests += 1;
        let remaining = state.deadline.saturating_duration_since(Instant::now());
        let timeout = remaining.min(Duration::from_millis(state.policy.request_timeout_ms));
        if timeout.is_zero() {
            return Ok(failed("the call's deadline has passed"));
        }
        let client = match client() {
            Ok(c) => c,
            Err(e) => return Ok(failed(&e)),
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
            Err(e) => return Ok(failed(&error_chain(&e))),
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
                return Ok(failed("too many redirects"));
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
        let max = state.policy.max_response_bytes;
        let mut bytes = Vec::new();
        if let Err(e) = response.take(max + 1).read_to_end(&mut bytes) {
            return Ok(failed(&format!("reading the response: {e}")));
        }
        if bytes.len() as u64 > max {
            return Ok(failed(&format!("response body exceeds {max} bytes")));
        }
        let answer = GuestResponse::Ok {
            status: status.as_u16(),
            url: final_url,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        };
        return Ok(serde_json::to_vec(&answer).unwrap_or_default());
    }
    Ok(failed("too many redirects"))
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

fn failed(msg: &str) -> Vec<u8> {
    serde_json::to_vec(&GuestResponse::Failed {
        error: msg.to_owned(),
    })
    .unwrap_or_default()
}

fn add_to_linker<T: OutboundView + 'static>(
    linker: &mut wasmtime::Linker<T>,
) -> wasmtime::Result<()> {
    use wasmtime::Caller;

    // Performs a request described by JSON `{method, url, headers, body}`; returns
    // the length of the JSON answer (`{status, url, headers, body}` or `{error}`)
    // that `http_response_read` then copies out.
    linker.func_wrap(
        IMPORT_MODULE,
        imports::HTTP_REQUEST,
        |mut caller: Caller<'_, T>, ptr: i32, len: i32| -> wasmtime::Result<i32> {
            let (ptr, len) = range(ptr, len, "http_request")?;
            let mem = memory(&caller)?;
            let raw = mem
                .data(&caller)
                .get(ptr..ptr.saturating_add(len))
                .ok_or_else(|| oob("http_request", ptr, len))?
                .to_vec();
            let req: GuestRequest = serde_json::from_slice(&raw).map_err(|e| {
                wasmtime::Error::new(HostTrap::AbiViolation(format!("http_request: {e}")))
            })?;
            let OutboundCtx { state, core } = caller.data_mut().outbound();
            let deadline = state.deadline;
            let answer = core
                .off_core(deadline, || perform(state, req))
                .map_err(|CoreLost| wasmtime::Error::new(DeadlineExceeded))??;
            let n = i32::try_from(answer.len()).unwrap_or(i32::MAX);
            state.response = answer;
            Ok(n)
        },
    )?;

    linker.func_wrap(
        IMPORT_MODULE,
        imports::HTTP_RESPONSE_READ,
        |mut caller: Caller<'_, T>, ptr: i32, len: i32| -> wasmtime::Result<i32> {
            let (ptr, len) = range(ptr, len, "http_response_read")?;
            let mem = memory(&caller)?;
            let (data, store) = mem.data_and_store_mut(&mut caller);
            let response = &store.outbound().state.response;
            let n = len.min(response.len());
            let dst = data
                .get_mut(ptr..ptr.saturating_add(n))
                .ok_or_else(|| oob("http_response_read", ptr, n))?;
            dst.copy_from_slice(&response[..n]);
            Ok(i32::try_from(n).unwrap_or(i32::MAX))
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {

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

    use super::*;

    fn policy(hosts: &[&str]) -> Outbound {
        Outbound {
            allow_hosts: hosts.iter().map(|h| (*h).to_owned()).collect(),
            ..Outbound::default()
        }
    }

    fn check(hosts: &[&str], url: &str) -> Option<String> {
        refusal(&policy(hosts), &reqwest::Url::parse(url).expect("url"))
    }

    #[test]
    fn the_allow_list_matches_hosts_ports_and_wildcards() {
        assert_eq!(
            check(&["api.example.com"], "https://api.example.com/x"),
            None
        );
        assert!(check(&["api.example.com"], "https://evil.com/").is_some());
        assert_eq!(check(&["*.example.com"], "https://a.b.example.com/"), None);
        assert!(
            check(&["*.example.com"], "https://example.com/").is_some(),
            "wildcard needs a subdomain"
        );
        assert!(check(&["*.example.com"], "https://notexample.com/").is_some());
        assert_eq!(
            check(&["api.example.com:8443"], "https://api.example.com:8443/"),
            None
        );
        assert!(
            check(&["api.example.com:8443"], "https://api.example.com/").is_some(),
            "port is part of the entry"
        );
        assert!(
            check(&[], "https://api.example.com/").is_some(),
            "nothing by default"
        );
        assert!(check(&["api.example.com"], "file:///etc/passwd").is_some());
    }

    #[test]
    fn internal_literals_need_their_own_entry() {
        assert!(check(&["*"], "http://127.0.0.1/").is_some());
        assert!(
            check(
                &["169.254.169.254"],
                "http://169.254.169.254/latest/meta-data/"
            )
            .is_none(),
            "named explicitly: allowed"
        );
        assert!(check(&["127.0.0.1:8080"], "http://127.0.0.1:9090/").is_some());
        assert_eq!(check(&["127.0.0.1:8080"], "http://127.0.0.1:8080/"), None);
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
        ] {
            assert!(is_internal(ip.parse().expect("ip")), "{ip}");
        }
        for ip in [
            "::1",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::a00:5",
            "::10.0.0.1",
            "2002:a9fe:a9fe::1",
            "fec0::1",
        ] {
            assert!(is_internal(ip.parse().expect("ip")), "{ip}");
        }
        assert!(!is_internal("93.184.216.34".parse().expect("ip")));
        assert!(!is_internal("2606:2800:220:1::1".parse().expect("ip")));
        assert!(
            !is_internal("64:ff9b::5db8:d822".parse().expect("ip")),
            "NAT64 of a public IPv4"
        );
        for ip in ["198.18.0.1", "240.0.0.1", "192.0.0.8"] {
            assert!(is_internal(ip.parse().expect("ip")), "{ip}");
        }
    }
}
