//! The address a request came from, as brute-force protection and `event.request.ip`
//! see it.
//!
//! By default it is the TCP peer: an `X-Forwarded-For` header is whatever the caller
//! wrote, so trusting it would let one attacker pose as every IP and walk around the
//! per-IP throttle. Behind a load balancer the peer is the balancer, so
//! `server.trust_forwarded_for` takes the header's last entry instead — the one the
//! nearest proxy appended, which a client cannot forge (entries before it can be).

use crate::app::AppState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

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
        Ok(ClientIp(resolve(
            peer,
            &parts.headers,
            app.settings.trust_forwarded_for,
        )))
    }
}

fn resolve(peer: Option<IpAddr>, headers: &HeaderMap, trust_forwarded_for: bool) -> IpAddr {
    if trust_forwarded_for
        && let Some(ip) = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .next_back()
            .and_then(|last| last.trim().parse().ok())
    {
        return ip;
    }
    // No peer only when a router is driven without a listener (in-process tests).
    peer.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
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

    #[test]
    fn the_header_counts_only_when_trusted_and_then_only_its_last_entry() {
        let ip: IpAddr = "10.0.0.5".parse().expect("ip");
        let peer = Some(ip);
        let forged = headers(&["1.2.3.4, 203.0.113.9"]);
        assert_eq!(resolve(peer, &forged, false), ip);
        assert_eq!(
            resolve(peer, &forged, true),
            "203.0.113.9".parse::<IpAddr>().expect("ip")
        );
        let two_headers = headers(&["1.2.3.4", "198.51.100.7"]);
        assert_eq!(
            resolve(peer, &two_headers, true),
            "198.51.100.7".parse::<IpAddr>().expect("ip")
        );
        // Garbage in the header falls back to the peer instead of keying on the garbage.
        assert_eq!(resolve(peer, &headers(&["not-an-ip"]), true), ip);
        assert_eq!(
            resolve(None, &HeaderMap::new(), true),
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        );
    }
}
