//! Who a request came from, for the per-client limits (pairing, the landing page).
//!
//! Behind a reverse proxy every request arrives from the proxy, so the TCP peer alone would make
//! every customer one client. Only a peer inside `[server] trusted_proxies` may say, in
//! `Forwarded` (RFC 7239) or else `X-Forwarded-For`, whom it forwards for; from anyone else
//! those headers are ignored, so a client cannot name itself a fresh address. Of the hops a
//! trusted proxy lists, the right-most one that is not itself a trusted proxy is the client:
//! everything to its left was written by the client (or its own proxies) and may be made up.
//! A value that cannot be read leaves the peer as the client.
//!
//! IPv6 clients are limited per /64: one household or phone is handed a whole /64 and can pick
//! any address in it, so a limit per address would be no limit.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;

use crate::AppState;

/// The client a request came from, as far as the server can tell (see the module's docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr {
    /// The client's address.
    pub ip: IpAddr,
}

impl ClientAddr {
    /// The key per-client limits count by: an IPv4 address as it is, an IPv6 address as its /64.
    pub fn limit_key(&self) -> String {
        match self.ip {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => {
                let network = u128::from(v6) & !(u128::MAX >> 64);
                format!("{}/64", Ipv6Addr::from(network))
            }
        }
    }

    /// Whether the client is on the operator's own networks: this machine, a private or
    /// link-local range, or one of the `trusted` proxies. That is where monitoring and load
    /// balancers ask from; a customer on the internet never is.
    pub fn is_operators(&self, trusted: &[IpNet]) -> bool {
        let own = match self.ip {
            IpAddr::V4(v4) => v4.is_loopback() || v4.is_private() || v4.is_link_local(),
            IpAddr::V6(v6) => v6.is_loopback() || v6.is_unique_local() || v6.is_unicast_link_local(),
        };
        own || trusted.iter().any(|net| net.contains(&self.ip))
    }

    /// The client of a request from `peer` with `headers`, trusting forwarding headers only from
    /// `trusted` peers.
    pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> Self {
        let peer = peer.to_canonical();
        let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
        if !is_trusted(&peer) {
            return Self { ip: peer };
        }
        let hops = forwarded_hops(headers).or_else(|| x_forwarded_for_hops(headers));
        let ip = hops.and_then(|hops| client_of(&hops, is_trusted)).unwrap_or(peer);
        Self { ip }
    }
}

impl FromRequestParts<Arc<AppState>> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        Ok(Self::resolve(peer_of(parts), &parts.headers, &app.config.trusted_proxies))
    }
}

/// The TCP peer of a request, canonical (an IPv4 address mapped into IPv6 as IPv4). The server
/// is always served with its peers' addresses; were it not, every request would count as one
/// client, which errs on the side of limiting.
fn peer_of(parts: &Parts) -> IpAddr {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |ConnectInfo(peer)| peer.ip().to_canonical())
}

/// Whether a request comes from the operator's own networks ([`ClientAddr::is_operators`]),
/// for what only they may read (`/metrics`, the parts of `/healthz`). A request that names a
/// client in a forwarding header but came from a peer outside `trusted_proxies` came through a
/// proxy kasse was not told of (every client would look like the proxy's own address, this
/// machine's), so it is not the operator's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FromOperator(pub bool);

impl FromRequestParts<Arc<AppState>> for FromOperator {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let trusted = &app.config.trusted_proxies;
        let peer = peer_of(parts);
        let forwarded = ["forwarded", "x-forwarded-for"].iter().any(|name| parts.headers.contains_key(*name));
        if forwarded && !trusted.iter().any(|net| net.contains(&peer)) {
            return Ok(Self(false));
        }
        Ok(Self(ClientAddr::resolve(peer, &parts.headers, trusted).is_operators(trusted)))
    }
}

/// One hop a forwarding header lists: an address, or something that is not one (`unknown`, an
/// obfuscated name, junk).
type Hop = Option<IpAddr>;

