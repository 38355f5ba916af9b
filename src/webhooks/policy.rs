//! Where webhooks may send: only `http` and `https` URLs whose every address is a public one.
//! A webhook's URL is checked when it is set ([`check_url`]) and again at each connection
//! ([`PublicOnly`], the HTTP client's resolver), so a name that resolves to a public address
//! when registered and to `127.0.0.1` later (DNS rebinding) still cannot reach the
//! service's own network. The operator may allow private addresses
//! (`LEDGERFLOW_WEBHOOK_ALLOW_PRIVATE`), for receivers inside the network and for tests.

use crate::ledger::{Code, Refusal};
use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Longest URL taken, in bytes.
pub const MAX_URL_LEN: usize = 2048;

/// The longest a registration waits for its host's addresses.
const LOOKUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Whether `ip` is an address a webhook may be sent to: not loopback, private (RFC 1918,
/// fc00::/7), link-local, unspecified, multicast, broadcast, shared (CGNAT 100.64/10),
/// reserved, nor an IPv4 address of these in an IPv6 form (mapped, compatible, NAT64).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    let this_network = a == 0;
    let shared = a == 100 && (64..128).contains(&b);
    let reserved = a >= 240;
    !(this_network
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || shared
        || reserved)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    let unique_local = first & 0xfe00 == 0xfc00;
    let link_local = first & 0xffc0 == 0xfe80;
    // Deprecated, but a host may still route it inside its site.
    let site_local = first & 0xffc0 == 0xfec0;
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || unique_local
        || link_local
        || site_local)
}

/// The IPv4 address an IPv6 one stands for: IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible
/// (`::a.b.c.d`, deprecated) and NAT64 (`64:ff9b::a.b.c.d`) all reach the IPv4 address.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = ip.segments();
    let last = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    let compatible = s[..6] == [0; 6] && !ip.is_loopback() && !ip.is_unspecified();
    let nat64 = s[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
    (compatible || nat64).then_some(last)
}

