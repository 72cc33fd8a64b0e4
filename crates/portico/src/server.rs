//! Starting and stopping a server: bind, build the services, serve HTTP or HTTPS until told to
//! stop, drain in-flight requests.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::{Context as _, Result};
use axum::serve::ListenerExt as _;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use portico_core::clock::{Clock, SystemClock};
use portico_core::store::Store;
use portico_core::{Portico, Settings};
use portico_http::{AppState, HttpConfig};
use portico_keys::MasterKey;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Listen address (port 0 picks a free one).
    pub listen: SocketAddr,
    /// Public base URL; defaults to the listen address with the right scheme.
    pub public_url: Option<String>,
    /// Certificate and key files (PEM) to serve HTTPS.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Reverse proxies whose `X-Forwarded-For` is trusted.
    pub trusted_proxies: Vec<IpAddr>,
    /// Outbox delivery (mail and SMS); `None` leaves messages queued.
    pub delivery: Option<DeliveryOptions>,
    /// Serve `/metrics` on its own listener here (plain HTTP), and not on the public one.
    pub metrics_listen: Option<SocketAddr>,
}

/// Where queued messages go.
#[derive(Debug, Clone)]
pub struct DeliveryOptions {
    /// `smtp://`, `smtps://` or `file:///dir`.
    pub mail_url: String,
    /// `https://` webhook or `file:///dir`.
    pub sms_url: String,
    /// Sender of mail, e.g. `Contoso <no-reply@contoso.example>`.
    pub mail_from: String,
}

/// A running server.
pub struct RunningServer {
    /// The bound address.
    pub addr: SocketAddr,
    /// The public base URL.
    pub public_url: String,
    /// The domain services it serves.
    pub portico: Arc<Portico>,
    /// Where `/metrics` is served, when it has a listener of its own.
    pub metrics_addr: Option<SocketAddr>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<()>>,
}

impl RunningServer {
    /// Stops accepting, lets in-flight requests finish, and waits.
    pub async fn stop(mut self) -> Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.task.await.context("server task panicked")?
    }

    /// Waits until the server ends by itself (for `serve`).
    pub async fn wait(self) -> Result<()> {
        self.task.await.context("server task panicked")?
    }
}

/// The process-wide Prometheus recorder (a recorder can be installed only once).
fn metrics_handle() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| match PrometheusBuilder::new().install_recorder() {
            Ok(handle) => Some(handle),
            Err(err) => {
                tracing::warn!(error = %err, "metrics recorder unavailable");
                None
            }
        })
        .clone()
}

