//! Who is asking: the client's address (through trusted proxies only) and user agent, and the
//! shortened forms that the session list and the security log show.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The client of one request, put into the request's extensions by the server's middleware.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    pub ip: IpAddr,
    pub user_agent: String,
    /// The random id in the browser's consent cookie, once it has one (set by the consent
    /// middleware after the cookie's signature checked out).
    pub consent_id: Option<uuid::Uuid>,
}

const MAX_USER_AGENT: usize = 300;

impl ClientInfo {
    /// The client as seen through `trusted_proxies`: X-Forwarded-For is read only when the peer
    /// is one of them, and then from the right, skipping further trusted hops.
    pub fn from_request(peer: SocketAddr, headers: &HeaderMap, trusted_proxies: &[IpNet]) -> Self {
        let trusted = |ip: &IpAddr| trusted_proxies.iter().any(|net| net.contains(ip));
        let mut ip = peer.ip();
        if trusted(&ip) {
            let hops = headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .map(str::trim)
                .collect::<Vec<_>>();
            for hop in hops.iter().rev() {
                match hop.parse::<IpAddr>() {
                    Ok(hop) if trusted(&hop) => ip = hop,
                    Ok(hop) => {
                        ip = hop;
                        break;
                    }
                    Err(_) => break,
                }
            }
        }
        let user_agent = headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .chars()
            .take(MAX_USER_AGENT)
            .collect();
        Self {
            ip,
            user_agent,
            consent_id: None,
        }
    }

    /// The network rather than the address: /24 for IPv4, /48 for IPv6.
    pub fn ip_prefix(&self) -> String {
        let prefix = match self.ip.to_canonical() {
            IpAddr::V4(v4) => IpNet::new(IpAddr::V4(v4), 24),
            IpAddr::V6(v6) => IpNet::new(IpAddr::V6(v6), 48),
        };
        prefix
            .map(|net| net.trunc().to_string())
            .unwrap_or_default()
    }

    /// "Firefox on Linux", from the user agent; "Unknown browser" when it says nothing useful.
    pub fn device(&self) -> String {
        describe_user_agent(&self.user_agent)
    }
}

pub fn describe_user_agent(user_agent: &str) -> String {
    match woothee::parser::Parser::new().parse(user_agent) {
        Some(found) if found.name != "UNKNOWN" => {
            if found.os == "UNKNOWN" {
                found.name.to_owned()
            } else {
                format!("{} on {}", found.name, found.os)
            }
        }
        _ => "Unknown browser".to_owned(),
    }
}

/// A cookie's value in the request, if present.
pub fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(key, value)| (key == name).then_some(value))
}

/// Parses TRUSTED_PROXIES: addresses or networks separated by commas.
pub fn parse_trusted_proxies(raw: &str) -> Result<Vec<IpNet>, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.parse::<IpNet>()
                .or_else(|_| part.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| part.to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(forwarded: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_static(forwarded));
        headers
    }

    #[test]
    fn forwarded_for_is_ignored_unless_the_peer_is_trusted() {
        let peer: SocketAddr = "10.0.0.5:4000".parse().unwrap();
        let spoofed = headers("203.0.113.9");
        assert_eq!(
            ClientInfo::from_request(peer, &spoofed, &[]).ip,
            peer.ip(),
            "untrusted peer"
        );
        let proxies = parse_trusted_proxies("10.0.0.0/8, 192.0.2.1").unwrap();
        let chain = headers("198.51.100.7, 203.0.113.9, 192.0.2.1");
        assert_eq!(
            ClientInfo::from_request(peer, &chain, &proxies).ip,
            "203.0.113.9".parse::<IpAddr>().unwrap(),
            "the rightmost untrusted hop"
        );
    }

    #[test]
    fn addresses_are_shortened_to_their_network() {
        let client = |ip: &str| ClientInfo {
            ip: ip.parse().unwrap(),
            user_agent: String::new(),
            consent_id: None,
        };
        assert_eq!(client("203.0.113.77").ip_prefix(), "203.0.113.0/24");
        assert_eq!(
            client("2001:db8:abcd:12::1").ip_prefix(),
            "2001:db8:abcd::/48"
        );
        assert_eq!(client("::ffff:198.51.100.3").ip_prefix(), "198.51.100.0/24");
    }

    #[test]
    fn user_agents_become_browser_and_os() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        assert_eq!(describe_user_agent(firefox), "Firefox on Linux");
        assert_eq!(describe_user_agent("curl-ish"), "Unknown browser");
    }

    #[test]
    fn junk_in_trusted_proxies_is_named() {
        assert_eq!(
            parse_trusted_proxies("10.0.0.1, nope"),
            Err("nope".to_owned())
        );
    }
}
