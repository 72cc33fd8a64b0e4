//! The one storage interface. Backends (SQLite, PostgreSQL) live in `portico-store`; nothing
//! else knows SQL.
//!
//! Invariants every backend keeps:
//! - every method that reads or writes tenant data takes the tenant id and filters by it;
//! - every method is atomic: a multi-row write is one transaction;
//! - single-use things (codes, refresh tokens) are consumed with a conditional update, so two
//!   concurrent redemptions cannot both succeed.

use async_trait::async_trait;
use portico_keys::SigningAlgorithm;

use crate::StoreError;
use crate::clock::UnixTime;
use crate::directory::MfaMethod;
use crate::directory::{Application, Branding, Tenant, TenantRef, User, UserFlow};
use crate::ids::{
    AuthMethodId, ClientId, FlowId, GrantId, OtpChallengeId, OutboxId, SessionId, TenantId, UserId,
};
use crate::otp::{OtpPurpose, OtpSendStats};
use crate::outbox::OutboxRecord;

/// Lifecycle state of a signing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Published in the JWKS, not yet signing; becomes current at the next rotation.
    Next,
    /// Signs new tokens (exactly one per tenant).
    Current,
    /// No longer signs; published until `publish_until` so tokens it signed still verify.
    Retired,
}

impl KeyState {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Next => "next",
            Self::Current => "current",
            Self::Retired => "retired",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "next" => Some(Self::Next),
            "current" => Some(Self::Current),
            "retired" => Some(Self::Retired),
            _ => None,
        }
    }
}

/// A signing key as stored: the private part sealed by the master key.
#[derive(Debug, Clone)]
pub struct StoredSigningKey {
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Key id (JWK thumbprint).
    pub kid: String,
    /// Algorithm.
    pub alg: SigningAlgorithm,
    /// Lifecycle state.
    pub state: KeyState,
    /// The public JWK as JSON, so publishing needs no decryption.
    pub public_jwk: String,
    /// PKCS#8 private key sealed with the master key (context: the kid).
    pub sealed_private: Vec<u8>,
    /// Creation time.
    pub created_at: UnixTime,
    /// For retired keys: when they leave the JWKS.
    pub publish_until: Option<UnixTime>,
}

/// An issued, not yet redeemed authorization code.
#[derive(Debug, Clone)]
pub struct AuthCodeRecord {
    /// Digest of the code.
    pub code_digest: String,
    /// Tenant.
    pub tenant_id: TenantId,
    /// Client the code was issued to.
    pub client_id: ClientId,
    /// Signed-in user.
    pub user_id: UserId,
    /// The grant this code starts.
    pub grant_id: GrantId,
    /// SSO session the user authenticated in.
    pub session_id: SessionId,
    /// The exact redirect URI of the authorization request.
    pub redirect_uri: String,
    /// Granted scope (space separated).
    pub scope: String,
    /// `nonce` from the authorization request.
    pub nonce: Option<String>,
    /// PKCE S256 challenge.
    pub code_challenge: Option<String>,
    /// When the user authenticated.
    pub auth_time: UnixTime,
    /// How the user authenticated: RFC 8176 method values, space-separated.
    pub amr: String,
    /// Expiry (issue time + at most 60 s).
    pub expires_at: UnixTime,
}

/// The outcome of redeeming a code.
#[derive(Debug)]
pub enum CodeRedemption {
    /// First use: the code's data. It is now spent.
    Redeemed(Box<AuthCodeRecord>),
    /// The code was used before: the caller must revoke this grant.
    Replayed(GrantId),
    /// No such code in this tenant.
    Unknown,
}

/// A refresh token as stored.
#[derive(Debug, Clone)]
pub struct RefreshTokenRecord {
    /// Digest of the token.
    pub token_digest: String,
    /// Tenant.
    pub tenant_id: TenantId,
    /// The grant (family) it belongs to.
    pub grant_id: GrantId,
    /// Client it was issued to.
    pub client_id: ClientId,
    /// User.
    pub user_id: UserId,
    /// SSO session of the original sign-in.
    pub session_id: SessionId,
    /// Granted scope.
    pub scope: String,
    /// Original authentication time.
    pub auth_time: UnixTime,
    /// How the user authenticated: RFC 8176 method values, space-separated.
    pub amr: String,
    /// When this token was issued.
    pub issued_at: UnixTime,
    /// Expiry.
    pub expires_at: UnixTime,
}