/// Binds, builds the services and serves until `shutdown` resolves (or [`RunningServer::stop`]).
pub async fn spawn(
    store: Arc<dyn Store>,
    master: MasterKey,
    options: ServeOptions,
    configure: impl FnOnce(&mut Settings),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<RunningServer> {
    spawn_after(store, master, options, configure, shutdown, |_| async {
        Ok(())
    })
    .await
}

/// [`spawn`], with `setup` run on the assembled services before the first request is served
/// (first-start work such as the default tenant and the initial admin token): whoever sees
/// `/readyz` answer can rely on what `setup` made.
pub async fn spawn_after<F, Fut>(
    store: Arc<dyn Store>,
    master: MasterKey,
    options: ServeOptions,
    configure: impl FnOnce(&mut Settings),
    shutdown: impl Future<Output = ()> + Send + 'static,
    setup: F,
) -> Result<RunningServer>
where
    F: FnOnce(Arc<Portico>) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    let tcp = TcpListener::bind(options.listen)
        .await
        .with_context(|| format!("cannot listen on {}", options.listen))?;
    let addr = tcp.local_addr()?;
    let scheme = if options.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let public_url = options
        .public_url
        .clone()
        .unwrap_or_else(|| format!("{scheme}://{addr}"))
        .trim_end_matches('/')
        .to_owned();
    let mut settings = Settings::new(public_url.clone());
    configure(&mut settings);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let callouts = portico_delivery::CalloutClient::new(settings.callout_allow_private)?;
    let portico = Arc::new(Portico::new(settings, store, clock, master));
    portico.set_callout_transport(Arc::new(callouts));
    let metrics = metrics_handle()
        .map(|handle| Arc::new(move || handle.render()) as portico_http::MetricsRenderer);
    // With a listener of its own, `/metrics` leaves the public one.
    let (metrics, metrics_listener) = match options.metrics_listen {
        Some(listen) => {
            let listener = TcpListener::bind(listen)
                .await
                .with_context(|| format!("cannot listen for metrics on {listen}"))?;
            (None, Some((listener, metrics)))
        }
        None => (metrics, None),
    };
    let state = AppState {
        portico: Arc::clone(&portico),
        config: Arc::new(HttpConfig {
            trusted_proxies: options.trusted_proxies.clone(),
            secure_cookies: public_url.starts_with("https://"),
        }),
        metrics,
    };
    // The port is bound (so port 0 resolved to the public URL), but nothing is accepted
    // until the first-start setup is done.
    setup(Arc::clone(&portico)).await?;
    let app = portico_http::router(state).into_make_service_with_connect_info::<SocketAddr>();
    let (tx, rx) = oneshot::channel::<()>();
    let stop = async move {
        tokio::select! {
            _ = rx => {}
            () = shutdown => {}
        }
    };
    let mut background = vec![tokio::spawn(housekeeping(Arc::clone(&portico)))];
    if let Some(delivery) = &options.delivery {
        let worker = portico_delivery::Worker::new(
            Arc::clone(&portico.store),
            Arc::clone(&portico.clock),
            portico_delivery::MailTransport::from_url(&delivery.mail_url)?,
            portico_delivery::SmsTransport::from_url(&delivery.sms_url)?,
            delivery.mail_from.parse().with_context(|| {
                format!("--mail-from {:?} is not a mailbox", delivery.mail_from)
            })?,
            portico.outbox_seal(),
            Arc::clone(&portico) as Arc<dyn portico_core::oauth::LogoutTokens>,
        )?;
        background.push(tokio::spawn(worker.run(Arc::clone(&portico.outbox_queued))));
    }
    let metrics_addr = match metrics_listener {
        Some((listener, render)) => {
            let addr = listener.local_addr()?;
            let app = portico_http::metrics_router(render);
            background.push(tokio::spawn(async move {
                if let Err(err) = axum::serve(listener, app).await {
                    tracing::warn!(error = %err, "metrics listener failed");
                }
            }));
            tracing::info!(%addr, "serving /metrics");
            Some(addr)
        }
        None => None,
    };
    let stop_background = move || background.iter().for_each(JoinHandle::abort);
    let task = match &options.tls {
        Some((cert, key)) => {
            let config = crate::tls::server_config(cert, key)?;
            let listener = crate::tls::TlsListener::new(tcp, config)?.tap_io(|_| {});
            tokio::spawn(async move {
                let result = axum::serve(listener, app)
                    .with_graceful_shutdown(stop)
                    .await;
                stop_background();
                result.context("server failed")
            })
        }
        None => tokio::spawn(async move {
            let result = axum::serve(tcp, app).with_graceful_shutdown(stop).await;
            stop_background();
            result.context("server failed")
        }),
    };
    tracing::info!(%addr, %public_url, "listening");
    Ok(RunningServer {
        addr,
        public_url,
        portico,
        metrics_addr,
        shutdown: Some(tx),
        task,
    })
}

/// Deletes expired codes, tokens and sessions now and then.
async fn housekeeping(portico: Arc<Portico>) {
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tick.tick().await;
        match portico.store.purge_expired(portico.now()).await {
            Ok(0) => {}
            Ok(purged) => tracing::debug!(purged, "purged expired records"),
            Err(err) => tracing::warn!(error = %err, "purging expired records failed"),
        }
    }
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn termination_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
