//! The SMTP relay client: lettre's protocol engine over connections this crate opens and keeps
//! itself, so that their sockets send without delay.
//!
//! Why not lettre's pooled transport: it writes a message's body and the closing dot in two
//! writes with no reply between them. With Nagle's algorithm on (lettre never turns it off)
//! the dot waits until the relay acknowledges the body, and a Linux relay holds that
//! acknowledgement back for 40 ms (delayed ACK) because it has nothing to answer yet. Every
//! mail then took 40 ms, and one worker sent at most 25 a second: a burst of sign-ins by
//! emailed code queued behind it.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters};
use lettre::transport::smtp::extension::ClientId;

use crate::DeliveryError;
use crate::relay_tls::{ImplicitTls, starttls};

/// How long one message may take, connecting included.
const TIMEOUT: Duration = Duration::from_secs(15);
/// Connections kept open between messages (the worker sends this many at once at most).
pub(crate) const MAX_IDLE: usize = 8;

/// How the connection is secured.
enum Security {
    /// Plain SMTP (a relay on the same host or a private network).
    Plain,
    /// STARTTLS after the greeting: always (`tls=required`), or when offered.
    StartTls {
        required: bool,
        tls: Box<TlsParameters>,
    },
    /// TLS from the first byte (`smtps://`).
    Implicit(Box<ImplicitTls>),
}

/// A relay and the connections open to it.
pub struct SmtpRelay {
    host: String,
    port: u16,
    security: Security,
    credentials: Option<Credentials>,
    hello: ClientId,
    idle: Mutex<Vec<AsyncSmtpConnection>>,
}

impl SmtpRelay {
    /// Parses `smtp://host[:port][/ehlo-name]` (`?tls=required` or `?tls=opportunistic` for
    /// STARTTLS, port 587 then) or `smtps://…` (port 465), with optional percent-encoded
    /// `user:password@` for AUTH PLAIN or LOGIN: lettre's URL format, kept as operators know it.
    /// `ca=/path/to/ca.pem` trusts a private CA for the relay's certificate, besides the
    /// system's roots (read now: the server does not start with a file it cannot read).
    pub(crate) fn from_url(url: &str) -> Result<Self, &'static str> {
        const HINT: &str = "use smtp://host:port or smtps://user:pass@host:port";
        let parsed = url::Url::parse(url).map_err(|_| HINT)?;
        // An IPv6 literal is named without its brackets, to connect and in TLS.
        let host = parsed
            .host_str()
            .ok_or(HINT)?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let query = |name: &str| {
            parsed
                .query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        let tls = query("tls");
        let ca = match query("ca") {
            Some(path) => Some(std::fs::read(path).map_err(|_| "cannot read the ca= file")?),
            None => None,
        };
        let (security, default_port) = match (parsed.scheme(), tls.as_deref()) {
            ("smtp", None) => (Security::Plain, 25),
            ("smtp", Some(mode @ ("required" | "opportunistic"))) => (
                Security::StartTls {
                    required: mode == "required",
                    tls: Box::new(starttls(&host, ca.as_deref())?),
                },
                587,
            ),
            ("smtps", _) => (
                Security::Implicit(Box::new(ImplicitTls::new(&host, ca.as_deref())?)),
                465,
            ),
            _ => return Err("use smtp://, smtp://…?tls=required, or smtps://"),
        };
        if ca.is_some() && matches!(security, Security::Plain) {
            return Err("ca= is for TLS: add ?tls=required, or use smtps://");
        }
        let decode = |text: &str| {
            percent_encoding::percent_decode_str(text)
                .decode_utf8()
                .map(std::borrow::Cow::into_owned)
                .map_err(|_| "the user name and password must be UTF-8 when percent-decoded")
        };
        let credentials = match parsed.password() {
            Some(password) => Some(Credentials::new(
                decode(parsed.username())?,
                decode(password)?,
            )),
            None => None,
        };
        let hello = match parsed.path().trim_matches('/') {
            "" => ClientId::default(),
            name => ClientId::Domain(name.to_owned()),
        };
        Ok(Self {
            port: parsed.port().unwrap_or(default_port),
            host,
            security,
            credentials,
            hello,
            idle: Mutex::new(Vec::new()),
        })
    }

