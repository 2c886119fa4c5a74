//! What a call may reach over HTTP: the tenant's allow-list and the refusal
//! of internal addresses, as a value handed to the capability per call.
//!
//! Pure decisions, no I/O: the transport asks this module before every hop
//! (and about every name it resolves), so the rules can be read and tested
//! without a network.

use rulebox_runtime_api::Outbound;
use std::net::IpAddr;
use std::time::Duration;

/// The outbound policy of one call: the tenant's, clamped to the platform's.
pub(crate) struct OutboundPolicy {
    allow_hosts: Vec<String>,
    max_requests: u32,
    request_timeout: Duration,
    max_response_bytes: u64,
}

/// Why a request may not be made; ends the call with `capability_denied`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refusal {
    #[error("{0}: only http and https are allowed")]
    Scheme(String),
    #[error("URL without a host")]
    NoHost,
    #[error("{host}:{port} is not on the tenant's outbound allow-list")]
    NotAllowed { host: String, port: u16 },
    #[error("{0} is an internal address (allow-list it by address to reach it)")]
    InternalAddress(IpAddr),
    #[error("{name} resolves to the internal address {ip}")]
    ResolvesInside { name: String, ip: IpAddr },
    #[error("more than {0} outbound requests in one call")]
    TooManyRequests(u32),
}

impl OutboundPolicy {
    pub(crate) fn new(outbound: Outbound) -> Self {
        Self {
            allow_hosts: outbound.allow_hosts,
            max_requests: outbound.max_requests,
            request_timeout: Duration::from_millis(outbound.request_timeout_ms),
            max_response_bytes: outbound.max_response_bytes,
        }
    }

    /// Per request; the call's deadline cuts it shorter.
    pub(crate) fn request_timeout(&self) -> Duration {
        self.request_timeout
    }

    /// Response body bytes kept; a larger body fails the request.
    pub(crate) fn max_response_bytes(&self) -> u64 {
        self.max_response_bytes
    }

    /// Whether one more request fits the budget, `made` having been made.
    pub(crate) fn check_budget(&self, made: u32) -> Result<(), Refusal> {
        if made >= self.max_requests {
            return Err(Refusal::TooManyRequests(self.max_requests));
        }
        Ok(())
    }

    /// Whether `url` may be requested.
    pub(crate) fn check_url(&self, url: &url::Url) -> Result<(), Refusal> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Refusal::Scheme(url.scheme().to_owned()));
        }
        let Some(host) = url.host_str() else {
            return Err(Refusal::NoHost);
        };
        let host = host.trim_matches(['[', ']']).to_ascii_lowercase();
        let port = url.port_or_known_default().unwrap_or(0);
        if !self.allow_hosts.iter().any(|p| admits(p, &host, port)) {
            return Err(Refusal::NotAllowed { host, port });
        }
        if let Ok(ip) = host.parse::<IpAddr>()
            && is_internal(ip)
            && !self.allow_hosts.iter().any(|p| {
                let p = p.trim().trim_matches(['[', ']']);
                p == host || p == format!("{host}:{port}") || p == format!("[{host}]:{port}")
            })
        {
            return Err(Refusal::InternalAddress(ip));
        }
        Ok(())
    }

    /// Whether a name that resolved to `found` may be connected to: not when
    /// every address it has is internal (the resolver would drop them all).
    pub(crate) fn check_resolved(&self, name: &str, found: &[IpAddr]) -> Result<(), Refusal> {
        if let Some(ip) = found.first()
            && found.iter().all(|ip| is_internal(*ip))
        {
            return Err(Refusal::ResolvesInside {
                name: name.to_owned(),
                ip: *ip,
            });
        }
        Ok(())
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(hosts: &[&str]) -> OutboundPolicy {
        OutboundPolicy::new(Outbound {
            allow_hosts: hosts.iter().map(|h| (*h).to_owned()).collect(),
            ..Outbound::default()
        })
    }

    fn check(hosts: &[&str], url: &str) -> Option<String> {
        policy(hosts)
            .check_url(&url::Url::parse(url).expect("url"))
            .err()
            .map(|r| r.to_string())
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

    #[test]
    fn the_budget_and_resolved_names_are_checked_too() {
        let p = policy(&["api.example.com"]);
        assert_eq!(p.check_budget(9), Ok(()));
        assert_eq!(
            p.check_budget(10).map_err(|r| r.to_string()),
            Err("more than 10 outbound requests in one call".into())
        );
        let inside: IpAddr = "10.0.0.1".parse().expect("ip");
        let outside: IpAddr = "93.184.216.34".parse().expect("ip");
        assert_eq!(
            p.check_resolved("a.example", &[inside])
                .map_err(|r| r.to_string()),
            Err("a.example resolves to the internal address 10.0.0.1".into())
        );
        assert_eq!(
            p.check_resolved("a.example", &[inside, outside]),
            Ok(()),
            "the resolver drops the inside one at connect time"
        );
        assert_eq!(
            p.check_resolved("a.example", &[]),
            Ok(()),
            "a failed look-up is left to the request to report"
        );
    }
}
