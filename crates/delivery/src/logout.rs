use std::net::SocketAddr;
use std::time::Duration;

use portico_core::directory::is_internal_address;
use portico_core::oauth::BackchannelLogout;

use crate::{DeliveryError, answered};

/// Sends back-channel logout requests (OpenID Connect Back-Channel Logout 1.0 §2.5): the
/// logout token form-encoded in a POST to the app's URI.
#[derive(Debug, Clone)]
pub struct LogoutTransport {
    client: reqwest::Client,
}

/// Short timeouts, and never a redirect: the URI is the one registered, and a redirect could
/// carry the token somewhere else.
fn builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Portico/", env!("CARGO_PKG_VERSION")))
}

impl LogoutTransport {
    /// A transport for the operators' apps.
    pub fn new() -> Result<Self, DeliveryError> {
        let client = builder()
            .build()
            .map_err(|e| DeliveryError::Transient(format!("HTTP client: {e}")))?;
        Ok(Self { client })
    }

    /// POSTs one logout token; any 2xx is success (§2.8: 200, or 204 with no body).
    pub async fn send(&self, request: &BackchannelLogout) -> Result<(), DeliveryError> {
        let client = if request.public_only {
            pinned_to_public_address(&request.uri).await?
        } else {
            self.client.clone()
        };
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("logout_token", &request.logout_token)
            .finish();
        let response = client
            .post(&request.uri)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .await
            .map_err(|e| DeliveryError::Transient(e.without_url().to_string()))?;
        answered("app", response.status())
    }
}

/// A client that connects only to the addresses the URI's host resolves to now, all of them
/// public: a self-registered app cannot aim Portico at its own network, by name or by a
/// second DNS answer between the check and the connection.
async fn pinned_to_public_address(uri: &str) -> Result<reqwest::Client, DeliveryError> {
    let url = url::Url::parse(uri)
        .map_err(|_| DeliveryError::Permanent("the logout URI is not a URL".into()))?;
    let host = url
        .host_str()
        .ok_or_else(|| DeliveryError::Permanent("the logout URI has no host".into()))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = url.port_or_known_default().unwrap_or(443);
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|e| DeliveryError::Transient(format!("cannot resolve the logout URI: {e}")))?
        .collect();
    if addresses.is_empty() || addresses.iter().any(|a| is_internal_address(a.ip())) {
        return Err(DeliveryError::Permanent(
            "a registered app's logout URI resolves to an internal address".into(),
        ));
    }
    builder()
        .resolve_to_addrs(&host, &addresses)
        .build()
        .map_err(|e| DeliveryError::Transient(format!("HTTP client: {e}")))
}
