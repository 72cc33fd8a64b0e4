//! Delivery of queued messages. The domain writes messages to the outbox (in the same
//! transaction as whatever they announce); the [`Worker`] claims due messages, sends them
//! through the configured transports (mail, SMS, and back-channel logout requests to apps),
//! and reschedules failures with backoff. Delivery is
//! at-least-once: a crash between sending and recording can send a message twice, never zero
//! times. [`CalloutClient`] makes the calls to custom authentication extensions.

mod callout;
mod logout;
mod mail;
mod relay_tls;
mod sms;
mod smtp;
mod worker;

pub use callout::CalloutClient;
pub use logout::LogoutTransport;
pub use mail::MailTransport;
pub use sms::SmsTransport;
pub use smtp::SmtpRelay;
pub use worker::Worker;

/// Why a transport could not be set up or a message not sent.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The transport URL is not one Portico understands.
    #[error("unsupported {what} URL {url:?}: {hint}")]
    BadUrl {
        /// mail or sms.
        what: &'static str,
        /// The URL, its password (if any) masked: the error reaches logs.
        url: String,
        /// What would work.
        hint: &'static str,
    },
    /// The message itself is unusable (bad address): retrying will not help.
    #[error("undeliverable: {0}")]
    Permanent(String),
    /// The transport failed (server down, refused): try again later.
    #[error("delivery failed: {0}")]
    Transient(String),
}

/// A transport URL as errors show it: a password in it masked (it would reach logs), and
/// nothing of one that does not parse (it could hold one anyway).
fn shown_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => "(not a URL)".to_owned(),
    }
}

/// Reads a `file:///DIR` URL into a directory path.
fn file_dir(url: &str) -> Option<std::path::PathBuf> {
    url::Url::parse(url)
        .ok()
        .filter(|u| u.scheme() == "file")
        .and_then(|u| u.to_file_path().ok())
}

/// What an HTTP answer means for a message: 2xx sent; a client error other than 408 and 429
/// permanent (the same request will be refused again); anything else worth another try.
fn answered(who: &str, status: reqwest::StatusCode) -> Result<(), DeliveryError> {
    if status.is_success() {
        Ok(())
    } else if status.is_client_error() && !matches!(status.as_u16(), 408 | 429) {
        Err(DeliveryError::Permanent(format!("{who} answered {status}")))
    } else {
        Err(DeliveryError::Transient(format!("{who} answered {status}")))
    }
}