/// How long refresh tokens of a grant live: `idle_secs` from each rotation, and never past
/// `absolute_secs` after the grant was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshLifetime {
    /// Lifetime of each token from its issue (the sliding window).
    pub idle_secs: i64,
    /// Lifetime of the family from the grant's creation.
    pub absolute_secs: i64,
}

impl RefreshLifetime {
    /// When a token issued at `now` for a grant made at `granted_at` expires.
    pub fn expires_at(self, granted_at: UnixTime, now: UnixTime) -> UnixTime {
        (now + self.idle_secs).min(granted_at + self.absolute_secs)
    }
}

/// The outcome of rotating a refresh token.
#[derive(Debug)]
pub enum RefreshRedemption {
    /// The presented token was valid and is now spent; the successor is stored. Holds the
    /// presented token's record.
    Rotated(RefreshTokenRecord),
    /// The token was spent before: reuse. The caller must revoke this grant.
    Reused(GrantId),
    /// Unknown, expired, or its grant was revoked.
    Invalid,
}

/// A browser SSO session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// Public id (`sid`).
    pub id: SessionId,
    /// Digest of the cookie secret.
    pub secret_digest: String,
    /// Tenant.
    pub tenant_id: TenantId,
    /// Signed-in user.
    pub user_id: UserId,
    /// When the user authenticated.
    pub auth_time: UnixTime,
    /// How the user authenticated: RFC 8176 method values, space-separated.
    pub amr: String,
    /// Expiry.
    pub expires_at: UnixTime,
    /// "Keep me signed in": the cookie outlives the browser session.
    pub persistent: bool,
    /// The kinds of second factor passed in this session: it serves an app whose user flow
    /// requires MFA only if one of them is a kind that flow accepts.
    pub second_factors: Vec<MfaMethod>,
}

/// Whose failed passwords a lockout record counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockoutSubject<'a> {
    /// An account.
    User(UserId),
    /// An address without an account, by a keyed digest of it: counted like an account, so
    /// the hosted pages answer an unknown address exactly as a wrong password.
    Decoy(&'a str),
}

/// Password-failure state of one account (smart lockout).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LockoutRecord {
    /// Counted failures since the last success.
    pub failures: u32,
    /// Locked until this time (0: not locked).
    pub locked_until: UnixTime,
    /// How many lockouts since the last success (each one longer).
    pub lockouts: u32,
    /// Fingerprints of recent wrong passwords; a repeat does not count again.
    pub recent_fingerprints: Vec<String>,
    /// Optimistic-concurrency version (0: no row yet).
    pub version: i64,
}

/// A one-time passcode challenge as stored.
#[derive(Debug, Clone)]
pub struct OtpChallengeRecord {
    /// Id (handed to the front door; the code goes to the person).
    pub id: OtpChallengeId,
    /// Tenant.
    pub tenant_id: TenantId,
    /// What the code is for.
    pub purpose: OtpPurpose,
    /// Normalised email or phone number.
    pub subject: String,
    /// Keyed digest of the code.
    pub code_digest: String,
    /// Who asked for it: a digest of the client's network (empty when unknown).
    pub requester: String,
    /// Issue time.
    pub created_at: UnixTime,
    /// Expiry.
    pub expires_at: UnixTime,
}

/// A counted try against a live challenge.
#[derive(Debug, Clone)]
pub struct OtpAttempt {
    /// What the code is for.
    pub purpose: OtpPurpose,
    /// Keyed digest of the code.
    pub code_digest: String,
    /// Tries so far, including this one.
    pub attempts: u32,
    /// Expiry.
    pub expires_at: UnixTime,
}

