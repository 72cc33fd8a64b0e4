//! Client metadata (RFC 7591 §2): what a registration request carries, read into what
//! Portico offers registered clients, and the hosts they may not point Portico at.

use std::net::IpAddr;

use serde::Deserialize;

use super::{RegistrationError, metadata_error};
use crate::directory::{AppKind, LogoutUris};
use crate::oauth::DEVICE_CODE_GRANT;

/// Client metadata as a registration request carries it (RFC 7591 §2). Members Portico does
/// not know are ignored, as §2 asks.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ClientMetadata {
    /// Redirect URIs.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// `none`, `client_secret_basic` (the default), `client_secret_post` or `private_key_jwt`.
    #[serde(default)]
    pub token_endpoint_auth_method: Option<String>,
    /// Grant types (default `authorization_code`).
    #[serde(default)]
    pub grant_types: Option<Vec<String>>,
    /// Response types (default `code`; only `code` is offered).
    #[serde(default)]
    pub response_types: Option<Vec<String>>,
    /// `web` (the default) or `native`.
    #[serde(default)]
    pub application_type: Option<String>,
    /// Display name.
    #[serde(default)]
    pub client_name: Option<String>,
    /// Public keys for `private_key_jwt` (a JWK Set).
    #[serde(default)]
    pub jwks: Option<serde_json::Value>,
    /// Keys by reference (not offered: Portico does not fetch keys).
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// Where the app may be sent after logout: must be among its redirect URIs.
    #[serde(default)]
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// Back-Channel Logout 1.0 URI.
    #[serde(default)]
    pub backchannel_logout_uri: Option<String>,
    /// Front-Channel Logout 1.0 URI.
    #[serde(default)]
    pub frontchannel_logout_uri: Option<String>,
    /// RFC 9449 §5.2: every token request carries a DPoP proof.
    #[serde(default)]
    pub dpop_bound_access_tokens: Option<bool>,
    /// RFC 7592 §2.2: a PUT names the client it replaces.
    #[serde(default)]
    pub client_id: Option<String>,
    /// RFC 7592 §2.2: a PUT may repeat the secret; it must match.
    #[serde(default)]
    pub client_secret: Option<String>,
}

/// What a registration asks for, checked against what registration offers.
pub(super) struct Requested {
    pub(super) kind: AppKind,
    pub(super) auth_method: String,
    pub(super) name: String,
    pub(super) redirect_uris: Vec<String>,
    pub(super) client_keys: Vec<crate::directory::ClientKey>,
    pub(super) device_code: bool,
    pub(super) require_dpop: bool,
    pub(super) logout: LogoutUris,
}

const OFFERED_GRANTS: &[&str] = &[
    "authorization_code",
    "refresh_token",
    "client_credentials",
    DEVICE_CODE_GRANT,
];

/// Whether an address is the machine itself or a network that is not the public internet
/// (private, link-local, carrier-grade NAT, unique-local, IPv4 written as IPv6): where a
/// registered client must not point Portico's outbound calls (an attacker with an initial
/// access token would otherwise reach them through back-channel logout).
pub fn is_internal_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                // IETF protocol assignments (192.0.0.0/24, where some clouds keep metadata),
                // benchmarking (198.18.0.0/15) and reserved (240.0.0.0/4).
                || (a == 192 && b == 0 && c == 0)
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal_address(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                // Site-local (fec0::/10, deprecated but still routed by some stacks).
                || (first & 0xffc0) == 0xfec0
                // NAT64 (64:ff9b::/96, and the local-use 64:ff9b:1::/48) reaches IPv4
                // networks behind the gateway.
                || v6.segments()[..6] == [0x64, 0xff9b, 0, 0, 0, 0]
                || v6.segments()[..3] == [0x64, 0xff9b, 1]
        }
    }
}

/// Whether a URL's host is internal: an internal address, or a name that only means
/// something inside (`localhost`, `*.local`, `*.internal`). Names are checked again, as
/// addresses, when the request is made.
fn internal_host(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost"
                || [".localhost", ".local", ".internal", ".localdomain"]
                    .iter()
                    .any(|suffix| name.ends_with(suffix))
                || !name.contains('.')
        }
        Some(url::Host::Ipv4(ip)) => is_internal_address(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => is_internal_address(IpAddr::V6(ip)),
        None => true,
    }
}

