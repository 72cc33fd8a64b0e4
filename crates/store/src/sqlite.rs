use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::{db_err, migrate_err};
use portico_core::StoreError;

/// How often the write-ahead log is copied into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// Log frames (pages) past which the log is made to start over.
const RESTART_FRAMES: i64 = 4096;

/// One turn of the checkpoint task.
async fn checkpoint(pool: &SqlitePool) -> Result<(), sqlx::Error> {
    use sqlx::Row as _;
    // The answer: whether it was blocked, the frames in the log, the frames copied.
    let passive = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(pool)
        .await?;
    let frames: i64 = passive.try_get(1)?;
    if frames >= RESTART_FRAMES {
        sqlx::query("PRAGMA wal_checkpoint(RESTART)")
            .execute(pool)
            .await?;
    }
    Ok(())
}

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
            // No checkpoint after a commit: the commit that filled the log to 1,000 pages
            // then copied it into the database file and synced it on its own connection,
            // before its request could answer (the benchmark's p99 per sign-in step). A task
            // checkpoints instead, off every request's path.
            .pragma("wal_autocheckpoint", "0")
            .busy_timeout(Duration::from_secs(10));
        let store = Self::with_options(options, 8).await?;
        store.checkpoint_in_background();
        Ok(store)
    }

    /// Copies the write-ahead log into the database file every quarter second, without
    /// blocking writers (`PASSIVE`: frames a reader still needs wait for the next turn).
    /// While readers keep arriving the log is never free to start over from its beginning,
    /// so once it passes `RESTART_FRAMES` a `RESTART` checkpoint waits for the readers of
    /// the moment to finish (writers wait with it, for about as long as one read takes) and
    /// the next commit writes the log from its start again. The task ends with the pool.
    fn checkpoint_in_background(&self) {
        let pool = self.pool.clone();
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            let mut every = tokio::time::interval(CHECKPOINT_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            while !pool.is_closed() {
                every.tick().await;
                if let Err(err) = checkpoint(&pool).await {
                    if pool.is_closed() {
                        break;
                    }
                    tracing::warn!(error = %err, "SQLite checkpoint failed");
                }
            }
        });
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

    /// SQLite's commits do not wait for the disk (WAL with `synchronous = NORMAL`), so flow
    /// state needs no transaction of its own kind here.
    pub(crate) const SYNC_COMMITS: bool = false;

    /// The same as [`SqliteStore::begin_write`]: see [`crate::PgStore::begin_ephemeral`].
    pub(crate) async fn begin_ephemeral(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
        self.begin_write().await
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
        crate::migrations::migrator(crate::migrations::SQLITE)
            .run(&pool)
            .await
            .map_err(migrate_err)?;
        Ok(Self { pool })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use sqlx::Row as _;

    /// Frames in the log now.
    async fn log_frames(pool: &SqlitePool) -> i64 {
        let row = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(pool)
            .await
            .unwrap();
        row.try_get(1).unwrap()
    }

    #[tokio::test]
    async fn a_long_log_starts_over_after_the_checkpoint_turn_that_finds_it() {
        let dir = std::env::temp_dir().join(format!("portico-wal-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let store = SqliteStore::open(&dir.join("wal.db")).await.unwrap();
        let pool = &store.pool;
        // Commits no longer copy the log into the file (no automatic checkpoint): it grows
        // until a turn of the checkpoint task.
        sqlx::query("CREATE TABLE filler (body BLOB)")
            .execute(pool)
            .await
            .unwrap();
        for _ in 0..RESTART_FRAMES / 8 {
            sqlx::query("INSERT INTO filler VALUES (zeroblob(32768))")
                .execute(pool)
                .await
                .unwrap();
        }
        assert!(log_frames(pool).await >= RESTART_FRAMES);
        checkpoint(pool).await.unwrap();
        sqlx::query("INSERT INTO filler VALUES (zeroblob(16))")
            .execute(pool)
            .await
            .unwrap();
        let frames = log_frames(pool).await;
        assert!(frames < 16, "the log went on from frame {frames}");
        store.pool.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}
