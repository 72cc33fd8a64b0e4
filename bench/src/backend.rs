//! A fresh store for one section of the benchmark: a data directory of its own and, on
//! PostgreSQL, a database of its own on the named server (made at the start, dropped at the
//! end). Sections set it up with the `portico` CLI, as an operator would, and seed bulk data
//! straight into its tables, as a migration from another system would arrive.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Result, bail};
use sqlx::Connection as _;

use crate::harness::Server;

/// The stores every section runs on: SQLite, then the PostgreSQL server that
/// `PORTICO_BENCH_POSTGRES` names (e.g. `postgres://postgres@127.0.0.1:5432`), if it names one.
pub(crate) fn stores() -> Vec<Option<String>> {
    let postgres = std::env::var("PORTICO_BENCH_POSTGRES").ok();
    if postgres.is_none() {
        eprintln!(
            "PostgreSQL skipped: set PORTICO_BENCH_POSTGRES=postgres://user@host:port to run it"
        );
    }
    std::iter::once(None).chain(postgres.map(Some)).collect()
}

/// One section's store.
pub(crate) struct Backend {
    binary: PathBuf,
    data: PathBuf,
    /// The database URL (PostgreSQL), else the data directory's SQLite.
    database: Option<String>,
    /// The PostgreSQL server the database was made on.
    server: Option<String>,
}

impl Backend {
    /// A new data directory for `section` and, when `postgres` names a server, a new
    /// database there.
    pub(crate) async fn fresh(
        binary: &Path,
        postgres: Option<&str>,
        section: &str,
    ) -> Result<Self> {
        let tag = format!("{section}_{}", std::process::id());
        let data = std::env::temp_dir().join(format!(
            "portico-bench-{tag}-{}",
            if postgres.is_some() { "pg" } else { "sqlite" }
        ));
        let _ = std::fs::remove_dir_all(&data);
        let database = match postgres {
            Some(server) => {
                let name = format!("portico_bench_{tag}");
                let mut admin = sqlx::PgConnection::connect(&format!("{server}/postgres")).await?;
                for statement in [
                    format!("DROP DATABASE IF EXISTS {name}"),
                    format!("CREATE DATABASE {name}"),
                ] {
                    sqlx::query(sqlx::AssertSqlSafe(statement))
                        .execute(&mut admin)
                        .await?;
                }
                Some(format!("{server}/{name}"))
            }
            None => None,
        };
        Ok(Self {
            binary: binary.to_owned(),
            data,
            database,
            server: postgres.map(str::to_owned),
        })
    }

    /// How the table names this store.
    pub(crate) fn label(&self) -> &'static str {
        if self.database.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    }

    /// Runs `portico --json ARGS` on this store: its JSON answer.
    pub(crate) fn cli(&self, args: &[&str]) -> Result<serde_json::Value> {
        let mut command = Command::new(&self.binary);
        command.arg("--data-dir").arg(&self.data).arg("--json");
        if let Some(url) = &self.database {
            command.args(["--database-url", url]);
        }
        let out = command.args(args).env("RUST_LOG", "warn").output()?;
        if !out.status.success() {
            bail!("{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(serde_json::from_slice(&out.stdout)?)
    }

    /// Starts Portico on this store, listening on `port`, with `env` added.
    pub(crate) fn start(&self, port: u16, env: &[(&str, &str)]) -> Result<Server> {
        Server::start(
            &self.binary,
            &self.data,
            port,
            self.database.as_deref(),
            env,
        )
    }

    /// Puts `count` users into `tenant` in one statement, numbered from `first`
    /// (`user{n}@bench.example`, external id `ext-{n}`, the one `password_hash` or none),
    /// then refreshes the planner's statistics.
    pub(crate) async fn seed_users(
        &self,
        tenant: &str,
        first: i64,
        count: i64,
        password_hash: Option<&str>,
    ) -> Result<()> {
        let (first, last) = (first, first + count - 1);
        match &self.database {
            Some(url) => {
                let mut db = sqlx::PgConnection::connect(url).await?;
                sqlx::query(
                    "INSERT INTO users (tenant_id, id, email, display_name, password_hash, enabled, \
                     created_at, attributes, external_id, scim, version) \
                     SELECT $1, lpad(to_hex(i), 8, '0') || '-0000-4000-8000-' || lpad(to_hex(i), 12, '0'), \
                     'user' || i || '@bench.example', NULL, $4, TRUE, 1700000000, '{}', 'ext-' || i, '{}', 1 \
                     FROM generate_series($2::BIGINT, $3::BIGINT) AS i",
                )
                .bind(tenant)
                .bind(first)
                .bind(last)
                .bind(password_hash)
                .execute(&mut db)
                .await?;
                sqlx::query("ANALYZE").execute(&mut db).await?;
            }
            None => {
                let mut db = self.sqlite().await?;
                sqlx::query(
                    "WITH RECURSIVE n(i) AS (SELECT $2 UNION ALL SELECT i + 1 FROM n WHERE i < $3) \
                     INSERT INTO users (tenant_id, id, email, display_name, password_hash, enabled, \
                     created_at, attributes, external_id, scim, version) \
                     SELECT $1, printf('%08x-0000-4000-8000-%012x', i, i), 'user' || i || '@bench.example', \
                     NULL, $4, 1, 1700000000, '{}', 'ext-' || i, '{}', 1 FROM n",
                )
                .bind(tenant)
                .bind(first)
                .bind(last)
                .bind(password_hash)
                .execute(&mut db)
                .await?;
                sqlx::query("ANALYZE").execute(&mut db).await?;
            }
        }
        Ok(())
    }

    /// Puts `count` more tenants in the store (`filler-{n}`), as rows beside the measured ones:
    /// what the store's tables and indexes hold in a server of many customers. They have no
    /// keys or apps, since nothing asks them for tokens.
    pub(crate) async fn seed_tenants(&self, count: i64) -> Result<()> {
        match &self.database {
            Some(url) => {
                let mut db = sqlx::PgConnection::connect(url).await?;
                sqlx::query(
                    "INSERT INTO tenants (id, name, signing_alg, created_at) \
                     SELECT lpad(to_hex(i), 8, '0') || '-1111-4000-8000-' || lpad(to_hex(i), 12, '0'), \
                     'filler-' || i, 'RS256', 1700000000 FROM generate_series(1, $1::BIGINT) AS i",
                )
                .bind(count)
                .execute(&mut db)
                .await?;
            }
            None => {
                let mut db = self.sqlite().await?;
                sqlx::query(
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1) \
                     INSERT INTO tenants (id, name, signing_alg, created_at) \
                     SELECT printf('%08x-1111-4000-8000-%012x', i, i), 'filler-' || i, 'RS256', \
                     1700000000 FROM n",
                )
                .bind(count)
                .execute(&mut db)
                .await?;
            }
        }
        Ok(())
    }

    async fn sqlite(&self) -> Result<sqlx::SqliteConnection> {
        let path = self.data.join("portico.db");
        Ok(sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display())).await?)
    }

    /// Removes the data directory and the database.
    pub(crate) async fn remove(self) -> Result<()> {
        let _ = std::fs::remove_dir_all(&self.data);
        if let (Some(server), Some(url)) = (&self.server, &self.database) {
            let name = url.rsplit('/').next().unwrap_or_default();
            let mut admin = sqlx::PgConnection::connect(&format!("{server}/postgres")).await?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut admin)
            .await?;
        }
        Ok(())
    }
}
