//! SCIM at scale (issue 13): a tenant of 1,000,000 users, seeded in SQL before the server
//! starts, answers the lookups Microsoft Entra provisioning makes (`userName eq`,
//! `externalId eq`) and the first pages of a listing, each printed as p50/p99 against the
//! 5 ms target; and a full sign-in (native API: initiate, then the password) in that tenant
//! is timed against one in a tenant of 1,000 users, as a ratio. On SQLite, and on PostgreSQL
//! when `PORTICO_BENCH_POSTGRES` names a server (e.g. `postgres://postgres@127.0.0.1:5432`):
//! a database of its own is made there and dropped after.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use sqlx::Connection as _;

use crate::harness::{Server, quick, wait_ready};
use crate::report::{Report, Row, Target};

/// Users in the large tenant (fewer in a `--quick` run).
fn large() -> i64 {
    if quick() { 20_000 } else { 1_000_000 }
}
/// Users in the small one.
const SMALL: i64 = 1_000;
/// Requests per measured lookup kind.
fn samples() -> usize {
    if quick() { 50 } else { 2_000 }
}
/// Sign-ins per tenant.
fn sign_ins() -> usize {
    if quick() { 3 } else { 60 }
}
/// The target for every lookup, at p99.
const TARGET_MS: f64 = 5.0;

const PASSWORD: &str = "bench-Password-1";

/// Runs the SCIM section on SQLite, then on PostgreSQL if one is named.
pub(crate) async fn scim_rows(binary: &Path, report: &mut Report) -> Result<()> {
    run_backend(binary, None, report).await?;
    if let Ok(server) = std::env::var("PORTICO_BENCH_POSTGRES") {
        run_backend(binary, Some(&server), report).await?;
    } else {
        eprintln!(
            "PostgreSQL skipped: set PORTICO_BENCH_POSTGRES=postgres://user@host:port to run it"
        );
    }
    Ok(())
}

