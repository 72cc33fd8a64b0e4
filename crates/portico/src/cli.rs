//! The operator CLI. With `--json`, each command prints exactly one JSON object on stdout;
//! these commands and fields are a contract for operators' scripts.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context as _, Result};
use clap::{Args, Parser, Subcommand};
use portico_core::Portico;
use portico_core::clock::SystemClock;
use portico_core::directory::{
    AppKind, AttributeSpec, MfaPolicy, NewApplication, NewUser, NewUserFlow, TenantRef, UserFlow,
    UserFlowConfig,
};
use portico_keys::SigningAlgorithm;
use serde_json::json;

use crate::data_dir::{DataDir, write_secret_file};
use crate::logging::LogFormat;
use crate::server::{self, ServeOptions};

/// Portico: a self-hosted customer identity and access management server.
#[derive(Debug, Parser)]
#[command(name = "portico", version, about)]
pub struct Cli {
    /// Directory for the SQLite database, master key and initial admin token.
    #[arg(
        long,
        env = "PORTICO_DATA_DIR",
        default_value = "./portico-data",
        global = true
    )]
    pub data_dir: PathBuf,
    /// Database URL (`postgres://…` for PostgreSQL); default: SQLite in the data directory.
    #[arg(long, env = "PORTICO_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Print exactly one JSON object on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// Log format (logs go to stderr).
    #[arg(long, value_enum, default_value_t = LogFormat::Human, global = true)]
    pub log_format: LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (applies migrations first).
    Serve(ServeArgs),
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage applications.
    #[command(subcommand)]
    App(AppCommand),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage user flows (sign-in and sign-up experiences).
    #[command(subcommand)]
    Flow(FlowCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage admin API tokens.
    #[command(name = "admin-token", subcommand)]
    AdminToken(AdminTokenCommand),
}

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
    /// Mail delivery: smtp://host:port, smtps://user:pass@host:port, or file:///dir
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
    /// Texts (codes and notices) each tenant may send per hour, against SMS pumping; when it
    /// is reached, texts wait and a warning is logged.
    #[arg(long, env = "PORTICO_SMS_HOURLY_BUDGET", default_value_t = 1000)]
    pub sms_hourly_budget: u32,
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
        }
    }
}

/// Tenant commands.
#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant.
    Create {
        /// URL-friendly name.
        name: String,
        /// Token signing algorithm.
        #[arg(long, default_value = "RS256", value_parser = ["RS256", "ES256", "EdDSA"])]
        signing_alg: String,
    },
    /// List tenants.
    List,
    /// Set how the hosted pages look for this tenant (options not given stay as they are).
    Branding {
        /// Tenant name or id.
        #[arg(long)]
        tenant: String,
        /// Logo image (PNG, JPEG or WebP, at most 256 KiB).
        #[arg(long)]
        logo: Option<PathBuf>,
        /// Buttons and focus colour, #rrggbb.
        #[arg(long)]
        primary_color: Option<String>,
        /// Page background colour, #rrggbb.
        #[arg(long)]
        background_color: Option<String>,
        /// A CSS file appended to the pages' styles.
        #[arg(long)]
        css: Option<PathBuf>,
        /// Replace a page text: KEY=TEXT, e.g. signin-title="Welcome to Contoso" (repeatable).
        #[arg(long = "text")]
        texts: Vec<String>,
    },
    /// Set the tenant's settings (options not given stay as they are).
    Settings {
        /// Tenant name or id.
        #[arg(long)]
        tenant: String,
        /// Country calling codes texts may go to, comma-separated (`+1,+44`), or `any`.
        #[arg(long)]
        sms_countries: Option<String>,
        /// Absolute refresh-token lifetime in days (1 to 365), or `default` (90).
        #[arg(long)]
        refresh_token_max_days: Option<String>,
    },
}

