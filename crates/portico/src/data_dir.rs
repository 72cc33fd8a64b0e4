//! The data directory: the SQLite database, the master key file, the initial admin token.

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use portico_keys::MasterKey;

/// The data directory.
#[derive(Debug, Clone)]
pub struct DataDir(PathBuf);

impl DataDir {
    /// Opens (creating with mode 0700 if needed) the directory.
    pub fn open(path: &Path) -> Result<Self> {
        if !path.exists() {
            fs::create_dir_all(path)
                .with_context(|| format!("cannot create data directory {}", path.display()))?;
            fs::set_permissions(path, fs::Permissions::from_mode(0o700))?;
        }
        Ok(Self(path.to_path_buf()))
    }

    /// A path inside the directory.
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// The default database URL: the SQLite file in this directory.
    pub fn default_database_url(&self) -> String {
        format!("sqlite://{}", self.join("portico.db").display())
    }

    /// The master key: `PORTICO_MASTER_KEY` if given, else `master.key` here (created 0600).
    pub fn master_key(&self, from_env: Option<&str>) -> Result<MasterKey> {
        if let Some(text) = from_env {
            return MasterKey::from_base64(text).context("PORTICO_MASTER_KEY is not a valid key");
        }
        let path = self.join("master.key");
        match fs::read_to_string(&path) {
            Ok(text) => MasterKey::from_base64(&text)
                .with_context(|| format!("{} does not hold a valid key", path.display())),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                let (key, text) = MasterKey::generate()?;
                match write_secret_file(&path, &text) {
                    Ok(()) => {
                        tracing::info!(path = %path.display(), "created master key file");
                        Ok(key)
                    }
                    // Another process created it first: use theirs.
                    Err(err) if path.exists() => {
                        tracing::debug!(error = %err, "master key created concurrently");
                        self.master_key(None)
                    }
                    Err(err) => Err(err),
                }
            }
            Err(err) => Err(err).with_context(|| format!("cannot read {}", path.display())),
        }
    }
}

/// Writes a new file readable only by the owner; fails if it exists.
pub fn write_secret_file(path: &Path, contents: &str) -> Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()?;
    Ok(())
}