/// One backend: seed, serve, measure.
async fn run_backend(binary: &Path, postgres: Option<&str>, report: &mut Report) -> Result<()> {
    let backend = if postgres.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let data = std::env::temp_dir().join(format!(
        "portico-bench-scim-{}-{backend}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&data);
    let database = match postgres {
        Some(server) => {
            let name = format!("portico_bench_{}", std::process::id());
            let mut admin = sqlx::PgConnection::connect(&format!("{server}/postgres")).await?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name}"
            )))
            .execute(&mut admin)
            .await?;
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut admin)
                .await?;
            Some(format!("{server}/{name}"))
        }
        None => None,
    };
    let cli = |args: &[&str]| -> Result<serde_json::Value> {
        let mut command = Command::new(binary);
        command.arg("--data-dir").arg(&data).arg("--json");
        if let Some(url) = &database {
            command.args(["--database-url", url]);
        }
        let out = command.args(args).env("RUST_LOG", "warn").output()?;
        if !out.status.success() {
            bail!("{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(serde_json::from_slice(&out.stdout)?)
    };
    let mut apps = Vec::new();
    for (tenant, seeded) in [("small", SMALL - 1), ("large", large() - 1)] {
        let made = cli(&["tenant", "create", tenant])?;
        let id = made
            .get("id")
            .and_then(|v| v.as_str())
            .context("tenant id")?
            .to_owned();
        cli(&[
            "user",
            "create",
            "--tenant",
            tenant,
            "--email",
            "person@example.com",
            "--password",
            PASSWORD,
        ])?;
        let app = cli(&[
            "app",
            "create",
            "--tenant",
            tenant,
            "--name",
            "mobile",
            "--kind",
            "native",
            "--native-auth",
        ])?;
        let client_id = app
            .get("client_id")
            .and_then(|v| v.as_str())
            .context("client id")?
            .to_owned();
        apps.push((tenant, client_id));
        let started = Instant::now();
        seed(database.as_deref(), &data, &id, seeded).await?;
        eprintln!(
            "{backend}: seeded {seeded} users into {tenant} in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    let token = cli(&["scim-token", "create", "--tenant", "large"])?;
    let token = token
        .get("token")
        .and_then(|v| v.as_str())
        .context("token")?
        .to_owned();

    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut server = Server::start(binary, &data, port, database.as_deref())?;
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    wait_ready(&http, &base).await?;

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
            let response = http.get(&url).bearer_auth(&token).send().await?;
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
                latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
            }
        }
        latencies.sort_by(f64::total_cmp);
        let pick = |q: f64| {
            latencies
                .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
                .copied()
                .unwrap_or(0.0)
        };
        report.add(
            Row::new(
                format!("SCIM {label}, {} users", large()),
                backend,
                latencies.len() as f64,
                "requests",
            )
            .latency(pick(0.5), pick(0.99))
            .target(Target::P99AtMost(TARGET_MS)),
        );
    }

    // Sign-in latency in the small tenant, then the large one: p99 against p99.
    let mut small_p99 = None;
    for (tenant, client_id) in &apps {
        let mut times = Vec::new();
        for _ in 0..sign_ins() {
            let started = Instant::now();
            sign_in(&http, &base, tenant, client_id).await?;
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        let pick = |q: f64| {
            times
                .get(((times.len() as f64 - 1.0) * q).round() as usize)
                .copied()
                .unwrap_or(0.0)
        };
        let (p50, p99) = (pick(0.5), pick(0.99));
        let users = if *tenant == "small" { SMALL } else { large() };
        let row = Row::new(
            format!("native password sign-in p99, tenant of {users} users"),
            backend,
            p99,
            "ms",
        )
        .latency(p50, p99);
        report.add(match small_p99 {
            None => {
                small_p99 = Some(p99);
                row
            }
            Some(small) => row
                .floor(small, format!("p99 ms with {SMALL} users"))
                .target(Target::RatioAtMost(1.2)),
        });
    }
    server.stop();
    let _ = std::fs::remove_dir_all(&data);
    if let (Some(server), Some(url)) = (postgres, &database) {
        let name = url.rsplit('/').next().unwrap_or_default();
        let mut admin = sqlx::PgConnection::connect(&format!("{server}/postgres")).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name}"
        )))
        .execute(&mut admin)
        .await?;
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

/// Puts `count` users into the tenant in one statement, the way a migration from another
/// system would arrive (ids, emails and external ids numbered), then refreshes the planner's
/// statistics.
async fn seed(postgres: Option<&str>, data: &Path, tenant: &str, count: i64) -> Result<()> {
    match postgres {
        Some(url) => {
            let mut db = sqlx::PgConnection::connect(url).await?;
            sqlx::query(
                "INSERT INTO users (tenant_id, id, email, display_name, password_hash, enabled, created_at, attributes, \
                 external_id, scim, version) \
                 SELECT $1, lpad(to_hex(i), 8, '0') || '-0000-4000-8000-' || lpad(to_hex(i), 12, '0'), \
                 'user' || i || '@bench.example', NULL, NULL, TRUE, 1700000000, '{}', 'ext-' || i, '{}', 1 \
                 FROM generate_series(0, $2 - 1) AS i",
            )
            .bind(tenant)
            .bind(count)
            .execute(&mut db)
            .await?;
            sqlx::query("ANALYZE").execute(&mut db).await?;
        }
        None => {
            let path = data.join("portico.db");
            let mut db =
                sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display())).await?;
            sqlx::query(
                "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $2 - 1) \
                 INSERT INTO users (tenant_id, id, email, display_name, password_hash, enabled, created_at, attributes, \
                 external_id, scim, version) \
                 SELECT $1, printf('%08x-0000-4000-8000-%012x', i, i), 'user' || i || '@bench.example', NULL, NULL, 1, \
                 1700000000, '{}', 'ext-' || i, '{}', 1 FROM n",
            )
            .bind(tenant)
            .bind(count)
            .execute(&mut db)
            .await?;
            sqlx::query("ANALYZE").execute(&mut db).await?;
        }
    }
    Ok(())
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
