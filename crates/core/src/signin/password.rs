use std::net::IpAddr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::clock::UnixTime;
use crate::directory::{Email, MAX_PASSWORD_LEN, Tenant, User};
use crate::extensions::Migration;
use crate::ids::ClientId;
use crate::lockout::LockoutPolicy;
use crate::store::{LockoutRecord, LockoutSubject};
use crate::{CoreError, Portico, StoreError};

/// Why a password sign-in failed. The front door decides how much of this to show.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Unknown account or wrong password (deliberately indistinguishable).
    #[error("invalid username or password")]
    InvalidCredentials,
    /// Too many failed attempts: locked until this time.
    #[error("account is locked")]
    LockedOut {
        /// End of the lockout.
        until: UnixTime,
    },
    /// The right password, but the account is disabled.
    #[error("account is disabled")]
    AccountDisabled,
    /// Too many attempts from this address or against this account.
    #[error("too many attempts")]
    RateLimited,
    /// The right password (a legacy store vouched for it), but it must be replaced: the
    /// person resets it.
    #[error("the password must be changed")]
    ResetRequired,
    /// Something failed inside.
    #[error(transparent)]
    Core(#[from] CoreError),
}

impl From<StoreError> for SignInError {
    fn from(err: StoreError) -> Self {
        Self::Core(err.into())
    }
}

/// Optimistic-concurrency retries before giving up on a lockout update.
const CAS_ATTEMPTS: usize = 16;

impl Portico {
    /// Checks an email and password.
    ///
    /// Order matters: the rate limit comes first (cheap), then the lockout, which counts the
    /// attempt *before* the expensive hash, so parallel guesses cannot outrun the counter. A
    /// success clears the count.
    pub async fn sign_in_with_password(
        &self,
        tenant: &Tenant,
        client: Option<ClientId>,
        email: &str,
        password: &str,
        client_ip: IpAddr,
    ) -> Result<User, SignInError> {
        let result = self
            .check_password(tenant, client, email, password, client_ip)
            .await;
        let outcome = match &result {
            Ok(_) => "success",
            Err(SignInError::InvalidCredentials) => "invalid_credentials",
            Err(SignInError::LockedOut { .. }) => "locked_out",
            Err(SignInError::AccountDisabled) => "disabled",
            Err(SignInError::RateLimited) => "rate_limited",
            Err(SignInError::ResetRequired) => "reset_required",
            Err(SignInError::Core(_)) => "error",
        };
        metrics::counter!("portico_sign_ins_total", "method" => "password", "outcome" => outcome)
            .increment(1);
        result
    }

