use std::path::{Path, PathBuf};
use std::sync::Arc;

use lettre::Message;
use lettre::message::{Mailbox, MultiPart};
use portico_core::outbox::OutboundMessage;

use crate::smtp::SmtpRelay;
use crate::{DeliveryError, file_dir};

/// Where mail goes.
#[derive(Clone)]
pub enum MailTransport {
    /// Each message as an RFC 5322 `.eml` file in a directory (development, tests).
    Files(PathBuf),
    /// An SMTP relay (`smtp://host:port`, `smtp://…?tls=required` for STARTTLS,
    /// `smtps://user:pass@host:port` for implicit TLS).
    Smtp(Arc<SmtpRelay>),
}

impl std::fmt::Debug for MailTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Files(dir) => write!(f, "MailTransport::Files({})", dir.display()),
            Self::Smtp(_) => f.write_str("MailTransport::Smtp"),
        }
    }
}

impl MailTransport {
    /// Parses `--mail-url`.
    pub fn from_url(url: &str) -> Result<Self, DeliveryError> {
        let bad = |hint| DeliveryError::BadUrl {
            what: "mail",
            url: crate::shown_url(url),
            hint,
        };
        if url.starts_with("file:") {
            let dir = file_dir(url).ok_or_else(|| bad("use file:///absolute/dir"))?;
            return Ok(Self::Files(dir));
        }
        if url.starts_with("smtp://") || url.starts_with("smtps://") {
            return Ok(Self::Smtp(Arc::new(SmtpRelay::from_url(url).map_err(bad)?)));
        }
        Err(bad("use smtp://, smtps:// or file:///dir"))
    }

    /// Sends one message from `from`.
    pub async fn send(
        &self,
        from: &Mailbox,
        id: &str,
        message: &OutboundMessage,
    ) -> Result<(), DeliveryError> {
        let email = build(from, message)?;
        match self {
            Self::Files(dir) => write_eml(dir, id, &email.formatted()).await,
            Self::Smtp(relay) => relay.send(email.envelope(), &email.formatted()).await,
        }
    }
}

fn build(from: &Mailbox, message: &OutboundMessage) -> Result<Message, DeliveryError> {
    let to: Mailbox = message
        .to
        .parse()
        .map_err(|e| DeliveryError::Permanent(format!("bad recipient {:?}: {e}", message.to)))?;
    let builder = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(&message.subject);
    let built = match &message.html {
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(
            message.text.clone(),
            html.clone(),
        )),
        None => builder.body(message.text.clone()),
    };
    built.map_err(|e| DeliveryError::Permanent(format!("cannot build message: {e}")))
}

/// Writes atomically (temporary name, then rename), so readers never see half a message.
async fn write_eml(dir: &Path, id: &str, bytes: &[u8]) -> Result<(), DeliveryError> {
    let transient = |e: std::io::Error| DeliveryError::Transient(format!("{}: {e}", dir.display()));
    tokio::fs::create_dir_all(dir).await.map_err(transient)?;
    let tmp = dir.join(format!(".{id}.tmp"));
    let path = dir.join(format!("{id}.eml"));
    tokio::fs::write(&tmp, bytes).await.map_err(transient)?;
    tokio::fs::rename(&tmp, &path).await.map_err(transient)
}
