//! Password hashing (argon2id, OWASP parameters) on a bounded blocking pool.
//!
//! A hash costs ~17 ms of one core; on an async worker thread it would stall every other
//! request. So hashing runs in `spawn_blocking`, at most `concurrency` at a time, and callers
//! beyond a bounded queue get [`CoreError::Busy`] instead of piling up.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::{OnceCell, Semaphore};

use crate::CoreError;

/// OWASP's minimum argon2id configuration: m = 19 MiB, t = 2, p = 1.
fn argon2() -> Result<Argon2<'static>, CoreError> {
    let params = Params::new(19 * 1024, 2, 1, None)
        .map_err(|e| CoreError::Internal(format!("argon2 params: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes and verifies passwords off the async threads.
#[derive(Debug)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    queued: AtomicUsize,
    max_queued: usize,
    /// A hash of a random password, verified against when the account does not exist so that
    /// "no such user" costs the same time as "wrong password".
    dummy: OnceCell<String>,
    /// Hashes and verifications run so far (the dummy's own hash not counted).
    runs: AtomicU64,
}

impl PasswordHasher {
    /// At most `concurrency` hashes run at once; at most 64 × that many wait.
    pub fn new(concurrency: usize) -> Self {
        let concurrency = concurrency.max(1);
        Self {
            permits: Arc::new(Semaphore::new(concurrency)),
            queued: AtomicUsize::new(0),
            max_queued: concurrency * 64,
            dummy: OnceCell::new(),
            runs: AtomicU64::new(0),
        }
    }

    /// How many hashes and verifications ran so far: the work a request cost, which must not
    /// depend on whether an account exists.
    pub fn runs(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, CoreError> + Send + 'static,
    ) -> Result<T, CoreError> {
        struct Queued<'a>(&'a AtomicUsize);
        impl Drop for Queued<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::SeqCst);
            }
        }
        if self.queued.fetch_add(1, Ordering::SeqCst) >= self.max_queued {
            self.queued.fetch_sub(1, Ordering::SeqCst);
            return Err(CoreError::Busy);
        }
        let _queued = Queued(&self.queued);
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| CoreError::Busy)?;
        tokio::task::spawn_blocking(move || {
            let result = work();
            drop(permit);
            result
        })
        .await
        .map_err(|e| CoreError::Internal(format!("hashing task failed: {e}")))?
    }

    /// Hashes a password into a PHC string.
    pub async fn hash(&self, password: String) -> Result<String, CoreError> {
        self.runs.fetch_add(1, Ordering::Relaxed);
        self.hash_uncounted(password).await
    }

    async fn hash_uncounted(&self, password: String) -> Result<String, CoreError> {
        self.run(move || {
            argon2()?
                .hash_password(password.as_bytes())
                .map(|hash| hash.to_string())
                .map_err(|e| CoreError::Internal(format!("argon2: {e}")))
        })
        .await
    }

    /// Verifies `password` against `phc`. With no hash (unknown account, or no password set)
    /// it burns the same time against a dummy hash and answers `false`.
    pub async fn verify(&self, password: String, phc: Option<String>) -> Result<bool, CoreError> {
        let (phc, real) = match phc {
            Some(phc) => (phc, true),
            None => (self.dummy_hash().await?, false),
        };
        self.runs.fetch_add(1, Ordering::Relaxed);
        let matched = self
            .run(move || {
                let parsed = PasswordHash::new(&phc)
                    .map_err(|e| CoreError::Internal(format!("stored hash unreadable: {e}")))?;
                Ok(argon2()?
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok())
            })
            .await?;
        Ok(matched && real)
    }

    async fn dummy_hash(&self) -> Result<String, CoreError> {
        self.dummy
            .get_or_try_init(|| async { self.hash_uncounted(crate::secret::random_token()?).await })
            .await
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_missing_hashes_never_match() {
        let hasher = PasswordHasher::new(2);
        let hash = hasher.hash("correct horse".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            hasher
                .verify("correct horse".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(!hasher.verify("wrong".into(), Some(hash)).await.unwrap());
        assert!(!hasher.verify("anything".into(), None).await.unwrap());
    }
}