/// A grant: what one user authorization issued (revoked as a whole).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRecord {
    /// Tenant.
    pub tenant_id: TenantId,
    /// Id (the `rh` of its access tokens).
    pub id: GrantId,
    /// The app it was made to.
    pub client_id: ClientId,
    /// The user.
    pub user_id: UserId,
    /// The session it came from.
    pub session_id: SessionId,
    /// When.
    pub created_at: UnixTime,
}

/// An admin API token, without its secret (only a digest of that is stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminTokenRecord {
    /// Public id, to list and revoke it by.
    pub id: String,
    /// What it is for, as the operator named it.
    pub name: Option<String>,
    /// When it was issued.
    pub created_at: UnixTime,
    /// When it stops working by itself (`None`: never).
    pub expires_at: Option<UnixTime>,
    /// When it was revoked.
    pub revoked_at: Option<UnixTime>,
}

impl AdminTokenRecord {
    /// `active`, `expired` or `revoked`, as of `now`.
    pub fn status(&self, now: UnixTime) -> &'static str {
        if self.revoked_at.is_some() {
            "revoked"
        } else if self.expires_at.is_some_and(|at| at <= now) {
            "expired"
        } else {
            "active"
        }
    }
}

/// The limits on a text, checked in the transaction that queues it (serialised per tenant), so
/// that parallel requests cannot all slip under them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmsBudget {
    /// Texts are counted from this time (an hour ago).
    pub since: UnixTime,
    /// Texts of every kind the tenant may send since then.
    pub texts: u32,
    /// Of those, texts to new numbers: to register one, or to one registered less than a day
    /// ago. Anyone can make an account and register a number, so such texts get only a share
    /// (SMS pumping through fresh accounts cannot use up the texts people need to sign in).
    pub new_numbers: u32,
    /// This text goes to a new number (it counts against `new_numbers`).
    pub to_new_number: bool,
    /// Texts one number may get since then, whatever they are for.
    pub per_number: u32,
    /// For a text that registers a number: whose, and the user's limit on new numbers.
    pub registers: Option<NumberRegistration>,
}

/// A user asking to register a phone number, limited in how many numbers a day they may try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NumberRegistration {
    /// The user.
    pub user: UserId,
    /// Numbers are counted from this time (a day ago).
    pub since: UnixTime,
    /// Distinct numbers the user may give since then (a number given before is always fine).
    pub numbers: u32,
}

/// Why a text was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextRefused {
    /// The tenant's texts for the hour are spent.
    TenantBudget,
    /// The share of texts to new numbers is spent.
    NewNumbers,
    /// The number got its texts for the hour.
    Number,
    /// The user gave too many new numbers today.
    TooManyNumbers,
}

impl TextRefused {
    /// Metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TenantBudget => "tenant",
            Self::NewNumbers => "new_numbers",
            Self::Number => "number",
            Self::TooManyNumbers => "numbers_per_user",
        }
    }
}

/// A sign-in engine flow as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowRecord {
    /// Id.
    pub id: FlowId,
    /// Tenant.
    pub tenant_id: TenantId,
    /// The application the flow signs in to.
    pub client_id: Option<ClientId>,
    /// The flow and where it came from, as JSON (the core owns the format).
    pub state: String,
    /// Optimistic-concurrency version: 1 when created, +1 on each save.
    pub version: i64,
    /// Start time.
    pub created_at: UnixTime,
    /// The flow is gone after this time.
    pub expires_at: UnixTime,
    /// When the flow was spent (finished and used, or ended for good): a spent flow is never
    /// found or saved again. Set by the save itself, a conditional update, so neither a
    /// double submit nor the clock of another node can use a flow twice.
    pub spent_at: Option<UnixTime>,
}