    /// Sends one message on an open connection (checked with NOOP first) or a new one.
    pub(crate) async fn send(
        &self,
        envelope: &Envelope,
        bytes: &[u8],
    ) -> Result<(), DeliveryError> {
        let sent = tokio::time::timeout(TIMEOUT, async {
            let pooled = self
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop();
            let mut connection = match pooled {
                Some(mut open) => {
                    if open.test_connected().await {
                        open
                    } else {
                        self.connect().await?
                    }
                }
                None => self.connect().await?,
            };
            connection.send(envelope, bytes).await.map_err(refused)?;
            let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
            if idle.len() < MAX_IDLE {
                idle.push(connection);
            }
            Ok(())
        })
        .await;
        sent.unwrap_or_else(|_| {
            Err(DeliveryError::Transient(format!(
                "the relay took longer than {} s",
                TIMEOUT.as_secs()
            )))
        })
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, DeliveryError> {
        let unreachable = |e: std::io::Error| {
            DeliveryError::Transient(format!("{}:{}: {e}", self.host, self.port))
        };
        let stream = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(unreachable)?;
        stream.set_nodelay(true).map_err(unreachable)?;
        let transport: Box<dyn AsyncTokioStream> = match &self.security {
            Security::Implicit(tls) => Box::new(tls.implicit(stream).await.map_err(|e| {
                DeliveryError::Transient(format!("{}:{}: TLS: {e}", self.host, self.port))
            })?),
            Security::Plain | Security::StartTls { .. } => Box::new(stream),
        };
        let mut connection = AsyncSmtpConnection::connect_with_transport(transport, &self.hello)
            .await
            .map_err(refused)?;
        let mut encrypted = matches!(self.security, Security::Implicit(_));
        if let Security::StartTls { required, tls } = &self.security
            && (*required || connection.can_starttls())
        {
            connection
                .starttls(TlsParameters::clone(tls), &self.hello)
                .await
                .map_err(refused)?;
            encrypted = true;
        }
        // A relay reached with `tls=opportunistic` that offers no STARTTLS may be someone who
        // stripped the offer: the password does not go to it in the clear.
        if self.credentials.is_some()
            && !encrypted
            && matches!(self.security, Security::StartTls { .. })
        {
            return Err(DeliveryError::Transient(format!(
                "{}:{} offered no STARTTLS: the relay's password is only sent encrypted",
                self.host, self.port
            )));
        }
        if let Some(credentials) = &self.credentials {
            connection
                .auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .await
                .map_err(refused)?;
        }
        Ok(connection)
    }
}

/// A relay's refusal or a broken exchange: permanent when the relay said so (5xx), else worth
/// another try later.
fn refused(err: lettre::transport::smtp::Error) -> DeliveryError {
    if err.is_permanent() {
        DeliveryError::Permanent(err.to_string())
    } else {
        DeliveryError::Transient(err.to_string())
    }
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    fn relay(url: &str) -> SmtpRelay {
        SmtpRelay::from_url(url).unwrap_or_else(|e| panic!("{url}: {e}"))
    }

    #[test]
    fn each_url_form_gets_its_port_and_security() {
        let plain = relay("smtp://mail.example.com");
        assert_eq!((plain.host.as_str(), plain.port), ("mail.example.com", 25));
        assert!(matches!(plain.security, Security::Plain));
        assert!(plain.credentials.is_none());
        let required = relay("smtp://mail.example.com?tls=required");
        assert_eq!(required.port, 587);
        assert!(matches!(
            required.security,
            Security::StartTls { required: true, .. }
        ));
        let offered = relay("smtp://mail.example.com:2525?tls=opportunistic");
        assert_eq!(offered.port, 2525);
        assert!(matches!(
            offered.security,
            Security::StartTls {
                required: false,
                ..
            }
        ));
        let implicit = relay("smtps://mail.example.com");
        assert_eq!(implicit.port, 465);
        assert!(matches!(implicit.security, Security::Implicit(_)));
        // An IPv6 literal is connected to, and checked in TLS, without its brackets.
        let literal = relay("smtps://[::1]:2465");
        assert_eq!((literal.host.as_str(), literal.port), ("::1", 2465));
    }

    #[test]
    fn credentials_and_the_hello_name_come_from_the_url() {
        let relay =
            relay("smtps://ada%40example.com:p%2Bss%20word@mail.example.com/portico.example");
        assert_eq!(
            relay.credentials,
            Some(Credentials::new(
                "ada@example.com".to_owned(),
                "p+ss word".to_owned()
            ))
        );
        assert_eq!(relay.hello, ClientId::Domain("portico.example".to_owned()));
    }

    #[test]
    fn unknown_schemes_and_tls_modes_are_refused() {
        for url in [
            "smtp://mail.example.com?tls=sometimes",
            "http://mail.example.com",
            "smtp://",
            "not a url",
        ] {
            assert!(SmtpRelay::from_url(url).is_err(), "{url}");
        }
    }
}