    async fn check_password(
        &self,
        tenant: &Tenant,
        client: Option<ClientId>,
        email: &str,
        password: &str,
        client_ip: IpAddr,
    ) -> Result<User, SignInError> {
        let Ok(email) = Email::parse(email) else {
            return Err(SignInError::InvalidCredentials);
        };
        if !self.rate_limits.allow(tenant.id, client_ip, email.as_str()) {
            return Err(SignInError::RateLimited);
        }
        // Longer input can never be a valid password; refuse it before it costs a hash.
        if password.is_empty() || password.chars().count() > MAX_PASSWORD_LEN {
            return Err(SignInError::InvalidCredentials);
        }
        let user = self
            .store
            .find_user_by_email(tenant.id, email.as_str())
            .await?;
        // An address without an account goes the same way as an account with a wrong
        // password: counted (a decoy record, keyed by a digest of the address), locked after
        // the same failures, hashed for the same attempts, so neither the answer nor its
        // timing tells which addresses have accounts.
        let decoy;
        let subject = match &user {
            Some(user) => LockoutSubject::User(user.id),
            None => {
                decoy = self.decoy_key(tenant, email.as_str());
                LockoutSubject::Decoy(&decoy)
            }
        };
        let fingerprint = self.password_fingerprint(subject, password);
        let now = self.now();
        let before = self
            .count_attempt(tenant, subject, &fingerprint, now)
            .await?;
        if let Some(until) = self.lockout.locked_until(&before, now) {
            return Err(SignInError::LockedOut { until });
        }
        // A fingerprint already in the record is not counted again (a stale saved password
        // does not lock its owner out), but it is still checked: the record holds attempts in
        // flight too, so a repeat may be the right password sent twice at once (a double
        // submit, a retrying app), which must sign in both times. (Not so for a password
        // still in a legacy store: the second of two at once is refused unasked.)
        if let Some(legacy) = user.as_ref().filter(|u| u.password_in_legacy_store) {
            return self
                .check_legacy_password(tenant, client, legacy, password, &fingerprint, client_ip)
                .await;
        }
        // Without an account (or a password) the hash runs against a dummy and never matches.
        let matched = self
            .passwords
            .verify(
                password.to_owned(),
                user.as_ref().and_then(|u| u.password_hash.clone()),
            )
            .await?;
        let Some(user) = user.filter(|_| matched) else {
            return Err(SignInError::InvalidCredentials);
        };
        self.clear_attempts(tenant, LockoutSubject::User(user.id))
            .await?;
        if !user.enabled {
            return Err(SignInError::AccountDisabled);
        }
        Ok(user)
    }

    /// A password still in a legacy store: the company's service checks it (and a right one
    /// is kept here from now on). The attempt was counted like any other already.
    ///
    /// That service may count failures of its own, so one password is asked about at most
    /// once per [`crate::lockout::LEGACY_REPEAT_SECS`]: whoever claims the asking
    /// (compare-and-swap) calls; parallel and later repeats within that time are refused
    /// unasked. Every answer here costs one password hash, as an attempt at any other
    /// account or address does.
    async fn check_legacy_password(
        &self,
        tenant: &Tenant,
        client: Option<ClientId>,
        legacy: &User,
        password: &str,
        fingerprint: &str,
        client_ip: IpAddr,
    ) -> Result<User, SignInError> {
        let subject = LockoutSubject::User(legacy.id);
        let now = self.now();
        let claim =
            |record: &LockoutRecord| self.lockout.claim_legacy_ask(record, fingerprint, now);
        let before = self.update_lockout(tenant, subject, claim).await?;
        let dummy_hash = self.passwords.verify(password.to_owned(), None);
        if LockoutPolicy::legacy_asked_recently(&before, fingerprint, now) {
            dummy_hash.await?;
            return Err(SignInError::InvalidCredentials);
        }
        let (outcome, hashed) = tokio::join!(
            self.submit_legacy_password(tenant, client, legacy, password, client_ip),
            dummy_hash,
        );
        let answer = self
            .settle_legacy_answer(tenant, legacy, fingerprint, outcome)
            .await;
        // The dummy hash only evens out the timing: a full pool must not undo the answer's
        // bookkeeping, so its failure is looked at last, and only beside a refusal (which
        // then fails as a decoy's would under a full pool); a migration that went through
        // stands.
        if answer.is_err() {
            hashed?;
        }
        answer
    }

