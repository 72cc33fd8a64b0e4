use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgPool};

use crate::{db_err, migrate_err};
use portico_core::StoreError;

/// PostgreSQL store, for any number of stateless Portico nodes on one cluster.
#[derive(Debug, Clone)]
pub struct PgStore {
    pub(crate) pool: PgPool,
}

impl PgStore {
    /// Connects and applies migrations. With `schema`, everything lives in that schema (created
    /// if missing), so several isolated stores can share one database (tests do this).
    pub async fn connect(url: &str, schema: Option<&str>) -> Result<Self, StoreError> {
        let mut options = PgConnectOptions::from_str(url).map_err(db_err)?;
        if let Some(schema) = schema {
            if !schema
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
            {
                return Err(StoreError::Backend(format!(
                    "invalid schema name {schema:?}"
                )));
            }
            let mut conn = sqlx::PgConnection::connect_with(&options)
                .await
                .map_err(db_err)?;
            // The name was checked to be [A-Za-z0-9_]+ above, so it cannot inject.
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "CREATE SCHEMA IF NOT EXISTS {schema}"
            )))
            .execute(&mut conn)
            .await
            .map_err(db_err)?;
            conn.close().await.map_err(db_err)?;
            options = options.options([("search_path", schema)]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .connect_with(options)
            .await
            .map_err(db_err)?;
        crate::migrations::migrator(crate::migrations::POSTGRES)
            .run(&pool)
            .await
            .map_err(migrate_err)?;
        Ok(Self { pool })
    }

    /// Starts a write transaction (read committed; every read-then-write in the queries is
    /// guarded by a conditional update or a unique key).
    pub(crate) async fn begin_write(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, StoreError> {
        self.pool.begin().await.map_err(db_err)
    }

    /// Commits of sign-in flow state wait for the disk here (see
    /// [`PgStore::begin_ephemeral`]); SQLite's do not anyway.
    pub(crate) const SYNC_COMMITS: bool = true;

    /// Starts a write transaction whose commit does not wait for its WAL to reach the disk,
    /// for sign-in flow state alone (a flow lives minutes, and each of its steps was a commit
    /// and a disk flush of its own). Nothing durable is risked: the WAL reaches the disk in
    /// order, so the durable commit that a finished flow ends in (its session and tokens)
    /// carries every earlier step of it along. A crash of the database can only undo the
    /// latest steps of flows still under way, whose people then start again.
    pub(crate) async fn begin_ephemeral(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, StoreError> {
        self.pool
            .begin_with("BEGIN; SET LOCAL synchronous_commit = off")
            .await
            .map_err(db_err)
    }

    /// Drops a schema made by [`PgStore::connect`] (tests clean up after themselves).
    pub async fn drop_schema(url: &str, schema: &str) -> Result<(), StoreError> {
        if !schema
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(StoreError::Backend(format!(
                "invalid schema name {schema:?}"
            )));
        }
        let options = PgConnectOptions::from_str(url).map_err(db_err)?;
        let mut conn = sqlx::PgConnection::connect_with(&options)
            .await
            .map_err(db_err)?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE"
        )))
        .execute(&mut conn)
        .await
        .map_err(db_err)?;
        conn.close().await.map_err(db_err)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    /// A store in a schema of its own on the test server (`PORTICO_TEST_POSTGRES_URL`), or
    /// `None` with a message when there is none and `PORTICO_REQUIRE_POSTGRES` is not set.
    async fn test_store() -> Option<(PgStore, String, String)> {
        let url = std::env::var("PORTICO_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
        let schema = format!("portico_unit_{}", uuid::Uuid::new_v4().simple());
        let connect = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            PgStore::connect(&url, Some(&schema)),
        )
        .await;
        match connect {
            Ok(Ok(store)) => Some((store, url, schema)),
            _ if std::env::var_os("PORTICO_REQUIRE_POSTGRES").is_some() => {
                panic!("PostgreSQL at {url} is required but unavailable")
            }
            _ => {
                eprintln!(
                    "SKIPPED: PostgreSQL at {url} unavailable; set PORTICO_TEST_POSTGRES_URL"
                );
                None
            }
        }
    }

    async fn synchronous_commit(tx: &mut sqlx::Transaction<'static, sqlx::Postgres>) -> String {
        sqlx::query_scalar("SHOW synchronous_commit")
            .fetch_one(&mut **tx)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn only_flow_state_commits_without_waiting_for_the_disk() {
        let Some((store, url, schema)) = test_store().await else {
            return;
        };
        let mut tx = store.begin_ephemeral().await.unwrap();
        assert_eq!(synchronous_commit(&mut tx).await, "off");
        tx.commit().await.unwrap();
        // The setting ended with its transaction; the pooled connection waits again.
        let mut tx = store.begin_write().await.unwrap();
        assert_eq!(synchronous_commit(&mut tx).await, "on");
        tx.rollback().await.unwrap();
        PgStore::drop_schema(&url, &schema).await.unwrap();
    }
}
