//! TLS to the SMTP relay: the system's trusted roots (through the platform verifier, as
//! lettre's own TLS uses), plus the relay's private CA where the mail URL names one (`ca=`).
//!
//! STARTTLS goes through lettre (it upgrades the socket this crate opened). Implicit TLS
//! (`smtps://`) is done here, so that the socket under it sends without Nagle's delay (see
//! `smtp.rs`): lettre would open that socket itself and leave the delay on.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use lettre::transport::smtp::client::{AsyncTokioStream, Certificate, TlsParameters};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

const NO_CA: &str = "the ca= file must hold one or more PEM certificates";

/// The certificates of a `ca=` file; an error if it holds none.
fn extra_roots(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, &'static str> {
    let roots: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<_, _>>()
        .map_err(|_| NO_CA)?;
    if roots.is_empty() {
        return Err(NO_CA);
    }
    Ok(roots)
}

/// STARTTLS to `host`, through lettre: the system's roots, and those in `extra` (PEM) too.
/// (Each kind of TLS builds only its own verifier: each reads the system's roots.)
pub(crate) fn starttls(host: &str, extra: Option<&[u8]>) -> Result<TlsParameters, &'static str> {
    let mut parameters = TlsParameters::builder(host.to_owned());
    if let Some(pem) = extra {
        extra_roots(pem)?;
        parameters =
            parameters.add_root_certificate(Certificate::from_pem(pem).map_err(|_| NO_CA)?);
    }
    parameters
        .build_rustls()
        .map_err(|_| "cannot set up TLS for this relay")
}

/// TLS from the first byte to one relay, verified as STARTTLS is.
pub(crate) struct ImplicitTls {
    connector: TlsConnector,
    name: ServerName<'static>,
}

impl ImplicitTls {
    /// Trust for `host`: the system's roots, and those in `extra` (PEM) too.
    pub(crate) fn new(host: &str, extra: Option<&[u8]>) -> Result<Self, &'static str> {
        let roots = match extra {
            Some(pem) => extra_roots(pem)?,
            None => Vec::new(),
        };
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier =
            rustls_platform_verifier::Verifier::new_with_extra_roots(roots, Arc::clone(&provider))
                .map_err(|_| "cannot read the system's trusted certificates")?;
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|_| "cannot set up TLS for this relay")?
            .dangerous()
            // The platform's verifier, not a lax one: "dangerous" is only rustls's name for
            // choosing a verifier other than its built-in WebPKI one.
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        let name = ServerName::try_from(host.to_owned())
            .map_err(|_| "the relay's host name is not valid")?;
        Ok(Self {
            connector: TlsConnector::from(Arc::new(config)),
            name,
        })
    }

    /// TLS from the first byte over `tcp` (already connected, Nagle off).
    pub(crate) async fn implicit(&self, tcp: TcpStream) -> io::Result<TlsToRelay> {
        Ok(TlsToRelay(
            self.connector.connect(self.name.clone(), tcp).await?,
        ))
    }
}

/// A TLS connection to the relay that lettre drives as if it were a plain socket (it never
/// asks for STARTTLS on it: the connection is already encrypted).
#[derive(Debug)]
pub(crate) struct TlsToRelay(TlsStream<TcpStream>);

impl AsyncRead for TlsToRelay {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsToRelay {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for TlsToRelay {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}