/// Parses `text` as a webhook URL: absolute, `http` or `https`, with a host, no user or
/// password (they would travel in clear to whoever the URL names).
pub fn parse_url(text: &str) -> Result<Url, Refusal> {
    let invalid = |why: &str| Refusal::new(Code::InvalidWebhookUrl, why.to_owned());
    if text.len() > MAX_URL_LEN {
        return Err(invalid("the URL is longer than 2048 bytes"));
    }
    let url = Url::parse(text).map_err(|e| invalid(&format!("not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("only http and https URLs are taken"));
    }
    if url.host().is_none() {
        return Err(invalid("the URL has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("the URL may not carry a user or password"));
    }
    Ok(url)
}

/// The address `url`'s host names literally, if it is one (`[…]` for IPv6 in a URL).
fn literal(url: &Url) -> Option<IpAddr> {
    let host = url.host_str()?;
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
    bare.unwrap_or(host).parse().ok()
}

/// The addresses `url`'s host stands for: its literal address, or what it resolves to now.
async fn addresses(url: &Url) -> Result<Vec<IpAddr>, Refusal> {
    if let Some(ip) = literal(url) {
        return Ok(vec![ip]);
    }
    let name = url.host_str().unwrap_or_default();
    let port = url.port_or_known_default().unwrap_or(443);
    let unresolved = |why: String| {
        Refusal::new(
            Code::InvalidWebhookUrl,
            format!("the host {name} does not resolve: {why}"),
        )
    };
    // A request should not hang on a resolver that does not answer.
    let lookup = tokio::net::lookup_host((name, port));
    let found = tokio::time::timeout(LOOKUP_TIMEOUT, lookup)
        .await
        .map_err(|_| unresolved(format!("no answer within {} s", LOOKUP_TIMEOUT.as_secs())))?
        .map_err(|e| unresolved(e.to_string()))?;
    Ok(found.map(|a| a.ip()).collect())
}

/// Parses and checks a webhook URL as it is set: every address its host has now must be
/// public, unless `allow_private`.
pub async fn check_url(text: &str, allow_private: bool) -> Result<Url, Refusal> {
    let url = parse_url(text)?;
    let found = addresses(&url).await?;
    if found.is_empty() {
        return Err(Refusal::new(
            Code::InvalidWebhookUrl,
            "the host has no address",
        ));
    }
    if !allow_private && let Some(ip) = found.iter().find(|ip| !is_public(**ip)) {
        return Err(Refusal::new(
            Code::WebhookUrlNotAllowed,
            format!(
                "the URL's host is or resolves to {ip}, a loopback, private, link-local or \
                 otherwise internal address, which webhooks are not sent to"
            ),
        ));
    }
    Ok(url)
}

/// Whether `url`'s host is a literal address that may not be sent to (the resolver below
/// is not asked for a literal address).
pub fn literal_refused(url: &Url) -> Option<IpAddr> {
    literal(url).filter(|ip| !is_public(*ip))
}

/// The delivery client's resolver: the system's answer without the addresses webhooks may
/// not reach. A name left with none fails to connect, and the attempt is a failed one.
#[derive(Debug, Clone, Copy)]
pub struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let public: Vec<SocketAddr> = found.filter(|a| is_public(a.ip())).collect();
            if public.is_empty() {
                let refused = format!("{host} has no address webhooks may be sent to");
                return Err(refused.into());
            }
            let addrs: Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    #[test]
    fn every_internal_range_is_refused() {
        for refused in [
            "127.0.0.1",
            "127.255.0.9",
            "10.0.0.1",
            "10.255.255.255",
            "172.16.0.1",
            "172.31.255.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "0.1.2.3",
            "224.0.0.1",
            "239.255.255.250",
            "255.255.255.255",
            "100.64.0.1",
            "100.127.255.254",
            "240.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "::ffff:169.254.169.254",
            "::ffff:100.64.1.1",
            "::127.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert!(!is_public(ip(refused)), "{refused} must be refused");
        }
    }

    #[test]
    fn public_addresses_are_taken() {
        for taken in [
            "93.184.216.34",
            "1.1.1.1",
            "8.8.8.8",
            "172.32.0.1",
            "172.15.255.255",
            "100.63.255.255",
            "100.128.0.1",
            "192.169.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert!(is_public(ip(taken)), "{taken} must be taken");
        }
    }

    #[test]
    fn only_http_urls_with_a_host_and_no_credentials_parse() {
        for bad in [
            "ftp://example.com/x",
            "file:///etc/passwd",
            "example.com/hook",
            "https://user:pw@example.com/",
            "http://",
            "",
        ] {
            let refusal = parse_url(bad).expect_err(bad);
            assert_eq!(refusal.code, Code::InvalidWebhookUrl, "{bad}");
        }
        assert!(parse_url("https://example.com/hook?x=1").is_ok());
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        assert!(parse_url(&long).is_err());
    }

    #[tokio::test]
    async fn literal_and_resolved_internal_hosts_are_refused_unless_allowed() {
        for url in [
            "http://127.0.0.1:9/x",
            "http://[::1]/x",
            "http://localhost:8080/",
            "http://0x7f.1/",
            "http://[::ffff:192.168.0.1]/",
            "http://169.254.169.254/latest/meta-data",
        ] {
            let refusal = check_url(url, false).await.expect_err(url);
            assert_eq!(refusal.code, Code::WebhookUrlNotAllowed, "{url}");
            assert!(check_url(url, true).await.is_ok(), "{url} when allowed");
        }
        let literal = parse_url("http://10.0.0.1/").expect("a URL");
        assert_eq!(literal_refused(&literal), Some(ip("10.0.0.1")));
        let public = parse_url("http://8.8.8.8/").expect("a URL");
        assert_eq!(literal_refused(&public), None);
    }

    #[tokio::test]
    async fn the_resolver_drops_internal_addresses() {
        let name: Name = "localhost".parse().expect("a name");
        let resolved = PublicOnly.resolve(name).await;
        assert!(resolved.is_err(), "localhost has only loopback addresses");
    }
}