impl ClientMetadata {
    /// What kind of app this metadata would register, or why it is refused (the checks
    /// that need no tenant; the app's own rules run at registration).
    pub fn kind(&self) -> Result<AppKind, RegistrationError> {
        self.requested().map(|requested| requested.kind)
    }

    pub(super) fn requested(&self) -> Result<Requested, RegistrationError> {
        let method = self
            .token_endpoint_auth_method
            .as_deref()
            .unwrap_or("client_secret_basic");
        let grants: Vec<&str> = match &self.grant_types {
            Some(list) => list.iter().map(String::as_str).collect(),
            None => vec!["authorization_code"],
        };
        if let Some(grant) = grants.iter().find(|g| !OFFERED_GRANTS.contains(g)) {
            return Err(metadata_error(format!(
                "grant type {grant:?} is not offered to registered clients"
            )));
        }
        let response_types = self
            .response_types
            .clone()
            .unwrap_or_else(|| vec!["code".into()]);
        if response_types.iter().any(|r| r != "code") {
            return Err(metadata_error(
                "only the code response type is offered to registered clients",
            ));
        }
        if self.jwks_uri.is_some() {
            return Err(metadata_error(
                "jwks_uri is not supported: register the keys themselves (jwks)",
            ));
        }
        let native = match self.application_type.as_deref() {
            None | Some("web") => false,
            Some("native") => true,
            Some(other) => {
                return Err(metadata_error(format!(
                    "application_type {other:?} must be web or native"
                )));
            }
        };
        let only_client_credentials = grants.iter().all(|g| *g == "client_credentials");
        let kind = match method {
            "none" if grants.contains(&"client_credentials") => {
                return Err(metadata_error(
                    "client_credentials needs client authentication",
                ));
            }
            "none" if native => AppKind::Native,
            "none" => AppKind::Spa,
            "client_secret_basic" | "client_secret_post" | "private_key_jwt"
                if only_client_credentials =>
            {
                AppKind::Daemon
            }
            "client_secret_basic" | "client_secret_post" | "private_key_jwt" => AppKind::Web,
            other => {
                return Err(metadata_error(format!(
                    "token_endpoint_auth_method {other:?} is not supported"
                )));
            }
        };
        let client_keys = match (&self.jwks, method) {
            (Some(jwks), "private_key_jwt") => {
                crate::directory::parse_client_keys(&jwks.to_string())
                    .map_err(|e| metadata_error(e.to_string()))?
            }
            (None, "private_key_jwt") => {
                return Err(metadata_error(
                    "private_key_jwt needs the public keys (jwks)",
                ));
            }
            (Some(_), _) => {
                return Err(metadata_error(
                    "jwks is for clients that authenticate with private_key_jwt",
                ));
            }
            (None, _) => Vec::new(),
        };
        if grants.contains(&"authorization_code") && self.redirect_uris.is_empty() {
            return Err(RegistrationError::InvalidRedirectUri(
                "the authorization_code grant needs a redirect URI".into(),
            ));
        }
        if let Some(extra) = self
            .post_logout_redirect_uris
            .iter()
            .flatten()
            .find(|uri| !self.redirect_uris.contains(uri))
        {
            return Err(metadata_error(format!(
                "post-logout redirect URI {extra:?} must also be a redirect URI"
            )));
        }
        if let Some(uri) = &self.backchannel_logout_uri {
            let internal = url::Url::parse(uri)
                .map_or(true, |url| url.scheme() != "https" || internal_host(&url));
            if internal {
                return Err(metadata_error(
                    "a registered client's back-channel logout URI must be https on a public host",
                ));
            }
        }
        let name = self
            .client_name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| "Registered application".into());
        Ok(Requested {
            kind,
            auth_method: method.to_owned(),
            name,
            redirect_uris: self.redirect_uris.clone(),
            client_keys,
            device_code: grants.contains(&DEVICE_CODE_GRANT),
            require_dpop: self.dpop_bound_access_tokens.unwrap_or(false),
            logout: LogoutUris {
                backchannel: self.backchannel_logout_uri.clone(),
                frontchannel: self.frontchannel_logout_uri.clone(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_ranges_include_metadata_benchmarking_reserved_and_nat64() {
        for internal in [
            "192.0.0.192",
            "198.18.0.1",
            "198.19.255.255",
            "240.0.0.1",
            "255.255.255.255",
            "fec0::1",
            "64:ff9b:1::a00:1",
            "64:ff9b::a9fe:a9fe",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_internal_address(internal.parse().unwrap()), "{internal}");
        }
        for public in [
            "192.0.2.1",
            "198.20.0.1",
            "93.184.215.14",
            "2606:4700::1111",
        ] {
            assert!(!is_internal_address(public.parse().unwrap()), "{public}");
        }
    }

    proptest::proptest! {
        /// Whatever metadata arrives, reading it never panics; a public client is never
        /// registered as confidential or the reverse, and of confidential clients only those
        /// asking for client_credentials alone become daemons.
        #[test]
        fn any_metadata_reads_safely(
            method in proptest::option::of("(none|client_secret_basic|client_secret_post|private_key_jwt|[a-z_]{0,12})"),
            grants in proptest::option::of(proptest::collection::vec("(authorization_code|refresh_token|client_credentials|implicit|[a-z:_]{0,20})", 0..4)),
            kind in proptest::option::of("(web|native|[a-z]{0,6})"),
            uri in ".{0,60}",
        ) {
            let metadata = ClientMetadata {
                redirect_uris: vec![uri.clone()],
                token_endpoint_auth_method: method.clone(),
                grant_types: grants.clone(),
                application_type: kind,
                backchannel_logout_uri: Some(uri),
                ..ClientMetadata::default()
            };
            if let Ok(kind) = metadata.kind() {
                let public = method.as_deref() == Some("none");
                proptest::prop_assert_eq!(public, !kind.is_confidential());
                let only_cc = grants
                    .as_ref()
                    .is_some_and(|g| g.iter().all(|x| x == "client_credentials"));
                if kind.is_confidential() {
                    proptest::prop_assert_eq!(kind == AppKind::Daemon, only_cc);
                }
            }
        }
    }

    fn metadata(json: serde_json::Value) -> ClientMetadata {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn the_kind_follows_authentication_and_grants() {
        let kind = |json| metadata(json).requested().map(|r| r.kind);
        let cb = serde_json::json!(["https://app.example/cb"]);
        assert_eq!(
            kind(serde_json::json!({"redirect_uris": cb})).ok(),
            Some(AppKind::Web)
        );
        assert_eq!(
            kind(serde_json::json!({"redirect_uris": cb, "token_endpoint_auth_method": "none"}))
                .ok(),
            Some(AppKind::Spa)
        );
        assert_eq!(
            kind(serde_json::json!({"redirect_uris": ["myapp://cb"], "token_endpoint_auth_method": "none", "application_type": "native"})).ok(),
            Some(AppKind::Native)
        );
        assert_eq!(
            kind(serde_json::json!({"grant_types": ["client_credentials"]})).ok(),
            Some(AppKind::Daemon)
        );
        for refused in [
            serde_json::json!({}),
            serde_json::json!({"redirect_uris": cb, "grant_types": ["implicit"]}),
            serde_json::json!({"redirect_uris": cb, "response_types": ["token"]}),
            serde_json::json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"}),
            serde_json::json!({"redirect_uris": cb, "token_endpoint_auth_method": "private_key_jwt"}),
            serde_json::json!({"redirect_uris": cb, "jwks_uri": "https://app.example/jwks"}),
            serde_json::json!({"redirect_uris": cb, "post_logout_redirect_uris": ["https://evil.example/"]}),
            serde_json::json!({"redirect_uris": cb, "backchannel_logout_uri": "https://127.0.0.1/logout"}),
            serde_json::json!({"redirect_uris": cb, "backchannel_logout_uri": "https://10.1.2.3/logout"}),
            serde_json::json!({"redirect_uris": cb, "backchannel_logout_uri": "https://[::1]/logout"}),
            serde_json::json!({"redirect_uris": cb, "backchannel_logout_uri": "https://[::ffff:127.0.0.1]/logout"}),
            serde_json::json!({"redirect_uris": cb, "backchannel_logout_uri": "https://100.64.0.1/logout"}),
            serde_json::json!({"redirect_uris": cb, "backchannel_logout_uri": "https://localhost./logout"}),
            serde_json::json!({"redirect_uris": cb, "backchannel_logout_uri": "https://metadata.google.internal/logout"}),
            serde_json::json!({"redirect_uris": cb, "backchannel_logout_uri": "https://intranet/logout"}),
            serde_json::json!({"redirect_uris": cb, "backchannel_logout_uri": "http://app.example/logout"}),
        ] {
            assert!(kind(refused.clone()).is_err(), "{refused}");
        }
    }
}