/// A write of an engine step (what its effects decided), committed in the same transaction as
/// the flow's version-checked save: either the step happened, with all its writes, or nothing
/// did.
#[derive(Debug, Clone)]
pub enum FlowWrite {
    /// A new account (sign-up).
    CreateUser(User),
    /// A new password (reset), with everything [`Store::set_password`] does.
    SetPassword {
        /// Whose.
        user: UserId,
        /// The argon2id hash.
        password_hash: String,
        /// Earlier passwords to keep in the history.
        keep: u32,
        /// When.
        now: UnixTime,
    },
    /// A new second factor, as [`Store::add_auth_method`] adds it.
    AddMethod {
        /// The factor.
        method: AuthMethodRecord,
        /// Add it only if the user has no second factor at the commit (a registration that
        /// passed none); otherwise the save fails with [`StoreError::Conflict`].
        only_if_none: bool,
        /// Recovery codes that replace the user's (the first factor brings them).
        recovery_digests: Vec<String>,
        /// The authenticator-app time step whose code proved the factor, spent with it.
        totp_step: Option<i64>,
    },
}

/// A registered second factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthMethodRecord {
    /// Id.
    pub id: AuthMethodId,
    /// Tenant.
    pub tenant_id: TenantId,
    /// Owner.
    pub user_id: UserId,
    /// Kind.
    pub kind: MfaMethod,
    /// Email address or E.164 number (none for an authenticator app).
    pub target: Option<String>,
    /// Authenticator-app secret, sealed by the master key.
    pub sealed_secret: Option<Vec<u8>>,
    /// Registration time.
    pub created_at: UnixTime,
}

