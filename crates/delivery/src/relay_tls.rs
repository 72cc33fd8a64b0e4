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

/// How to verify one relay's certificate, for both kinds of TLS.
pub(crate) struct RelayTls {
    /// For STARTTLS, through lettre.
    pub(crate) starttls: TlsParameters,
    connector: TlsConnector,
    name: ServerName<'static>,
}

impl RelayTls {
    /// Trust for `host`: the system's roots, and those in `extra_roots` (PEM) too.
    pub(crate) fn new(host: &str, extra_roots: Option<&[u8]>) -> Result<Self, &'static str> {
        const NO_CA: &str = "the ca= file must hold one or more PEM certificates";
        let roots: Vec<CertificateDer<'static>> = match extra_roots {
            Some(pem) => CertificateDer::pem_slice_iter(pem)
                .collect::<Result<_, _>>()
                .map_err(|_| NO_CA)?,
            None => Vec::new(),
        };
        if extra_roots.is_some() && roots.is_empty() {
            return Err(NO_CA);
        }
        let mut starttls = TlsParameters::builder(host.to_owned());
        if let Some(pem) = extra_roots {
            starttls =
                starttls.add_root_certificate(Certificate::from_pem(pem).map_err(|_| NO_CA)?);
        }
        let starttls = starttls
            .build_rustls()
            .map_err(|_| "cannot set up TLS for this relay")?;
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
            starttls,
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
