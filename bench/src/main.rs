//! Portico load benchmark: `cargo run --release -p portico-bench`.
//!
//! Builds and starts a release Portico on a fresh SQLite data directory, then measures:
//! client_credentials tokens/s with p50/p99 latency at several concurrencies (RS256 and ES256
//! tenants), discovery and JWKS requests/s, idle RSS, and, in the same run, the raw signing
//! rate of one core. The floor ratio is tokens/s ÷ (raw rate × cores the server used), where
//! cores used = the server's CPU seconds ÷ wall seconds over the window (read from /proc), so
//! the load generator sharing the machine does not distort it. The device-code poll (RFC
//! 8628: a device asking whether its person has finished) and token exchange (RFC 8693: a
//! gateway trading a user's token for one to another API) are printed against the same floor.
//! Token issuance with a custom authentication extension (a local receiver built with
//! portico-claims) is printed beside the same grant without one.

#![allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

mod extensions;
mod harness;
mod scim;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use harness::{Server, load, num_cpus, wait_ready};

fn main() -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run())
}

async fn run() -> Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    eprintln!("building release portico…");
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "--release",
            "--locked",
            "-p",
            "portico",
            "--bin",
            "portico",
        ])
        .current_dir(&root)
        .status()?;
    if !status.success() {
        bail!("cargo build failed");
    }
    let binary = root.join("target/release/portico");
    // `PORTICO_BENCH_ONLY=scim` runs just the SCIM section (it seeds a million users).
    if std::env::var("PORTICO_BENCH_ONLY").as_deref() == Ok("scim") {
        return scim::scim_rows(&binary).await;
    }
    let data = std::env::temp_dir().join(format!("portico-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let cli = |args: &[&str]| -> Result<serde_json::Value> {
        let out = Command::new(&binary)
            .arg("--data-dir")
            .arg(&data)
            .arg("--json")
            .args(args)
            .env("RUST_LOG", "warn")
            .output()?;
        if !out.status.success() {
            bail!("{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(serde_json::from_slice(&out.stdout)?)
    };
    let mut tenants = Vec::new();
    for (name, alg) in [("bench-rs", "RS256"), ("bench-es", "ES256")] {
        cli(&["tenant", "create", name, "--signing-alg", alg])?;
        let app = cli(&[
            "app", "create", "--tenant", name, "--name", "daemon", "--kind", "daemon",
        ])?;
        let id = app
            .get("client_id")
            .and_then(|v| v.as_str())
            .context("client_id")?
            .to_owned();
        let secret = app
            .get("client_secret")
            .and_then(|v| v.as_str())
            .context("secret")?
            .to_owned();
        tenants.push((name, alg, id, secret));
    }

    let prepared = extensions::prepare(&cli, |name, kind| new_app(&cli, name, kind, &[]))?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut server = Server::start(&binary, &data, port, None)?;
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    wait_ready(&http, &base).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle_rss_kb = server.rss_kb()?;

    println!(
        "# Portico benchmark ({} cores on this machine)\n",
        num_cpus()
    );
    println!(
        "idle RSS after start: {:.1} MB (target ≤ 20 MB)\n",
        idle_rss_kb as f64 / 1024.0
    );
    let raw_rs = raw_sign_rate("RS256");
    let raw_es = raw_sign_rate("ES256");
    println!("raw signing rate, one core (aws-lc-rs): RS256 {raw_rs:.0}/s, ES256 {raw_es:.0}/s\n");

    println!("| alg | concurrency | tokens/s | p50 ms | p99 ms | server cores | floor ratio |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (name, alg, id, secret) in &tenants {
        let raw = if *alg == "RS256" { raw_rs } else { raw_es };
        let url = format!("{base}/{name}/oauth2/v2.0/token");
        let form = Arc::new(vec![
            ("grant_type".to_owned(), "client_credentials".to_owned()),
            ("client_id".to_owned(), id.clone()),
            ("client_secret".to_owned(), secret.clone()),
            ("scope".to_owned(), format!("{id}/.default")),
        ]);
        for concurrency in [1usize, 4, 16, 64] {
            form_row(&mut server, &http, &url, &form, alg, concurrency, raw).await?;
        }
    }
    device_poll_rows(&cli, &mut server, &http, &base, raw_rs).await?;
    token_exchange_rows(&cli, &mut server, &http, &base, raw_rs).await?;
    extensions::extension_rows(prepared, &mut server, &http, &base).await?;
    println!();
    println!("| endpoint | concurrency | requests/s | p50 ms | p99 ms |");
    println!("|---|---:|---:|---:|---:|");
    for (label, path) in [
        (
            "discovery",
            "bench-rs/v2.0/.well-known/openid-configuration",
        ),
        ("jwks", "bench-rs/discovery/v2.0/keys"),
    ] {
        let url = format!("{base}/{path}");
        let request = {
            let http = http.clone();
            move || {
                let http = http.clone();
                let url = url.clone();
                async move { http.get(&url).send().await }
            }
        };
        let result = load(&mut server, 16, request, success).await?;
        println!(
            "| {label} | 16 | {:.0} | {:.2} | {:.2} |",
            result.rate, result.p50_ms, result.p99_ms
        );
    }
    server.stop();
    let _ = std::fs::remove_dir_all(&data);
    // `PORTICO_BENCH_ONLY=tokens` stops here (the SCIM section seeds a million users).
    if std::env::var("PORTICO_BENCH_ONLY").as_deref() == Ok("tokens") {
        return Ok(());
    }
    scim::scim_rows(&binary).await
}

/// The device-code poll: devices whose person has not finished yet, each polling as fast as
/// it can (so most answers are `slow_down`; either answer notes the poll in the store), as
/// requests per second and against the RS256 floor like client credentials.
async fn device_poll_rows(
    cli: &impl Fn(&[&str]) -> Result<serde_json::Value>,
    server: &mut Server,
    http: &reqwest::Client,
    base: &str,
    raw_rs: f64,
) -> Result<()> {
    let (client_id, _) = new_app(cli, "tv", "native", &[])?;
    cli(&[
        "app",
        "update",
        "--tenant",
        "bench-rs",
        "--app",
        &client_id,
        "--device-code",
        "on",
    ])?;
    println!();
    println!(
        "| device-code poll | concurrency | polls/s | p50 ms | p99 ms | server cores | RS256 floor ratio |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for concurrency in [1usize, 16] {
        let mut codes = Vec::new();
        for _ in 0..concurrency {
            let issued = post_form(
                http,
                &format!("{base}/bench-rs/oauth2/v2.0/devicecode"),
                &[("client_id", client_id.as_str()), ("scope", "openid")],
            )
            .await?;
            codes.push(text_field(&issued, "device_code")?);
        }
        let codes = Arc::new(codes);
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let url = format!("{base}/bench-rs/oauth2/v2.0/token");
        let request = {
            let http = http.clone();
            let client_id = client_id.clone();
            move || {
                let http = http.clone();
                let url = url.clone();
                let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let code = codes.get(index % codes.len()).cloned().unwrap_or_default();
                let client_id = client_id.clone();
                async move {
                    http.post(&url)
                        .form(&[
                            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                            ("client_id", client_id.as_str()),
                            ("device_code", code.as_str()),
                        ])
                        .send()
                        .await
                }
            }
        };
        // Pending devices are answered 400 (authorization_pending or slow_down).
        let result = load(server, concurrency, request, |status| status == 400).await?;
        println!(
            "| RS256 tenant | {concurrency} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} |",
            result.rate,
            result.p50_ms,
            result.p99_ms,
            result.cores,
            result.rate / (raw_rs * result.cores.max(0.01))
        );
    }
    Ok(())
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

/// Token exchange (RFC 8693): a gateway exchanges a user's token for the front API into one
/// for the Orders API (impersonation, as the Orders API's policy allows). The user's token
/// comes from a sign-in over the native API; every exchange verifies it, looks up the
/// policy, the grant and the user, and signs a new token: a user-token grant against the
/// RS256 floor like client credentials.
async fn token_exchange_rows(
    cli: &impl Fn(&[&str]) -> Result<serde_json::Value>,
    server: &mut Server,
    http: &reqwest::Client,
    base: &str,
    raw_rs: f64,
) -> Result<()> {
    let password = "bench-Password-1";
    cli(&[
        "user",
        "create",
        "--tenant",
        "bench-rs",
        "--email",
        "bench@example.com",
        "--password",
        password,
    ])?;
    let (front, _) = new_app(cli, "front", "web", &[])?;
    cli(&[
        "app",
        "expose",
        "--tenant",
        "bench-rs",
        "--app",
        &front,
        "--identifier-uri",
        "api://front",
        "--scope",
        "Access",
    ])?;
    let (gateway, gateway_secret) = new_app(cli, "gateway", "web", &[])?;
    let gateway_secret = gateway_secret.context("gateway secret")?;
    let (orders, _) = new_app(cli, "orders", "web", &[])?;
    let rule = format!("{gateway}:{front}:impersonation");
    cli(&[
        "app",
        "expose",
        "--tenant",
        "bench-rs",
        "--app",
        &orders,
        "--identifier-uri",
        "api://orders",
        "--scope",
        "Orders.Read",
        "--token-exchange",
        &rule,
    ])?;
    cli(&[
        "app",
        "grant",
        "--tenant",
        "bench-rs",
        "--app",
        &gateway,
        "--api",
        &orders,
        "--scope",
        "Orders.Read",
    ])?;
    let (mobile, _) = new_app(cli, "mobile", "native", &["--native-auth"])?;
    cli(&[
        "app", "grant", "--tenant", "bench-rs", "--app", &mobile, "--api", &front, "--scope",
        "Access",
    ])?;
    // The user signs in on the mobile app (native API): a token for the front API.
    let initiated = post_form(
        http,
        &format!("{base}/bench-rs/oauth2/v2.0/initiate"),
        &[
            ("client_id", mobile.as_str()),
            ("username", "bench@example.com"),
            ("challenge_type", "password redirect"),
        ],
    )
    .await?;
    let continuation = text_field(&initiated, "continuation_token")?;
    let signed_in = post_form(
        http,
        &format!("{base}/bench-rs/oauth2/v2.0/token"),
        &[
            ("client_id", mobile.as_str()),
            ("grant_type", "password"),
            ("continuation_token", continuation.as_str()),
            ("password", password),
            ("scope", "api://front/Access"),
        ],
    )
    .await?;
    let subject = text_field(&signed_in, "access_token")?;
    println!();
    println!(
        "| token exchange | concurrency | tokens/s | p50 ms | p99 ms | server cores | RS256 floor ratio |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let form = Arc::new(vec![
        (
            "grant_type".to_owned(),
            "urn:ietf:params:oauth:grant-type:token-exchange".to_owned(),
        ),
        ("client_id".to_owned(), gateway),
        ("client_secret".to_owned(), gateway_secret),
        ("subject_token".to_owned(), subject),
        (
            "subject_token_type".to_owned(),
            "urn:ietf:params:oauth:token-type:access_token".to_owned(),
        ),
        ("scope".to_owned(), "api://orders/Orders.Read".to_owned()),
    ]);
    let url = format!("{base}/bench-rs/oauth2/v2.0/token");
    for concurrency in [1usize, 16] {
        form_row(
            server,
            http,
            &url,
            &form,
            "RS256 tenant",
            concurrency,
            raw_rs,
        )
        .await?;
    }
    Ok(())
}

/// Token requests with `form` at `concurrency`, printed as a row against the signing floor
/// `raw` (tokens/s ÷ (raw × server cores)).
async fn form_row(
    server: &mut Server,
    http: &reqwest::Client,
    url: &str,
    form: &Arc<Vec<(String, String)>>,
    label: &str,
    concurrency: usize,
    raw: f64,
) -> Result<()> {
    let request = {
        let http = http.clone();
        let url = url.to_owned();
        let form = Arc::clone(form);
        move || {
            let http = http.clone();
            let url = url.clone();
            let form = Arc::clone(&form);
            async move { http.post(&url).form(form.as_slice()).send().await }
        }
    };
    let result = load(server, concurrency, request, success).await?;
    println!(
        "| {label} | {concurrency} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} |",
        result.rate,
        result.p50_ms,
        result.p99_ms,
        result.cores,
        result.rate / (raw * result.cores.max(0.01))
    );
    Ok(())
}

fn success(status: u16) -> bool {
    (200..300).contains(&status)
}

/// Signatures per second of one thread over a JWS-sized input, with a cached key pair.
fn raw_sign_rate(alg: &str) -> f64 {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _, RsaKeyPair};
    let message = vec![b'x'; 600];
    let rng = SystemRandom::new();
    let started = Instant::now();
    let mut count = 0u64;
    match alg {
        "RS256" => {
            let Ok(pair) = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048) else {
                return 0.0;
            };
            let mut sig = vec![0u8; pair.public_modulus_len()];
            while started.elapsed() < Duration::from_secs(2) {
                let _ = pair.sign(&signature::RSA_PKCS1_SHA256, &rng, &message, &mut sig);
                count += 1;
            }
        }
        _ => {
            let Ok(doc) =
                EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            else {
                return 0.0;
            };
            let Ok(pair) =
                EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, doc.as_ref())
            else {
                return 0.0;
            };
            let _ = pair.public_key();
            while started.elapsed() < Duration::from_secs(2) {
                let _ = pair.sign(&rng, &message);
                count += 1;
            }
        }
    }
    count as f64 / started.elapsed().as_secs_f64()
}
