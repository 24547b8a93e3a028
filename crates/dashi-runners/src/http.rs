//! The HTTP client of URL-based runners, with Redash's private-address block.
//!
//! Unless the context allows private addresses, every address a host name resolves to is
//! checked before any connection is made, and the connection uses only those checked
//! addresses (our resolver hands them to the client), so a name cannot be re-pointed between
//! check and use. Literal IP hosts are checked the same way. Redirects are not followed:
//! a public endpoint could otherwise redirect to an internal one.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::error::{Error, Result};
use crate::tls::{self, Verify};

/// Whether `address` is loopback, private, link-local or otherwise not a public unicast one.
pub(crate) fn is_private(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => is_private_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_private_v4(v4),
            None => is_private_v6(v6),
        },
    }
}

fn is_private_v4(address: Ipv4Addr) -> bool {
    let [first, second, ..] = address.octets();
    address.is_private()
        || address.is_loopback()
        || address.is_link_local()
        || address.is_unspecified()
        || address.is_broadcast()
        || address.is_multicast()
        || first == 0
        // Carrier-grade NAT (100.64.0.0/10) and the reserved 240.0.0.0/4.
        || (first == 100 && (64..128).contains(&second))
        || first >= 240
}

fn is_private_v6(address: Ipv6Addr) -> bool {
    let first_segment = address.segments()[0];
    address.is_loopback()
        || address.is_unspecified()
        || address.is_multicast()
        || address.is_unique_local()
        || address.is_unicast_link_local()
        // Deprecated site-local fec0::/10.
        || (first_segment & 0xffc0) == 0xfec0
}

/// The resolver's refusal, found again in the client's error chain.
#[derive(Debug, thiserror::Error)]
#[error("{host} resolves to a private address ({address})")]
struct Blocked {
    host: String,
    address: IpAddr,
}

struct CheckedResolver;

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addresses: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if let Some(blocked) = addresses.iter().find(|address| is_private(address.ip())) {
                return Err(Box::new(Blocked {
                    host,
                    address: blocked.ip(),
                }) as _);
            }
            Ok(Box::new(addresses.into_iter()) as Addrs)
        })
    }
}

/// Settings of one runner's client.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientSettings {
    pub(crate) allow_private_addresses: bool,
    pub(crate) verify: Verify,
    /// Connecting must finish within this.
    pub(crate) connect_timeout: Duration,
}

/// A client honouring `settings`; its requests are checked with [`check_url`] first.
pub(crate) fn client(settings: ClientSettings) -> Result<reqwest::Client> {
    let tls = tls::client_config(settings.verify, &tls::Material::default(), "verify")?;
    let mut builder = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(settings.connect_timeout)
        .user_agent(concat!("dashi/", env!("CARGO_PKG_VERSION")));
    if !settings.allow_private_addresses {
        builder = builder.dns_resolver(Arc::new(CheckedResolver));
    }
    builder
        .build()
        .map_err(|error| Error::Internal(format!("HTTP client: {error}")))
}

/// Refuses URLs that are not http(s) and, unless allowed, literal private IP hosts.
pub(crate) fn check_url(url: &url::Url, allow_private_addresses: bool) -> Result<()> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::BadQuery(format!(
            "only http and https URLs are supported, not {}",
            url.scheme()
        )));
    }
    if allow_private_addresses {
        return Ok(());
    }
    let literal = match url.host() {
        Some(url::Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
        Some(url::Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
        Some(url::Host::Domain(_)) => None,
        None => return Err(Error::BadQuery("the URL has no host".to_owned())),
    };
    match literal {
        Some(address) if is_private(address) => Err(Error::PrivateAddress {
            host: url.host_str().unwrap_or_default().to_owned(),
            address,
        }),
        _ => Ok(()),
    }
}

/// A failed request as our error: a blocked address, else the target is unreachable.
pub(crate) fn request_error(target: &str, error: reqwest::Error) -> Error {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    while let Some(current) = source {
        if let Some(blocked) = current.downcast_ref::<Blocked>() {
            return Error::PrivateAddress {
                host: blocked.host.clone(),
                address: blocked.address,
            };
        }
        source = current.source();
    }
    Error::unreachable(target.to_owned(), error)
}

/// The target of a URL for messages: scheme, host and port, never credentials or the query.
pub(crate) fn display_target(url: &url::Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{}://{host}:{port}", url.scheme()),
        (Some(host), None) => format!("{}://{host}", url.scheme()),
        _ => url.scheme().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_ranges_are_recognised() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::",
        ] {
            let address: IpAddr = private.parse().expect("address");
            assert!(is_private(address), "{private} should be private");
        }
        for public in ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "172.32.0.1"] {
            let address: IpAddr = public.parse().expect("address");
            assert!(!is_private(address), "{public} should be public");
        }
    }

    #[test]
    fn literal_hosts_are_checked() {
        let check = |url: &str| check_url(&url::Url::parse(url).expect("url"), false);
        assert!(matches!(
            check("http://127.0.0.1:8080/x"),
            Err(Error::PrivateAddress { .. })
        ));
        assert!(matches!(
            check("http://[::1]/x"),
            Err(Error::PrivateAddress { .. })
        ));
        assert!(matches!(
            check("file:///etc/passwd"),
            Err(Error::BadQuery(_))
        ));
        assert!(check("https://example.com/data.csv").is_ok());
    }
}