/// The client among `hops` (nearest proxy last): the right-most hop that is not a trusted proxy,
/// or the left-most when all of them are. `None` when a hop that would have to be read is not an
/// address.
fn client_of(hops: &[Hop], is_trusted: impl Fn(&IpAddr) -> bool) -> Option<IpAddr> {
    let mut client = None;
    for hop in hops.iter().rev() {
        let ip = (*hop)?.to_canonical();
        client = Some(ip);
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

/// The `for=` of each element of every `Forwarded` header, in order; `None` when there is no
/// such header, or none of its elements says `for=` (a proxy that only adds `proto=`).
fn forwarded_hops(headers: &HeaderMap) -> Option<Vec<Hop>> {
    let mut hops = Vec::new();
    let mut says_for = false;
    for value in headers.get_all("forwarded") {
        let Ok(text) = value.to_str() else {
            hops.push(None);
            continue;
        };
        for element in split_outside_quotes(text, ',') {
            if element.trim().is_empty() {
                continue;
            }
            let mut hop = None;
            for pair in split_outside_quotes(element, ';') {
                let Some((name, value)) = pair.split_once('=') else { continue };
                if name.trim().eq_ignore_ascii_case("for") {
                    says_for = true;
                    hop = unquote(value.trim()).as_deref().and_then(node_address);
                }
            }
            hops.push(hop);
        }
    }
    says_for.then_some(hops)
}

/// Every hop of every `X-Forwarded-For` header, in order; `None` when there is none. Split as
/// bytes: a hop the client wrote that is not text spoils only itself, never the address a proxy
/// appended after it (read whole, it made the line unreadable, and the request the proxy's own).
fn x_forwarded_for_hops(headers: &HeaderMap) -> Option<Vec<Hop>> {
    let mut hops = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        hops.extend(
            value
                .as_bytes()
                .split(|b| *b == b',')
                .map(<[u8]>::trim_ascii)
                .filter(|hop| !hop.is_empty())
                .map(|hop| std::str::from_utf8(hop).ok().and_then(node_address)),
        );
    }
    (!hops.is_empty()).then_some(hops)
}

/// `text` split at each `separator` that is not inside a quoted string.
fn split_outside_quotes(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == separator && !quoted => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// A token as it is, or a quoted string without its quotes and escapes; `None` for a quoted
/// string that does not end.
fn unquote(value: &str) -> Option<String> {
    let Some(inner) = value.strip_prefix('"') else { return Some(value.to_owned()) };
    let inner = inner.strip_suffix('"')?;
    let mut text = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        text.push(if c == '\\' { chars.next()? } else { c });
    }
    Some(text)
}

/// The address of a node as forwarding headers write it: `192.0.2.60`, `192.0.2.60:4711`,
/// `2001:db8::1`, `[2001:db8::1]` or `[2001:db8::1]:4711`. `None` for anything else.
fn node_address(node: &str) -> Option<IpAddr> {
    if let Some(rest) = node.strip_prefix('[') {
        let (address, after) = rest.split_once(']')?;
        let port_ok = after.is_empty() || after.strip_prefix(':').is_some_and(is_port);
        return if port_ok { address.parse::<Ipv6Addr>().ok().map(IpAddr::V6) } else { None };
    }
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(ip);
    }
    let (address, port) = node.rsplit_once(':')?;
    let ip = address.parse::<std::net::Ipv4Addr>().ok()?;
    is_port(port).then_some(IpAddr::V4(ip))
}

