//! The client's address: the TCP peer, or the right-most untrusted hop of `X-Forwarded-For`
//! when the peer is a trusted proxy.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;

use crate::AppState;

/// The client address for rate limiting and logs.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip())
            .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let client = resolve(peer, &parts.headers, &state.config.trusted_proxies);
        Ok(Self(client))
    }
}

/// The client behind `peer`: the right-most `X-Forwarded-For` hop that is not a trusted proxy,
/// believed only when the peer itself is trusted (anyone can write the header).
fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let hops: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|hop| hop.trim().parse::<IpAddr>().ok())
        .collect();
    hops.iter()
        .rev()
        .find(|hop| !trusted.contains(hop))
        .copied()
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", value.parse().unwrap());
        headers
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxy = ip("10.0.0.1");
        let headers = forwarded("203.0.113.9, 198.51.100.7");
        assert_eq!(
            resolve(ip("192.0.2.1"), &headers, &[proxy]),
            ip("192.0.2.1"),
            "untrusted peer"
        );
        assert_eq!(
            resolve(proxy, &headers, &[proxy]),
            ip("198.51.100.7"),
            "right-most untrusted hop"
        );
        let chained = forwarded("203.0.113.9, 10.0.0.2");
        assert_eq!(
            resolve(proxy, &chained, &[proxy, ip("10.0.0.2")]),
            ip("203.0.113.9")
        );
        assert_eq!(
            resolve(proxy, &HeaderMap::new(), &[proxy]),
            proxy,
            "no header"
        );
        assert_eq!(resolve(proxy, &forwarded("garbage"), &[proxy]), proxy);
    }
}
