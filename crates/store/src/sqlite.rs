use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::{db_err, migrate_err};
use portico_core::StoreError;

/// The embedded default store: one SQLite file in WAL mode, so the CLI can work on it while a
/// server runs.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies migrations.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite://")
            .map_err(db_err)?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // WAL + NORMAL keeps every committed transaction across a process crash
            // (kill -9); only an OS crash or power loss can lose the last commits.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            // Deleted rows (spent message bodies, ended sessions) are overwritten on disk,
            // not left in free pages for whoever copies the file.
            .pragma("secure_delete", "on")
            .busy_timeout(Duration::from_secs(10));
        Self::with_options(options, 8).await
    }

    /// A private in-memory database (tests).
    pub async fn in_memory() -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")
            .map_err(db_err)?
            .foreign_keys(true);
        // One connection: each in-memory connection would be a separate database.
        Self::with_options(options, 1).await
    }

    /// Starts a write transaction with `BEGIN IMMEDIATE`: it takes the write lock up front
    /// (waiting up to the busy timeout), so a transaction that reads before it writes cannot
    /// fail with `SQLITE_BUSY` because another writer got in between (a deferred transaction
    /// cannot upgrade its read snapshot then, and SQLite does not wait in that case).
    pub(crate) async fn begin_write(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_err)
    }

    async fn with_options(options: SqliteConnectOptions, max: u32) -> Result<Self, StoreError> {
        let pool = SqlitePoolOptions::new()
            // A connection to a file in this process cannot go away underneath: no ping
            // (one more round trip to the connection's thread) before every query.
            .test_before_acquire(false)
            .max_connections(max)
            .min_connections(1)
            .connect_with(options)
            .await
            .map_err(db_err)?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&pool)
            .await
            .map_err(migrate_err)?;
        Ok(Self { pool })
    }
}
