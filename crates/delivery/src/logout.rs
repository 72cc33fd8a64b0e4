use std::time::Duration;

use portico_core::oauth::BackchannelLogout;

use crate::{DeliveryError, answered};

/// Sends back-channel logout requests (OpenID Connect Back-Channel Logout 1.0 §2.5): the
/// logout token form-encoded in a POST to the app's URI.
#[derive(Debug, Clone)]
pub struct LogoutTransport {
    client: reqwest::Client,
}

impl LogoutTransport {
    /// A transport with short timeouts that never follows redirects: the URI is the one the
    /// operator registered, and a redirect could carry the token to somewhere else.
    pub fn new() -> Result<Self, DeliveryError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Portico/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| DeliveryError::Transient(format!("HTTP client: {e}")))?;
        Ok(Self { client })
    }

    /// POSTs one logout token; any 2xx is success (§2.8: 200, or 204 with no body).
    pub async fn send(&self, request: &BackchannelLogout) -> Result<(), DeliveryError> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("logout_token", &request.logout_token)
            .finish();
        let response = self
            .client
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
