use std::path::PathBuf;
use std::time::Duration;

use portico_core::outbox::OutboundMessage;

use crate::{DeliveryError, answered, file_dir};

/// Where text messages go.
#[derive(Debug, Clone)]
pub enum SmsTransport {
    /// One JSON file (`{"to","body"}`) per message in a directory.
    Files(PathBuf),
    /// A generic JSON webhook: `POST {"to","body"}`; any 2xx is success.
    Webhook {
        /// The URL.
        url: String,
        /// HTTP client with timeouts.
        client: reqwest::Client,
    },
}

impl SmsTransport {
    /// Parses `--sms-url`.
    pub fn from_url(url: &str) -> Result<Self, DeliveryError> {
        let bad = |hint| DeliveryError::BadUrl {
            what: "sms",
            url: crate::shown_url(url),
            hint,
        };
        if url.starts_with("file:") {
            return file_dir(url)
                .map(Self::Files)
                .ok_or_else(|| bad("use file:///absolute/dir"));
        }
        if url.starts_with("https://") || url.starts_with("http://") {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(15))
                .build()
                .map_err(|_| bad("the HTTP client could not be built"))?;
            return Ok(Self::Webhook {
                url: url.to_owned(),
                client,
            });
        }
        Err(bad("use https://provider/webhook or file:///dir"))
    }

    /// Sends one message.
    pub async fn send(&self, id: &str, message: &OutboundMessage) -> Result<(), DeliveryError> {
        let body = serde_json::json!({ "to": message.to, "body": message.text });
        match self {
            Self::Files(dir) => {
                let transient =
                    |e: std::io::Error| DeliveryError::Transient(format!("{}: {e}", dir.display()));
                tokio::fs::create_dir_all(dir).await.map_err(transient)?;
                let tmp = dir.join(format!(".{id}.tmp"));
                tokio::fs::write(&tmp, body.to_string())
                    .await
                    .map_err(transient)?;
                tokio::fs::rename(&tmp, dir.join(format!("{id}.json")))
                    .await
                    .map_err(transient)
            }
            Self::Webhook { url, client } => {
                let response = client
                    .post(url)
                    .json(&body)
                    .send()
                    .await
                    .map_err(|e| DeliveryError::Transient(e.to_string()))?;
                answered("provider", response.status())
            }
        }
    }
}
