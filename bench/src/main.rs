//! Portico load benchmark: `cargo run --release -p portico-bench` (`-- --quick` for a brief
//! smoke run of every row, which CI makes so the benchmark cannot rot).
//!
//! Builds and starts a Portico of the same profile on a fresh SQLite data directory and
//! prints one table: every hot path a user pays for, each beside a floor measured in the same
//! run on the same cores (raw signatures per second of one core, argon2id hashes per second,
//! or another row), the ratio, the target and whether it was met. The server is pinned to
//! one core for the token rows and the load generator keeps the last core; sign-ins use every
//! core. Then the SCIM section (a tenant of a million users, on SQLite and PostgreSQL).

#![allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

mod backend;
mod email_code;
mod extensions;
mod floors;
mod footprint;
mod harness;
mod mailbox;
mod report;
mod scim;
mod signin;
mod tokens;
mod webauthn;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use backend::Backend;
use harness::{drained, generator_core, load, num_cpus, wait_ready};
use report::{Report, Row, Target};

fn main() -> Result<()> {
    // Counted before the process pins itself to one core.
    let _ = num_cpus();
    if std::env::args().any(|a| a == "--quick") {
        harness::set_quick();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run())
}

/// Builds `portico` with the benchmark's own profile (release, or the dev profile a
/// `--quick` smoke run in CI has already built): its path.
fn build(root: &Path) -> Result<std::path::PathBuf> {
    let release = !cfg!(debug_assertions);
    eprintln!(
        "building portico ({})…",
        if release { "release" } else { "dev" }
    );
    let mut command = Command::new(env!("CARGO"));
    command.args(["build", "--locked", "-p", "portico", "--bin", "portico"]);
    if release {
        command.arg("--release");
    }
    if !command.current_dir(root).status()?.success() {
        bail!("cargo build failed");
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), std::path::PathBuf::from);
    Ok(target
        .join(if release { "release" } else { "debug" })
        .join("portico"))
}

async fn run() -> Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    // `PORTICO_BENCH_BINARY` measures a binary built elsewhere (with frame pointers, say, for
    // a profile of one section).
    let binary = match std::env::var_os("PORTICO_BENCH_BINARY") {
        Some(path) => std::path::PathBuf::from(path),
        None => build(&root)?,
    };
    // The load generator keeps to its own core from here on (the build above used all).
    harness::pin(std::process::id(), &generator_core());
    let mut report = Report::default();
    // `PORTICO_BENCH_ONLY=scim` runs just the SCIM section (it seeds a million users),
    // `signin` just the sign-in rows, `email` just the emailed-code sign-ins, `tokens`
    // everything but the SCIM section.
    let only = std::env::var("PORTICO_BENCH_ONLY").unwrap_or_default();
    if only != "scim" {
        for postgres in backend::stores() {
            let store = Backend::fresh(&binary, postgres.as_deref(), "tokens").await?;
            report.on(store.label());
            token_and_sign_in_rows(&store, &mut report).await?;
            store.remove().await?;
        }
    }
    // `PORTICO_BENCH_ONLY=tokens` leaves out the SCIM section.
    if only.is_empty() || only == "scim" {
        scim::scim_rows(&binary, &mut report).await?;
    }
    println!(
        "# Portico benchmark ({} cores on this machine{})\n",
        num_cpus(),
        if harness::quick() {
            ", --quick: timings not meaningful"
        } else {
            ""
        }
    );
    report.print();
    eprintln!("{} rows missed their target", report.missed());
    Ok(())
}

