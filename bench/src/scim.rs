//! Scale of data (issues 13 and 16). A large store (a tenant of 1,000,000 users beside
//! 10,000 other tenants, seeded in SQL before the server starts) answers the lookups Microsoft
//! Entra provisioning makes (`userName eq`, `externalId eq`) and the first pages of a
//! listing, each printed as p50/p99 against the 5 ms target. Then a full sign-in (native API:
//! initiate, then the password) and a client-credentials token in the large tenant are timed
//! against the same in a small store (one tenant of 1,000 users), p99 against p99. On
//! SQLite, and on PostgreSQL when `PORTICO_BENCH_POSTGRES` names a server (e.g.
//! `postgres://postgres@127.0.0.1:5432`): a database of its own is made there and dropped
//! after.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context as _, Result, bail};

use crate::backend::{Backend, stores};
use crate::harness::{Server, percentiles, quick, wait_ready};
use crate::report::{Report, Row, Target};
use crate::text_field;

/// Users in the large tenant (fewer in a `--quick` run).
fn large() -> i64 {
    if quick() { 20_000 } else { 1_000_000 }
}
/// Tenants in the large store (the large one among them).
fn tenants() -> i64 {
    if quick() { 200 } else { 10_000 }
}
/// Users in the small store's one tenant.
const SMALL: i64 = 1_000;
/// Requests per measured lookup kind.
fn samples() -> usize {
    if quick() { 50 } else { 2_000 }
}
/// Sign-ins per store (each hashes a password).
fn sign_ins() -> usize {
    if quick() { 3 } else { 200 }
}
/// The target for every lookup, at p99.
const TARGET_MS: f64 = 5.0;

const PASSWORD: &str = "bench-Password-1";

/// Runs the section on SQLite, then on PostgreSQL if one is named.
pub(crate) async fn scim_rows(binary: &Path, report: &mut Report) -> Result<()> {
    for postgres in stores() {
        let small = Backend::fresh(binary, postgres.as_deref(), "small").await?;
        report.on(small.label());
        let tenant = Tenant::make(&small, "small", Some(SMALL)).await?;
        let mut server = tenant.serve(&small).await?;
        let reference = tenant.latencies(&server).await?;
        server.server.stop();
        small.remove().await?;

        let large_store = Backend::fresh(binary, postgres.as_deref(), "scale").await?;
        let tenant = Tenant::make(&large_store, "large", None).await?;
        let started = Instant::now();
        large_store
            .seed_users(&tenant.id, 0, large() - 1, None)
            .await?;
        large_store.seed_tenants(tenants() - 1).await?;
        eprintln!(
            "{}: seeded {} users and {} tenants in {:.1} s",
            large_store.label(),
            large() - 1,
            tenants() - 1,
            started.elapsed().as_secs_f64()
        );
        let scim_token = text_field(
            &large_store.cli(&["scim-token", "create", "--tenant", "large"])?,
            "token",
        )?;
        server = tenant.serve(&large_store).await?;
        lookup_rows(&server, &scim_token, report).await?;
        let at_scale = tenant.latencies(&server).await?;
        let scale = format!("{} users, {} tenants", large(), tenants());
        for (what, (p50, p99), (_, small_p99)) in [
            ("native password sign-in", at_scale.0, reference.0),
            ("client credentials token", at_scale.1, reference.1),
        ] {
            report.add(
                Row::new(format!("{what} p99, store of {scale}"), p99, "ms")
                    .latency(p50, p99)
                    .floor(small_p99, format!("p99 ms, one tenant of {SMALL} users"))
                    .target(Target::RatioAtMost(1.2)),
            );
        }
        server.server.stop();
        large_store.remove().await?;
    }
    Ok(())
}

/// A server on a store, its address and a client for it.
struct Running {
    server: Server,
    base: String,
    http: reqwest::Client,
}

/// The measured tenant of a store: a person with a password, a native app that signs them in
/// and a daemon that asks for tokens.
struct Tenant {
    name: &'static str,
    id: String,
    native: String,
    daemon: (String, String),
}

impl Tenant {
    /// Makes the tenant, its person and apps with the CLI, and seeds `seed` users in all
    /// (the large store seeds its own, timed).
    async fn make(store: &Backend, name: &'static str, seed: Option<i64>) -> Result<Self> {
        let id = text_field(&store.cli(&["tenant", "create", name])?, "id")?;
        store.cli(&[
            "user",
            "create",
            "--tenant",
            name,
            "--email",
            "person@example.com",
            "--password",
            PASSWORD,
        ])?;
        let app = |kind: &str, extra: &[&str]| -> Result<serde_json::Value> {
            let mut args = vec![
                "app", "create", "--tenant", name, "--name", kind, "--kind", kind,
            ];
            args.extend_from_slice(extra);
            store.cli(&args)
        };
        let native = text_field(&app("native", &["--native-auth"])?, "client_id")?;
        let daemon = app("daemon", &[])?;
        let tenant = Self {
            name,
            id,
            native,
            daemon: (
                text_field(&daemon, "client_id")?,
                text_field(&daemon, "client_secret")?,
            ),
        };
        if let Some(users) = seed {
            store.seed_users(&tenant.id, 0, users - 1, None).await?;
        }
        Ok(tenant)
    }

