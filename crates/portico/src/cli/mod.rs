//! The operator CLI. With `--json`, each command prints exactly one JSON object on stdout;
//! these commands and fields are a contract for operators' scripts.

mod admin_token;
mod api;
mod app;
mod audit;
mod claim_map;
mod extension;
mod flow;
mod group;
mod keys;
mod registration;
mod role;
mod scim_token;
mod serve;
mod tenant;
mod user;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};
use portico_core::Portico;
use portico_core::clock::SystemClock;

use crate::data_dir::DataDir;
use crate::logging::LogFormat;

pub use admin_token::AdminTokenCommand;
pub use app::AppCommand;
pub use audit::AuditCommand;
pub use extension::ExtensionCommand;
pub use flow::FlowCommand;
pub use group::GroupCommand;
pub use keys::KeysCommand;
pub use registration::RegistrationTokenCommand;
pub use role::RoleCommand;
pub use scim_token::ScimTokenCommand;
pub use serve::{RateLimitArgs, ServeArgs};
pub use tenant::TenantCommand;
pub use user::UserCommand;

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
    /// Assign app roles to users.
    #[command(subcommand)]
    Role(RoleCommand),
    /// Manage admin API tokens.
    #[command(name = "admin-token", subcommand)]
    AdminToken(AdminTokenCommand),
    /// Manage initial access tokens for dynamic client registration (RFC 7591).
    #[command(name = "registration-token", subcommand)]
    RegistrationToken(RegistrationTokenCommand),
    /// Manage the bearer tokens of SCIM provisioning clients.
    #[command(name = "scim-token", subcommand)]
    ScimToken(ScimTokenCommand),
    /// Manage groups of users (and of groups).
    #[command(subcommand)]
    Group(GroupCommand),
    /// Read the audit log of directory changes.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Manage custom authentication extensions (calls to your own services during sign-in
    /// and token issuance).
    #[command(subcommand)]
    Extension(ExtensionCommand),
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
        Command::Serve(args) => serve::serve(store, master, &data_dir, args).await,
        command => {
            // Management commands mint tokens (`extension test`) for the issuer the server
            // publishes, when its public URL is in the environment.
            let public_url = std::env::var("PORTICO_PUBLIC_URL")
                .unwrap_or_else(|_| "http://127.0.0.1:8080".to_owned());
            let mut settings = portico_core::Settings::new(public_url);
            settings.callout_allow_private = std::env::var("PORTICO_CALLOUT_ALLOW_PRIVATE")
                .is_ok_and(|v| matches!(v.as_str(), "1" | "true" | "on"));
            let callouts = portico_delivery::CalloutClient::new(settings.callout_allow_private)?;
            let portico = Arc::new(Portico::new(settings, store, Arc::new(SystemClock), master));
            portico.set_callout_transport(Arc::new(callouts));
            let output = manage(&portico, command).await?;
            print(json, &output);
            Ok(())
        }
    }
}

async fn manage(portico: &Portico, command: Command) -> Result<Output> {
    Ok(match command {
        Command::Serve(_) => anyhow::bail!("serve is not a management command"),
        Command::Tenant(command) => tenant::run(portico, command).await?,
        Command::App(command) => app::run(portico, command).await?,
        Command::User(command) => user::run(portico, command).await?,
        Command::Flow(command) => flow::run(portico, command).await?,
        Command::Keys(command) => keys::run(portico, command).await?,
        Command::Role(command) => role::run(portico, command).await?,
        Command::AdminToken(command) => admin_token::run(portico, command).await?,
        Command::RegistrationToken(command) => registration::run(portico, command).await?,
        Command::ScimToken(command) => scim_token::run(portico, command).await?,
        Command::Group(command) => group::run(portico, command).await?,
        Command::Audit(command) => audit::run(portico, command).await?,
        Command::Extension(command) => extension::run(portico, command).await?,
    })
}

/// What a management command reports: the JSON object, and a line for people.
struct Output {
    json: serde_json::Value,
    human: String,
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