/// Everything measured on the one server with the RS256, ES256 and EdDSA tenants.
async fn token_and_sign_in_rows(store: &Backend, report: &mut Report) -> Result<()> {
    let cli = |args: &[&str]| store.cli(args);
    let mut tenants = Vec::new();
    let mut first_tenant = String::new();
    for (name, alg) in [
        ("bench-rs", "RS256"),
        ("bench-es", "ES256"),
        ("bench-ed", "EdDSA"),
    ] {
        let made = cli(&["tenant", "create", name, "--signing-alg", alg])?;
        if first_tenant.is_empty() {
            first_tenant = text_field(&made, "id")?;
        }
        let app = cli(&[
            "app", "create", "--tenant", name, "--name", "daemon", "--kind", "daemon",
        ])?;
        tenants.push((
            name,
            alg,
            text_field(&app, "client_id")?,
            text_field(&app, "client_secret")?,
        ));
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    // Everything the server should know from its start (its caches then hold it at once).
    let extensions = extensions::prepare(&cli, |name, kind| new_app(&cli, name, kind, &[]))?;
    let user_apps = tokens::prepare_user_apps(&cli)?;
    let sign_ins = signin::prepare(&cli, port)?;
    let email_codes = email_code::prepare(&cli, 0)?;
    // The people of the email-code rows, then those of the password rows (with a password
    // hashed as Portico hashes it).
    let hash = floors::portico_hash(signin::PASSWORD)?;
    store
        .seed_users(
            &first_tenant,
            0,
            (email_code::users_needed() + signin::PASSWORD_ACCOUNTS) as i64,
            Some(&hash),
        )
        .await?;
    // Codes go by SMTP to the benchmark's own mail server, as they would to a relay.
    let (mailbox, mail_url) = mailbox::Mailbox::start().await?;

    let started = Instant::now();
    let mut server = store.start(port, &[("PORTICO_MAIL_URL", mail_url.as_str())])?;
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    wait_ready(&http, &base).await?;
    let first_ready = started.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    report.add(
        Row::new(
            "idle RSS after start",
            server.rss_kb()? as f64 / 1024.0,
            "MB",
        )
        .target(Target::AtMost(20.0)),
    );
    eprintln!(
        "first start, fresh data directory: ready in {:.0} ms",
        first_ready.as_secs_f64() * 1000.0
    );

    let only = std::env::var("PORTICO_BENCH_ONLY").unwrap_or_default();
    if only != "signin" && only != "email" {
        // First, while the high-water mark is still the idle one.
        if let Some((name, _, id, secret)) = tenants.get(1) {
            footprint::loaded_rss_row(&mut server, &base, name, (id, secret), report).await?;
        }
        let floors = tokens::Floors {
            rs256: floors::raw_sign_rate("RS256"),
            es256: floors::raw_sign_rate("ES256"),
            eddsa: floors::raw_sign_rate("EdDSA"),
        };
        let client_credentials =
            tokens::client_credentials_rows(&tenants, &floors, &mut server, &http, &base, report)
                .await?;
        tokens::device_poll_rows(&cli, &mut server, &http, &base, floors.rs256, report).await?;
        tokens::user_token_rows(
            &user_apps,
            &mut server,
            &http,
            &base,
            floors.rs256,
            client_credentials,
            report,
        )
        .await?;
        server.pin(&harness::all_cores());
        extensions::extension_rows(extensions, &mut server, &http, &base, report).await?;
        for (label, path) in [
            (
                "discovery document",
                "bench-rs/v2.0/.well-known/openid-configuration",
            ),
            ("JWKS", "bench-rs/discovery/v2.0/keys"),
        ] {
            let url = format!("{base}/{path}");
            let request = {
                let http = http.clone();
                move || {
                    let http = http.clone();
                    let url = url.clone();
                    async move { drained(http.get(&url).send().await).await }
                }
            };
            let result = load(&mut server, 16, request, success).await?;
            report.add(Row::load(
                format!("{label}, {} cores, c=16", num_cpus()),
                &result,
                "requests/s",
            ));
        }
    }
    if only != "email" {
        signin::sign_in_rows(sign_ins, &mut server, &http, &base, report).await?;
    }
    email_code::email_code_rows(email_codes, mailbox, &mut server, &base, report).await?;
    server.stop();

    // Started again on the data directory it left: how soon it serves.
    let started = Instant::now();
    let mut server = store.start(port, &[])?;
    wait_ready(&http, &base).await?;
    report.add(
        Row::new(
            "start to ready, existing data directory",
            started.elapsed().as_secs_f64() * 1000.0,
            "ms",
        )
        .target(Target::AtMost(150.0)),
    );
    server.stop();
    Ok(())
}

/// POSTs a form and reads the JSON answer, whatever its status (an error answer's fields are
/// missing, so the request that needs them fails, and the row with it).
async fn answer_to(
    http: &reqwest::Client,
    url: &str,
    form: &[(&str, &str)],
) -> Result<serde_json::Value> {
    Ok(http.post(url).form(form).send().await?.json().await?)
}

/// POSTs a form and reads the JSON answer (a failure status is an error).
async fn post_form(
    http: &reqwest::Client,
    url: &str,
    form: &[(&str, &str)],
) -> Result<serde_json::Value> {
    Ok(http
        .post(url)
        .form(form)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?)
}

/// A string member of a JSON answer, empty when it is missing (the request it goes into then
/// fails, and so does the row).
fn member<'a>(value: &'a serde_json::Value, name: &str) -> &'a str {
    value
        .get(name)
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
}

/// A string member of a JSON answer.
fn text_field(value: &serde_json::Value, name: &str) -> Result<String> {
    value
        .get(name)
        .and_then(|v| v.as_str())
        .map(str::to_owned)
        .with_context(|| format!("no {name} in {value}"))
}

/// The `client_id` (and `client_secret`, for confidential apps) of a new app.
fn new_app(
    cli: &impl Fn(&[&str]) -> Result<serde_json::Value>,
    name: &str,
    kind: &str,
    extra: &[&str],
) -> Result<(String, Option<String>)> {
    let mut args = vec![
        "app", "create", "--tenant", "bench-rs", "--name", name, "--kind", kind,
    ];
    args.extend_from_slice(extra);
    let app = cli(&args)?;
    let id = text_field(&app, "client_id")?;
    let secret = app
        .get("client_secret")
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    Ok((id, secret))
}

fn success(status: u16) -> bool {
    (200..300).contains(&status)
}