    /// What a legacy store's answer means here, and what the lockout record keeps of it.
    async fn settle_legacy_answer(
        &self,
        tenant: &Tenant,
        legacy: &User,
        fingerprint: &str,
        outcome: Result<Migration, CoreError>,
    ) -> Result<User, SignInError> {
        let subject = LockoutSubject::User(legacy.id);
        // The call failed, or the password was right (but cannot sign in): the store is asked
        // again at the next try, which is not counted again.
        let unclaim = |record: &LockoutRecord| self.lockout.unclaim_legacy_ask(record, fingerprint);
        match outcome {
            Err(err) => {
                self.update_lockout(tenant, subject, unclaim).await?;
                Err(err.into())
            }
            Ok(Migration::Migrated) => {
                self.clear_attempts(tenant, subject).await?;
                if !legacy.enabled {
                    return Err(SignInError::AccountDisabled);
                }
                let mut migrated = legacy.clone();
                migrated.password_in_legacy_store = false;
                Ok(migrated)
            }
            // Its answer stands for a while (the claim holds its time).
            Ok(Migration::Wrong) => Err(SignInError::InvalidCredentials),
            Ok(Migration::ResetRequired) => {
                self.update_lockout(tenant, subject, unclaim).await?;
                Err(SignInError::ResetRequired)
            }
            // UNCONFIRMED: Entra's Block action shows its own page; here the sign-in is
            // refused as for a disabled account.
            Ok(Migration::Blocked) => {
                self.update_lockout(tenant, subject, unclaim).await?;
                Err(SignInError::AccountDisabled)
            }
        }
    }

    /// Records one attempt with this fingerprint (unless locked, or a repeat), atomically.
    /// Returns the record as it was before this attempt.
    async fn count_attempt(
        &self,
        tenant: &Tenant,
        subject: LockoutSubject<'_>,
        fingerprint: &str,
        now: UnixTime,
    ) -> Result<LockoutRecord, SignInError> {
        self.update_lockout(tenant, subject, |before| {
            if self.lockout.locked_until(before, now).is_some() {
                before.clone()
            } else {
                self.lockout.after_failure(before, fingerprint, now)
            }
        })
        .await
    }

    async fn clear_attempts(
        &self,
        tenant: &Tenant,
        subject: LockoutSubject<'_>,
    ) -> Result<(), SignInError> {
        self.update_lockout(tenant, subject, |before| self.lockout.after_success(before))
            .await
            .map(drop)
    }

    /// Applies `change` to the user's lockout record (as it stands now: an idle one is
    /// empty) with compare-and-swap, retrying when a parallel attempt wrote first. Returns the
    /// record as it was before the change.
    async fn update_lockout(
        &self,
        tenant: &Tenant,
        subject: LockoutSubject<'_>,
        change: impl Fn(&LockoutRecord) -> LockoutRecord,
    ) -> Result<LockoutRecord, SignInError> {
        for _ in 0..CAS_ATTEMPTS {
            let now = self.now();
            let stored = self.store.lockout(tenant.id, subject).await?;
            let before = self.lockout.current(&stored, now);
            let after = change(&before);
            if after == before {
                return Ok(before);
            }
            match self
                .store
                .save_lockout(tenant.id, subject, &after, now)
                .await
            {
                Ok(()) => return Ok(before),
                Err(StoreError::Contended) => continue,
                Err(err) => return Err(err.into()),
            }
        }
        Err(SignInError::Core(CoreError::Busy))
    }

    /// A keyed, truncated digest of a password attempt: enough to recognise a repeat, useless
    /// for guessing offline without the server's key.
    fn password_fingerprint(&self, subject: LockoutSubject<'_>, password: &str) -> String {
        let mut ctx = aws_lc_rs::hmac::Context::with_key(&self.fingerprint_key);
        match subject {
            LockoutSubject::User(user) => ctx.update(user.0.as_bytes()),
            LockoutSubject::Decoy(key) => ctx.update(key.as_bytes()),
        }
        ctx.update(password.as_bytes());
        let tag = ctx.sign();
        let truncated = tag.as_ref().get(..16).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(truncated)
    }

    /// The decoy lockout key of an address without an account: a keyed digest (the store
    /// never holds the address), distinct per tenant.
    fn decoy_key(&self, tenant: &Tenant, email: &str) -> String {
        let mut ctx = aws_lc_rs::hmac::Context::with_key(&self.fingerprint_key);
        ctx.update(b"decoy\0");
        ctx.update(tenant.id.0.as_bytes());
        ctx.update(email.as_bytes());
        URL_SAFE_NO_PAD.encode(ctx.sign().as_ref())
    }
}
