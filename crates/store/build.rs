//! Embeds the SQL migrations (`migrations/<database>/NNNN_name.sql`) in the crate as a list
//! of `(version, description, sql)`, which `crate::migrations` hands to sqlx's migrator: what
//! `sqlx::migrate!` does, without its proc macro, which would compile sqlx's database drivers
//! (and SQLite's C sources) a second time, for the build host.

// A build script fails the build by panicking, with the path at fault in the message.
#![allow(clippy::panic)]

use std::fmt::Write as _;
use std::path::Path;
use std::{env, fs};

fn main() {
    let mut code = String::new();
    for database in ["sqlite", "postgres"] {
        let dir = Path::new("migrations").join(database);
        println!("cargo::rerun-if-changed={}", dir.display());
        let mut files: Vec<_> = fs::read_dir(&dir)
            .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
            .map(|entry| entry.unwrap_or_else(|err| panic!("{}: {err}", dir.display())))
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "sql"))
            .collect();
        files.sort();
        let _ = writeln!(
            code,
            "/// The {database} migrations, in order.\npub(crate) const {}: &[(i64, &str, &str)] = &[",
            database.to_uppercase()
        );
        for path in files {
            let stem = path
                .file_stem()
                .and_then(|stem| stem.to_str())
                .unwrap_or_else(|| panic!("{}: not UTF-8", path.display()));
            // Only plain migrations: sqlx's reversible `.up.sql`/`.down.sql` pairs are not used.
            let (version, name) = stem
                .split_once('_')
                .filter(|(_, name)| !name.contains('.'))
                .unwrap_or_else(|| panic!("{}: not NNNN_name.sql", path.display()));
            let version: i64 = version
                .parse()
                .unwrap_or_else(|_| panic!("{}: not NNNN_name.sql", path.display()));
            let absolute =
                fs::canonicalize(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
            let _ = writeln!(
                code,
                "    ({version}, {:?}, include_str!({:?})),",
                name.replace('_', " "),
                absolute.display().to_string()
            );
        }
        code.push_str("];\n");
    }
    let out = Path::new(&env::var("OUT_DIR").unwrap_or_else(|err| panic!("OUT_DIR: {err}")))
        .join("migrations.rs");
    fs::write(&out, code).unwrap_or_else(|err| panic!("{}: {err}", out.display()));
}