/// A port number (RFC 7239 also allows an obfuscated one, which tells nothing either way).
fn is_port(port: &str) -> bool {
    port.parse::<u16>().is_ok() || port.starts_with('_')
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn loopback() -> Vec<IpNet> {
        vec!["127.0.0.1/32".parse().unwrap(), "10.0.0.0/8".parse().unwrap()]
    }

    fn client(peer: &str, pairs: &[(&'static str, &str)]) -> IpAddr {
        ClientAddr::resolve(ip(peer), &headers(pairs), &loopback()).ip
    }

    #[test]
    fn a_request_from_an_untrusted_peer_is_that_peer_whatever_its_headers_say() {
        let spoofed = [("x-forwarded-for", "198.51.100.1"), ("forwarded", "for=198.51.100.2")];
        assert_eq!(client("203.0.113.9", &spoofed), ip("203.0.113.9"));
        assert_eq!(ClientAddr::resolve(ip("127.0.0.1"), &headers(&spoofed), &[]).ip, ip("127.0.0.1"));
    }

    #[test]
    fn a_trusted_proxy_names_the_right_most_hop_that_is_not_itself_a_trusted_proxy() {
        assert_eq!(client("127.0.0.1", &[("x-forwarded-for", "203.0.113.7")]), ip("203.0.113.7"));
        // What the client wrote itself is on the left; the proxy appended the real address.
        let appended = [("x-forwarded-for", "198.51.100.1, 203.0.113.7, 10.1.2.3")];
        assert_eq!(client("127.0.0.1", &appended), ip("203.0.113.7"));
        let split = [("x-forwarded-for", "198.51.100.1"), ("x-forwarded-for", "203.0.113.7")];
        assert_eq!(client("127.0.0.1", &split), ip("203.0.113.7"), "header lines join in order");
        assert_eq!(client("127.0.0.1", &[("x-forwarded-for", "10.0.0.5, 10.0.0.6")]), ip("10.0.0.5"));
        assert_eq!(client("127.0.0.1", &[]), ip("127.0.0.1"), "no header: the proxy itself");
    }

    #[test]
    fn forwarded_is_read_before_x_forwarded_for_with_ports_and_quoted_ipv6() {
        let both = [
            ("forwarded", "for=192.0.2.60;proto=https;by=203.0.113.43"),
            ("x-forwarded-for", "198.51.100.1"),
        ];
        assert_eq!(client("127.0.0.1", &both), ip("192.0.2.60"));
        let v6 = [("forwarded", r#"for=198.51.100.1, For="[2001:db8:cafe::17]:4711";proto=https"#)];
        assert_eq!(client("127.0.0.1", &v6), ip("2001:db8:cafe::17"));
        assert_eq!(client("127.0.0.1", &[("forwarded", r#"for="192.0.2.60:8080""#)]), ip("192.0.2.60"));
        assert_eq!(client("127.0.0.1", &[("forwarded", r#"for="[2001:db8::1]""#)]), ip("2001:db8::1"));
        let proto_only = [("forwarded", "proto=https"), ("x-forwarded-for", "198.51.100.1")];
        assert_eq!(
            client("127.0.0.1", &proto_only),
            ip("198.51.100.1"),
            "a Forwarded without for= says nothing"
        );
        let mapped = [("x-forwarded-for", "::ffff:203.0.113.7")];
        assert_eq!(client("::ffff:127.0.0.1", &mapped), ip("203.0.113.7"), "IPv4 in IPv6 is IPv4");
    }

    #[test]
    fn a_value_that_cannot_be_read_leaves_the_peer_as_the_client() {
        for value in ["unknown", "_hidden", "2001:db8::1]", "[2001:db8::1", "\"192.0.2.60", "192.0.2.60:port"]
        {
            assert_eq!(
                client("127.0.0.1", &[("forwarded", &format!("for={value}"))]),
                ip("127.0.0.1"),
                "{value}"
            );
        }
        for value in ["not-an-address", "203.0.113.7, junk", "203.0.113.7:99999"] {
            assert_eq!(client("127.0.0.1", &[("x-forwarded-for", value)]), ip("127.0.0.1"), "{value}");
        }
        // Junk to the left of the client is the client's own writing, and does not matter.
        assert_eq!(client("127.0.0.1", &[("x-forwarded-for", "junk, 203.0.113.7")]), ip("203.0.113.7"));
        // Even when it is not text at all (nginx's $proxy_add_x_forwarded_for appends to it).
        let mut bytes = HeaderMap::new();
        bytes.append("x-forwarded-for", HeaderValue::from_bytes(b"\xff\xfe, 203.0.113.7").unwrap());
        assert_eq!(ClientAddr::resolve(ip("127.0.0.1"), &bytes, &loopback()).ip, ip("203.0.113.7"));
        let mut bytes = HeaderMap::new();
        bytes.append("x-forwarded-for", HeaderValue::from_bytes(b"203.0.113.7, \xff").unwrap());
        assert_eq!(
            ClientAddr::resolve(ip("127.0.0.1"), &bytes, &loopback()).ip,
            ip("127.0.0.1"),
            "nearest unreadable"
        );
    }

    #[test]
    fn quoted_strings_keep_their_separators_and_escapes() {
        assert_eq!(split_outside_quotes(r#"a="x,y";b=2, c"#, ','), [r#"a="x,y";b=2"#, " c"]);
        assert_eq!(unquote(r#""a\"b""#).as_deref(), Some("a\"b"));
        assert_eq!(unquote("token").as_deref(), Some("token"));
        assert_eq!(unquote(r#""open"#), None);
    }

    #[test]
    fn the_operators_networks_are_this_machine_private_and_link_local_ranges_and_the_trusted_proxies() {
        let trusted: Vec<IpNet> = vec!["198.51.100.0/24".parse().unwrap()];
        let operators = |text: &str| ClientAddr { ip: ip(text) }.is_operators(&trusted);
        for own in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.9",
            "192.168.1.20",
            "169.254.0.1",
            "::1",
            "fd00::5",
            "fe80::1",
            "198.51.100.7",
        ] {
            assert!(operators(own), "{own}");
        }
        for stranger in ["203.0.113.9", "8.8.8.8", "172.32.0.1", "2001:db8::1", "2a00:1450::1"] {
            assert!(!operators(stranger), "{stranger}");
        }
    }

    #[test]
    fn an_ipv4_client_is_limited_by_its_address_and_an_ipv6_client_by_its_64() {
        let key = |text: &str| ClientAddr { ip: ip(text) }.limit_key();
        assert_eq!(key("203.0.113.7"), "203.0.113.7");
        assert_eq!(key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:bbbb:cccc:dddd:eeee"), key("2001:db8:1:2::1"));
        assert_ne!(key("2001:db8:1:3::1"), key("2001:db8:1:2::1"));
    }
}