/// Application commands.
#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Register an application.
    Create {
        /// Tenant name or id.
        #[arg(long)]
        tenant: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Client kind.
        #[arg(long, value_parser = ["web", "spa", "native", "daemon"])]
        kind: String,
        /// Redirect URI (repeatable).
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// Application ID URI (for client-credentials scopes).
        #[arg(long)]
        identifier_uri: Option<String>,
        /// A user attribute to put into this app's tokens, e.g. givenName or a custom
        /// attribute (repeatable; Entra's optional claims).
        #[arg(long = "optional-claim")]
        optional_claims: Vec<String>,
        /// Enable the native authentication API (spa and native apps only).
        #[arg(long)]
        native_auth: bool,
        /// A browser origin allowed to call the native authentication API, e.g.
        /// https://app.example (repeatable).
        #[arg(long = "cors-origin")]
        cors_origins: Vec<String>,
    },
}

/// User commands.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user.
    Create {
        /// Tenant name or id.
        #[arg(long)]
        tenant: String,
        /// Sign-in email.
        #[arg(long)]
        email: String,
        /// Initial password.
        #[arg(long)]
        password: Option<String>,
        /// Display name.
        #[arg(long)]
        display_name: Option<String>,
    },
    /// Block a user from signing in; ends their sessions and revokes their tokens' grants.
    Disable {
        /// Tenant name or id.
        #[arg(long)]
        tenant: String,
        /// The user's object id or sign-in email.
        user: String,
    },
    /// Let a disabled user sign in again.
    Enable {
        /// Tenant name or id.
        #[arg(long)]
        tenant: String,
        /// The user's object id or sign-in email.
        user: String,
    },
}

/// User flow commands.
#[derive(Debug, Subcommand)]
pub enum FlowCommand {
    /// Create a user flow and attach apps to it.
    Create {
        /// Tenant name or id.
        #[arg(long)]
        tenant: String,
        /// Flow name (unique in the tenant).
        #[arg(long)]
        name: String,
        /// First-factor methods, comma-separated: password, email-otp.
        #[arg(long, value_delimiter = ',', default_value = "password,email-otp")]
        methods: Vec<String>,
        /// An attribute collected at sign-up: NAME[:string|int|bool][:required] (repeatable).
        #[arg(long = "attribute")]
        attributes: Vec<String>,
        /// Allow self-service sign-up.
        #[arg(long, default_value = "on", value_parser = ["on", "off"])]
        sign_up: String,
        /// Second factor policy.
        #[arg(long, default_value = "off", value_parser = ["off", "required"])]
        mfa: String,
        /// Second-factor methods, comma-separated: email-otp, sms, totp.
        #[arg(long, value_delimiter = ',', default_value = "email-otp")]
        mfa_methods: Vec<String>,
        /// Client id of an app this flow serves (repeatable).
        #[arg(long = "app")]
        apps: Vec<String>,
    },
    /// List a tenant's user flows.
    List {
        /// Tenant name or id.
        #[arg(long)]
        tenant: String,
    },
}

/// Key commands.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Rotate a tenant's signing keys.
    Rotate {
        /// Tenant name or id.
        #[arg(long)]
        tenant: String,
    },
}

