//! `portico serve`: the server, its listeners, delivery and limits.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;
use clap::Args;

use crate::data_dir::{DataDir, write_secret_file};
use crate::server::{self, ServeOptions};

/// `serve` options.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "PORTICO_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Public base URL (issuer prefix), e.g. https://id.example.com.
    #[arg(long, env = "PORTICO_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// PEM certificate chain: serve HTTPS.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// A reverse proxy whose X-Forwarded-For is trusted (repeatable).
    #[arg(long = "trusted-proxy")]
    pub trusted_proxies: Vec<IpAddr>,
    /// Serve `/metrics` on this address only (plain HTTP, e.g. an internal interface), not on
    /// the public listener.
    #[arg(long, env = "PORTICO_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// Mail delivery: smtp://host:port (?tls=required for STARTTLS), smtps://user:pass@host:port,
    /// or file:///dir; `ca=/path/ca.pem` trusts a relay's private CA
    /// (default: .eml files in DATA_DIR/outbox/mail).
    #[arg(long, env = "PORTICO_MAIL_URL")]
    pub mail_url: Option<String>,
    /// SMS delivery: an https:// JSON webhook, or file:///dir (default: DATA_DIR/outbox/sms).
    #[arg(long, env = "PORTICO_SMS_URL")]
    pub sms_url: Option<String>,
    /// Sender of mail.
    #[arg(
        long,
        env = "PORTICO_MAIL_FROM",
        default_value = "Portico <no-reply@localhost>"
    )]
    pub mail_from: String,
    /// Texts each tenant may send per hour, against SMS pumping (half of them to new numbers);
    /// beyond it, texts are refused (the person is told to try later) and a warning is logged.
    #[arg(long, env = "PORTICO_SMS_HOURLY_BUDGET", default_value_t = 1000)]
    pub sms_hourly_budget: u32,
    /// Let custom authentication extensions be called at private-network addresses (10/8,
    /// 192.168/16, fd00::/8, …). Off by default, against SSRF: a target must resolve to
    /// public addresses, or be `localhost`/a loopback address named as such.
    #[arg(long, env = "PORTICO_CALLOUT_ALLOW_PRIVATE")]
    pub callout_allow_private: bool,
    #[command(flatten)]
    pub rate_limits: RateLimitArgs,
}

/// Rate limits (per node). Defaults suit real traffic behind carrier NAT and office proxies;
/// IPv6 clients count by their /64.
#[derive(Debug, Clone, clap::Args)]
pub struct RateLimitArgs {
    /// Password and code checks per minute from one client address.
    #[arg(long, env = "PORTICO_RATE_LIMIT_PER_IP", default_value_t = 600)]
    pub rate_limit_per_ip: u32,
    /// Burst of checks allowed at once from one client address.
    #[arg(long, env = "PORTICO_RATE_LIMIT_PER_IP_BURST", default_value_t = 200)]
    pub rate_limit_per_ip_burst: u32,
    /// Password and code checks per minute against one account.
    #[arg(long, env = "PORTICO_RATE_LIMIT_PER_ACCOUNT", default_value_t = 30)]
    pub rate_limit_per_account: u32,
    /// Burst of checks allowed at once against one account.
    #[arg(
        long,
        env = "PORTICO_RATE_LIMIT_PER_ACCOUNT_BURST",
        default_value_t = 20
    )]
    pub rate_limit_per_account_burst: u32,
    /// Account lookups (native API initiate/start) per minute from one client address.
    #[arg(long, env = "PORTICO_RATE_LIMIT_LOOKUPS", default_value_t = 300)]
    pub rate_limit_lookups: u32,
    /// Burst of lookups allowed at once from one client address.
    #[arg(long, env = "PORTICO_RATE_LIMIT_LOOKUPS_BURST", default_value_t = 100)]
    pub rate_limit_lookups_burst: u32,
    /// Sign-in flows started per minute from one client address (each is stored for up to
    /// 30 minutes).
    #[arg(long, env = "PORTICO_RATE_LIMIT_FLOWS", default_value_t = 300)]
    pub rate_limit_flows: u32,
    /// Burst of sign-in flows started at once from one client address.
    #[arg(long, env = "PORTICO_RATE_LIMIT_FLOWS_BURST", default_value_t = 100)]
    pub rate_limit_flows_burst: u32,
}

impl RateLimitArgs {
    fn settings(&self) -> portico_core::ratelimit::RateLimitSettings {
        use portico_core::ratelimit::{Rate, RateLimitSettings};
        RateLimitSettings {
            per_ip: Rate {
                per_minute: self.rate_limit_per_ip,
                burst: self.rate_limit_per_ip_burst,
            },
            per_account: Rate {
                per_minute: self.rate_limit_per_account,
                burst: self.rate_limit_per_account_burst,
            },
            lookups: Rate {
                per_minute: self.rate_limit_lookups,
                burst: self.rate_limit_lookups_burst,
            },
            flows: Rate {
                per_minute: self.rate_limit_flows,
                burst: self.rate_limit_flows_burst,
            },
            ..RateLimitSettings::default()
        }
    }
}

pub(super) async fn serve(
    store: Arc<dyn portico_core::store::Store>,
    master: portico_keys::MasterKey,
    data_dir: &DataDir,
    args: ServeArgs,
) -> Result<()> {
    let outbox_dir = |kind: &str| -> Result<String> {
        let dir = data_dir.join("outbox").join(kind);
        std::fs::create_dir_all(&dir)?;
        let dir = dir.canonicalize()?;
        Ok(url::Url::from_directory_path(&dir)
            .map_err(|()| anyhow::anyhow!("{} is not an absolute path", dir.display()))?
            .to_string())
    };
    let mail_url = match args.mail_url {
        Some(url) => url,
        None => outbox_dir("mail")?,
    };
    let sms_url = match args.sms_url {
        Some(url) => url,
        None => outbox_dir("sms")?,
    };
    let options = ServeOptions {
        listen: args.listen,
        public_url: args.public_url,
        tls: args.tls_cert.zip(args.tls_key),
        trusted_proxies: args.trusted_proxies,
        metrics_listen: args.metrics_listen,
        delivery: Some(server::DeliveryOptions {
            mail_url,
            sms_url,
            mail_from: args.mail_from,
        }),
    };
    let rate_limits = args.rate_limits.settings();
    let sms_budget = args.sms_hourly_budget;
    let callout_allow_private = args.callout_allow_private;
    let token_path = data_dir.join("initial-admin-token");
    let running = server::spawn_after(
        store,
        master,
        options,
        move |settings| {
            settings.rate_limits = rate_limits;
            settings.sms_per_tenant_per_hour = sms_budget;
            settings.callout_allow_private = callout_allow_private;
        },
        server::termination_signal(),
        |portico| async move {
            if let Some(tenant) = portico.bootstrap_default_tenant().await? {
                let token = portico.create_admin_token().await?;
                write_secret_file(&token_path, &format!("{token}\n"))?;
                tracing::info!(tenant.id = %tenant.id, path = %token_path.display(),
                    "first start: created tenant 'default' and wrote the initial admin token");
            }
            Ok(())
        },
    )
    .await?;
    running.wait().await
}
