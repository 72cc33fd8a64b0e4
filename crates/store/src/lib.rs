//! Portico's storage: the [`portico_core::store::Store`] trait over SQLite and PostgreSQL.
//!
//! Both backends run the same SQL text (positional `$N` parameters, `RETURNING`, portable
//! types: GUIDs as text, times as BIGINT Unix seconds), written once in `queries/` (one
//! macro per part of the trait, expanded for both backends); only connection setup and DDL
//! differ per backend. Migrations are
//! embedded and applied on connect.

mod filter_sql;
mod migrations;
mod postgres;
mod queries;
mod rows;
mod sqlite;

use std::sync::Arc;

use portico_core::StoreError;
use portico_core::store::Store;

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

/// Opens the store a database URL names: `postgres://…` / `postgresql://…` for PostgreSQL,
/// `sqlite://PATH` or a bare path for SQLite. Runs pending migrations.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PgStore::connect(url, None).await?))
    } else {
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        Ok(Arc::new(
            SqliteStore::open(std::path::Path::new(path)).await?,
        ))
    }
}

pub(crate) fn db_err(err: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &err
        && db.is_unique_violation()
    {
        return StoreError::Conflict(conflict_subject(db.message()));
    }
    StoreError::Backend(err.to_string())
}

fn conflict_subject(message: &str) -> &'static str {
    let message = message.to_ascii_lowercase();
    if message.contains("tenants") {
        "tenant"
    } else if message.contains("users") {
        "user with this email"
    } else if message.contains("user_flows") {
        "user flow with this name"
    } else if message.contains("applications") {
        "application with this identifier URI"
    } else {
        "record"
    }
}

pub(crate) fn migrate_err(err: sqlx::migrate::MigrateError) -> StoreError {
    StoreError::Backend(format!("migration failed: {err}"))
}