    /// Starts the server on `store`.
    async fn serve(&self, store: &Backend) -> Result<Running> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let server = store.start(port, &[])?;
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        wait_ready(&http, &base).await?;
        Ok(Running { server, base, http })
    }

    /// p50 and p99 of a whole sign-in, then of a client-credentials token, one at a time.
    async fn latencies(
        &self,
        Running { base, http, .. }: &Running,
    ) -> Result<((f64, f64), (f64, f64))> {
        let mut times = Vec::new();
        for _ in 0..sign_ins() {
            let started = Instant::now();
            sign_in(http, base, self.name, &self.native).await?;
            times.push(started.elapsed());
        }
        let sign_in = percentiles(times);
        let url = format!("{base}/{}/oauth2/v2.0/token", self.name);
        let (id, secret) = &self.daemon;
        let scope = format!("{id}/.default");
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", id.as_str()),
            ("client_secret", secret.as_str()),
            ("scope", scope.as_str()),
        ];
        let mut times = Vec::new();
        for n in 0..samples() + 50 {
            let started = Instant::now();
            crate::post_form(http, &url, &form).await?;
            // The first requests warm connections and caches.
            if n >= 50 {
                times.push(started.elapsed());
            }
        }
        Ok((sign_in, percentiles(times)))
    }
}

/// The SCIM lookups in the large tenant, each a row against the 5 ms p99 target.
async fn lookup_rows(
    Running { base, http, .. }: &Running,
    token: &str,
    report: &mut Report,
) -> Result<()> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut random = move || {
        // xorshift: spread lookups over the whole tenant, the same every run.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % (large() as u64 - 1)) as i64
    };
    let labels = [
        "filter userName eq",
        "filter externalId eq",
        "first pages (count=100)",
    ];
    for (kind, label) in labels.into_iter().enumerate() {
        let mut latencies = Vec::with_capacity(samples());
        for n in 0..samples() + 50 {
            let filter = match kind {
                0 => format!("userName eq \"user{}@bench.example\"", random()),
                1 => format!("externalId eq \"ext-{}\"", random()),
                _ => String::new(),
            };
            let url = if filter.is_empty() {
                format!(
                    "{base}/large/scim/v2/Users?startIndex={}&count=100",
                    1 + 100 * (n % 5)
                )
            } else {
                format!("{base}/large/scim/v2/Users?filter={}", url_encode(&filter))
            };
            let sent = Instant::now();
            let response = http.get(&url).bearer_auth(token).send().await?;
            let status = response.status();
            let body: serde_json::Value = response.json().await?;
            if !status.is_success()
                || body
                    .get("totalResults")
                    .and_then(serde_json::Value::as_u64)
                    .is_none_or(|t| t == 0)
            {
                bail!("{label}: {status} {body}");
            }
            // The first requests warm connections and caches.
            if n >= 50 {
                latencies.push(sent.elapsed());
            }
        }
        let count = latencies.len();
        let (p50, p99) = percentiles(latencies);
        report.add(
            Row::new(
                format!("SCIM {label}, {} users", large()),
                count as f64,
                "requests",
            )
            .latency(p50, p99)
            .target(Target::P99AtMost(TARGET_MS)),
        );
    }

    Ok(())
}

/// Percent-encodes a query value.
fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// A full sign-in on the native API: the account is looked up, then the password checked
/// (argon2) and tokens issued.
async fn sign_in(http: &reqwest::Client, base: &str, tenant: &str, client_id: &str) -> Result<()> {
    let initiated: serde_json::Value = http
        .post(format!("{base}/{tenant}/oauth2/v2.0/initiate"))
        .form(&[
            ("client_id", client_id),
            ("username", "person@example.com"),
            ("challenge_type", "password redirect"),
        ])
        .send()
        .await?
        .json()
        .await?;
    let continuation = initiated
        .get("continuation_token")
        .and_then(|v| v.as_str())
        .with_context(|| format!("initiate: {initiated}"))?;
    let response = http
        .post(format!("{base}/{tenant}/oauth2/v2.0/token"))
        .form(&[
            ("client_id", client_id),
            ("grant_type", "password"),
            ("continuation_token", continuation),
            ("password", PASSWORD),
            ("scope", "openid"),
        ])
        .send()
        .await?;
    if !response.status().is_success() {
        bail!("sign-in: {}", response.text().await?);
    }
    Ok(())
}
