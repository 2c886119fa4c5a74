//! Only logins from listed networks may proceed.
//!
//! After Auth0's "IP Address allowlist" rule template, with CIDR ranges for
//! both address families instead of single addresses.

use rulebox_sdk::{Api, Event};
use std::net::IpAddr;

const ALLOWED_RANGES: &[&str] = &["10.0.0.0/8", "192.168.1.0/24", "2001:db8::/32"];

const DENY_REASON: &str = "Access denied: IP address not allowed";

fn on_post_login(event: &Event, api: &mut Api) {
    // A missing or unparseable address is treated like a foreign one: an
    // allow-list that fails open is no allow-list.
    let ip = event
        .request
        .ip
        .as_deref()
        .and_then(|ip| ip.trim().parse::<IpAddr>().ok());
    let allowed = ip.is_some_and(|ip| ALLOWED_RANGES.iter().any(|range| cidr_contains(range, ip)));
    if !allowed {
        api.access().deny(DENY_REASON);
    }
}

/// Whether `ip` lies in `cidr` (`"10.0.0.0/8"`, `"2001:db8::/32"`).
/// A malformed range matches nothing rather than everything.
fn cidr_contains(cidr: &str, ip: IpAddr) -> bool {
    let Some((network, bits)) = cidr.split_once('/') else {
        return false;
    };
    let (Ok(network), Ok(bits)) = (network.parse::<IpAddr>(), bits.parse::<u32>()) else {
        return false;
    };
    // `::ffff:10.1.2.3` is the IPv4 client 10.1.2.3 seen through a dual-stack
    // socket; without this it would dodge every IPv4 range.
    match (network, ip.to_canonical()) {
        (IpAddr::V4(net), IpAddr::V4(addr)) => {
            prefix_matches(u32::from(net).into(), u32::from(addr).into(), bits, 32)
        }
        (IpAddr::V6(net), IpAddr::V6(addr)) => {
            prefix_matches(u128::from(net), u128::from(addr), bits, 128)
        }
        _ => false,
    }
}

/// Compares the top `bits` of two `width`-bit addresses.
fn prefix_matches(network: u128, addr: u128, bits: u32, width: u32) -> bool {
    let Some(shift) = width.checked_sub(bits) else {
        return false;
    };
    // `checked_shr` is `None` only for a 128-bit shift, an IPv6 /0, which
    // matches every address: both sides then compare as 0.
    network.checked_shr(shift).unwrap_or(0) == addr.checked_shr(shift).unwrap_or(0)
}

rulebox_sdk::export_post_login!(on_post_login);

#[cfg(test)]
mod tests {
    use super::*;

    fn denied(ip: Option<&str>) -> bool {
        let mut event = Event::default();
        event.request.ip = ip.map(str::to_owned);
        let mut api = Api::new();
        on_post_login(&event, &mut api);
        api.is_denied()
    }

    #[test]
    fn addresses_inside_the_ranges_pass() {
        for ip in [
            "10.0.0.1",
            "10.255.255.255",
            "192.168.1.0",
            "192.168.1.254",
            "2001:db8::1",
            "2001:db8:ffff:ffff::1",
            "::ffff:10.1.2.3",
            " 10.1.1.1 ",
        ] {
            assert!(!denied(Some(ip)), "{ip} should be allowed");
        }
    }

    #[test]
    fn other_invalid_and_missing_addresses_are_denied() {
        for ip in [
            "11.0.0.1",
            "9.255.255.255",
            "192.168.2.1",
            "192.168.0.255",
            "2001:db9::1",
            "2001:db7:ffff::1",
            "::1",
            "::a00:1",
            "",
            "not-an-ip",
            "10.0.0.1/8",
            "10.0.0",
        ] {
            assert!(denied(Some(ip)), "{ip} should be denied");
        }
        assert!(denied(None));
    }

    #[test]
    fn cidr_edges() {
        let v4: IpAddr = "1.2.3.4".parse().expect("literal");
        let v6: IpAddr = "fe80::1".parse().expect("literal");
        assert!(cidr_contains("0.0.0.0/0", v4));
        assert!(cidr_contains("::/0", v6));
        assert!(!cidr_contains("::/0", v4));
        assert!(cidr_contains("1.2.3.4/32", v4));
        assert!(!cidr_contains("1.2.3.5/32", v4));
        assert!(!cidr_contains("1.2.3.4/33", v4));
        assert!(cidr_contains("fe80::1/128", v6));
        assert!(!cidr_contains("fe80::1/129", v6));
        assert!(!cidr_contains("1.2.3.4", v4));
        assert!(!cidr_contains("garbage/8", v4));
    }
}
