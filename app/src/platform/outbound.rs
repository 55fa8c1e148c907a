//! Requests the server sends to other hosts on someone's behalf (an app's egress). Guarded
//! against server-side request forgery: names are resolved here and only public addresses are
//! connected to (the addresses checked are the addresses used, so a name that changes its answer
//! between a check and a connection cannot slip through), redirects are never followed, no proxy
//! from the environment is used, and every request has a time limit.

use std::{
    net::{IpAddr, SocketAddr},
    path::PathBuf,
    sync::Arc,
    time::Duration,
};

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum OutboundError {
    #[error("the outbound CA file {path} cannot be used: {reason}")]
    CaFile { path: PathBuf, reason: String },
    #[error("the outbound HTTP client cannot be built: {0}")]
    Client(String),
}

/// Why a name resolved to nothing we may connect to.
#[derive(Debug, Error)]
#[error("the host resolves only to private, loopback or reserved addresses")]
pub struct PrivateAddress;

/// How outbound requests behave; the operator's settings.
#[derive(Debug, Clone)]
pub struct OutboundSettings {
    /// Whether private, loopback and link-local addresses may be reached (tests and local
    /// development; never in production).
    pub allow_private: bool,
    /// A PEM file of further CAs to trust (an internal CA, or a test's).
    pub extra_ca_file: Option<PathBuf>,
    /// The most one request may take, its answer included.
    pub timeout: Duration,
}

impl Default for OutboundSettings {
    fn default() -> Self {
        Self {
            allow_private: false,
            extra_ca_file: None,
            timeout: Duration::from_secs(30),
        }
    }
}

/// The shared client for outbound requests (its connections are pooled).
#[derive(Clone)]
pub struct Outbound {
    client: reqwest::Client,
}

impl Outbound {
    pub fn new(settings: &OutboundSettings) -> Result<Self, OutboundError> {
        let mut builder = reqwest::Client::builder()
            .https_only(true)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .referer(false)
            .connect_timeout(Duration::from_secs(5).min(settings.timeout))
            .pool_max_idle_per_host(8)
            .timeout(settings.timeout)
            .user_agent(concat!("custodian-egress/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(PublicOnly {
                allow_private: settings.allow_private,
            }));
        if let Some(path) = &settings.extra_ca_file {
            let ca_error = |reason: String| OutboundError::CaFile {
                path: path.clone(),
                reason,
            };
            let pem = std::fs::read(path).map_err(|error| ca_error(error.to_string()))?;
            for certificate in reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|error| ca_error(error.to_string()))?
            {
                builder = builder.add_root_certificate(certificate);
            }
        }
        let client = builder
            .build()
            .map_err(|error| OutboundError::Client(error.to_string()))?;
        Ok(Self { client })
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }
}

/// Resolves a name to the addresses that may be connected to: public ones only, unless the
/// operator allowed private ones.
struct PublicOnly {
    allow_private: bool,
}

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0))
                .await?
                .filter(|address| allow_private || is_public(address.ip()))
                .collect();
            if found.is_empty() {
                return Err(Box::new(PrivateAddress) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(found.into_iter()) as Addrs)
        })
    }
}

/// Networks no outbound request may reach: this machine, private and carrier networks, link-
/// local (cloud metadata), documentation, benchmarking, multicast and reserved ranges.
const NOT_PUBLIC: &[&str] = &[
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.88.99.0/24",
    "168.63.129.16/32",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/3",
    "::/96",
    "::ffff:0:0:0/96",
    "64:ff9b:1::/48",
    "100::/64",
    "2001::/23",
    "2001:db8::/32",
    "fc00::/7",
    "fe80::/10",
    "fec0::/10",
    "ff00::/8",
];

/// Whether `ip` is a public address. An IPv6 address that carries an IPv4 one (mapped, NAT64,
/// 6to4) is judged by the address it carries.
pub fn is_public(ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => {
            let segments = v6.segments();
            let octets = v6.octets();
            let embedded = |at: usize| {
                IpAddr::V4(std::net::Ipv4Addr::new(
                    octets[at],
                    octets[at + 1],
                    octets[at + 2],
                    octets[at + 3],
                ))
            };
            if let Some(v4) = v6.to_ipv4_mapped() {
                IpAddr::V4(v4)
            } else if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                embedded(12)
            } else if segments[0] == 0x2002 {
                embedded(2)
            } else {
                ip
            }
        }
        IpAddr::V4(_) => ip,
    };
    !NOT_PUBLIC.iter().any(|network| {
        network
            .parse::<IpNet>()
            .is_ok_and(|network| network.contains(&ip))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        let public = |text: &str| is_public(text.parse().unwrap());
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.20.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.100.1.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "2002:7f00:1::",
            "2001:db8::1",
            "::127.0.0.1",
            "64:ff9b:1::a00:1",
            "168.63.129.16",
        ] {
            assert!(!public(private), "{private} is not public");
        }
        for address in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700::1111",
            "::ffff:1.1.1.1",
        ] {
            assert!(public(address), "{address} is public");
        }
        for network in NOT_PUBLIC {
            assert!(network.parse::<IpNet>().is_ok(), "{network} parses");
        }
    }
}
