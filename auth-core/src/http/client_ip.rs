//! The address a request came from, as brute-force protection and `event.request.ip`
//! see it.
//!
//! By default it is the TCP peer: an `X-Forwarded-For` header is whatever the caller
//! wrote, so trusting it would let one attacker pose as every IP and walk around the
//! per-IP throttle. Behind proxies the peer is the nearest proxy, so
//! `server.trusted_proxies = N` (how many proxies stand in front, each appending the
//! address it saw) takes the N-th entry from the right: the one the outermost trusted
//! proxy appended, which no client can forge (entries left of it can be).

use crate::app::AppState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<Arc<AppState>> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let hops = app.settings.trusted_proxies;
        if hops == 0 && parts.headers.contains_key("x-forwarded-for") {
            warn_once();
        }
        Ok(ClientIp(resolve(peer, &parts.headers, hops)))
    }
}

/// Logins through a proxy that is not declared all look alike (the proxy's address):
/// say so once, not per request.
fn warn_once() {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if !WARNED.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            "requests carry X-Forwarded-For but server.trusted_proxies is 0: client IPs are the TCP peer's"
        );
    }
}

fn resolve(peer: Option<IpAddr>, headers: &HeaderMap, trusted_proxies: u32) -> IpAddr {
    let hops = usize::try_from(trusted_proxies).unwrap_or(usize::MAX);
    if hops > 0 {
        let entries: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        // Some proxies append `ip:port` (or `[v6]:port`).
        let parse = |e: &str| {
            e.parse::<IpAddr>()
                .ok()
                .or_else(|| e.parse::<SocketAddr>().ok().map(|s| s.ip()))
        };
        if let Some(ip) = entries
            .get(entries.len().saturating_sub(hops))
            .and_then(|e| parse(e))
        {
            return ip.to_canonical();
        }
    }
    // No peer only when a router is driven without a listener (in-process tests).
    peer.map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |p| p.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().expect("header"));
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn the_header_counts_only_for_the_declared_proxies() {
        let peer = Some(ip("10.0.0.5"));
        let forged = headers(&["1.2.3.4, 203.0.113.9"]);
        assert_eq!(resolve(peer, &forged, 0), ip("10.0.0.5"));
        assert_eq!(resolve(peer, &forged, 1), ip("203.0.113.9"));
        // Two proxies (a CDN, then a balancer): the CDN saw the client.
        let two = headers(&["1.2.3.4, 198.51.100.7, 203.0.113.9"]);
        assert_eq!(resolve(peer, &two, 2), ip("198.51.100.7"));
        let split = headers(&["1.2.3.4", "198.51.100.7"]);
        assert_eq!(resolve(peer, &split, 1), ip("198.51.100.7"));
        // Fewer entries than proxies: the leftmost is the nearest to the client.
        assert_eq!(
            resolve(peer, &headers(&["198.51.100.7"]), 3),
            ip("198.51.100.7")
        );
        assert_eq!(
            resolve(peer, &headers(&["198.51.100.7:5123"]), 1),
            ip("198.51.100.7")
        );
        assert_eq!(
            resolve(peer, &headers(&["[2001:db8::1]:443"]), 1),
            ip("2001:db8::1")
        );
        // Garbage falls back to the peer instead of keying on the garbage.
        assert_eq!(resolve(peer, &headers(&["not-an-ip"]), 1), ip("10.0.0.5"));
        assert_eq!(
            resolve(None, &HeaderMap::new(), 1),
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        );
    }

    #[test]
    fn ipv4_mapped_ipv6_addresses_are_their_ipv4_address() {
        let mapped = Some(ip("::ffff:192.0.2.1"));
        assert_eq!(resolve(mapped, &HeaderMap::new(), 0), ip("192.0.2.1"));
        assert_eq!(
            resolve(None, &headers(&["::ffff:192.0.2.1"]), 1),
            ip("192.0.2.1")
        );
    }
}
