//! The table of addresses webhook traffic must not reach.

use ipnet::{Ipv4Net, Ipv6Net};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const fn v4(a: u8, b: u8, c: u8, d: u8, prefix: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), prefix)
}

const fn v6(segments: [u16; 8], prefix: u8) -> Ipv6Net {
    let [a, b, c, d, e, f, g, h] = segments;
    Ipv6Net::new_assert(Ipv6Addr::new(a, b, c, d, e, f, g, h), prefix)
}

/// IPv4 ranges that are not globally reachable (IANA special-purpose registry), plus multicast
/// and the reserved block.
const FORBIDDEN_V4: &[Ipv4Net] = &[
    v4(0, 0, 0, 0, 8),       // "this network", includes 0.0.0.0
    v4(10, 0, 0, 0, 8),      // private (RFC 1918)
    v4(100, 64, 0, 0, 10), // shared address space / CGNAT, includes 100.100.100.200 (Alibaba metadata)
    v4(127, 0, 0, 0, 8),   // loopback
    v4(169, 254, 0, 0, 16), // link-local, includes 169.254.169.254 (AWS, GCP, Azure, Oracle metadata)
    v4(172, 16, 0, 0, 12),  // private (RFC 1918)
    v4(192, 0, 0, 0, 24),   // IETF protocol assignments, includes 192.0.0.192 (Oracle metadata)
    v4(192, 0, 2, 0, 24),   // documentation (TEST-NET-1)
    v4(192, 88, 99, 0, 24), // deprecated 6to4 relay anycast
    v4(192, 168, 0, 0, 16), // private (RFC 1918)
    v4(198, 18, 0, 0, 15),  // benchmarking
    v4(198, 51, 100, 0, 24), // documentation (TEST-NET-2)
    v4(203, 0, 113, 0, 24), // documentation (TEST-NET-3)
    v4(224, 0, 0, 0, 4),    // multicast
    v4(240, 0, 0, 0, 4),    // reserved, includes the broadcast address 255.255.255.255
];

/// Global unicast space; every IPv6 address outside it is refused (loopback, unspecified,
/// ULA fc00::/7 with fd00:ec2::254 (AWS metadata), link-local fe80::/10, multicast, discard-only, …)
/// unless it embeds an allowed IPv4 address.
const GLOBAL_UNICAST_V6: Ipv6Net = v6([0x2000, 0, 0, 0, 0, 0, 0, 0], 3);

/// Special-purpose ranges inside the global unicast space.
const FORBIDDEN_V6: &[Ipv6Net] = &[
    v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 23), // IETF protocol assignments (Teredo, benchmarking, ORCHID)
    v6([0x2001, 0x0db8, 0, 0, 0, 0, 0, 0], 32), // documentation
    v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20), // documentation (RFC 9637)
];

/// IPv4-mapped addresses, `::ffff:a.b.c.d`.
const MAPPED_V4: Ipv6Net = v6([0, 0, 0, 0, 0, 0xffff, 0, 0], 96);
/// The NAT64 well-known prefix, `64:ff9b::a.b.c.d`.
const NAT64_V4: Ipv6Net = v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96);
/// 6to4, `2002:AABB:CCDD::/48` for a.b.c.d.
const SIX_TO_FOUR: Ipv6Net = v6([0x2002, 0, 0, 0, 0, 0, 0, 0], 16);

/// True when webhook traffic must not go to `ip`: loopback, private (RFC 1918, fc00::/7),
/// link-local (169.254/16, fe80::/10, including the 169.254.169.254 cloud metadata address),
/// unspecified, broadcast, multicast, CGNAT 100.64/10, documentation and benchmarking ranges,
/// 0.0.0.0/8, reserved space, the AWS/GCP/Azure/Alibaba/Oracle metadata addresses
/// (169.254.169.254, fd00:ec2::254, fd20:ce::254, 100.100.100.200, 192.0.0.192), every IPv6 address outside
/// global unicast 2000::/3, the deprecated IPv4-compatible form `::a.b.c.d`, and the IPv4-mapped,
/// NAT64 and 6to4 forms of forbidden IPv4 addresses.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_forbidden_v4(v4),
        IpAddr::V6(v6) => is_forbidden_v6(v6),
    }
}

fn is_forbidden_v4(ip: Ipv4Addr) -> bool {
    FORBIDDEN_V4.iter().any(|net| net.contains(&ip))
}

fn is_forbidden_v6(ip: Ipv6Addr) -> bool {
    if let Some(embedded) = embedded_v4(ip) {
        return is_forbidden_v4(embedded);
    }
    !GLOBAL_UNICAST_V6.contains(&ip) || FORBIDDEN_V6.iter().any(|net| net.contains(&ip))
}

/// The IPv4 address an IPv6 address stands for, for the forms that reach IPv4 hosts.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let octets = ip.octets();
    if MAPPED_V4.contains(&ip) || NAT64_V4.contains(&ip) {
        // The last 32 bits.
        let [.., a, b, c, d] = octets;
        Some(Ipv4Addr::new(a, b, c, d))
    } else if SIX_TO_FOUR.contains(&ip) {
        // The 32 bits after the 2002::/16 prefix.
        let [_, _, a, b, c, d, ..] = octets;
        Some(Ipv4Addr::new(a, b, c, d))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::is_forbidden;
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forbidden_addresses() {
        for s in [
            "127.0.0.1",
            "127.255.255.254",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.100.100.200",
            "192.0.0.192",
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "224.0.0.1",
            "239.255.255.250",
            "192.0.2.10",
            "198.51.100.7",
            "203.0.113.9",
            "198.18.0.1",
            "240.0.0.1",
            "::",
            "::1",
            "fe80::1",
            "fc00::1",
            "fd00:ec2::254",
            "fd20:ce::254",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "::8.8.8.8",
            "64:ff9b::127.0.0.1",
            "64:ff9b:1::1",
            "2002:7f00:1::1",
            "2002:a9fe:a9fe::1",
            "2001:db8::1",
            "2001::1",
            "3fff::1",
            "100::1",
            "fec0::1",
        ] {
            assert!(is_forbidden(ip(s)), "{s} should be forbidden");
        }
    }

    #[test]
    fn allowed_addresses() {
        for s in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "192.0.3.1",
            "223.255.255.255",
            "2606:4700::1111",
            "2a00:1450:4001:80b::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::8.8.8.8",
            "2002:808:808::1",
        ] {
            assert!(!is_forbidden(ip(s)), "{s} should be allowed");
        }
    }
}