/// Admin token commands.
#[derive(Debug, Subcommand)]
pub enum AdminTokenCommand {
    /// Issue an admin API token (printed once; only a digest is stored).
    Create {
        /// What the token is for, shown in listings.
        #[arg(long)]
        name: Option<String>,
        /// Days until the token stops working by itself (default: never).
        #[arg(long = "expires-in", value_name = "DAYS")]
        expires_in: Option<i64>,
    },
    /// List admin tokens (never their secrets), revoked and expired ones too.
    List,
    /// Revoke an admin token: it stops working at once, on every node.
    Revoke {
        /// The token's id (from `admin-token list`).
        id: String,
    },
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> Result<()> {
    let data_dir = DataDir::open(&cli.data_dir)?;
    let database_url = cli
        .database_url
        .clone()
        .unwrap_or_else(|| data_dir.default_database_url());
    let store = portico_store::connect(&database_url)
        .await
        .with_context(|| format!("cannot open the store at {}", redact(&database_url)))?;
    let master_env = std::env::var("PORTICO_MASTER_KEY").ok();
    let master = data_dir.master_key(master_env.as_deref())?;
    let json = cli.json;
    match cli.command {
        Command::Serve(args) => serve(store, master, &data_dir, args).await,
        command => {
            let settings = portico_core::Settings::new("http://127.0.0.1:8080");
            let portico = Portico::new(settings, store, Arc::new(SystemClock), master);
            let output = manage(&portico, command).await?;
            print(json, &output);
            Ok(())
        }
    }
}

async fn serve(
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
    let token_path = data_dir.join("initial-admin-token");
    let running = server::spawn_after(
        store,
        master,
        options,
        move |settings| {
            settings.rate_limits = rate_limits;
            settings.sms_per_tenant_per_hour = sms_budget;
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

/// What a management command reports: the JSON object, and a line for people.
struct Output {
    json: serde_json::Value,
    human: String,
}

async fn manage(portico: &Portico, command: Command) -> Result<Output> {
    Ok(match command {
        Command::Serve(_) => anyhow::bail!("serve is not a management command"),
        Command::Tenant(TenantCommand::Create { name, signing_alg }) => {
            let alg: SigningAlgorithm = signing_alg.parse()?;
            let tenant = portico.create_tenant(&name, alg).await?;
            Output {
                human: format!(
                    "created tenant {} ({}), signing with {}",
                    tenant.name, tenant.id, alg
                ),
                json: json!({"id": tenant.id.to_string(), "name": tenant.name}),
            }
        }
        Command::Tenant(TenantCommand::List) => {
            let tenants = portico.list_tenants().await?;
            let human = tenants
                .iter()
                .map(|t| format!("{}  {}  {}", t.id, t.name, t.signing_alg))
                .collect::<Vec<_>>()
                .join("\n");
            let list: Vec<_> = tenants
                .iter()
                .map(|t| json!({"id": t.id.to_string(), "name": t.name, "signing_alg": t.signing_alg.as_str()}))
                .collect();
            Output {
                human,
                json: json!({"tenants": list}),
            }
        }
        Command::Tenant(TenantCommand::Settings {
            tenant,
            sms_countries,
            refresh_token_max_days,
        }) => {
            let tenant_ref = TenantRef::parse(&tenant);
            let found = portico.tenant(&tenant_ref).await?;
            let mut settings = (*portico.tenant_settings(found.id).await?).clone();
            if let Some(countries) = sms_countries {
                settings.sms_countries = match countries.trim() {
                    "any" => Vec::new(),
                    list => list.split(',').map(|c| c.trim().to_owned()).collect(),
                };
            }
            if let Some(days) = refresh_token_max_days {
                settings.refresh_token_max_days = match days.trim() {
                    "default" => None,
                    days => Some(days.parse().with_context(|| {
                        format!("--refresh-token-max-days {days:?} is not a number of days")
                    })?),
                };
            }
            let saved = portico.set_tenant_settings(&tenant_ref, settings).await?;
            let mut json = serde_json::to_value(&saved)?;
            if let Some(object) = json.as_object_mut() {
                object.insert("tenant".to_owned(), json!(found.id.to_string()));
            }
            Output {
                human: format!("updated settings of {}", found.name),
                json,
            }
        }
        Command::Tenant(TenantCommand::Branding {
            tenant,
            logo,
            primary_color,
            background_color,
            css,
            texts,
        }) => {
            let tenant_ref = TenantRef::parse(&tenant);
            let found = portico.tenant(&tenant_ref).await?;
            let mut branding = (*portico.branding(found.id).await?).clone();
            if let Some(path) = logo {
                branding.logo = Some(
                    std::fs::read(&path)
                        .with_context(|| format!("cannot read {}", path.display()))?,
                );
            }
            if let Some(color) = primary_color {
                branding.primary_color = Some(color);
            }
            if let Some(color) = background_color {
                branding.background_color = Some(color);
            }
            if let Some(path) = css {
                branding.custom_css = Some(
                    std::fs::read_to_string(&path)
                        .with_context(|| format!("cannot read {}", path.display()))?,
                );
            }
            for text in texts {
                let (key, value) = text
                    .split_once('=')
                    .ok_or_else(|| anyhow::anyhow!("--text {text:?} must be KEY=TEXT"))?;
                branding
                    .texts
                    .insert(key.trim().to_owned(), value.to_owned());
            }
            let saved = portico
                .set_branding(&tenant_ref, branding, portico_http::is_page_text_key)
                .await?;
            let mut json = serde_json::to_value(&saved)?;
            if let Some(map) = json.as_object_mut() {
                map.insert("tenant".into(), found.id.to_string().into());
                map.insert("logo".into(), saved.logo.is_some().into());
            }
            Output {
                human: format!("updated branding of {}", found.name),
                json,
            }
        }
        Command::App(AppCommand::Create {
            tenant,
            name,
            kind,
            redirect_uris,
            identifier_uri,
            optional_claims,
            native_auth,
            cors_origins,
        }) => {
            let kind: AppKind = kind.parse().map_err(anyhow::Error::msg)?;
            let created = portico
                .create_application(
                    &TenantRef::parse(&tenant),
                    NewApplication {
                        name,
                        kind,
                        redirect_uris,
                        identifier_uri,
                        optional_claims,
                        native_auth,
                        cors_origins,
                    },
                )
                .await?;
            let client_id = created.application.client_id.to_string();
            let mut human = format!("created {kind} application {client_id}");
            let json = match created.client_secret {
                Some(secret) => {
                    human.push_str(&format!("\nclient secret (shown only now): {secret}"));
                    json!({"client_id": client_id, "client_secret": secret})
                }
                None => json!({"client_id": client_id}),
            };
            Output { json, human }
        }
        Command::User(UserCommand::Create {
            tenant,
            email,
            password,
            display_name,
        }) => {
            let user = portico
                .create_user(
                    &TenantRef::parse(&tenant),
                    NewUser {
                        email,
                        password,
                        display_name,
                    },
                )
                .await?;
            Output {
                human: format!("created user {} ({})", user.email, user.id),
                json: json!({"id": user.id.to_string(), "email": user.email}),
            }
        }
        Command::User(UserCommand::Disable { tenant, user }) => user_enabled_output(
            portico
                .set_user_enabled(&TenantRef::parse(&tenant), &user, false)
                .await?,
        ),
        Command::User(UserCommand::Enable { tenant, user }) => user_enabled_output(
            portico
                .set_user_enabled(&TenantRef::parse(&tenant), &user, true)
                .await?,
        ),
        Command::Flow(FlowCommand::Create {
            tenant,
            name,
            methods,
            attributes,
            sign_up,
            mfa,
            mfa_methods,
            apps,
        }) => {
            let config = UserFlowConfig {
                methods: methods
                    .iter()
                    .map(|m| {
                        from_word(m).map_err(|_| {
                            anyhow::anyhow!("unknown method {m:?} (password, email-otp)")
                        })
                    })
                    .collect::<Result<_>>()?,
                sign_up: sign_up == "on",
                attributes: attributes
                    .iter()
                    .map(|a| AttributeSpec::parse_cli(a).map_err(anyhow::Error::msg))
                    .collect::<Result<_>>()?,
                mfa: if mfa == "required" {
                    MfaPolicy::Required
                } else {
                    MfaPolicy::Off
                },
                mfa_methods: mfa_methods
                    .iter()
                    .map(|m| {
                        from_word(m).map_err(|_| {
                            anyhow::anyhow!("unknown MFA method {m:?} (email-otp, sms, totp)")
                        })
                    })
                    .collect::<Result<_>>()?,
            };
            let new = NewUserFlow {
                name,
                config,
                apps: apps
                    .iter()
                    .map(|a| {
                        a.parse()
                            .map_err(|_| anyhow::anyhow!("--app {a:?} is not a client id"))
                    })
                    .collect::<Result<_>>()?,
            };
            let flow = portico
                .create_user_flow(&TenantRef::parse(&tenant), new)
                .await?;
            Output {
                human: format!(
                    "created user flow {} ({}) serving {} app(s)",
                    flow.name,
                    flow.id,
                    flow.apps.len()
                ),
                json: flow_json(&flow),
            }
        }
        Command::Flow(FlowCommand::List { tenant }) => {
            let flows = portico.user_flows(&TenantRef::parse(&tenant)).await?;
            let human = flows
                .iter()
                .map(|f| {
                    format!(
                        "{}  {}{}  apps: {}",
                        f.id,
                        f.name,
                        if f.is_default { " (default)" } else { "" },
                        f.apps.len()
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            Output {
                human,
                json: json!({"flows": flows.iter().map(flow_json).collect::<Vec<_>>()}),
            }
        }
        Command::Keys(KeysCommand::Rotate { tenant }) => {
            let tenant_ref = TenantRef::parse(&tenant);
            portico.rotate_keys(&tenant_ref).await?;
            let tenant = portico.tenant(&tenant_ref).await?;
            Output {
                human: format!("rotated signing keys of {}", tenant.name),
                json: json!({"tenant": tenant.id.to_string(), "rotated": true}),
            }
        }
        Command::AdminToken(AdminTokenCommand::Create { name, expires_in }) => {
            let (token, record) = portico
                .issue_admin_token(portico_core::directory::NewAdminToken {
                    name,
                    expires_in_days: expires_in,
                    // The operator at the command line holds the database itself.
                    issuer_expires_at: None,
                })
                .await?;
            let mut json = admin_token_json(&record, portico.now());
            if let Some(object) = json.as_object_mut() {
                object.insert("token".to_owned(), json!(token));
            }
            Output {
                human: token.clone(),
                json,
            }
        }
        Command::AdminToken(AdminTokenCommand::List) => {
            let now = portico.now();
            let tokens = portico.admin_tokens().await?;
            let listed: Vec<serde_json::Value> =
                tokens.iter().map(|t| admin_token_json(t, now)).collect();
            let human = listed
                .iter()
                .map(|t| {
                    format!(
                        "{}  {}  {}",
                        t["id"].as_str().unwrap_or_default(),
                        t["status"].as_str().unwrap_or_default(),
                        t["name"].as_str().unwrap_or("-")
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            Output {
                human,
                json: json!(listed),
            }
        }
        Command::AdminToken(AdminTokenCommand::Revoke { id }) => {
            portico.revoke_admin_token(&id).await?;
            Output {
                human: format!("revoked admin token {id}"),
                json: json!({"id": id, "revoked": true}),
            }
        }
    })
}

/// An admin token as the CLI prints it (the admin API's listing shape).
fn admin_token_json(token: &portico_core::store::AdminTokenRecord, now: i64) -> serde_json::Value {
    json!({
        "id": token.id,
        "name": token.name,
        "created_at": token.created_at,
        "expires_at": token.expires_at,
        "revoked_at": token.revoked_at,
        "status": token.status(now),
    })
}

/// A kebab-case word (`email-otp`) as one of the flow enums.
fn from_word<T: serde::de::DeserializeOwned>(word: &str) -> serde_json::Result<T> {
    serde_json::from_value(serde_json::Value::String(word.trim().to_owned()))
}

/// The JSON form of a flow (the same shape the admin API returns).
fn flow_json(flow: &UserFlow) -> serde_json::Value {
    let mut value = serde_json::to_value(&flow.config).unwrap_or_default();
    if let Some(map) = value.as_object_mut() {
        map.insert("id".into(), flow.id.to_string().into());
        map.insert("name".into(), flow.name.clone().into());
        map.insert("is_default".into(), flow.is_default.into());
        map.insert(
            "apps".into(),
            flow.apps
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .into(),
        );
    }
    value
}

fn print(json: bool, output: &Output) {
    if json {
        println!("{}", output.json);
    } else {
        println!("{}", output.human);
    }
}

/// A database URL without its password, for error messages.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

fn user_enabled_output(user: portico_core::directory::User) -> Output {
    let state = if user.enabled { "enabled" } else { "disabled" };
    Output {
        human: format!("{state} user {} ({})", user.email, user.id),
        json: json!({"id": user.id.to_string(), "email": user.email, "enabled": user.enabled}),
    }
}
