//! The schema's migrations, embedded at build time (see `build.rs`) and run by sqlx's
//! migrator, which records each one's checksum: a migration edited after it shipped is
//! refused at start, as with `sqlx::migrate!`.

use std::borrow::Cow;

use sqlx::SqlSafeStr as _;
use sqlx::migrate::{Migration, MigrationType, Migrator};

include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

/// The migrator for one database's list (`SQLITE` or `POSTGRES`).
pub(crate) fn migrator(list: &'static [(i64, &'static str, &'static str)]) -> Migrator {
    Migrator::with_migrations(
        list.iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    Cow::Borrowed(description),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    // sqlx's marker for a migration that must run outside a transaction.
                    sql.starts_with("-- no-transaction"),
                )
            })
            .collect(),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Every file in the folders is embedded, numbered from 1 without a gap.
    #[test]
    fn every_migration_is_embedded_in_order() {
        for (list, dir) in [(SQLITE, "sqlite"), (POSTGRES, "postgres")] {
            let files = std::fs::read_dir(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("migrations")
                    .join(dir),
            )
            .unwrap()
            .count();
            assert_eq!(list.len(), files, "{dir}");
            for (index, (version, _, sql)) in list.iter().enumerate() {
                assert_eq!(*version, index as i64 + 1, "{dir}");
                assert!(!sql.is_empty());
            }
        }
    }
}