/// Storage for everything Portico keeps.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// Cheap round trip, for readiness checks.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Creates a tenant together with its initial signing keys and default user flow, in one
    /// transaction.
    async fn create_tenant(
        &self,
        tenant: &Tenant,
        keys: &[StoredSigningKey],
        default_flow: &UserFlow,
    ) -> Result<(), StoreError>;
    /// Finds a tenant by id or name.
    async fn find_tenant(&self, tenant: &TenantRef) -> Result<Option<Tenant>, StoreError>;
    /// All tenants, by name.
    async fn list_tenants(&self) -> Result<Vec<Tenant>, StoreError>;

    /// Replaces a tenant's branding.
    async fn set_branding(
        &self,
        tenant: TenantId,
        branding: &Branding,
        now: UnixTime,
    ) -> Result<(), StoreError>;
    /// A tenant's branding (default if none was set).
    async fn branding(&self, tenant: TenantId) -> Result<Branding, StoreError>;

    /// All stored keys of a tenant (any state).
    async fn signing_keys(&self, tenant: TenantId) -> Result<Vec<StoredSigningKey>, StoreError>;
    /// Rotation, in one transaction: current → retired (published until `retired_until`),
    /// next → current, `new_next` inserted; retired keys past their publication are deleted.
    async fn rotate_signing_keys(
        &self,
        tenant: TenantId,
        new_next: &StoredSigningKey,
        retired_until: UnixTime,
        now: UnixTime,
    ) -> Result<(), StoreError>;

    /// Registers an application.
    async fn create_application(&self, app: &Application) -> Result<(), StoreError>;
    /// Finds an application of this tenant by client id.
    async fn find_application(
        &self,
        tenant: TenantId,
        client_id: ClientId,
    ) -> Result<Option<Application>, StoreError>;
    /// Finds an application of this tenant by its Application ID URI.
    /// The tenant's apps that browsers call cross-origin: native-auth apps and single-page
    /// apps (a CORS preflight names no client, so it is answered from all of them).
    async fn browser_apps(&self, tenant: TenantId) -> Result<Vec<Application>, StoreError>;
    async fn find_application_by_identifier_uri(
        &self,
        tenant: TenantId,
        identifier_uri: &str,
    ) -> Result<Option<Application>, StoreError>;

    /// Creates a user flow and attaches its apps (moving them from any other flow), in one
    /// transaction.
    async fn create_user_flow(&self, flow: &UserFlow) -> Result<(), StoreError>;
    /// The tenant's user flows with their attached apps, default first.
    async fn user_flows(&self, tenant: TenantId) -> Result<Vec<UserFlow>, StoreError>;

    /// Creates a user.
    async fn create_user(&self, user: &User) -> Result<(), StoreError>;
    /// Finds a user of this tenant by object id.
    async fn find_user(&self, tenant: TenantId, user: UserId) -> Result<Option<User>, StoreError>;
    /// Enables or disables a user; [`StoreError::NotFound`] if there is no such user. Disabling
    /// also ends the user's sessions and revokes their grants, in the same transaction.
    async fn set_user_enabled(
        &self,
        tenant: TenantId,
        user: UserId,
        enabled: bool,
        now: UnixTime,
    ) -> Result<(), StoreError>;
    /// Replaces a user's password in one transaction: the old hash joins the history (of which
    /// the newest `keep` stay), the lockout count is cleared, and the user's sessions end and
    /// grants are revoked (a new password signs out everywhere).
    async fn set_password(
        &self,
        tenant: TenantId,
        user: UserId,
        password_hash: &str,
        keep: u32,
        now: UnixTime,
    ) -> Result<(), StoreError>;
    /// When the user was last signed out everywhere (a new password, a disabled account).
    async fn user_signed_out_at(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> Result<Option<UnixTime>, StoreError>;
    /// The user's earlier password hashes, newest first.
    async fn password_history(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> Result<Vec<String>, StoreError>;
    /// Registers a second factor; with `recovery_digests`, replaces the user's recovery codes in
    /// the same transaction.
    async fn add_auth_method(
        &self,
        method: &AuthMethodRecord,
        recovery_digests: &[String],
    ) -> Result<(), StoreError>;
    /// A user's second factors, oldest first.
    async fn auth_methods(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> Result<Vec<AuthMethodRecord>, StoreError>;
    /// Records that an authenticator-app code of time step `step` was used, if no code of this
    /// or a later step was; `false` means a replay.
    async fn use_totp_step(
        &self,
        tenant: TenantId,
        method: AuthMethodId,
        step: i64,
    ) -> Result<bool, StoreError>;
    /// Spends one unused recovery code; `false` if there is none with this digest.
    async fn use_recovery_code(
        &self,
        tenant: TenantId,
        user: UserId,
        digest: &str,
        now: UnixTime,
    ) -> Result<bool, StoreError>;

    /// Stores a new flow.
    async fn create_flow(&self, flow: &FlowRecord) -> Result<(), StoreError>;
    /// A live flow of this tenant.
    async fn find_flow(
        &self,
        tenant: TenantId,
        flow: FlowId,
        now: UnixTime,
    ) -> Result<Option<FlowRecord>, StoreError>;
    /// Writes a flow's new state, and the step's `writes`, in one transaction, if its stored
    /// version is still `flow.version - 1` and it is not spent; fails with
    /// [`StoreError::Contended`] when another request moved or spent it first (and a write's
    /// own conflict, such as an address taken meanwhile, undoes the save too).
    async fn save_flow(&self, flow: &FlowRecord, writes: &[FlowWrite]) -> Result<(), StoreError>;

    /// Finds a user of this tenant by normalised email.
    async fn find_user_by_email(
        &self,
        tenant: TenantId,
        email: &str,
    ) -> Result<Option<User>, StoreError>;

    /// The lockout record of a user or decoy (a default one with version 0 if none).
    async fn lockout(
        &self,
        tenant: TenantId,
        subject: LockoutSubject<'_>,
    ) -> Result<LockoutRecord, StoreError>;
    /// Writes a lockout record if its version is still `record.version`; bumps the version.
    /// Fails with [`StoreError::Contended`] when another writer came first.
    async fn save_lockout(
        &self,
        tenant: TenantId,
        subject: LockoutSubject<'_>,
        record: &LockoutRecord,
        now: UnixTime,
    ) -> Result<(), StoreError>;

    /// Starts an SSO session, if its user is still enabled and was last signed out everywhere
    /// at `signed_out_at` (0: never), as the sign-in behind it saw; otherwise
    /// [`StoreError::SessionEnded`]. The user's row is locked first, so a concurrent sign-out
    /// everywhere either comes first (nothing is stored) or waits and ends this session too.
    async fn create_session(
        &self,
        session: &SessionRecord,
        signed_out_at: UnixTime,
    ) -> Result<(), StoreError>;
    /// Finds a live session by the digest of its cookie secret.
    async fn find_session(
        &self,
        tenant: TenantId,
        secret_digest: &str,
        now: UnixTime,
    ) -> Result<Option<SessionRecord>, StoreError>;
    /// Records a stronger authentication (`amr`, the second factors passed) on a live
    /// session (step-up) and replaces its cookie secret (a session that gains strength gets a
    /// new cookie, so one seen before the step-up is worthless); false when the session has
    /// ended or expired, or its cookie changed since `old_digest` (another step-up won).
    async fn strengthen_session(
        &self,
        tenant: TenantId,
        session: &SessionRecord,
        old_digest: &str,
        now: UnixTime,
    ) -> Result<bool, StoreError>;
    /// Ends a session and revokes the grants made in it, in one transaction.
    async fn end_session(
        &self,
        tenant: TenantId,
        session: SessionId,
        now: UnixTime,
    ) -> Result<(), StoreError>;

    /// Stores a new code and creates its grant, in one transaction; [`StoreError::SessionEnded`]
    /// if the code's session has ended (its row is locked first, so a concurrent sign-out
    /// either comes first or revokes this grant too).
    async fn create_authorization_code(&self, code: &AuthCodeRecord) -> Result<(), StoreError>;
    /// Spends a code (at most once, even under concurrency).
    async fn redeem_authorization_code(
        &self,
        tenant: TenantId,
        code_digest: &str,
        now: UnixTime,
    ) -> Result<CodeRedemption, StoreError>;

    /// Stores the first refresh token of a grant.
    async fn create_refresh_token(&self, token: &RefreshTokenRecord) -> Result<(), StoreError>;
    /// Records a grant made without an authorization code (a native-API sign-in), with its
    /// first refresh token if it has one, in one transaction; [`StoreError::SessionEnded`] as
    /// for [`Store::create_authorization_code`].
    async fn create_grant(
        &self,
        grant: &GrantRecord,
        refresh: Option<&RefreshTokenRecord>,
    ) -> Result<(), StoreError>;
    /// Spends `old_digest` and stores its successor (`new_digest`, same grant and scope), in one
    /// transaction. Detects reuse of a spent token.
    async fn rotate_refresh_token(
        &self,
        tenant: TenantId,
        old_digest: &str,
        new_digest: &str,
        lifetime: RefreshLifetime,
        now: UnixTime,
    ) -> Result<RefreshRedemption, StoreError>;

    /// Revokes a grant: its refresh tokens stop working and its access tokens are refused by
    /// Portico's own endpoints.
    async fn revoke_grant(
        &self,
        tenant: TenantId,
        grant: GrantId,
        now: UnixTime,
    ) -> Result<(), StoreError>;
    /// Whether a grant exists in this tenant and is not revoked.
    async fn grant_is_active(&self, tenant: TenantId, grant: GrantId) -> Result<bool, StoreError>;

    /// Records a wrong authenticator-app or recovery code of `user`: written before the code
    /// is checked, as `attempt`, so parallel guesses count against each other at once.
    async fn add_second_factor_failure(
        &self,
        tenant: TenantId,
        user: UserId,
        attempt: &str,
        now: UnixTime,
    ) -> Result<(), StoreError>;
    /// Takes back a failure recorded in advance: the code was right (or never checked).
    async fn withdraw_second_factor_failure(
        &self,
        tenant: TenantId,
        attempt: &str,
    ) -> Result<(), StoreError>;
    /// How many wrong second-factor codes `user` entered since `since` (tries in progress
    /// included, but not the one named `except`), and when the newest was.
    async fn second_factor_failures(
        &self,
        tenant: TenantId,
        user: UserId,
        since: UnixTime,
        except: &str,
    ) -> Result<(u32, Option<UnixTime>), StoreError>;

    /// A tenant's settings as JSON (the core owns the format), if ever set.
    async fn tenant_settings(&self, tenant: TenantId) -> Result<Option<String>, StoreError>;
    /// Replaces a tenant's settings.
    async fn set_tenant_settings(
        &self,
        tenant: TenantId,
        settings: &str,
        now: UnixTime,
    ) -> Result<(), StoreError>;

    /// Texts queued for this tenant since `since`.
    async fn sms_sent_since(&self, tenant: TenantId, since: UnixTime) -> Result<u32, StoreError>;

    /// Deletes spent or expired codes, refresh tokens and sessions, and grants with nothing left
    /// to revoke. Returns how many rows went.
    async fn purge_expired(&self, now: UnixTime) -> Result<u64, StoreError>;

    /// Issues a code in one transaction: earlier live codes for the same tenant, purpose and
    /// subject are spent, the challenge is stored, and its message is queued. With `budget`
    /// (a text), its limits are checked in the same transaction, serialised per tenant, and
    /// nothing is written if one is reached (`Ok(Err(_))`); a number being registered is
    /// recorded against the user.
    async fn create_otp_challenge(
        &self,
        challenge: &OtpChallengeRecord,
        message: &OutboxRecord,
        budget: Option<&SmsBudget>,
    ) -> Result<Result<(), TextRefused>, StoreError>;
    /// How many codes went to `subject` for `purpose` since `since` (in all, and at
    /// `requester`'s request), and the newest of them if it is still redeemable at `now`.
    async fn otp_send_stats(
        &self,
        tenant: TenantId,
        purpose: OtpPurpose,
        subject: &str,
        requester: &str,
        since: UnixTime,
        now: UnixTime,
    ) -> Result<OtpSendStats, StoreError>;
    /// Counts one try against a live (unspent) challenge and returns it; `None` if there is no
    /// live challenge with this id in this tenant.
    async fn attempt_otp(
        &self,
        tenant: TenantId,
        challenge: OtpChallengeId,
        now: UnixTime,
    ) -> Result<Option<OtpAttempt>, StoreError>;
    /// Spends a challenge; `false` if it was already spent.
    async fn consume_otp(
        &self,
        tenant: TenantId,
        challenge: OtpChallengeId,
        now: UnixTime,
    ) -> Result<bool, StoreError>;

    /// Queues a message on its own (no challenge).
    async fn enqueue_message(&self, message: &OutboxRecord) -> Result<(), StoreError>;
    /// Claims up to `limit` messages due at `now` for delivery (not those past their
    /// `discard_after`), hiding them from other workers until `lease_until`, and counts the
    /// attempt. The outbox serves all tenants.
    async fn claim_outbox(
        &self,
        now: UnixTime,
        lease_until: UnixTime,
        limit: u32,
    ) -> Result<Vec<OutboxRecord>, StoreError>;
    /// Marks a message delivered and deletes its body.
    async fn outbox_delivered(&self, id: OutboxId, now: UnixTime) -> Result<(), StoreError>;
    /// Records a failed delivery: the message is due again at `retry_at`, or, with `None`,
    /// given up for good and its body deleted.
    async fn outbox_failed(
        &self,
        id: OutboxId,
        retry_at: Option<UnixTime>,
        error: &str,
    ) -> Result<(), StoreError>;

    /// Whether the newest message to `recipient` in the tenant failed to go out at least once
    /// and is still waiting for a retry (the provider is down or refusing it).
    async fn delivery_delayed(&self, tenant: TenantId, recipient: &str)
    -> Result<bool, StoreError>;

    /// Records an admin API token (its secret by digest).
    async fn create_admin_token(
        &self,
        token: &AdminTokenRecord,
        digest: &str,
    ) -> Result<(), StoreError>;
    /// The token with this digest, if it is neither revoked nor expired at `now`.
    async fn admin_token_valid(
        &self,
        digest: &str,
        now: UnixTime,
    ) -> Result<Option<AdminTokenRecord>, StoreError>;
    /// Every admin token (revoked and expired ones too), oldest first.
    async fn admin_tokens(&self) -> Result<Vec<AdminTokenRecord>, StoreError>;
    /// Revokes an admin token; false if there is no live token with this id.
    async fn revoke_admin_token(&self, id: &str, now: UnixTime) -> Result<bool, StoreError>;
}
